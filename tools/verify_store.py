"""``scelle verify store``: recompute everything the ledger claims, from the stored bytes.

Steps (docs/FORMATS.md §6 describes the same ones):
  1. Open every checkpoint — in the database and held outside it — and check its signature.
  2. In chunks of 2^17 leaves, spread over the machine's cores: every sealed event must have
     its leaf (dense indices), every leaf its event, every leaf hash must be the hash of the
     event's leaf input, and every chain value must link to the previous one.
  3. Rebuild the whole tree from the leaf hashes and compare every stored tile above the
     leaves with it (the leaves' own tiles are checked by step 2); the tail runs must cover
     exactly the leaves after the last full tile.
  4. Compare each checkpoint's root with the rebuilt tree at its size, and check the
     consistency proof between successive checkpoints.
Any failure is reported with its own kind; verification never stops at a warning.
"""

from __future__ import annotations

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
from evidence.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, pair_up
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


def _upper_levels(nodes: NodeMap, chunk_level: int) -> None:
    """Step 3a: the levels above the chunks, from the chunks' roots."""
    level = chunk_level
    while True:
        below = sorted(i for lv, i in nodes if lv == level)
        if len(below) < 2:
            return
        above = pair_up([nodes[(level, i)] for i in range(len(below) - len(below) % 2)])
        level += 1
        nodes.update(((level, i), digest) for i, digest in enumerate(above))


def _check_tiles(
    db: LedgerDB, cur: Any, nodes: NodeMap, size: int, failures: list[Failure]
) -> None:
    """Step 3b: every stored tile above the leaves holds exactly the rebuilt tree's nodes."""
    stored = {(t, i): blob for t, i, blob in db.stored_tiles(cur, 1)}
    t = 1
    while (count := size >> (TILE_HEIGHT * t)) > 0:
        level = TILE_HEIGHT * t
        for index in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            hi = min((index + 1) * TILE_WIDTH, count)
            expected = b"".join(nodes.get((level, p), b"") for p in range(index * TILE_WIDTH, hi))
            found = stored.pop((t, index), None)
            if found != expected:
                state = "missing" if found is None else "wrong"
                failures.append(
                    Failure("node-mismatch", f"stored tile (level {t}, index {index}) is {state}")
                )
        t += 1
    leaf_tiles = set(db.leaf_tile_indices(cur))
    for index in sorted(leaf_tiles - set(range(size // TILE_WIDTH))):  # only full ones stored
        failures.append(Failure("node-mismatch", f"leaf tile {index} lies beyond the tree"))
    for t, index in sorted(stored):
        failures.append(
            Failure("node-mismatch", f"stored tile (level {t}, index {index}) lies beyond the tree")
        )


def _root_or_none(size: int, get: Any) -> bytes | None:
    try:
        return merkle.root(size, get)
    except LookupError:
        return None


def _check_anchors(
    anchors: list[_Anchor], size: int, nodes: NodeMap, failures: list[Failure]
) -> None:
    """Step 4: roots at each size, then consistency between successive checkpoints."""

    def get(refs: list[merkle.NodeRef]) -> NodeMap:
        missing = [ref for ref in refs if ref not in nodes]
        if missing:  # a ledger too damaged to rebuild: reported by the caller as a mismatch
            raise LookupError(f"tree nodes cannot be rebuilt: {missing[:3]}")
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
        elif _root_or_none(cp.size, get) != cp.root_hash:
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
            proof = merkle.consistency_proof(s1, s2, get)  # roots rebuilt above: nodes exist
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
    _upper_levels(nodes, chunk_level)  # 3
    with db.read_transaction() as cur:
        _check_tiles(db, cur, nodes, size, failures)
        failures.extend(Failure("ledger-edited", p) for p in db.malformed_tail(cur))
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
