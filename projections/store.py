"""The DuckDB file of the read models: opening it, and :class:`Views`, what readers call.

One file per node under the data directory (``DATA/views.duckdb``), always rebuildable from
the log. DuckDB lets one process open a file for writing; inside that process the runner and
the readers share one database instance, and each query takes its own cursor (thread-safe).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evidence.config import Settings
from evidence.model.errors import DomainError
from projections.audit import AuditQueries
from projections.catalogue import CatalogueQueries
from projections.schema import STATE_NAME, create_schema

VIEWS_FILE = "views.duckdb"


class ViewsUnavailable(DomainError):
    """The views file cannot be opened (another process holds it, or it is not ours)."""


def views_path(settings: Settings) -> Path:
    return settings.data / VIEWS_FILE


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, for writers, create) the views file; times are read and written in UTC."""
    try:
        if read_only:
            con = duckdb.connect(str(path), read_only=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path))
            create_schema(con)
    except duckdb.IOException as exc:
        raise ViewsUnavailable(
            f"cannot open {path}: {exc}",
            f"Impossible d'ouvrir les vues {path} : un autre processus (scelle serve ?) les "
            "tient peut-être ouvertes.",
        ) from None
    con.execute("SET GLOBAL TimeZone = 'UTC'")  # every cursor of this database inherits it
    return con


class Views(CatalogueQueries, AuditQueries):
    """Read access to every view; each query may be asked ``as_of`` a past instant."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """One cursor per thread, kept: a cursor is not thread-safe, and opening one per
        query costs more than a catalogue page. Each statement still sees the last commit."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
            with self._lock:
                self._cursors.append(cur)
        return cur

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self._cursor()
        cur.execute(sql, params or {})
        # Through Arrow: aware datetimes without pytz, and fast for long listings.
        found: list[dict[str, Any]] = cur.to_arrow_table().to_pylist()
        return found

    def prepared(self, name: str, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        """The rows (tuples) of ``sql`` with positional parameters ``$1``… bound to ``args``.

        ``sql`` is prepared once per cursor under ``name`` and then run with ``EXECUTE``:
        DuckDB's Python ``execute(sql, params)`` plans the statement on every call, which
        costs more than running a catalogue page. ``EXECUTE`` takes no bound parameters, so
        the arguments are written as SQL literals (:func:`sql_literal`); an argument that
        has no safe literal falls back to a plain ``execute``.
        """
        cur = self._cursor()
        try:
            literals = ", ".join(sql_literal(a) for a in args)
        except TypeError:
            found: list[tuple[Any, ...]] = cur.execute(sql, args).fetchall()
            return found
        prepared: set[str] | None = getattr(self._local, "prepared", None)
        if prepared is None:
            prepared = self._local.prepared = set()
        if name not in prepared:
            cur.execute(f"PREPARE {name} AS {sql}")
            prepared.add(name)
        found = cur.execute(f"EXECUTE {name}({literals})").fetchall()
        return found

    def position(self) -> int:
        """The last notification id the views include."""
        found = self.rows(
            "SELECT position FROM projection_state WHERE name = $n", {"n": STATE_NAME}
        )
        return int(found[0]["position"]) if found else 0

    def state(self) -> dict[str, Any]:
        found = self.rows("SELECT * FROM projection_state WHERE name = $n", {"n": STATE_NAME})
        return found[0] if found else {}

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
        self.con.close()


def sql_literal(value: Any) -> str:
    """``value`` as a DuckDB SQL literal, exactly (TypeError if there is none we trust)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as a bound parameter would be: read in the session's UTC
            return f"TIMESTAMP '{value.isoformat()}'"
        return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat()}'"
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def open_views(settings: Settings, read_only: bool = False) -> Views:
    """The views of this node, created empty if absent (the runner fills them)."""
    return Views(connect(views_path(settings), read_only=read_only))
