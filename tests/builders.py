"""Builders for real stores filled with realistic facts (no fakes)."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from evidence.bootstrap import System, init_data_dir, open_system
from evidence.config import Settings
from evidence.content.vault import derived_id
from evidence.model.security import user_id

T0 = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)


def new_store(tmp: Path, database_url: str | None = None) -> System:
    settings = Settings(data=tmp / "data", database_url=database_url)
    init_data_dir(settings, "scelle.test/log")
    return open_system(settings)


def register_camera(system: System, code: str, insee: str = "69266") -> UUID:
    try:
        system.archives.commune(insee)
    except Exception:
        system.archives.register_commune(insee, "Villeurbanne")
    return system.archives.register_camera(
        insee,
        code=code,
        place="Place",
        kind="fixed",
        purposes=["crime_prevention"],
        authorisation_ref="AP-1",
        authorised_from=date(2026, 1, 1),
        authorised_until=date(2031, 1, 1),
        authorised_retention_days=15,
        retention_days=15,
    )


def record_segments(system: System, code: str, count: int, start: datetime = T0) -> list[UUID]:
    ids = []
    for i in range(count):
        s = start + timedelta(minutes=i)
        seg, _ = system.archives.record_segment(
            code,
            start=s,
            end=s + timedelta(minutes=1),
            container="mp4",
            codec="h264",
            width=1920,
            height=1080,
            fps=25.0,
            size=1000 + i,
            sha256=hashlib.sha256(f"{code}{s.isoformat()}".encode()).hexdigest(),
            blob_id=f"b{i}",
            thumbnail_blob_id=None,
            camera_clock=s,
            clock_drift_seconds=0.0,
            clock_drift_flagged=False,
            source_name=f"{code}-{i}.mp4",
        )
        ids.append(seg)
    return ids


def filled_store(tmp: Path, database_url: str | None = None) -> System:
    """About 40 events across several aggregates, with checkpoints at three sizes."""
    system = new_store(tmp, database_url)
    register_camera(system, "CAM-1")
    system.ledger.checkpoint()
    segments = record_segments(system, "CAM-1", 20)
    system.ledger.checkpoint()
    for seg in segments[:10]:
        system.archives.record_view(
            seg,
            actor_id=user_id("op"),
            purpose="crime_prevention",
            mission_id=None,
            range_start=0.0,
            range_end=60.0,
            masked=True,
            on_behalf_of=None,
        )
    system.ledger.checkpoint()
    return system


#: A real 16x9 grey JPEG (ffmpeg), so that masking can decode it like an ingested thumbnail.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAPTGF2YzYzLjEuMTAyAP/bAEMACBQUFxQXGxsbGxsbIB4gISEhICAgICEhIS"
    "QkJCoqKiQkJCEhJCQoKCoqLi8uKysqKy8vMjIyPDw5OUZGSFZWZ//EAEoAAQAAAAAAAAAAAAAAAAAAAAABAQAAAAAA"
    "AAAAAAAAAAAAAAAQAQAAAAAAAAAAAAAAAAAAAAARAQAAAAAAAAAAAAAAAAAAAAD/wAARCAAJABADASIAAhEAAxEA/9oA"
    "DAMBAAIRAxEAPwAAD//Z"
)


def store_segment(
    system: System,
    code: str,
    start: datetime,
    payload: bytes,
    renditions: tuple[str, ...] = (),
) -> UUID:
    """Encrypt ``payload`` into the vault with a thumbnail (and any ``renditions``, random
    bytes) under its key, then record it, as ingest does."""
    blob_id = uuid.uuid4().hex
    stored = system.vault.put(blob_id, [payload])
    thumb = derived_id(blob_id, "thumb")
    system.vault.put(thumb, [JPEG])
    for kind in renditions:
        system.vault.put(derived_id(blob_id, kind), [os.urandom(256)])
    segment_id, created = system.archives.record_segment(
        code,
        start=start,
        end=start + timedelta(minutes=1),
        container="mp4",
        codec="h264",
        width=640,
        height=360,
        fps=25.0,
        size=stored.plaintext_size,
        sha256=stored.plaintext_sha256,
        blob_id=blob_id,
        thumbnail_blob_id=thumb,
        camera_clock=start,
        clock_drift_seconds=0.0,
        clock_drift_flagged=False,
        source_name=f"{code}_{start:%Y%m%dT%H%M%SZ}.mp4",
    )
    assert created, f"{code} at {start}: recorded twice"
    return segment_id
