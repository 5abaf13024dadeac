"""The detailed walk: runs only over a chunk that failed the fast path, to say what is wrong.

Events and leaves are paired by notification id; each disagreement gets its own kind, so an
inspector can tell an altered event from a deleted one, a swap from an edited ledger row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from evidence.ledger.leaf import StoredRecord, leaf_hash_of
from evidence.ledger.store import LeafRow


@dataclass(frozen=True)
class Failure:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.detail}"


def merge(
    records: Sequence[StoredRecord], leaves: Sequence[LeafRow]
) -> Iterator[tuple[StoredRecord | None, LeafRow | None]]:
    """Pair events and leaves by notification id (both sorted)."""
    i = j = 0
    while i < len(records) or j < len(leaves):
        record = records[i] if i < len(records) else None
        leaf = leaves[j] if j < len(leaves) else None
        if leaf is None or (record is not None and record.notification_id < leaf.notification_id):
            yield record, None
            i += 1
        elif record is None or leaf.notification_id < record.notification_id:
            yield None, leaf
            j += 1
        else:
            yield record, leaf
            i, j = i + 1, j + 1


class LeafWalk:
    def __init__(self, failures: list[Failure], chain: bytes) -> None:
        self.failures = failures
        self.chain = chain
        self.mismatches: list[tuple[StoredRecord, LeafRow]] = []
        self.unsealed: list[int] = []

    def run(self, records: Sequence[StoredRecord], leaves: Sequence[LeafRow]) -> None:
        for record, leaf in merge(records, leaves):
            if leaf is None:
                assert record is not None
                self.unsealed.append(record.notification_id)
            else:
                self._leaf(record, leaf)

    def _leaf(self, record: StoredRecord | None, leaf: LeafRow) -> None:
        linked = hashlib.sha256(self.chain + leaf.leaf_hash).digest() == leaf.chain_hash
        self.chain = leaf.chain_hash
        if not linked:
            # The ledger row itself was edited: its event is not the suspect.
            self.failures.append(
                Failure(
                    "ledger-edited",
                    f"leaf {leaf.leaf_index} (notification {leaf.notification_id}): "
                    "its chain value "
                    "does not link to the previous one",
                )
            )
        elif record is None:
            self.failures.append(
                Failure(
                    "event-deleted",
                    f"leaf {leaf.leaf_index} seals notification {leaf.notification_id}, "
                    "which is no "
                    "longer in the event store",
                )
            )
        elif leaf_hash_of(record) != leaf.leaf_hash:
            self.mismatches.append((record, leaf))


Mismatch = tuple[StoredRecord, LeafRow]


def classify_mismatches(mismatches: Sequence[Mismatch], failures: list[Failure]) -> None:
    """Tell a swap of two events apart from an altered one."""
    swapped: set[int] = set()
    if len(mismatches) <= 1_000:
        for record, leaf in mismatches:
            for _, other in mismatches:
                moved = StoredRecord(
                    other.notification_id,
                    record.originator_id,
                    record.originator_version,
                    record.topic,
                    record.state,
                )
                if other.leaf_index != leaf.leaf_index and leaf_hash_of(moved) == other.leaf_hash:
                    swapped.add(leaf.leaf_index)
    for record, leaf in mismatches:
        what = f"{record.topic} v{record.originator_version} of {record.originator_id}"
        if leaf.leaf_index in swapped:
            failures.append(
                Failure(
                    "events-swapped",
                    f"notification {record.notification_id} (leaf {leaf.leaf_index}) holds "
                    f"{what}, which was sealed at another position",
                )
            )
        else:
            failures.append(
                Failure(
                    "event-altered",
                    f"notification {record.notification_id} (leaf {leaf.leaf_index}, {what}): "
                    "the stored bytes do not match the sealed leaf hash",
                )
            )
