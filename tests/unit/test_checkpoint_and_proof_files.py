"""Checkpoint bodies (C2SP tlog-checkpoint) and the two proof files, byte for byte.

Public vectors: the sumdb FormatTree golden string, the real sum.golang.org checkpoint and
the C2SP examples (../shared/vectors/signed-note). The rest is round trips and mutations:
whatever ``parse`` accepts must re-serialise to the very same bytes.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evidence.ledger.checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    OriginMismatch,
    open_checkpoint,
    sign_checkpoint,
)
from evidence.ledger.note import (
    BadSignature,
    NoKnownSignature,
    NoteError,
    Signer,
    Verifier,
    open_note,
    sign_note,
)
from evidence.ledger.proofs import (
    BadEmbeddedCheckpoint,
    ConsistencyProofFile,
    InclusionProofFile,
    MalformedProofFile,
    ProofFileError,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "signed-note"
ORIGIN = "scelle.example/ville-de-test"
ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()


def _load(name: str) -> Any:
    path = VECTORS / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"vector file missing at {path}; CI must not skip it")
        pytest.skip(f"vector file not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vec() -> dict[str, dict[str, Any]]:
    return {v["id"]: v for v in _load("signed-note-ed25519.json")["vectors"]}


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    data: dict[str, Any] = _load("sumdb-tlog-golden.json")
    return data


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture(scope="module")
def verifier(signer: Signer) -> Verifier:
    return Verifier.from_vkey(signer.vkey)


# ------------------------------------------------------------------ checkpoints: vectors


def test_sumdb_format_tree_golden(golden: dict[str, Any]) -> None:
    ft = golden["format_tree"]
    root = base64.b64decode(golden["record_hash"]["rfc6962_leaf_hash_b64"])
    cp = Checkpoint("go.sum database tree", ft["N"], root)
    assert cp.to_text() == ft["golden"]
    assert Checkpoint.parse(ft["golden"]) == cp


def test_real_sum_golang_org_checkpoint(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sum.golang.org-real-checkpoint"]
    note = v["text"] + "\n" + "".join(s + "\n" for s in v["signatures"])
    verifier = Verifier.from_vkey(v["vkey"])
    cp = Checkpoint.parse(open_note(note, [verifier]).text)
    want = v["checkpoint"]
    assert (cp.origin, cp.size) == (want["origin"], want["size"])
    assert cp.root_hash == base64.b64decode(want["root_hash_b64"])
    assert cp.extensions == ()
    assert cp.to_text() == v["text"]
    # sum.golang.org's origin ("go.sum database tree") is not its key name: our stricter
    # rule (key name IS the origin) refuses it, after the signature itself verified.
    with pytest.raises(OriginMismatch):
        open_checkpoint(note, verifier)


def test_c2sp_checkpoint_example_parses(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["c2sp-tlog-checkpoint-example-parse-only"]
    text = v["note"].split("\n\n")[0] + "\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size, len(cp.root_hash)) == ("example.com/behind-the-sofa", 20852163, 32)
    assert cp.to_text() == text
    cosigned = v["cosigned_message_example"].split("\n", 2)[2]
    assert Checkpoint.parse(cosigned) == cp


# ------------------------------------------------------------------ checkpoints: syntax

origins = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=40).filter(
    lambda s: "\n" not in s
)
checkpoints = st.builds(
    Checkpoint,
    origin=origins,
    size=st.integers(0, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(origins, max_size=3).map(tuple),
)


@given(cp=checkpoints)
def test_checkpoint_round_trip(cp: Checkpoint) -> None:
    text = cp.to_text()
    assert Checkpoint.parse(text) == cp
    assert Checkpoint.parse(text).to_text() == text


GOOD = f"{ORIGIN}\n42\n{ROOT_B64}\n"


@pytest.mark.parametrize(
    "text",
    [
        GOOD[:-1],  # no final newline
        GOOD + "\n",  # empty extension line
        f"{ORIGIN}\n42\n",  # two lines
        f"\n42\n{ROOT_B64}\n",  # empty origin
        f"{ORIGIN}\n042\n{ROOT_B64}\n",  # leading zero
        f"{ORIGIN}\n00\n{ROOT_B64}\n",
        f"{ORIGIN}\n+42\n{ROOT_B64}\n",
        f"{ORIGIN}\n-1\n{ROOT_B64}\n",
        f"{ORIGIN}\n 42\n{ROOT_B64}\n",
        f"{ORIGIN}\n42 \n{ROOT_B64}\n",
        f"{ORIGIN}\n4_2\n{ROOT_B64}\n",
        f"{ORIGIN}\n\u0664\u0662\n{ROOT_B64}\n",  # Arabic-Indic digits
        f"{ORIGIN}\n\n{ROOT_B64}\n",
        f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n",  # beyond uint64
        f"{ORIGIN}\n42\n{ROOT_B64[:-1]}\n",  # no padding
        f"{ORIGIN}\n42\n{ROOT_B64[:-2]}B=\n",  # non-canonical trailing bits
        f"{ORIGIN}\n42\n{base64.b64encode(bytes(31)).decode()}\n",  # 31 bytes
        f"{ORIGIN}\n42\n{base64.b64encode(bytes(33)).decode()}\n",  # 33 bytes
        f"{ORIGIN}\n42\n{base64.urlsafe_b64encode(bytes([251] * 32)).decode()}\n",
        f"{ORIGIN}\n42\n {ROOT_B64}\n",
        f"{ORIGIN}\r\n42\n{ROOT_B64}\n",
        f"{ORIGIN}\n42\n{ROOT_B64}\nbad\x01ext\n",
    ],
)
def test_checkpoint_parse_rejects(text: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "a\nb"},
        {"size": -1},
        {"size": 2**64},
        {"size": True},
        {"root_hash": bytes(31)},
        {"root_hash": bytearray(32)},
        {"extensions": ("",)},
        {"extensions": ["x"]},
        {"extensions": ("a\nb",)},
    ],
)
def test_checkpoint_constructor_rejects(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"origin": ORIGIN, "size": 1, "root_hash": ROOT} | kwargs
    with pytest.raises(MalformedCheckpoint):
        Checkpoint(**fields)


def test_empty_tree_and_extensions() -> None:
    empty = Checkpoint(ORIGIN, 0, bytes.fromhex("e3b0c442" + "00" * 28))
    assert empty.to_text().split("\n")[1] == "0"
    ext = Checkpoint.parse(GOOD + "ext one\n\u2014 two\n")
    assert ext.extensions == ("ext one", "\u2014 two")


# ------------------------------------------------------------------ checkpoints: signing


def test_sign_and_open_checkpoint(signer: Signer, verifier: Verifier) -> None:
    cp = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(cp, signer)
    assert note.startswith(GOOD + "\n\u2014 " + ORIGIN + " ")
    assert open_checkpoint(note, verifier) == cp
    assert open_checkpoint(note.encode(), verifier) == cp
    # A witness line (unknown here) does not disturb the log's signature.
    assert open_checkpoint(note + "\u2014 witness.example AAAAAAAAAA==\n", verifier) == cp


def test_checkpoint_origin_must_be_key_name(signer: Signer, verifier: Verifier) -> None:
    with pytest.raises(OriginMismatch):
        sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), signer)
    # Even a valid signature by the log key over a foreign origin is refused.
    foreign = sign_note(Checkpoint("other.example/log", 1, ROOT).to_text(), [signer])
    with pytest.raises(OriginMismatch):
        open_checkpoint(foreign, verifier)


def test_open_checkpoint_rejections(signer: Signer, verifier: Verifier) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), signer)
    with pytest.raises(BadSignature):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), verifier)
    with pytest.raises(NoKnownSignature):
        open_checkpoint(note, Verifier.from_vkey(Signer.generate(ORIGIN).vkey))
    not_a_checkpoint = sign_note(f"{ORIGIN}\n42\n", [signer])
    with pytest.raises(MalformedCheckpoint):
        open_checkpoint(not_a_checkpoint, verifier)
    for exc in (MalformedCheckpoint, OriginMismatch):
        assert issubclass(exc, NoteError)


# ------------------------------------------------------------------ proof files


@pytest.fixture(scope="module")
def note(signer: Signer) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, 8, ROOT), signer)


H = [bytes([i]) * 32 for i in range(1, 4)]
H_B64 = [base64.b64encode(h).decode() for h in H]


def test_inclusion_file_layout(note: str, verifier: Verifier) -> None:
    pf = InclusionProofFile(5, tuple(H), note, extra=b"age-v1.2.1")
    text = (
        "c2sp.org/tlog-proof@v1\n"
        f"extra {base64.b64encode(b'age-v1.2.1').decode()}\n"
        "index 5\n"
        f"{H_B64[0]}\n{H_B64[1]}\n{H_B64[2]}\n"
        "\n" + note
    )
    assert pf.to_text() == text
    assert InclusionProofFile.parse(text) == pf
    assert InclusionProofFile.parse(text.encode()) == pf
    assert pf.open(verifier) == Checkpoint(ORIGIN, 8, ROOT)
    bare = InclusionProofFile(0, (), note)
    assert bare.to_text() == "c2sp.org/tlog-proof@v1\nindex 0\n\n" + note
    assert InclusionProofFile.parse(bare.to_text()) == bare


SPEC_PROOF_HEAD = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

"""
SPEC_CHECKPOINT = "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"


def test_c2sp_tlog_proof_example_layout() -> None:
    """The tlog-proof.md example, verbatim down to its checkpoint body.

    Its signature lines are elided in the spec ("hI2DJw[...]"), so the checkpoint is
    re-signed here with a fresh key of the same name.
    """
    log = Signer.generate("example.com/fancylog")
    text = SPEC_PROOF_HEAD + sign_note(SPEC_CHECKPOINT, [log])
    pf = InclusionProofFile.parse(text)
    assert pf.index == 73894
    assert pf.extra is not None and pf.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert len(pf.hashes) == 5
    assert pf.to_text() == text
    assert pf.open(Verifier.from_vkey(log.vkey)).size == 109482


def test_consistency_file_layout(note: str, verifier: Verifier) -> None:
    pf = ConsistencyProofFile(3, 8, tuple(H), note)
    text = (
        "scelle.fr/tlog-consistency@v1\n"
        "old 3\n"
        "new 8\n"
        f"{H_B64[0]}\n{H_B64[1]}\n{H_B64[2]}\n"
        "\n" + note
    )
    assert pf.to_text() == text
    assert ConsistencyProofFile.parse(text) == pf
    assert pf.open(verifier).size == 8
    same = ConsistencyProofFile(8, 8, (), note)
    assert same.to_text() == "scelle.fr/tlog-consistency@v1\nold 8\nnew 8\n\n" + note


def _inclusion_text(note: str) -> str:
    return InclusionProofFile(5, tuple(H), note, extra=b"x").to_text()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v2\n"),
        ("c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v1 \n"),
        ("c2sp.org/tlog-proof@v1\n", ""),
        ("extra eA==\n", "extra eA\n"),  # no padding
        ("extra eA==\n", "extra eB==\n"),  # non-canonical
        ("extra eA==\n", "extra \n"),  # empty extra
        ("extra eA==\n", "extra  eA==\n"),
        ("extra eA==\n", "extra: eA==\n"),
        ("extra eA==\nindex 5\n", "index 5\nextra eA==\n"),  # wrong order
        ("index 5\n", "index 05\n"),
        ("index 5\n", "index  5\n"),
        ("index 5\n", "index 5 \n"),
        ("index 5\n", "index -5\n"),
        ("index 5\n", "index\n"),
        ("index 5\n", "Index 5\n"),
        ("index 5\n", ""),  # missing index
        (f"{H_B64[1]}\n", f"{H_B64[1][:-1]}\n"),
        (f"{H_B64[1]}\n", f"{base64.b64encode(bytes(31)).decode()}\n"),
        (f"{H_B64[1]}\n", f" {H_B64[1]}\n"),
        (f"{H_B64[2]}\n\n", f"{H_B64[2]}\n"),  # no empty line
        (f"{H_B64[2]}\n\n", f"{H_B64[2]}\r\n\n"),
    ],
)
def test_inclusion_file_mutations_rejected(note: str, old: str, new: str) -> None:
    text = _inclusion_text(note)
    assert old in text
    with pytest.raises(ProofFileError):
        InclusionProofFile.parse(text.replace(old, new, 1))


def test_inclusion_file_embedded_checkpoint_checked(note: str, signer: Signer) -> None:
    text = _inclusion_text(note)
    with pytest.raises(BadEmbeddedCheckpoint):
        InclusionProofFile.parse(text.replace("index 5\n", "index 8\n"))  # index >= size
    with pytest.raises(BadEmbeddedCheckpoint):
        InclusionProofFile.parse(text[:-1])  # note cut short
    with pytest.raises(BadEmbeddedCheckpoint):
        InclusionProofFile.parse(text + "trailing\n")
    with pytest.raises(BadEmbeddedCheckpoint):
        InclusionProofFile.parse(text.split("\n\n")[0] + "\n\n")  # no note at all
    with pytest.raises(BadEmbeddedCheckpoint):
        InclusionProofFile(0, (), sign_note("not\na checkpoint\n", [signer]))
    with pytest.raises(MalformedProofFile):
        InclusionProofFile.parse(text.encode().replace(b"index", b"ind\xffex"))
    with pytest.raises(MalformedProofFile):
        InclusionProofFile(0, tuple([H[0]] * 65), note)
    with pytest.raises(MalformedProofFile):
        InclusionProofFile(0, (), note, extra=b"")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("scelle.fr/tlog-consistency@v1\n", "c2sp.org/tlog-proof@v1\n"),
        ("old 3\n", "old 03\n"),
        ("old 3\n", "old 0\n"),  # a proof from the empty tree proves nothing
        ("old 3\n", "old 9\n"),  # old > new
        ("old 3\nnew 8\n", "new 8\nold 3\n"),
        ("old 3\n", ""),
        ("new 8\n", "new 8\nindex 1\n"),
        ("new 8\n", "new 7\n"),  # differs from the checkpoint's size
        ("new 8\n", "new 9\n"),
        (f"{H_B64[0]}\n", f"{H_B64[0]}=\n"),
        (f"{H_B64[2]}\n\n", f"{H_B64[2]}\n"),
    ],
)
def test_consistency_file_mutations_rejected(note: str, old: str, new: str) -> None:
    text = ConsistencyProofFile(3, 8, tuple(H), note).to_text()
    assert old in text
    with pytest.raises(ProofFileError):
        ConsistencyProofFile.parse(text.replace(old, new, 1))


def test_proof_files_open_rejects_forgery(note: str, verifier: Verifier) -> None:
    forged = note.replace(ROOT_B64, base64.b64encode(bytes(32)).decode())
    pf = InclusionProofFile(1, (), forged)  # syntactically fine ...
    with pytest.raises(BadSignature):  # ... but the log never signed it
        pf.open(verifier)


@given(
    index=st.integers(0, 7),
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=64).map(tuple),
    extra=st.none() | st.binary(min_size=1, max_size=64),
)
def test_inclusion_file_round_trip(
    note: str, index: int, hashes: tuple[bytes, ...], extra: bytes | None
) -> None:
    pf = InclusionProofFile(index, hashes, note, extra)
    assert InclusionProofFile.parse(pf.to_text()) == pf


@given(
    old=st.integers(1, 8),
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=128).map(tuple),
)
def test_consistency_file_round_trip(note: str, old: int, hashes: tuple[bytes, ...]) -> None:
    pf = ConsistencyProofFile(old, 8, hashes, note)
    assert ConsistencyProofFile.parse(pf.to_text()) == pf


edits = st.tuples(st.integers(0, 10**6), st.integers(0, 3), st.sampled_from("\n 0158=+/Aaex\u2014"))


def _mutate(text: str, edit: tuple[int, int, str]) -> str:
    pos, kind, char = edit
    pos %= len(text) + 1
    if kind == 0:  # delete
        return text[:pos] + text[pos + 1 :]
    if kind == 1:  # insert
        return text[:pos] + char + text[pos:]
    if kind == 2:  # replace
        return text[:pos] + char + text[pos + 1 :]
    return text[:pos] + text[pos : pos + 1] * 2 + text[pos + 1 :]  # duplicate


@given(edit_list=st.lists(edits, min_size=1, max_size=3))
def test_mutated_files_rejected_or_byte_identical(
    note: str, edit_list: list[tuple[int, int, str]]
) -> None:
    """Anything parse accepts re-serialises to exactly the bytes it was given."""
    for cls, original in (
        (InclusionProofFile, _inclusion_text(note)),
        (ConsistencyProofFile, ConsistencyProofFile(3, 8, tuple(H), note).to_text()),
    ):
        text = original
        for edit in edit_list:
            text = _mutate(text, edit)
        assume(text != original)
        try:
            parsed = cls.parse(text)
        except ProofFileError:
            continue
        assert parsed.to_text() == text


@given(edit_list=st.lists(edits, min_size=1, max_size=2))
def test_mutated_checkpoints_rejected_or_byte_identical(
    edit_list: list[tuple[int, int, str]],
) -> None:
    text = GOOD
    for edit in edit_list:
        text = _mutate(text, edit)
    try:
        cp = Checkpoint.parse(text)
    except MalformedCheckpoint:
        return
    assert cp.to_text() == text
