"""``scelle verify report``: check a purge report offline (docs/FORMATS.md §9).

Steps (numbered as in FORMATS.md §9.3):
  1. Read the report (directory or zip); ``report.json`` must be canonical JSON.
  2. Open ``checkpoint`` with the log key (``--vkey``, else the report's ``log.vkey``).
  3. Every proof file is listed once, and every listed event has its proof file.
  4. Each proof embeds that very checkpoint and proves its leaf against the signed root;
     the leaf carries the event as stored, and its notification id is the file's.
  5. Each segment's events are its own, versions 1, 2, … with no gap, the first recorded.
  6. The lifecycle is recomputed from the events alone (deadline, holds and their basis,
     purge and lateness) and must match what ``report.json`` states.
  7. Verdicts: a segment purged later than ``tolerance`` after it was due, or overdue and not
     purged, is named.
Returns the findings or raises ``ReportInvalid`` (a subclass per failure): never fails open.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evidence.ledger import merkle
from evidence.ledger.checkpoint import Checkpoint, open_checkpoint
from evidence.ledger.leaf import LeafFormatError, StoredRecord
from evidence.ledger.note import NoteError, Verifier
from evidence.ledger.proofs import InclusionProofFile, ProofFileError
from evidence.model.purposes import LEGAL_BASES
from evidence.model.segment import HOLD_KINDS
from evidence.retention.lifecycle import EventsIncomplete, lifecycle
from evidence.retention.rules import lateness_seconds

FORMAT = "scelle.fr/purge-report@v1"
PROOF_NAME = re.compile(r"proofs/([1-9][0-9]*)\.tlog-proof")
DEFAULT_TOLERANCE = 3600.0


class ReportInvalid(Exception):
    """The report cannot be trusted; ``kind`` names the failure for the FAIL line."""

    kind = "report-invalid"


class ReportMalformed(ReportInvalid):
    kind = "report-malformed"


class CheckpointInvalid(ReportInvalid):
    kind = "checkpoint-signature"


class ProofInvalid(ReportInvalid):
    kind = "proof-invalid"


class EventsMissing(ReportInvalid):
    kind = "events-incomplete"


class ReportAltered(ReportInvalid):
    kind = "report-altered"


@dataclass(frozen=True)
class Finding:
    kind: str  # purged-late, not-purged, hold-without-basis
    segment_id: str
    camera_code: str
    start: str
    detail: str


@dataclass
class Verdict:
    commune: str
    segments: int
    events: int
    checkpoint_size: int
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def read_report(path: Path) -> dict[str, bytes]:
    """Every file of the report, by its relative name (a zip is read, never extracted)."""
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*"))
            if p.is_file()
        }
    try:
        with zipfile.ZipFile(path) as bundle:
            return {n: bundle.read(n) for n in bundle.namelist() if not n.endswith("/")}
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReportMalformed(f"{path}: neither a report directory nor a zip ({exc})") from None


def verify_report(
    files: dict[str, bytes], vkey: str | None = None, tolerance: float = DEFAULT_TOLERANCE
) -> Verdict:
    """Verify every step; a manifest whose shape is wrong anywhere is ``ReportMalformed``."""
    try:
        return _verify(files, vkey, tolerance)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportMalformed(
            f"report.json: unexpected content ({type(exc).__name__}: {exc})"
        ) from None


def _verify(files: dict[str, bytes], vkey: str | None, tolerance: float) -> Verdict:
    # 1. report.json, canonical.
    manifest = _manifest(files)
    # 2. The checkpoint, signed by the log key.
    note = _text(files, "checkpoint")
    try:
        verifier = Verifier.from_vkey((vkey or _text(files, "log.vkey")).strip())
        checkpoint = open_checkpoint(note, verifier)
    except NoteError as exc:
        raise CheckpointInvalid(f"checkpoint: {exc}") from None
    if checkpoint.size != manifest["checkpoint_size"]:
        raise ReportAltered("checkpoint_size differs from the signed checkpoint")
    # 3. Proof files and listed events, one to one.
    listed = [n for s in manifest["segments"] for n in s["events"]]
    listed += [n for o in manifest["orders"] for n in o["events"]]
    if any(type(n) is not int for n in listed):
        raise ReportMalformed("report.json: event numbers must be integers")
    names = {m.group(1) for f in files if (m := PROOF_NAME.fullmatch(f))}
    extra = set(files) - {"report.json", "checkpoint", "log.vkey"}
    extra -= {f"proofs/{n}.tlog-proof" for n in names}
    if extra:
        raise ReportMalformed(f"unexpected files: {sorted(extra)}")
    if len(set(listed)) != len(listed) or {str(n) for n in listed} != names:
        raise EventsMissing("listed events and proof files differ")
    # 4. Each event proven against the one checkpoint.
    events = {n: _proven(files, n, note, checkpoint) for n in listed}
    # 5-6. Lifecycles recomputed and compared.
    as_of = datetime.fromisoformat(manifest["as_of"])
    verdict = Verdict(
        manifest["commune"]["insee"], len(manifest["segments"]), len(events), checkpoint.size
    )
    for claimed in manifest["segments"]:
        stored = [events[n] for n in claimed["events"]]
        try:
            life = lifecycle(claimed["segment_id"], stored, as_of)
        except (EventsIncomplete, KeyError, TypeError, ValueError) as exc:
            raise EventsMissing(f"segment {claimed.get('segment_id')}: {exc}") from None
        for key, value in life.items():
            if claimed.get(key) != value:
                raise ReportAltered(
                    f"segment {claimed['segment_id']}: report says {key}={claimed.get(key)!r},"
                    f" its events say {value!r}"
                )
        verdict.counts[life["status"]] = verdict.counts.get(life["status"], 0) + 1
        # 7. Findings.
        verdict.findings += _findings(claimed, life, stored, tolerance, as_of)
    return verdict


def _findings(
    claimed: dict[str, Any],
    life: dict[str, Any],
    stored: list[StoredRecord],
    tolerance: float,
    as_of: datetime,
) -> list[Finding]:
    def finding(kind: str, detail: str) -> Finding:
        return Finding(kind, claimed["segment_id"], life["camera_code"], life["start"], detail)

    found = []
    due = datetime.fromisoformat(life["due"])
    if life["status"] == "purged":
        late = lateness_seconds(datetime.fromisoformat(life["purged_at"]), due)
        if late > tolerance:
            found.append(finding("purged-late", f"détruit {late:.0f} s après son échéance"))
    elif life["status"] == "overdue":
        late = lateness_seconds(as_of, due)
        if late > tolerance:
            found.append(finding("not-purged", f"non détruit, échu depuis {late:.0f} s"))
    for hold in life["holds"]:
        basis_ok = hold["kind"] in HOLD_KINDS and (
            hold["kind"] != "judicial"
            or (hold["legal_basis"] in LEGAL_BASES and bool(hold["authority"]))
        )
        if not basis_ok:
            found.append(finding("hold-without-basis", f"conservation {hold['hold_id']}"))
    return found


def _manifest(files: dict[str, bytes]) -> dict[str, Any]:
    raw = files.get("report.json")
    if raw is None:
        raise ReportMalformed("report.json is missing")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportMalformed(f"report.json: {exc}") from None
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if (text + "\n").encode("utf-8") != raw:
        raise ReportMalformed("report.json is not in canonical form")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ReportMalformed(f"report.json: format must be {FORMAT!r}")
    for key, kind in (("segments", list), ("orders", list), ("as_of", str), ("commune", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ReportMalformed(f"report.json: {key!r} missing or mistyped")
    return manifest


def _text(files: dict[str, bytes], name: str) -> str:
    try:
        return files[name].decode("utf-8")
    except KeyError:
        raise ReportMalformed(f"{name} is missing") from None
    except UnicodeDecodeError:
        raise ReportMalformed(f"{name} is not UTF-8") from None


def _proven(files: dict[str, bytes], nid: int, note: str, checkpoint: Checkpoint) -> StoredRecord:
    name = f"proofs/{nid}.tlog-proof"
    try:
        proof = InclusionProofFile.parse(files[name])
    except ProofFileError as exc:
        raise ProofInvalid(f"{name}: {exc}") from None
    if proof.checkpoint_note != note:
        raise ProofInvalid(f"{name}: embeds another checkpoint than the report's")
    if proof.extra is None:
        raise ProofInvalid(f"{name}: carries no event")
    try:
        record = StoredRecord.from_leaf_input(proof.extra)
        merkle.verify_inclusion(
            merkle.leaf_hash(proof.extra),
            proof.index,
            checkpoint.size,
            list(proof.hashes),
            checkpoint.root_hash,
        )
    except (LeafFormatError, merkle.ProofError) as exc:
        raise ProofInvalid(f"{name}: {exc}") from None
    if record.notification_id != nid:
        raise ProofInvalid(f"{name}: proves notification {record.notification_id}")
    return record
