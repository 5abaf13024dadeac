"""Intake of finished segment files: checked, encrypted, stored, recorded, sealed — once each.

Write order (DESIGN §3): the data key and the encrypted blob (and its thumbnail, under the
same key) are durable first; the ``Segment.Recorded`` event second; the source file is
removed last. A crash anywhere leaves either orphan content that reconciliation shreds (the
source is still there, so nothing acknowledged is lost) or a source that, ingested again, is
recognised as a duplicate.

A batch (:meth:`Ingestor.ingest_many`) is a small pipeline. The calling thread admits each
file (name, size, camera: cheap checks and a database read) and hands it at once to two
pools of ``workers`` threads: one probes it and makes its thumbnail (one ffmpeg process, see
:func:`ingest.thumbnail.probe_with_thumbnail`), the other hashes, encrypts and stores it
*at the same time*, then waits for the probe's verdict and stores the thumbnail under the
segment's key (or, if the probe refused the file, shreds what it stored). The calling thread
takes the files back *in the order given* and, for each, records and seals its event (or
quarantines and records its refusal); a third thread removes each source after its event.
ffmpeg runs in its own process, and SHA-256, AES-GCM and file I/O release the GIL, so on two
cores the probes, the encryption and the event store all overlap. Storing does not wait for
the probe because refusals are rare and the probe is the shorter task: waiting for it put a
whole ffmpeg run in front of every batch's first byte encrypted (a quarter of a ten-file
batch's time) and left the cores idle in turn.

The write order holds for every file. A crash may leave the content of up to
``LOOKAHEAD * workers + 1`` files without events (orphans, shredded at the next start), never
an event without its content nor a removed source without its event. Only the calling thread
touches the event store.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from evidence.application import NotFound
from evidence.bootstrap import System
from evidence.content.blobs import fsync_dir
from evidence.content.vault import StoredBlob, derived_id
from evidence.model.errors import DomainError
from ingest.naming import SegmentNameError, parse_segment_name
from ingest.probe import ProbeError, ProbeResult
from ingest.quarantine import Refusal, quarantine
from ingest.thumbnail import probe_with_thumbnail

#: Files probed and encrypted at once by :meth:`Ingestor.ingest_many`: one per core (at least
#: two, so that ffmpeg and AES/SHA overlap even on one core; at most eight).
DEFAULT_WORKERS = max(2, min(os.cpu_count() or 2, 8))

#: Files admitted ahead of the one being recorded, per worker: enough that neither pool waits
#: for the recording thread, whose commit (an fsync) now and then takes as long as a file.
LOOKAHEAD = 3


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message_fr)
        self.refusal = refusal


@dataclass(frozen=True)
class Outcome:
    """What became of one file: ``recorded``, ``duplicate``, ``quarantined``, or ``vanished``
    (gone from its folder before its turn: nothing was stored or recorded for it)."""

    source: str
    status: str
    segment_id: UUID | None = None
    reason: str | None = None
    size: int = 0
    detail: str | None = None  # the technical words behind a refusal (ffmpeg's, a box size…)


@dataclass(frozen=True)
class _Admitted:
    """A file whose name, size and camera are acceptable; its content is not yet judged."""

    camera_code: str
    start: datetime


@dataclass(frozen=True)
class _Probed:
    """A file judged a video, with its thumbnail (None if none could be made)."""

    admitted: _Admitted
    report: ProbeResult
    thumbnail: bytes | None


@dataclass(frozen=True)
class _Stored:
    """A file probed, encrypted and durably stored with its thumbnail; no event yet."""

    camera_code: str
    start: datetime
    report: ProbeResult
    blob: StoredBlob
    thumbnail_blob_id: str | None


class Ingestor:
    def __init__(self, system: System, *, remove_source: bool = True) -> None:
        self.system = system
        self.remove_source = remove_source
        self.settings = system.settings

    def ingest(
        self, path: Path, camera_code: str | None = None, root: Path | None = None
    ) -> Outcome:
        """Ingest one file; every refusal is quarantined and recorded, never raised."""
        return self._finish(
            path,
            camera_code,
            lambda: self._put(path, self._probe(path, self._check(path, camera_code, root))),
        )

    def ingest_many(
        self,
        paths: Iterable[Path],
        camera_code: str | None = None,
        root: Path | None = None,
        *,
        workers: int = DEFAULT_WORKERS,
    ) -> Iterator[Outcome]:
        """Ingest files in the order given, yielding each one's outcome as its event is in.

        Up to ``workers`` files are probed and ``workers`` stored at once, and up to
        ``LOOKAHEAD * workers`` files are admitted ahead of the one being recorded. Events (and
        refusals) are recorded in the order of ``paths``, each after its file's content is
        durable, and each source is removed after its own event (by another thread; all are
        removed when the iteration ends). An unexpected error stops the batch: files not yet
        started are left alone, content already stored for files after the failing one stays
        unrecorded (orphans for the next start's reconciliation).
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        pending: deque[tuple[Path, Future[_Probed], Future[_Stored]]] = deque()
        removals: list[Future[None]] = []
        with (
            ThreadPoolExecutor(workers, thread_name_prefix="ingest-probe") as probing,
            ThreadPoolExecutor(workers, thread_name_prefix="ingest-store") as storing,
            ThreadPoolExecutor(1, thread_name_prefix="ingest-remove") as removing,
        ):

            def remove_later(path: Path) -> None:
                removals.append(removing.submit(_remove, path))

            try:
                for path in paths:
                    pending.append(self._start(probing, storing, path, camera_code, root))
                    if len(pending) > LOOKAHEAD * workers:
                        yield self._finish_next(pending, camera_code, remove_later)
                while pending:
                    yield self._finish_next(pending, camera_code, remove_later)
                for removal in removals:
                    removal.result()  # a source that could not be removed is an error
            finally:  # stopped early: drop what has not started, let the rest finish
                for _, probed, stored in pending:
                    stored.cancel()
                    probed.cancel()

    def _start(
        self,
        probing: ThreadPoolExecutor,
        storing: ThreadPoolExecutor,
        path: Path,
        camera_code: str | None,
        root: Path | None,
    ) -> tuple[Path, Future[_Probed], Future[_Stored]]:
        """Admit ``path`` here (the event store stays on this thread); probe it in one pool
        and store it in the other, both at once."""
        try:
            admitted = self._check(path, camera_code, root)
        except (Refused, FileNotFoundError) as exc:
            refused: Future[_Stored] = Future()
            refused.set_exception(exc)
            return path, Future(), refused
        probed = probing.submit(self._probe, path, admitted)
        return path, probed, storing.submit(self._store_while_probed, path, probed)

    def _finish_next(
        self,
        pending: deque[tuple[Path, Future[_Probed], Future[_Stored]]],
        camera_code: str | None,
        remove: Callable[[Path], None],
    ) -> Outcome:
        path, _, stored = pending.popleft()
        return self._finish(path, camera_code, stored.result, remove)

    def _finish(
        self,
        path: Path,
        camera_code: str | None,
        stored: Callable[[], _Stored],
        remove: Callable[[Path], None] | None = None,
    ) -> Outcome:
        """Record what ``stored()`` gives (or its refusal), then have the source removed
        (by ``remove``, once the event is in; here if None)."""
        try:
            done = stored()
        except Refused as refused:
            quarantine(
                self.system.archives,
                path,
                self.settings.quarantine_dir,
                refused.refusal,
                camera_code,
                self.settings.max_segment_bytes,
            )
            return Outcome(
                path.name,
                "quarantined",
                reason=refused.refusal.message_fr,
                detail=refused.refusal.detail or None,
            )
        except FileNotFoundError:
            if path.exists() or path.is_symlink():
                raise  # something else is missing (ffmpeg, a store directory): not ours to hide
            return Outcome(path.name, "vanished", reason="retiré avant son versement")
        return self._record(path, done, remove or _remove)

    def _check(self, path: Path, camera_code: str | None, root: Path | None) -> _Admitted:
        """Link, folder, name, camera, size: what needs no ffmpeg (reads the event store)."""
        if path.is_symlink():
            raise Refused(Refusal("symlink", f"{path.name} est un lien symbolique : refusé."))
        if not stat.S_ISREG(path.lstat().st_mode):  # a directory or a FIFO named like a segment
            raise Refused(
                Refusal("not-a-file", f"{path.name} n'est pas un fichier ordinaire : refusé.")
            )
        if root is not None and path.resolve().parent != root.resolve():
            raise Refused(Refusal("outside-folder", f"{path.name} sort du dossier surveillé."))
        try:
            name = parse_segment_name(path.name)
        except SegmentNameError as exc:
            raise Refused(Refusal("bad-name", exc.message_fr)) from None
        if camera_code and name.camera_code != camera_code:
            raise Refused(
                Refusal(
                    "wrong-camera",
                    f"{path.name} porte le code {name.camera_code} mais le dossier est celui de "
                    f"la caméra {camera_code}.",
                )
            )
        size = path.stat().st_size
        if size > self.settings.max_segment_bytes:
            raise Refused(
                Refusal(
                    "too-large",
                    f"{path.name} fait {size} octets, au-delà de la limite de "
                    f"{self.settings.max_segment_bytes} octets.",
                )
            )
        try:
            self.system.archives.camera(name.camera_code).check_active()
        except NotFound:
            raise Refused(
                Refusal("unknown-camera", f"La caméra {name.camera_code} n'est pas enregistrée.")
            ) from None
        except DomainError as exc:  # decommissioned
            raise Refused(Refusal("inactive-camera", exc.message_fr)) from None
        return _Admitted(name.camera_code, name.start)

    def _probe(self, path: Path, admitted: _Admitted) -> _Probed:
        """Judge the content and make the thumbnail, in one ffmpeg run. Thread-safe."""
        try:
            report, thumbnail = probe_with_thumbnail(path)
        except ProbeError as exc:
            raise Refused(Refusal(type(exc).__name__, exc.message_fr, str(exc))) from None
        return _Probed(admitted, report, thumbnail)

    def _store_while_probed(self, path: Path, probed: Future[_Probed]) -> _Stored:
        """Store the file while it is being probed, then its thumbnail; shred it if the probe
        refuses it (a crash before that shred leaves an orphan that reconciliation shreds,
        and the file still in its folder). Thread-safe."""
        blob_id = uuid.uuid4().hex
        try:
            with open(path, "rb") as source:
                stored = self.system.vault.put(blob_id, source)
        except BaseException:
            probed.result()  # a refusal (an unreadable file…) says it better than our error
            raise
        try:
            verdict = probed.result()
        except BaseException:
            with contextlib.suppress(Exception):  # the verdict is the error to report
                self.system.vault.shred(blob_id)
            raise
        return self._with_thumbnail(verdict, stored)

    def _put(self, path: Path, probed: _Probed) -> _Stored:
        """Hash, encrypt and store the file, then its thumbnail, durably. Thread-safe."""
        blob_id = uuid.uuid4().hex
        with open(path, "rb") as source:
            stored = self.system.vault.put(blob_id, source)
        return self._with_thumbnail(probed, stored)

    def _with_thumbnail(self, probed: _Probed, stored: StoredBlob) -> _Stored:
        thumb = None
        if probed.thumbnail is not None:
            thumb = self._put_thumbnail(stored.blob_id, probed.thumbnail)
        admitted = probed.admitted
        return _Stored(admitted.camera_code, admitted.start, probed.report, stored, thumb)

    def _put_thumbnail(self, blob_id: str, jpeg: bytes) -> str:
        """Store the thumbnail under the segment's key (after the segment's own blob)."""
        thumb = derived_id(blob_id, "thumb")
        self.system.vault.put(thumb, [jpeg])
        return thumb

    def _record(self, path: Path, done: _Stored, remove: Callable[[Path], None]) -> Outcome:
        """The event (recorded and sealed in one transaction), then the source removed."""
        report, stored, thumb = done.report, done.blob, done.thumbnail_blob_id
        end = done.start + timedelta(seconds=report.duration_s)
        drift = None
        if report.creation_time is not None:
            drift = (report.creation_time - done.start).total_seconds()
        segment_id, created = self.system.archives.record_segment(
            done.camera_code,
            start=done.start,
            end=end,
            container=report.container,
            codec=report.video_codec,
            width=report.width,
            height=report.height,
            fps=report.frame_rate,
            size=stored.plaintext_size,
            sha256=stored.plaintext_sha256,
            blob_id=stored.blob_id,
            thumbnail_blob_id=thumb,
            camera_clock=report.creation_time,
            clock_drift_seconds=drift,
            clock_drift_flagged=drift is not None
            and abs(drift) > self.settings.clock_drift_threshold_seconds,
            source_name=path.name,
        )
        if not created:  # the same bytes again: keep the first copy, drop ours
            self.system.vault.shred(stored.blob_id, derived=[thumb] if thumb else [])
        if self.remove_source:
            remove(path)
        status = "recorded" if created else "duplicate"
        return Outcome(path.name, status, segment_id, size=stored.plaintext_size)


def _remove(path: Path) -> None:
    """Remove the source only after its event is committed; make the removal durable.

    Already gone (named twice in one batch, or taken by someone else): its event is in, so
    there is nothing left to do.
    """
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
