"""Embedded mode: an event and its seal commit together, or neither does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from evidence.bootstrap import open_system
from evidence.ledger.leaf import StoredRecord
from evidence.ledger.recorder import SealingPostgresRecorder, SealingSQLiteRecorder
from evidence.ledger.sealer import SealingError
from evidence.ledger.store import LedgerDB, PostgresLedgerDB, SQLiteLedgerDB
from evidence.model import AccessDenial
from tests.builders import new_store, record_segments, register_camera
from tools.verify_store import verify_store


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


def denial(i: int) -> AccessDenial:
    return AccessDenial(
        actor="a", action="view", target=str(i), reason="r", at=datetime.now(UTC), source="t"
    )


def test_two_writers_taking_turns_keep_one_dense_sequence_across_a_full_tile(
    tmp_path: Path, database_url: str | None
) -> None:
    """Each writer's sealer remembers its own head; every save by the other makes it stale,
    so each save must notice, reload and still extend the one ledger (past a fold at 256)."""
    first = new_store(tmp_path, database_url)
    second = open_system(first.settings)
    for i in range(150):
        first.archives.save(denial(2 * i))
        second.archives.save(denial(2 * i + 1), denial(-i - 1))
    events, leaves = counts(first)
    assert events == leaves == 450
    verify_store(first.ledger.db, first.ledger.verifier)
    second.close()
    first.close()


def insert_event(db: LedgerDB, cur: Any) -> StoredRecord:
    """A raw stored event, as the library's insert would write it in this transaction."""
    oid, state = uuid4(), b'{"forged":true}'
    if isinstance(db, PostgresLedgerDB):
        cur.execute(
            "INSERT INTO scelle_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'scelle:Test', %s) RETURNING notification_id",
            (oid, state),
        )
        nid = cur.fetchone()[0]
    else:
        cur.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (?, 1, 'scelle:Test', ?)",
            (oid.hex, state),
        )
        nid = cur.lastrowid
    return StoredRecord(nid, oid, 1, "scelle:Test", state)


def test_a_seal_rolled_back_with_its_transaction_is_not_built_upon(
    tmp_path: Path, database_url: str | None
) -> None:
    """The sealer remembers a head that the database never committed; another writer then
    takes that very leaf index (and, on SQLite, that notification id) for another event. The
    next save must find out, reload the real head, and seal onto it."""
    system = new_store(tmp_path, database_url)
    other = open_system(system.settings)
    system.archives.save(denial(0))
    db, sealer = system.ledger.db, system.archives.recorder.sealer
    assert sealer is not None
    with pytest.raises(RuntimeError), db.write_transaction() as cur:
        sealer.seal_inserted(cur, [insert_event(db, cur)])
        raise RuntimeError("the save fails after its seal: everything rolls back")
    other.archives.save(denial(1))
    system.archives.save(denial(2))
    events, leaves = counts(system)
    assert events == leaves == 3
    verify_store(db, system.ledger.verifier)
    other.close()
    system.close()


def test_a_seal_reads_the_end_of_one_tail_run_and_writes_one(tmp_path: Path) -> None:
    """The cost that issue 2's sealing target is about: once the sealer knows its head, a
    save adds one indexed read and one small insert to its transaction."""
    system = new_store(tmp_path)
    system.archives.save(denial(0))
    db, sealer = system.ledger.db, system.archives.recorder.sealer
    assert isinstance(db, SQLiteLedgerDB) and sealer is not None
    conn = db.connect()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    sealer.seal_inserted(cur, [insert_event(db, cur)])
    statements.clear()
    sealer.seal_inserted(cur, [insert_event(db, cur)])
    conn.commit()
    conn.close()
    sealing = [s.split(" (")[0] for s in statements if "stored_events" not in s]
    assert sealing == [
        "SELECT first_leaf, length(nids), substr(nids, -8), substr(chains, -32) "
        "FROM scelle_ledger_tail ORDER BY first_leaf DESC LIMIT 1",
        "INSERT INTO scelle_ledger_tail VALUES",
        "COMMIT",
    ], statements
    verify_store(db, system.ledger.verifier)
    system.close()
