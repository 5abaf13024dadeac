"""Embedded mode: an event and its seal commit together, or neither does."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.ledger.recorder import SealingPostgresRecorder, SealingSQLiteRecorder
from evidence.ledger.sealer import SealingError
from tests.builders import new_store, record_segments, register_camera


def counts(system) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    db = system.ledger.db
    with db.read_transaction() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {db.events_table}")
        events = cur.fetchone()[0]
        return events, db.tree_size(cur)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


def test_every_saved_event_is_already_sealed_when_save_returns(
    tmp_path: Path, database_url: str | None
) -> None:
    system = new_store(tmp_path, database_url)
    assert isinstance(system.archives.recorder, SealingSQLiteRecorder | SealingPostgresRecorder)
    register_camera(system, "CAM-1")
    for _ in range(3):
        record_segments(system, "CAM-1", 1, start=system.archives.clock.now())
        events, leaves = counts(system)
        assert events == leaves
    system.close()


def test_a_tampered_ledger_head_stops_the_save_and_its_event(
    tmp_path: Path, database_url: str | None
) -> None:
    system = new_store(tmp_path, database_url)
    register_camera(system, "CAM-1")
    events_before, leaves_before = counts(system)
    db = system.ledger.db
    with db.write_transaction() as cur:  # a squatter on the next leaf index
        db.append(cur, leaves_before, [b"\0" * 32], [10**9], [b"\0" * 32])
    with pytest.raises(SealingError, match="refusing to seal"):
        record_segments(system, "CAM-1", 1)
    events_after, _ = counts(system)
    assert events_after == events_before
    system.close()
