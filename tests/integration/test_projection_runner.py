"""The views against the log: crash-safety under SIGKILL, idempotence, time travel, rebuild."""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from evidence.bootstrap import System, open_system
from projections.apply import Projector
from projections.bulk import TOPICS as BULK_TOPICS
from projections.runner import ProjectionRunner
from projections.store import ViewsUnavailable, connect, open_views
from tests.builders import new_store
from tests.projection_support import build, dump, varied_log


@pytest.fixture
def system(tmp_path: Path) -> System:
    found = new_store(tmp_path)
    varied_log(found, rounds=3)
    yield found  # type: ignore[misc]
    found.close()


def test_small_batches_with_appends_between_equal_one_rebuild(
    system: System, tmp_path: Path
) -> None:
    views = tmp_path / "inc.duckdb"
    build(system, views, batch_size=3)
    varied_log(system, rounds=2, seed=11)
    build(system, views, batch_size=4)
    assert dump(views) == dump(build(system, tmp_path / "full.duckdb"))
    assert dump(views)["position"][0][0] == system.archives.recorder.max_notification_id()


@pytest.mark.parametrize("hot", [frozenset(), BULK_TOPICS], ids=["python", "set-wise"])
def test_applying_events_twice_changes_nothing(
    system: System, tmp_path: Path, hot: frozenset[str]
) -> None:
    path = tmp_path / "v.duckdb"
    archives = system.archives
    stored = archives.recorder.select_notifications(1, 10_000)
    decode = archives.mapper.to_domain_event
    con = connect(path)
    projector = Projector(con, decode, hot)
    assert projector.apply(stored[:50], stored[49].id) == 50
    con.close()
    once = dump(path)
    con = connect(path)
    projector = Projector(con, decode, hot)
    assert projector.apply(stored[:50], stored[49].id) == 0  # the same batch again
    assert projector.apply(stored[:60], stored[59].id) == 10  # overlapping: only the new ten
    con.close()
    assert dump(path) == dump(build(system, tmp_path / "ref.duckdb", until=stored[59].id))
    assert dump(path) != once


def test_sigkill_at_random_points_never_leaves_views_apart_from_the_log(
    system: System, tmp_path: Path
) -> None:
    """22 catch-ups killed at random instants; after each, the views equal a clean build up
    to the position they reached, and at the end they equal a rebuild from nothing."""
    rng = random.Random(20261122)
    views, reference = tmp_path / "killed.duckdb", tmp_path / "reference.duckdb"
    interrupted = 0
    for run in range(22):
        varied_log(system, rounds=1, seed=run)
        pid = os.fork()
        if pid == 0:  # the child: a runner like any other, with small batches
            try:
                child = open_system(system.settings)
                ProjectionRunner(child.settings, child, views, batch_size=4).catch_up()
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        interrupted += os.WIFSIGNALED(status)
        if not views.exists():
            continue
        killed = dump(views)
        position = killed["position"][0][0]
        assert killed == dump(build(system, reference, until=position)), f"run {run}"
    assert interrupted >= 20
    build(system, views)
    assert dump(views) == dump(build(system, tmp_path / "fresh.duckdb"))


HOLD_ON = {"scelle:Segment.Held", "scelle:Segment.HoldPlaced", "scelle:Segment.HoldExtended"}
HOLD_OFF = {"scelle:Segment.Released", "scelle:Segment.HoldLifted"}


def naive_fold(system: System, at: datetime) -> dict[str, Any]:
    """The reference: fold every event logged at or before ``at`` in plain Python."""
    segments: dict[str, dict[str, Any]] = {}
    holds: dict[tuple[str, str], datetime] = {}
    access = 0
    lifts: list[str] = []
    for n in system.archives.recorder.select_notifications(1, 100_000):
        e: Any = system.archives.mapper.to_domain_event(n)
        if e.timestamp > at:
            continue
        sid = str(e.originator_id)
        if n.topic == "scelle:Segment.Recorded":
            segments[sid] = {"deadline": e.deadline, "state": None}
        elif n.topic in HOLD_ON:
            holds[(sid, e.hold_id)] = e.expires_at
        elif n.topic in HOLD_OFF:
            holds.pop((sid, e.hold_id))
        elif n.topic == "scelle:Segment.PurgeStarted":
            segments[sid]["state"] = segments[sid]["state"] or "purging"
        elif n.topic == "scelle:Segment.Purged":
            segments[sid]["state"] = "purged"
        elif n.topic in ("scelle:Segment.Viewed", "scelle:Segment.Zoomed"):
            access += 1
        elif n.topic == "scelle:Segment.MaskLifted":
            lifts.append(sid)
    status = {}
    for sid, seg in segments.items():
        held = any(k[0] == sid and exp > at for k, exp in holds.items())
        status[sid] = seg["state"] or (
            "held" if held else "overdue" if seg["deadline"] <= at else "kept"
        )
    return {"status": status, "access": access, "lifts": sorted(lifts)}


def views_at(system: System, at: datetime) -> dict[str, Any]:
    views = open_views(system.settings)
    try:
        rows = views.rows(
            "SELECT segment_id, camera_code FROM segments WHERE recorded_at <= $t", {"t": at}
        )
        status = {}
        for row in rows:
            found = views.segment(row["segment_id"], as_of=at)
            assert found is not None
            status[row["segment_id"]] = found["status"]
        log = views.access_log(kinds=["view", "zoom"], limit=100_000, as_of=at)
        lifts = views.access_log(kinds=["mask_lifted"], limit=100_000, as_of=at)
        return {
            "status": status,
            "access": len(log),
            "lifts": sorted(r["segment_id"] for r in lifts),
        }
    finally:
        views.close()


def test_time_travel_agrees_with_a_naive_fold_at_many_instants(system: System) -> None:
    ProjectionRunner(system.settings, system).catch_up()
    stamps = [
        system.archives.mapper.to_domain_event(n).timestamp
        for n in system.archives.recorder.select_notifications(1, 100_000)
    ]
    instants = sorted({*stamps[:: max(1, len(stamps) // 12)], stamps[-1]})
    seen_states = set()
    for at in instants:
        expected = naive_fold(system, at)
        assert views_at(system, at) == expected, at
        seen_states |= set(expected["status"].values())
    assert {"kept", "held", "purged"} <= seen_states


def test_unknown_topics_are_passed_over_and_a_foreign_log_refused(
    system: System, tmp_path: Path
) -> None:
    system.archives.recorder.insert_events(
        [StoredEvent(uuid4(), 1, "scelle:Future.Happened", b'{"x":1}')]
    )
    runner = ProjectionRunner(system.settings, system, tmp_path / "v.duckdb")
    done = runner.catch_up()
    assert done.position == system.archives.recorder.max_notification_id()
    assert done.applied == done.read - 1
    runner.close()
    other = new_store(tmp_path / "other")
    try:
        foreign = ProjectionRunner(other.settings, other, tmp_path / "v.duckdb")
        with pytest.raises(ViewsUnavailable):
            foreign.catch_up()
        foreign.close()
    finally:
        other.close()


def test_rebuild_replaces_the_file_with_views_built_from_nothing(system: System) -> None:
    runner = ProjectionRunner(system.settings, system)
    runner.catch_up()
    runner.con.execute("DELETE FROM access_log")  # damage the views
    runner.close()
    runner = ProjectionRunner(system.settings, system)
    done = runner.rebuild()
    runner.close()
    views = open_views(system.settings)
    try:
        assert len(views.access_log(limit=10_000)) > 0
        assert views.position() == done.position
    finally:
        views.close()


@pytest.mark.postgres
def test_follows_a_postgresql_log(pg_url: str, tmp_path: Path) -> None:
    pg = new_store(tmp_path, database_url=pg_url)
    try:
        varied_log(pg, rounds=2)
        path = tmp_path / "pg.duckdb"
        done = ProjectionRunner(pg.settings, pg, path, batch_size=10).catch_up()
        assert done.position == pg.archives.recorder.max_notification_id()
        assert dump(path)["segments"] and len(dump(path)["access_log"]) > 0
    finally:
        pg.close()


def test_current_listing_from_the_rows_own_holds_equals_the_listing_as_of_now(
    system: System,
) -> None:
    """Segment rows carry their open holds; the join-free current page must agree with the
    page derived from the holds tables (placed, extended, lifted, replaced holds)."""
    ProjectionRunner(system.settings, system, batch_size=9).catch_up()
    views = open_views(system.settings)
    try:
        codes = [c["code"] for c in views.cameras()]
        early, late = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        now = datetime.now(UTC)
        current = [r for c in codes for r in views.segments(c, early, late, 10_000)]
        past = [r for c in codes for r in views.segments(c, early, late, 10_000, as_of=now)]
    finally:
        views.close()
    assert current == past
    assert {"held", "kept", "purged"} <= {r["status"] for r in current}
    assert any(r["holds"] and len(r["holds"]) == 1 for r in current)
