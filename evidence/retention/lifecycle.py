"""A segment's lifecycle recomputed from its stored events alone (purge report, §9).

The report writer and the offline verifier both call :func:`lifecycle`, so a report states
exactly what its events prove, and a verifier that recomputes it catches any other claim.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from evidence.ledger.leaf import StoredRecord
from evidence.retention.rules import HoldSpan, effective_due

HOLD_FIELDS = ("kind", "reference", "legal_basis", "authority")


class EventsIncomplete(ValueError):
    """A segment's events are not one whole history (another aggregate, a gap, no start)."""


def decode(value: Any) -> Any:
    """The ``eventsourcing`` JSON transcoding: typed values as ``{"_type_", "_data_"}``."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            kind, data = value["_type_"], value["_data_"]
            if kind == "datetime_iso":
                return datetime.fromisoformat(data)
            if kind == "uuid_hex":
                return UUID(hex=data)
            return data
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def lifecycle(segment_id: str, stored: list[StoredRecord], as_of: datetime) -> dict[str, Any]:
    """Recompute a segment's lifecycle from its events alone (step 5 and 6)."""
    if not stored or any(r.originator_id.hex != segment_id for r in stored):
        raise EventsIncomplete(f"segment {segment_id}: events of another aggregate")
    if [r.originator_version for r in stored] != list(range(1, len(stored) + 1)):
        raise EventsIncomplete(f"segment {segment_id}: versions are not 1..{len(stored)}")
    states = [decode(json.loads(r.state)) for r in stored]
    if stored[0].topic != "scelle:Segment.Recorded":
        raise EventsIncomplete(f"segment {segment_id}: the first event is not its recording")
    recorded = states[0]
    holds: dict[str, dict[str, Any]] = {}
    lifted: list[HoldSpan] = []
    purged: dict[str, Any] | None = None
    for record, state in zip(stored, states, strict=True):
        kind = record.topic.removeprefix("scelle:Segment.")
        if kind in ("Held", "HoldPlaced"):
            placed = state["at"] if kind == "HoldPlaced" else state["timestamp"]
            holds[state["hold_id"]] = {**state, "placed_at": placed}
        elif kind == "HoldExtended":
            holds[state["hold_id"]]["expires_at"] = state["expires_at"]
        elif kind in ("HoldLifted", "Released"):
            gone = holds.pop(state["hold_id"])
            at = state["at"] if kind == "HoldLifted" else state["timestamp"]
            lifted.append(HoldSpan(gone["placed_at"], min(gone["expires_at"], at)))
        elif kind == "Purged":
            purged = state
    spans = [HoldSpan(h["placed_at"], h["expires_at"]) for h in holds.values()] + lifted
    due = effective_due(recorded["deadline"], spans)
    if purged is not None:
        status = "purged"
    elif any(h["expires_at"] > as_of for h in holds.values()):
        status = "held"
    else:
        status = "pending" if due > as_of else "overdue"
    return {
        "camera_code": recorded["camera_code"],
        "start": recorded["start"].isoformat(),
        "end": recorded["end"].isoformat(),
        "deadline": recorded["deadline"].isoformat(),
        "due": due.isoformat(),
        "status": status,
        "purged_at": None if purged is None else purged["purged_at"].isoformat(),
        "lateness_seconds": None if purged is None else purged["lateness_seconds"],
        "holds": [
            {"hold_id": hold_id, **{k: h.get(k) for k in HOLD_FIELDS}}
            for hold_id, h in sorted(_placed(states, stored).items())
        ],
    }


def _placed(states: list[dict[str, Any]], stored: list[StoredRecord]) -> dict[str, Any]:
    """Every hold ever placed on the segment, as its placing event states it."""
    return {
        s["hold_id"]: s
        for r, s in zip(stored, states, strict=True)
        if r.topic in ("scelle:Segment.Held", "scelle:Segment.HoldPlaced")
    }
