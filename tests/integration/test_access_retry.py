"""Access facts always land: a save that loses a version race is reloaded and retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from evidence.access_cases import retry_on_conflict
from evidence.model.security import user_id
from tests.builders import new_store, record_segments, register_camera

VIEW: dict[str, Any] = {
    "actor_id": user_id("op"),
    "purpose": "crime_prevention",
    "mission_id": None,
    "range_start": 0.0,
    "range_end": 60.0,
    "masked": True,
    "on_behalf_of": None,
}


def viewed(system: Any) -> int:
    found = system.archives.recorder.select_notifications(
        1, 1_000, topics=["scelle:Segment.Viewed"]
    )
    return len(found)


def test_a_view_saved_after_another_viewers_is_retried_not_lost(tmp_path: Path) -> None:
    system = new_store(tmp_path)
    try:
        register_camera(system, "CAM-1")
        (segment_id,) = record_segments(system, "CAM-1", 1)
        archives = system.archives
        stale = archives.segment(segment_id)  # loaded before the other viewer saved
        archives.record_view(segment_id, **VIEW)
        attempts: list[int] = []

        def once() -> None:
            segment = stale if not attempts else archives.segment(segment_id)
            attempts.append(segment.version)
            segment.record_view(**VIEW)
            archives.save(segment)

        retry_on_conflict(once)
        assert len(attempts) == 2  # the stale copy lost the race, the reloaded one won
        assert viewed(system) == 2

        def always_stale() -> None:
            copy = archives.segment(segment_id)
            copy.record_view(**VIEW)
            archives.record_view(segment_id, **VIEW)  # someone else always gets in first
            archives.save(copy)

        with pytest.raises(IntegrityError):
            retry_on_conflict(always_stale, attempts=3)
        assert viewed(system) == 2 + 3  # only the others' views; none of the lost saves
    finally:
        system.close()
