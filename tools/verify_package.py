#!/usr/bin/env python3
"""Offline verifier of a Scellé evidence package (docs/FORMATS.md §9), in ONE file.

A magistrate runs it months later, on any machine, with nothing but Python (>= 3.11) and the
``cryptography`` package: ``python verify_package.py PACKAGE [--vkey LOG.vkey]``. PACKAGE is
the bag directory or its zip. It prints ``OK:`` and exits 0, or one ``FAIL: [kind] …`` line
per failure and exits 1; a usage error exits 2. It imports nothing from Scellé on purpose:
the same file is copied into every package, and ``scelle verify package`` calls it.

What it checks, in this order (each step's failure kind in brackets):
  1. The bag's shape (RFC 8493): ``bagit.txt``, the SHA-256 manifests, safe paths, every
     listed file present [file-missing], no payload or tag file left unlisted [file-unlisted].
  2. The log's key and the checkpoint (C2SP signed note): the package's ``log.vkey`` is the
     pinned one if ``--vkey`` is given [vkey-untrusted]; the checkpoint names that key
     [vkey-replaced] and its Ed25519 signature verifies [checkpoint-invalid].
  3. The signature over the tag manifest, by the same key [signature-invalid].
  4. The tag manifest's digests [tag-altered], then the payload manifest's
     [segments-swapped, segment-altered, event-altered, proof-altered, payload-altered].
  5. Each event line against its inclusion proof: the line is rebuilt byte for byte from the
     leaf input the proof carries [event-altered], which the proof leads from to the signed
     root (RFC 9162 §2.1.3.2) [proof-invalid].
  6. The package index: each original's SHA-256 and size equal its ``Segment.Recorded``
     event's, each derivative's its ``Segment.MaskApplied`` event's [index-mismatch].
A package whose log key and checkpoint were *both* replaced by a forger's passes steps 1-6:
only a key pinned with ``--vkey`` (published by the centre, kept by the court) tells it apart.

Verification fails closed: anything unreadable is a failure, never a pass.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PACKAGE_FORMAT = "scelle.fr/package@v1"
SIGNATURE_HEADER = "scelle.fr/package-signature@v1"
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
LEAF_PREFIX = b"scelle/leaf/v1\n"
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE_FILE = "tagmanifest-sha256.txt.sig"
INDEX = "data/package.json"
EVENTS = "data/log/events.jsonl"
CHECKPOINT = "data/log/checkpoint"
VKEY = "data/log/log.vkey"
PROOFS = "data/log/proofs/"
#: Events that describe a derived rendition: its SHA-256 is their ``output_sha256``.
DERIVATION_TOPICS = ("scelle:Segment.RenditionDerived", "scelle:Segment.MaskApplied")
SIG_PREFIX = "\u2014 "
MAX_ZIP_BYTES = 1 << 40
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_TOPIC = re.compile(r"[A-Za-z0-9:._-]+")
_NID = re.compile(r'\{"notification_id":(0|[1-9][0-9]*),')


# --------------------------------------------------------------------------- failures


class PackageInvalid(Exception):
    """The package does not verify; ``kind`` names the failure, ``failures`` lists all."""

    kind = "package-invalid"
    label = "paquet invalide"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.failures: list[PackageInvalid] = [self]

    def line(self) -> str:
        return f"FAIL: [{self.kind}] {self.label} — {self.detail}"


class BagMalformed(PackageInvalid):
    kind, label = "bag-malformed", "sac BagIt mal formé"


class FileMissing(PackageInvalid):
    kind, label = "file-missing", "fichier manquant"


class FileUnlisted(PackageInvalid):
    kind, label = "file-unlisted", "fichier ajouté hors manifeste"


class VkeyUntrusted(PackageInvalid):
    kind, label = "vkey-untrusted", "clé du journal différente de la clé de confiance"


class VkeyReplaced(PackageInvalid):
    kind, label = "vkey-replaced", "clé du journal remplacée"


class CheckpointInvalid(PackageInvalid):
    kind, label = "checkpoint-invalid", "point de contrôle invalide"


class SignatureInvalid(PackageInvalid):
    kind, label = "signature-invalid", "signature du manifeste des étiquettes invalide"


class TagAltered(PackageInvalid):
    kind, label = "tag-altered", "fichier d'étiquettes modifié"


class SegmentsSwapped(PackageInvalid):
    kind, label = "segments-swapped", "segments intervertis"


class SegmentAltered(PackageInvalid):
    kind, label = "segment-altered", "vidéo modifiée"


class EventAltered(PackageInvalid):
    kind, label = "event-altered", "événement modifié"


class ProofAltered(PackageInvalid):
    kind, label = "proof-altered", "preuve modifiée"


class ProofInvalid(PackageInvalid):
    kind, label = "proof-invalid", "preuve ne menant pas à la racine signée"


class PayloadAltered(PackageInvalid):
    kind, label = "payload-altered", "fichier de contenu modifié"


class IndexMismatch(PackageInvalid):
    kind, label = "index-mismatch", "index du paquet incohérent avec le journal"


class UsageError(Exception):
    """Not a verdict on the package: the command was given something it cannot read."""


@dataclass(frozen=True)
class Verdict:
    package_id: str
    export_id: str
    segments: int
    derived: int
    events: int
    tree_size: int
    origin: str
    vkey_pinned: bool

    def line(self) -> str:
        pinned = "clé de confiance" if self.vkey_pinned else "clé fournie dans le paquet"
        return (
            f"OK: paquet {self.package_id} : {self.segments} segment(s) et {self.derived} "
            f"dérivé(s) identiques aux enregistrements, {self.events} événement(s) prouvé(s) "
            f"dans l'arbre signé de {self.tree_size} feuilles du journal {self.origin} "
            f"({pinned})."
        )


# --------------------------------------------------------------------------- primitives


def b64decode_strict(text: str) -> bytes:
    """RFC 4648 §4 base64, canonical spelling only."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"base64 invalide : {text[:40]!r}") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"base64 non canonique : {text[:40]!r}")
    return raw


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def decimal(text: str) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > 2**64 - 1:
        raise ValueError(f"nombre mal écrit : {text[:30]!r}")
    return int(text)


@dataclass(frozen=True)
class LogKey:
    """A C2SP signed-note Ed25519 verifier key: ``<name>+<hex8 id>+<base64(0x01 || key)>``."""

    name: str
    key_id: bytes
    public_key: bytes
    text: str

    @classmethod
    def parse(cls, text: str) -> LogKey:
        name, _, rest = text.partition("+")
        hex_id, _, key_b64 = rest.partition("+")
        if not name or any(c.isspace() or c < " " for c in name) or not key_b64:
            raise ValueError("clé attendue sous la forme <nom>+<id>+<clé base64>")
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise ValueError(f"identifiant de clé {hex_id!r} mal écrit")
        material = b64decode_strict(key_b64)
        if len(material) != 33 or material[0] != 0x01:
            raise ValueError("clé Ed25519 (type 0x01, 32 octets) attendue")
        key_id = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
        if key_id.hex() != hex_id:
            raise ValueError(f"identifiant de clé {hex_id} ne correspondant pas à la clé")
        return cls(name, key_id, material[1:], text)

    def open_note(self, note: str) -> str:
        """Return the text of a signed note that this key signed, else raise.

        ``LookupError``: no signature line names this key (another key signed it);
        ``ValueError``: malformed note or a bad signature from this key.
        """
        # 1. UTF-8 text, no control character but LF, final LF; last blank line splits.
        if re.search(r"[\x00-\x09\x0b-\x1f]", note) or not note.endswith("\n"):
            raise ValueError("note signée mal formée")
        split = note.rfind("\n\n")
        if split < 0:
            raise ValueError("note signée sans ligne vide avant ses signatures")
        text, block = note[: split + 1], note[split + 2 :]
        # 2. Signature lines "— <name> base64(key id || signature)".
        found = False
        for line in block[:-1].split("\n") if block else []:
            if not line.startswith(SIG_PREFIX):
                raise ValueError("ligne de signature mal formée")
            name, _, sig_b64 = line.removeprefix(SIG_PREFIX).partition(" ")
            raw = b64decode_strict(sig_b64)
            if name != self.name or raw[:4] != self.key_id:
                continue  # another key's line: ignored, as the signed-note spec says
            # 3. A line from our key must verify, or the whole note is rejected.
            if len(raw) != 68:
                raise ValueError("signature Ed25519 de longueur invalide")
            try:
                key = Ed25519PublicKey.from_public_bytes(self.public_key)
                key.verify(raw[4:], text.encode("utf-8"))
            except InvalidSignature:
                raise ValueError(f"signature invalide de {self.name}") from None
            found = True
        if not found:
            raise LookupError(f"aucune signature de la clé {self.name}+{self.key_id.hex()}")
        return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text[:-1].split("\n")
        if len(lines) < 3 or "" in lines:
            raise ValueError("point de contrôle : au moins trois lignes non vides attendues")
        root = b64decode_strict(lines[2])
        if len(root) != 32:
            raise ValueError("point de contrôle : racine de 32 octets attendue")
        return cls(lines[0], decimal(lines[1]), root)


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, steps 1-5 (the caller compares the root)."""
    # 1. The index lies in the tree.
    if not 0 <= index < size:
        raise ValueError(f"feuille {index} hors d'un arbre de {size} feuilles")
    # 2-3.
    fn, sn, r = index, size - 1, leaf_hash
    # 4.
    for p in proof:
        if sn == 0:
            raise ValueError("preuve trop longue")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ValueError("preuve trop courte")
    return r


@dataclass(frozen=True)
class InclusionProof:
    """c2sp.org/tlog-proof@v1 with Scellé's leaf input as ``extra`` (FORMATS.md §5.1)."""

    extra: bytes
    index: int
    hashes: list[bytes]
    note: str

    @classmethod
    def parse(cls, text: str) -> InclusionProof:
        lines = text.split("\n")
        if len(lines) < 5 or lines[0] != PROOF_HEADER or not lines[1].startswith("extra "):
            raise ValueError("preuve : en-tête ou ligne 'extra' absente")
        extra = b64decode_strict(lines[1].removeprefix("extra "))
        if not lines[2].startswith("index "):
            raise ValueError("preuve : ligne 'index' absente")
        index = decimal(lines[2].removeprefix("index "))
        hashes: list[bytes] = []
        at = 3
        while at < len(lines) and lines[at]:
            hashes.append(b64decode_strict(lines[at]))
            if len(hashes[-1]) != 32 or len(hashes) > 64:
                raise ValueError("preuve : empreintes de 32 octets, 64 au plus")
            at += 1
        if at >= len(lines):
            raise ValueError("preuve : ligne vide avant le point de contrôle absente")
        return cls(extra, index, hashes, "\n".join(lines[at + 1 :]))


@dataclass(frozen=True)
class Leaf:
    notification_id: int
    originator_id: str
    version: int
    topic: str
    state: bytes

    @classmethod
    def parse(cls, data: bytes) -> Leaf:
        """FORMATS.md §1.2: prefix, u64 nid, 16-byte id, u64 version, u16 topic length."""
        if not data.startswith(LEAF_PREFIX) or len(data) < 49:
            raise ValueError("entrée de feuille mal formée")
        nid = int.from_bytes(data[15:23], "big")
        oid = data[23:39].hex()
        version = int.from_bytes(data[39:47], "big")
        length = int.from_bytes(data[47:49], "big")
        if len(data) < 49 + length:
            raise ValueError("entrée de feuille plus courte que son sujet")
        topic = data[49 : 49 + length].decode("utf-8")
        return cls(nid, oid, version, topic, data[49 + length :])

    def event_line(self) -> bytes:
        """The line of ``events.jsonl`` this stored event must have (FORMATS.md §9.3)."""
        if not _TOPIC.fullmatch(self.topic):
            raise ValueError(f"sujet d'événement inattendu {self.topic!r}")
        head = (
            f'{{"notification_id":{self.notification_id},"originator_id":"{self.originator_id}",'
            f'"originator_version":{self.version},"topic":"{self.topic}",'
        ).encode()
        if state_is_json_object(self.state):
            return head + b'"state":' + self.state + b"}\n"
        encoded = base64.b64encode(self.state).decode("ascii")
        return head + f'"state_base64":"{encoded}"}}\n'.encode()

    def state_object(self) -> dict[str, object]:
        found = json.loads(self.state.decode("utf-8"))
        if not isinstance(found, dict):
            raise ValueError("état d'événement qui n'est pas un objet JSON")
        return found


def state_is_json_object(state: bytes) -> bool:
    """Stored states that are one JSON object on one line go into ``events.jsonl`` verbatim."""
    if not state.startswith(b"{") or b"\n" in state or b"\r" in state:
        return False
    try:
        return isinstance(json.loads(state.decode("utf-8")), dict)
    except ValueError:
        return False


# --------------------------------------------------------------------------- the bag


def read_manifest(root: Path, name: str) -> dict[str, str]:
    """``<sha256> <path>`` lines (RFC 8493 §2.1.3), paths percent-decoded and checked safe."""
    entries: dict[str, str] = {}
    try:
        text = (root / name).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BagMalformed(f"{name} absent") from None
    except UnicodeDecodeError:
        raise BagMalformed(f"{name} n'est pas en UTF-8") from None
    if text and not text.endswith("\n"):
        raise BagMalformed(f"{name} : la dernière ligne ne se termine pas")
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, raw_path = line.partition(" ")
        raw_path = raw_path.lstrip(" \t")
        if not sep or not _HEX64.fullmatch(digest) or not raw_path:
            raise BagMalformed(f"{name}, ligne {number} : « <sha256> <chemin> » attendu")
        path = raw_path.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or "\\" in path or str(pure) != path:
            raise BagMalformed(f"{name}, ligne {number} : chemin dangereux {path!r}")
        if path in entries:
            raise BagMalformed(f"{name} : {path} listé deux fois")
        entries[path] = digest
    return entries


def files_under(root: Path) -> set[str]:
    found: set[str] = set()
    for path in root.rglob("*"):
        if path.is_symlink():
            raise BagMalformed(f"lien symbolique dans le paquet : {path.relative_to(root)}")
        if path.is_file():
            found.add(path.relative_to(root).as_posix())
        elif not path.is_dir():
            raise BagMalformed(f"fichier spécial dans le paquet : {path.relative_to(root)}")
    return found


def payload_failure(path: str, detail: str) -> PackageInvalid:
    if path.startswith(("data/segments/", "data/derived/")):
        return SegmentAltered(detail)
    if path == EVENTS:
        return EventAltered(detail)
    if path.startswith(PROOFS):
        return ProofAltered(detail)
    if path == VKEY:
        return VkeyReplaced(detail)
    if path == CHECKPOINT:
        return CheckpointInvalid(detail)
    return PayloadAltered(detail)


class Check:
    """One verification run over an unpacked bag; failures accumulate in order."""

    def __init__(self, root: Path, trusted_vkey: str | None) -> None:
        self.root = root
        self.trusted_vkey = trusted_vkey
        self.failures: list[PackageInvalid] = []

    def fail(self, failure: PackageInvalid) -> None:
        self.failures.append(failure)

    def text(self, rel: str) -> str:
        return (self.root / rel).read_bytes().decode("utf-8")

    def run(self) -> Verdict:
        verdict = None
        try:
            verdict = self.steps()
        except PackageInvalid as exc:  # a step that cannot go on: later steps are moot
            self.fail(exc)
        if self.failures or verdict is None:
            first = self.failures[0]
            first.failures = self.failures
            raise first
        return verdict

    def steps(self) -> Verdict:
        payload, tags = self.shape()
        key, checkpoint = self.log_key()
        package_id = self.signature(key)
        self.digests(tags, "tag")
        self.digests(payload, "payload")
        leaves = self.events(checkpoint)
        index = self.index(leaves, package_id)
        return Verdict(
            package_id=str(index.get("package_id")),
            export_id=str(index.get("export_id")),
            segments=len(index["segments"]),  # type: ignore[arg-type]
            derived=len(index["derived"]),  # type: ignore[arg-type]
            events=len(leaves),
            tree_size=checkpoint.size,
            origin=checkpoint.origin,
            vkey_pinned=self.trusted_vkey is not None,
        )

    # 1. Shape ------------------------------------------------------------------------------
    def shape(self) -> tuple[dict[str, str], dict[str, str]]:
        try:
            bagit = (self.root / "bagit.txt").read_bytes()
        except FileNotFoundError:
            raise BagMalformed("bagit.txt absent : ce n'est pas un sac BagIt") from None
        if bagit != BAGIT_TXT:
            raise BagMalformed("bagit.txt ne déclare pas BagIt 1.0 en UTF-8")
        if not (self.root / "data").is_dir():
            raise BagMalformed("répertoire data/ absent")
        payload = read_manifest(self.root, MANIFEST)
        tags = read_manifest(self.root, TAG_MANIFEST)
        for path in payload:
            if not path.startswith("data/"):
                raise BagMalformed(f"{MANIFEST} liste {path}, hors de data/")
        for path in tags:
            if path.startswith("data/") or path in (TAG_MANIFEST, SIGNATURE_FILE):
                raise BagMalformed(f"{TAG_MANIFEST} liste {path}, qui n'est pas une étiquette")
        self.presence(set(payload) | set(tags))
        for required in (MANIFEST, "bag-info.txt"):
            if required not in tags:
                raise BagMalformed(f"{TAG_MANIFEST} ne couvre pas {required}")
        for required in (INDEX, EVENTS, CHECKPOINT, VKEY):
            if required not in payload:
                raise BagMalformed(f"{required} n'est pas dans {MANIFEST}")
        return payload, tags

    def presence(self, listed: set[str]) -> None:
        present = files_under(self.root)
        for path in sorted(listed - present):
            self.fail(FileMissing(f"{path} est listé dans un manifeste mais absent"))
        expected = listed | {"bagit.txt", TAG_MANIFEST, SIGNATURE_FILE}
        for path in sorted(present - expected):
            self.fail(FileUnlisted(f"{path} est présent mais listé dans aucun manifeste"))

    # 2. Log key and checkpoint -------------------------------------------------------------
    def log_key(self) -> tuple[LogKey, Checkpoint]:
        try:
            vkey_text = self.text(VKEY).strip()
            key = LogKey.parse(vkey_text)
        except FileNotFoundError:
            raise BagMalformed(f"{VKEY} absent") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise VkeyReplaced(f"{VKEY} illisible : {exc}") from None
        if self.trusted_vkey is not None and vkey_text != self.trusted_vkey.strip():
            self.fail(VkeyUntrusted(f"{VKEY} n'est pas la clé de confiance donnée par --vkey"))
        try:
            note = self.text(CHECKPOINT)
            text = key.open_note(note)
            checkpoint = Checkpoint.parse(text)
        except FileNotFoundError:
            raise BagMalformed(f"{CHECKPOINT} absent") from None
        except LookupError as exc:
            raise VkeyReplaced(
                f"le point de contrôle n'est pas signé par la clé du paquet ({exc})"
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise CheckpointInvalid(f"{CHECKPOINT} : {exc}") from None
        if checkpoint.origin != key.name:
            raise CheckpointInvalid(f"origine {checkpoint.origin!r} ≠ nom de clé {key.name!r}")
        return key, checkpoint

    # 3. Signature over the tag manifest -----------------------------------------------------
    def signature(self, key: LogKey) -> str | None:
        """Return the package id the signature names (checked against the index later)."""
        try:
            text = key.open_note(self.text(SIGNATURE_FILE))
        except FileNotFoundError:
            self.fail(SignatureInvalid(f"{SIGNATURE_FILE} absent"))
            return None
        except (LookupError, ValueError, UnicodeDecodeError) as exc:
            self.fail(SignatureInvalid(f"{SIGNATURE_FILE} : {exc}"))
            return None
        actual = sha256_file(self.root / TAG_MANIFEST)
        lines = text.split("\n")
        if len(lines) != 4 or lines[0] != SIGNATURE_HEADER or lines[2] != actual:
            self.fail(
                SignatureInvalid(
                    f"la signature porte sur un autre manifeste des étiquettes "
                    f"(sha256 actuel {actual})"
                )
            )
            return None
        return lines[1]

    # 4. Digests -----------------------------------------------------------------------------
    def digests(self, manifest: dict[str, str], which: str) -> None:
        actual = {p: sha256_file(self.root / p) for p in manifest if (self.root / p).is_file()}
        wrong = sorted(p for p, d in actual.items() if d != manifest[p])
        swapped: set[str] = set()
        for a in wrong:
            for b in wrong:
                if a < b and actual[a] == manifest[b] and actual[b] == manifest[a]:
                    swapped |= {a, b}
                    self.fail(SegmentsSwapped(f"{a} et {b} ont échangé leur contenu"))
        for path in wrong:
            if path in swapped:
                continue
            detail = f"{path} : sha256 {actual[path]}, le manifeste dit {manifest[path]}"
            self.fail(TagAltered(detail) if which == "tag" else payload_failure(path, detail))

    # 5. Events and their proofs ------------------------------------------------------------
    def events(self, checkpoint: Checkpoint) -> dict[int, Leaf]:
        note = self.text(CHECKPOINT)
        leaves: dict[int, Leaf] = {}
        try:
            lines = (self.root / EVENTS).read_bytes().splitlines(keepends=True)
        except FileNotFoundError:
            return leaves
        proofs = {p.name for p in (self.root / PROOFS).glob("*.tlog-proof")}
        previous = 0
        for number, line in enumerate(lines, 1):
            match = _NID.match(line.decode("utf-8", "replace"))
            if match is None:
                self.fail(EventAltered(f"{EVENTS}, ligne {number} : numéro de notification"))
                continue
            nid = int(match.group(1))
            if nid <= previous:
                self.fail(EventAltered(f"{EVENTS}, ligne {number} : ordre des notifications"))
            previous = max(previous, nid)
            name = f"{nid}.tlog-proof"
            proofs.discard(name)
            leaf = self.proven_leaf(PROOFS + name, note, checkpoint)
            if leaf is None:
                continue
            try:
                expected = leaf.event_line()
            except ValueError as exc:
                self.fail(ProofInvalid(f"{PROOFS}{name} : {exc}"))
                continue
            if leaf.notification_id != nid or line != expected:
                self.fail(
                    EventAltered(
                        f"{EVENTS}, ligne {number} (notification {nid}) : l'événement diffère "
                        "de celui que scelle sa preuve"
                    )
                )
                continue
            leaves[nid] = leaf
        for orphan in sorted(proofs):
            self.fail(IndexMismatch(f"{PROOFS}{orphan} ne prouve aucune ligne de {EVENTS}"))
        return leaves

    def proven_leaf(self, rel: str, note: str, checkpoint: Checkpoint) -> Leaf | None:
        try:
            proof = InclusionProof.parse(self.text(rel))
            if proof.note != note:
                raise ValueError(
                    "la preuve n'est pas établie contre le point de contrôle du paquet"
                )
            leaf = Leaf.parse(proof.extra)
            leaf_hash = hashlib.sha256(b"\x00" + proof.extra).digest()
            root = root_from_inclusion(leaf_hash, proof.index, checkpoint.size, proof.hashes)
            if root != checkpoint.root:
                raise ValueError("la preuve ne mène pas à la racine signée")
        except FileNotFoundError:
            self.fail(FileMissing(f"{rel} absent"))
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            self.fail(ProofInvalid(f"{rel} : {exc}"))
            return None
        return leaf

    # 6. The index --------------------------------------------------------------------------
    def index(self, leaves: dict[int, Leaf], package_id: str | None) -> dict[str, object]:
        try:
            index = json.loads(self.text(INDEX))
            if not isinstance(index, dict) or index.get("format") != PACKAGE_FORMAT:
                raise ValueError(f"format {PACKAGE_FORMAT} attendu")
            for key in ("segments", "derived"):
                if not isinstance(index.get(key), list):
                    raise ValueError(f"liste {key!r} attendue")
        except (OSError, ValueError) as exc:
            raise IndexMismatch(f"{INDEX} illisible : {exc}") from None
        if package_id is not None and index.get("package_id") != package_id:
            self.fail(IndexMismatch(f"la signature est celle du paquet {package_id}"))
        listed = set()
        for entry in index["segments"]:
            listed.add(str(entry.get("file")))
            self.match(entry, leaves, ("scelle:Segment.Recorded",), "sha256", "size")
        for entry in index["derived"]:
            listed.add(str(entry.get("file")))
            self.match(entry, leaves, DERIVATION_TOPICS, "output_sha256", None)
        for folder in ("data/segments", "data/derived"):
            for path in sorted(
                files_under(self.root / folder) if (self.root / folder).is_dir() else set()
            ):
                if f"{folder}/{path}" not in listed:
                    self.fail(IndexMismatch(f"{folder}/{path} n'est pas dans l'index du paquet"))
        return index

    def match(
        self,
        entry: dict[str, object],
        leaves: dict[int, Leaf],
        topics: tuple[str, ...],
        digest: str,
        size: str | None,
    ) -> None:
        rel = str(entry.get("file"))
        nid = entry.get("notification_id")
        leaf = leaves.get(nid) if isinstance(nid, int) else None
        if (
            leaf is None
            or leaf.topic not in topics
            or leaf.originator_id != entry.get("segment_id")
        ):
            self.fail(IndexMismatch(f"{rel} : aucun événement {topics[0]} prouvé ne le décrit"))
            return
        path = self.root / rel
        if not path.is_file() or not rel.startswith("data/"):
            self.fail(FileMissing(f"{rel} absent"))
            return
        state = leaf.state_object()
        actual = sha256_file(path)
        if state.get(digest) != actual:
            self.fail(
                IndexMismatch(
                    f"{rel} : sha256 {actual}, l'événement {nid} enregistre {state.get(digest)}"
                )
            )
        if size is not None and state.get(size) != path.stat().st_size:
            self.fail(IndexMismatch(f"{rel} : taille différente de celle enregistrée"))


# --------------------------------------------------------------------------- entry points


def _unzip(archive: Path, into: Path) -> Path:
    """Extract a zipped bag (one top folder) after checking every member's name and size."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            tops = {PurePosixPath(m.filename).parts[0] for m in members if m.filename}
            if len(tops) != 1 or sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise BagMalformed("l'archive zip doit contenir un seul dossier, le sac")
            for member in members:
                pure = PurePosixPath(member.filename)
                if pure.is_absolute() or ".." in pure.parts or "\\" in member.filename:
                    raise BagMalformed(f"chemin dangereux dans le zip : {member.filename!r}")
                if (member.external_attr >> 16) & 0o170000 == 0o120000:
                    raise BagMalformed(f"lien symbolique dans le zip : {member.filename!r}")
            zipped.extractall(into)
    except zipfile.BadZipFile as exc:
        raise BagMalformed(f"archive zip illisible : {exc}") from None
    return into / tops.pop()


def verify_package(path: Path | str, vkey: str | None = None) -> Verdict:
    """Verify a package directory or zip; return its Verdict or raise ``PackageInvalid``.

    ``vkey`` is the log's public key the verifier trusts (its text); without it, the key
    shipped in the package is used and only pins the package to itself.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} n'existe pas")
    if path.is_dir():
        return _verify_dir(path, vkey)
    with tempfile.TemporaryDirectory(prefix="scelle-verify-") as tmp:
        return _verify_dir(_unzip(path, Path(tmp)), vkey)


def _verify_dir(root: Path, vkey: str | None) -> Verdict:
    try:
        return Check(root, vkey).run()
    except PackageInvalid:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # Fail closed: a package too damaged to be read is a failure, never a pass.
        raise BagMalformed(f"paquet illisible : {exc!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vérifier un paquet de preuve Scellé.")
    parser.add_argument("package", help="répertoire du paquet (sac BagIt) ou son .zip")
    parser.add_argument("--vkey", help="clé publique du journal de confiance, ou son fichier")
    args = parser.parse_args(argv)
    trusted = args.vkey
    try:
        if trusted is not None and Path(trusted).is_file():
            trusted = Path(trusted).read_text(encoding="utf-8")
        verdict = verify_package(args.package, trusted)
    except UsageError as exc:
        print(f"ERREUR {exc}", file=sys.stderr)
        return 2
    except PackageInvalid as exc:
        for failure in exc.failures:
            print(failure.line())
        return 1
    print(verdict.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
