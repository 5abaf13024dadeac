"""Embedded mode: the SQLite recorder seals each event inside the transaction that stores it.

An event and its leaf, chain value and tree nodes commit together: there is never a moment
when a stored event is unsealed, and sealing adds a few inserts to a transaction that is
being committed anyway rather than a second commit of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from evidence.ledger.leaf import StoredRecord
from evidence.ledger.sealer import Sealer

#: Configuration value for the library's APPLICATION_RECORDER_TOPIC setting.
SEALING_RECORDER_TOPIC = "evidence.ledger.recorder:SealingSQLiteRecorder"


class SealingSQLiteRecorder(SQLiteApplicationRecorder):
    """Set ``sealer`` after construction; until then it records like its parent."""

    sealer: Sealer | None = None

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if self.sealer is not None and ids is not None:
            if all(isinstance(e.originator_id, UUID) for e in stored_events):
                records = [
                    StoredRecord(
                        nid, cast(UUID, e.originator_id), e.originator_version, e.topic, e.state
                    )
                    for nid, e in zip(ids, stored_events, strict=True)
                ]
                self.sealer.seal_inserted(c, records)
            else:
                self.sealer.seal_pending(c)
        return ids
