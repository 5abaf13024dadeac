"""RFC 9162 §2.1 Merkle trees (SHA-256), shaped for a store of complete subtrees.

Why this shape: the ledger keeps every *complete* subtree node, addressed as
``(level, index)`` = the hash of leaves ``[index * 2**level, (index + 1) * 2**level)``
(level 0 holds the leaf hashes). A complete node never changes once the log has grown
past it, so it can be written once and trusted forever. Every hash the RFC needs -
a root, an inclusion path, a consistency path - is either such a node or the
right-to-left fold of a few of them (the ragged right edge of the tree). The *plan*
functions therefore say up front which nodes a computation needs, so a database can
fetch all of them in one query and every proof costs O(log n) reads.

Verification follows the sigstore / pyca style: it returns ``None`` or raises a
:class:`ProofError`, so a forgotten ``if`` can never turn a failed check into a pass.
Edge cases follow transparency-dev/merkle's ``proof`` package (see ``verify_consistency``).

Pure standard library, no I/O: the store is reached only through the ``get`` callable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeAlias

HASH_SIZE = 32
#: Root of the tree with no leaves, MTH({}) = SHA-256("") (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeRef: TypeAlias = tuple[int, int]
"""A stored complete subtree node: (level, index)."""

Getter: TypeAlias = Callable[[list[NodeRef]], dict[NodeRef, bytes]]
"""Fetches the given nodes in one round trip; must return every one of them."""


class ProofError(Exception):
    """A proof did not verify. One base class so callers can refuse every failure at once."""


class RootMismatch(ProofError):
    """The proof is well formed but leads to a different root: the log is not what was claimed."""


class MalformedProof(ProofError):
    """Wrong number of proof elements, or a hash of the wrong length."""


class IndexOutOfRange(ProofError, ValueError):
    """A leaf index outside the tree: nothing can prove it is included."""


class SizeError(ProofError, ValueError):
    """Tree sizes that no proof can relate (negative, shrinking, or from the empty tree)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH of one leaf. The 0x00 prefix keeps a leaf from passing for an inner node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an inner node; the 0x01 prefix separates it from leaves (second preimages)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold complete subtree hashes (left to right, sizes decreasing) into one root.

    The RFC tree splits at the largest power of two, so an incomplete subtree is its
    complete pieces combined from the right: H(a, H(b, c)). An empty list is the empty tree.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        acc = node_hash(hashes[i], acc)
    return acc


def _span(begin: int, end: int) -> list[NodeRef]:
    """Complete nodes covering leaves [begin, end), largest first.

    Correct whenever ``begin`` is aligned to the largest piece, which holds for every
    subtree that the RFC's recursion produces.
    """
    nodes: list[NodeRef] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def _path(index: int, size: int, from_level: int) -> list[list[NodeRef]]:
    """Siblings, bottom-up, of the ancestors of leaf ``index`` from ``from_level`` upwards.

    A left sibling is always complete. A right sibling may run past the end of the tree
    (then it is the ragged edge: several nodes), or lie wholly beyond it (then the RFC
    tree has no split at that level and the sibling is omitted).
    """
    plan: list[list[NodeRef]] = []
    for level in range(from_level, (size - 1).bit_length()):
        begin = ((index >> level) ^ 1) << level
        if begin < size:
            plan.append(_span(begin, min(begin + (1 << level), size)))
    return plan


def _check_size(size: int) -> None:
    if size < 0:
        raise SizeError(f"tree size {size} is negative")


def root_plan(size: int) -> list[NodeRef]:
    """The complete subtrees, left to right, whose fold is the root of ``size`` leaves."""
    _check_size(size)
    return _span(0, size)


def inclusion_plan(index: int, size: int) -> list[list[NodeRef]]:
    """Nodes to fold into each element of PATH(index, D[size]), in RFC 9162 order (bottom-up)."""
    _check_size(size)
    if not 0 <= index < size:
        raise IndexOutOfRange(f"leaf index {index} is outside a tree of size {size}")
    return _path(index, size, 0)


def consistency_plan(size1: int, size2: int) -> list[list[NodeRef]]:
    """Nodes to fold into each element of PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1).

    The proof is the last complete subtree of the old tree (omitted when the old tree is
    itself complete, since the verifier already holds its root) followed by that node's
    inclusion path in the new tree.
    """
    _check_size(size1)
    if not 0 < size1 <= size2:
        raise SizeError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        return []
    level = (size1 & -size1).bit_length() - 1  # the smallest piece of the old tree
    plan: list[list[NodeRef]] = []
    if size1 != 1 << level:
        plan.append([(level, (size1 >> level) - 1)])
    plan.extend(_path(size1 - 1, size2, level))
    return plan


def _materialise(plan: list[list[NodeRef]], get: Getter) -> list[bytes]:
    """Fetch every node of a plan in one call, then fold each element."""
    wanted = [ref for element in plan for ref in element]
    if not wanted:
        return []
    nodes = get(wanted)
    return [fold([nodes[ref] for ref in element]) for element in plan]


def root(size: int, get: Getter) -> bytes:
    """Root of the stored tree's first ``size`` leaves, in one fetch of O(log n) nodes."""
    plan = root_plan(size)
    if not plan:
        return EMPTY_ROOT
    nodes = get(plan)
    return fold([nodes[ref] for ref in plan])


def inclusion_proof(index: int, size: int, get: Getter) -> list[bytes]:
    """The RFC 9162 inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
    return _materialise(inclusion_plan(index, size), get)


def consistency_proof(size1: int, size2: int, get: Getter) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``size1`` leaves to ``size2``."""
    return _materialise(consistency_plan(size1, size2), get)


class Frontier:
    """The right border of a growing tree: the hashes of ``root_plan(size)``.

    It is all a sealer needs in memory to append leaves, emit the new complete nodes for
    the store and give the current root; it is rebuilt after a restart from the O(log n)
    nodes named by :meth:`plan`.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size)
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} border hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"border hashes must be {HASH_SIZE} bytes")
        self._size = size
        self._hashes = list(hashes)

    @staticmethod
    def plan(size: int) -> list[NodeRef]:
        """Nodes to load, in order, to rebuild the frontier of a stored tree of ``size``."""
        return root_plan(size)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The border hashes, left to right (a copy)."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the complete nodes it closes, as (level, index, hash).

        Leaf ``n`` closes one node per trailing one bit of ``n``: each merge pops the
        border's smallest subtree, its left sibling. Level-0 nodes (the leaf hash itself)
        are not returned; the caller already has them.
        """
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
        created: list[tuple[int, int, bytes]] = []
        acc, index, level = leaf, self._size, 0
        while index & 1:
            acc = node_hash(self._hashes.pop(), acc)
            index >>= 1
            level += 1
            created.append((level, index, acc))
        self._hashes.append(acc)
        self._size += 1
        return created

    def root(self) -> bytes:
        """Root of the tree as appended so far."""
        return fold(self._hashes)


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise MalformedProof(f"{what}[{i}] is {len(h)} bytes, want {HASH_SIZE}")


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` (RFC 9162 §2.1.3.2).

    Raises on a structurally bad proof; the caller still has to compare the root.
    """
    _check_size(size)
    # Step 1: leaf_index must lie inside the tree.
    if not 0 <= index < size:
        raise IndexOutOfRange(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes("leaf hash", [leaf])
    _check_hashes("proof", proof)
    # Step 2: fn follows the leaf, sn the last leaf of the tree.
    fn, sn = index, size - 1
    # Step 3.
    r = leaf
    # Step 4.
    for p in proof:
        # 4a: sn = 0 means we already reached the root: the proof is too long.
        if sn == 0:
            raise MalformedProof("inclusion proof has too many elements")
        # 4b: p is a left sibling, or we are on the right edge with no right sibling here.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)  # 4b.i
            while not fn & 1 and fn != 0:  # 4b.ii: climb the levels without a split
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)  # 4b "Otherwise" i
        # 4c.
        fn >>= 1
        sn >>= 1
    # Step 5 (first half): sn != 0 means the proof stopped short of the root.
    if sn != 0:
        raise MalformedProof("inclusion proof has too few elements")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf *hash*) is at ``index`` in the tree with ``root``.

    Returns None on success and raises a :class:`ProofError` on any failure.
    """
    calculated = root_from_inclusion_proof(leaf, index, size, proof)
    # Step 5 (second half): compare r against root_hash.
    if calculated != root:
        raise RootMismatch(f"inclusion proof gives root {calculated.hex()}, expected {root.hex()}")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (size2, root2) extends the tree (size1, root1), append-only.

    Semantics of transparency-dev/merkle's test probes, stricter than the RFC text:
    size1 > size2 fails; a proof *from* size 0 fails, even 0 -> 0, since it proves
    nothing and usually means the caller mixed up its checkpoints; size1 == size2 needs an
    empty proof and byte-equal roots. Returns None or raises a :class:`ProofError`.
    """
    _check_size(size1)
    _check_size(size2)
    if size1 > size2:
        raise SizeError(f"the tree shrank from {size1} to {size2} leaves")
    if size1 == 0:
        raise SizeError("a consistency proof from the empty tree proves nothing")
    _check_hashes("proof", proof)
    if size1 == size2:
        if proof:
            raise MalformedProof("equal sizes need an empty consistency proof")
        if root1 != root2:
            raise RootMismatch("same size but different roots")
        return
    fr, sr = _roots_from_consistency_proof(size1, size2, proof, root1)
    # Step 7 (second half): fr must be the old root and sr the new one.
    if fr != root1:
        raise RootMismatch(f"consistency proof gives old root {fr.hex()}, expected {root1.hex()}")
    if sr != root2:
        raise RootMismatch(f"consistency proof gives new root {sr.hex()}, expected {root2.hex()}")


def _roots_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """Steps 1 to 7 of RFC 9162 §2.1.4.2 for 0 < size1 < size2: the (old, new) roots."""
    # Step 1.
    if not proof:
        raise MalformedProof("empty consistency proof")
    # Step 2: an old tree of 2^k leaves is itself a node of the new tree; its root seeds us.
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    # Step 3.
    fn, sn = size1 - 1, size2 - 1
    # Step 4: skip the levels inside the old tree's last complete subtree.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5: fr rebuilds the old root, sr the new one.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        # 6a: sn = 0 means we already reached the new root: the proof is too long.
        if sn == 0:
            raise MalformedProof("consistency proof has too many elements")
        # 6b: c is a left sibling (part of both trees), or the old tree's right edge.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)  # 6b.i
            sr = node_hash(c, sr)  # 6b.ii
            while not fn & 1 and fn != 0:  # 6b.iii
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)  # 6b "Otherwise" i: c was appended after the old tree
        # 6c.
        fn >>= 1
        sn >>= 1
    # Step 7 (first half): sn != 0 means the proof stopped short of the new root.
    if sn != 0:
        raise MalformedProof("consistency proof has too few elements")
    return fr, sr
