"""Producing an evidence package: a signed BagIt bag of originals, events, proofs and report.

Write order (a crash anywhere is harmless): the bag is built under a hidden ``.partial``
folder, fsynced, zipped, then renamed into place; only then is ``Export.Produced`` recorded
(with each segment's ``Segment.Exported``, in the same save). A crash before the event
leaves a package the log does not know, which the next ``produce`` replaces; a package named
by the log is always complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from evidence.content.errors import ContentError, KeyDestroyedError, KeyNotFoundError
from evidence.content.vault import derived_id
from evidence.model.errors import InvalidState
from evidence.model.segment import Segment
from evidence.packages import report
from evidence.packages.bag import BagWriter, fsync_dir, zip_bag
from evidence.packages.cases import purged_message
from evidence.packages.journal import Journal, ProvenEvent, event_line

if TYPE_CHECKING:
    from evidence.bootstrap import System

PACKAGE_FORMAT = "scelle.fr/package@v1"
VERIFIER_SOURCE = Path(__file__).resolve().parents[2] / "tools" / "verify_package.py"
#: Given a segment id, the JPEG to show in the report (None: no thumbnail).
Thumbnailer = Callable[[UUID], bytes | None]

README = """Paquet de preuve Scellé {package_id}
=====================================

Ce dossier est un sac BagIt (RFC 8493). Il contient :
  data/segments/      les enregistrements originaux, octet pour octet ;
  data/derived/       les copies masquées éventuelles ;
  data/log/           les événements du journal tels qu'enregistrés (events.jsonl), une
                      preuve d'inclusion par événement (proofs/), le point de contrôle signé
                      (checkpoint) et la clé publique du journal (log.vkey) ;
  data/report/        le rapport de chaîne de possession (custody.html) ;
  data/package.json   l'index du paquet.
La signature tagmanifest-sha256.txt.sig, par la clé du journal, couvre le manifeste des
étiquettes, qui couvre à son tour le manifeste du contenu.

Vérification hors ligne (Python 3.11 et le paquet « cryptography ») :
  python verify_package.py . --vkey CLÉ_PUBLIQUE_DU_CENTRE
La clé publique de ce journal est :
  {vkey}
Comparez-la à celle que le centre publie ou vous a remise par un autre canal : seule une
clé de confiance donnée par --vkey distingue un paquet authentique d'un faux entièrement
re-signé.
"""


class PackageError(InvalidState):
    """The package could not be built from what the archive holds."""


@dataclass(frozen=True)
class Produced:
    package_id: str
    directory: Path
    zip_path: Path
    manifest_sha256: str
    checkpoint_size: int


def package_id_of(export_id: UUID) -> str:
    return f"scelle-export-{export_id}"


def build_package(
    system: System, export_id: UUID, out_dir: Path, thumbnail: Thumbnailer | None = None
) -> Path:
    """Produce the package of an approved export under ``out_dir``; return its directory.

    The zip sits beside it (``<directory>.zip``). See :func:`produce_package`.
    """
    return produce_package(system, export_id, out_dir, thumbnail).directory


def produce_package(
    system: System, export_id: UUID, out_dir: Path, thumbnail: Thumbnailer | None = None
) -> Produced:
    """Check, build, zip, rename into place, then record ``Export.Produced``."""
    archives = system.archives
    export, segments = archives.check_export_producible(export_id)
    requisition = archives.requisition(export.requisition_id)
    package_id = package_id_of(export_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / f".{package_id}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    bag = BagWriter(work / package_id)
    journal = Journal(system.ledger)
    builder = _Builder(system, bag, journal, thumbnail)
    core = [requisition.id, export.id, *(s.id for s in segments)]
    core += list(dict.fromkeys(s.camera_id for s in segments))
    events = journal.events_of(core)
    events = sorted(events + builder.users(events), key=lambda e: e.notification_id)
    index = builder.payload(package_id, export_id, requisition.id, segments, events)
    builder.write_report(package_id, requisition, export, index, events)
    vkey = system.settings.log_vkey_path.read_text(encoding="utf-8")
    bag.add_tag("verify_package.py", VERIFIER_SOURCE.read_bytes())
    bag.add_tag("LISEZMOI.txt", README.format(package_id=package_id, vkey=vkey.strip()).encode())
    if system.ledger.signer is None:
        raise PackageError(
            "this node holds no log key and cannot sign a package",
            "Ce serveur ne détient pas la clé du journal : il ne peut pas signer de paquet.",
        )
    info = {
        "Source-Organization": system.ledger.origin,
        "External-Identifier": package_id,
        "External-Description": f"Export judiciaire Scellé, procédure "
        f"{requisition.procedure_number} ({requisition.authority})",
        "Bag-Software-Agent": "Scellé (scelle.fr/package@v1)",
        "Scelle-Export-Id": str(export_id),
        "Scelle-Requisition-Id": str(requisition.id),
        "Scelle-Checkpoint-Size": str(journal.tree_size),
    }
    manifest_sha = bag.finish(info, package_id, system.ledger.signer)
    zip_bag(bag.root, work / f"{package_id}.zip")
    directory, zipped = out_dir / package_id, out_dir / f"{package_id}.zip"
    shutil.rmtree(directory, ignore_errors=True)  # a crash's leftover the log never named
    os.replace(bag.root, directory)
    os.replace(work / f"{package_id}.zip", zipped)
    work.rmdir()
    fsync_dir(out_dir)
    archives.record_export_produced(export_id, package_id, manifest_sha, journal.tree_size)
    return Produced(package_id, directory, zipped, manifest_sha, journal.tree_size)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", text)[:40] or "x"


class _Builder:
    def __init__(
        self, system: System, bag: BagWriter, journal: Journal, thumbnail: Thumbnailer | None
    ) -> None:
        self.system = system
        self.bag = bag
        self.journal = journal
        self.thumbnail = thumbnail
        self.names: dict[str, str] = {}

    def users(self, events: list[ProvenEvent]) -> list[ProvenEvent]:
        """The accounts of everyone who acted on these aggregates (their names, for the report)."""
        referenced = {
            UUID(hex=ref)
            for e in events
            for value in e.state().values()
            if (ref := report.uuid_in(value)) is not None
        }
        known = {e.record.originator_id for e in events}
        accounts = [
            e
            for e in self.journal.events_of(sorted(referenced - known))
            if e.record.topic.startswith("scelle:User.")
        ]
        for e in accounts:
            if e.record.topic == "scelle:User.Created":
                self.names[e.record.originator_id.hex] = str(e.state().get("username"))
        return accounts

    def payload(
        self,
        package_id: str,
        export_id: UUID,
        requisition_id: UUID,
        segments: list[Segment],
        events: list[ProvenEvent],
    ) -> dict[str, Any]:
        by_segment: dict[UUID, list[ProvenEvent]] = {}
        for e in events:
            by_segment.setdefault(e.record.originator_id, []).append(e)
        entries, derived = [], []
        for number, segment in enumerate(segments, 1):
            own = by_segment.get(segment.id, [])
            recorded = next((e for e in own if e.record.topic == "scelle:Segment.Recorded"), None)
            if recorded is None:
                raise PackageError(
                    f"segment {segment.id} is not sealed under the checkpoint",
                    "Un segment n'est pas encore scellé dans le journal : réessayez.",
                )
            state = recorded.state()
            stem = f"{number:02d}_{_safe(segment.camera_code)}_{segment.start:%Y%m%dT%H%M%SZ}"
            ext = _safe(str(state.get("container", "bin")))
            rel = f"data/segments/{stem}.{ext}"
            sha, size = self._copy(segment, str(state["blob_id"]), rel)
            if sha != state.get("sha256") or size != state.get("size"):
                raise PackageError(
                    f"segment {segment.id}: stored bytes differ from the recorded digest",
                    f"L'original du segment {segment.camera_code} ne correspond plus à son "
                    "empreinte enregistrée : export refusé, intégrité à instruire.",
                )
            entries.append(self._entry(rel, segment, recorded, sha, size, number))
            derived += self._derivatives(segment, own, stem, str(state["blob_id"]), number)
        for e in events:
            self.bag.add(f"data/log/proofs/{e.notification_id}.tlog-proof", e.proof.encode())
        self.bag.add("data/log/events.jsonl", (event_line(e.record) for e in events))
        self.bag.add("data/log/checkpoint", self.journal.checkpoint.encode())
        vkey = self.system.settings.log_vkey_path.read_bytes()
        self.bag.add("data/log/log.vkey", vkey)
        index = {
            "format": PACKAGE_FORMAT,
            "package_id": package_id,
            "export_id": str(export_id),
            "requisition_id": str(requisition_id),
            "checkpoint_size": self.journal.tree_size,
            "segments": entries,
            "derived": derived,
        }
        text = json.dumps(index, ensure_ascii=False, indent=1) + "\n"
        self.bag.add("data/package.json", text.encode("utf-8"))
        return index

    def _entry(
        self, rel: str, segment: Segment, recorded: ProvenEvent, sha: str, size: int, number: int
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "file": rel,
            "segment_id": segment.id.hex,
            "notification_id": recorded.notification_id,
            "camera": segment.camera_code,
            "start": segment.start.astimezone(UTC).isoformat(),
            "end": segment.end.astimezone(UTC).isoformat(),
            "sha256": sha,
            "size": size,
            "thumbnail": None,
        }
        jpeg = self._thumbnail(segment, recorded.state().get("thumbnail_blob_id"))
        if jpeg:
            entry["thumbnail"] = f"data/report/thumbnails/{number:02d}.jpg"
            self.bag.add(entry["thumbnail"], jpeg)
        return entry

    def _copy(self, segment: Segment, blob_id: str, rel: str) -> tuple[str, int]:
        try:
            chunks = self.system.vault.iter_range(blob_id)
        except (KeyDestroyedError, KeyNotFoundError):
            raise purged_message(segment) from None
        return self.bag.add(rel, chunks)

    def _thumbnail(self, segment: Segment, blob_id: object) -> bytes | None:
        if self.thumbnail is not None:
            return self.thumbnail(segment.id)
        if not isinstance(blob_id, str):
            return None
        try:
            return self.system.vault.read_all(blob_id)
        except ContentError:
            return None  # the report says "—"; the original is what counts

    def _derivatives(
        self, segment: Segment, own: list[ProvenEvent], stem: str, blob_id: str, number: int
    ) -> list[dict[str, Any]]:
        """Stored renditions (masked copies…) with the latest event that derived each.

        ``Segment.RenditionDerived`` names its blob; the older ``Segment.MaskApplied`` names a
        rendition kind, stored as ``<segment blob>.<kind>``. A rendition recorded but no longer
        stored is skipped: its event still travels in the journal.
        """
        latest: dict[str, ProvenEvent] = {}
        for e in own:
            state = e.state()
            if e.record.topic == "scelle:Segment.RenditionDerived" and state.get("blob_id"):
                latest[str(state["blob_id"])] = e
            elif e.record.topic == "scelle:Segment.MaskApplied":
                rendition = str(state.get("rendition", "masked"))
                latest[rendition if "." in rendition else derived_id(blob_id, rendition)] = e
        found = []
        for blob, e in latest.items():
            try:
                chunks = self.system.vault.iter_range(blob)
            except (ContentError, ValueError):
                continue
            state = e.state()
            kind = _safe(str(state.get("rendition", "derived")).rsplit(".", 1)[-1])
            rel = f"data/derived/{stem}_{kind}_{e.notification_id}.mp4"
            sha, size = self.bag.add(rel, chunks)
            found.append(
                {
                    "file": rel,
                    "segment_id": segment.id.hex,
                    "notification_id": e.notification_id,
                    "source": number,
                    "zones": [str(z) for z in state.get("zones", [])],
                    "sha256": sha,
                    "size": size,
                }
            )
        return found

    def write_report(
        self,
        package_id: str,
        requisition: Any,
        export: Any,
        index: dict[str, Any],
        events: list[ProvenEvent],
    ) -> None:
        names = self.names

        def who(value: UUID | None) -> str:
            return "—" if value is None else names.get(value.hex, str(value)[:8])

        subjects = {requisition.id: f"réquisition {requisition.procedure_number}"}
        subjects[export.id] = "export"
        for s in index["segments"]:
            subjects[UUID(hex=s["segment_id"])] = f"segment {s['file'].split('/')[-1][:2]}"
        cameras = sorted({s["camera"] for s in index["segments"]})
        rows = [
            (
                e.notification_id,
                e.record.topic,
                subjects.get(e.record.originator_id, str(e.record.originator_id)[:8])
                if not e.record.topic.startswith("scelle:Camera.")
                else f"caméra {e.state().get('code') or ''}".strip(),
                e.state(),
            )
            for e in events
        ]
        checkpoint_lines = self.journal.checkpoint.split("\n")
        context = {
            "package_id": package_id,
            "produced_at": report.local_time(datetime.now(UTC)),
            "origin": self.system.ledger.origin,
            "requisition": {
                "authority": requisition.authority,
                "procedure_number": requisition.procedure_number,
                "legal_basis": report.legal_basis_label(requisition.legal_basis),
                "cameras": ", ".join(cameras),
                "ranges": [
                    f"{report.local_time(r.start)} — {report.local_time(r.end)}"
                    for r in requisition.ranges
                ],
                "officer": who(requisition.officer_id),
                "approver": who(requisition.approved_by),
            },
            "export": {
                "requested_by": who(export.requested_by),
                "approved_by": who(export.approved_by),
            },
            "segments": [
                {
                    "number": n,
                    "thumbnail": s["thumbnail"].removeprefix("data/report/")
                    if s["thumbnail"]
                    else None,
                    "camera": s["camera"],
                    "start": report.local_time(s["start"]),
                    "end": report.local_time(s["end"]),
                    "file": s["file"],
                    "size": s["size"],
                    "sha256": s["sha256"],
                }
                for n, s in enumerate(index["segments"], 1)
            ],
            "derived": [
                {
                    "file": d["file"],
                    "source": d["source"],
                    "zones": ", ".join(d["zones"]) or "—",
                    "sha256": d["sha256"],
                }
                for d in index["derived"]
            ],
            "timeline": report.timeline(rows, names),
            "tree_size": self.journal.tree_size,
            "root": checkpoint_lines[2] if len(checkpoint_lines) > 2 else "",
            "vkey": self.system.settings.log_vkey_path.read_text(encoding="utf-8").strip(),
        }
        self.bag.add("data/report/custody.html", report.render(context).encode("utf-8"))
