"""Errors of the content store: one base class, one subclass per failure.

Verification here never returns ``False``: it returns or raises. Callers at the application edge
translate these into domain errors (``SegmentNotFound``, an integrity alarm, ...); everything
that means "these bytes cannot be trusted" is an :class:`IntegrityError`, so a caller that
catches that one class fails closed on every variant.
"""

from __future__ import annotations


class ContentError(Exception):
    """Base class of every error raised by ``evidence.content``."""


class IntegrityError(ContentError):
    """Stored bytes failed authentication: altered, truncated, extended, reordered or moved."""


class MalformedBlobError(IntegrityError):
    """A stored blob cannot even be parsed (bad magic, unknown version, impossible length).

    It is an integrity failure: the store only ever holds blobs this code wrote, so a blob that
    does not parse was corrupted or replaced, and it cannot be authenticated either way.
    """


class DigestMismatchError(IntegrityError):
    """The blob decrypts, but its plaintext is not the one whose digest was recorded."""


class RangeError(ContentError, ValueError):
    """A byte range outside ``0 <= start <= end <= size``."""


class InvalidBlobIdError(ContentError, ValueError):
    """A blob id that is not lowercase hex/uuid-like (it would name a path or an object key)."""


class BlobNotFoundError(ContentError):
    """No stored object under this blob id."""


class BlobExistsError(ContentError):
    """A blob id is written once; a second ``put`` would overwrite evidence."""


class KeyTableError(ContentError):
    """The key table or a key-encryption key file is unusable (missing, insecure, busy)."""


class KeyNotFoundError(KeyTableError):
    """No data key was ever created for this blob id."""


class KeyDestroyedError(KeyTableError):
    """The data key existed and was destroyed: the blob is crypto-shredded."""


class DuplicateKeyError(KeyTableError):
    """A data key exists, or existed, for this blob id; ids are never reused."""
