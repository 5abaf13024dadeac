"""The API's speed: catalogue listing requests/s, and playback MB/s (issue 5).

Both run against a real uvicorn server on 127.0.0.1 started in this process, with one httpx
client, over the same archive. Peers, measured in the same run on the same server:

* listing: the same JSON bytes served by a plain route that returns a constant (what the
  HTTP stack alone costs), so the ratio shows what authentication, policy and the catalogue
  view (DuckDB, caught up with the log before each listing) add;
* playback: the same plaintext bytes served by Starlette's ``StaticFiles`` from a file, so
  the ratio shows what decrypting chunk by chunk costs (target ratio >= 0.5).

Trials alternate ours and the peer; the best of each is kept. MB are decimal (10^6 B).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.app import create_app
from api.context import ApiContext
from api.settings import ApiSettings
from bench.common import Context, Figure, Part, clock
from evidence.bootstrap import System, init_data_dir, open_system
from evidence.config import Settings
from tests.builders import register_camera

PASSWORD = "mot de passe du banc d'essai"


def _archive(root: Path, segments: int, size: int) -> tuple[System, bytes]:
    settings = Settings(data=root / "data")
    init_data_dir(settings, "bench.local/api")
    system = open_system(settings)
    archives = system.archives
    register_camera(system, "CAM-1")
    commune = archives.commune("69266").id
    start = datetime.now(UTC) - timedelta(hours=1)
    payload = os.urandom(size)
    for i in range(segments):
        blob = f"{i:08x}" + "0" * 24
        data = payload if i == 0 else payload[:1024] + i.to_bytes(4, "big")
        stored = system.vault.put(blob, io.BytesIO(data))
        begins = start + timedelta(seconds=i)
        archives.record_segment(
            "CAM-1",
            start=begins,
            end=begins + timedelta(seconds=1),
            container="mp4",
            codec="h264",
            width=640,
            height=360,
            fps=25.0,
            size=stored.plaintext_size,
            sha256=stored.plaintext_sha256,
            blob_id=blob,
            thumbnail_blob_id=None,
            camera_clock=begins,
            clock_drift_seconds=0.0,
            clock_drift_flagged=False,
            source_name=f"{i}.mp4",
        )
    archives.create_user("bench", None)
    archives.grant_role("bench", "operator", [commune], None)
    return system, payload


def _serve(app: FastAPI) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)


def run(ctx: Context) -> Iterator[Figure]:
    segments = ctx.size(2_000, 50)
    size = ctx.size(64 << 20, 2 << 20)
    requests = ctx.size(2_000, 50)
    plays = ctx.size(10, 2)
    trials = ctx.size(5, 2)
    with ctx.scratch() as root:
        system, payload = _archive(root, segments, size)
        app = create_app(system.settings, system, ApiSettings(argon2_memory_kib=8192))
        context: ApiContext = app.state.scelle
        context.credentials.set_password("bench", context.passwords.hash(PASSWORD))
        (root / "static").mkdir()
        (root / "static" / "video.mp4").write_bytes(payload)
        app.mount("/static", StaticFiles(directory=root / "static"))
        listing_path = "/cameras/CAM-1/segments?limit=100"
        constant: list[bytes] = []

        @app.get("/bench/constant", include_in_schema=False)
        def constant_route() -> Response:
            return Response(constant[0], media_type="application/json")

        served = _serve(app)
        base = next(served)
        try:
            with httpx.Client(base_url=base, timeout=120) as http:
                token = http.post("/auth/login", json={"username": "bench", "password": PASSWORD})
                http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
                constant.append(http.get(listing_path).content)
                first = http.get(listing_path).json()[0]["id"]
                view = http.post(f"/segments/{first}/views", json={"purpose": "crime_prevention"})
                playback = view.json()["playback_url"]
                assert http.get(playback).content == payload
                best = {"list": 1e9, "constant": 1e9, "play": 1e9, "static": 1e9}
                for _ in range(trials):
                    for name, path, count in (
                        ("list", listing_path, requests),
                        ("constant", "/bench/constant", requests),
                        ("play", playback, plays),
                        ("static", "/static/video.mp4", plays),
                    ):
                        began = clock()
                        for _ in range(count):
                            response = http.get(path)
                            response.raise_for_status()
                        best[name] = min(best[name], clock() - began)
        finally:
            next(served, None)
            system.close()
    yield Figure(
        name="api_catalogue_listing",
        value=requests / best["list"],
        unit="requests/s",
        what=(
            f"GET {listing_path} (100 of {segments:,} segments, bearer token, policy, "
            "DuckDB catalogue view, caught up with the log first) from one client over "
            "HTTP/1.1 keep-alive on 127.0.0.1"
        ),
        peer="the same JSON bytes from a constant route on the same server",
        peer_value=requests / best["constant"],
        target="none",
    )
    mb = plays * size / 1e6
    yield Figure(
        name="api_playback",
        value=mb / best["play"],
        unit="MB/s",
        what=(
            f"GET /playback/<ticket> of a {size / 1e6:.0f} MB segment, decrypted chunk by "
            "chunk (AES-256-GCM, 1 MiB chunks) from the filesystem vault"
        ),
        peer="the same plaintext bytes from Starlette StaticFiles on the same server",
        peer_value=mb / best["static"],
        target="ratio >= 0.5",
    )


PARTS = {"api": Part(figures=("api_catalogue_listing", "api_playback"), run=run)}
