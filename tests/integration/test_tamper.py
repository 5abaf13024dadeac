"""The tamper suite: each way an insider can alter a real store is caught with its own kind.

Runs against SQLite and PostgreSQL alike; the attacker writes straight into the database,
bypassing the application, as an insider with database access would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evidence.bootstrap import System
from evidence.ledger.note import Signer, generate_signer_key, sign_note, split_note
from evidence.ledger.store import PostgresLedgerDB
from evidence.model import AccessDenial
from tests.builders import filled_store, record_segments
from tools.verify_store import StoreVerificationFailed, verify_store


class Attacker:
    """Raw SQL on the store, with the dialect differences hidden."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.db = system.ledger.db
        self.pg = isinstance(self.db, PostgresLedgerDB)
        self.id = "notification_id" if self.pg else "rowid"

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.pg:
            sql = sql.replace("?", "%s")
        with self.db.write_transaction() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def event(self, nid: int) -> tuple[Any, ...]:
        rows = self.run(
            f"SELECT originator_id, originator_version, topic, state FROM {self.db.events_table} "
            f"WHERE {self.id} = ?",
            (nid,),
        )
        return tuple(rows[0])

    def nid_of_leaf(self, index: int) -> int:
        with self.db.read_transaction() as cur:
            return self.db.raw_leaves(cur, index, index + 1)[0][1]

    def outside(self) -> list[tuple[str, str]]:
        folder = self.system.settings.checkpoints_dir
        return [(p.read_text(), str(p)) for p in sorted(folder.glob("*.checkpoint"))]


def denials(count: int) -> list[AccessDenial]:
    now = datetime.now(UTC)
    return [
        AccessDenial(actor="a", action="v", target=str(i), reason="r", at=now, source="t")
        for i in range(count)
    ]


def kinds_after(system: System, outside: list[tuple[str, str]] | None = None) -> set[str]:
    """The failure kinds, which must not depend on how the work is split into chunks."""
    attacker = Attacker(system)
    notes = attacker.outside() if outside is None else outside
    found = []
    for chunk_level, workers in ((17, 1), (2, 2)):  # one chunk; 4-leaf chunks on 2 processes
        try:
            verify_store(
                system.ledger.db,
                system.ledger.verifier,
                notes,
                workers=workers,
                chunk_level=chunk_level,
            )
            found.append(set())
        except StoreVerificationFailed as exc:
            found.append({f.kind for f in exc.failures})
    assert found[0] == found[1], found
    return found[0]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[System]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    system = filled_store(tmp_path, url)
    system.ledger.seal()
    yield system
    system.close()


def test_an_untouched_store_verifies(store: System) -> None:
    summary = verify_store(store.ledger.db, store.ledger.verifier, Attacker(store).outside())
    assert summary.events == summary.leaves > 30
    assert summary.checkpoints >= 3


def flip_one_byte(a: Attacker) -> None:
    nid = a.nid_of_leaf(12)
    state = bytearray(a.event(nid)[3])
    state[len(state) // 2] ^= 0x01
    a.run(f"UPDATE {a.db.events_table} SET state = ? WHERE {a.id} = ?", (bytes(state), nid))


def delete_event(a: Attacker) -> None:
    a.run(f"DELETE FROM {a.db.events_table} WHERE {a.id} = ?", (a.nid_of_leaf(7),))


def insert_forged_event(a: Attacker) -> None:
    """Notification id 0 sorts before every sealed event: an insertion into history."""
    oid, _, topic, state = a.event(a.nid_of_leaf(5))
    a.run(
        f"INSERT INTO {a.db.events_table} "
        f"({a.id}, originator_id, originator_version, topic, state) "
        "VALUES (0, ?, 99, ?, ?)",
        (oid, topic, state),
    )


def swap_two_events(a: Attacker) -> None:
    n1, n2 = a.nid_of_leaf(10), a.nid_of_leaf(15)
    e1, e2 = a.event(n1), a.event(n2)
    set_row = (
        f"UPDATE {a.db.events_table} SET originator_id = ?, originator_version = ?, topic = ?, "
        f"state = ? WHERE {a.id} = ?"
    )
    a.run(f"UPDATE {a.db.events_table} SET originator_version = -1 WHERE {a.id} = ?", (n1,))
    a.run(set_row, (*e1, n2))
    a.run(set_row, (*e2, n1))


def edit_tail(a: Attacker, leaf: int, column: str) -> None:
    """Overwrite the 32-byte value of ``leaf`` in the tail run that holds it."""
    rows = a.run("SELECT first_leaf, nids, leaf_hashes, chains FROM scelle_ledger_tail")
    first, _, hashes, chains = next(r for r in rows if r[0] <= leaf < r[0] + len(r[1]) // 8)
    blob = bytearray({"leaf_hashes": hashes, "chains": chains}[column])
    k = leaf - first
    blob[32 * k : 32 * k + 32] = b"\x42" * 32
    a.run(f"UPDATE scelle_ledger_tail SET {column} = ? WHERE first_leaf = ?", (bytes(blob), first))


def edit_tail_chain(a: Attacker) -> None:
    """Rewrite the chain value of leaf 9, still in the tail (the store has ~40 leaves)."""
    edit_tail(a, 9, "chains")


def edit_tail_leaf_hash(a: Attacker) -> None:
    edit_tail(a, 9, "leaf_hashes")


def fold_first_tile(a: Attacker) -> None:
    """Grow the store past 256 leaves, so that leaf 9 lies in a full entries row and tile."""
    a.system.archives.save(*denials(300))
    a.system.ledger.checkpoint()
    assert a.run("SELECT COUNT(*) FROM scelle_ledger_entries")[0][0] == 1


def edit_ledger_row(a: Attacker) -> None:
    """Rewrite the chain value of leaf 9 in its full entries row."""
    fold_first_tile(a)
    chains = bytearray(a.run("SELECT chains FROM scelle_ledger_entries WHERE tile = 0")[0][0])
    chains[9 * 32 : 10 * 32] = b"\x42" * 32
    a.run("UPDATE scelle_ledger_entries SET chains = ? WHERE tile = 0", (bytes(chains),))


def edit_leaf_tile(a: Attacker) -> None:
    """Rewrite the leaf hash of leaf 9 in its full tile."""
    fold_first_tile(a)
    hashes = bytearray(
        a.run("SELECT hashes FROM scelle_ledger_tiles WHERE level = 0 AND idx = 0")[0][0]
    )
    hashes[9 * 32 : 10 * 32] = b"\x42" * 32
    a.run("UPDATE scelle_ledger_tiles SET hashes = ? WHERE level = 0 AND idx = 0", (bytes(hashes),))


def truncate_log(a: Attacker) -> None:
    """Cut events and ledger back to 25 leaves, leaving the database's checkpoints alone."""
    keep = 25
    last_kept = a.nid_of_leaf(keep - 1)
    a.run(f"DELETE FROM {a.db.events_table} WHERE {a.id} > ?", (last_kept,))
    a.run("DELETE FROM scelle_ledger_tail WHERE first_leaf >= ?", (keep,))
    first, nids, hashes, chains = a.run(
        "SELECT first_leaf, nids, leaf_hashes, chains FROM scelle_ledger_tail "
        "ORDER BY first_leaf DESC LIMIT 1"
    )[0]
    k = keep - first  # the run that held leaf keep - 1, cut after it
    a.run(
        "UPDATE scelle_ledger_tail SET nids = ?, leaf_hashes = ?, chains = ? WHERE first_leaf = ?",
        (bytes(nids)[: 8 * k], bytes(hashes)[: 32 * k], bytes(chains)[: 32 * k], first),
    )


def replace_checkpoint_signature(a: Attacker) -> None:
    size, note = a.run(
        "SELECT tree_size, note FROM scelle_ledger_checkpoints ORDER BY tree_size DESC LIMIT 1"
    )[0]
    text, _ = split_note(note)
    skey, _ = generate_signer_key("scelle.test/log")  # same name, another key
    forged = sign_note(text, [Signer.from_skey(skey)])
    a.run("UPDATE scelle_ledger_checkpoints SET note = ? WHERE tree_size = ?", (forged, size))


CASES: list[tuple[Callable[[Attacker], None], str, bool]] = [
    (flip_one_byte, "event-altered", True),
    (delete_event, "event-deleted", True),
    (insert_forged_event, "event-inserted", True),
    (swap_two_events, "events-swapped", True),
    (edit_tail_chain, "ledger-edited", True),
    (edit_tail_leaf_hash, "ledger-edited", True),
    (edit_ledger_row, "ledger-edited", True),
    (edit_leaf_tile, "ledger-edited", True),
    (truncate_log, "log-truncated", False),
    (replace_checkpoint_signature, "checkpoint-signature", False),
]


@pytest.mark.parametrize(
    ("tamper", "kind", "with_outside"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_each_tampering_is_caught_with_its_own_kind(
    store: System, tamper: Callable[[Attacker], None], kind: str, with_outside: bool
) -> None:
    attacker = Attacker(store)
    tamper(attacker)
    kinds = kinds_after(store, None if with_outside else [])
    assert kind in kinds
    others = {k for _, k, _ in CASES} - {kind}
    assert not kinds & others - {"checkpoint-mismatch", "node-mismatch"}, kinds


def test_a_rolled_back_database_is_caught_by_a_checkpoint_kept_outside(
    store: System, tmp_path: Path
) -> None:
    attacker = Attacker(store)
    backup = snapshot(attacker, tmp_path)
    record_segments(store, "CAM-1", 5, start=store.archives.clock.now())
    store.ledger.checkpoint()  # a copy lands outside the database
    backup()
    assert kinds_after(store, []) == set()  # the database alone looks fine...
    assert "rollback" in kinds_after(store)  # ...but not against what was kept outside


def snapshot(a: Attacker, tmp_path: Path) -> Callable[[], None]:
    """Copy the whole database now; return a function that puts it back."""
    tables = [
        a.db.events_table,
        "scelle_ledger_entries",
        "scelle_ledger_tiles",
        "scelle_ledger_tail",
        "scelle_ledger_checkpoints",
    ]
    if a.pg:
        for t in tables:
            a.run(f"CREATE TABLE bak_{t} AS SELECT * FROM {t}")

        def restore_pg() -> None:
            for t in tables:
                a.run(f"DELETE FROM {t}")
                a.run(f"INSERT INTO {t} SELECT * FROM bak_{t}")

        return restore_pg
    path = Path(a.system.settings.events_path)
    copy = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)

    def restore_sqlite() -> None:
        with sqlite3.connect(copy) as old, sqlite3.connect(path) as live:
            old.backup(live)

    return restore_sqlite


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("originator_id", "not-hex"),
        ("topic", b"\xff\xfe"),
        ("originator_version", "three"),
        ("state", "plain text"),
    ],
)
def test_a_row_rewritten_with_hostile_types_is_reported_not_crashed_on(
    tmp_path: Path, column: str, value: object
) -> None:
    system = filled_store(tmp_path)
    attacker = Attacker(system)
    attacker.run(
        f"UPDATE stored_events SET {column} = ? WHERE rowid = ?", (value, attacker.nid_of_leaf(4))
    )
    assert "event-altered" in kinds_after(system)
    system.close()
