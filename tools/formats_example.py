"""The worked example of docs/FORMATS.md §7, generated from a real store.

Run ``python -m tools.formats_example``: it creates a throw-away data directory, writes a
FIXED log key (seed ``00 01 02 … 1f``, public, for this example only), records three events
through the real application (a commune, a camera, a retention change), signs checkpoints at
sizes 0, 2 and 3 and writes an inclusion proof and a consistency proof. It reads the ledger
back as stored (``scelle_ledger_tail`` rows, one per save: no group of 256 leaves is full)
and prints the Markdown blocks of §7, each after an ``<!-- example:NAME -->`` marker, ready
to be pasted.

Event timestamps normally come from the wall clock; here they are pinned (T0, T0 + 1 s, …)
so that a rerun reproduces every byte. The document is the reference all the same:
tests/unit/test_formats_doc.py recomputes every hash and signature from the pasted text.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.bootstrap import ledger_db, open_system
from evidence.config import Settings
from evidence.ledger import merkle
from evidence.ledger.leaf import HEADER, LEAF_PREFIX
from evidence.ledger.log import write_atomic, write_private_file
from evidence.ledger.note import Signer
from evidence.ledger.store import BEFORE_ALL
from evidence.ledger.tiles import HASH, TileRef, nodes_from_tiles, split, subtree_root, tile_of

#: Public on purpose: anyone can sign with it. It exists only to make this example repeatable.
EXAMPLE_SEED = bytes(range(32))
EXAMPLE_ORIGIN = "scelle.local/csu-exemple"
T0 = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)
INSEE = "69266"
CAMERA = "VIL-002"
AUTHORISATION = "Arrêté préfectoral 2026-69266-VP"
#: The event shown field by field (the camera's registration).
SHOWN_NOTIFICATION = 2
#: The checkpoint the consistency proof starts from.
OLD_SIZE = 2
#: The node shown recomputed from its tile: (tree level, index).
SHOWN_NODE = (1, 0)
HEX_WIDTH = 64
NID = 8  # bytes per notification id in an entries row (u64)


@dataclass(frozen=True)
class Example:
    signer: Signer
    events: list[tuple[int, str, int, str, bytes]]
    leaves: list[tuple[int, int, bytes, bytes]]
    #: scelle_ledger_tail rows: (first_leaf, nids, leaf_hashes, chains)
    tail: list[tuple[int, bytes, bytes, bytes]]
    #: the tiles (§3.2): the scelle_ledger_tiles rows (none here) and the partial leaf tile
    #: made of the tail runs, as (level, idx, hashes)
    tiles: list[tuple[int, int, bytes]]
    checkpoints: dict[str, str]
    inclusion_proof: str
    consistency_proof: str


@contextmanager
def _pinned_clock(start: datetime) -> Iterator[None]:
    """Give each new event the next whole second after ``start`` instead of the wall clock."""
    ticks = itertools.count()

    def now() -> datetime:
        return start + timedelta(seconds=next(ticks))

    with mock.patch("eventsourcing.domain.datetime_now_with_tzinfo", new=now):
        yield


def _install_key(settings: Settings, signer: Signer) -> None:
    """What ``scelle init`` does, with the fixed key instead of a fresh random one."""
    settings.data.mkdir(parents=True, exist_ok=True)
    settings.checkpoints_dir.mkdir(exist_ok=True)
    write_private_file(settings.log_skey_path, signer.skey + "\n")
    write_atomic(settings.log_vkey_path, signer.vkey + "\n")


def build(data: Path) -> Example:
    """Create the store under ``data`` (which must not exist yet) and read it back raw."""
    settings = Settings(data=data)
    signer = Signer(EXAMPLE_ORIGIN, Ed25519PrivateKey.from_private_bytes(EXAMPLE_SEED))
    _install_key(settings, signer)
    system = open_system(settings, create_tables=True)
    try:
        system.ledger.checkpoint()  # the empty tree, as ``scelle init`` signs it
        with _pinned_clock(T0):
            archives = system.archives
            archives.register_commune(INSEE, "Villeurbanne")
            archives.register_camera(
                INSEE,
                code=CAMERA,
                place="Cours Émile-Zola / Gratte-Ciel",
                kind="ptz",
                purposes=["crime_prevention", "traffic_regulation"],
                authorisation_ref=AUTHORISATION,
                authorised_from=date(2026, 1, 1),
                authorised_until=date(2031, 1, 1),
                authorised_retention_days=15,
                retention_days=15,
            )
            system.ledger.checkpoint()
            archives.change_retention(CAMERA, 10, AUTHORISATION)
        inclusion = system.ledger.inclusion_proof(SHOWN_NOTIFICATION)
        consistency = system.ledger.consistency_proof(OLD_SIZE)
    finally:
        system.close()
    db = ledger_db(settings)
    with db.read_transaction() as cur:
        events = [
            (int(r[0]), str(r[1]), int(r[2]), str(r[3]), bytes(r[4]))
            for r in db.raw_events(cur, BEFORE_ALL, 2**62)
        ]
        leaves = [(r[0], r[1], bytes(r[2]), bytes(r[3])) for r in db.raw_leaves(cur, 0, 2**62)]
        cur.execute("SELECT COUNT(*) FROM scelle_ledger_entries")
        if cur.fetchone()[0] or db.stored_tiles(cur, 0):
            raise RuntimeError("the example is meant to hold fewer than 256 leaves")
        tail = [(int(r[0]), bytes(r[1]), bytes(r[2]), bytes(r[3])) for r in db.tail_runs(cur)]
        tiles = [(0, 0, b"".join(hashes for _, _, hashes, _ in tail))]
    checkpoints = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(settings.checkpoints_dir.glob("*.checkpoint"))
    }
    return Example(signer, events, leaves, tail, tiles, checkpoints, inclusion, consistency)


def _block(name: str, body: str, lang: str = "text") -> str:
    return f"<!-- example:{name} -->\n```{lang}\n{body.removesuffix(chr(10))}\n```\n"


def _wrap(hex_text: str) -> list[str]:
    return [hex_text[i : i + HEX_WIDTH] for i in range(0, len(hex_text), HEX_WIDTH)] or [""]


def _leaf_input_table(event: tuple[int, str, int, str, bytes]) -> str:
    """The leaf input of one event, field by field: offset, length, name, hex."""
    nid, oid, version, topic, state = event
    topic_bytes = topic.encode("utf-8")
    header = HEADER.pack(nid, UUID(hex=oid).bytes, version, len(topic_bytes))
    fields = [
        ("prefix", LEAF_PREFIX),
        ("notification_id", header[0:8]),
        ("originator_id", header[8:24]),
        ("originator_version", header[24:32]),
        ("topic_length", header[32:34]),
        ("topic", topic_bytes),
        ("state", state),
    ]
    lines = [f"{'offset':>6}  {'length':>6}  {'field':<18}  hex"]
    offset = 0
    for name, raw in fields:
        first, *rest = _wrap(raw.hex())
        lines.append(f"{offset:>6}  {len(raw):>6}  {name:<18}  {first}")
        lines.extend(f"{'':>6}  {'':>6}  {'':<18}  {more}" for more in rest)
        offset += len(raw)
    lines.append(f"{offset:>6}  {'':>6}  (end)")
    return "\n".join(lines)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _labelled(pairs: list[tuple[str, list[str]]]) -> str:
    """``label: value`` lines, values aligned; a value of several lines continues below."""
    width = max(len(label) for label, _ in pairs) + 2
    lines = []
    for label, (first, *rest) in pairs:
        lines.append(f"{label + ':':<{width}}{first}".rstrip())
        lines.extend(f"{'':<{width}}{more}" for more in rest)
    return "\n".join(lines)


def _items(blob: bytes, size: int) -> list[str]:
    """A blob as hex, one item of ``size`` bytes a line."""
    return [blob[i : i + size].hex() for i in range(0, len(blob), size)] or [""]


def _tail_block(tail: list[tuple[int, bytes, bytes, bytes]]) -> str:
    rows = []
    for first, nids, hashes, chains in tail:
        rows.append(
            _labelled(
                [
                    ("first_leaf", [str(first)]),
                    ("nids", _items(nids, NID)),
                    ("leaf_hashes", _items(hashes, HASH)),
                    ("chains", _items(chains, HASH)),
                ]
            )
        )
    return "\n\n".join(rows)


def _node_block(tiles: dict[TileRef, bytes], ref: tuple[int, int]) -> str:
    """One complete node recomputed from the tile that holds its lowest hashes (§3.2); for a
    node one level above its tile, the single SHA-256 input is shown too."""
    tile, first, count = tile_of(ref)
    lo, hi = first * HASH, (first + count) * HASH
    part = tiles[tile][lo:hi]
    pairs = [
        ("node", [f"level {ref[0]}, index {ref[1]}"]),
        ("tile", [f"level {tile[0]}, index {tile[1]}"]),
        ("positions", [f"{first} to {first + count - 1}"]),
        ("bytes", [f"{lo} to {hi - 1}"]),
        ("hashes", _items(part, HASH)),
    ]
    if count == 2:
        pairs.append(("sha256 input", [(b"\x01" + part).hex()]))
    pairs.append(("node hash", [subtree_root(split(part)).hex()]))
    return _labelled(pairs)


def render(example: Example) -> str:
    """The §7 blocks, in the order the document shows them."""
    signer = example.signer
    key_id_input = signer.name.encode("utf-8") + b"\n" + b"\x01" + signer.public_key
    key_lines = [
        f"seed:          {EXAMPLE_SEED.hex()}",
        f"public key:    {signer.public_key.hex()}",
        f"key name:      {signer.name}",
        f"key id input:  {key_id_input.hex()}",
        f"key id sha256: {hashlib.sha256(key_id_input).hexdigest()}",
        f"key id:        {signer.key_id:08x}",
        f"skey:          {signer.skey}",
        f"vkey:          {signer.vkey}",
    ]
    events = []
    for nid, oid, version, topic, state in example.events:
        events.append(
            f"notification_id:    {nid}\noriginator_id:      {oid}\n"
            f"originator_version: {version}\ntopic:              {topic}\n"
            f"state:              {state.decode('utf-8')}"
        )
    shown = next(e for e in example.events if e[0] == SHOWN_NOTIFICATION)
    leaves = [f"{'leaf':<4}  {'nid':<3}  {'leaf_hash':<64}  chain"]
    leaves += [f"{i:<4}  {nid:<3}  {h.hex()}  {c.hex()}" for i, nid, h, c in example.leaves]
    stored = {(level, idx): hashes for level, idx, hashes in example.tiles}

    def from_tiles(refs: list[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
        return nodes_from_tiles(refs, lambda wanted: {t: stored[t] for t in wanted})

    roots = [f"{'size':<4}  {'root (hex)':<64}  root (base64)"]
    for size in sorted(int(name.split(".")[0]) for name in example.checkpoints):
        root = merkle.root(size, from_tiles)
        roots.append(f"{size:<4}  {root.hex()}  {_b64(root)}")
    out = [
        _block("log-key", "\n".join(key_lines)),
        _block("stored-events", "\n\n".join(events)),
        _block("leaf-input", _leaf_input_table(shown)),
        _block("leaves", "\n".join(leaves)),
        _block("tail", _tail_block(example.tail)),
        _block("node", _node_block(stored, SHOWN_NODE)),
        _block("roots", "\n".join(roots)),
    ]
    for name, note in example.checkpoints.items():
        size = int(name.split(".")[0])
        out.append(f"`checkpoints/{name}`:\n\n" + _block(f"checkpoint-{size}", note))
    out.append(_block("inclusion-proof", example.inclusion_proof))
    out.append(_block("consistency-proof", example.consistency_proof))
    return "\n".join(out)


def main(emit: Callable[[str], Any] = print) -> None:
    with tempfile.TemporaryDirectory(prefix="scelle-formats-") as tmp:
        emit(render(build(Path(tmp) / "data")))


if __name__ == "__main__":
    main()
