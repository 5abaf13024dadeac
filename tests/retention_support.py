"""Shared by the retention tests: segments with real encrypted content, due or not."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from uuid import UUID

from evidence.bootstrap import System
from tests.builders import store_segment


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
    for i in range(count):
        segment = store_segment(
            system, code, start + timedelta(minutes=i), os.urandom(size), renditions
        )
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
