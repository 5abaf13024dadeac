"""Writing a BagIt bag (RFC 8493, version 1.0) with SHA-256 manifests, signed, and zipped.

Every file is hashed while it is written, never read back; each is fsynced, so that the
``Export.Produced`` event recorded after ``finish`` never names a package a crash lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from evidence.ledger.note import Signer, sign_note

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE_FILE = "tagmanifest-sha256.txt.sig"
SIGNATURE_HEADER = "scelle.fr/package-signature@v1"
_SAFE_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
#: Already compressed: deflating them again costs time for nothing.
_STORED_SUFFIXES = (".mp4", ".mkv", ".ts", ".jpg", ".webm", ".avi")


def one_line(value: str) -> str:
    """bag-info values are single lines; user text (an authority's name) is folded."""
    return " ".join(value.split())


class BagWriter:
    """Files go under ``root``; payload paths start with ``data/``, tag files do not."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "data").mkdir(parents=True)
        self.payload: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.payload_bytes = 0

    def _check(self, rel: str) -> None:
        if not _SAFE_PATH.fullmatch(rel) or rel in self.payload or rel in self.tags:
            raise ValueError(f"unsafe or duplicate bag path {rel!r}")

    def _write(self, rel: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        self._check(rel)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open(path, "xb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        return digest.hexdigest(), size

    def add(self, rel: str, chunks: Iterable[bytes] | bytes) -> tuple[str, int]:
        """Add a payload file (``data/…``); return its SHA-256 and size."""
        if not rel.startswith("data/"):
            raise ValueError(f"payload path {rel!r} must start with data/")
        sha, size = self._write(rel, [chunks] if isinstance(chunks, bytes) else chunks)
        self.payload[rel] = sha
        self.payload_bytes += size
        return sha, size

    def add_tag(self, rel: str, data: bytes) -> None:
        if rel.startswith("data/"):
            raise ValueError(f"tag file {rel!r} must lie outside data/")
        self.tags[rel] = self._write(rel, [data])[0]

    def finish(self, info: dict[str, str], package_id: str, signer: Signer) -> str:
        """Write bagit.txt, bag-info.txt, both manifests and the signature; return the
        tag manifest's SHA-256 (recorded in ``Export.Produced``)."""
        self._write("bagit.txt", [BAGIT_TXT])
        fields = {
            **info,
            "Bagging-Date": date.today().isoformat(),
            "Payload-Oxum": f"{self.payload_bytes}.{len(self.payload)}",
        }
        text = "".join(f"{k}: {one_line(v)}\n" for k, v in fields.items())
        self.add_tag("bag-info.txt", text.encode("utf-8"))
        manifest = "".join(f"{sha}  {rel}\n" for rel, sha in sorted(self.payload.items()))
        self.add_tag(MANIFEST, manifest.encode("utf-8"))
        tag_manifest = "".join(f"{sha}  {rel}\n" for rel, sha in sorted(self.tags.items()))
        tag_sha, _ = self._write(TAG_MANIFEST, [tag_manifest.encode("utf-8")])
        note = sign_note(f"{SIGNATURE_HEADER}\n{package_id}\n{tag_sha}\n", [signer])
        self._write(SIGNATURE_FILE, [note.encode("utf-8")])
        fsync_dir(self.root)
        return tag_sha


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def zip_bag(root: Path, target: Path) -> None:
    """The bag as one zip with its folder on top (the usual serialisation of a bag)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "x", allowZip64=True) as archive:
        for path in files:
            rel = path.relative_to(root).as_posix()
            method = zipfile.ZIP_STORED if rel.endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            archive.write(path, f"{root.name}/{rel}", compress_type=method)
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())
