"""Purge speed on the filesystem store: segments crypto-shredded and recorded per second.

Target (issue 4): >= 1,000 segments/s, a day of a 162-camera city (233,280 one-minute
segments) in under four minutes. Each segment has a small encrypted video blob and its
thumbnail under one data key; a purge claims it (event), destroys the key (key table,
secure delete), deletes both blobs, and records ``Purged`` — all sealed in the ledger. The
peer deletes the same number of equally sized files with ``os.unlink`` and nothing else.
The due index is caught up before timing (a scheduled runner has followed the log all along).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Context, Figure, Part, clock
from evidence.bootstrap import System, init_data_dir, open_system
from evidence.clock import SimulatedClock
from evidence.config import Settings
from evidence.content.vault import derived_id
from evidence.model.segment import Segment
from evidence.retention.purge import PurgeRunner
from tests.builders import register_camera

T0 = datetime(2026, 11, 1, tzinfo=UTC)
VIDEO_BYTES = 16 << 10  # the size does not matter to a crypto-shredding purge
THUMB_BYTES = 2 << 10
SAVE_BATCH = 1_000


def _camera(system: System) -> None:
    register_camera(system, "BENCH-1")


def _fill(system: System, count: int) -> None:
    """``count`` recorded segments with real encrypted content (saved in batches)."""
    camera = system.archives.camera("BENCH-1")
    video, thumb = os.urandom(VIDEO_BYTES), os.urandom(THUMB_BYTES)
    pending = []
    for i in range(count):
        start = T0 + timedelta(minutes=i)
        blob = secrets.token_hex(16)
        stored = system.vault.put(blob, [video])
        system.vault.put(derived_id(blob, "thumb"), [thumb])
        pending.append(
            Segment(
                camera_code=camera.code,
                camera_id=camera.id,
                commune_id=camera.commune_id,
                start=start,
                end=start + timedelta(minutes=1),
                container="mp4",
                codec="h264",
                width=1920,
                height=1080,
                fps=25.0,
                size=stored.plaintext_size,
                sha256=secrets.token_hex(32),  # unique ids; the content is not read back
                blob_id=blob,
                thumbnail_blob_id=derived_id(blob, "thumb"),
                camera_clock=start,
                ingest_clock=start,
                clock_drift_seconds=0.0,
                clock_drift_flagged=False,
                deadline=start + timedelta(days=15, minutes=1),
                source_name=f"BENCH-1_{start:%Y%m%dT%H%M%SZ}.mp4",
            )
        )
        if len(pending) == SAVE_BATCH:
            system.archives.save(*pending)
            pending = []
    if pending:
        system.archives.save(*pending)


def _unlink_peer(root: Path, count: int) -> float:
    """Seconds to unlink ``2 * count`` files of the same sizes, written and synced before."""
    files = []
    for i in range(count):
        folder = root / f"{i % 256:02x}"
        folder.mkdir(parents=True, exist_ok=True)
        for size in (VIDEO_BYTES, THUMB_BYTES):
            path = folder / secrets.token_hex(8)
            path.write_bytes(os.urandom(size))
            files.append(path)
    os.sync()
    began = clock()
    for path in files:
        path.unlink()
    return clock() - began


def purge_rate(ctx: Context) -> Iterator[Figure]:
    count = ctx.size(5_000, 100)
    with ctx.scratch() as scratch:
        settings = Settings(data=scratch / "data")
        init_data_dir(settings, "scelle.bench/purge")
        sim = SimulatedClock(T0)
        system = open_system(settings, clock=sim)
        try:
            _camera(system)
            ctx.log(f"recording {count} segments with encrypted content…")
            _fill(system, count)
            system.archives.retention_index()  # caught up, as a scheduled runner keeps it
            sim.set(T0 + timedelta(days=30))
            os.sync()
            began = clock()
            summary = PurgeRunner(system).run_once()
            ours = clock() - began
        finally:
            system.close()
        if summary.purged != count or summary.failed:
            raise RuntimeError(f"purged {summary.purged} of {count}: {summary.errors}")
        peer = _unlink_peer(scratch / "peer", count)
    rate, peer_rate = count / ours, count / peer
    ctx.log(f"purge: {rate:,.0f} segments/s; unlink alone: {peer_rate:,.0f} segments/s")
    yield Figure(
        name="purge_segments_per_s",
        value=rate,
        unit="segments/s",
        what=(
            f"{count} segments (video {VIDEO_BYTES >> 10} KiB + thumbnail) on the filesystem "
            "store: claim, key destroyed, blobs deleted, purge recorded, all sealed"
        ),
        peer="os.unlink of the same files (video and thumbnail), nothing else",
        peer_value=peer_rate,
        target=">= 1,000 segments/s",
    )


PARTS = {"rate": Part(figures=("purge_segments_per_s",), run=purge_rate)}
