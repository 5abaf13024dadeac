"""Ledger tables beside the event store: entries, tree tiles and checkpoints.

The ledger lives in the same database as the events (SQLite file or PostgreSQL), in its own
tables, so that a sealing transaction sees exactly the committed events. The tree is kept
in tiles of 256 hashes (``evidence.ledger.tiles``), so that proofs cost O(log n) reads.
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
_NID = struct.Struct(">Q")


@dataclass(frozen=True)
class LeafRow:
    leaf_index: int
    notification_id: int
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True)
class Tail:
    """The ledger's last entries row and leaf tile, as stored."""

    tile: int
    nids: bytes
    chains: bytes
    leaves: bytes

    def last_leaf(self) -> LeafRow | None:
        width = len(self.nids) // 8
        if not width:
            return None
        last = width - 1
        return LeafRow(
            self.tile * TILE_WIDTH + last,
            _NID.unpack_from(self.nids, last * 8)[0],
            self.leaves[last * HASH : width * HASH],
            self.chains[last * HASH : width * HASH],
        )


@dataclass(frozen=True)
class CheckpointRow:
    tree_size: int
    note: str
    issued_at: str


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

    def tail(self, cur: Any) -> Tail | None:
        """The last entries row and its leaf tile, in one query: what the next seal extends."""
        cur.execute(
            "SELECT e.tile, e.nids, e.chains, t.hashes FROM scelle_ledger_entries e "
            "LEFT JOIN scelle_ledger_tiles t ON t.level = 0 AND t.idx = e.tile "
            "ORDER BY e.tile DESC LIMIT 1"
        )
        row = cur.fetchone()
        if row is None:
            return None
        return Tail(row[0], blob(row[1]), blob(row[2]), blob(row[3]))

    def last_leaf(self, cur: Any) -> LeafRow | None:
        tail = self.tail(cur)
        return None if tail is None else tail.last_leaf()

    def tree_size(self, cur: Any) -> int:
        last = self.last_leaf(cur)
        return 0 if last is None else last.leaf_index + 1

    def tiles(self, cur: Any, refs: Sequence[TileRef]) -> dict[TileRef, bytes]:
        """Fetch tiles by (tile level, index), each a primary-key lookup, in one query."""
        if not refs:
            return {}
        point = f"(level = {self.placeholder} AND idx = {self.placeholder})"
        cur.execute(
            "SELECT level, idx, hashes FROM scelle_ledger_tiles WHERE "
            + " OR ".join(point for _ in refs),
            [v for ref in refs for v in ref],
        )
        return {(r[0], r[1]): blob(r[2]) for r in cur.fetchall()}

    def get_nodes(self, cur: Any, refs: Sequence[NodeRef]) -> dict[NodeRef, bytes]:
        """Complete subtree hashes, recomputed from the tiles that hold them (one query).

        Full tiles are cached: serving proofs never needs them again. A proof built from a
        stale or tampered cache would still fail against the signed root, so the cache can
        never make a wrong proof pass; the verifier does not use it.
        """
        if self._full_tiles is None:
            self._full_tiles = TileCache()
        return nodes_from_tiles(refs, lambda wanted: self.tiles(cur, wanted), self._full_tiles)

    def append(
        self,
        cur: Any,
        start: int,
        leaves: Sequence[bytes],
        nids: Sequence[int],
        chains: Sequence[bytes],
        tail: Tail | None = None,
    ) -> None:
        """Append sealed leaves at index ``start``: entries, then the tiles level by level.

        ``tail`` is the last entries row and leaf tile as the caller just read them in this
        transaction; when they end exactly at ``start`` they are not read again.
        """
        first, offset = divmod(start, TILE_WIDTH)
        nid_blob, chain_blob = b"", b""
        leaf_prefix: bytes | None = None
        if (
            offset
            and tail is not None
            and tail.tile == first
            and len(tail.nids) == offset * 8
            and len(tail.chains) == len(tail.leaves) == offset * HASH
        ):
            nid_blob, chain_blob, leaf_prefix = tail.nids, tail.chains, tail.leaves
        elif offset:
            cur.execute(
                self._sql("SELECT nids, chains FROM scelle_ledger_entries WHERE tile = ?"),
                (first,),
            )
            row = cur.fetchone()
            if row is None or len(row[0]) != offset * 8:
                raise LookupError(f"ledger entries for tile {first} do not end at leaf {start}")
            nid_blob, chain_blob = bytes(row[0]), bytes(row[1])
        nid_blob += struct.pack(f">{len(nids)}Q", *nids)
        chain_blob += b"".join(chains)
        rows = []
        for k in range(0, len(nid_blob) // 8, TILE_WIDTH):
            nid_part = nid_blob[k * 8 : (k + TILE_WIDTH) * 8]
            rows.append(
                (
                    first + k // TILE_WIDTH,
                    _NID.unpack_from(nid_part)[0],
                    nid_part,
                    chain_blob[k * HASH : (k + TILE_WIDTH) * HASH],
                )
            )
        cur.executemany(
            self._sql(
                "INSERT INTO scelle_ledger_entries VALUES (?, ?, ?, ?) ON CONFLICT (tile) "
                "DO UPDATE SET nids = excluded.nids, chains = excluded.chains"
            ),
            rows,
        )
        self._extend_tiles(cur, 0, start, list(leaves), leaf_prefix)

    def _extend_tiles(
        self, cur: Any, level: int, position: int, hashes: list[bytes], prefix: bytes | None = None
    ) -> None:
        """Add hashes to tile level ``level`` at ``position``; completed tiles climb a level."""
        first, offset = divmod(position, TILE_WIDTH)
        blob = b""
        if offset and prefix is not None:
            blob = prefix
        elif offset:
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

        A leaf whose entry row is gone is absent; a leaf whose tile is gone or short has an
        empty leaf hash (its chain link then fails). Nothing here raises on a damaged ledger.
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
        for tile, nid_blob, chain_blob in entries:
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
        return out

    def leaf_columns(
        self, cur: Any, lo: int, hi: int
    ) -> tuple[tuple[int, ...], list[bytes], list[bytes]] | None:
        """Notification ids, leaf hashes and chain values of leaves [lo, hi) as columns, or
        None if any row or tile is missing or short (the caller then reads row by row)."""
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
        leaves: list[bytes] = []
        chains: list[bytes] = []
        for expected, (tile, first_nid, nid_blob, chain_blob, hashes) in enumerate(
            cur.fetchall(), t_lo
        ):
            if not all(isinstance(b, bytes) for b in (nid_blob, chain_blob, hashes)):
                return None
            count = len(nid_blob) // 8
            if tile != expected or not count or len(nid_blob) != count * 8:
                return None
            if first_nid != _NID.unpack_from(nid_blob)[0]:
                return None
            if len(chain_blob) != count * HASH or len(hashes) != count * HASH:
                return None
            base = tile * TILE_WIDTH
            a, b = max(lo - base, 0), min(hi - base, count)
            nids.extend(struct.unpack(f">{count}Q", nid_blob)[a:b])
            leaves.extend(split(bytes(hashes)[a * HASH : b * HASH]))
            chains.extend(split(bytes(chain_blob)[a * HASH : b * HASH]))
        if len(nids) != hi - lo:
            return None
        return tuple(nids), leaves, chains

    def malformed_entries(self, cur: Any, t_lo: int, t_hi: int) -> list[str]:
        """Shape problems of entries rows and leaf tiles in [t_lo, t_hi): each row must hold
        whole ids, one chain value and one leaf hash per id, and start at its first id."""
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
            count = len(nid_blob) // 8
            if (
                not count
                or len(nid_blob) != count * 8
                or len(chain_blob) != count * HASH
                or len(leaf_blob) != count * HASH
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

    def leaf_before(self, cur: Any, index: int) -> tuple[int, int, bytes, bytes] | None:
        """The last leaf below ``index`` that the ledger still holds."""
        cur.execute(
            self._sql(
                "SELECT tile FROM scelle_ledger_entries WHERE tile <= ? ORDER BY tile DESC LIMIT 1"
            ),
            ((index - 1) // TILE_WIDTH,),
        )
        row = cur.fetchone()
        if row is None or index <= 0:
            return None
        leaves = self.raw_leaves(cur, row[0] * TILE_WIDTH, index)
        return leaves[-1] if leaves else None

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
        """The whole column at C speed: ``hex()`` of the decoded bytes gives back exactly the
        stored text only for the canonical spelling, and every id must be 16 bytes."""
        raw = list(map(bytes.fromhex, values))  # TypeError/ValueError on anything else
        if list(map(bytes.hex, raw)) != list(values) or set(map(len, raw)) - {16}:
            raise ValueError("an originator id is not 32 lowercase hex digits")
        return raw


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
