"""docs/FORMATS.md §7, recomputed from the page alone, so the document cannot drift.

The worked example's blocks are found by their ``<!-- example:NAME -->`` markers (each
followed by one fenced block) and every hash and signature in them is recomputed with a
small, independent implementation written here from the page's own rules: ``hashlib`` and
``cryptography`` only, the RFC 9162 definitions (MTH, PATH, PROOF) written recursively, the
RFC's iterative verifiers, and the storage rules of §2.1 and §3.2 (entries rows and tiles)
written from the definition of a complete node. Nothing from ``evidence`` is used for that;
only the last tests (``test_project_code_…``) import the project's code, to check that it
agrees — including the very rows it stores and the tables it creates.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "FORMATS.md"
BLOCK = re.compile(r"<!-- example:([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```\n", re.DOTALL)
SCHEMA = re.compile(r"<!-- schema:([a-z0-9-]+) -->\n```sql\n(.*?)\n```\n", re.DOTALL)
EXAMPLE_BLOCKS = {
    "log-key",
    "stored-events",
    "leaf-input",
    "leaves",
    "tail",
    "node",
    "roots",
    "checkpoint-0",
    "checkpoint-2",
    "checkpoint-3",
    "inclusion-proof",
    "consistency-proof",
}
#: §1.2: the fixed part of a leaf input, (field, offset, length).
LEAF_LAYOUT = [
    ("prefix", 0, 15),
    ("notification_id", 15, 8),
    ("originator_id", 23, 16),
    ("originator_version", 39, 8),
    ("topic_length", 47, 2),
    ("topic", 49, None),
    ("state", None, None),
]
EM_DASH = "\u2014 "
ED25519 = b"\x01"  # signature type byte (§4.1)
#: §0 and §3.2: a tile holds 2^8 = 256 hashes (or entries), tile level t holds tree level 8t.
TILE_HEIGHT = 8
TILE_WIDTH = 256
#: §3.2: the larger tree whose tiles the page tabulates.
LAYOUT_SIZE = 70_000


class Rejected(Exception):
    """The mini-verifier refused a proof."""


# ------------------------------------------------------------------ reading the page
def _blocks() -> dict[str, str]:
    found: dict[str, str] = {}
    for name, body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        assert name not in found, f"two example blocks are named {name!r}"
        found[name] = body + "\n"  # the fence swallows the last LF of the text
    return found


@pytest.fixture(scope="module")
def doc() -> dict[str, str]:
    return _blocks()


def _labelled(text: str) -> dict[str, str]:
    """``label: value`` lines; the value starts after the colon and the aligning spaces."""
    out = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        assert sep, f"not a 'label: value' line: {line!r}"
        out[label.strip()] = value.lstrip(" ")
    return out


def _fields(text: str) -> dict[str, list[str]]:
    """``label: value`` lines where a value may continue on the lines below (indented)."""
    out: dict[str, list[str]] = {}
    last = ""
    for line in text.splitlines():
        if line.startswith(" "):
            assert last, f"a continuation line without a label: {line!r}"
            out[last].append(line.strip())
            continue
        label, sep, value = line.partition(":")
        assert sep, f"not a 'label: value' line: {line!r}"
        last = label.strip()
        out[last] = [value.strip()]
    return out


def _records(text: str) -> list[dict[str, list[str]]]:
    """Blank-line separated groups of ``_fields``."""
    return [_fields(chunk) for chunk in text.strip("\n").split("\n\n")]


def _hex_items(lines: list[str], size: int) -> bytes:
    """A blob shown one item of ``size`` bytes a line: the column holds the concatenation."""
    items = [bytes.fromhex(line) for line in lines]
    assert all(len(item) == size for item in items), f"items of {size} bytes expected"
    return b"".join(items)


@pytest.fixture(scope="module")
def doc_runs(doc: dict[str, str]) -> list[tuple[int, bytes, bytes, bytes]]:
    """The ``scelle_ledger_tail`` rows of §7.5: (first_leaf, nids, leaf_hashes, chains)."""
    rows = []
    for f in _records(doc["tail"]):
        assert set(f) == {"first_leaf", "nids", "leaf_hashes", "chains"}
        rows.append(
            (
                int(f["first_leaf"][0]),
                _hex_items(f["nids"], 8),
                _hex_items(f["leaf_hashes"], 32),
                _hex_items(f["chains"], 32),
            )
        )
    return rows


def expand_runs(
    runs: list[tuple[int, bytes, bytes, bytes]],
) -> list[tuple[int, int, bytes, bytes]]:
    """§2.1: leaf s + r of the run ``first_leaf = s`` is bytes [8r, 8r + 8) of its nids and
    [32r, 32r + 32) of its leaf hashes and chain values; runs follow each other."""
    leaves = []
    for first, nids, hashes, chains in runs:
        width = len(nids) // 8
        assert width >= 1 and len(nids) == 8 * width
        assert len(hashes) == len(chains) == 32 * width
        assert not leaves or leaves[-1][0] == first - 1  # each run starts where the last ended
        leaves += [
            (
                first + r,
                int.from_bytes(nids[8 * r : 8 * r + 8], "big"),
                hashes[32 * r : 32 * r + 32],
                chains[32 * r : 32 * r + 32],
            )
            for r in range(width)
        ]
    return leaves


@pytest.fixture(scope="module")
def doc_tail(
    doc_runs: list[tuple[int, bytes, bytes, bytes]],
) -> list[tuple[int, int, bytes, bytes]]:
    """The tail's leaves, one (leaf, nid, leaf_hash, chain) each, read from its runs."""
    return expand_runs(doc_runs)


def logical_tiles(
    stored: dict[tuple[int, int], bytes], tail: list[tuple[int, int, bytes, bytes]], full: int
) -> dict[tuple[int, int], bytes]:
    """§3.2: the tiles of the tree are the stored tile rows plus, when the tail is not empty,
    the partial level-0 tile ``(0, full)``: the tail rows' leaf hashes in leaf order."""
    tiles = dict(stored)
    if tail:
        assert [r[0] for r in tail] == list(range(full * TILE_WIDTH, full * TILE_WIDTH + len(tail)))
        tiles[(0, full)] = b"".join(r[2] for r in tail)
    return tiles


@pytest.fixture(scope="module")
def doc_tiles(doc_tail: list[tuple[int, int, bytes, bytes]]) -> dict[tuple[int, int], bytes]:
    """The tiles as §7.5's rows give them: no tile row yet (no group of 256 is full), so the
    only tile is the partial level-0 tile made of the tail rows."""
    return logical_tiles({}, doc_tail, 0)


def _md_table(name: str) -> list[list[str]]:
    """The body cells of the Markdown table after ``<!-- table:NAME -->``."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split(f"<!-- table:{name} -->\n", 1)[1].split("\n\n", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def _pair(cell: str) -> tuple[int, int]:
    m = re.fullmatch(r"\((\d+), (\d+)\)", cell)
    assert m, cell
    return int(m[1]), int(m[2])


def _range(cell: str) -> tuple[int, int]:
    """``a … b`` (or ``a to b``), both included."""
    m = re.fullmatch(r"(\d+) (?:…|to) (\d+)", cell)
    assert m, cell
    return int(m[1]), int(m[2])


@dataclass(frozen=True)
class Row:
    nid: int
    originator_hex: str
    version: int
    topic: str
    state: bytes


@pytest.fixture(scope="module")
def key(doc: dict[str, str]) -> dict[str, str]:
    return _labelled(doc["log-key"])


@pytest.fixture(scope="module")
def rows(doc: dict[str, str]) -> list[Row]:
    out = []
    for record in doc["stored-events"].strip("\n").split("\n\n"):
        f = _labelled(record)
        out.append(
            Row(
                int(f["notification_id"]),
                f["originator_id"],
                int(f["originator_version"]),
                f["topic"],
                f["state"].encode("utf-8"),
            )
        )
    return out


@pytest.fixture(scope="module")
def leaves(doc: dict[str, str]) -> list[tuple[int, int, bytes, bytes]]:
    out = []
    for line in doc["leaves"].splitlines()[1:]:
        index, nid, leaf, chain = line.split()
        out.append((int(index), int(nid), bytes.fromhex(leaf), bytes.fromhex(chain)))
    return out


@pytest.fixture(scope="module")
def leaf_hashes(leaves: list[tuple[int, int, bytes, bytes]]) -> list[bytes]:
    return [leaf for _, _, leaf, _ in leaves]


def _table(text: str, columns: int) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[1:] if len(line.split()) == columns]


def _leaf_input_table(text: str) -> tuple[list[tuple[int, int, str, bytes]], int]:
    """(offset, length, field, bytes) per field, and the end offset."""
    fields: list[tuple[int, int, str, str]] = []
    end = -1
    for line in text.splitlines()[1:]:
        if m := re.fullmatch(r"\s*(\d+)\s+(\d+)\s+([a-z_]+)\s+([0-9a-f]*)", line):
            fields.append((int(m[1]), int(m[2]), m[3], m[4]))
        elif m := re.fullmatch(r"\s+([0-9a-f]+)", line):
            offset, length, name, hex_text = fields[-1]
            fields[-1] = (offset, length, name, hex_text + m[1])
        elif m := re.fullmatch(r"\s*(\d+)\s+\(end\)", line):
            end = int(m[1])
        else:
            raise AssertionError(f"unexpected line in the leaf-input table: {line!r}")
    return [(o, n, name, bytes.fromhex(h)) for o, n, name, h in fields], end


# ------------------------------------------------------------------ the mini-implementation
def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    """§0: standard alphabet, padded, canonical."""
    raw = base64.b64decode(text, validate=True)
    assert b64(raw) == text, f"non-canonical base64 {text!r}"
    return raw


def leaf_input(row: Row) -> bytes:
    """§1.2, from the table, with int.to_bytes rather than the code's struct format."""
    topic = row.topic.encode("utf-8")
    return (
        b"scelle/leaf/v1\n"
        + row.nid.to_bytes(8, "big")
        + bytes.fromhex(row.originator_hex)
        + row.version.to_bytes(8, "big")
        + len(topic).to_bytes(2, "big")
        + topic
        + row.state
    )


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, recursively, over leaf hashes."""
    if not hashes:
        return sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return node(mth(hashes[:k]), mth(hashes[k:]))


def complete_nodes(hashes: list[bytes], level: int) -> list[bytes]:
    """§3.2: the ``n >> level`` complete nodes of a tree level, each the MTH of its leaves."""
    return [mth(hashes[k << level : (k + 1) << level]) for k in range(len(hashes) >> level)]


def tiles_of(hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    """§3.2, from the definition of a node: tile (t, i) holds nodes [256i, 256i + w) of tree
    level 8t, for every i with 256i < m_t = n >> 8t; no other tile exists."""
    tiles = {}
    t = 0
    while nodes := complete_nodes(hashes, TILE_HEIGHT * t):
        for i in range(0, len(nodes), TILE_WIDTH):
            tiles[(t, i // TILE_WIDTH)] = b"".join(nodes[i : i + TILE_WIDTH])
        t += 1
    return tiles


def entries_of(nids: list[int], chains: list[bytes]) -> dict[int, tuple[int, bytes, bytes]]:
    """§2.1: row ``tile = i`` holds leaves [256i, 256i + w): first id, u64 ids, chain values."""
    rows = {}
    for i in range(0, len(nids), TILE_WIDTH):
        ids = nids[i : i + TILE_WIDTH]
        rows[i // TILE_WIDTH] = (
            ids[0],
            b"".join(n.to_bytes(8, "big") for n in ids),
            b"".join(chains[i : i + TILE_WIDTH]),
        )
    return rows


def node_place(level: int, idx: int) -> tuple[tuple[int, int], int, int]:
    """§3.2: the tile holding node (l, k)'s lowest hashes, the first position, how many."""
    t, h = divmod(level, TILE_HEIGHT)
    first = idx * 2**h
    return (t, first // TILE_WIDTH), first % TILE_WIDTH, 2**h


def node_from_tiles(tiles: dict[tuple[int, int], bytes], level: int, idx: int) -> bytes:
    """§3.2: any complete node, the MTH of 2^h consecutive hashes of one tile."""
    tile, p, count = node_place(level, idx)
    part = tiles[tile][32 * p : 32 * (p + count)]
    assert len(part) == 32 * count, f"tile {tile} does not hold node ({level}, {idx})"
    return mth([part[i : i + 32] for i in range(0, len(part), 32)])


def pieces(n: int) -> list[tuple[int, int]]:
    """§3.3: the complete nodes c_0, c_1, … of the tree of size n, left to right."""
    out, start = [], 0
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def right_fold(hashes: list[bytes]) -> bytes:
    """§3.3: H(0x01 ‖ c_0 ‖ H(0x01 ‖ c_1 ‖ … )), the empty tree being H("")."""
    if not hashes:
        return sha256(b"")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node(h, acc)
    return acc


def synthetic_leaves(n: int) -> list[bytes]:
    return [sha256(i.to_bytes(8, "big")) for i in range(n)]


@dataclass(frozen=True)
class Larger:
    """The tree of §3.2's tables: synthetic leaves and their tiles, by the rules alone."""

    leaves: list[bytes]
    tiles: dict[tuple[int, int], bytes]


@pytest.fixture(scope="module")
def larger() -> Larger:
    leaves = synthetic_leaves(LAYOUT_SIZE)
    return Larger(leaves, tiles_of(leaves))


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), recursively."""
    if len(hashes) == 1:
        return []
    k = split_point(len(hashes))
    if m < k:
        return [*path(m, hashes[:k]), mth(hashes[k:])]
    return [*path(m - k, hashes[k:]), mth(hashes[:k])]


def subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), recursively."""
    n = len(hashes)
    if m == n:
        return [] if whole else [mth(hashes)]
    k = split_point(n)
    if m <= k:
        return [*subproof(m, hashes[:k], whole), mth(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2, as written in FORMATS.md §3.4."""
    if not 0 <= index < size:
        raise Rejected("index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Rejected("too many proof elements")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise Rejected("proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2 with the edge cases of FORMATS.md §3.5."""
    if size1 > size2 or size1 == 0:
        raise Rejected("sizes no proof can relate")
    if size1 == size2:
        if proof or root1 != root2:
            raise Rejected("equal sizes need no proof and equal roots")
        return
    if not proof:
        raise Rejected("empty proof")
    hashes = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise Rejected("too many proof elements")
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != root1 or sr != root2:
        raise Rejected("proof does not lead to the roots")


@dataclass(frozen=True)
class Note:
    text: str
    signatures: list[tuple[str, bytes]]  # (key name, decoded key ID + signature)


def split_note(note: str) -> Note:
    """§4.2: the text ends at the last blank line; then '— name base64' lines."""
    assert note.endswith("\n")
    cut = note.rfind("\n\n")
    assert cut > 0, "no blank line"
    text, block = note[: cut + 1], note[cut + 2 :]
    signatures = []
    for line in block.removesuffix("\n").split("\n"):
        assert line.startswith(EM_DASH), line
        name, _, sig = line.removeprefix(EM_DASH).partition(" ")
        signatures.append((name, unb64(sig)))
    return Note(text, signatures)


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """§4.1-4.4: verify with the vkey, then parse origin, size and root."""
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    material = unb64(key_b64)
    assert material[:1] == ED25519 and len(material) == 33
    public = Ed25519PublicKey.from_public_bytes(material[1:])
    parsed = split_note(note)
    ours = [sig for signer, sig in parsed.signatures if signer == name]
    assert len(ours) == 1
    assert ours[0][:4].hex() == key_id_hex
    assert len(ours[0]) == 4 + 64
    public.verify(ours[0][4:], parsed.text.encode("utf-8"))  # raises InvalidSignature
    origin, size, root = parsed.text.removesuffix("\n").split("\n")
    assert origin == name, "Scellé: the origin is the key name"
    assert re.fullmatch(r"0|[1-9][0-9]*", size)
    return origin, int(size), unb64(root)


@dataclass(frozen=True)
class InclusionFile:
    extra: bytes
    index: int
    hashes: list[bytes]
    note: str


def parse_inclusion(text: str) -> InclusionFile:
    """§5.1, line by line."""
    head, extra, index, *rest = text.split("\n")
    assert head == "c2sp.org/tlog-proof@v1"
    assert extra.startswith("extra ") and index.startswith("index ")
    blank = rest.index("")
    hashes = [unb64(line) for line in rest[:blank]]
    assert all(len(h) == 32 for h in hashes)
    assert re.fullmatch(r"0|[1-9][0-9]*", index.removeprefix("index "))
    note = "\n".join(rest[blank + 1 :])
    return InclusionFile(unb64(extra.removeprefix("extra ")), int(index[6:]), hashes, note)


@dataclass(frozen=True)
class ConsistencyFile:
    old: int
    new: int
    hashes: list[bytes]
    note: str


def parse_consistency(text: str) -> ConsistencyFile:
    """§5.2, line by line."""
    head, old, new, *rest = text.split("\n")
    assert head == "scelle.fr/tlog-consistency@v1"
    assert old.startswith("old ") and new.startswith("new ")
    blank = rest.index("")
    hashes = [unb64(line) for line in rest[:blank]]
    assert all(len(h) == 32 for h in hashes)
    return ConsistencyFile(int(old[4:]), int(new[4:]), hashes, "\n".join(rest[blank + 1 :]))


def _row(rows: list[Row], nid: int) -> Row:
    return next(r for r in rows if r.nid == nid)


# ------------------------------------------------------------------ the example, recomputed
def test_the_page_holds_every_example_block_once(doc: dict[str, str]) -> None:
    assert set(doc) == EXAMPLE_BLOCKS


def test_the_example_key_is_the_public_fixed_seed_and_its_key_id_derives_as_documented(
    key: dict[str, str],
) -> None:
    seed = bytes.fromhex(key["seed"])
    assert seed == bytes(range(32))
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert public.hex() == key["public key"]
    name = key["key name"]
    assert name.startswith("scelle.local/")
    id_input = name.encode("utf-8") + b"\n" + ED25519 + public
    assert id_input.hex() == key["key id input"]
    assert sha256(id_input).hex() == key["key id sha256"]
    assert sha256(id_input)[:4].hex() == key["key id"]
    assert key["vkey"] == f"{name}+{key['key id']}+{b64(ED25519 + public)}"
    assert key["skey"] == f"PRIVATE+KEY+{name}+{key['key id']}+{b64(ED25519 + seed)}"


def test_the_leaf_input_is_the_concatenation_of_the_documented_fields(
    doc: dict[str, str], rows: list[Row]
) -> None:
    fields, end = _leaf_input_table(doc["leaf-input"])
    assert [f[2] for f in fields] == [name for name, _, _ in LEAF_LAYOUT]
    offset = 0
    for (at, length, name, raw), (_, want_at, want_len) in zip(fields, LEAF_LAYOUT, strict=True):
        assert at == offset, f"{name} starts at {at}, expected {offset}"
        assert want_at in (None, at) and want_len in (None, length)
        assert len(raw) == length, name
        offset += length
    assert end == offset
    values = {name: raw for _, _, name, raw in fields}
    assert values["prefix"] == b"scelle/leaf/v1\n"
    row = _row(rows, int.from_bytes(values["notification_id"], "big"))
    assert values["originator_id"].hex() == row.originator_hex
    assert int.from_bytes(values["originator_version"], "big") == row.version
    assert int.from_bytes(values["topic_length"], "big") == len(values["topic"])
    assert values["topic"].decode("utf-8") == row.topic
    assert values["state"] == row.state
    assert b"".join(raw for _, _, _, raw in fields) == leaf_input(row)


def test_each_leaf_hash_and_chain_value_follows_from_the_stored_rows(
    rows: list[Row], leaves: list[tuple[int, int, bytes, bytes]]
) -> None:
    assert [index for index, _, _, _ in leaves] == list(range(len(rows)))  # dense
    assert [nid for _, nid, _, _ in leaves] == sorted(r.nid for r in rows)  # notification order
    chain = bytes(32)
    for _, nid, leaf, stored_chain in leaves:
        assert leaf == leaf_hash(leaf_input(_row(rows, nid)))
        chain = sha256(chain + leaf)
        assert stored_chain == chain


def test_the_tail_rows_hold_every_leaf_after_the_last_full_tile(
    doc_tail: list[tuple[int, int, bytes, bytes]],
    leaves: list[tuple[int, int, bytes, bytes]],
) -> None:
    full = len(leaves) // TILE_WIDTH  # §2.1: no group of 256 leaves is full in the example
    assert full == 0
    assert doc_tail == leaves[full * TILE_WIDTH :]
    assert len(doc_tail) < TILE_WIDTH
    for leaf, _, leaf_hash_, chain in doc_tail:
        assert len(leaf_hash_) == len(chain) == 32 and leaf >= full * TILE_WIDTH


def test_the_tiles_are_exactly_those_the_tree_prescribes(
    doc_tiles: dict[tuple[int, int], bytes], leaf_hashes: list[bytes]
) -> None:
    assert doc_tiles == tiles_of(leaf_hashes)
    for (level, idx), hashes in doc_tiles.items():
        if level == 0:
            for k in range(len(hashes) // 32):
                assert hashes[32 * k : 32 * k + 32] == leaf_hashes[idx * TILE_WIDTH + k]


def test_every_complete_node_is_recomputed_from_one_tile(
    doc_tiles: dict[tuple[int, int], bytes], leaf_hashes: list[bytes]
) -> None:
    n = len(leaf_hashes)
    for level in range(n.bit_length()):
        for idx in range(n >> level):
            assert node_from_tiles(doc_tiles, level, idx) == mth(
                leaf_hashes[idx << level : (idx + 1) << level]
            )


def test_the_node_block_recomputes_its_node_as_documented(
    doc: dict[str, str], doc_tiles: dict[tuple[int, int], bytes], leaf_hashes: list[bytes]
) -> None:
    f = _fields(doc["node"])
    m = re.fullmatch(r"level (\d+), index (\d+)", f["node"][0])
    assert m
    level, idx = int(m[1]), int(m[2])
    tile, p, count = node_place(level, idx)
    assert f["tile"] == [f"level {tile[0]}, index {tile[1]}"]
    assert _range(f["positions"][0]) == (p, p + count - 1)
    lo, hi = _range(f["bytes"][0])
    assert (lo, hi + 1) == (32 * p, 32 * (p + count))
    part = _hex_items(f["hashes"], 32)
    assert part == doc_tiles[tile][lo : hi + 1]
    assert bytes.fromhex(f["sha256 input"][0]) == b"\x01" + part  # one pair: one hash
    assert bytes.fromhex(f["node hash"][0]) == sha256(b"\x01" + part)
    assert bytes.fromhex(f["node hash"][0]) == mth(leaf_hashes[idx << level : (idx + 1) << level])


def _layout_widths(cell: str) -> dict[int, int]:
    """``0 … 272 (256 each), 273 (112)`` -> {index: width}."""
    widths = {}
    for item in cell.split(", "):
        if m := re.fullmatch(r"(\d+) … (\d+) \((\d+) each\)", item):
            widths.update(dict.fromkeys(range(int(m[1]), int(m[2]) + 1), int(m[3])))
        elif m := re.fullmatch(r"(\d+) \((\d+)\)", item):
            widths[int(m[1])] = int(m[2])
        else:
            raise AssertionError(f"unexpected tile list item {item!r}")
    return widths


def _documented_layout() -> dict[tuple[int, int], int]:
    """The tile-layout table of §3.2: (tile level, index) -> width."""
    out = {}
    for t, tree_level, count, tiles in _md_table("tile-layout"):
        assert int(tree_level.strip("`")) == TILE_HEIGHT * int(t)
        assert int(count) == LAYOUT_SIZE >> (TILE_HEIGHT * int(t))
        out.update({(int(t), i): w for i, w in _layout_widths(tiles).items()})
    return out


def _documented_root_plan() -> list[tuple[tuple[int, int], tuple[int, int], tuple[int, int]]]:
    return [(_pair(a), _pair(b), _range(c)) for a, b, c in _md_table("tile-root-plan")]


def test_the_tile_tables_of_the_larger_tree_follow_the_rules() -> None:
    expected = {}
    t = 0
    while (m_t := LAYOUT_SIZE >> (TILE_HEIGHT * t)) >= 1:
        for i in range((m_t + TILE_WIDTH - 1) // TILE_WIDTH):
            expected[(t, i)] = min(TILE_WIDTH, m_t - TILE_WIDTH * i)
        t += 1
    assert _documented_layout() == expected
    plan = _documented_root_plan()
    assert [ref for ref, _, _ in plan] == pieces(LAYOUT_SIZE)
    for (level, idx), tile, (first, last) in plan:
        where, p, count = node_place(level, idx)
        assert (where, first, last) == (tile, p, p + count - 1)
        assert last < expected[tile]  # inside the tile's width


def test_the_tiles_of_the_larger_tree_give_its_root(larger: Larger) -> None:
    assert {ref: len(blob) // 32 for ref, blob in larger.tiles.items()} == _documented_layout()
    plan = _documented_root_plan()
    nodes = [node_from_tiles(larger.tiles, level, idx) for (level, idx), _, _ in plan]
    assert right_fold(nodes) == mth(larger.leaves)


def test_the_roots_are_the_merkle_tree_hashes_of_the_first_leaves(
    doc: dict[str, str], leaf_hashes: list[bytes]
) -> None:
    roots = _table(doc["roots"], 3)
    assert [int(size) for size, _, _ in roots] == [0, 2, 3]
    for size, hex_root, b64_root in roots:
        assert bytes.fromhex(hex_root) == mth(leaf_hashes[: int(size)])
        assert unb64(b64_root) == bytes.fromhex(hex_root)
    assert roots[0][1] == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", [0, 2, 3])
def test_each_checkpoint_is_signed_by_the_example_key_over_its_exact_body(
    doc: dict[str, str], key: dict[str, str], leaf_hashes: list[bytes], size: int
) -> None:
    note = doc[f"checkpoint-{size}"]
    root = mth(leaf_hashes[:size])
    body = f"{key['key name']}\n{size}\n{b64(root)}\n"
    parsed = split_note(note)
    assert parsed.text == body
    assert (
        note == body + "\n" + f"{EM_DASH}{key['key name']} " + b64(parsed.signatures[0][1]) + "\n"
    )
    assert open_checkpoint(note, key["vkey"]) == (key["key name"], size, root)
    # Ed25519 is deterministic: the seed signs the body into the very same bytes.
    seed = bytes.fromhex(key["seed"])
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(body.encode("utf-8"))
    assert parsed.signatures[0][1] == bytes.fromhex(key["key id"]) + signature


def test_a_checkpoint_with_one_byte_changed_no_longer_verifies(
    doc: dict[str, str], key: dict[str, str]
) -> None:
    forged = doc["checkpoint-3"].replace("\n3\n", "\n4\n", 1)
    with pytest.raises(InvalidSignature):
        open_checkpoint(forged, key["vkey"])


def test_the_inclusion_proof_carries_the_leaf_input_and_verifies(
    doc: dict[str, str],
    rows: list[Row],
    leaves: list[tuple[int, int, bytes, bytes]],
    leaf_hashes: list[bytes],
    key: dict[str, str],
) -> None:
    proof = parse_inclusion(doc["inclusion-proof"])
    assert proof.note == doc["checkpoint-3"]
    _, size, root = open_checkpoint(proof.note, key["vkey"])
    nid = int.from_bytes(proof.extra[15:23], "big")
    assert proof.extra == leaf_input(_row(rows, nid))
    assert (proof.index, nid) in {(i, n) for i, n, _, _ in leaves}  # leaf index, not nid
    assert proof.hashes == path(proof.index, leaf_hashes[:size])
    verify_inclusion(leaf_hash(proof.extra), proof.index, size, proof.hashes, root)


def test_the_mini_verifier_rejects_a_mutated_inclusion_proof(
    doc: dict[str, str], key: dict[str, str]
) -> None:
    proof = parse_inclusion(doc["inclusion-proof"])
    _, size, root = open_checkpoint(proof.note, key["vkey"])
    altered = proof.extra.replace(b'"retention_days":15', b'"retention_days":30')
    assert altered != proof.extra
    cases = [
        (leaf_hash(altered), proof.index, proof.hashes),
        (leaf_hash(proof.extra), proof.index + 1, proof.hashes),
        (leaf_hash(proof.extra), proof.index, proof.hashes[:-1]),
        (leaf_hash(proof.extra), proof.index, [*proof.hashes, proof.hashes[0]]),
        (leaf_hash(proof.extra), proof.index, proof.hashes[::-1]),
    ]
    for leaf, index, hashes in cases:
        with pytest.raises(Rejected):
            verify_inclusion(leaf, index, size, hashes, root)


def test_the_consistency_proof_links_the_kept_checkpoint_to_the_new_one(
    doc: dict[str, str], leaf_hashes: list[bytes], key: dict[str, str]
) -> None:
    proof = parse_consistency(doc["consistency-proof"])
    assert proof.note == doc["checkpoint-3"]
    _, old_size, old_root = open_checkpoint(doc[f"checkpoint-{proof.old}"], key["vkey"])
    _, new_size, new_root = open_checkpoint(proof.note, key["vkey"])
    assert (old_size, new_size) == (proof.old, proof.new) == (2, 3)
    assert proof.hashes == subproof(proof.old, leaf_hashes[: proof.new], True)
    verify_consistency(proof.old, proof.new, proof.hashes, old_root, new_root)
    with pytest.raises(Rejected):
        verify_consistency(proof.old, proof.new, proof.hashes, new_root, new_root)
    with pytest.raises(Rejected):
        verify_consistency(proof.old, proof.new, [], old_root, new_root)
    with pytest.raises(Rejected):
        verify_consistency(0, proof.new, proof.hashes, old_root, new_root)


# ------------------------------------------------------------------ the project's code agrees
def test_project_code_builds_the_same_leaf_inputs_hashes_chain_and_nodes(
    doc: dict[str, str],
    rows: list[Row],
    leaves: list[tuple[int, int, bytes, bytes]],
    doc_tiles: dict[tuple[int, int], bytes],
) -> None:
    from uuid import UUID

    from evidence.ledger import merkle
    from evidence.ledger.leaf import ZERO_CHAIN, StoredRecord, chain_next, leaf_hash_of

    fields, _ = _leaf_input_table(doc["leaf-input"])
    shown = b"".join(raw for _, _, _, raw in fields)
    frontier = merkle.Frontier()
    created = []
    chain = ZERO_CHAIN
    for _, nid, leaf, stored_chain in leaves:
        row = _row(rows, nid)
        record = StoredRecord(nid, UUID(hex=row.originator_hex), row.version, row.topic, row.state)
        if record.leaf_input() == shown:
            assert StoredRecord.from_leaf_input(shown) == record
        assert leaf_hash_of(record) == leaf
        chain = chain_next(chain, leaf)
        assert chain == stored_chain
        created += frontier.append(leaf)
    assert any(
        StoredRecord(r.nid, UUID(hex=r.originator_hex), r.version, r.topic, r.state).leaf_input()
        == shown
        for r in rows
    )
    n = len(leaves)
    assert {(lv, i): h for lv, i, h in created} == {
        (level, idx): node_from_tiles(doc_tiles, level, idx)
        for level in range(1, n.bit_length())
        for idx in range(n >> level)
    }
    assert frontier.root().hex() == _table(doc["roots"], 3)[-1][1]


def _as_stored(value: object) -> object:
    return value if isinstance(value, int) else bytes(value)  # type: ignore[arg-type]


def _entries_rows(cur: sqlite3.Cursor) -> dict[int, tuple[int, bytes, bytes]]:
    cur.execute("SELECT tile, first_nid, nids, chains FROM scelle_ledger_entries")
    return {r[0]: (r[1], bytes(r[2]), bytes(r[3])) for r in cur.fetchall()}


def test_project_code_stores_the_same_rows(
    tmp_path: Path,
    doc: dict[str, str],
    leaves: list[tuple[int, int, bytes, bytes]],
    doc_runs: list[tuple[int, bytes, bytes, bytes]],
    doc_tail: list[tuple[int, int, bytes, bytes]],
) -> None:
    from evidence.ledger import merkle, tiles
    from evidence.ledger.store import LeafRow, SQLiteLedgerDB

    db = SQLiteLedgerDB(str(tmp_path / "ledger.sqlite"))
    db.ensure_schema()
    for index, nid, leaf, chain in leaves:  # one leaf per save, as the example recorded them
        with db.write_transaction() as cur:
            db.append(cur, index, [leaf], [nid], [chain])
    with db.read_transaction() as cur:
        assert _entries_rows(cur) == {}  # no group of 256 leaves is full yet
        assert db.stored_tiles(cur, 0) == []
        assert [tuple(map(_as_stored, r)) for r in db.tail_runs(cur)] == doc_runs
        assert db.tail_rows(cur, 0, 2**62) == doc_tail
        assert db.raw_leaves(cur, 0, len(leaves)) == leaves
        assert db.tree_size(cur) == len(leaves)
        assert db.last_leaf(cur) == LeafRow(*leaves[-1])
        for row in leaves:
            assert db.leaf_by_notification(cur, row[1]) == LeafRow(*row)
        for size, hex_root, _ in _table(doc["roots"], 3):
            root = merkle.root(int(size), lambda refs: db.get_nodes(cur, refs))
            assert root.hex() == hex_root
        f = _fields(doc["node"])
        m = re.fullmatch(r"level (\d+), index (\d+)", f["node"][0])
        assert m
        ref = (int(m[1]), int(m[2]))
        assert tiles.tile_of(ref) == node_place(*ref)
        assert db.get_nodes(cur, [ref])[ref].hex() == f["node hash"][0]


def test_project_code_stores_the_tiles_and_entries_of_the_mini_implementation(
    tmp_path: Path, larger: Larger
) -> None:
    """A tree with full and partial tiles at three levels, appended in uneven batches."""
    from evidence.ledger import merkle, tiles
    from evidence.ledger.store import SQLiteLedgerDB

    leaves = larger.leaves
    nids = [3 * i + 7 for i in range(LAYOUT_SIZE)]  # increasing, with gaps
    chains, chain = [], bytes(32)
    for leaf in leaves:
        chain = sha256(chain + leaf)
        chains.append(chain)
    db = SQLiteLedgerDB(str(tmp_path / "ledger.sqlite"))
    db.ensure_schema()
    done = 0
    for batch in [1, 2, 253, 300, 65_000, 4_444]:
        with db.write_transaction() as cur:
            db.append(
                cur,
                done,
                leaves[done : done + batch],
                nids[done : done + batch],
                chains[done : done + batch],
            )
        done += batch
    assert done == LAYOUT_SIZE
    with db.read_transaction() as cur:
        full = LAYOUT_SIZE // TILE_WIDTH
        stored = {(lv, i): blob for lv, i, blob in db.stored_tiles(cur, 0)}
        assert (0, full) not in stored  # the partial leaf tile is the tail, not a row
        tail = db.tail_rows(cur, 0, 2**62)
        assert len(tail) == LAYOUT_SIZE - full * TILE_WIDTH
        assert [(r[1], r[3]) for r in tail] == list(
            zip(nids[full * TILE_WIDTH :], chains[full * TILE_WIDTH :], strict=True)
        )
        assert logical_tiles(stored, tail, full) == larger.tiles
        full_rows = {i: row for i, row in entries_of(nids, chains).items() if i < full}
        assert _entries_rows(cur) == full_rows
        widths = {ref: len(blob) // 32 for ref, blob in stored.items()}
        assert {**widths, (0, full): len(tail)} == _documented_layout()
        plan = _documented_root_plan()
        assert merkle.root_plan(LAYOUT_SIZE) == [ref for ref, _, _ in plan]
        for ref, tile, (first, last) in plan:
            assert tiles.tile_of(ref) == (tile, first, last - first + 1)
        root = merkle.root(LAYOUT_SIZE, lambda refs: db.get_nodes(cur, refs))
        assert root == right_fold([node_from_tiles(larger.tiles, *ref) for ref, _, _ in plan])
        assert db.leaf_by_notification(cur, nids[300]) is not None


def _table_shape(conn: sqlite3.Connection, table: str) -> tuple[object, ...]:
    columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
    indexes = [
        (unique, origin, conn.execute(f"PRAGMA index_info({name})").fetchall())
        for _, name, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})")
    ]
    try:
        conn.execute(f"SELECT rowid FROM {table}")
        rowid = True
    except sqlite3.OperationalError:  # WITHOUT ROWID
        rowid = False
    return columns, sorted(indexes), rowid


def test_project_code_creates_the_documented_tables(tmp_path: Path, doc: dict[str, str]) -> None:
    from evidence.ledger.store import SQLiteLedgerDB

    schemas = dict(SCHEMA.findall(DOC.read_text(encoding="utf-8")))
    assert set(schemas) == {"entries", "tiles", "tail"}
    documented = sqlite3.connect(":memory:")
    for sql in schemas.values():
        documented.executescript(sql)
    path = tmp_path / "ledger.sqlite"
    SQLiteLedgerDB(str(path)).ensure_schema()
    project = sqlite3.connect(path)
    names = {"scelle_ledger_entries", "scelle_ledger_tiles", "scelle_ledger_tail"}
    listed = "SELECT name FROM sqlite_master WHERE type = 'table'"
    assert {r[0] for r in documented.execute(listed)} == names
    assert {r[0] for r in project.execute(listed)} == names | {"scelle_ledger_checkpoints"}
    for name in names:
        assert _table_shape(documented, name) == _table_shape(project, name), name
    documented.close()
    project.close()


def test_project_code_reads_the_keys_and_signs_the_same_checkpoints(
    doc: dict[str, str], key: dict[str, str]
) -> None:
    from evidence.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
    from evidence.ledger.note import Signer, Verifier

    signer = Signer.from_skey(key["skey"])
    assert signer.vkey == key["vkey"]
    assert f"{signer.key_id:08x}" == key["key id"]
    verifier = Verifier.from_vkey(key["vkey"])
    for size in (0, 2, 3):
        note = doc[f"checkpoint-{size}"]
        checkpoint = open_checkpoint(note, verifier)
        assert checkpoint.size == size
        assert checkpoint == Checkpoint(key["key name"], size, checkpoint.root_hash)
        assert sign_checkpoint(checkpoint, signer) == note


def test_project_code_parses_writes_and_verifies_the_same_proof_files(
    doc: dict[str, str], key: dict[str, str], leaf_hashes: list[bytes]
) -> None:
    from evidence.ledger import merkle
    from evidence.ledger.note import Verifier
    from evidence.ledger.proofs import ConsistencyProofFile, InclusionProofFile
    from tools.verify_proof import verify_consistency_file, verify_inclusion_file

    verifier = Verifier.from_vkey(key["vkey"])
    inclusion = InclusionProofFile.parse(doc["inclusion-proof"])
    assert inclusion.to_text() == doc["inclusion-proof"]
    consistency = ConsistencyProofFile.parse(doc["consistency-proof"])
    assert consistency.to_text() == doc["consistency-proof"]

    def get(refs: list[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
        return {(lv, i): mth(leaf_hashes[i << lv : (i + 1) << lv]) for lv, i in refs}

    assert list(inclusion.hashes) == merkle.inclusion_proof(inclusion.index, 3, get)
    assert list(consistency.hashes) == merkle.consistency_proof(2, 3, get)
    verdict = verify_inclusion_file(doc["inclusion-proof"], verifier)
    assert (verdict.leaf.notification_id, verdict.index, verdict.tree_size) == (2, 1, 3)
    assert verdict.leaf.topic == "scelle:Camera.Registered"
    verify_consistency_file(doc["consistency-proof"], verifier, doc["checkpoint-2"])


def test_project_code_prints_the_failure_kinds_and_labels_of_the_table() -> None:
    from tools.verify_cli import FAILURE_LABELS

    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- table:failure-kinds -->\n", 1)[1].split("\n\n", 1)[0]
    documented = {}
    for line in table.splitlines()[2:]:
        kind, label, _meaning = (cell.strip() for cell in line.strip("|").split("|"))
        documented[kind.strip("`")] = label
    assert documented == FAILURE_LABELS
