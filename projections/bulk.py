"""The hot topics, applied set-wise: DuckDB reads the stored JSON of a whole batch at once.

Segments are recorded every minute per camera, viewed and purged: they are nearly all of the
log. For these four topics the batch's stored states go to DuckDB as one Arrow table of text,
and one ``INSERT … SELECT`` (or ``UPDATE … FROM``) per table parses them with DuckDB's JSON
reader, vectorised, instead of one Python decode and one Python row per event. The columns
are exactly those the Python handlers (``projections/handlers.py``) write for the same events,
which stay in use whenever the stored bytes are not plain JSON for us (a cipher, a compressor,
an upcast class); ``tests/integration/test_projection_decode.py`` builds the views both ways
and compares them.

Why the order of statements is safe: these topics touch ``segments`` (rows inserted, then
purge columns set on them), ``access_log`` and ``purges`` (rows inserted, order-free: every
row carries its notification id), and no other handler updates those tables.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

RECORDED = "scelle:Segment.Recorded"
VIEWED = "scelle:Segment.Viewed"
PURGE_STARTED = "scelle:Segment.PurgeStarted"
PURGED = "scelle:Segment.Purged"
TOPICS = frozenset({RECORDED, VIEWED, PURGE_STARTED, PURGED})

RAW_SCHEMA = pa.schema(
    [("nid", pa.int64()), ("topic", pa.string()), ("oid", pa.string()), ("state", pa.string())]
)


def _paths(*names: str) -> str:
    """DuckDB's list form of ``json_extract_string``: the state is parsed once per row."""
    return "[" + ", ".join(f"'$.{n}'" for n in names) + "]"


def _select(topic: str, *names: str) -> str:
    return (
        f"SELECT nid, oid, json_extract_string(state, {_paths(*names)}) AS j "
        f"FROM raw WHERE topic = '{topic}'"
    )


#: One statement per table and topic; ``j[i]`` is the i-th path's text (NULL for JSON null).
STATEMENTS: dict[str, str] = {
    RECORDED: (
        "INSERT INTO segments SELECT oid, j[1], j[2]::UUID::VARCHAR, j[3]::UUID::VARCHAR, "
        "j[4]::TIMESTAMPTZ, j[5]::TIMESTAMPTZ, j[6], j[7], j[8]::INTEGER, j[9]::INTEGER, "
        "j[10]::DOUBLE, j[11]::BIGINT, j[12], j[13]::TIMESTAMPTZ, j[14]::DOUBLE, "
        "j[15]::BOOLEAN, j[16], j[17]::TIMESTAMPTZ, NULL, NULL, NULL, nid, NULL, NULL FROM ("
        + _select(
            RECORDED,
            "camera_code",
            "camera_id._data_",
            "commune_id._data_",
            "start._data_",
            "end._data_",
            "container",
            "codec",
            "width",
            "height",
            "fps",
            "size",
            "sha256",
            "deadline._data_",
            "clock_drift_seconds",
            "clock_drift_flagged",
            "source_name",
            "timestamp._data_",
        )
        + ") ORDER BY nid"
    ),
    VIEWED: (
        "INSERT INTO access_log SELECT nid, j[1]::TIMESTAMPTZ, 'view', j[2]::UUID::VARCHAR, "
        "j[3], j[4]::UUID::VARCHAR, oid, NULL, NULL, j[5]::BOOLEAN, j[6], NULL, "
        "printf('%g-%g s', j[7]::DOUBLE, j[8]::DOUBLE) FROM ("
        + _select(
            VIEWED,
            "timestamp._data_",
            "actor_id._data_",
            "purpose",
            "mission_id._data_",
            "masked",
            "on_behalf_of",
            "range_start",
            "range_end",
        )
        + ") ORDER BY nid"
    ),
    PURGED: (
        "INSERT INTO purges SELECT nid, oid, j[1]::TIMESTAMPTZ, j[2]::TIMESTAMPTZ, "
        "j[3]::DOUBLE, j[4]::BOOLEAN, j[5]::JSON::VARCHAR[], j[6]::TIMESTAMPTZ FROM ("
        + _select(
            PURGED,
            "deadline._data_",
            "purged_at._data_",
            "lateness_seconds",
            "key_destroyed",
            "blobs_deleted",
            "timestamp._data_",
        )
        + ") ORDER BY nid"
    ),
}

#: Segment columns set by later events: the last such event of the batch wins, as in the log.
UPDATES: dict[str, str] = {
    PURGE_STARTED: (
        "UPDATE segments SET purge_started_at = u.at FROM (SELECT oid, "
        "arg_max(j[1]::TIMESTAMPTZ, nid) AS at FROM ("
        + _select(PURGE_STARTED, "timestamp._data_")
        + ") GROUP BY oid) u WHERE segments.segment_id = u.oid"
    ),
    PURGED: (
        "UPDATE segments SET purged_at = u.at, purge_lateness_seconds = u.late FROM (SELECT "
        "oid, arg_max(j[1]::TIMESTAMPTZ, nid) AS at, arg_max(j[2]::DOUBLE, nid) AS late FROM ("
        + _select(PURGED, "timestamp._data_", "lateness_seconds")
        + ") GROUP BY oid) u WHERE segments.segment_id = u.oid"
    ),
}


class RawBatch:
    """The hot events of one batch, kept as stored text until the batch is flushed."""

    def __init__(self) -> None:
        self.nids: list[int] = []
        self.topics: list[str] = []
        self.oids: list[str] = []
        self.states: list[str] = []

    def add(self, nid: int, topic: str, originator_id: Any, state: bytes) -> None:
        self.nids.append(nid)
        self.topics.append(topic)
        self.oids.append(str(originator_id))
        self.states.append(state.decode("utf-8"))

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert the new rows, then set the purge columns (on rows just inserted too)."""
        if not self.nids:
            return
        present = set(self.topics)
        table = pa.Table.from_arrays(
            [
                pa.array(self.nids, pa.int64()),
                pa.array(self.topics, pa.string()),
                pa.array(self.oids, pa.string()),
                pa.array(self.states, pa.string()),
            ],
            schema=RAW_SCHEMA,
        )
        self.clear()
        con.register("raw", table)
        try:
            for topic, sql in STATEMENTS.items():
                if topic in present:
                    con.execute(sql)
            for topic, sql in UPDATES.items():
                if topic in present:
                    con.execute(sql)
        finally:
            con.unregister("raw")
