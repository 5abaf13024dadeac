"""The runner: follows the notification log (SQLite or PostgreSQL, by polling) into DuckDB.

Each batch of notifications is decoded and applied in one DuckDB transaction that also moves
the position, so a crash (SIGKILL included) leaves the views exactly as of some notification
id, and the next catch-up resumes from there. Notifications whose topic no view reads are
passed over without being decoded; the position still moves past them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from evidence.bootstrap import System, open_system
from evidence.config import Settings
from projections import handlers, handlers_holds, handlers_people
from projections.apply import Projector
from projections.bulk import TOPICS as BULK_TOPICS
from projections.decode import Decoder
from projections.schema import STATE_NAME
from projections.store import ViewsUnavailable, connect, views_path

Progress = Callable[[int, int], object]
REGISTERED = (
    handlers,
    handlers_holds,
    handlers_people,
)  # importing them registers every topic's handler


@dataclass(frozen=True)
class CatchUp:
    """What one catch-up did: events applied, notifications read, final position."""

    applied: int
    read: int
    position: int


class ProjectionRunner:
    """Keeps ``DATA/views.duckdb`` up to date with the log; ``rebuild`` starts from nothing."""

    def __init__(
        self,
        settings: Settings,
        system: System | None = None,
        path: Path | None = None,
        batch_size: int = 20_000,
        *,
        bulk: bool = True,
    ) -> None:
        self.settings = settings
        self.path = path or views_path(settings)
        self.batch_size = batch_size
        self.bulk = bulk  # False: every event through the Python handlers (the reference)
        self._own_system = system is None
        self._system = system
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def system(self) -> System:
        if self._system is None:
            self._system = open_system(self.settings)
        return self._system

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = connect(self.path)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._own_system and self._system is not None:
            self._system.close()
            self._system = None

    def position(self) -> int:
        row = self.con.execute(
            "SELECT position FROM projection_state WHERE name = ?", [STATE_NAME]
        ).fetchone()
        return int(row[0]) if row else 0

    def catch_up(self, until: int | None = None, progress: Progress | None = None) -> CatchUp:
        """Apply every notification after the position (up to ``until``, inclusive)."""
        self._check_log()
        archives = self.system.archives
        recorder, decoder = archives.recorder, Decoder(archives.mapper)
        hot = decoder.raw_topics(BULK_TOPICS) if self.bulk else frozenset()
        projector = Projector(self.con, decoder, hot)
        position = self.position()
        target = recorder.max_notification_id() or 0
        if until is not None:
            target = min(target, until)
        applied = read = 0
        while position < target:
            batch = recorder.select_notifications(position + 1, self.batch_size, stop=target)
            if not batch:
                break
            applied += projector.apply(batch, batch[-1].id)
            read += len(batch)
            position = batch[-1].id
            if progress is not None:
                progress(position, target)
        return CatchUp(applied, read, self.position())

    def follow(self, stop: Callable[[], bool], interval: float = 1.0) -> int:
        """Catch up again and again until ``stop()``; for ``scelle serve``'s thread."""
        applied = 0
        while not stop():
            applied += self.catch_up().applied
            time.sleep(interval)
        return applied

    def rebuild(self, progress: Progress | None = None) -> CatchUp:
        """Build the views from nothing into a new file, then put it in place of the old.

        Readers of the old file are never shown half-built views; a crash mid-rebuild leaves
        the old file as it was (the stale new file is removed by the next rebuild).
        """
        fresh = self.path.with_name(self.path.name + ".rebuild")
        for stale in (fresh, fresh.with_name(fresh.name + ".wal")):
            stale.unlink(missing_ok=True)
        builder = ProjectionRunner(
            self.settings, self.system, fresh, self.batch_size, bulk=self.bulk
        )
        try:
            done = builder.catch_up(progress=progress)
            builder.con.execute("CHECKPOINT")
        finally:
            builder.close()
        if self._con is not None:
            self._con.close()
            self._con = None
        Path(str(self.path) + ".wal").unlink(missing_ok=True)
        os.replace(fresh, self.path)
        return done

    def _check_log(self) -> None:
        """The views belong to one log: refuse to mix two (a re-initialised data dir)."""
        vkey = self.settings.log_vkey_path.read_text(encoding="utf-8").strip()
        row = self.con.execute(
            "SELECT log_origin FROM projection_state WHERE name = ?", [STATE_NAME]
        ).fetchone()
        if row is None or row[0] is None:
            self.con.execute(
                "UPDATE projection_state SET log_origin = ? WHERE name = ?", [vkey, STATE_NAME]
            )
        elif row[0] != vkey:
            raise ViewsUnavailable(
                f"{self.path} was built from another log ({row[0]})",
                f"Les vues {self.path} viennent d'un autre journal : lancez "
                "« scelle projections rebuild ».",
            )
