"""Recorders that seal each event inside the transaction that stores it (SQLite, PostgreSQL).

An event and its leaf, chain value and tree nodes commit together: there is never a moment
when a stored event is unsealed, and sealing adds a few inserts to a transaction that is
being committed anyway rather than a second commit of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from evidence.ledger.leaf import StoredRecord
from evidence.ledger.sealer import Sealer

#: Configuration values for the library's APPLICATION_RECORDER_TOPIC setting.
SEALING_RECORDER_TOPIC = "evidence.ledger.recorder:SealingSQLiteRecorder"
SEALING_POSTGRES_RECORDER_TOPIC = "evidence.ledger.recorder:SealingPostgresRecorder"


class SealingSQLiteRecorder(SQLiteApplicationRecorder):
    """Set ``sealer`` after construction; until then it records like its parent."""

    sealer: Sealer | None = None

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if self.sealer is not None and ids is not None:
            cur = c.sqlite_cursor  # the library's wrapper hides ``rowcount``
            if all(isinstance(e.originator_id, UUID) for e in stored_events):
                records = [
                    StoredRecord(
                        nid, cast(UUID, e.originator_id), e.originator_version, e.topic, e.state
                    )
                    for nid, e in zip(ids, stored_events, strict=True)
                ]
                self.sealer.seal_inserted(cur, records)
            else:
                self.sealer.seal_pending(cur)
        return ids


class SealingPostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL: seal inside the insert transaction, after the library has taken its
    EXCLUSIVE lock on the events table — writers are already serialized there, so leaves stay
    dense without a second transaction. Every other ledger writer (a follower, ``scelle seal
    --follow``, or a checkpoint) takes that same table lock in ``PostgresLedgerDB
    .write_transaction``, so none can interleave with an inserting writer — and the writer
    needs no round trip for a lock of its own."""

    sealer: Sealer | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert and seal in one transaction; any failure rolls both back.

        The library's own ``insert_events`` catches errors raised after the insert and
        re-raises them only once its transaction has committed: a refused seal would then
        leave its event stored. This version lets every error cross the transaction.
        """
        if self.sealer is None or not stored_events:
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return inserted
        from psycopg.rows import tuple_row

        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)  # takes the lock
                ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            assert ids is not None
            with conn.cursor(row_factory=tuple_row) as cur:
                records = [
                    StoredRecord(
                        nid, cast(UUID, e.originator_id), e.originator_version, e.topic, e.state
                    )
                    for nid, e in zip(ids, stored_events, strict=True)
                ]
                self.sealer.seal_inserted(cur, records)
        return list(ids)
