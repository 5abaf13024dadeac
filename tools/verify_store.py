"""``scelle verify store``: recompute everything the ledger claims, from the stored bytes.

Steps (docs/FORMATS.md §6 describes the same ones):
  1. Open every checkpoint — in the database and held outside it — and check its signature.
  2. In chunks of 2^17 leaves, spread over the machine's cores: every sealed event must have
     its leaf (dense indices), every leaf its event, every leaf hash must be the hash of the
     event's leaf input, every chain value must link to the previous one, and every stored
     tree node inside the chunk must be the hash of its children.
  3. Rebuild the tree above the chunks, comparing the stored nodes there too.
  4. Compare each checkpoint's root with the rebuilt tree at its size, and check the
     consistency proof between successive checkpoints.
Any failure is reported with its own kind; verification never stops at a warning.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from evidence.ledger import merkle
from evidence.ledger.checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    OriginMismatch,
    open_checkpoint,
)
from evidence.ledger.note import MalformedNote, NoteError, Verifier
from evidence.ledger.store import BEFORE_ALL, LedgerDB
from tools.verify_chunk import CHUNK_LEVEL, KEEP_LEVEL, ChunkResult, verify_chunk
from tools.verify_walk import Failure, classify_mismatches

Progress = Callable[[int, int], None]
NodeMap = dict[tuple[int, int], bytes]

__all__ = ["Failure", "StoreSummary", "StoreVerificationFailed", "verify_store"]


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
        except (MalformedNote, MalformedCheckpoint, OriginMismatch) as exc:
            failures.append(Failure("checkpoint-malformed", f"{where}: {exc}"))
            continue
        except NoteError as exc:
            failures.append(Failure("checkpoint-signature", f"{where}: {exc}"))
            continue
        except ValueError as exc:
            failures.append(Failure("checkpoint-malformed", f"{where}: {exc}"))
            continue
        if expected is not None and checkpoint.size != expected:
            failures.append(Failure("ledger-edited", f"{where} is filed under the wrong size"))
        anchors.append(_Anchor(checkpoint, where, expected is None))
    return anchors


def _plans(sizes: list[int], tree_size: int) -> set[tuple[int, int]]:
    """Every node the checkpoint roots and consistency proofs will need."""
    refs: set[tuple[int, int]] = set()
    usable = sorted({s for s in sizes if s <= tree_size})
    for size in usable:
        refs.update(merkle.root_plan(size))
    for s1, s2 in itertools.pairwise(usable):
        if s1:
            refs.update(r for group in merkle.consistency_plan(s1, s2) for r in group)
    return refs


def _run_chunks(
    db: LedgerDB,
    size: int,
    needed: set[tuple[int, int]],
    workers: int,
    progress: Progress | None,
    chunk_level: int,
) -> list[ChunkResult]:
    chunk = 1 << chunk_level
    keep = min(KEEP_LEVEL, chunk_level)
    bounds = [(lo, min(lo + chunk, size)) for lo in range(0, size, chunk)]
    wanted = [
        frozenset(r for r in needed if r[0] < keep and lo <= r[1] << r[0] < hi) for lo, hi in bounds
    ]
    results: list[ChunkResult] = []
    if workers <= 1 or len(bounds) <= 1:
        for (lo, hi), want in zip(bounds, wanted, strict=True):
            results.append(verify_chunk(db, lo, hi, want, chunk_level))
            if progress:
                progress(hi, size)
        return results
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        futures = [
            pool.submit(verify_chunk, db, lo, hi, want, chunk_level)
            for (lo, hi), want in zip(bounds, wanted, strict=True)
        ]
        for future in futures:
            results.append(future.result())
            if progress:
                progress(results[-1].hi, size)
    return results


def _upper_levels(
    db: LedgerDB, cur: Any, nodes: NodeMap, failures: list[Failure], chunk_level: int
) -> None:
    """Step 3: the levels above the chunks, from the chunks' roots."""
    stored = {(lv, i): bytes(h) for lv, i, h in db.nodes_above(cur, chunk_level)}
    level = chunk_level
    while True:
        below = sorted(i for lv, i in nodes if lv == level)
        if len(below) < 2:
            break
        level += 1
        for i in range(len(below) // 2):
            digest = hashlib.sha256(
                b"\x01" + nodes[(level - 1, 2 * i)] + nodes[(level - 1, 2 * i + 1)]
            ).digest()
            nodes[(level, i)] = digest
            if stored.get((level, i)) != digest:
                failures.append(
                    Failure(
                        "node-mismatch", f"stored tree node (level {level}, index {i}) is wrong"
                    )
                )


def _check_anchors(
    anchors: list[_Anchor], size: int, nodes: NodeMap, failures: list[Failure]
) -> None:
    """Step 4: roots at each size, then consistency between successive checkpoints."""

    def get(refs: list[merkle.NodeRef]) -> NodeMap:
        return {ref: nodes[ref] for ref in refs}

    seen: dict[int, _Anchor] = {}
    for anchor in anchors:
        cp = anchor.checkpoint
        if cp.size > size:
            failures.append(
                Failure(
                    "rollback" if anchor.outside else "log-truncated",
                    f"{anchor.where} signs a tree of {cp.size} leaves but the ledger holds only "
                    f"{size}",
                )
            )
        elif merkle.root(cp.size, get) != cp.root_hash:
            failures.append(
                Failure(
                    "checkpoint-mismatch",
                    f"{anchor.where}: the tree of the first {cp.size} leaves does not have the "
                    "signed root (history was rewritten)",
                )
            )
        else:
            seen[cp.size] = anchor
    ordered = sorted(seen.values(), key=lambda a: a.checkpoint.size)
    for old, new in itertools.pairwise(ordered):
        s1, s2 = old.checkpoint.size, new.checkpoint.size
        if s1 in (0, s2):
            continue  # the empty tree is a prefix of every tree
        try:
            proof = merkle.consistency_proof(s1, s2, get)
            merkle.verify_consistency(
                s1, s2, proof, old.checkpoint.root_hash, new.checkpoint.root_hash
            )
        except merkle.ProofError as exc:
            failures.append(
                Failure("checkpoints-inconsistent", f"{old.where} → {new.where}: {exc}")
            )


def verify_store(
    db: LedgerDB,
    verifier: Verifier,
    outside_notes: Sequence[tuple[str, str]] = (),
    progress: Progress | None = None,
    workers: int | None = None,
    chunk_level: int = CHUNK_LEVEL,
) -> StoreSummary:
    """Verify the whole store; raise ``StoreVerificationFailed`` listing every failure."""
    summary = StoreSummary()
    failures = summary.failures
    with db.read_transaction() as cur:
        rows = db.checkpoints(cur)
        last = db.last_leaf(cur)
    size = 0 if last is None else last.leaf_index + 1
    notes: list[tuple[str, str, int | None]] = [
        (r.note, f"checkpoint #{r.tree_size} in the database", r.tree_size) for r in rows
    ]
    notes += [(note, where, None) for note, where in outside_notes]
    anchors = _open_anchors(notes, verifier, failures)  # 1
    summary.checkpoints, summary.outside_checkpoints = len(rows), len(outside_notes)
    if not anchors:
        failures.append(Failure("no-checkpoint", "no valid signed checkpoint anchors this log"))
    needed = _plans([a.checkpoint.size for a in anchors], size)
    results = _run_chunks(  # 2
        db, size, needed, workers or os.cpu_count() or 1, progress, chunk_level
    )
    nodes: NodeMap = {}
    for result in results:
        failures.extend(result.failures)
        nodes.update(result.nodes)
        summary.events += result.events
    classify_mismatches([m for r in results for m in r.mismatches], failures)
    summary.leaves = size
    with db.read_transaction() as cur:
        _upper_levels(db, cur, nodes, failures, chunk_level)  # 3
        unsealed, first = db.events_after(cur, BEFORE_ALL if last is None else last.notification_id)
    if unsealed:
        summary.events += unsealed
        failures.append(
            Failure(
                "unsealed-events",
                f"{unsealed} event(s) after the last leaf are not sealed yet (from notification "
                f"{first}); run 'scelle seal'",
            )
        )
    _check_anchors(anchors, size, nodes, failures)  # 4
    if failures:
        raise StoreVerificationFailed(failures)
    return summary
