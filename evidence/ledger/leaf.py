"""Leaf input: the bytes that seal one stored event into the ledger (docs/FORMATS.md §1).

The input is built from the record *as stored* — the notification id, the originator id and
version, the topic and the exact stored state bytes — never from a decoded and re-serialised
object, so that any change to a stored byte changes the leaf. Carrying the state itself (not
its hash) costs one hash less per event and lets an inclusion proof carry the whole event.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

LEAF_PREFIX = b"scelle/leaf/v1\n"
#: notification id, originator id (16 raw bytes), originator version, topic length
HEADER = struct.Struct(">Q16sQH")
HASH_SIZE = 32
ZERO_CHAIN = bytes(HASH_SIZE)


class LeafFormatError(ValueError):
    """A leaf input does not have the documented layout."""


@dataclass(frozen=True)
class StoredRecord:
    """One row of the event store, exactly as stored."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes

    def leaf_input(self) -> bytes:
        topic = self.topic.encode("utf-8")
        header = HEADER.pack(
            self.notification_id, self.originator_id.bytes, self.originator_version, len(topic)
        )
        return b"".join((LEAF_PREFIX, header, topic, self.state))

    @classmethod
    def from_leaf_input(cls, data: bytes) -> StoredRecord:
        """Parse strictly: a proof's leaf must be exactly one well-formed input."""
        if not data.startswith(LEAF_PREFIX):
            raise LeafFormatError("leaf input does not start with 'scelle/leaf/v1\\n'")
        offset = len(LEAF_PREFIX)
        if len(data) < offset + HEADER.size:
            raise LeafFormatError("leaf input is too short for its header")
        nid, oid, version, topic_len = HEADER.unpack_from(data, offset)
        offset += HEADER.size
        if len(data) < offset + topic_len:
            raise LeafFormatError("leaf input is shorter than its topic length says")
        try:
            topic = data[offset : offset + topic_len].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LeafFormatError("leaf topic is not UTF-8") from exc
        return cls(nid, UUID(bytes=oid), version, topic, data[offset + topic_len :])


def leaf_input(record: StoredRecord) -> bytes:
    return record.leaf_input()


def leaf_hash_of(record: StoredRecord) -> bytes:
    """RFC 9162 leaf hash of the record's leaf input."""
    return hashlib.sha256(b"\x00" + record.leaf_input()).digest()


def chain_values(previous: bytes, leaf_hashes: Iterable[bytes]) -> list[bytes]:
    """chain[i] for each leaf hash in turn, after ``previous`` (chain[-1] = 32 zero bytes).

    Each value depends on the one before, so this is the one per-leaf Python loop of a seal;
    it is kept as tight as a loop can be."""
    out: list[bytes] = []
    append = out.append
    sha256 = hashlib.sha256
    for leaf in leaf_hashes:
        previous = sha256(previous + leaf).digest()
        append(previous)
    return out


def chain_next(previous: bytes, leaf_hash: bytes) -> bytes:
    """chain[i] = SHA-256(chain[i-1] || leaf_hash[i]), chain[-1] = 32 zero bytes."""
    return hashlib.sha256(previous + leaf_hash).digest()
