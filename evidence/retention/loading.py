"""Read many segments at once, straight from the event store, for a purge batch.

The application's repository reads one aggregate per query; a purge of a day of a city
re-reads hundreds of thousands. This reads a batch's events in one query and replays them
with the application's own mapper, so the aggregates are exactly those the repository would
give (a save still checks each version: optimistic concurrency is unchanged).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from evidence.ledger.leaf import StoredRecord
from evidence.model.segment import Segment

CHUNK = 500


def _key(db: Any, originator: UUID) -> Any:
    return originator.hex if db.placeholder == "?" else originator


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def events_of(db: Any, cur: Any, originator: UUID) -> list[StoredRecord]:
    """One aggregate's stored events, exactly as stored, in version order."""
    cur.execute(
        f"SELECT {db.id_column}, originator_id, originator_version, topic, state "
        f"FROM {db.events_table} WHERE originator_id = {db.placeholder} "
        "ORDER BY originator_version",
        (_key(db, originator),),
    )
    return [StoredRecord(r[0], _uuid(r[1]), r[2], r[3], bytes(r[4])) for r in cur.fetchall()]


def load_segments(system: Any, ids: Sequence[UUID]) -> dict[UUID, Segment]:
    """The segments named (those that exist), each replayed from all its events."""
    db, mapper = system.ledger.db, system.archives.mapper
    found: dict[UUID, Segment] = {}
    with db.read_transaction() as cur:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join(db.placeholder for _ in chunk)
            cur.execute(
                "SELECT originator_id, originator_version, topic, state "
                f"FROM {db.events_table} WHERE originator_id IN ({marks}) "
                "ORDER BY originator_id, originator_version",
                [_key(db, i) for i in chunk],
            )
            for oid, version, topic, state in cur.fetchall():
                originator = _uuid(oid)
                event = mapper.to_domain_event(
                    StoredEvent(originator, version, topic, bytes(state))
                )
                found[originator] = event.mutate(found.get(originator))
    return {i: s for i, s in found.items() if isinstance(s, Segment)}
