"""Tampered packages: each alteration is rejected with its own reason, by the verifier in
process, by ``scelle verify package`` and by the copy shipped inside the package alike."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.ledger.note import Signer, sign_note
from evidence.packages.build import Produced, produce_package
from tests.ingest_support import SCELLE
from tests.package_support import approved_export, scene
from tools.cli import app
from tools.verify_package import PackageInvalid, verify_package

Tamper = Callable[[Path], None]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Produced, str, Signer]:
    tmp = tmp_path_factory.mktemp("tamper")
    s = scene(tmp, count=3, size=20_000)
    produced = produce_package(s.system, approved_export(s), tmp / "exports")
    vkey = s.system.settings.log_vkey_path.read_text(encoding="utf-8")
    signer = s.system.ledger.signer
    assert signer is not None
    s.system.close()
    return produced, vkey, signer


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def segments(bag: Path) -> list[Path]:
    return sorted((bag / "data/segments").iterdir())


def flip_video(bag: Path) -> None:
    flip(segments(bag)[1], 1000)


def flip_event(bag: Path) -> None:
    path = bag / "data/log/events.jsonl"
    flip(path, path.read_bytes().index(b'"size":') + len(b'"size":'))


def flip_proof(bag: Path) -> None:
    proof = max((bag / "data/log/proofs").iterdir(), key=lambda p: p.stat().st_size)
    text = proof.read_bytes()
    hashes = text.index(b"\nindex ") + 1
    flip(proof, text.index(b"\n", hashes) + 3)  # inside the first hash line


def flip_checkpoint(bag: Path) -> None:
    path = bag / "data/log/checkpoint"
    text = path.read_bytes()
    flip(path, text.index(b"\n", text.index(b"\n") + 1) + 5)  # inside the root hash


def remove_file(bag: Path) -> None:
    segments(bag)[0].unlink()


def add_file(bag: Path) -> None:
    (bag / "data/segments/04_CAM-1_20261121T230000Z.mp4").write_bytes(b"\x00" * 100)


def swap_segments(bag: Path) -> None:
    a, b = segments(bag)[:2]
    tmp = a.with_suffix(".tmp")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def replace_vkey(bag: Path) -> None:
    other = Signer.generate("scelle.test/log")
    (bag / "data/log/log.vkey").write_text(other.vkey + "\n", encoding="utf-8")


def rehash(bag: Path) -> None:
    """A forger without the log key: both manifests recomputed after the change."""
    lines = []
    for line in (bag / "manifest-sha256.txt").read_text().splitlines():
        rel = line.split("  ", 1)[1]
        lines.append(f"{hashlib.sha256((bag / rel).read_bytes()).hexdigest()}  {rel}\n")
    (bag / "manifest-sha256.txt").write_text("".join(lines))
    tags = []
    for line in (bag / "tagmanifest-sha256.txt").read_text().splitlines():
        rel = line.split("  ", 1)[1]
        tags.append(f"{hashlib.sha256((bag / rel).read_bytes()).hexdigest()}  {rel}\n")
    (bag / "tagmanifest-sha256.txt").write_text("".join(tags))


def forge_video(bag: Path) -> None:
    flip_video(bag)
    rehash(bag)


CASES: dict[str, tuple[Tamper, str]] = {
    "a byte of a video": (flip_video, "segment-altered"),
    "a byte of an event": (flip_event, "event-altered"),
    "a byte of a proof": (flip_proof, "proof-altered"),
    "a byte of the checkpoint": (flip_checkpoint, "checkpoint-invalid"),
    "a file removed": (remove_file, "file-missing"),
    "a file added": (add_file, "file-unlisted"),
    "two segments swapped": (swap_segments, "segments-swapped"),
    "the vkey replaced by another key's": (replace_vkey, "vkey-replaced"),
    "a video changed and both manifests recomputed": (forge_video, "signature-invalid"),
}


def tampered(original: tuple[Produced, str, Signer], tmp: Path, tamper: Tamper) -> Path:
    produced = original[0]
    bag = tmp / produced.package_id
    shutil.copytree(produced.directory, bag)
    tamper(bag)
    return bag


@pytest.mark.parametrize("case", list(CASES))
def test_each_tampering_is_rejected_with_its_own_reason(
    original: tuple[Produced, str, Signer], tmp_path: Path, case: str
) -> None:
    tamper, kind = CASES[case]
    bag = tampered(original, tmp_path, tamper)
    with pytest.raises(PackageInvalid) as rejected:
        verify_package(bag)
    assert rejected.value.kind == kind, [f.line() for f in rejected.value.failures]


def test_an_insider_re_signing_an_altered_event_is_still_caught_by_its_proof(
    original: tuple[Produced, str, Signer], tmp_path: Path
) -> None:
    """Even with the log key, an event cannot change: its proof fixes its bytes."""
    produced, _, signer = original

    def re_sign(bag: Path) -> None:
        flip_event(bag)
        rehash(bag)
        tag_sha = hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
        text = f"scelle.fr/package-signature@v1\n{produced.package_id}\n{tag_sha}\n"
        (bag / "tagmanifest-sha256.txt.sig").write_text(sign_note(text, [signer]))

    bag = tampered(original, tmp_path, re_sign)
    with pytest.raises(PackageInvalid) as rejected:
        verify_package(bag)
    assert rejected.value.kind == "event-altered"


def test_a_package_re_signed_with_another_key_fails_only_against_the_trusted_key(
    original: tuple[Produced, str, Signer], tmp_path: Path
) -> None:
    produced, vkey, _ = original
    other = Signer.generate("scelle.test/log")
    replace_vkey_bag = tampered(original, tmp_path, lambda bag: None)
    (replace_vkey_bag / "data/log/log.vkey").write_text(other.vkey + "\n")
    checkpoint = replace_vkey_bag / "data/log/checkpoint"
    body = checkpoint.read_text().split("\n\n")[0] + "\n"
    forged = sign_note(body, [other])
    checkpoint.write_text(forged)
    for proof in (replace_vkey_bag / "data/log/proofs").iterdir():
        text = proof.read_text()
        proof.write_text(text[: text.index("\n\n") + 2] + forged)
    rehash(replace_vkey_bag)
    tag_sha = hashlib.sha256((replace_vkey_bag / "tagmanifest-sha256.txt").read_bytes())
    note = f"scelle.fr/package-signature@v1\n{produced.package_id}\n{tag_sha.hexdigest()}\n"
    (replace_vkey_bag / "tagmanifest-sha256.txt.sig").write_text(sign_note(note, [other]))
    verify_package(replace_vkey_bag)  # self-consistent: only a trusted key can tell
    with pytest.raises(PackageInvalid) as rejected:
        verify_package(replace_vkey_bag, vkey)
    assert rejected.value.kind == "vkey-untrusted"


def test_the_shipped_verifier_and_scelle_verify_package_reach_the_same_verdicts(
    original: tuple[Produced, str, Signer], tmp_path: Path
) -> None:
    """The shipped copy runs alone (``-I``); ``scelle verify package`` runs in process here,
    and once as a real command for its exit codes."""
    produced, _, _ = original
    bags = [produced.directory]
    for number, (tamper, _) in enumerate(CASES.values()):
        (tmp_path / str(number)).mkdir()
        bags.append(tampered(original, tmp_path / str(number), tamper))
    runner = CliRunner()
    for bag in bags:
        alone = subprocess.run(
            [sys.executable, "-I", str(produced.directory / "verify_package.py"), str(bag)],
            capture_output=True,
            text=True,
            check=False,
        )
        ours = runner.invoke(app, ["verify", "package", str(bag)])
        assert alone.returncode == ours.exit_code == (0 if bag == produced.directory else 1)
        assert alone.stdout == ours.stdout, bag
    real = subprocess.run(
        [SCELLE, "verify", "package", str(bags[1])], capture_output=True, text=True, check=False
    )
    assert real.returncode == 1
    assert real.stdout.startswith("FAIL: [")
    usage = subprocess.run(
        [SCELLE, "verify", "package", str(tmp_path / "absent")], capture_output=True, check=False
    )
    assert usage.returncode == 2


def test_a_tampered_zip_is_rejected_too(
    original: tuple[Produced, str, Signer], tmp_path: Path
) -> None:
    bag = tampered(original, tmp_path, flip_video)
    archive = shutil.make_archive(str(tmp_path / "forged"), "zip", tmp_path, bag.name)
    with pytest.raises(PackageInvalid) as rejected:
        verify_package(archive)
    assert rejected.value.kind == "segment-altered"
