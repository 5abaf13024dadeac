"""One chunk of ``verify store``: 2^17 leaves checked in C-level pipelines, in its own process.

The fast path expresses every per-event check as ``map``/``zip`` over whole columns and one
list comparison, so no Python bytecode runs per event. Only when a chunk disagrees does the
detailed walk (``tools.verify_walk``) run over it to say exactly what is wrong.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, methodcaller
from typing import Any

from evidence.ledger.leaf import HEADER, LEAF_PREFIX, StoredRecord
from evidence.ledger.store import BEFORE_ALL, LeafRow, LedgerDB
from evidence.ledger.tiles import TILE_HEIGHT, pair_up
from tools.verify_walk import Failure, LeafWalk, Mismatch

CHUNK_LEVEL = 17
CHUNK = 1 << CHUNK_LEVEL
#: Chunks hand back every node from this level up; below it, only the nodes asked for.
KEEP_LEVEL = 8

_digest = methodcaller("digest")
_sha256 = hashlib.sha256
_LEAF_HEAD = b"\x00" + LEAF_PREFIX
#: the RFC 9162 leaf prefix, the leaf input's own prefix and its header, packed at once
_HEAD = struct.Struct(f">{len(_LEAF_HEAD)}s{HEADER.format.lstrip('>')}")
_MISSING = bytes(32)


@dataclass
class ChunkResult:
    lo: int
    hi: int
    events: int = 0
    failures: list[Failure] = field(default_factory=list)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    #: events whose bytes differ from their leaf: classified across all chunks, since a swap
    #: may span two of them
    mismatches: list[Mismatch] = field(default_factory=list)


def _hashes(items: Any) -> list[bytes]:
    return list(map(_digest, map(_sha256, items)))


def verify_chunk(
    db: LedgerDB,
    lo: int,
    hi: int,
    needed: frozenset[tuple[int, int]],
    chunk_level: int = CHUNK_LEVEL,
) -> ChunkResult:
    """Verify leaves [lo, hi): their events, their chain links and the subtrees inside.

    The chunk hands back every node from ``min(KEEP_LEVEL, chunk_level)`` up to
    ``chunk_level`` (the caller builds the levels above from them), and below that only the
    nodes in ``needed``.
    """
    result = ChunkResult(lo, hi)
    with db.read_transaction() as cur:
        previous = db.leaf_before(cur, lo) if lo else None
        if lo and (previous is None or previous[0] != lo - 1):
            result.failures.append(Failure("ledger-gap", f"leaf {lo - 1} is missing"))
        after = previous[1] if previous else BEFORE_ALL
        chain0 = previous[3] if previous else bytes(32)
        columns = db.leaf_columns(cur, lo, hi)
        computed = None
        if columns is not None:
            nids, leaf_blob, chains = columns
            events = db.raw_events(cur, after, nids[-1] if nids else after)
            computed = _fast_path_holds(db, nids, leaf_blob, chains, events, chain0)
        if computed is not None:
            leaves = computed
        else:
            t_lo, t_hi = lo >> TILE_HEIGHT, ((hi - 1) >> TILE_HEIGHT) + 1
            for problem in db.malformed_entries(cur, t_lo, t_hi):
                result.failures.append(Failure("ledger-edited", problem))
            rows = db.raw_leaves(cur, lo, hi)
            _missing_leaves(lo, hi, rows, result.failures)
            events = db.raw_events(cur, after, rows[-1][1] if rows else after)
            _walk(db, rows, events, lo, chain0, result)
            leaves = _positioned(lo, hi, rows)
        result.events = len(events)
        _subtrees(lo, leaves, needed, chunk_level, result)
    return result


def _fast_path_holds(
    db: LedgerDB,
    nids: tuple[int, ...],
    leaf_blob: bytes,
    chains: list[bytes],
    events: list[Any],
    chain0: bytes,
) -> list[bytes] | None:
    """Every check of a chunk as whole-column operations: the recomputed leaf hashes if all
    hold (they then equal the stored ones, compared as one blob), None to run the walk."""
    if not events:
        return [] if not nids else None
    enids, oids, versions, topics, states = zip(*events, strict=True)
    if enids != nids or set(map(type, states)) != {bytes}:
        return None
    try:
        codes = {topic: str.encode(topic) for topic in set(topics)}  # a handful of topics
        encoded = list(map(codes.__getitem__, topics))
        oid_bytes = db.originator_column(oids)
        heads = map(_HEAD.pack, repeat(_LEAF_HEAD), enids, oid_bytes, versions, map(len, encoded))
        leaves = _hashes(map(b"".join, zip(heads, encoded, states, strict=True)))
    except (TypeError, ValueError, struct.error):
        return None  # a hostile row: the detailed walk says which one
    if b"".join(leaves) != leaf_blob:
        return None
    links = map(add, (chain0, *chains[:-1]), leaves)
    return leaves if _hashes(links) == chains else None


def _positioned(lo: int, hi: int, rows: list[Any]) -> list[bytes]:
    """Leaf hashes at their positions; a missing leaf (already reported) gets a placeholder
    so that the subtrees above keep their shape and the damage shows where it is."""
    hashes = [_MISSING] * (hi - lo)
    for index, _, leaf, _ in rows:
        if lo <= index < hi and len(leaf) == 32:
            hashes[index - lo] = leaf
    return hashes


def _missing_leaves(lo: int, hi: int, rows: list[Any], failures: list[Failure]) -> None:
    """Every index in [lo, hi) must have its row; a gap is reported where it is."""
    if len(rows) == hi - lo:
        return
    present = {r[0] for r in rows}
    missing = [i for i in range(lo, hi) if i not in present]
    for index in missing[:20]:
        failures.append(Failure("ledger-gap", f"leaf {index} is missing from the ledger"))


def _walk(
    db: LedgerDB,
    rows: list[Any],
    events: list[Any],
    lo: int,
    chain0: bytes,
    result: ChunkResult,
) -> None:
    records = []
    for nid, oid, version, topic, stored in events:
        try:
            originator = _uuid(db.originator_bytes(oid))
            if not isinstance(topic, str) or not isinstance(version, int):
                raise TypeError(f"topic {type(topic).__name__}, version {type(version).__name__}")
        except (TypeError, ValueError) as exc:
            result.failures.append(
                Failure("event-altered", f"notification {nid}: the stored row is malformed ({exc})")
            )
            continue
        state = stored
        if not isinstance(stored, bytes | bytearray | memoryview):
            # A state rewritten with another storage type is an alteration even if its
            # characters spell the same bytes: the application would no longer read it.
            result.failures.append(
                Failure(
                    "event-altered",
                    f"notification {nid}: the stored state is a {type(stored).__name__}, "
                    "not the bytes that were sealed",
                )
            )
            state = str(stored).encode("utf-8", "surrogateescape")
        records.append(StoredRecord(nid, originator, version, topic, bytes(state)))
    leaves = [LeafRow(r[0], r[1], bytes(r[2]), bytes(r[3])) for r in rows]
    walk = LeafWalk(result.failures, chain=chain0)
    walk.run(records, leaves)
    result.mismatches.extend(walk.mismatches)
    for nid in walk.unsealed:  # inside a chunk, an unsealed event lies within the sealed log
        result.failures.append(
            Failure(
                "event-inserted",
                f"notification {nid} lies inside the sealed log but was never sealed: "
                "an event was inserted",
            )
        )


def _uuid(raw: bytes) -> Any:
    from uuid import UUID

    return UUID(bytes=raw)


def _subtrees(
    lo: int,
    level_hashes: list[bytes],
    needed: frozenset[tuple[int, int]],
    chunk_level: int,
    result: ChunkResult,
) -> None:
    """Rebuild every complete subtree inside the chunk; hand back the nodes the caller needs
    (stored tiles above level 0 are compared by the caller, which sees whole tiles)."""
    keep = min(KEEP_LEVEL, chunk_level)
    level = 0
    current = level_hashes
    while True:
        base = lo >> level
        if level >= keep:
            result.nodes.update(((level, base + i), node) for i, node in enumerate(current))
        else:  # only the few nodes the checkpoints need, not one entry per leaf
            for lv, index in needed:
                if lv == level and 0 <= index - base < len(current):
                    result.nodes[(lv, index)] = current[index - base]
        if len(current) < 2 or level == chunk_level:
            return
        current = pair_up(current)
        level += 1
