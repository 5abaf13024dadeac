"""Tile arithmetic (after C2SP tlog-tiles): the tree stored 256 hashes to a row.

Tile level ``t`` holds the hashes of tree level ``8t``: tile (t, i) holds nodes
``[i*256, i*256 + width)`` of that level, concatenated. Any other complete node (level ``l``,
``8t < l < 8t+8``) is the root of ``2^(l-8t)`` consecutive hashes inside one tile, recomputed
on demand — at most 255 hashes per tile level, so a proof still costs O(log n) reads while
the store writes about one row per 256 leaves instead of one per leaf and one per node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import methodcaller

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH = 32

TileRef = tuple[int, int]  # (tile level, tile index)
NodeRef = tuple[int, int]  # (tree level, node index)

_digest = methodcaller("digest")


def pair_up(hashes: Sequence[bytes]) -> list[bytes]:
    """One tree level up: RFC 9162 node hashes of consecutive pairs, in C-level pipelines."""
    pairs = zip(repeat(b"\x01"), hashes[0::2], hashes[1::2])
    return list(map(_digest, map(hashlib.sha256, map(b"".join, pairs))))


def subtree_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a complete subtree given its 2^k lowest hashes."""
    level = list(hashes)
    while len(level) > 1:
        level = pair_up(level)
    return level[0]


def split(blob: bytes) -> list[bytes]:
    """A tile's blob into its hashes."""
    return [blob[i : i + HASH] for i in range(0, len(blob), HASH)]


def tile_of(ref: NodeRef) -> tuple[TileRef, int, int]:
    """Where a node's lowest hashes lie: tile, first position, how many (a power of two)."""
    level, index = ref
    t, h = divmod(level, TILE_HEIGHT)
    first = index << h
    return (t, first >> TILE_HEIGHT), first & (TILE_WIDTH - 1), 1 << h


def nodes_from_tiles(
    refs: Iterable[NodeRef], fetch: Callable[[list[TileRef]], dict[TileRef, bytes]]
) -> dict[NodeRef, bytes]:
    """Compute the requested complete nodes from the tiles holding them, fetched at once."""
    wanted = {ref: tile_of(ref) for ref in refs}
    tiles = fetch(sorted({tile for tile, _, _ in wanted.values()}))
    found: dict[NodeRef, bytes] = {}
    missing: list[NodeRef] = []
    for ref, (tile, first, count) in wanted.items():
        blob = tiles.get(tile, b"")
        if len(blob) < (first + count) * HASH:
            missing.append(ref)
            continue
        found[ref] = subtree_root(split(blob[first * HASH : (first + count) * HASH]))
    if missing:
        raise LookupError(f"ledger tiles missing for nodes {sorted(missing)[:5]}")
    return found


def completed_roots(
    size_before: int, hashes_after: Callable[[int], Sequence[bytes]], size_after: int
) -> list[tuple[int, bytes]]:
    """Tiles of one level completed between two sizes of that level: (tile index, root)."""
    done = []
    for tile in range(size_before // TILE_WIDTH, size_after // TILE_WIDTH):
        done.append((tile, subtree_root(hashes_after(tile))))
    return done
