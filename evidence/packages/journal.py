"""The events a package carries, exactly as stored, each with its proof against ONE checkpoint.

Why not ``Ledger.inclusion_proof``: it signs a fresh checkpoint per call, so a package built
while others write would mix checkpoints. Here one checkpoint is signed first, and every proof
is computed against its tree size inside one read snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from evidence.ledger.checkpoint import open_checkpoint
from evidence.ledger.leaf import StoredRecord
from evidence.ledger.log import Ledger
from evidence.ledger.proofs import InclusionProofFile
from evidence.ledger.store import LedgerDB, SQLiteLedgerDB

_TOPIC_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-")


class JournalError(RuntimeError):
    """An event the package needs is not sealed under the package's checkpoint."""


@dataclass(frozen=True)
class ProvenEvent:
    record: StoredRecord
    proof: str  # c2sp.org/tlog-proof@v1 text against the package's checkpoint

    @property
    def notification_id(self) -> int:
        return self.record.notification_id

    def state(self) -> dict[str, Any]:
        decoded = json.loads(self.record.state)
        return decoded if isinstance(decoded, dict) else {}


def state_is_json_object(state: bytes) -> bool:
    """Same rule as ``tools/verify_package.py``: one-line JSON objects go in verbatim."""
    if not state.startswith(b"{") or b"\n" in state or b"\r" in state:
        return False
    try:
        return isinstance(json.loads(state.decode("utf-8")), dict)
    except ValueError:
        return False


def event_line(record: StoredRecord) -> bytes:
    """One line of ``events.jsonl`` (docs/FORMATS.md §9.3): the stored state, byte for byte."""
    if not record.topic or not set(record.topic) <= _TOPIC_CHARS:
        raise JournalError(f"topic {record.topic!r} cannot be written in a package")
    head = (
        f'{{"notification_id":{record.notification_id},'
        f'"originator_id":"{record.originator_id.hex}",'
        f'"originator_version":{record.originator_version},"topic":"{record.topic}",'
    ).encode()
    if state_is_json_object(record.state):
        return head + b'"state":' + record.state + b"}\n"
    import base64

    encoded = base64.b64encode(record.state).decode("ascii")
    return head + f'"state_base64":"{encoded}"}}\n'.encode()


def _records_of(db: LedgerDB, cur: Any, originator_id: UUID) -> list[StoredRecord]:
    key: object = originator_id.hex if isinstance(db, SQLiteLedgerDB) else originator_id
    cur.execute(
        f"SELECT {db.id_column}, originator_id, originator_version, topic, state "
        f"FROM {db.events_table} WHERE originator_id = {db.placeholder} "
        "ORDER BY originator_version",
        (key,),
    )
    rows = cur.fetchall()
    return [
        StoredRecord(
            r[0], r[1] if isinstance(r[1], UUID) else UUID(hex=r[1]), r[2], r[3], bytes(r[4])
        )
        for r in rows
    ]


class Journal:
    """A signed checkpoint and the proven events of chosen aggregates, up to that checkpoint."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.checkpoint = ledger.checkpoint()
        self.tree_size = open_checkpoint(self.checkpoint, ledger.verifier).size

    def events_of(self, originator_ids: Iterable[UUID]) -> list[ProvenEvent]:
        """Every stored event of these aggregates sealed under the checkpoint, in log order."""
        db = self.ledger.db
        proven: dict[int, ProvenEvent] = {}
        with db.read_transaction() as cur:
            for originator_id in dict.fromkeys(originator_ids):
                for record in _records_of(db, cur, originator_id):
                    leaf = db.leaf_by_notification(cur, record.notification_id)
                    if leaf is None or leaf.leaf_index >= self.tree_size:
                        continue  # written after the checkpoint: not part of this package
                    hashes = db.inclusion_path(cur, leaf.leaf_index, self.tree_size)
                    proof = InclusionProofFile(
                        leaf.leaf_index, hashes, self.checkpoint, record.leaf_input()
                    )
                    proven[record.notification_id] = ProvenEvent(record, proof.to_text())
        return [proven[nid] for nid in sorted(proven)]
