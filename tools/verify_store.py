"""``scelle verify store``: recompute everything the ledger claims, from the stored bytes.

Steps (docs/FORMATS.md §6 describes the same ones):
  1. Open every checkpoint — in the database and held outside it — and check its signature.
  2. Walk the events and the ledger leaves together in notification order: every sealed
     event must have its leaf (dense indices), every leaf its event, every leaf hash must be
     the hash of the event's leaf input, every chain value must link to the previous one.
  3. Rebuild the Merkle tree level by level from the leaves, comparing every stored node.
  4. Compare each checkpoint's root with the rebuilt tree at its size, and check the
     consistency proof between successive checkpoints.
Any failure is reported with its own kind; verification never stops at a warning.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from evidence.ledger import merkle
from evidence.ledger.checkpoint import Checkpoint, open_checkpoint
from evidence.ledger.leaf import LEAF_PREFIX, ZERO_CHAIN, StoredRecord, leaf_hash_of
from evidence.ledger.note import NoteError, Verifier
from evidence.ledger.store import LeafRow, LedgerDB

_HEADER = struct.Struct(">Q16sQH")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Failure:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.detail}"


class StoreVerificationFailed(Exception):
    def __init__(self, failures: Sequence[Failure]) -> None:
        super().__init__(f"{len(failures)} failure(s); first: {failures[0]}")
        self.failures = list(failures)


@dataclass
class StoreSummary:
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    outside_checkpoints: int = 0
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class _Anchor:
    checkpoint: Checkpoint
    where: str
    outside: bool


def _open_anchors(
    notes: Sequence[tuple[str, str, int | None]], verifier: Verifier, failures: list[Failure]
) -> list[_Anchor]:
    """Open each note; ``expected`` is the size a database row files it under (None outside)."""
    anchors = []
    for note, where, expected in notes:
        try:
            checkpoint = open_checkpoint(note, verifier)
            if expected is not None and checkpoint.size != expected:
                failures.append(Failure(
                    "ledger-edited", f"{where} is filed under the wrong tree size"
                ))
            anchors.append(_Anchor(checkpoint, where, expected is None))
        except NoteError as exc:
            failures.append(Failure("checkpoint-signature", f"{where}: {exc}"))
        except ValueError as exc:
            failures.append(Failure("checkpoint-malformed", f"{where}: {exc}"))
    return anchors


def _merge(
    records: Iterator[StoredRecord], leaves: Iterator[LeafRow]
) -> Iterator[tuple[StoredRecord | None, LeafRow | None]]:
    """Pair events and leaves by notification id."""
    record, leaf = next(records, None), next(leaves, None)
    while record is not None or leaf is not None:
        if leaf is None or (record is not None and record.notification_id < leaf.notification_id):
            yield record, None
            record = next(records, None)
        elif record is None or leaf.notification_id < record.notification_id:
            yield None, leaf
            leaf = next(leaves, None)
        else:
            yield record, leaf
            record, leaf = next(records, None), next(leaves, None)


def _flatten(batches: Iterator[list[Any]]) -> Iterator[Any]:
    for batch in batches:
        yield from batch


class _LeafWalk:
    """Step 2, kept apart so that the hot loop stays small."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures
        self.leaf_hashes: list[bytes] = []
        self.mismatches: list[tuple[StoredRecord, LeafRow]] = []
        self.events = 0
        self.unsealed: list[int] = []

    def run(self, pairs: Iterator[tuple[StoredRecord | None, LeafRow | None]]) -> None:
        sha256 = hashlib.sha256
        pack = _HEADER.pack
        chain = ZERO_CHAIN
        hashes = self.leaf_hashes
        for record, leaf in pairs:
            if record is not None:
                self.events += 1
            if leaf is None:
                assert record is not None
                self.unsealed.append(record.notification_id)
                continue
            if leaf.leaf_index != len(hashes):
                self.failures.append(Failure(
                    "ledger-gap",
                    f"leaf index {leaf.leaf_index} found where {len(hashes)} was expected",
                ))
            if self.unsealed:
                self._inserted_before(leaf)
            hashes.append(leaf.leaf_hash)
            linked = sha256(chain + leaf.leaf_hash).digest() == leaf.chain_hash
            chain = leaf.chain_hash
            if not linked:
                # The ledger row itself was edited: its event is not the suspect.
                self.failures.append(Failure(
                    "ledger-edited",
                    f"leaf {leaf.leaf_index} (notification {leaf.notification_id}): its chain "
                    "value does not link to the previous one",
                ))
                continue
            if record is None:
                self.failures.append(Failure(
                    "event-deleted",
                    f"leaf {leaf.leaf_index} seals notification {leaf.notification_id}, which "
                    "is no longer in the event store",
                ))
                continue
            topic = record.topic.encode()
            data = b"\x00" + LEAF_PREFIX + pack(
                record.notification_id, record.originator_id.bytes,
                record.originator_version, len(topic),
            ) + topic + sha256(record.state).digest()
            if sha256(data).digest() != leaf.leaf_hash:
                self.mismatches.append((record, leaf))

    def _inserted_before(self, leaf: LeafRow) -> None:
        for nid in self.unsealed:
            self.failures.append(Failure(
                "event-inserted",
                f"notification {nid} lies inside the sealed log (before leaf "
                f"{leaf.leaf_index}) but was never sealed: an event was inserted",
            ))
        self.unsealed.clear()

    def classify_mismatches(self) -> None:
        """Tell a swap of two events apart from an altered one."""
        by_leaf = {leaf.leaf_index: leaf for _, leaf in self.mismatches}
        swapped: set[int] = set()
        if len(self.mismatches) <= 1_000:
            for record, leaf in self.mismatches:
                for other in by_leaf.values():
                    if other.leaf_index != leaf.leaf_index and leaf_hash_of(
                        StoredRecord(other.notification_id, record.originator_id,
                                     record.originator_version, record.topic, record.state)
                    ) == other.leaf_hash:
                        swapped.add(leaf.leaf_index)
        for record, leaf in self.mismatches:
            what = f"{record.topic} v{record.originator_version} of {record.originator_id}"
            if leaf.leaf_index in swapped:
                self.failures.append(Failure(
                    "events-swapped",
                    f"notification {record.notification_id} (leaf {leaf.leaf_index}) holds "
                    f"{what}, which was sealed at another position",
                ))
            else:
                self.failures.append(Failure(
                    "event-altered",
                    f"notification {record.notification_id} (leaf {leaf.leaf_index}, {what}): "
                    "the stored bytes do not match the sealed leaf hash",
                ))


def _rebuild_tree(
    db: LedgerDB, cur: Any, leaves: list[bytes], failures: list[Failure]
) -> list[list[bytes]]:
    """Step 3: every complete subtree, level by level, checked against the stored nodes."""
    levels = [leaves]
    sha256 = hashlib.sha256
    level = 0
    while len(levels[level]) > 1:
        below = levels[level]
        above = [
            sha256(b"\x01" + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)
        ]
        level += 1
        levels.append(above)
        stored = db.iter_nodes(cur, level)
        count = 0
        for idx, digest in stored:
            if idx >= len(above) or above[idx] != digest:
                failures.append(Failure(
                    "node-mismatch", f"stored tree node (level {level}, index {idx}) is wrong"
                ))
                if len(failures) > 100:
                    break
            count += 1
        if count != len(above):
            failures.append(Failure(
                "node-mismatch",
                f"level {level} holds {count} stored nodes where {len(above)} are expected",
            ))
    return levels


def _get_from(levels: list[list[bytes]]) -> Callable[[list[merkle.NodeRef]], dict[Any, bytes]]:
    def get(refs: list[merkle.NodeRef]) -> dict[Any, bytes]:
        return {(lv, i): levels[lv][i] for lv, i in refs}

    return get


def _check_anchors(
    anchors: list[_Anchor], levels: list[list[bytes]], failures: list[Failure]
) -> None:
    """Step 4: roots at each size, then consistency between successive checkpoints."""
    size = len(levels[0])
    get = _get_from(levels)
    seen: dict[int, _Anchor] = {}
    for anchor in anchors:
        cp = anchor.checkpoint
        if cp.size > size:
            kind = "rollback" if anchor.outside else "log-truncated"
            failures.append(Failure(
                kind,
                f"{anchor.where} signs a tree of {cp.size} leaves but the ledger holds only "
                f"{size}",
            ))
            continue
        if merkle.root(cp.size, get) != cp.root_hash:
            failures.append(Failure(
                "checkpoint-mismatch",
                f"{anchor.where}: the tree of the first {cp.size} leaves does not have the "
                "signed root (history was rewritten)",
            ))
            continue
        if cp.size in seen and seen[cp.size].checkpoint.root_hash != cp.root_hash:
            failures.append(Failure("fork", f"two signed roots for size {cp.size}"))
        seen[cp.size] = anchor
    ordered = sorted(seen.values(), key=lambda a: a.checkpoint.size)
    for old, new in zip(ordered, ordered[1:], strict=False):
        s1, s2 = old.checkpoint.size, new.checkpoint.size
        if s1 == 0:
            continue  # the empty tree is a prefix of every tree
        try:
            proof = merkle.consistency_proof(s1, s2, get)
            merkle.verify_consistency(
                s1, s2, proof, old.checkpoint.root_hash, new.checkpoint.root_hash
            )
        except merkle.ProofError as exc:
            failures.append(Failure(
                "checkpoints-inconsistent", f"{old.where} → {new.where}: {exc}"
            ))


def verify_store(
    db: LedgerDB,
    verifier: Verifier,
    outside_notes: Sequence[tuple[str, str]] = (),
    progress: Progress | None = None,
) -> StoreSummary:
    """Verify the whole store; raise ``StoreVerificationFailed`` listing every failure."""
    summary = StoreSummary()
    failures = summary.failures
    with db.read_transaction() as cur:
        rows = db.checkpoints(cur)
        notes: list[tuple[str, str, int | None]] = [
            (r.note, f"checkpoint #{r.tree_size} in the database", r.tree_size) for r in rows
        ]
        notes += [(note, where, None) for note, where in outside_notes]
        anchors = _open_anchors(notes, verifier, failures)
        summary.checkpoints = len(rows)
        summary.outside_checkpoints = len(outside_notes)
        if not anchors:
            failures.append(Failure(
                "no-checkpoint", "no valid signed checkpoint anchors this log"
            ))
        walk = _LeafWalk(failures)
        walk.run(_merge(_flatten(db.iter_records(cur)), _flatten(db.iter_leaves(cur))))
        walk.classify_mismatches()
        summary.events, summary.leaves = walk.events, len(walk.leaf_hashes)
        if progress:
            progress(summary.leaves, summary.leaves)
        if walk.unsealed:
            failures.append(Failure(
                "unsealed-events",
                f"{len(walk.unsealed)} event(s) after the last leaf are not sealed yet "
                f"(from notification {walk.unsealed[0]}); run 'scelle seal'",
            ))
        levels = _rebuild_tree(db, cur, walk.leaf_hashes, failures)
    _check_anchors(anchors, levels, failures)
    if failures:
        raise StoreVerificationFailed(failures)
    return summary
