"""evidence.ledger.note against C2SP signed-note / x/mod sumdb/note public vectors.

Vectors live in ../shared/vectors/signed-note (see its README and the JSON's _about):
signatures are deterministic Ed25519, so re-signing must reproduce them byte for byte.
Tests that need no vectors build their own keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from evidence.ledger.note import (
    AmbiguousKey,
    BadSignature,
    CosignatureVerifier,
    MalformedKey,
    MalformedNote,
    NoKnownSignature,
    NoteError,
    Signer,
    Verifier,
    cosignature_message,
    decode_cosignature,
    generate_signer_key,
    key_id,
    load_verifier,
    open_note,
    sign_note,
    split_note,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
SIGNED_NOTE = VECTORS / "signed-note" / "signed-note-ed25519.json"


@pytest.fixture(scope="module")
def vec() -> dict[str, dict[str, Any]]:
    if not SIGNED_NOTE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"signed-note vectors missing at {SIGNED_NOTE}; CI must not skip them")
        pytest.skip(f"signed-note vectors not found at {SIGNED_NOTE}")
    data = json.loads(SIGNED_NOTE.read_text(encoding="utf-8"))
    return {v["id"]: v for v in data["vectors"]}


def _note(text: str, lines: list[str]) -> str:
    return text + "\n" + "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------ public vectors


def test_c2sp_example_verifies(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["c2sp-signed-note-example"]
    opened = open_note(_note(v["text"], v["signatures"]), [Verifier.from_vkey(v["vkey"])])
    assert opened.text == v["text"]
    assert [s.name for s in opened.signatures] == ["example.com/foo"]
    assert opened.signatures[0].key_id == 0x530D903A
    assert opened.unverified == ()


def test_peterneumann_signature_reproduced_byte_for_byte(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sumdb-note-peterneumann"]
    signer = Signer.from_skey(v["skey"])
    assert signer.vkey == v["vkey"]
    assert signer.skey == v["skey"]
    assert sign_note(v["text"], [signer]) == _note(v["text"], v["signatures"])
    opened = open_note(_note(v["text"], v["signatures"]), [Verifier.from_vkey(v["vkey"])])
    assert opened.text == v["text"]


def test_enochroot_cosign_and_unknown_peterneumann(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sumdb-note-enochroot-cosign"]
    note = _note(v["text"], v["signatures"])
    opened = open_note(note, [Verifier.from_vkey(v["vkey"])])
    assert [s.name for s in opened.signatures] == ["EnochRoot"]
    assert [s.name for s in opened.unverified] == ["PeterNeumann"]
    # The EnochRoot key came from an all-zero random reader, i.e. seed = 32 zero bytes:
    # signing with both keys reproduces the doubly-signed vector exactly.
    enoch = Signer("EnochRoot", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    assert enoch.vkey == v["vkey"]
    peter = Signer.from_skey(vec["sumdb-note-peterneumann"]["skey"])
    assert sign_note(v["text"], [peter, enoch]) == note


def test_key_ids_derived_for_keypairs(vec: dict[str, dict[str, Any]]) -> None:
    for pair in vec["formats-test-keypairs"]["keypairs"]:
        signer = Signer.from_skey(pair["skey"])
        verifier = Verifier.from_vkey(pair["vkey"])
        name, hex_id, _ = pair["vkey"].split("+", 2)
        assert (signer.name, verifier.name) == (name, name)
        assert signer.key_id == verifier.key_id == int(hex_id, 16)
        digest = hashlib.sha256(name.encode() + b"\n\x01" + verifier.public_key).digest()
        assert key_id(name, 0x01, verifier.public_key) == int.from_bytes(digest[:4], "big")
        assert signer.public_key == verifier.public_key
        assert (signer.vkey, signer.skey, verifier.vkey) == (
            pair["vkey"],
            pair["skey"],
            pair["vkey"],
        )


def test_xmod_bad_vkeys_rejected(vec: dict[str, dict[str, Any]]) -> None:
    bad = vec["sumdb-note-bad-vkeys"]["bad_vkeys"]
    assert len(bad) == 2
    for vkey in bad:
        for parse in (Verifier.from_vkey, CosignatureVerifier.from_vkey, load_verifier):
            with pytest.raises(MalformedKey):
                parse(vkey)


def test_real_sum_golang_org_checkpoint(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sum.golang.org-real-checkpoint"]
    opened = open_note(_note(v["text"], v["signatures"]), [Verifier.from_vkey(v["vkey"])])
    assert opened.text == v["text"]
    assert [(s.name, s.key_id) for s in opened.signatures] == [("sum.golang.org", 0x033DE0AE)]


def test_sum_golang_org_with_witness_signatures(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sum.golang.org-checkpoint-with-witness-sigs"]
    log = load_verifier(vec["sum.golang.org-real-checkpoint"]["vkey"])
    witnesses = [load_verifier(k) for k in v["extra_vkeys"]]
    note = _note(v["text"], v["signatures"])

    opened = open_note(note, [log, *witnesses])
    assert [s.name for s in opened.signatures] == [
        "sum.golang.org",
        "monkeys",
        "bananas",
        "witness",
    ]
    # random1/random2 reuse witness's key ID and signature bytes under another name:
    # same ID, different name = unknown key, ignored.
    assert [s.name for s in opened.unverified] == ["random1", "random2"]

    only_log = open_note(note, [log])
    assert [s.name for s in only_log.signatures] == ["sum.golang.org"]
    assert len(only_log.unverified) == 5

    # A known witness whose line is corrupted rejects the whole note.
    forged = note.replace(v["signatures"][1], v["signatures"][1][:-6] + "AAAAA=")
    with pytest.raises(BadSignature):
        open_note(forged, [log, *witnesses])
    assert open_note(forged, [log]).text == v["text"]  # unknown to this client: ignored


def test_cosignature_v1_timestamp_vector(vec: dict[str, dict[str, Any]]) -> None:
    kid, timestamp, sig = decode_cosignature(vec["cosignature-v1-timestamp"]["signature_b64"])
    assert timestamp == 1727964367
    assert kid == 0x646846B9
    assert len(sig) == 64


def test_c2sp_checkpoint_and_cosignature_examples_parse(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["c2sp-tlog-checkpoint-example-parse-only"]
    text, sigs = split_note(v["note"])
    assert (
        text
        == "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert [s.name for s in sigs] == ["example.com/behind-the-sofa", "witness.example.com/w1"]
    assert len(base64.b64decode(sigs[0].sig_b64)) == 4 + 64
    kid, timestamp, _ = decode_cosignature(sigs[1].sig_b64)
    assert len(base64.b64decode(sigs[1].sig_b64)) == 4 + 8 + 64
    assert kid == int.from_bytes(base64.b64decode(sigs[1].sig_b64)[:4], "big")
    assert cosignature_message(text, timestamp).decode() == v["cosigned_message_example"]
    with pytest.raises(NoKnownSignature):  # no keys were published for this example
        open_note(v["note"], [])


def test_note_without_known_signature_rejected(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sumdb-note-peterneumann"]
    other = Verifier.from_vkey(vec["formats-test-keypairs"]["keypairs"][0]["vkey"])
    with pytest.raises(NoKnownSignature):
        open_note(_note(v["text"], v["signatures"]), [other])


def test_tampered_body_rejected(vec: dict[str, dict[str, Any]]) -> None:
    v = vec["sumdb-note-peterneumann"]
    verifier = Verifier.from_vkey(v["vkey"])
    for tampered in (v["text"].replace("problem,", "problem;"), v["text"] + "x\n"):
        with pytest.raises(BadSignature):
            open_note(_note(tampered, v["signatures"]), [verifier])


# ------------------------------------------------------------------ keys

NAME = "scelle.example/log"


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("", "key must be <name>"),
        ("name+c74f20a3", "key must be <name>"),
        ("+c74f20a3+AQ==", "empty"),
        ("a b+c74f20a3+AQ==", "space"),
        ("a\u00a0b+c74f20a3+AQ==", "space"),
        ("a\u3000b+c74f20a3+AQ==", "space"),
        ("a\u2028b+c74f20a3+AQ==", "space"),
        ("a\tb+c74f20a3+AQ==", "space"),
        ("a\x00b+c74f20a3+AQ==", "control"),
        ("a\ud800+c74f20a3+AQ==", "UTF-8"),
        ("name+C74F20A3+AQ==", "lowercase hex"),
        ("name+c74f20a+AQ==", "lowercase hex"),
        ("name+c74f20a3a+AQ==", "lowercase hex"),
        ("name+ c74f20a+AQ==", "lowercase hex"),
        ("name+c74f20a3+", "empty"),
        ("name+c74f20a3+AQ", "base64"),
        ("name+c74f20a3+AQ=", "base64"),
        ("name+c74f20a3+A Q==", "base64"),
        ("name+c74f20a3+AR==", "non-canonical"),
        ("name+c74f20a3+AQ-_", "base64"),
        ("name+c74f20a3+AQ==\n", "base64"),
        ("name+c74f20a3+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "type 0x01, got 0x00"),
        ("name+c74f20a3+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "type 0x01, got 0x02"),
        ("name+c74f20a3+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "32 bytes, got 29"),
        ("name+c74f20a3+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "32 bytes, got 33"),
    ],
)
def test_malformed_vkeys_rejected_precisely(vkey: str, message: str) -> None:
    with pytest.raises(MalformedKey, match=message):
        Verifier.from_vkey(vkey)


def test_vkey_key_id_must_match_and_types_must_fit() -> None:
    signer = Signer.generate(NAME)
    name, hex_id, b64 = signer.vkey.split("+", 2)
    wrong = f"{(int(hex_id, 16) ^ 1):08x}"
    with pytest.raises(MalformedKey, match="does not match"):
        Verifier.from_vkey(f"{name}+{wrong}+{b64}")
    with pytest.raises(MalformedKey, match="does not match"):  # same key, another name
        Verifier.from_vkey(f"other.example+{hex_id}+{b64}")
    with pytest.raises(MalformedKey, match="type 0x04, got 0x01"):
        CosignatureVerifier.from_vkey(signer.vkey)
    raw = signer.public_key
    material = base64.b64encode(bytes([4]) + raw).decode()
    cosig_vkey = f"{NAME}+{key_id(NAME, 4, raw):08x}+{material}"
    with pytest.raises(MalformedKey, match="type 0x01, got 0x04"):
        Verifier.from_vkey(cosig_vkey)
    assert isinstance(load_verifier(cosig_vkey), CosignatureVerifier)
    assert isinstance(load_verifier(signer.vkey), Verifier)
    assert load_verifier(cosig_vkey).vkey == cosig_vkey


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.removeprefix("PRIVATE+"), "PRIVATE\\+KEY\\+"),
        (lambda s: s.replace("PRIVATE+KEY+", "private+key+"), "PRIVATE\\+KEY\\+"),
        (lambda s: s.replace("PeterNeumann", "PeterNeumanm"), "does not match"),
        (lambda s: s.replace("c74f20a3", "c74f20a4"), "does not match"),
        (lambda s: s.replace("c74f20a3", "C74F20A3"), "lowercase hex"),
        (lambda s: s[:-4] + "xDFz", "does not match"),
        (lambda s: s[:-1], "base64"),
        (lambda s: s.replace("+AYEK", "+AoEK"), "unsupported signer type 0x02"),
        (lambda s: s[: s.index("+AYEK")] + "+AQ==", "32 bytes, got 0"),
        (lambda s: s.replace("PeterNeumann", "Peter Neumann"), "space"),
    ],
)
def test_malformed_skeys_rejected_precisely(mutate: Any, message: str) -> None:
    skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    Signer.from_skey(skey)
    with pytest.raises(MalformedKey, match=message):
        Signer.from_skey(mutate(skey))


def test_generate_signer_key_round_trip() -> None:
    skey, vkey = generate_signer_key(NAME)
    assert skey.startswith(f"PRIVATE+KEY+{NAME}+") and vkey.startswith(f"{NAME}+")
    signer, verifier = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    assert (signer.key_id, signer.vkey) == (verifier.key_id, vkey)
    assert skey not in repr(signer) and skey.rsplit("+", 1)[1] not in repr(signer)
    opened = open_note(sign_note("hello\n", [signer]), [verifier])
    assert opened.text == "hello\n"
    with pytest.raises(MalformedKey):
        generate_signer_key("bad+name")


# ------------------------------------------------------------------ notes


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate(NAME)


@pytest.fixture(scope="module")
def verifier(signer: Signer) -> Verifier:
    return Verifier.from_vkey(signer.vkey)


@pytest.mark.parametrize(
    "text",
    ["", "no newline", "a\r\n", "tab\there\n", "nul\x00\n", "esc\x1b\n", "lone \ud800 surrogate\n"],
)
def test_sign_note_rejects_bad_text(signer: Signer, text: str) -> None:
    with pytest.raises(MalformedNote):
        sign_note(text, [signer])


def test_sign_note_rejects_bad_signer_lists(signer: Signer) -> None:
    with pytest.raises(MalformedNote):
        sign_note("x\n", [])
    with pytest.raises(MalformedNote):
        sign_note("x\n", [signer, signer])
    with pytest.raises(MalformedNote):
        sign_note("x\n", [Signer.generate(f"k{i}") for i in range(101)])


@pytest.mark.parametrize(
    "text",
    ["\n", "a\n\n", "a\n\n\n", "\n\nb\n", "a\n\n— fake AAAAAAA=\n", "— x\n", "x\u2029y\u00a0é\n"],
)
def test_blank_lines_and_lookalike_lines_in_text_round_trip(
    signer: Signer, verifier: Verifier, text: str
) -> None:
    # The separator is the LAST blank line, so texts with blank lines are unambiguous.
    assert open_note(sign_note(text, [signer]), [verifier]).text == text


note_texts = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters=[chr(i) for i in range(32)])
    | st.just("\n"),
    max_size=200,
).map(lambda s: s + "\n")


@given(text=note_texts)
def test_sign_open_round_trip(signer: Signer, verifier: Verifier, text: str) -> None:
    note = sign_note(text, [signer])
    opened = open_note(note.encode("utf-8"), [verifier])
    assert opened.text == text
    assert [s.line() for s in opened.signatures] == [note[len(text) + 1 :]]


def _signed(signer: Signer, text: str = "body\n") -> str:
    return sign_note(text, [signer])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n[:-1],  # last line not terminated
        lambda n: n + "\n",  # trailing blank line: empty signature block
        lambda n: n.split("\n\n")[0] + "\n\n",  # no signature lines
        lambda n: n.replace("\u2014 ", "- "),  # hyphen instead of em dash
        lambda n: n.replace("\u2014 ", "\u2014"),  # no space after the dash
        lambda n: n.replace("\u2014 ", "\u2014  "),  # empty key name
        lambda n: n.replace(f" {NAME} ", f" {NAME}+x "),  # '+' in key name
        lambda n: n.replace(f" {NAME} ", f" {NAME}  "),  # double space
        lambda n: n[:-2] + "\n",  # base64 cut short
        lambda n: n[:-1] + " \n",  # trailing space
        lambda n: n.replace(f"{NAME} ", f"{NAME} AAAAAA==\n\u2014 x "),  # sig < 5 bytes
        lambda n: n.replace("body", "bo\rdy"),  # control character
        lambda n: n.replace("\n", "\r\n"),  # CRLF
    ],
)
def test_malformed_notes_rejected(signer: Signer, verifier: Verifier, mutate: Any) -> None:
    with pytest.raises(MalformedNote):
        open_note(mutate(_signed(signer)), [verifier])


def test_non_utf8_and_surrogates_rejected(signer: Signer, verifier: Verifier) -> None:
    note = _signed(signer, "caf\u00e9\n")
    with pytest.raises(MalformedNote):
        open_note(note.encode("utf-8").replace("é".encode(), b"\xe9"), [verifier])
    with pytest.raises(MalformedNote):
        open_note(note.replace("é", "\udce9"), [verifier])
    assert open_note(note.encode("utf-8"), [verifier]).text == "caf\u00e9\n"


def test_signature_count_limit(signer: Signer, verifier: Verifier) -> None:
    note = _signed(signer)
    junk = "".join(f"\u2014 unknown{i} AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" for i in range(99))
    assert len(open_note(note + junk, [verifier]).unverified) == 99  # 100 lines: accepted
    with pytest.raises(MalformedNote, match="more than 100"):
        open_note(note + junk + "\u2014 one.more AAAAAAAA\n", [verifier])


def test_unknown_keys_sharing_name_or_id_are_ignored(signer: Signer, verifier: Verifier) -> None:
    note = _signed(signer)
    sig_line = note.split("\n\n")[1]
    b64 = sig_line.split(" ")[2].strip()
    raw = base64.b64decode(b64)
    other_id = base64.b64encode((int.from_bytes(raw[:4], "big") ^ 1).to_bytes(4, "big") + raw[4:])
    extra = f"\u2014 {NAME} {other_id.decode()}\n\u2014 other.name {b64}\n"
    opened = open_note(note + extra, [verifier])
    assert len(opened.signatures) == 1
    assert [s.name for s in opened.unverified] == [NAME, "other.name"]
    duplicated = open_note(note + extra + extra + sig_line, [verifier])  # duplicates dropped
    assert len(duplicated.signatures) == 1 and len(duplicated.unverified) == 2


def test_every_known_line_is_verified(signer: Signer, verifier: Verifier) -> None:
    note = _signed(signer)
    sig_line = note.split("\n\n")[1]
    name, b64 = sig_line.removeprefix("\u2014 ").split(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 1
    bad_line = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(BadSignature):  # a good line first does not excuse a bad one after
        open_note(note + bad_line, [verifier])
    short = f"\u2014 {name} {base64.b64encode(bytes(raw[:40])).decode()}\n"
    with pytest.raises(BadSignature, match="64 bytes"):
        open_note(note + short, [verifier])


def test_ambiguous_trusted_keys_rejected(signer: Signer, verifier: Verifier) -> None:
    clash = Verifier.from_vkey(Signer.generate(NAME).vkey)
    clash.key_id = verifier.key_id  # a 32-bit collision, forced
    with pytest.raises(AmbiguousKey):
        open_note(_signed(signer), [verifier, clash])
    assert open_note(_signed(signer), [verifier, Verifier.from_vkey(signer.vkey)]).signatures


def test_errors_share_one_base() -> None:
    for exc in (MalformedKey, MalformedNote, BadSignature, NoKnownSignature, AmbiguousKey):
        assert issubclass(exc, NoteError)


# ------------------------------------------------------------------ cosignature/v1


def _cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> tuple[str, str]:
    """An independent tlog-cosignature/v1 writer: returns (vkey, signature line)."""
    pub = key.public_key().public_bytes_raw()
    kid = hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4]
    message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text.encode()
    sig = kid + timestamp.to_bytes(8, "big") + key.sign(message)
    vkey = f"{name}+{kid.hex()}+{base64.b64encode(bytes([4]) + pub).decode()}"
    return vkey, f"\u2014 {name} {base64.b64encode(sig).decode()}\n"


def test_cosignature_v1_verifies_with_timestamp(signer: Signer, verifier: Verifier) -> None:
    text = f"{NAME}\n5\n{base64.b64encode(bytes(32)).decode()}\n"
    note = sign_note(text, [signer])
    key = Ed25519PrivateKey.generate()
    vkey, line = _cosign(text, "witness.example/w1", key, 1727964367)
    witness = CosignatureVerifier.from_vkey(vkey)
    assert witness.vkey == vkey

    opened = open_note(note + line, [verifier, witness])
    assert [(s.name, s.timestamp) for s in opened.signatures] == [
        (NAME, None),
        ("witness.example/w1", 1727964367),
    ]
    assert open_note(note + line, [witness]).signatures[0].timestamp == 1727964367

    # Changing the timestamp bytes invalidates the signature.
    _, other_time = _cosign(text, "witness.example/w1", key, 1727964368)
    good, later = (base64.b64decode(x.split(" ")[2]) for x in (line, other_time))
    spliced_sig = base64.b64encode(good[:4] + later[4:12] + good[12:]).decode()
    spliced = f"\u2014 witness.example/w1 {spliced_sig}\n"
    with pytest.raises(BadSignature):
        open_note(note + spliced, [verifier, witness])
    # A cosignature over another checkpoint fails too.
    _, stale = _cosign(text.replace("\n5\n", "\n4\n"), "witness.example/w1", key, 1)
    with pytest.raises(BadSignature):
        open_note(note + stale, [verifier, witness])


def test_cosignature_timestamp_bound_and_length(signer: Signer) -> None:
    text = "t\n"
    key = Ed25519PrivateKey.generate()
    vkey, _ = _cosign(text, "w", key, 0)
    witness = CosignatureVerifier.from_vkey(vkey)
    _, too_late = _cosign(text, "w", key, 2**63)
    with pytest.raises(BadSignature, match="2\\^63"):
        open_note(sign_note(text, [signer]) + too_late, [witness])
    with pytest.raises(MalformedNote, match="2\\^63"):
        decode_cosignature(too_late.split(" ")[2].strip())
    _, edge = _cosign(text, "w", key, 2**63 - 1)
    assert open_note(sign_note(text, [signer]) + edge, [witness]).signatures[0].timestamp == (
        2**63 - 1
    )
    plain = Signer("w", key)  # same key and name as a type 0x01 signer: different key ID
    assert plain.key_id != witness.key_id
    with pytest.raises(NoKnownSignature):
        open_note(sign_note(text, [plain]), [witness])
    with pytest.raises(MalformedNote, match="76 bytes"):
        decode_cosignature(base64.b64encode(bytes(68)).decode())
