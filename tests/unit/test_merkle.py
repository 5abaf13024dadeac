"""evidence.ledger.merkle against a naive reference written from RFC 9162 §2.1.

The reference below is the RFC's recursive MTH / PATH / PROOF over D[lo:hi], memoised
only so that thousands of sizes stay cheap. The module under test must agree with it
for every small tree (exhaustively) and for random larger ones (hypothesis), using only
the stored complete-subtree nodes, in one fetch of O(log n) nodes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.ledger import merkle
from evidence.ledger.merkle import NodeRef

N = 1100  # leaves available to every test
SMALL = 70  # sizes up to this are checked exhaustively
DATA = [f"event {i}".encode() for i in range(N + 2)]  # mutants may reach past N

# ------------------------------------------------------------------ RFC reference


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) (RFC 9162 §2.1.1)."""
    n = hi - lo
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + DATA[lo])
    k = _split(n)
    return _sha(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) (RFC 9162 §2.1.3.1)."""
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) (RFC 9162 §2.1.4.1)."""
    n = hi - lo
    if m == n:
        return [] if complete else [mth(lo, hi)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, complete), mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n])."""
    return ref_subproof(m, 0, n, True)


def ref_leaf(i: int) -> bytes:
    return mth(i, i + 1)


# Every complete subtree node of the N-leaf tree, as the store would hold it.
TABLE: dict[NodeRef, bytes] = {
    (level, index): mth(index << level, (index + 1) << level)
    for level in range(N.bit_length())
    for index in range(N >> level)
}


def fetcher(size: int) -> tuple[Callable[[list[NodeRef]], dict[NodeRef, bytes]], list[int]]:
    """A getter that only serves nodes that already existed when the tree had ``size``
    leaves, and records how many nodes each round trip asked for."""
    calls: list[int] = []

    def get(refs: list[NodeRef]) -> dict[NodeRef, bytes]:
        assert len(set(refs)) == len(refs), "duplicate node in one fetch"
        for level, index in refs:
            assert (index + 1) << level <= size, f"node {(level, index)} not complete at {size}"
        calls.append(len(refs))
        return {ref: TABLE[ref] for ref in refs}

    return get, calls


def assert_one_small_fetch(calls: list[int], size: int) -> None:
    assert len(calls) <= 1
    assert sum(calls) <= 2 * size.bit_length() + 1


# ------------------------------------------------------------------ hashing, roots


def test_hashes_are_rfc_9162() -> None:
    assert merkle.HASH_SIZE == 32
    assert _sha(b"") == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"abc") == _sha(b"\x00abc")
    assert merkle.node_hash(b"L", b"R") == _sha(b"\x01LR")
    assert merkle.fold([]) == merkle.EMPTY_ROOT
    assert merkle.fold([b"a"]) == b"a"
    assert merkle.fold([b"a", b"b", b"c"]) == _sha(b"\x01a" + _sha(b"\x01bc"))


def check_root(size: int) -> None:
    plan = merkle.root_plan(size)
    covered = 0  # the plan tiles [0, size) left to right with complete nodes
    for level, index in plan:
        assert index << level == covered
        covered += 1 << level
    assert covered == size
    get, calls = fetcher(size)
    assert merkle.root(size, get) == mth(0, size)
    assert_one_small_fetch(calls, size)


@pytest.mark.parametrize("size", range(SMALL + 1))
def test_root_small(size: int) -> None:
    check_root(size)


@given(st.integers(0, N))
def test_root_random(size: int) -> None:
    check_root(size)


# ------------------------------------------------------------------ inclusion


def inclusion_mutants(
    index: int, size: int, proof: list[bytes]
) -> Iterator[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """Ways to get an inclusion claim wrong: (what, leaf, index, size, proof, root)."""
    leaf, root = ref_leaf(index), mth(0, size)
    junk = _sha(b"junk")
    for i, p in enumerate(proof):
        for bit in (0, 7 + 8 * i):
            flipped = bytearray(p)
            flipped[bit // 8 % 32] ^= 1 << bit % 8
            yield (
                f"flip bit {bit} of [{i}]",
                leaf,
                index,
                size,
                _put(proof, i, bytes(flipped)),
                root,
            )
        yield f"drop [{i}]", leaf, index, size, proof[:i] + proof[i + 1 :], root
        yield f"short [{i}]", leaf, index, size, _put(proof, i, p[:31]), root
    for i in range(len(proof) + 1):
        yield f"insert at {i}", leaf, index, size, [*proof[:i], junk, *proof[i:]], root
    if proof:
        yield "duplicate last", leaf, index, size, [*proof, proof[-1]], root
    for other in {index - 1, index + 1, index ^ 1, index ^ 2, size, -1} - {index}:
        yield f"index {other}", leaf, other, size, proof, root
    for other in {size - 1, size + 1, size * 2, size // 2, 0} - {size}:
        if other <= N:
            yield f"size {other}", leaf, index, other, proof, mth(0, other)
    yield "wrong leaf", ref_leaf((index + 1) % N), index, size, proof, root
    yield "leaf data, not hash", DATA[index], index, size, proof, root
    yield "empty root", leaf, index, size, proof, merkle.EMPTY_ROOT
    yield "root of size+1", leaf, index, size, proof, mth(0, size + 1)


def _put(items: list[bytes], i: int, value: bytes) -> list[bytes]:
    return [*items[:i], value, *items[i + 1 :]]


def check_inclusion(index: int, size: int, mutate: bool) -> None:
    get, calls = fetcher(size)
    proof = merkle.inclusion_proof(index, size, get)
    assert proof == ref_path(index, 0, size)
    assert len(merkle.inclusion_plan(index, size)) == len(proof)
    assert_one_small_fetch(calls, size)
    merkle.verify_inclusion(ref_leaf(index), index, size, proof, mth(0, size))
    assert merkle.root_from_inclusion_proof(ref_leaf(index), index, size, proof) == mth(0, size)
    if mutate:
        for what, leaf, idx, sz, prf, root in inclusion_mutants(index, size, proof):
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(leaf, idx, sz, prf, root)
                pytest.fail(f"accepted: {what}")


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_inclusion_small(size: int) -> None:
    for index in range(size):
        check_inclusion(index, size, mutate=True)


@settings(deadline=None)
@given(st.integers(1, N).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_inclusion_random(pair: tuple[int, int]) -> None:
    check_inclusion(*pair, mutate=True)


def test_inclusion_bad_arguments() -> None:
    leaf = ref_leaf(0)
    for index, size in [(0, 0), (1, 1), (5, 3), (-1, 4)]:
        with pytest.raises(merkle.IndexOutOfRange):
            merkle.inclusion_plan(index, size)
        with pytest.raises(merkle.IndexOutOfRange):
            merkle.verify_inclusion(leaf, index, size, [], leaf)
    with pytest.raises(merkle.SizeError):
        merkle.verify_inclusion(leaf, 0, -1, [], leaf)
    with pytest.raises(merkle.MalformedProof):  # a 1-leaf tree whose root is a short string
        merkle.verify_inclusion(b"short", 0, 1, [], b"short")
    assert issubclass(merkle.IndexOutOfRange, ValueError)


# ------------------------------------------------------------------ consistency


def consistency_mutants(
    size1: int, size2: int, proof: list[bytes]
) -> Iterator[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """Ways to get a consistency claim wrong: (what, size1, size2, proof, root1, root2)."""
    root1, root2 = mth(0, size1), mth(0, size2)
    junk = _sha(b"junk")
    for i, p in enumerate(proof):
        for bit in (0, 255 - i):
            flipped = bytearray(p)
            flipped[bit // 8] ^= 1 << bit % 8
            yield (
                f"flip bit {bit} of [{i}]",
                size1,
                size2,
                _put(proof, i, bytes(flipped)),
                root1,
                root2,
            )
        yield f"drop [{i}]", size1, size2, proof[:i] + proof[i + 1 :], root1, root2
        yield f"short [{i}]", size1, size2, _put(proof, i, p[:31]), root1, root2
    for i in range(len(proof) + 1):
        yield f"insert at {i}", size1, size2, [*proof[:i], junk, *proof[i:]], root1, root2
    yield "prepend root1", size1, size2, [root1, *proof], root1, root2
    yield "append root2", size1, size2, [*proof, root2], root1, root2
    for other in {size1 - 1, size1 + 1, size1 ^ 2, size1 * 2, 0} - {size1}:
        if 0 <= other <= N:
            yield f"size1 {other}", other, size2, proof, mth(0, other), root2
    for other in {size2 - 1, size2 + 1, size2 * 2, size2 // 2} - {size2}:
        if other <= N:
            yield f"size2 {other}", size1, other, proof, root1, mth(0, other)
    yield "swapped roots", size1, size2, proof, root2, root1
    yield "swapped sizes", size2, size1, proof, root2, root1
    yield "wrong root1", size1, size2, proof, mth(1, size1 + 1), root2
    yield "wrong root2", size1, size2, proof, root1, mth(1, size2 + 1)


def check_consistency(size1: int, size2: int, mutate: bool) -> None:
    get, calls = fetcher(size2)
    proof = merkle.consistency_proof(size1, size2, get)
    assert proof == ref_proof(size1, size2)
    assert len(merkle.consistency_plan(size1, size2)) == len(proof)
    assert_one_small_fetch(calls, size2)
    merkle.verify_consistency(size1, size2, proof, mth(0, size1), mth(0, size2))
    if mutate:
        for what, s1, s2, prf, r1, r2 in consistency_mutants(size1, size2, proof):
            if (s1, s2, r1, r2) == (size1, size1, mth(0, size1), mth(0, size1)) and not prf:
                continue  # a mutation that happens to be the (valid) trivial claim
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(s1, s2, prf, r1, r2)
                pytest.fail(f"accepted: {what}")


@pytest.mark.parametrize("size2", range(1, SMALL + 1))
def test_consistency_small(size2: int) -> None:
    for size1 in range(1, size2 + 1):
        check_consistency(size1, size2, mutate=True)


@settings(deadline=None)
@given(st.integers(1, N).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_consistency_random(pair: tuple[int, int]) -> None:
    check_consistency(*pair, mutate=True)


def test_consistency_edge_semantics() -> None:
    """transparency-dev/merkle's rules, which the vectors pin down."""
    r3, r5 = mth(0, 3), mth(0, 5)
    empty = merkle.EMPTY_ROOT
    for size2 in (0, 1, 5):  # nothing is provable from the empty tree, not even 0 -> 0
        with pytest.raises(merkle.SizeError):
            merkle.verify_consistency(0, size2, [], empty, mth(0, size2))
    with pytest.raises(merkle.SizeError):
        merkle.verify_consistency(5, 3, [], r5, r3)
    merkle.verify_consistency(3, 3, [], r3, r3)
    with pytest.raises(merkle.MalformedProof):
        merkle.verify_consistency(3, 3, [r3], r3, r3)
    with pytest.raises(merkle.RootMismatch):
        merkle.verify_consistency(3, 3, [], r3, r5)
    with pytest.raises(merkle.MalformedProof):
        merkle.verify_consistency(3, 5, [], r3, r5)
    assert merkle.consistency_plan(4, 4) == []
    for size1, size2 in [(0, 0), (0, 4), (5, 4), (-1, 2)]:
        with pytest.raises(merkle.SizeError):
            merkle.consistency_plan(size1, size2)


# ------------------------------------------------------------------ frontier


def test_frontier_matches_reference_while_growing() -> None:
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.EMPTY_ROOT
    emitted: dict[NodeRef, bytes] = {}
    for i in range(N):
        emitted[(0, i)] = ref_leaf(i)
        for level, index, h in frontier.append(ref_leaf(i)):
            assert level >= 1 and (level, index) not in emitted
            emitted[(level, index)] = h
        assert frontier.size == i + 1
        assert frontier.root() == mth(0, i + 1)
        assert list(frontier.hashes) == [TABLE[r] for r in merkle.Frontier.plan(i + 1)]
    assert emitted == TABLE  # exactly every complete node, each once


def check_rebuilt_frontier(size: int, extra: int) -> None:
    frontier = merkle.Frontier(size, [TABLE[r] for r in merkle.Frontier.plan(size)])
    assert frontier.size == size
    assert frontier.root() == mth(0, size)
    for i in range(size, min(size + extra, N)):
        for level, index, h in frontier.append(ref_leaf(i)):
            assert TABLE[(level, index)] == h
        assert frontier.root() == mth(0, i + 1)


@pytest.mark.parametrize("size", range(SMALL + 1))
def test_frontier_rebuilt_small(size: int) -> None:
    check_rebuilt_frontier(size, extra=SMALL)


@given(st.integers(0, N), st.integers(1, 300))
def test_frontier_rebuilt_random(size: int, extra: int) -> None:
    check_rebuilt_frontier(size, extra)


def test_frontier_rejects_bad_state() -> None:
    with pytest.raises(ValueError):
        merkle.Frontier(3, [ref_leaf(0)])  # 3 leaves have 2 border hashes
    with pytest.raises(ValueError):
        merkle.Frontier(1, [b"short"])
    with pytest.raises(ValueError):
        merkle.Frontier().append(b"not a hash")


def test_frontier_million_appends_is_fast_and_right() -> None:
    n = 1_000_000
    leaf = merkle.leaf_hash(b"same")
    frontier = merkle.Frontier()
    created = 0
    started = time.perf_counter()
    for _ in range(n):
        created += len(frontier.append(leaf))
    elapsed = time.perf_counter() - started
    # Independent answer: a complete subtree of 2^k identical leaves hashes to c[k].
    complete = [leaf]
    for _ in range(n.bit_length()):
        complete.append(_sha(b"\x01" + complete[-1] + complete[-1]))
    border = [complete[k] for k in reversed(range(n.bit_length())) if n >> k & 1]
    assert frontier.root() == merkle.fold(border)
    assert created == n - n.bit_count()  # a tree of n leaves has n - popcount(n) inner nodes
    assert elapsed < 30, f"1e6 appends took {elapsed:.1f}s"
