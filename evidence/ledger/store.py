"""Ledger tables beside the event store: entries, tree tiles, the tail and checkpoints.

The ledger lives in the same database as the events (SQLite file or PostgreSQL), in its own
tables, so that a sealing transaction sees exactly the committed events. The tree is kept
in tiles of 256 hashes (``evidence.ledger.tiles``), so that proofs cost O(log n) reads; the
leaves after the last full tile wait in small tail rows, one per seal, so that a save never
rewrites a growing blob (docs/FORMATS.md §2.1).
"""

from __future__ import annotations

import os
import re
import sqlite3
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from evidence.ledger import merkle
from evidence.ledger.leaf import StoredRecord
from evidence.ledger.tiles import (
    HASH,
    TILE_WIDTH,
    TileCache,
    TileRef,
    nodes_from_tiles,
    split,
    subtree_root,
)

NodeRef = tuple[int, int]
#: Below every possible notification id: rows an attacker slips in at id 0 or below are read.
BEFORE_ALL = -(2**63)
_CANONICAL_HEX = re.compile(r"[0-9a-f]{32}")
_HEX_RUN = re.compile(r"[0-9a-f]*")
_NID = struct.Struct(">Q")
_GROUP_NIDS = struct.Struct(f">{TILE_WIDTH}Q")
_INSERT_TAIL = "INSERT INTO scelle_ledger_tail VALUES (?, ?, ?, ?)"


@dataclass(frozen=True)
class LeafRow:
    leaf_index: int
    notification_id: int
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True)
class CheckpointRow:
    tree_size: int
    note: str
    issued_at: str


def _full_row(in_place: bool, first_nid: Any, nids: Any, chains: Any, hashes: Any) -> bool:
    """An entries row and its leaf tile as the verifier's fast path needs them: in place,
    bytes, 256 leaves wide, and starting at their first notification id."""
    return (
        in_place
        and all(isinstance(b, bytes) for b in (nids, chains, hashes))
        and len(nids) == TILE_WIDTH * 8
        and len(chains) == len(hashes) == TILE_WIDTH * HASH
        and first_nid == _NID.unpack_from(nids)[0]
    )


def tail_run(
    first: int, nids: Sequence[int], leaves: Sequence[bytes], chains: Sequence[bytes]
) -> tuple[int, bytes, bytes, bytes]:
    """One ``scelle_ledger_tail`` row: consecutive leaves from ``first``, as three blobs."""
    return first, struct.pack(f">{len(nids)}Q", *nids), b"".join(leaves), b"".join(chains)


def blob(value: Any) -> bytes:
    """A stored blob as bytes, whatever an attacker rewrote the column as: a verifier must
    report a damaged row, never crash on it (a text value is compared as its UTF-8 bytes)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if value is None:
        return b""
    return str(value).encode("utf-8", "surrogateescape")


class LedgerDB(ABC):
    """SQL shared by both backends; subclasses supply connections, locks and types."""

    placeholder = "?"
    _full_tiles: TileCache | None = None
    #: the table where ``eventsourcing`` keeps the events of the "Scelle" application
    events_table = "stored_events"
    id_column = "rowid"
    blob_type = "BLOB"
    int_type = "INTEGER"

    def schema(self) -> list[str]:
        b, i = self.blob_type, self.int_type
        return [
            # Tile level t holds tree level 8t, up to 256 hashes per row (C2SP tlog-tiles).
            "CREATE TABLE IF NOT EXISTS scelle_ledger_tiles ("
            f"level {i} NOT NULL, idx {i} NOT NULL, hashes {b} NOT NULL, "
            "PRIMARY KEY (level, idx))",
            # Leaves [256*tile, …): notification ids (u64 big-endian each) and chain values.
            "CREATE TABLE IF NOT EXISTS scelle_ledger_entries ("
            f"tile {i} PRIMARY KEY, first_nid {i} NOT NULL UNIQUE, nids {b} NOT NULL, "
            f"chains {b} NOT NULL)",
            # Leaves after the last full tile, one row per seal (a run of consecutive leaves),
            # until 256 of them fold into a full entries row and leaf tile: a seal writes one
            # small row instead of rewriting two growing blobs.
            "CREATE TABLE IF NOT EXISTS scelle_ledger_tail ("
            f"first_leaf {i} PRIMARY KEY, nids {b} NOT NULL, leaf_hashes {b} NOT NULL, "
            f"chains {b} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS scelle_ledger_checkpoints ("
            f"tree_size {i} PRIMARY KEY, note TEXT NOT NULL, issued_at TEXT NOT NULL)",
        ]

    @abstractmethod
    def connect(self) -> Any: ...

    def close(self) -> None:  # noqa: B027 - a hook: only pooled backends have work to do
        """Release pooled connections (nothing to do for SQLite)."""

    @abstractmethod
    @contextmanager
    def write_transaction(self) -> Iterator[Any]:
        """A transaction that only one sealer holds at a time."""

    @abstractmethod
    @contextmanager
    def read_transaction(self) -> Iterator[Any]: ...

    @abstractmethod
    def records_after(self, cur: Any, notification_id: int, limit: int) -> list[StoredRecord]:
        """Committed stored events after a notification id, in notification order."""

    def iter_records(self, cur: Any, batch: int = 20_000) -> Iterator[list[StoredRecord]]:
        """Every stored event in notification order, ids at or below 0 included."""
        after = BEFORE_ALL
        while rows := self.records_after(cur, after, batch):
            yield rows
            after = rows[-1].notification_id

    def ensure_schema(self) -> None:
        with self.write_transaction() as cur:
            for statement in self.schema():
                cur.execute(statement)

    def __getstate__(self) -> dict[str, Any]:
        """Workers get the database's address, never a copy of this process's caches."""
        return {**self.__dict__, "_full_tiles": None}

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def full_tiles(self, cur: Any) -> int:
        """How many full groups of 256 leaves were folded into entries rows and leaf tiles."""
        cur.execute("SELECT MAX(tile) FROM scelle_ledger_entries")
        row = cur.fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def tail_runs(self, cur: Any) -> list[tuple[Any, Any, Any, Any]]:
        """The rows of ``scelle_ledger_tail`` as stored: (first_leaf, nids, leaf_hashes,
        chains), in leaf order, whatever types an attacker left in them."""
        cur.execute(
            "SELECT first_leaf, nids, leaf_hashes, chains FROM scelle_ledger_tail "
            "ORDER BY first_leaf"
        )
        return [tuple(r) for r in cur.fetchall()]

    def tail_rows(self, cur: Any, lo: int, hi: int) -> list[tuple[int, int, bytes, bytes]]:
        """The tail's leaves with lo <= leaf < hi, one (leaf, nid, leaf hash, chain) each, as
        the runs hold them (a short blob gives a short value; ``malformed_tail`` says why)."""
        out: list[tuple[int, int, bytes, bytes]] = []
        for first, nid_blob, hash_blob, chain_blob in self.tail_runs(cur):
            nids, hashes, chains = blob(nid_blob), blob(hash_blob), blob(chain_blob)
            width = len(nids) // 8
            if first >= hi or first + width <= lo:
                continue
            ids = struct.unpack(f">{width}Q", nids[: 8 * width])
            out.extend(
                (
                    first + k,
                    ids[k],
                    hashes[k * HASH : (k + 1) * HASH],
                    chains[k * HASH : (k + 1) * HASH],
                )
                for k in range(max(lo - first, 0), min(hi - first, width))
            )
        return out

    def last_leaf(self, cur: Any) -> LeafRow | None:
        """The ledger's last leaf: the end of the last tail run, or else of the last full row."""
        full = self.full_tiles(cur)
        cur.execute(
            self._sql(
                "SELECT first_leaf, nids, leaf_hashes, chains FROM scelle_ledger_tail "
                "WHERE first_leaf >= ? ORDER BY first_leaf DESC LIMIT 1"
            ),
            (full * TILE_WIDTH,),
        )
        row = cur.fetchone()
        if row is not None and len(blob(row[1])) >= 8:
            nids, hashes, chains = blob(row[1]), blob(row[2]), blob(row[3])
            k = len(nids) // 8 - 1
            return LeafRow(
                row[0] + k,
                _NID.unpack_from(nids, 8 * k)[0],
                hashes[k * HASH : (k + 1) * HASH],
                chains[k * HASH : (k + 1) * HASH],
            )
        if not full:
            return None
        rows = self.raw_leaves(cur, full * TILE_WIDTH - 1, full * TILE_WIDTH)
        return LeafRow(*rows[0]) if rows else None

    def tree_size(self, cur: Any) -> int:
        last = self.last_leaf(cur)
        return 0 if last is None else last.leaf_index + 1

    def tiles(self, cur: Any, refs: Sequence[TileRef]) -> dict[TileRef, bytes]:
        """Fetch tiles by (tile level, index), each a primary-key lookup, in one query.

        The partial leaf tile is not stored as a row: it is assembled from the tail runs."""
        if not refs:
            return {}
        point = f"(level = {self.placeholder} AND idx = {self.placeholder})"
        cur.execute(
            "SELECT level, idx, hashes FROM scelle_ledger_tiles WHERE "
            + " OR ".join(point for _ in refs),
            [v for ref in refs for v in ref],
        )
        found = {(r[0], r[1]): blob(r[2]) for r in cur.fetchall()}
        for level, idx in refs:
            if level == 0 and (0, idx) not in found:
                lo = idx * TILE_WIDTH
                hashes: list[bytes] = []
                for leaf, _, leaf_hash, _ in self.tail_rows(cur, lo, lo + TILE_WIDTH):
                    if leaf != lo + len(hashes) or len(leaf_hash) != HASH:
                        break
                    hashes.append(leaf_hash)
                if hashes:
                    found[(0, idx)] = b"".join(hashes)
        return found

    def get_nodes(self, cur: Any, refs: Sequence[NodeRef]) -> dict[NodeRef, bytes]:
        """Complete subtree hashes, recomputed from the tiles that hold them (one query).

        Full tiles are cached: serving proofs never needs them again. A proof built from a
        stale or tampered cache would still fail against the signed root, so the cache can
        never make a wrong proof pass; the verifier does not use it.
        """
        if self._full_tiles is None:
            self._full_tiles = TileCache()
        return nodes_from_tiles(refs, lambda wanted: self.tiles(cur, wanted), self._full_tiles)

    def inclusion_path(self, cur: Any, leaf_index: int, tree_size: int) -> tuple[bytes, ...]:
        """RFC 9162 inclusion proof hashes of one leaf in the tree of ``tree_size`` leaves:
        one place for every proof the log hands out (one event, a package, a purge report)."""
        plan = merkle.inclusion_plan(leaf_index, tree_size)
        nodes = self.get_nodes(cur, [ref for group in plan for ref in group])
        return tuple(merkle.fold([nodes[ref] for ref in group]) for group in plan)

    def guarded_append(self, cur: Any, head: LeafRow, run: tuple[int, bytes, bytes, bytes]) -> bool:
        """Add a tail run right after ``head`` if, and only if, ``head`` is still the ledger's
        last leaf: the last tail run must end at it, with its notification id and chain value.
        False if the ledger moved on (another writer, a rolled-back save): the caller then
        reloads its head.

        Only for a run that stays inside the partial group of ``head`` (no fold), after a
        tail run: ``head.leaf_index`` is not the last leaf of a full tile. One indexed read
        of the last run's ends and one insert (SQLite copies a table that an ``INSERT …
        SELECT`` reads from itself, so a one-statement guard would cost more here;
        PostgreSQL uses one, see its subclass).
        """
        cur.execute(
            "SELECT first_leaf, length(nids), substr(nids, -8), substr(chains, -32) "
            "FROM scelle_ledger_tail ORDER BY first_leaf DESC LIMIT 1"
        )
        row = cur.fetchone()
        expected = (head.leaf_index, _NID.pack(head.notification_id), head.chain_hash)
        if row is None or (row[0] + row[1] // 8 - 1, row[2], row[3]) != expected:
            return False
        cur.execute(self._sql(_INSERT_TAIL), run)
        return True

    def append(
        self,
        cur: Any,
        start: int,
        leaves: Sequence[bytes],
        nids: Sequence[int],
        chains: Sequence[bytes],
    ) -> None:
        """Append sealed leaves at index ``start``.

        Each group of 256 leaves that becomes full is folded into one entries row and one leaf
        tile (its tail runs deleted), and its root climbs the tile levels; the leaves after
        the last full group go to the tail table as one run. Raises LookupError if the
        ledger does not end exactly at ``start``.
        """
        first, offset = divmod(start, TILE_WIDTH)
        if self.full_tiles(cur) != first:
            raise LookupError(f"the ledger's full tiles do not end at tile {first}")
        pending = self.tail_rows(cur, first * TILE_WIDTH, start + len(leaves))
        if [r[0] for r in pending] != list(range(first * TILE_WIDTH, start)):
            raise LookupError(f"the ledger's tail does not end at leaf {start}")
        if offset + len(leaves) < TILE_WIDTH:
            cur.execute(self._sql(_INSERT_TAIL), tail_run(start, nids, leaves, chains))
            return
        # Whole columns from the first leaf of the group: slices and joins, no per-leaf work.
        all_nids = [r[1] for r in pending] + list(nids)
        all_leaves = [r[2] for r in pending] + list(leaves)
        all_chains = [r[3] for r in pending] + list(chains)
        whole = len(all_nids) // TILE_WIDTH * TILE_WIDTH
        bounds = range(0, whole, TILE_WIDTH)
        cur.executemany(
            self._sql("INSERT INTO scelle_ledger_entries VALUES (?, ?, ?, ?)"),
            [
                (
                    first + k // TILE_WIDTH,
                    all_nids[k],
                    _GROUP_NIDS.pack(*all_nids[k : k + TILE_WIDTH]),
                    b"".join(all_chains[k : k + TILE_WIDTH]),
                )
                for k in bounds
            ],
        )
        cur.executemany(
            self._sql("INSERT INTO scelle_ledger_tiles VALUES (0, ?, ?)"),
            [(first + k // TILE_WIDTH, b"".join(all_leaves[k : k + TILE_WIDTH])) for k in bounds],
        )
        if pending:
            cur.execute(
                self._sql("DELETE FROM scelle_ledger_tail WHERE first_leaf < ?"),
                (first * TILE_WIDTH + whole,),
            )
        if whole < len(all_nids):
            rest = (all_nids[whole:], all_leaves[whole:], all_chains[whole:])
            cur.execute(self._sql(_INSERT_TAIL), tail_run(first * TILE_WIDTH + whole, *rest))
        roots = [subtree_root(all_leaves[k : k + TILE_WIDTH]) for k in bounds]
        self._extend_tiles(cur, 1, first, roots)

    def _extend_tiles(self, cur: Any, level: int, position: int, hashes: list[bytes]) -> None:
        """Add hashes to tile level ``level`` (>= 1) at ``position``; completed tiles climb a
        level. Partial tiles above the leaves are rewritten in place (once per 256 leaves)."""
        first, offset = divmod(position, TILE_WIDTH)
        blob = b""
        if offset:
            blob = self.tiles(cur, [(level, first)]).get((level, first), b"")
            if len(blob) != offset * HASH:
                raise LookupError(f"ledger tile ({level}, {first}) does not end at {position}")
        blob += b"".join(hashes)
        full = TILE_WIDTH * HASH
        parts = [blob[k : k + full] for k in range(0, len(blob), full)]
        cur.executemany(
            self._sql(
                "INSERT INTO scelle_ledger_tiles VALUES (?, ?, ?) ON CONFLICT (level, idx) "
                "DO UPDATE SET hashes = excluded.hashes"
            ),
            [(level, first + k, part) for k, part in enumerate(parts)],
        )
        roots = [subtree_root(split(part)) for part in parts if len(part) == full]
        if roots:
            self._extend_tiles(cur, level + 1, first, roots)

    def leaf_by_notification(self, cur: Any, notification_id: int) -> LeafRow | None:
        for leaf in self.tail_rows(cur, 0, 2**63):  # at most 255 leaves
            if leaf[1] == notification_id:
                return LeafRow(*leaf)
        cur.execute(
            self._sql(
                "SELECT tile FROM scelle_ledger_entries WHERE first_nid <= ? "
                "ORDER BY first_nid DESC LIMIT 1"
            ),
            (notification_id,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        lo = row[0] * TILE_WIDTH
        for leaf in self.raw_leaves(cur, lo, lo + TILE_WIDTH):
            if leaf[1] == notification_id:
                return LeafRow(*leaf)
        return None

    def iter_leaves(self, cur: Any, batch: int = 64 * TILE_WIDTH) -> Iterator[list[LeafRow]]:
        size = self.tree_size(cur)
        for lo in range(0, size, batch):
            yield [LeafRow(*r) for r in self.raw_leaves(cur, lo, min(lo + batch, size))]

    # Raw reads for the verifier: plain tuples, no per-row objects, in one query each.
    def raw_leaves(self, cur: Any, lo: int, hi: int) -> list[tuple[int, int, bytes, bytes]]:
        """(leaf index, notification id, leaf hash, chain value) for lo <= index < hi.

        Leaves of full groups come from their entries row and leaf tile, the others from the
        tail runs (a tail leaf that an entries row already holds is ignored here
        and reported by ``malformed_tail``). A leaf whose row is gone is absent; a leaf whose
        tile is gone or short has an empty leaf hash (its chain link then fails). Nothing
        here raises on a damaged ledger.
        """
        if hi <= lo:
            return []
        t_lo, t_hi = lo // TILE_WIDTH, (hi - 1) // TILE_WIDTH + 1
        cur.execute(
            self._sql(
                "SELECT tile, nids, chains FROM scelle_ledger_entries WHERE tile >= ? "
                "AND tile < ? ORDER BY tile"
            ),
            (t_lo, t_hi),
        )
        entries = cur.fetchall()
        cur.execute(
            self._sql(
                "SELECT idx, hashes FROM scelle_ledger_tiles WHERE level = 0 AND idx >= ? "
                "AND idx < ?"
            ),
            (t_lo, t_hi),
        )
        leaf_tiles = {r[0]: blob(r[1]) for r in cur.fetchall()}
        out: list[tuple[int, int, bytes, bytes]] = []
        covered: set[int] = set()
        for tile, nid_blob, chain_blob in entries:
            covered.add(tile)
            nids = blob(nid_blob)
            count = len(nids) // 8
            base = tile * TILE_WIDTH
            a, b = max(lo - base, 0), min(hi - base, count)
            if a >= b:
                continue
            ids = struct.unpack(f">{count}Q", nids[: count * 8])
            hashes = leaf_tiles.get(tile, b"")
            chains = blob(chain_blob)
            out.extend(
                (
                    base + i,
                    ids[i],
                    hashes[i * HASH : (i + 1) * HASH],
                    chains[i * HASH : (i + 1) * HASH],
                )
                for i in range(a, b)
            )
        out.extend(r for r in self.tail_rows(cur, lo, hi) if r[0] // TILE_WIDTH not in covered)
        return out

    def leaf_columns(
        self, cur: Any, lo: int, hi: int
    ) -> tuple[tuple[int, ...], bytes, list[bytes]] | None:
        """Notification ids, leaf hashes (one blob) and chain values of leaves [lo, hi), or
        None if any row or tile is missing or not full, or a tail run is out of place (the
        caller then reads row by row)."""
        t_lo, t_hi = lo // TILE_WIDTH, (hi - 1) // TILE_WIDTH + 1
        cur.execute(
            self._sql(
                "SELECT e.tile, e.first_nid, e.nids, e.chains, t.hashes FROM "
                "scelle_ledger_entries e LEFT JOIN scelle_ledger_tiles t ON t.level = 0 "
                "AND t.idx = e.tile WHERE e.tile >= ? AND e.tile < ? ORDER BY e.tile"
            ),
            (t_lo, t_hi),
        )
        nids: list[int] = []
        leaves: list[bytes] = []  # blobs of whole or partial tiles, joined at the end
        chains: list[bytes] = []
        expected = t_lo
        for tile, first_nid, nid_blob, chain_blob, hashes in cur.fetchall():
            if not _full_row(tile == expected, first_nid, nid_blob, chain_blob, hashes):
                return None
            base = tile * TILE_WIDTH
            a, b = max(lo - base, 0), min(hi - base, TILE_WIDTH)
            nids.extend(struct.unpack(f">{TILE_WIDTH}Q", nid_blob)[a:b])
            leaves.append(hashes[a * HASH : b * HASH] if (a, b) != (0, TILE_WIDTH) else hashes)
            chains.extend(split(chain_blob[a * HASH : b * HASH]))
            expected += 1
        if lo + len(nids) < hi:
            rest = self._tail_columns(cur, expected * TILE_WIDTH, lo + len(nids), hi)
            if rest is None:
                return None
            for nid, leaf_hash, chain in rest:
                nids.append(nid)
                leaves.append(leaf_hash)
                chains.append(chain)
        if len(nids) != hi - lo:
            return None
        return tuple(nids), b"".join(leaves), chains

    def _tail_columns(
        self, cur: Any, base: int, lo: int, hi: int
    ) -> list[tuple[int, bytes, bytes]] | None:
        """Tail leaves [lo, hi) if the tail is well formed from ``base`` (the end of the full
        groups, §2.1 of docs/FORMATS.md); None otherwise."""
        if self.malformed_tail(cur, base):
            return None
        rows = self.tail_rows(cur, base, base + TILE_WIDTH)
        if base + len(rows) < hi:
            return None
        return [(r[1], r[2], r[3]) for r in rows[lo - base : hi - base]]

    def malformed_entries(self, cur: Any, t_lo: int, t_hi: int) -> list[str]:
        """Shape problems of entries rows and leaf tiles in [t_lo, t_hi): each row must hold
        256 ids, one chain value and one leaf hash per id, and start at its first id."""
        problems = []
        cur.execute(
            self._sql(
                "SELECT e.tile, e.first_nid, e.nids, e.chains, t.hashes FROM "
                "scelle_ledger_entries e LEFT JOIN scelle_ledger_tiles t ON t.level = 0 "
                "AND t.idx = e.tile WHERE e.tile >= ? AND e.tile < ? ORDER BY e.tile"
            ),
            (t_lo, t_hi),
        )
        for tile, first_nid, nids, chains, hashes in cur.fetchall():
            nid_blob, chain_blob, leaf_blob = blob(nids), blob(chains), blob(hashes)
            if (
                len(nid_blob) != TILE_WIDTH * 8
                or len(chain_blob) != TILE_WIDTH * HASH
                or len(leaf_blob) != TILE_WIDTH * HASH
                or first_nid != _NID.unpack_from(nid_blob)[0]
            ):
                problems.append(f"entries row / leaf tile {tile} is malformed")
        cur.execute(
            self._sql(
                "SELECT t.idx FROM scelle_ledger_tiles t LEFT JOIN scelle_ledger_entries e "
                "ON e.tile = t.idx WHERE t.level = 0 AND e.tile IS NULL"
            )
        )
        problems += [f"leaf tile {r[0]} has no entries row" for r in cur.fetchall()]
        return problems

    def malformed_tail(self, cur: Any, start: int | None = None) -> list[str]:
        """Shape problems of the tail runs: they must hold, one after the other, the leaves
        right after the last full group (``start``), fewer than 256 of them, each run its
        ids (u64), leaf hashes and chain values (32 bytes) in BLOBs of matching lengths."""
        start = self.full_tiles(cur) * TILE_WIDTH if start is None else start
        problems = []
        expected = start
        for first, nids, hashes, chains in self.tail_runs(cur):
            width = len(nids) // 8 if isinstance(nids, bytes) else 0
            if first < start:
                problems.append(f"tail run at leaf {first} lies in a full tile")
                continue
            if not (
                all(isinstance(v, bytes) for v in (nids, hashes, chains))
                and width
                and len(nids) == 8 * width
                and len(hashes) == len(chains) == HASH * width
            ):
                problems.append(f"tail run at leaf {first} is malformed")
            elif first != expected:
                problems.append(f"tail run at leaf {first} does not follow leaf {expected - 1}")
            expected = first + max(width, 1)
        if expected - start >= TILE_WIDTH:
            problems.append(f"the tail reaches leaf {expected - 1}: a full group was not folded")
        return problems

    def leaf_before(self, cur: Any, index: int) -> tuple[int, int, bytes, bytes] | None:
        """The last leaf below ``index`` that the ledger still holds."""
        if index <= 0:
            return None
        cur.execute(
            self._sql(
                "SELECT tile FROM scelle_ledger_entries WHERE tile <= ? ORDER BY tile DESC LIMIT 1"
            ),
            ((index - 1) // TILE_WIDTH,),
        )
        row = cur.fetchone()
        start = 0 if row is None else row[0] * TILE_WIDTH
        leaves = self.raw_leaves(cur, start, index)
        return leaves[-1] if leaves else None

    def leaf_tile_indices(self, cur: Any) -> list[int]:
        """The indices of the stored level-0 tiles, without reading their hashes."""
        cur.execute("SELECT idx FROM scelle_ledger_tiles WHERE level = 0")
        return [r[0] for r in cur.fetchall()]

    def stored_tiles(self, cur: Any, min_level: int) -> list[tuple[int, int, bytes]]:
        """Every stored tile from ``min_level`` up: (tile level, index, hashes)."""
        cur.execute(
            self._sql("SELECT level, idx, hashes FROM scelle_ledger_tiles WHERE level >= ?"),
            (min_level,),
        )
        return [(r[0], r[1], blob(r[2])) for r in cur.fetchall()]

    @abstractmethod
    def raw_events(self, cur: Any, after: int, upto: int) -> list[tuple[Any, ...]]:
        """(notification id, originator id, version, topic, state) for after < id <= upto."""

    @staticmethod
    @abstractmethod
    def originator_bytes(value: Any) -> bytes:
        """The 16 raw bytes of an originator id as this backend returns it."""

    def originator_column(self, values: Sequence[Any]) -> list[bytes]:
        """``originator_bytes`` over a whole column (ValueError if any is malformed)."""
        return [self.originator_bytes(v) for v in values]

    def events_after(self, cur: Any, notification_id: int) -> tuple[int, int | None]:
        """How many events lie after a notification id, and the first one's id."""
        column = self.id_column
        cur.execute(
            self._sql(
                f"SELECT COUNT(*), MIN({column}) FROM {self.events_table} WHERE {column} > ?"
            ),
            (notification_id,),
        )
        count, first = cur.fetchone()
        return int(count), first

    def insert_checkpoint(self, cur: Any, row: CheckpointRow) -> None:
        cur.execute(
            self._sql("INSERT INTO scelle_ledger_checkpoints VALUES (?, ?, ?)"),
            (row.tree_size, row.note, row.issued_at),
        )

    def checkpoint_at(self, cur: Any, size: int) -> CheckpointRow | None:
        cur.execute(
            self._sql(
                "SELECT tree_size, note, issued_at FROM scelle_ledger_checkpoints "
                "WHERE tree_size = ?"
            ),
            (size,),
        )
        row = cur.fetchone()
        return None if row is None else CheckpointRow(row[0], row[1], row[2])

    def checkpoints(self, cur: Any) -> list[CheckpointRow]:
        cur.execute(
            "SELECT tree_size, note, issued_at FROM scelle_ledger_checkpoints ORDER BY tree_size"
        )
        return [CheckpointRow(r[0], r[1], r[2]) for r in cur.fetchall()]


class SQLiteLedgerDB(LedgerDB):
    """The embedded default: the ledger tables inside the events' SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Cursor]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")  # the write lock: one sealer at a time
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.close()

    @contextmanager
    def read_transaction(self) -> Iterator[sqlite3.Cursor]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute("BEGIN")  # a consistent snapshot for the verifier
            yield cur
            conn.rollback()
        finally:
            conn.close()

    def schema(self) -> list[str]:
        return [
            s.replace("PRIMARY KEY (level, idx))", "PRIMARY KEY (level, idx)) WITHOUT ROWID")
            for s in super().schema()
        ]

    def _records(self, rows: list[Any]) -> list[StoredRecord]:
        return [StoredRecord(r[0], UUID(hex=r[1]), r[2], r[3], bytes(r[4])) for r in rows]

    def records_after(self, cur: Any, notification_id: int, limit: int) -> list[StoredRecord]:
        cur.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (notification_id, limit),
        )
        return self._records(cur.fetchall())

    def raw_events(self, cur: Any, after: int, upto: int) -> list[tuple[Any, ...]]:
        cur.execute(
            f"SELECT rowid, originator_id, originator_version, topic, state FROM "
            f"{self.events_table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
            (after, upto),
        )
        return cur.fetchall()  # type: ignore[no-any-return]

    @staticmethod
    def originator_bytes(value: Any) -> bytes:
        """Only the spelling the library writes (32 lowercase hex digits) is accepted: any
        other spelling of the same UUID hides the event from the application."""
        if not isinstance(value, str) or not _CANONICAL_HEX.fullmatch(value):
            raise ValueError(f"originator id {value!r} is not 32 lowercase hex digits")
        return bytes.fromhex(value)

    def originator_column(self, values: Sequence[Any]) -> list[bytes]:
        """The whole column at C speed: every id is text of exactly 32 characters (TypeError
        for anything else), all of them lowercase hex digits (one regex over the joined
        column), decoded at once and cut into 16-byte ids."""
        joined = "".join(values)  # TypeError if any is not text
        if set(map(len, values)) - {32} or not _HEX_RUN.fullmatch(joined):
            raise ValueError("an originator id is not 32 lowercase hex digits")
        raw = bytes.fromhex(joined)
        return [raw[i : i + 16] for i in range(0, len(raw), 16)]


class PostgresLedgerDB(LedgerDB):
    """Scale-out: the ledger tables in the PostgreSQL database of the event store."""

    placeholder = "%s"
    events_table = "scelle_events"
    id_column = "notification_id"
    blob_type = "BYTEA"
    int_type = "BIGINT"
    #: pg_advisory_xact_lock key: "SCEL" — one sealer (leader) at a time.
    LOCK_KEY = 0x5343454C

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._pool: Any = None
        self._pool_pid = 0

    def __getstate__(self) -> dict[str, Any]:
        """Verification workers get the address, never the parent's connections."""
        return {"conninfo": self.conninfo, "_pool": None, "_pool_pid": 0, "_full_tiles": None}

    def _connections(self) -> Any:
        """One small pool per process: a follower or a busy API node keeps its connections,
        and a forked verification worker opens its own instead of sharing its parent's."""
        if self._pool is None or self._pool_pid != os.getpid():
            from psycopg_pool import ConnectionPool  # the embedded default never needs it

            self._pool = ConnectionPool(self.conninfo, min_size=1, max_size=4, open=True)
            self._pool_pid = os.getpid()
        return self._pool

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.conninfo)

    def close(self) -> None:
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.close()
        self._pool = None

    @contextmanager
    def write_transaction(self) -> Iterator[Any]:
        with (
            self._connections().connection() as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (self.LOCK_KEY,))
            # Writers that seal inside their insert transaction hold the events table in
            # EXCLUSIVE mode (the library's own lock) and take no other: holding it too
            # keeps them out while this transaction extends the ledger.
            cur.execute(
                f"DO $$ BEGIN IF to_regclass('{self.events_table}') IS NOT NULL THEN "
                f"LOCK TABLE {self.events_table} IN EXCLUSIVE MODE; END IF; END $$"
            )
            yield cur

    @contextmanager
    def read_transaction(self) -> Iterator[Any]:
        from psycopg import IsolationLevel

        with self._connections().connection() as conn:
            previous = conn.isolation_level
            conn.isolation_level = IsolationLevel.REPEATABLE_READ  # one snapshot throughout
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            finally:
                conn.isolation_level = previous

    def guarded_append(self, cur: Any, head: LeafRow, run: tuple[int, bytes, bytes, bytes]) -> bool:
        """One round trip: the guard and the insert in one statement (see the base)."""
        cur.execute(
            "INSERT INTO scelle_ledger_tail (first_leaf, nids, leaf_hashes, chains) "
            "SELECT %s, %s, %s, %s FROM (SELECT first_leaf, nids, chains FROM "
            "scelle_ledger_tail ORDER BY first_leaf DESC LIMIT 1) t "
            "WHERE t.first_leaf + length(t.nids) / 8 - 1 = %s "
            "AND substring(t.nids FROM length(t.nids) - 7) = %s "
            "AND substring(t.chains FROM length(t.chains) - 31) = %s",
            (*run, head.leaf_index, _NID.pack(head.notification_id), head.chain_hash),
        )
        return bool(cur.rowcount == 1)

    def records_after(self, cur: Any, notification_id: int, limit: int) -> list[StoredRecord]:
        cur.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE notification_id > %s "
            "ORDER BY notification_id LIMIT %s",
            (notification_id, limit),
        )
        return [
            StoredRecord(
                r[0], r[1] if isinstance(r[1], UUID) else UUID(str(r[1])), r[2], r[3], bytes(r[4])
            )
            for r in cur.fetchall()
        ]

    def raw_events(self, cur: Any, after: int, upto: int) -> list[tuple[Any, ...]]:
        cur.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM "
            f"{self.events_table} WHERE notification_id > %s AND notification_id <= %s "
            "ORDER BY notification_id",
            (after, upto),
        )
        return cur.fetchall()  # type: ignore[no-any-return]

    @staticmethod
    def originator_bytes(value: Any) -> bytes:
        return value.bytes if isinstance(value, UUID) else UUID(str(value)).bytes
