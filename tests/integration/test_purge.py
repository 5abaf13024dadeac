"""The purge runner: crypto-shredding that is exactly-once, resumable and leaves nothing.

Segments are recorded a month in the past, so the real ``scelle purge`` (system clock) finds
them due; the in-process tests use a simulated clock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.bootstrap import init_data_dir, open_system
from evidence.clock import SimulatedClock
from evidence.config import Settings
from evidence.content.errors import KeyDestroyedError
from evidence.retention.purge import PurgeRunner
from tests.builders import T0, register_camera
from tests.ingest_support import REPO, assert_store_verifies, opened, topic_counts
from tests.retention_support import blob_files, store_segments

PAST = (datetime.now(UTC) - timedelta(days=40)).replace(microsecond=0)


def new_data(tmp: Path, count: int, start: datetime = PAST, **extra: object) -> Path:
    data = tmp / "data"
    init_data_dir(Settings(data=data), "scelle.test/purge")
    with opened(data) as system:
        register_camera(system, "CAM-1")
        store_segments(system, "CAM-1", count, start, **extra)  # type: ignore[arg-type]
    return data


def purge_events(data: Path) -> tuple[Counter[str], Counter[str]]:
    """How many PurgeStarted and Purged events each segment has."""
    from tests.ingest_support import events

    started = Counter(e["originator_id"] for e in events(data, "scelle:Segment.PurgeStarted"))
    done = Counter(e["originator_id"] for e in events(data, "scelle:Segment.Purged"))
    return started, done


def test_a_purge_leaves_nothing_readable_not_even_a_copy_taken_before(tmp_path: Path) -> None:
    data = new_data(tmp_path, 3, renditions=("masked",))
    with opened(data) as system:
        segment = system.archives.segment(
            system.archives.retention_index().due(PAST + timedelta(days=30))[0]
        )
        blob = segment.blob_id
        original = system.vault.read_all(blob)
        source = system.vault.blobs.path(blob)  # type: ignore[attr-defined]
        backup = tmp_path / "backup.bin"
        shutil.copyfile(source, backup)
        summary = PurgeRunner(system).run_once()
        assert (summary.purged, summary.failed) == (3, 0)
        assert blob_files(system) == set()  # video, thumbnail and masked rendition, all gone
        assert not system.vault.blobs.exists(blob)
        with pytest.raises(KeyDestroyedError):
            system.vault.read_all(blob)
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup, source)  # the blob comes back from a backup…
        with pytest.raises(KeyDestroyedError):
            system.vault.read_all(blob)  # …and stays noise: its key is gone
        stored = backup.read_bytes()
        assert original[:64] not in stored and original[-64:] not in stored
        assert system.vault.keys.ids() == []
        assert system.archives.segment(segment.id).purged
    assert topic_counts(data)["scelle:Segment.Purged"] == 3


def test_a_purge_is_idempotent_and_records_deadline_time_and_lateness(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path / "data")
    init_data_dir(settings, "scelle.test/purge")
    clock = SimulatedClock(T0)
    system = open_system(settings, clock=clock)
    try:
        register_camera(system, "CAM-1")
        ids = store_segments(system, "CAM-1", 4, T0)
        clock.advance(timedelta(days=15, minutes=2, seconds=30))  # two segments due 30+ s ago
        assert PurgeRunner(system).run_once().purged == 2
        assert PurgeRunner(system).run_once().purged == 0
        clock.advance(timedelta(days=1))
        assert PurgeRunner(system).run_once().purged == 2
        last = system.archives.recorder.select_events(ids[0], desc=True, limit=1)[0]
        fact = system.archives.mapper.to_domain_event(last)
        segment = system.archives.segment(ids[0])
        assert fact.deadline == segment.deadline == T0 + timedelta(days=15, minutes=1)
        assert fact.purged_at == T0 + timedelta(days=15, minutes=2, seconds=30)
        assert fact.lateness_seconds == 90.0
        assert fact.key_destroyed is True
        assert sorted(fact.blobs_deleted) == sorted([segment.blob_id, segment.thumbnail_blob_id])
    finally:
        system.close()


def test_a_claimed_purge_left_unfinished_is_finished_by_the_next_run(tmp_path: Path) -> None:
    data = new_data(tmp_path, 3)
    with opened(data) as system:
        now = system.archives.clock.now()
        claimed = []
        for segment_id in system.archives.retention_index().due(now)[:2]:
            segment = system.archives.segment(segment_id)
            segment.start_purge(deadline=segment.deadline, started_at=now)
            claimed.append(segment)
        system.archives.save(*claimed)  # a runner died right after its claim
        system.vault.keys.destroy(claimed[0].blob_id)  # … one of them after its key too
        summary = PurgeRunner(system).run_once()
        assert (summary.purged, summary.resumed) == (3, 2)
        assert blob_files(system) == set()
    started, done = purge_events(data)
    assert set(started.values()) == {1} and set(done.values()) == {1} and len(done) == 3


def test_two_runner_processes_started_together_purge_each_segment_once(tmp_path: Path) -> None:
    data = new_data(tmp_path, 120)
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.retention_support", str(data), "20"],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=120) for r in runners]
    assert [r.returncode for r in runners] == [0, 0], outputs
    started, done = purge_events(data)
    assert len(done) == 120
    assert set(started.values()) == {1}, "a segment was claimed twice"
    assert set(done.values()) == {1}, "a segment was recorded purged twice"
    with opened(data) as system:
        assert blob_files(system) == set() and system.vault.keys.ids() == []
    assert_store_verifies(data)


def test_purge_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    settings = Settings(data=tmp_path / "data", database_url=pg_url)
    init_data_dir(settings, "scelle.test/purge-pg")
    clock = SimulatedClock(T0)
    system = open_system(settings, clock=clock)
    try:
        register_camera(system, "CAM-1")
        ids = store_segments(system, "CAM-1", 6, T0)
        clock.advance(timedelta(days=16))
        assert PurgeRunner(system, batch_size=4).run_once().purged == 6
        assert all(system.archives.segment(s).purged for s in ids)
        assert blob_files(system) == set()
    finally:
        system.close()


def test_purge_on_the_s3_store(tmp_path: Path, s3_client: Any) -> None:
    from evidence.content.keys import KeyTable
    from evidence.content.s3 import S3BlobStore
    from evidence.content.vault import ContentVault

    settings = Settings(data=tmp_path / "data")
    init_data_dir(settings, "scelle.test/purge-s3")
    clock = SimulatedClock(T0)
    system = open_system(settings, clock=clock)
    s3_client.create_bucket(Bucket="purge")
    keys = KeyTable(settings.keys_dir / "keys.sqlite", settings.keys_dir)
    system._vault = ContentVault(keys, S3BlobStore("purge", s3_client, prefix="v/"))
    try:
        register_camera(system, "CAM-1")
        store_segments(system, "CAM-1", 5, T0)
        clock.advance(timedelta(days=16))
        assert PurgeRunner(system, batch_size=2).run_once().purged == 5
        assert blob_files(system) == set() and keys.ids() == []
    finally:
        system.close()
