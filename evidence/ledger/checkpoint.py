"""C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint), signed as C2SP notes.

Why: a checkpoint is the one small statement (origin, tree size, root hash) that outside
parties keep and cosign; if the log key ever signs two histories, two such checkpoints
with no consistency proof between them are the evidence. The text must therefore have a
single spelling: ``parse`` accepts exactly what ``to_text`` writes.

Scellé's rule on top of the spec's SHOULD: the log's key name IS the origin line.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from evidence.ledger.note import (
    NoteError,
    Signer,
    Verifier,
    b64decode_strict,
    open_note,
    sign_note,
)

MAX_TREE_SIZE = 2**64 - 1  # RFC 6962 tree sizes are uint64
_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII digits, no leading zeroes
_CONTROL = re.compile(r"[\x00-\x1f]")


class MalformedCheckpoint(NoteError):
    """The note text is not a well-formed checkpoint body."""


class OriginMismatch(NoteError):
    """The checkpoint's origin line differs from the log key's name."""


def parse_decimal(text: str, limit: int = MAX_TREE_SIZE) -> int:
    """ASCII decimal with no leading zeroes (``0`` alone is allowed), at most ``limit``."""
    if not _DECIMAL.fullmatch(text) or int(text) > limit:
        raise ValueError(f"not a canonical decimal up to {limit}: {text!r}")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """origin, tree size, RFC 6962 root hash, and opaque extension lines (discouraged)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.extensions, tuple):
            raise MalformedCheckpoint("extensions must be a tuple of lines")
        for line in (self.origin, *self.extensions):
            if not isinstance(line, str) or not line or _CONTROL.search(line):
                raise MalformedCheckpoint(f"line {line!r} is empty or holds a control character")
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise MalformedCheckpoint(f"line {line!r} is not valid UTF-8") from exc
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise MalformedCheckpoint("tree size must be an int")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint(f"tree size {self.size} out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise MalformedCheckpoint("root hash must be 32 bytes")

    def to_text(self) -> str:
        """``<origin>\\n<size>\\n<base64 root>\\n`` then one line per extension."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = (self.origin, str(self.size), root, *self.extensions)
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Strict inverse of :meth:`to_text`; raises :class:`MalformedCheckpoint`."""
        # 0. A note text ends in a newline; every line is newline-terminated.
        if not text.endswith("\n"):
            raise MalformedCheckpoint("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        # 1-4. At least three non-empty lines: origin, size, root hash, then extensions.
        if len(lines) < 3 or "" in lines:
            raise MalformedCheckpoint("checkpoint needs >= 3 lines, none of them empty")
        origin, size_line, root_line, *extensions = lines
        try:
            size = parse_decimal(size_line)
            root = b64decode_strict(root_line)
        except ValueError as exc:
            raise MalformedCheckpoint(str(exc)) from exc
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """Sign a checkpoint as a note with the log key, whose name must be the origin."""
    if checkpoint.origin != signer.name:
        raise OriginMismatch(f"origin {checkpoint.origin!r} is not key name {signer.name!r}")
    return sign_note(checkpoint.to_text(), [signer])


def open_checkpoint(note: str | bytes, verifier: Verifier) -> Checkpoint:
    """Verify a checkpoint note with the log's key; witness cosignatures are ignored here."""
    if not isinstance(verifier, Verifier):
        raise TypeError("a checkpoint is signed by a log Verifier (type 0x01)")
    opened = open_note(note, [verifier])
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != verifier.name:
        raise OriginMismatch(f"origin {checkpoint.origin!r} is not key name {verifier.name!r}")
    return checkpoint
