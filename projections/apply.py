"""The projector: folds stored events into the DuckDB tables, one transaction per batch.

The hottest topics (segments recorded, viewed, purge started, purged) are applied set-wise
from their stored JSON (:mod:`projections.bulk`). Other facts are decoded and buffered in
Python and loaded as Arrow tables, so a batch costs a handful of statements rather than one
per event.
Rare facts that update a row (an approval, a closure) flush the buffers first, then run their
own statement: within a batch, rows are always written in the log's order.

Idempotence: the batch reads the position inside its own transaction and skips every event at
or below it, and writes the new position before committing — so an event applied twice, or a
batch replayed after a crash, changes nothing (the library's tracking-record rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
from eventsourcing.persistence import Notification

from projections.bulk import TOPICS as BULK_TOPICS
from projections.bulk import RawBatch
from projections.schema import STATE_NAME, TABLES, TS

Handler = Callable[["Projector", int, Any], None]
HANDLERS: dict[str, Handler] = {}


def handles(*topics: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for topic in topics:
            HANDLERS[topic] = fn
        return fn

    return register


def s(value: object) -> str | None:
    """Ids (UUIDs) are stored as text; ``None`` stays ``None``."""
    return None if value is None else str(value)


SEGMENT_COLUMNS = {name: i for i, name in enumerate(TABLES["segments"].names)}

#: A segment's open holds (not released) and each one's current expiry (its latest
#: extension), sorted by hold id; NULL when none. Run after the batch's hold rows are in.
OPEN_HOLDS_SQL = (
    "UPDATE segments SET hold_ids = u.ids, hold_expiries = u.exps FROM (SELECT t.sid, "
    "list(h.hold_id ORDER BY h.hold_id) FILTER (WHERE h.hold_id IS NOT NULL) AS ids, "
    "list(coalesce((SELECT max(x.expires_at) FROM hold_expiry x WHERE x.segment_id = "
    "h.segment_id AND x.hold_id = h.hold_id AND x.nid > h.nid), h.expires_at) "
    "ORDER BY h.hold_id) FILTER (WHERE h.hold_id IS NOT NULL) AS exps "
    "FROM staged t LEFT JOIN holds h ON h.segment_id = t.sid AND h.released_at IS NULL "
    "GROUP BY t.sid) u WHERE segments.segment_id = u.sid"
)


class Projector:
    """Applies batches of stored events to one DuckDB connection.

    ``decode`` turns a stored event into the object handlers read (the library's mapper, or
    the faster :class:`projections.decode.Decoder`); events whose topic is in ``hot`` (some
    of :data:`projections.bulk.TOPICS`) skip it and are applied set-wise from their JSON.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        decode: Callable[[Any], Any],
        hot: Collection[str] = frozenset(),
    ) -> None:
        if not set(hot) <= BULK_TOPICS:
            raise ValueError(f"no set-wise statements for {set(hot) - BULK_TOPICS}")
        self.con = con
        self.decode = decode
        self.hot = frozenset(hot)
        self._raw = RawBatch()
        self._rows: dict[str, list[tuple[Any, ...]]] = {}
        self._segments: dict[str, list[Any]] = {}
        self._segment_updates: dict[str, dict[str, Any]] = {}
        self._hold_rows: dict[tuple[str, str], list[Any]] = {}
        self._hold_closed: list[list[Any]] = []
        self._hold_closes: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._held: set[str] = set()

    # The batch ---------------------------------------------------------------------------
    def apply(self, stored: Iterable[Notification], last_id: int) -> int:
        """Apply the events above the stored position, then move it to ``last_id``, atomically.

        Returns how many events were applied. ``last_id`` may exceed the last event's id: the
        notifications in between carried topics no view reads.
        """
        hot = self.hot
        self.con.execute("BEGIN TRANSACTION")
        try:
            row = self.con.execute(
                "SELECT position FROM projection_state WHERE name = ?", [STATE_NAME]
            ).fetchone()
            position = int(row[0]) if row else 0
            applied = 0
            for n in stored:
                if n.id <= position:
                    continue
                if n.topic in hot:
                    self._raw.add(n.id, n.topic, n.originator_id, n.state)
                    applied += 1
                    continue
                handler = HANDLERS.get(n.topic)
                if handler is not None:
                    handler(self, n.id, self.decode(n))
                    applied += 1
            self.flush()
            self.con.execute(
                "UPDATE projection_state SET position = ?, events = events + ?, "
                "updated_at = now() WHERE name = ?",
                [max(position, last_id), applied, STATE_NAME],
            )
            self.con.execute("COMMIT")
        except BaseException:
            self._reset()
            self.con.execute("ROLLBACK")
            raise
        return applied

    def _reset(self) -> None:
        self._raw.clear()
        self._rows.clear()
        self._segments.clear()
        self._segment_updates.clear()
        self._hold_rows.clear()
        self._hold_closed.clear()
        self._hold_closes.clear()
        self._held.clear()

    # Buffers -----------------------------------------------------------------------------
    def append(self, table: str, *values: Any) -> None:
        self._rows.setdefault(table, []).append(values)

    def direct(self, sql: str, params: list[Any]) -> None:
        """A rare update: earlier buffered rows go first, so the log's order holds."""
        self.flush()
        self.con.execute(sql, params)

    def record_segment(self, segment_id: str, row: list[Any]) -> None:
        self._segments[segment_id] = row

    def update_segment(self, segment_id: str, **values: Any) -> None:
        pending = self._segments.get(segment_id)
        if pending is not None:
            for name, value in values.items():
                pending[SEGMENT_COLUMNS[name]] = value
        else:
            self._segment_updates.setdefault(segment_id, {}).update(values)

    def place_hold(self, key: tuple[str, str], row: list[Any], at: datetime) -> None:
        """A hold id placed again replaces the open one (the aggregate overwrites it)."""
        self.close_hold(key, at, row[7], "remplacée")
        self._hold_rows[key] = row

    def close_hold(self, key: tuple[str, str], at: datetime, by: str | None, why: str) -> None:
        pending = self._hold_rows.pop(key, None)
        if pending is not None:
            pending[9:12] = [at, by, why]
            self._hold_closed.append(pending)
        else:
            self._hold_closes.setdefault(key, (*key, at, by, why))

    def touch_holds(self, segment_id: str) -> None:
        """The segment's open holds changed: recompute its ``hold_*`` columns at the flush."""
        self._held.add(segment_id)

    # Flush ---------------------------------------------------------------------------------
    def flush(self) -> None:
        self._raw.flush(self.con)  # first: see projections.bulk on why the order is safe
        if self._hold_closes:
            self._load(
                "UPDATE holds SET released_at = u.a, released_by = u.b, release_reason = u.c "
                "FROM staged u WHERE holds.segment_id = u.s AND holds.hold_id = u.h "
                "AND holds.released_at IS NULL",
                ["s", "h", "a", "b", "c"],
                [pa.string(), pa.string(), TS, pa.string(), pa.string()],
                list(self._hold_closes.values()),
            )
            self._hold_closes.clear()
        if self._segments:
            self._rows.setdefault("segments", []).extend(map(tuple, self._segments.values()))
            self._segments.clear()
        if self._hold_rows or self._hold_closed:
            rows = self._hold_closed + list(self._hold_rows.values())
            self._rows.setdefault("holds", []).extend(map(tuple, rows))
            self._hold_rows.clear()
            self._hold_closed.clear()
        for table, pending in self._rows.items():
            if pending:
                self._insert(table, TABLES[table].arrow_schema(), pending)
        self._rows.clear()
        self._flush_segment_updates()
        if self._held:
            self._load(OPEN_HOLDS_SQL, ["sid"], [pa.string()], [(sid,) for sid in self._held])
            self._held.clear()

    def _flush_segment_updates(self) -> None:
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for segment_id, values in self._segment_updates.items():
            names = tuple(sorted(values))
            groups.setdefault(names, []).append((segment_id, *(values[n] for n in names)))
        self._segment_updates.clear()
        schema = TABLES["segments"].arrow_schema()
        for names, rows in groups.items():
            sets = ", ".join(f'"{n}" = u."{n}"' for n in names)
            self._load(
                f"UPDATE segments SET {sets} FROM staged u WHERE segments.segment_id = u.sid",
                ["sid", *names],
                [pa.string(), *(schema.field(n).type for n in names)],
                rows,
            )

    def _insert(self, table: str, schema: pa.Schema, rows: list[tuple[Any, ...]]) -> None:
        columns = list(zip(*rows, strict=True))
        data = pa.Table.from_arrays(
            [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
            schema=schema,
        )
        self.con.from_arrow(data).insert_into(table)

    def _load(
        self, sql: str, names: list[str], types: list[pa.DataType], rows: list[tuple[Any, ...]]
    ) -> None:
        columns = list(zip(*rows, strict=True))
        data = pa.Table.from_arrays(
            [pa.array(col, type=t) for col, t in zip(columns, types, strict=True)], names=names
        )
        self.con.register("staged", data)
        try:
            self.con.execute(sql)
        finally:
            self.con.unregister("staged")


def dumps(value: object) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
