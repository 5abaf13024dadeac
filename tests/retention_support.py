"""Shared by the retention tests: segments with real encrypted content, due or not."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from evidence.bootstrap import System
from evidence.content.vault import derived_id

JPEG = b"\xff\xd8\xff\xe0 thumbnail \xff\xd9"


def store_segments(
    system: System,
    code: str,
    count: int,
    start: datetime,
    size: int = 4_096,
    renditions: tuple[str, ...] = (),
) -> list[UUID]:
    """``count`` one-minute segments of random bytes, each with its thumbnail (and any
    ``renditions``) encrypted under its key, recorded in the log."""
    ids = []
    vault = system.vault
    for i in range(count):
        begin = start + timedelta(minutes=i)
        blob = uuid4().hex
        stored = vault.put(blob, [os.urandom(size)])
        thumb = derived_id(blob, "thumb")
        vault.put(thumb, [JPEG])
        for kind in renditions:
            vault.put(derived_id(blob, kind), [os.urandom(256)])
        segment, created = system.archives.record_segment(
            code,
            start=begin,
            end=begin + timedelta(minutes=1),
            container="mp4",
            codec="h264",
            width=640,
            height=360,
            fps=25.0,
            size=stored.plaintext_size,
            sha256=stored.plaintext_sha256,
            blob_id=blob,
            thumbnail_blob_id=thumb,
            camera_clock=begin,
            clock_drift_seconds=0.0,
            clock_drift_flagged=False,
            source_name=f"{code}_{begin:%Y%m%dT%H%M%SZ}.mp4",
        )
        assert created
        ids.append(segment)
    return ids


def blob_files(system: System) -> set[str]:
    return set(system.vault.blobs.iter_ids())


def env_without_pythonpath() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def main() -> None:
    """``python -m tests.retention_support DATA BATCH``: one purge run, nothing else imported
    (the ``scelle`` command imports every tool; a crash loop pays that at each start)."""
    import sys
    from pathlib import Path

    from evidence.bootstrap import open_system
    from evidence.config import Settings
    from evidence.retention.purge import PurgeRunner

    data, batch = Path(sys.argv[1]), int(sys.argv[2])
    system = open_system(Settings(data=data))
    try:
        summary = PurgeRunner(system, batch_size=batch).run_once()
    finally:
        system.close()
    print(summary.purged, summary.resumed, flush=True)


if __name__ == "__main__":
    main()
