"""Work the embedded default runs beside the API in one process (DESIGN §8).

* the purge runner on a schedule (``evidence.retention.purge.PurgeRunner``), every
  ``SCELLE_API_PURGE_INTERVAL_SECONDS``;
* the projection runner, catching the DuckDB views up with the log every
  ``SCELLE_API_PROJECTION_INTERVAL_SECONDS`` (listings also catch up before they answer);
* the sealer, when saves leave sealing to a follower (``seal_in_transaction=false``);
* a watch-folder ingest worker, when ``SCELLE_API_WATCH_FOLDER`` and ``…_WATCH_CAMERA`` are set.

Each runs in its own daemon thread and stops at the next tick after :meth:`stop`; an error in
one pass is logged and the next pass tries again (a purge or an ingest left half-done is
resumed by design).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

from api.listing import Listings
from api.settings import ApiSettings
from evidence.bootstrap import System

log = logging.getLogger("scelle.serve")


class Background:
    def __init__(self, system: System, api: ApiSettings, listings: Listings | None = None) -> None:
        self.system = system
        self.api = api
        self.listings = listings
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.names: list[str] = []

    def start(self) -> None:
        purge = self._purge_pass()
        if purge is not None:
            self._every("purge", self.api.purge_interval_seconds, purge)
        if self.listings is not None:
            self._every("projections", self.api.projection_interval_seconds, self.listings.catch_up)
        if not self.system.settings.seal_in_transaction:
            self._every("sealer", self.api.seal_interval_seconds, self.system.ledger.seal)
        if self.api.watch_folder is not None and self.api.watch_camera:
            self._every("watch", self.api.watch_interval_seconds, self._watch_pass())

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _every(self, name: str, seconds: float, work: Callable[[], object]) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    work()
                except Exception:
                    log.exception("%s pass failed; retrying in %.0f s", name, seconds)
                self._stop.wait(seconds)

        thread = threading.Thread(target=loop, name=f"scelle-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        self.names.append(name)

    def _purge_pass(self) -> Callable[[], object] | None:
        try:
            module = importlib.import_module("evidence.retention.purge")
        except ImportError:
            return None
        runner = module.PurgeRunner(self.system)
        run_once: Callable[[], object] = runner.run_once
        return run_once

    def _watch_pass(self) -> Callable[[], object]:
        from ingest.pipeline import Ingestor
        from ingest.watch import FolderWatch

        folder, camera = self.api.watch_folder, self.api.watch_camera
        assert folder is not None and camera is not None
        watch, ingestor = FolderWatch(folder), Ingestor(self.system)

        def ingest_finished() -> None:
            for path in watch.finished():
                if self._stop.is_set():
                    return
                ingestor.ingest(path, camera, root=folder)

        return ingest_finished
