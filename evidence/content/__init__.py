"""The encrypted content store: video segments, thumbnails and extracts, crypto-shreddable.

``stream`` is the blob format (chunked AES-256-GCM, STREAM construction), ``keys`` the key
table kept outside the event log, ``blobs`` the store port and its filesystem adapter, ``s3``
the S3 adapter (imported on demand, so the embedded setup never loads botocore), and ``vault``
the use-facing whole. Byte layouts are in docs/FORMATS.md and in each module's docstring.
"""

from evidence.content.blobs import BlobStore, FilesystemBlobStore
from evidence.content.errors import (
    BlobExistsError,
    BlobNotFoundError,
    ContentError,
    DigestMismatchError,
    DuplicateKeyError,
    IntegrityError,
    InvalidBlobIdError,
    KeyDestroyedError,
    KeyNotFoundError,
    KeyTableError,
    MalformedBlobError,
    RangeError,
)
from evidence.content.keys import KeyTable
from evidence.content.vault import ContentVault, Reconciliation, Shredded, StoredBlob

__all__ = [
    "BlobExistsError",
    "BlobNotFoundError",
    "BlobStore",
    "ContentError",
    "ContentVault",
    "DigestMismatchError",
    "DuplicateKeyError",
    "FilesystemBlobStore",
    "IntegrityError",
    "InvalidBlobIdError",
    "KeyDestroyedError",
    "KeyNotFoundError",
    "KeyTable",
    "KeyTableError",
    "MalformedBlobError",
    "RangeError",
    "Reconciliation",
    "Shredded",
    "StoredBlob",
]
