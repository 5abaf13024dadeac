"""Holds under a controllable clock: what keeps a segment, and what lets it go."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from evidence.bootstrap import System, init_data_dir, open_system
from evidence.clock import SimulatedClock
from evidence.config import Settings
from evidence.model.errors import DomainError
from evidence.model.security import user_id
from evidence.retention.purge import PurgeRunner
from tests.builders import T0, register_camera
from tests.retention_support import store_segments

DAY = timedelta(days=1)
OPJ = user_id("opj.durand")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def system(tmp_path: Path, clock: SimulatedClock) -> Iterator[System]:
    settings = Settings(data=tmp_path / "data")
    init_data_dir(settings, "scelle.test/holds")
    system = open_system(settings, clock=clock)
    register_camera(system, "CAM-1")
    register_camera(system, "CAM-2")
    try:
        yield system
    finally:
        system.close()


def judicial(system: System, camera: str = "CAM-1", minutes: int = 3, days: int = 60) -> UUID:
    return system.archives.place_hold(
        "judicial",
        "2026/1121/042",
        [camera],
        [(T0, T0 + timedelta(minutes=minutes))],
        T0 + days * DAY,
        OPJ,
        legal_basis="flagrance",
        authority="Parquet de Lyon",
    )


def purged(system: System, ids: list[UUID]) -> list[bool]:
    return [system.archives.segment(s).purged for s in ids]


def event_count(system: System) -> int:
    return len(system.archives.recorder.select_notifications(1, 100_000))


def test_a_held_segment_is_never_purged_however_many_runs(
    system: System, clock: SimulatedClock
) -> None:
    ids = store_segments(system, "CAM-1", 5, T0)
    judicial(system)  # the first three minutes
    for _ in range(4):
        clock.advance(10 * DAY)  # 40 days: far past the 15-day deadline, before expiry
        PurgeRunner(system).run_once()
    assert purged(system, ids) == [False, False, False, True, True]
    for held in ids[:3]:
        assert system.vault.read_all(system.archives.segment(held).blob_id)


@pytest.mark.parametrize(
    ("kind", "basis", "authority"),
    [("convenience", None, None), ("judicial", None, "Parquet"), ("judicial", "flagrance", "")],
)
def test_a_hold_without_legal_basis_is_refused_and_records_nothing(
    system: System, kind: str, basis: str | None, authority: str | None
) -> None:
    store_segments(system, "CAM-1", 2, T0)
    before = event_count(system)
    with pytest.raises(DomainError) as refused:
        system.archives.place_hold(
            kind, "2026/1", ["CAM-1"], [(T0, T0 + DAY)], T0 + 30 * DAY, OPJ, basis, authority
        )
    assert "conservation" in refused.value.message_fr.lower()
    assert event_count(system) == before


def test_a_released_hold_lets_the_next_run_purge_on_time(
    system: System, clock: SimulatedClock
) -> None:
    ids = store_segments(system, "CAM-1", 2, T0)
    order = judicial(system)
    clock.advance(20 * DAY)
    assert PurgeRunner(system).run_once().purged == 0
    system.archives.release_hold(order, OPJ, "classement sans suite")
    clock.advance(timedelta(seconds=30))
    summary = PurgeRunner(system).run_once()
    assert summary.purged == 2
    assert purged(system, ids) == [True, True]
    segment = system.archives.segment(ids[0])
    assert not segment.holds
    stored = system.archives.recorder.select_events(ids[0], desc=True, limit=1)
    last = system.archives.mapper.to_domain_event(stored[0])
    assert last.lateness_seconds == 30.0  # due when the hold was lifted, not at the deadline


def test_an_expired_hold_no_longer_keeps_and_an_extension_does(
    system: System, clock: SimulatedClock
) -> None:
    first = store_segments(system, "CAM-1", 1, T0)
    second = store_segments(system, "CAM-2", 1, T0)
    short = judicial(system, "CAM-1", days=20)
    extended = judicial(system, "CAM-2", days=20)
    clock.advance(19 * DAY)
    system.archives.extend_hold(extended, T0 + 40 * DAY, OPJ, "prolongation du parquet")
    clock.advance(2 * DAY)
    PurgeRunner(system).run_once()
    assert purged(system, first + second) == [True, False]
    with pytest.raises(DomainError):
        system.archives.extend_hold(short, T0 + 60 * DAY, OPJ, "trop tard")


def test_access_request_holds_need_a_pending_request(system: System, clock: SimulatedClock) -> None:
    ids = store_segments(system, "CAM-1", 1, T0)
    request = system.archives.receive_access_request(
        channel="courrier",
        subject_ref="ref-7f3a",
        place_described="Place Lazare-Goujon",
        time_from=T0,
        time_to=T0 + timedelta(hours=1),
        deadline=T0 + 30 * DAY,
        received_by=user_id("dpo"),
    )
    with pytest.raises(DomainError):
        system.archives.place_hold(
            "access_request", "", ["CAM-1"], [(T0, T0 + DAY)], T0 + 30 * DAY, OPJ
        )
    system.archives.place_hold(
        "access_request",
        "",
        ["CAM-1"],
        [(T0, T0 + DAY)],
        T0 + 30 * DAY,
        user_id("dpo"),
        access_request_id=request,
    )
    clock.advance(20 * DAY)
    PurgeRunner(system).run_once()
    assert purged(system, ids) == [False]


def test_a_requisition_hold_is_one_order_and_covers_segments_recorded_later(
    system: System, clock: SimulatedClock
) -> None:
    early = store_segments(system, "CAM-1", 2, T0)
    requisition = system.archives.register_requisition(
        "Parquet de Lyon",
        "2026/1121/042",
        "enquete_preliminaire",
        ["CAM-1"],
        [(T0, T0 + timedelta(hours=1))],
        OPJ,
    )
    held = system.archives.hold_for_requisition(requisition, OPJ, T0 + 90 * DAY)
    assert held == early
    late = store_segments(system, "CAM-1", 1, T0 + timedelta(minutes=30))  # after the order
    again = system.archives.hold_for_requisition(requisition, OPJ, T0 + 90 * DAY)
    assert again == early + late
    straggler = store_segments(system, "CAM-1", 1, T0 + timedelta(minutes=40))
    clock.advance(30 * DAY)
    summary = PurgeRunner(system).run_once()  # the order's scope holds the straggler too
    assert summary.purged == 0
    assert purged(system, early + late + straggler) == [False] * 4
    assert system.archives.segment(straggler[0]).active_holds(clock.now())
