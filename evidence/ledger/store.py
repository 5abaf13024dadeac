"""Ledger tables beside the event store: leaves, tree nodes and checkpoints.

The ledger lives in the same database as the events (SQLite file or PostgreSQL), in its own
tables, so that a sealing transaction sees exactly the committed events. Complete subtree
nodes are stored so that proofs cost O(log n) reads (one query).
"""

from __future__ import annotations

import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from evidence.ledger.leaf import StoredRecord

NodeRef = tuple[int, int]
#: Below every possible notification id: rows an attacker slips in at id 0 or below are read.
BEFORE_ALL = -(2**63)
_CANONICAL_HEX = re.compile(r"[0-9a-f]{32}")


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


class LedgerDB(ABC):
    """SQL shared by both backends; subclasses supply connections, locks and types."""

    placeholder = "?"
    #: the table where ``eventsourcing`` keeps the events of the "Scelle" application
    events_table = "stored_events"
    id_column = "rowid"
    blob_type = "BLOB"
    int_type = "INTEGER"

    def schema(self) -> list[str]:
        b, i = self.blob_type, self.int_type
        return [
            "CREATE TABLE IF NOT EXISTS scelle_ledger_leaves ("
            f"leaf_index {i} PRIMARY KEY, notification_id {i} NOT NULL UNIQUE, "
            f"leaf_hash {b} NOT NULL, chain_hash {b} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS scelle_ledger_nodes ("
            f"level {i} NOT NULL, idx {i} NOT NULL, hash {b} NOT NULL, "
            "PRIMARY KEY (level, idx))",
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

    @abstractmethod
    def iter_records(self, cur: Any, batch: int = 20_000) -> Iterator[list[StoredRecord]]: ...

    def ensure_schema(self) -> None:
        with self.write_transaction() as cur:
            for statement in self.schema():
                cur.execute(statement)

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def last_leaf(self, cur: Any) -> LeafRow | None:
        cur.execute(
            "SELECT leaf_index, notification_id, leaf_hash, chain_hash "
            "FROM scelle_ledger_leaves ORDER BY leaf_index DESC LIMIT 1"
        )
        row = cur.fetchone()
        return None if row is None else LeafRow(row[0], row[1], bytes(row[2]), bytes(row[3]))

    def tree_size(self, cur: Any) -> int:
        last = self.last_leaf(cur)
        return 0 if last is None else last.leaf_index + 1

    def insert_leaves(self, cur: Any, rows: Sequence[LeafRow]) -> None:
        cur.executemany(
            self._sql("INSERT INTO scelle_ledger_leaves VALUES (?, ?, ?, ?)"),
            [(r.leaf_index, r.notification_id, r.leaf_hash, r.chain_hash) for r in rows],
        )

    def insert_nodes(self, cur: Any, rows: Sequence[tuple[int, int, bytes]]) -> None:
        if rows:
            cur.executemany(self._sql("INSERT INTO scelle_ledger_nodes VALUES (?, ?, ?)"), rows)

    def get_nodes(self, cur: Any, refs: Sequence[NodeRef]) -> dict[NodeRef, bytes]:
        """Fetch stored complete-subtree hashes in at most two queries."""
        found: dict[NodeRef, bytes] = {}
        leaves = sorted({i for level, i in refs if level == 0})
        inner = sorted({(level, i) for level, i in refs if level > 0})
        if leaves:
            marks = ", ".join(self.placeholder for _ in leaves)
            cur.execute(
                f"SELECT leaf_index, leaf_hash FROM scelle_ledger_leaves "
                f"WHERE leaf_index IN ({marks})",
                leaves,
            )
            found.update({(0, r[0]): bytes(r[1]) for r in cur.fetchall()})
        if inner:
            pairs = ", ".join(f"({self.placeholder}, {self.placeholder})" for _ in inner)
            cur.execute(
                f"SELECT level, idx, hash FROM scelle_ledger_nodes "
                f"WHERE (level, idx) IN (VALUES {pairs})",
                [v for ref in inner for v in ref],
            )
            found.update({(r[0], r[1]): bytes(r[2]) for r in cur.fetchall()})
        missing = set(refs) - found.keys()
        if missing:
            raise LookupError(f"ledger nodes missing from the store: {sorted(missing)[:5]}")
        return found

    def leaf_by_notification(self, cur: Any, notification_id: int) -> LeafRow | None:
        cur.execute(
            self._sql(
                "SELECT leaf_index, notification_id, leaf_hash, chain_hash "
                "FROM scelle_ledger_leaves WHERE notification_id = ?"
            ),
            (notification_id,),
        )
        row = cur.fetchone()
        return None if row is None else LeafRow(row[0], row[1], bytes(row[2]), bytes(row[3]))

    def iter_leaves(self, cur: Any, batch: int = 20_000) -> Iterator[list[LeafRow]]:
        after = -1
        while True:
            cur.execute(
                self._sql(
                    "SELECT leaf_index, notification_id, leaf_hash, chain_hash "
                    "FROM scelle_ledger_leaves WHERE leaf_index > ? ORDER BY leaf_index LIMIT ?"
                ),
                (after, batch),
            )
            rows = [LeafRow(r[0], r[1], bytes(r[2]), bytes(r[3])) for r in cur.fetchall()]
            if not rows:
                return
            yield rows
            after = rows[-1].leaf_index

    def iter_nodes(self, cur: Any, level: int) -> Iterator[tuple[int, bytes]]:
        cur.execute(
            self._sql("SELECT idx, hash FROM scelle_ledger_nodes WHERE level = ? ORDER BY idx"),
            (level,),
        )
        while rows := cur.fetchmany(20_000):
            for r in rows:
                yield r[0], bytes(r[1])

    def node_levels(self, cur: Any) -> list[int]:
        cur.execute("SELECT DISTINCT level FROM scelle_ledger_nodes ORDER BY level")
        return [r[0] for r in cur.fetchall()]

    # Raw reads for the verifier: plain tuples, no per-row objects, in one query each.
    def raw_leaves(self, cur: Any, lo: int, hi: int) -> list[tuple[int, int, bytes, bytes]]:
        """(leaf index, notification id, leaf hash, chain value) for lo <= index < hi."""
        cur.execute(
            self._sql(
                "SELECT leaf_index, notification_id, leaf_hash, chain_hash FROM "
                "scelle_ledger_leaves WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index"
            ),
            (lo, hi),
        )
        return [tuple(r) for r in cur.fetchall()]

    def leaf_before(self, cur: Any, index: int) -> tuple[int, int, bytes, bytes] | None:
        """The last leaf row below ``index``, wherever it is (rows may have been deleted)."""
        cur.execute(
            self._sql(
                "SELECT leaf_index, notification_id, leaf_hash, chain_hash FROM "
                "scelle_ledger_leaves WHERE leaf_index < ? ORDER BY leaf_index DESC LIMIT 1"
            ),
            (index,),
        )
        row = cur.fetchone()
        return None if row is None else (row[0], row[1], bytes(row[2]), bytes(row[3]))

    @abstractmethod
    def raw_events(self, cur: Any, after: int, upto: int) -> list[tuple[Any, ...]]:
        """(notification id, originator id, version, topic, state) for after < id <= upto."""

    @staticmethod
    @abstractmethod
    def originator_bytes(value: Any) -> bytes:
        """The 16 raw bytes of an originator id as this backend returns it."""

    def raw_nodes(self, cur: Any, level: int, lo: int, hi: int) -> list[tuple[int, bytes]]:
        cur.execute(
            self._sql(
                "SELECT idx, hash FROM scelle_ledger_nodes WHERE level = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx"
            ),
            (level, lo, hi),
        )
        return [tuple(r) for r in cur.fetchall()]

    def nodes_above(self, cur: Any, level: int) -> list[tuple[int, int, bytes]]:
        cur.execute(
            self._sql("SELECT level, idx, hash FROM scelle_ledger_nodes WHERE level > ?"),
            (level,),
        )
        return [tuple(r) for r in cur.fetchall()]

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

    def iter_records(self, cur: Any, batch: int = 20_000) -> Iterator[list[StoredRecord]]:
        after = BEFORE_ALL
        while rows := self.records_after(cur, after, batch):
            yield rows
            after = rows[-1].notification_id

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
        return {"conninfo": self.conninfo, "_pool": None, "_pool_pid": 0}

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

    def iter_records(self, cur: Any, batch: int = 20_000) -> Iterator[list[StoredRecord]]:
        after = BEFORE_ALL
        while rows := self.records_after(cur, after, batch):
            yield rows
            after = rows[-1].notification_id

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
