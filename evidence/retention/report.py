"""The purge report: what an inspector checks offline, without seeing a single image.

For every segment of a commune recorded in a period, its lifecycle (recorded, deadline, held
and on what basis, purged when and how late) with every event of the segment as stored,
each carried in a C2SP tlog-proof against one signed checkpoint. The layout is specified in
``docs/FORMATS.md`` §9; ``tools/verify_report.py`` checks it and recomputes each verdict
from the events alone, so the summary in ``report.json`` is a claim, never a source.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from evidence.ledger.checkpoint import open_checkpoint
from evidence.ledger.leaf import StoredRecord
from evidence.ledger.proofs import InclusionProofFile
from evidence.retention.lifecycle import lifecycle
from evidence.retention.loading import events_of

FORMAT = "scelle.fr/purge-report@v1"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, one trailing LF: one spelling per report."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


@dataclass(frozen=True)
class ReportWritten:
    path: Path
    segments: int
    events: int
    checkpoint_size: int


def build_purge_report(
    system: Any, insee: str, start: datetime, end: datetime, out: Path, as_zip: bool = False
) -> ReportWritten:
    """Write the report directory (or zip) for commune ``insee`` and ``[start, end)``."""
    archives = system.archives
    commune = archives.commune(insee)
    now = archives.clock.now()
    index = archives.retention_index()
    entries, orders, records = [], {}, {}
    db = system.ledger.db
    with db.read_transaction() as cur:
        for segment_id in index.of_commune(commune.id, start, end):
            stored = events_of(db, cur, segment_id)
            records.update({r.notification_id: r for r in stored})
            holds = _holds(stored)
            for hold_id in holds:
                order_id = _order_uuid(hold_id)
                if order_id is not None and order_id not in orders:
                    found = events_of(db, cur, order_id)
                    records.update({r.notification_id: r for r in found})
                    orders[order_id] = [r.notification_id for r in found]
            entries.append(_entry(segment_id, stored, now))
    note = system.ledger.checkpoint()  # after reading: it covers every event read
    checkpoint = open_checkpoint(note, system.ledger.verifier)
    proofs = _proofs(db, records, checkpoint.size, note)
    manifest = {
        "format": FORMAT,
        "origin": checkpoint.origin,
        "commune": {"insee": insee, "id": commune.id.hex, "name": commune.name},
        "from": iso(start),
        "to": iso(end),
        "as_of": iso(now),
        "checkpoint_size": checkpoint.size,
        "segments": entries,
        "orders": [{"order_id": o.hex, "events": n} for o, n in sorted(orders.items())],
    }
    files = {
        "report.json": canonical_json(manifest),
        "checkpoint": note.encode("utf-8"),
        "log.vkey": system.settings.log_vkey_path.read_bytes(),
        **{f"proofs/{nid}.tlog-proof": text.encode("utf-8") for nid, text in proofs.items()},
    }
    path = _write(out, files, as_zip)
    return ReportWritten(path, len(entries), len(records), checkpoint.size)


def _entry(segment_id: UUID, stored: list[StoredRecord], now: datetime) -> dict[str, Any]:
    return {
        "segment_id": segment_id.hex,
        **lifecycle(segment_id.hex, stored, now),
        "events": [r.notification_id for r in stored],
    }


def _holds(stored: list[StoredRecord]) -> dict[str, dict[str, Any]]:
    """Each hold's basis as its placing event states it (kind, reference, basis, authority)."""
    holds: dict[str, dict[str, Any]] = {}
    for record in stored:
        if record.topic in ("scelle:Segment.Held", "scelle:Segment.HoldPlaced"):
            state = json.loads(record.state)
            holds[state["hold_id"]] = {
                k: state[k] for k in ("kind", "reference", "legal_basis", "authority")
            }
    return holds


def _order_uuid(hold_id: str) -> UUID | None:
    try:
        return UUID(hold_id)
    except ValueError:
        return None  # a legacy hold named otherwise: its basis is in the segment's event


def _proofs(db: Any, records: dict[int, StoredRecord], size: int, note: str) -> dict[int, str]:
    proofs = {}
    with db.read_transaction() as cur:
        for nid, record in sorted(records.items()):
            leaf = db.leaf_by_notification(cur, nid)
            if leaf is None or leaf.leaf_index >= size:
                raise RuntimeError(f"notification {nid} is not under the checkpoint")
            hashes = db.inclusion_path(cur, leaf.leaf_index, size)
            proof = InclusionProofFile(leaf.leaf_index, hashes, note, record.leaf_input())
            proofs[nid] = proof.to_text()
    return proofs


def _write(out: Path, files: dict[str, bytes], as_zip: bool) -> Path:
    if as_zip:
        target = out.with_suffix(".zip")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "x", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, data in sorted(files.items()):
                bundle.writestr(name, data)
        return target
    out.mkdir(parents=True, exist_ok=False)
    (out / "proofs").mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    return out
