"""Crash safety of the purge: SIGKILL a purge process at random moments, restart, check.

Each run adds segments already past their deadline, starts a purge process, waits until its
first claim is in the log, then SIGKILLs it after a random share of the time a whole purge
takes. Whatever the moment: the restart finishes the work, nothing is missed, no segment is
claimed or recorded purged twice, the content of every purged segment is gone, and the log
verifies. ``SCELLE_CRASH_SEED`` replays a sequence.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from evidence.retention.purge import PurgeRunner
from tests.ingest_support import REPO, assert_store_verifies, opened
from tests.integration.test_purge import PAST, new_data, purge_events
from tests.retention_support import blob_files, store_segments

SEED = int(os.environ.get("SCELLE_CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
KILLS = 20
PER_RUN = 16
BATCH = 4


def claims(data: Path) -> int:
    with closing(sqlite3.connect(data / "events.sqlite", timeout=30)) as db:
        query = "SELECT COUNT(*) FROM stored_events WHERE topic = 'scelle:Segment.PurgeStarted'"
        return int(db.execute(query).fetchone()[0])


def start_purge(data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.retention_support", str(data), str(BATCH)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_after_first_claim(data: Path, delay: float) -> tuple[bool, float]:
    """Start a purge; SIGKILL it ``delay`` s after its first claim. (killed?, work seconds)"""
    before = claims(data)
    proc = start_purge(data)
    deadline = time.monotonic() + 120
    while claims(data) == before:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the purge never claimed anything"
        time.sleep(0.002)
    began = time.monotonic()
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait(timeout=60)
    assert code in (0, -signal.SIGKILL), proc.stderr.read() if proc.stderr else code
    return code == -signal.SIGKILL, time.monotonic() - began


def phase(data: Path) -> str:
    """Where the kill landed, from what it left."""
    started, done = purge_events(data)
    open_claims = [s for s in started if s not in done]
    if not open_claims:
        return "between batches (every claim finished)"
    with opened(data) as system:
        destroyed = set(system.vault.keys.destroyed_ids())
        blobs = {system.archives.segment(UUID(s)).blob_id for s in open_claims}
    if blobs <= destroyed:
        return "keys destroyed, purge not recorded"
    return "claimed, keys not yet destroyed"


def test_sigkill_at_random_moments_then_restart_finishes_every_purge_once(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    print(f"\npurge crash loop: seed {SEED} (SCELLE_CRASH_SEED={SEED} replays it)")
    data = new_data(tmp_path, PER_RUN)
    _, whole = kill_after_first_claim(data, 120)  # uninterrupted: calibrates the kill times
    phases: Counter[str] = Counter()
    total, kills, run = PER_RUN, 0, 0
    while kills < KILLS:
        assert run < 3 * KILLS, f"only {kills} kills in {run} runs"
        with opened(data) as system:
            store_segments(system, "CAM-1", PER_RUN, PAST + timedelta(hours=run + 1))
        total += PER_RUN
        killed, took = kill_after_first_claim(data, rng.uniform(0, whole))
        run += 1
        if not killed:
            whole = took
            continue
        kills += 1
        phases[phase(data)] += 1
        started, done = purge_events(data)
        assert max(started.values()) == 1 and max(done.values(), default=1) == 1
        with opened(data) as system:  # the restart
            PurgeRunner(system).run_once()
            assert blob_files(system) == set(), "content of a purged segment survived"
            assert system.vault.keys.ids() == []
        started, done = purge_events(data)
        assert len(done) == total, f"run {run}: {total - len(done)} segment(s) missed"
        assert set(started.values()) == {1} and set(done.values()) == {1}
    print(f"where the kills landed ({kills} kills in {run} runs):")
    for where, count in phases.most_common():
        print(f"  {count:3d}  {where}")
    assert_store_verifies(data)
