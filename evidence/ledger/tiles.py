"""Tile arithmetic (after C2SP tlog-tiles): the tree stored 256 hashes to a row.

Tile level ``t`` holds the hashes of tree level ``8t``: tile (t, i) holds nodes
``[i*256, i*256 + width)`` of that level, concatenated. Any other complete node (level ``l``,
``8t < l < 8t+8``) is the root of ``2^(l-8t)`` consecutive hashes inside one tile, recomputed
on demand — at most 255 hashes per tile level, so a proof still costs O(log n) reads while
the store writes about one row per 256 leaves instead of one per leaf and one per node.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
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


class TileCache:
    """The internal levels of tiles, keyed by tile and width: the log only appends, so a tile
    of a given width never changes — and a full one is never even fetched again. Per
    process, bounded, least recently used out."""

    def __init__(self, capacity: int = 2_048) -> None:
        self.capacity = capacity
        self._levels: OrderedDict[tuple[TileRef, int], list[list[bytes]]] = OrderedDict()

    def get(self, tile: TileRef, width: int) -> list[list[bytes]] | None:
        levels = self._levels.get((tile, width))
        if levels is not None:
            self._levels.move_to_end((tile, width))
        return levels

    def levels(self, tile: TileRef, blob: bytes) -> list[list[bytes]]:
        width = len(blob) // HASH
        if (found := self.get(tile, width)) is not None:
            return found
        levels = [split(blob)]
        while len(levels[-1]) > 1:
            levels.append(pair_up(levels[-1]))  # an odd last hash has no parent yet
        self._levels[(tile, width)] = levels
        if len(self._levels) > self.capacity:
            self._levels.popitem(last=False)
        return levels


def nodes_from_tiles(
    refs: Iterable[NodeRef],
    fetch: Callable[[list[TileRef]], dict[TileRef, bytes]],
    cache: TileCache | None = None,
) -> dict[NodeRef, bytes]:
    """Compute the requested complete nodes from the tiles holding them, fetched at once."""
    cache = cache or TileCache()
    wanted = {ref: tile_of(ref) for ref in refs}
    found: dict[NodeRef, bytes] = {}
    for ref, (tile, first, count) in list(wanted.items()):
        if (levels := cache.get(tile, TILE_WIDTH)) is not None:  # full: no need to fetch
            height = count.bit_length() - 1
            found[ref] = levels[height][first >> height]
            del wanted[ref]
    tiles = fetch(sorted({tile for tile, _, _ in wanted.values()}))
    missing: list[NodeRef] = []
    for ref, (tile, first, count) in wanted.items():
        blob = tiles.get(tile, b"")
        height = count.bit_length() - 1
        if len(blob) % HASH or len(blob) < (first + count) * HASH:
            missing.append(ref)
            continue
        found[ref] = cache.levels(tile, blob)[height][first >> height]
    if missing:
        raise LookupError(f"ledger tiles missing for nodes {sorted(missing)[:5]}")
    return found
