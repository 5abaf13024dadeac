"""Listings from the node's DuckDB views, never older than the log when they are read.

The API reads cameras, segments and refusals from the projections (``projections.store``),
kept current by ``projections.runner.ProjectionRunner``: in ``scelle serve`` a background
thread catches up every second, and each listing first catches up itself if the log has moved
(read-your-writes: a segment recorded a moment earlier is listed). The check costs one
``max(id)`` on the log when nothing is new. Catch-ups are serialised by a lock; readers take
their own DuckDB cursors and never wait for one another.

DuckDB lets one process hold the file: the API process owns ``DATA/views.duckdb``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from evidence.bootstrap import System
from projections.runner import CatchUp, ProjectionRunner
from projections.store import Views, open_views

#: Open bounds for a listing without ``start`` or ``end`` (DuckDB compares aware instants).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class Listings:
    """The views of this node, caught up before each read."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.runner = ProjectionRunner(system.settings, system)
        self.views: Views = open_views(system.settings)
        self._lock = threading.Lock()
        self._position = self.views.position()
        self._closed = False

    def catch_up(self) -> CatchUp | None:
        """Apply what the log holds beyond the views; None if there was nothing to apply."""
        top = self.system.archives.recorder.max_notification_id() or 0
        if top <= self._position:
            return None
        with self._lock:
            if top <= self._position or self._closed:  # caught up meanwhile, or shut down
                return None
            done = self.runner.catch_up(until=top)
            self._position = done.position
            return done

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.views.close()
            self.runner.close()

    # Reads (each catches up first) --------------------------------------------------------
    def cameras(self, commune_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        self.catch_up()
        return self.views.cameras(list(commune_ids))

    def camera(self, code: str) -> dict[str, Any] | None:
        self.catch_up()
        rows = [r for r in self.views.cameras() if r["code"] == code]
        return rows[0] if rows else None

    def segments(
        self,
        camera_code: str,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        self.catch_up()
        return self.views.segments(
            camera_code, start or EARLIEST, end or LATEST, limit=limit, offset=offset
        )

    def segment(self, segment_id: UUID) -> dict[str, Any] | None:
        self.catch_up()
        return self.views.segment(str(segment_id))

    def denials(self, limit: int, offset: int) -> list[dict[str, Any]]:
        """Recorded refusals, newest first, from the access log view (no scan of the log)."""
        self.catch_up()
        return self.views.access_log(kinds=["denial"], limit=limit, offset=offset)
