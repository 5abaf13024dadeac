"""Proof files that travel with exports: inclusion (C2SP tlog-proof) and consistency.

Why files: a prosecutor or inspector must be able to check, offline and with nothing but
the log's public key, that an event is in the ledger (inclusion) and that a later
checkpoint extends an earlier one (consistency). Each file carries its signed checkpoint.

Parsing here is syntax only, but strict and byte-exact (``parse(t).to_text() == t``);
the embedded note is checked to be a well-formed checkpoint note, not verified: call
``open(verifier)`` and then check the Merkle proof against the returned checkpoint.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from evidence.ledger.checkpoint import Checkpoint, open_checkpoint, parse_decimal
from evidence.ledger.note import NoteError, Verifier, b64decode_strict, split_note

INCLUSION_HEADER = "c2sp.org/tlog-proof@v1"
CONSISTENCY_HEADER = "scelle.fr/tlog-consistency@v1"
MAX_INDEX = 2**64 - 1
MAX_INCLUSION_HASHES = 64  # one per tree level of a uint64-sized tree
MAX_CONSISTENCY_HASHES = 128  # generous bound: at most two per level


class ProofFileError(Exception):
    """Base class of every proof-file parsing failure."""


class MalformedProofFile(ProofFileError):
    """The file's own lines (header, fields, hashes, separator) are not as specified."""


class BadEmbeddedCheckpoint(ProofFileError):
    """The trailing note is not a checkpoint note, or contradicts the proof's sizes."""


def _checkpoint_of(note: str) -> Checkpoint:
    """Syntax check of the embedded note and its checkpoint body; nothing is verified."""
    try:
        return Checkpoint.parse(split_note(note)[0])
    except NoteError as exc:
        raise BadEmbeddedCheckpoint(f"embedded checkpoint: {exc}") from exc


def _check_hashes(hashes: tuple[bytes, ...], limit: int) -> None:
    if not isinstance(hashes, tuple) or len(hashes) > limit:
        raise MalformedProofFile(f"proof hashes must be a tuple of at most {limit}")
    if any(not isinstance(h, bytes) or len(h) != 32 for h in hashes):
        raise MalformedProofFile("every proof hash must be 32 bytes")


def _decode(text: str | bytes) -> str:
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedProofFile("proof file is not valid UTF-8") from exc


def _take_line(text: str) -> tuple[str, str]:
    line, newline, rest = text.partition("\n")
    if not newline:
        raise MalformedProofFile("unexpected end of proof file")
    return line, rest


def _number(line: str, keyword: str) -> int:
    """A ``<keyword> <decimal>`` line: one space, no leading zeroes."""
    if not line.startswith(keyword + " "):
        raise MalformedProofFile(f"expected '{keyword} <N>', got {line!r}")
    try:
        return parse_decimal(line[len(keyword) + 1 :], MAX_INDEX)
    except ValueError as exc:
        raise MalformedProofFile(f"{keyword}: {exc}") from exc


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _read_hashes(text: str, limit: int) -> tuple[tuple[bytes, ...], str]:
    """Non-empty base64 lines up to the first empty line; returns (hashes, rest = note)."""
    hashes: list[bytes] = []
    line, text = _take_line(text)
    while line:
        try:
            hashes.append(b64decode_strict(line))
        except ValueError as exc:
            raise MalformedProofFile(f"proof hash: {exc}") from exc
        if len(hashes) > limit:
            raise MalformedProofFile(f"more than {limit} proof hashes")
        line, text = _take_line(text)
    return tuple(hashes), text


def _hash_block(hashes: tuple[bytes, ...], note: str) -> str:
    return "".join(f"{_b64(h)}\n" for h in hashes) + "\n" + note


@dataclass(frozen=True)
class InclusionProofFile:
    """c2sp.org/tlog-proof@v1: entry ``index`` is in the tree of ``checkpoint_note``."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None  # opaque, NOT authenticated; None = no extra line

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise MalformedProofFile("index must be an int")
        if self.extra is not None and (not isinstance(self.extra, bytes) or not self.extra):
            raise MalformedProofFile("extra must be None or non-empty bytes")
        _check_hashes(self.hashes, MAX_INCLUSION_HASHES)
        if not 0 <= self.index < _checkpoint_of(self.checkpoint_note).size:
            raise BadEmbeddedCheckpoint(f"index {self.index} is outside the checkpoint's tree")

    def to_text(self) -> str:
        extra = "" if self.extra is None else f"extra {_b64(self.extra)}\n"
        head = f"{INCLUSION_HEADER}\n{extra}index {self.index}\n"
        return head + _hash_block(self.hashes, self.checkpoint_note)

    @classmethod
    def parse(cls, text: str | bytes) -> InclusionProofFile:
        # 1. First line: "c2sp.org/tlog-proof@v1".
        line, rest = _take_line(_decode(text))
        if line != INCLUSION_HEADER:
            raise MalformedProofFile(f"first line must be {INCLUSION_HEADER!r}")
        # 2. Optional "extra <base64>" line.
        line, rest = _take_line(rest)
        extra = None
        if line.startswith("extra "):
            try:
                extra = b64decode_strict(line.removeprefix("extra "))
            except ValueError as exc:
                raise MalformedProofFile(f"extra: {exc}") from exc
            line, rest = _take_line(rest)
        # 3. "index <N>", zero-based, no leading zeroes.
        index = _number(line, "index")
        # 4. Zero or more base64 hashes (leaf's sibling first), then an empty line.
        hashes, note = _read_hashes(rest, MAX_INCLUSION_HASHES)
        # 5. The checkpoint note, verbatim, to the end of the file.
        return cls(index, hashes, note, extra)

    def open(self, verifier: Verifier) -> Checkpoint:
        """Verify the embedded checkpoint with the log key (NoteError on failure)."""
        return open_checkpoint(self.checkpoint_note, verifier)


@dataclass(frozen=True)
class ConsistencyProofFile:
    """scelle.fr/tlog-consistency@v1: the tree at ``old_size`` is a prefix of the new one."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str  # the NEW checkpoint, signed

    def __post_init__(self) -> None:
        for size in (self.old_size, self.new_size):
            if isinstance(size, bool) or not isinstance(size, int):
                raise MalformedProofFile("sizes must be ints")
        # A proof from the empty tree proves nothing (transparency-dev rejects it too).
        if not 1 <= self.old_size <= self.new_size:
            raise MalformedProofFile("need 1 <= old size <= new size")
        _check_hashes(self.hashes, MAX_CONSISTENCY_HASHES)
        if _checkpoint_of(self.checkpoint_note).size != self.new_size:
            raise BadEmbeddedCheckpoint("new size differs from the checkpoint's tree size")

    def to_text(self) -> str:
        head = f"{CONSISTENCY_HEADER}\nold {self.old_size}\nnew {self.new_size}\n"
        return head + _hash_block(self.hashes, self.checkpoint_note)

    @classmethod
    def parse(cls, text: str | bytes) -> ConsistencyProofFile:
        # 1. First line: "scelle.fr/tlog-consistency@v1".
        line, rest = _take_line(_decode(text))
        if line != CONSISTENCY_HEADER:
            raise MalformedProofFile(f"first line must be {CONSISTENCY_HEADER!r}")
        # 2-3. "old <size1>" then "new <size2>".
        line, rest = _take_line(rest)
        old_size = _number(line, "old")
        line, rest = _take_line(rest)
        new_size = _number(line, "new")
        # 4. Zero or more base64 hashes (RFC 9162 §2.1.4 order), then an empty line.
        hashes, note = _read_hashes(rest, MAX_CONSISTENCY_HASHES)
        # 5. The new checkpoint's signed note, verbatim, to the end of the file.
        return cls(old_size, new_size, hashes, note)

    def open(self, verifier: Verifier) -> Checkpoint:
        """Verify the embedded (new) checkpoint with the log key (NoteError on failure)."""
        return open_checkpoint(self.checkpoint_note, verifier)
