"""Leaf input: the bytes that seal one stored event into the ledger (docs/FORMATS.md §1).

The input is built from the record *as stored* — the notification id, the originator id and
version, the topic and the SHA-256 of the exact stored state bytes — never from a decoded and
re-serialised object, so that any change to a stored byte changes the leaf.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from uuid import UUID

LEAF_PREFIX = b"scelle/leaf/v1\n"
_HEADER = struct.Struct(">Q16sQH")  # notification id, originator id, version, topic length
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


@dataclass(frozen=True)
class LeafInput:
    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state_sha256: bytes

    def encode(self) -> bytes:
        topic = self.topic.encode("utf-8")
        return b"".join(
            (
                LEAF_PREFIX,
                _HEADER.pack(
                    self.notification_id,
                    self.originator_id.bytes,
                    self.originator_version,
                    len(topic),
                ),
                topic,
                self.state_sha256,
            )
        )

    @classmethod
    def of(cls, record: StoredRecord) -> LeafInput:
        return cls(
            record.notification_id,
            record.originator_id,
            record.originator_version,
            record.topic,
            hashlib.sha256(record.state).digest(),
        )

    @classmethod
    def decode(cls, data: bytes) -> LeafInput:
        """Parse strictly: a proof's leaf must be exactly one well-formed input."""
        if not data.startswith(LEAF_PREFIX):
            raise LeafFormatError("leaf input does not start with 'scelle/leaf/v1\\n'")
        offset = len(LEAF_PREFIX)
        if len(data) < offset + _HEADER.size + HASH_SIZE:
            raise LeafFormatError("leaf input is too short")
        nid, oid, version, topic_len = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        if len(data) != offset + topic_len + HASH_SIZE:
            raise LeafFormatError("leaf input length does not match its topic length")
        try:
            topic = data[offset : offset + topic_len].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LeafFormatError("leaf topic is not UTF-8") from exc
        return cls(nid, UUID(bytes=oid), version, topic, data[offset + topic_len :])


def leaf_input(record: StoredRecord) -> bytes:
    return LeafInput.of(record).encode()


def leaf_hash_of(record: StoredRecord) -> bytes:
    """RFC 9162 leaf hash of the record's leaf input."""
    return hashlib.sha256(b"\x00" + leaf_input(record)).digest()


def chain_next(previous: bytes, leaf_hash: bytes) -> bytes:
    """chain[i] = SHA-256(chain[i-1] || leaf_hash[i]), chain[-1] = 32 zero bytes."""
    return hashlib.sha256(previous + leaf_hash).digest()
