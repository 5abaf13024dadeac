"""Shared by the API tests: a real archive with two communes, real blobs, one user per role.

Everything is real: SQLite event store, filesystem vault with encrypted blobs, argon2 hashes
(at a low cost, set through the API's own settings, so that tests stay fast).
"""

from __future__ import annotations

import hashlib
import io
import secrets
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from api.app import create_app
from api.context import ApiContext
from api.settings import ApiSettings
from evidence.bootstrap import System
from evidence.model import PrivacyZone
from evidence.model.security import ROLES, user_id
from ingest.ffmpeg import ffmpeg_path
from tests.builders import new_store, register_camera

HERE, ELSEWHERE = "69266", "69256"
CAM_IN, CAM_OUT, CAM_ZONED = "CAM-IN", "CAM-OUT", "CAM-ZONED"
PASSWORD = "correct horse battery staple"
FAST_HASHES = ApiSettings(argon2_time_cost=1, argon2_memory_kib=1024, login_rate_per_minute=10_000)
#: Segments start an hour ago, so missions and windows around "now" cover them.
START = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
VIDEO_SIZE = 3 * (1 << 20) + 12_345  # four chunks of the vault, the last one partial


def username(role: str) -> str:
    return f"{role}-ici"


@dataclass
class World:
    system: System
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    segments: dict[str, list[UUID]] = field(default_factory=dict)
    videos: dict[UUID, bytes] = field(default_factory=dict)

    @property
    def context(self) -> ApiContext:
        found: ApiContext = self.client.app.state.scelle  # type: ignore[attr-defined]
        return found

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def tiny_mp4(tmp: Path) -> bytes:
    """Two seconds of ffmpeg's test pattern, small: for the routes that decode pictures."""
    out = tmp / "tiny.mp4"
    subprocess.run(
        [
            str(ffmpeg_path()),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=10:duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-y",
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out.read_bytes()


def put_segment(
    system: System, code: str, start: datetime, data: bytes, size: tuple[int, int] = (640, 360)
) -> UUID:
    blob = secrets.token_hex(16)
    stored = system.vault.put(blob, io.BytesIO(data))
    segment, _ = system.archives.record_segment(
        code,
        start=start,
        end=start + timedelta(minutes=1),
        container="mp4",
        codec="h264",
        width=size[0],
        height=size[1],
        fps=25.0,
        size=stored.plaintext_size,
        sha256=stored.plaintext_sha256,
        blob_id=blob,
        thumbnail_blob_id=None,
        camera_clock=start,
        clock_drift_seconds=0.0,
        clock_drift_flagged=False,
        source_name=f"{code}.mp4",
    )
    return segment


def add_account(system: System, context: ApiContext, name: str, role: str, insee: str) -> None:
    system.archives.create_user(name, None)
    system.archives.grant_role(name, role, [system.archives.commune(insee).id], None)
    context.credentials.set_password(name, context.passwords.hash(PASSWORD))


def build_world(tmp: Path) -> World:
    system = new_store(tmp)
    register_camera(system, CAM_IN, HERE)
    system.archives.register_commune(ELSEWHERE, "Vaulx-en-Velin")
    register_camera(system, CAM_OUT, ELSEWHERE)
    register_camera(system, CAM_ZONED, HERE)
    system.archives.define_privacy_zone(
        CAM_ZONED,
        PrivacyZone("porte", ((0.1, 0.1), (0.4, 0.1), (0.4, 0.5)), "Porte d'entrée", "solid"),
        user_id("root"),
    )
    app = create_app(system.settings, system, FAST_HASHES)
    world = World(system, TestClient(app))
    video = tiny_mp4(tmp)
    for code in (CAM_IN, CAM_OUT, CAM_ZONED):
        world.segments[code] = []
        for i in range(2):
            # Segment 0 is a real video (zoom, masking); segment 1 spans several chunks.
            data = hashlib.sha256(f"{code}{i}".encode()).digest() * (VIDEO_SIZE // 32 + 1)
            data = video if i == 0 else data[: VIDEO_SIZE + i]
            seg = put_segment(system, code, START + timedelta(minutes=i), data, (160, 120))
            world.segments[code].append(seg)
            world.videos[seg] = data
    for role in ROLES:
        add_account(system, world.context, username(role), role, HERE)
        world.tokens[role] = login(world.client, username(role))
    # A second officer and supervisor, to ask for what the matrix's users approve.
    add_account(system, world.context, "officer-2", "officer", HERE)
    add_account(system, world.context, "officer-3", "officer", ELSEWHERE)
    return world


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    response = client.post("/auth/login", json={"username": name, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def denials(system: System) -> list[dict[str, Any]]:
    archives = system.archives
    found = archives.recorder.select_notifications(
        1, 1_000_000, topics=["scelle:AccessDenial.Recorded"]
    )
    return [vars(archives.mapper.to_domain_event(n)) for n in found]


def event_count(system: System) -> int:
    return system.archives.recorder.max_notification_id() or 0
