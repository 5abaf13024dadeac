"""The DuckDB file of the read models: opening it, and :class:`Views`, what readers call.

One file per node under the data directory (``DATA/views.duckdb``), always rebuildable from
the log. DuckDB lets one process open a file for writing; inside that process the runner and
the readers share one database instance, and each query takes its own cursor (thread-safe).
"""

from __future__ import annotations

import threading
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


def open_views(settings: Settings, read_only: bool = False) -> Views:
    """The views of this node, created empty if absent (the runner fills them)."""
    return Views(connect(views_path(settings), read_only=read_only))
