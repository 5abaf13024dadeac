"""``scelle users`` and ``scelle serve`` as an operator drives them, then a bounded load test.

The server is a real ``scelle serve`` process on 127.0.0.1 (uvicorn), stopping by itself.
50 concurrent clients list segments and play ranges back for ``SCELLE_LOAD_SECONDS`` (30 s
by default, as issue 5 asks); no request may fail, and latency percentiles are printed.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.api_support import START, put_segment
from tests.builders import new_store, register_camera
from tests.ingest_support import SCELLE, scelle

CLIENTS = 50
LOAD_SECONDS = float(os.environ.get("SCELLE_LOAD_SECONDS", "30"))
PASSWORD = "mot de passe assez long"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(tmp: Path) -> Path:
    system = new_store(tmp)
    try:
        register_camera(system, "CAM-1")
        for i in range(20):
            put_segment(system, "CAM-1", START + timedelta(minutes=i), os.urandom(2 << 20))
    finally:
        system.close()
    return system.settings.data


@pytest.mark.slow
def test_users_cli_then_serve_under_load(tmp_path: Path) -> None:
    data = prepare(tmp_path)
    added = subprocess.run(
        [
            SCELLE,
            "--data",
            str(data),
            "users",
            "add",
            "op",
            "--role",
            "operator",
            "--commune",
            "69266",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    weak = subprocess.run(
        [SCELLE, "--data", str(data), "users", "passwd", "op", "--password-stdin"],
        input="court\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert weak.returncode == 2 and "12 caractères" in weak.stderr
    listed = scelle(data, "users", "list")
    assert "op : operator[1 commune(s)]" in listed.stdout

    port = free_port()
    server = subprocess.Popen(
        [
            SCELLE,
            "--data",
            str(data),
            "serve",
            "--port",
            str(port),
            "--stop-after",
            str(LOAD_SECONDS + 60),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Scellé"
        token = httpx.post(
            f"{base}/auth/login", json={"username": "op", "password": PASSWORD}
        ).json()["access_token"]
        latencies, errors = load(base, token)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    assert not errors, errors[:5]
    assert len(latencies["list"]) > CLIENTS and len(latencies["play"]) > CLIENTS
    for kind, values in latencies.items():
        q = statistics.quantiles(values, n=100)
        print(
            f"\n{kind}: {len(values)} requests, p50 {q[49] * 1e3:.1f} ms, "
            f"p95 {q[94] * 1e3:.1f} ms, p99 {q[98] * 1e3:.1f} ms",
            file=sys.stderr,
        )
    assert "Traceback" not in err


def wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not start")


def load(base: str, token: str) -> tuple[dict[str, list[float]], list[str]]:
    latencies: dict[str, list[float]] = {"list": [], "play": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS
    headers = {"Authorization": f"Bearer {token}"}

    def client(number: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            try:
                segments = http.get("/cameras/CAM-1/segments").json()
                segment = segments[number % len(segments)]["id"]
                view = http.post(f"/segments/{segment}/views", json={"purpose": "crime_prevention"})
                assert view.status_code == 201, view.text
                url = view.json()["playback_url"]
                offset = 0
                while time.monotonic() < stop_at:
                    byte_range = f"bytes={offset}-{offset + (256 << 10) - 1}"
                    for kind, path, extra in (
                        ("list", "/cameras/CAM-1/segments?limit=50", {}),
                        ("play", url, {"Range": byte_range}),
                    ):
                        began = time.perf_counter()
                        response = http.get(path, headers=extra)
                        elapsed = time.perf_counter() - began
                        with lock:
                            if response.status_code not in (200, 206):
                                errors.append(f"{kind} {response.status_code} {response.text[:80]}")
                            latencies[kind].append(elapsed)
                    offset = (offset + (256 << 10)) % (2 << 20)
            except Exception as exc:
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LOAD_SECONDS + 120)
    return latencies, errors
