"""The due-segment index: which segments a purge run should look at, without scanning the log.

A derived, rebuildable table kept in SQLite beside the events (``retention-index.sqlite``
next to ``events.sqlite``; in memory for the PostgreSQL backend, rebuilt once per process),
fed from the notification log by topic, with its own tracked position written in the same
transaction as the rows it covers, so a crash never leaves a gap or a double count.

It is never trusted for a decision: the purge runner and the hold use cases re-read every
aggregate it names. A stale or damaged index can only make a run look at too few segments
(the storage audit, which rebuilds it from the log in memory, then lists them) or too many
(harmless: the aggregate says no).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from evidence.retention.rules import HoldSpan, effective_due, from_micros, micros

SEGMENT_TOPICS = (
    "scelle:Segment.Recorded",
    "scelle:Segment.Held",
    "scelle:Segment.HoldPlaced",
    "scelle:Segment.HoldExtended",
    "scelle:Segment.Released",
    "scelle:Segment.HoldLifted",
    "scelle:Segment.PurgeStarted",
    "scelle:Segment.Purged",
)
ORDER_TOPICS = (
    "scelle:HoldOrder.Placed",
    "scelle:HoldOrder.Extended",
    "scelle:HoldOrder.Released",
)
TOPICS = SEGMENT_TOPICS + ORDER_TOPICS
_STATE_ONLY = frozenset({"scelle:Segment.PurgeStarted", "scelle:Segment.Purged"})
BATCH = 2_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS position (name TEXT PRIMARY KEY, nid INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS segments (segment_id TEXT PRIMARY KEY, camera_id TEXT NOT NULL,"
    " commune_id TEXT NOT NULL, start_us INTEGER NOT NULL, end_us INTEGER NOT NULL,"
    " deadline_us INTEGER NOT NULL, due_us INTEGER NOT NULL, state TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS segments_due ON segments (state, due_us)",
    "CREATE INDEX IF NOT EXISTS segments_camera ON segments (camera_id, start_us)",
    "CREATE INDEX IF NOT EXISTS segments_commune ON segments (commune_id, start_us)",
    "CREATE TABLE IF NOT EXISTS holds (segment_id TEXT NOT NULL, hold_id TEXT NOT NULL,"
    " placed_us INTEGER, expires_us INTEGER NOT NULL, lifted_us INTEGER,"
    " PRIMARY KEY (segment_id, hold_id))",
    "CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, camera_ids TEXT NOT NULL,"
    " ranges TEXT NOT NULL, expires_us INTEGER NOT NULL, released INTEGER NOT NULL)",
)


def index_path(archives: Any) -> Path | None:
    """Beside ``events.sqlite`` for the embedded backend; None (in memory) otherwise."""
    name = archives.env.get("SQLITE_DBNAME", "") if archives.env else ""
    if not name or name.startswith(":memory:") or name.startswith("file:"):
        return None
    return Path(name).with_name("retention-index.sqlite")


class DueIndex:
    """Thread-safe (one connection behind a lock); several processes share the file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, timeout=60
        )
        self._lock = threading.RLock()
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=60000")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO position VALUES ('log', 0)")
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ following the log
    def catch_up(self, archives: Any) -> int:
        """Apply every relevant event after the tracked position; return how many."""
        applied = 0
        with self._lock:
            while True:
                self._db.execute("BEGIN IMMEDIATE")  # one follower at a time, across processes
                try:
                    (position,) = self._db.execute(
                        "SELECT nid FROM position WHERE name = 'log'"
                    ).fetchone()
                    batch = archives.recorder.select_notifications(
                        position + 1, BATCH, topics=TOPICS
                    )
                    decode = archives.mapper.to_domain_event
                    for notification in batch:
                        if notification.topic in _STATE_ONLY:  # the id is all it needs
                            self._set_state(notification.topic, notification.originator_id.hex)
                        else:
                            self._apply(notification.topic, decode(notification))
                    if batch:
                        self._db.execute(
                            "UPDATE position SET nid = ? WHERE name = 'log'", (batch[-1].id,)
                        )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                applied += len(batch)
                if len(batch) < BATCH:
                    return applied

    def _apply(self, topic: str, fact: Any) -> None:
        kind = topic.rpartition(".")[2]
        oid = fact.originator_id.hex
        if topic.startswith("scelle:HoldOrder."):
            self._apply_order(kind, oid, fact)
            return
        if kind == "Recorded":
            deadline = micros(fact.deadline)
            self._db.execute(
                "INSERT OR IGNORE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, 'live')",
                (
                    oid,
                    fact.camera_id.hex,
                    fact.commune_id.hex,
                    micros(fact.start),
                    micros(fact.end),
                    deadline,
                    deadline,
                ),
            )
        elif kind in ("Held", "HoldPlaced"):
            placed = micros(fact.at) if kind == "HoldPlaced" else None
            self._db.execute(
                "INSERT OR REPLACE INTO holds VALUES (?, ?, ?, ?, NULL)",
                (oid, fact.hold_id, placed, micros(fact.expires_at)),
            )
            self._refresh_due(oid)
        elif kind == "HoldExtended":
            self._db.execute(
                "UPDATE holds SET expires_us = ? WHERE segment_id = ? AND hold_id = ?",
                (micros(fact.expires_at), oid, fact.hold_id),
            )
            self._refresh_due(oid)
        elif kind in ("Released", "HoldLifted"):
            at = fact.at if kind == "HoldLifted" else fact.timestamp
            self._db.execute(
                "UPDATE holds SET lifted_us = ? WHERE segment_id = ? AND hold_id = ?",
                (micros(at), oid, fact.hold_id),
            )
            self._refresh_due(oid)
        elif kind in ("PurgeStarted", "Purged"):
            self._set_state(topic, oid)

    def _set_state(self, topic: str, oid: str) -> None:
        if topic == "scelle:Segment.PurgeStarted":
            self._db.execute(
                "UPDATE segments SET state = 'purging' WHERE segment_id = ? AND state = 'live'",
                (oid,),
            )
        else:
            self._db.execute("UPDATE segments SET state = 'purged' WHERE segment_id = ?", (oid,))

    def _apply_order(self, kind: str, oid: str, fact: Any) -> None:
        if kind == "Placed":
            cameras = json.dumps([c.hex for c in fact.camera_ids])
            ranges = json.dumps([[micros(r[0]), micros(r[1])] for r in fact.ranges])
            self._db.execute(
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, 0)",
                (oid, cameras, ranges, micros(fact.expires_at)),
            )
        elif kind == "Extended":
            self._db.execute(
                "UPDATE orders SET expires_us = ? WHERE order_id = ?",
                (micros(fact.expires_at), oid),
            )
        elif kind == "Released":
            self._db.execute("UPDATE orders SET released = 1 WHERE order_id = ?", (oid,))

    def _refresh_due(self, segment: str) -> None:
        row = self._db.execute(
            "SELECT deadline_us FROM segments WHERE segment_id = ?", (segment,)
        ).fetchone()
        if row is None:
            return
        spans = [
            HoldSpan(
                None if placed is None else from_micros(placed),
                from_micros(expires if lifted is None else min(expires, lifted)),
            )
            for placed, expires, lifted in self._db.execute(
                "SELECT placed_us, expires_us, lifted_us FROM holds WHERE segment_id = ?",
                (segment,),
            )
        ]
        due = effective_due(from_micros(row[0]), spans)
        self._db.execute(
            "UPDATE segments SET due_us = ? WHERE segment_id = ?", (micros(due), segment)
        )

    # ------------------------------------------------------------------ queries
    def _ids(self, query: str, args: Sequence[Any]) -> list[UUID]:
        with self._lock:
            return [UUID(hex=row[0]) for row in self._db.execute(query, args).fetchall()]

    def due(self, now: datetime, limit: int | None = None) -> list[UUID]:
        """Segments not yet purged whose deadline (pushed back by holds) has come, oldest
        first; the interrupted purges (``purging``) among them."""
        return self._ids(
            "SELECT segment_id FROM segments WHERE state != 'purged' AND due_us <= ?"
            " ORDER BY due_us, segment_id LIMIT ?",
            (micros(now), -1 if limit is None else limit),
        )

    def kept_past_deadline(self, now: datetime) -> int:
        """How many segments a hold keeps past their deadline right now."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM segments WHERE state != 'purged' AND deadline_us <= ?"
                " AND due_us > ?",
                (micros(now), micros(now)),
            ).fetchone()
        return int(row[0])

    def in_scope(
        self, camera_ids: Sequence[UUID], ranges: Sequence[Sequence[datetime]]
    ) -> list[UUID]:
        """Unpurged segments of these cameras overlapping these ranges."""
        found: dict[UUID, None] = {}
        for camera in camera_ids:
            for start, end in ranges:
                for seg in self._ids(
                    "SELECT segment_id FROM segments WHERE state != 'purged' AND camera_id = ?"
                    " AND start_us < ? AND end_us > ? ORDER BY start_us",
                    (camera.hex, micros(end), micros(start)),
                ):
                    found[seg] = None
        return list(found)

    def of_commune(self, commune_id: UUID, start: datetime, end: datetime) -> list[UUID]:
        """Every segment of a commune recorded (started) within ``[start, end)``."""
        return self._ids(
            "SELECT segment_id FROM segments WHERE commune_id = ? AND start_us >= ?"
            " AND start_us < ? ORDER BY start_us, segment_id",
            (commune_id.hex, micros(start), micros(end)),
        )

    def orders_covering(
        self, camera_id: UUID, start: datetime, end: datetime, now: datetime
    ) -> list[UUID]:
        """Orders in force whose scope covers a segment (the aggregate confirms)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT order_id, camera_ids, ranges FROM orders WHERE released = 0"
                " AND expires_us > ?",
                (micros(now),),
            ).fetchall()
        lo, hi = micros(start), micros(end)
        return [
            UUID(hex=order)
            for order, cameras, ranges in rows
            if camera_id.hex in json.loads(cameras)
            and any(a < hi and b > lo for a, b in json.loads(ranges))
        ]

    def states(self) -> dict[UUID, str]:
        with self._lock:
            rows = self._db.execute("SELECT segment_id, state FROM segments").fetchall()
        return {UUID(hex=r[0]): r[1] for r in rows}
