"""The tree as stored in tiles gives the same nodes, roots and proofs as the reference."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.ledger import merkle
from evidence.ledger.store import SQLiteLedgerDB
from evidence.model import AccessDenial
from tests.builders import new_store
from tools.verify_store import StoreVerificationFailed, verify_store


def leaf(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest()


@pytest.mark.parametrize("size", [1, 255, 256, 257, 511, 65_535, 65_536, 65_537, 70_001])
def test_tiles_give_the_reference_roots_and_proofs(tmp_path: Path, size: int) -> None:
    db = SQLiteLedgerDB(str(tmp_path / "t.sqlite"))
    db.ensure_schema()
    rng = random.Random(size)
    reference = merkle.Frontier()
    done = 0
    checked_sizes = []
    while done < size:  # batches of every shape: single saves, partial tiles, many tiles
        batch = min(rng.choice([1, 2, 7, 255, 256, 300, 2048, 5000]), size - done)
        leaves = [leaf(i) for i in range(done, done + batch)]
        with db.write_transaction() as cur:
            db.append(cur, done, leaves, list(range(done + 1, done + batch + 1)), leaves)
        for digest in leaves:
            reference.append(digest)
        done += batch
        with db.read_transaction() as cur:
            assert merkle.root(done, lambda refs: db.get_nodes(cur, refs)) == reference.root()
        checked_sizes.append(done)
    with db.read_transaction() as cur:
        assert db.tree_size(cur) == size
        for old in rng.sample(checked_sizes, min(5, len(checked_sizes))):
            proof = merkle.consistency_proof(old, size, lambda refs: db.get_nodes(cur, refs))
            old_root = merkle.root(old, lambda refs: db.get_nodes(cur, refs))
            if old < size:
                merkle.verify_consistency(old, size, proof, old_root, reference.root())
        for index in rng.sample(range(size), min(20, size)):
            proof = merkle.inclusion_proof(index, size, lambda refs: db.get_nodes(cur, refs))
            merkle.verify_inclusion(leaf(index), index, size, proof, reference.root())
        rows = db.raw_leaves(cur, max(size - 300, 0), size)
        assert [r[0] for r in rows] == list(range(max(size - 300, 0), size))
        assert all(r[2] == leaf(r[0]) and r[1] == r[0] + 1 for r in rows)


def test_an_edited_tile_above_the_leaves_is_caught(tmp_path: Path) -> None:
    system = store_of_600(tmp_path)
    db = system.ledger.db
    verify_store(db, system.ledger.verifier)
    with db.write_transaction() as cur:
        cur.execute("SELECT hashes FROM scelle_ledger_tiles WHERE level = 1 AND idx = 0")
        blob = bytearray(cur.fetchone()[0])
        blob[0] ^= 1
        cur.execute(
            "UPDATE scelle_ledger_tiles SET hashes = ? WHERE level = 1 AND idx = 0", (bytes(blob),)
        )
    with pytest.raises(StoreVerificationFailed) as failed:
        verify_store(db, system.ledger.verifier)
    assert {f.kind for f in failed.value.failures} >= {"node-mismatch"}
    system.close()


def store_of_600(tmp_path: Path):  # type: ignore[no-untyped-def]
    system = new_store(tmp_path)
    now = datetime.now(UTC)
    for _ in range(3):
        system.archives.save(
            *[
                AccessDenial(actor="a", action="v", target=str(i), reason="r", at=now, source="t")
                for i in range(200)
            ]
        )
    system.ledger.checkpoint()
    return system


def run_sql(system, sql: str, params: tuple = ()) -> list:  # type: ignore[no-untyped-def,type-arg]
    with system.ledger.db.write_transaction() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def drop_middle_entries_row(system) -> None:  # type: ignore[no-untyped-def]
    run_sql(system, "DELETE FROM scelle_ledger_entries WHERE tile = 1")


def cut_one_leaf_out_of_a_row(system) -> None:  # type: ignore[no-untyped-def]
    nids, chains = run_sql(system, "SELECT nids, chains FROM scelle_ledger_entries WHERE tile = 0")[
        0
    ]
    run_sql(
        system,
        "UPDATE scelle_ledger_entries SET nids = ?, chains = ? WHERE tile = 0",
        (nids[:80] + nids[88:], chains[:320] + chains[352:]),
    )


def ragged_ids(system) -> None:  # type: ignore[no-untyped-def]
    nids = run_sql(system, "SELECT nids FROM scelle_ledger_entries WHERE tile = 1")[0][0]
    run_sql(system, "UPDATE scelle_ledger_entries SET nids = ? WHERE tile = 1", (nids + b"\x01",))


def wrong_first_id(system) -> None:  # type: ignore[no-untyped-def]
    run_sql(system, "UPDATE scelle_ledger_entries SET first_nid = first_nid + 1 WHERE tile = 1")


def orphan_leaf_tile(system) -> None:  # type: ignore[no-untyped-def]
    run_sql(system, "INSERT INTO scelle_ledger_tiles VALUES (0, 9, ?)", (b"\x00" * 32,))


def chains_as_text(system) -> None:  # type: ignore[no-untyped-def]
    run_sql(system, "UPDATE scelle_ledger_entries SET chains = 'abc' WHERE tile = 0")


def tail_run(system):  # type: ignore[no-untyped-def]
    """The one tail run of the store of 600: leaves 512 … 599, from its third save."""
    rows = run_sql(system, "SELECT first_leaf, nids, leaf_hashes, chains FROM scelle_ledger_tail")
    assert len(rows) == 1 and rows[0][0] == 512
    return tuple(bytes(v) if not isinstance(v, int) else v for v in rows[0])


def stray_tail_row_in_a_full_tile(system) -> None:  # type: ignore[no-untyped-def]
    """A copy of the tail run filed under a leaf that a full entries row already holds."""
    _, nids, hashes, chains = tail_run(system)
    run_sql(system, "INSERT INTO scelle_ledger_tail VALUES (5, ?, ?, ?)", (nids, hashes, chains))


def drop_a_tail_row(system) -> None:  # type: ignore[no-untyped-def]
    """Leaf 520 cut out: the run split in two around it."""
    first, nids, hashes, chains = tail_run(system)
    k = 520 - first
    run_sql(system, "DELETE FROM scelle_ledger_tail")
    run_sql(
        system,
        "INSERT INTO scelle_ledger_tail VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
        (
            first,
            nids[: 8 * k],
            hashes[: 32 * k],
            chains[: 32 * k],
            521,
            nids[8 * k + 8 :],
            hashes[32 * k + 32 :],
            chains[32 * k + 32 :],
        ),
    )


def tail_hash_as_text(system) -> None:  # type: ignore[no-untyped-def]
    run_sql(system, "UPDATE scelle_ledger_tail SET leaf_hashes = 'abc'")


def unfolded_full_tail(system) -> None:  # type: ignore[no-untyped-def]
    """The tail grown to leaves 512 … 767 (256 of them) that were never folded into a tile."""
    first, nids, hashes, chains = tail_run(system)
    more = 768 - first - len(nids) // 8
    run_sql(
        system,
        "UPDATE scelle_ledger_tail SET nids = ?, leaf_hashes = ?, chains = ?",
        (nids + bytes(8 * more), hashes + bytes(32 * more), chains + bytes(32 * more)),
    )


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (stray_tail_row_in_a_full_tile, "ledger-edited"),
        (drop_a_tail_row, "ledger-gap"),
        (tail_hash_as_text, "ledger-edited"),
        (unfolded_full_tail, "ledger-edited"),
        (drop_middle_entries_row, "ledger-gap"),
        (cut_one_leaf_out_of_a_row, "ledger-edited"),
        (ragged_ids, "ledger-edited"),
        (wrong_first_id, "ledger-edited"),
        (orphan_leaf_tile, "node-mismatch"),
        (chains_as_text, "ledger-edited"),
    ],
)
def test_a_damaged_ledger_row_is_reported_never_crashed_on(
    tmp_path: Path,
    tamper,
    kind: str,  # type: ignore[no-untyped-def]
) -> None:
    system = store_of_600(tmp_path)
    tamper(system)
    for chunk_level, workers in ((17, 1), (7, 2)):  # one chunk; chunks of 128 on 2 processes
        with pytest.raises(StoreVerificationFailed) as failed:
            verify_store(
                system.ledger.db, system.ledger.verifier, workers=workers, chunk_level=chunk_level
            )
        assert kind in {f.kind for f in failed.value.failures}, failed.value.failures[:5]
    system.close()
