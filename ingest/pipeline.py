"""Intake of one finished segment file: checked, encrypted, stored, recorded, sealed — once.

Write order (DESIGN §3): the data key and the encrypted blob (and its thumbnail, under the
same key) are durable first; the ``Segment.Recorded`` event second; the source file is
removed last. A crash anywhere leaves either an orphan blob that reconciliation shreds (the
source is still there, so nothing acknowledged is lost) or a source that, ingested again, is
recognised as a duplicate.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from evidence.application import NotFound
from evidence.bootstrap import System
from evidence.content.vault import derived_id
from evidence.model.errors import DomainError
from ingest.naming import SegmentNameError, parse_segment_name
from ingest.probe import ProbeError, ProbeResult, probe
from ingest.quarantine import Refusal, quarantine
from ingest.thumbnail import ThumbnailError, thumbnail_jpeg


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message_fr)
        self.refusal = refusal


@dataclass(frozen=True)
class Outcome:
    """What became of one file: ``recorded``, ``duplicate`` or ``quarantined``."""

    source: str
    status: str
    segment_id: UUID | None = None
    reason: str | None = None
    size: int = 0


class Ingestor:
    def __init__(self, system: System, *, remove_source: bool = True) -> None:
        self.system = system
        self.remove_source = remove_source
        self.settings = system.settings

    def ingest(
        self, path: Path, camera_code: str | None = None, root: Path | None = None
    ) -> Outcome:
        """Ingest one file; every refusal is quarantined and recorded, never raised."""
        code = camera_code
        try:
            code, start, report = self._check(path, camera_code, root)
            return self._store(path, code, start, report)
        except Refused as refused:
            quarantine(
                self.system.archives,
                path,
                self.settings.quarantine_dir,
                refused.refusal,
                code,
                self.settings.max_segment_bytes,
            )
            return Outcome(path.name, "quarantined", reason=refused.refusal.message_fr)

    def _check(
        self, path: Path, camera_code: str | None, root: Path | None
    ) -> tuple[str, datetime, ProbeResult]:
        if path.is_symlink():
            raise Refused(Refusal("symlink", f"{path.name} est un lien symbolique : refusé."))
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
        try:
            report = probe(path)
        except ProbeError as exc:
            raise Refused(Refusal(type(exc).__name__, exc.message_fr)) from None
        return name.camera_code, name.start, report

    def _store(self, path: Path, code: str, start: datetime, report: ProbeResult) -> Outcome:
        vault = self.system.vault
        blob_id = uuid.uuid4().hex
        with open(path, "rb") as source:
            stored = vault.put(blob_id, source)
        thumb: str | None = derived_id(blob_id, "thumb")
        try:
            vault.put(derived_id(blob_id, "thumb"), [thumbnail_jpeg(path)])
        except ThumbnailError:
            thumb = None  # a segment without a thumbnail is still evidence
        end = start + timedelta(seconds=report.duration_s)
        drift = None
        if report.creation_time is not None:
            drift = (report.creation_time - start).total_seconds()
        segment_id, created = self.system.archives.record_segment(
            code,
            start=start,
            end=end,
            container=report.container,
            codec=report.video_codec,
            width=report.width,
            height=report.height,
            fps=report.frame_rate,
            size=stored.plaintext_size,
            sha256=stored.plaintext_sha256,
            blob_id=blob_id,
            thumbnail_blob_id=thumb,
            camera_clock=report.creation_time,
            clock_drift_seconds=drift,
            clock_drift_flagged=drift is not None
            and abs(drift) > self.settings.clock_drift_threshold_seconds,
            source_name=path.name,
        )
        if not created:  # the same bytes again: keep the first copy, drop ours
            vault.shred(blob_id, derived=[thumb] if thumb else [])
        if self.remove_source:
            _remove(path)
        status = "recorded" if created else "duplicate"
        return Outcome(path.name, status, segment_id, size=stored.plaintext_size)


def _remove(path: Path) -> None:
    """Remove the source only after its event is committed; make the removal durable."""
    path.unlink()
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
