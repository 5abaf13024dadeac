"""The content vault: encrypted, range-readable, crypto-shreddable blobs.

It ties the three parts together in the orders that make crashes harmless:

* ``put``: data key durable, then blob durable, then return; only then may the caller record
  the event. A crash in between leaves a key or a blob with no event, which
  :meth:`ContentVault.orphans` reports at start-up; never an event without its blob.
* ``shred``: key destroyed first, then blob deleted; the caller records the purge event
  after. A crash in between leaves an unreadable blob, and ``shred`` is simply run again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

from evidence.content.blobs import BlobStore, check_blob_id
from evidence.content.errors import (
    DigestMismatchError,
    IntegrityError,
    InvalidBlobIdError,
    KeyNotFoundError,
    RangeError,
)
from evidence.content.keys import KeyTable
from evidence.content.stream import (
    DEFAULT_CHUNK_SIZE,
    HEADER_SIZE,
    Decryptor,
    Encryptor,
    Header,
    Layout,
    Source,
)

DEFAULT_READ_BATCH: Final = 8 << 20
_LAYOUT_CACHE_SIZE: Final = 4096


def derived_id(owner: str, kind: str) -> str:
    """The id of a rendition (thumbnail, masked copy…) kept under ``owner``'s key."""
    return check_blob_id(f"{owner}.{kind}")


def key_owner(blob_id: str) -> str:
    """The blob whose data key encrypts ``blob_id``: itself, or the owner of a rendition."""
    return blob_id.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What the ``Segment recorded`` event needs to say about the stored content."""

    blob_id: str
    plaintext_sha256: str
    plaintext_size: int
    stored_size: int


@dataclass(frozen=True, slots=True)
class Shredded:
    """What one ``shred`` call did (for the purge event and the purge proof)."""

    blob_id: str
    key: Literal["destroyed", "already-destroyed", "absent"]
    blob_deleted: bool


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Differences between the log's live blob ids and what the stores hold (sorted ids).

    * ``orphan_blobs``, ``orphan_keys``: content with no live event (a crash before the
      ``recorded`` event, or after a purge event whose shred did not finish): shred them.
    * ``unrecorded_purges``: live in the log but the key is destroyed (a crash between the
      shred and the ``purged`` event): finish the shred and record the purge.
    * ``missing_blobs``, ``missing_keys``: live in the log, content gone with no purge:
      an integrity alarm.
    """

    orphan_blobs: tuple[str, ...]
    orphan_keys: tuple[str, ...]
    unrecorded_purges: tuple[str, ...]
    missing_blobs: tuple[str, ...]
    missing_keys: tuple[str, ...]


class ContentVault:
    """Encrypts with a fresh key per blob; reads and authenticates only the chunks it needs.

    Headers and sizes are cached (blobs are write-once) to save two round trips per range
    read on S3; the key is fetched from the key table on every read, so a key destroyed by
    another process is never used from a cache.
    """

    def __init__(
        self,
        keys: KeyTable,
        blobs: BlobStore,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        read_batch: int = DEFAULT_READ_BATCH,
    ) -> None:
        Header.new(chunk_size)  # refuse a bad chunk size now, not after creating a key
        self.keys = keys
        self.blobs = blobs
        self.chunk_size = chunk_size
        self.read_batch = read_batch
        self._layouts: OrderedDict[str, Layout] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, blob_id: str, source: Source) -> StoredBlob:
        """Encrypt ``source`` (binary file or iterable of bytes) and store it durably.

        A derived id (``<owner>.<kind>``, see :func:`derived_id`) is encrypted under its
        owner's key, so that destroying one key makes every rendition of a segment unreadable.
        If storing fails, a fresh key is destroyed before the error propagates; should that
        fail too, the key is an orphan for :meth:`orphans` to report.
        """
        check_blob_id(blob_id)
        owner = key_owner(blob_id)
        fresh = owner == blob_id
        key = self.keys.create(blob_id) if fresh else self.keys.get(owner)
        encryptor = Encryptor(key, source, self.chunk_size)
        try:
            stored_size = self.blobs.put(blob_id, encryptor.views())
            if stored_size != encryptor.stored_size:
                raise IntegrityError(f"store wrote {stored_size} of {encryptor.stored_size} bytes")
        except BaseException:
            if fresh:
                with contextlib.suppress(Exception):  # the original error is the one to report
                    self.keys.destroy(blob_id)
            raise
        return StoredBlob(
            blob_id, encryptor.plaintext_sha256, encryptor.plaintext_size, stored_size
        )

    def plaintext_size(self, blob_id: str) -> int:
        """Plaintext length, from the stored size alone (no key needed)."""
        return self._layout(blob_id).plaintext_size

    def read_range(self, blob_id: str, start: int, end: int) -> bytes:
        """Return plaintext ``[start, end)``, decrypting only the chunks it overlaps."""
        return b"".join(self.iter_range(blob_id, start, end))

    def read_all(self, blob_id: str) -> bytes:
        """Return the whole plaintext (every chunk authenticated, the final one included)."""
        return b"".join(self.iter_range(blob_id))

    def iter_range(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield plaintext ``[start, end)`` chunk by chunk (to the end if ``end`` is None).

        Stored bytes are fetched ``read_batch`` bytes at a time (one ranged GET each on S3).
        Key, header and range are checked now, so a shredded blob or a bad range raises here
        rather than at the first ``next``. A whole read authenticates every chunk, including
        an empty final one, so a truncated blob cannot pass for a shorter plaintext.
        """
        key = self.keys.get(key_owner(blob_id))
        layout = self._layout(blob_id)
        batch = self.read_batch // layout.header.chunk_size
        fetch = functools.partial(self._fetch, blob_id)
        return Decryptor(key, layout).read(fetch, start, end, batch_chunks=batch)

    def verify(self, blob_id: str, plaintext_sha256: str, plaintext_size: int) -> None:
        """Decrypt everything and check it against the recorded digest and size, or raise."""
        digest, size = hashlib.sha256(), 0
        for piece in self.iter_range(blob_id):
            digest.update(piece)
            size += len(piece)
        if size != plaintext_size or digest.hexdigest() != plaintext_sha256.lower():
            raise DigestMismatchError(
                f"{blob_id}: plaintext is sha256 {digest.hexdigest()} ({size} bytes), "
                f"recorded {plaintext_sha256} ({plaintext_size} bytes)"
            )

    def shred(self, blob_id: str, derived: Iterable[str] = ()) -> Shredded:
        """Destroy the key, then delete the blob and its derived renditions.

        Idempotent: run it again after a crash. ``derived`` names the renditions stored under
        this blob's key (the log knows them); they are unreadable once the key is gone, and
        deleted too.
        """
        check_blob_id(blob_id)
        if key_owner(blob_id) != blob_id:
            raise InvalidBlobIdError(f"{blob_id} is a derived rendition: shred its owner")
        others = [check_blob_id(d) for d in derived]
        if any(key_owner(d) != blob_id for d in others):
            raise InvalidBlobIdError(f"not all of {others} are renditions of {blob_id}")
        key: Literal["destroyed", "already-destroyed", "absent"]
        try:
            key = "destroyed" if self.keys.destroy(blob_id) else "already-destroyed"
        except KeyNotFoundError:
            key = "absent"
        with self._lock:
            for gone in (blob_id, *others):
                self._layouts.pop(gone, None)
        deleted = self.blobs.delete(blob_id)
        for other in others:
            self.blobs.delete(other)
        return Shredded(blob_id, key, deleted)

    def shred_many(self, owners: dict[str, list[str]]) -> dict[str, tuple[str, list[str]]]:
        """:meth:`shred` for a purge batch: every key destroyed in one key-table transaction,
        then the blobs deleted (in one batch where the store can). ``owners`` maps each blob
        to the renditions the log knows; a store that can list them (the filesystem's
        ``renditions``) adds any other. Returns, per owner, the key's outcome and every id
        deleted or already absent. Idempotent, like :meth:`shred`.
        """
        targets: dict[str, list[str]] = {}
        for owner, derived in owners.items():
            check_blob_id(owner)
            found = set(derived) | set(getattr(self.blobs, "renditions", lambda _: [])(owner))
            if key_owner(owner) != owner or any(key_owner(d) != owner for d in found):
                raise InvalidBlobIdError(f"{owner}: not an owner with its own renditions")
            targets[owner] = [owner, *sorted(found)]
        outcome = self.keys.destroy_many(list(targets))
        every = [blob for ids in targets.values() for blob in ids]
        with self._lock:
            for gone in every:
                self._layouts.pop(gone, None)
        delete_many = getattr(self.blobs, "delete_many", None)
        if delete_many is not None:
            delete_many(every)
        else:
            for blob in every:
                self.blobs.delete(blob)
        return {owner: (outcome[owner], ids) for owner, ids in targets.items()}

    def delete_rendition(self, blob_id: str) -> bool:
        """Delete one derived rendition (to remake it), keeping its owner and their key."""
        check_blob_id(blob_id)
        if key_owner(blob_id) == blob_id:
            raise InvalidBlobIdError(f"{blob_id} is not a derived rendition: shred it instead")
        with self._lock:
            self._layouts.pop(blob_id, None)
        return self.blobs.delete(blob_id)

    def orphans(self, live_ids: Iterable[str]) -> Reconciliation:
        """Compare the ids the log holds as live with the key table and the blob store.

        Run it at start-up, before ingest resumes: a ``put`` in flight looks like an orphan.
        """
        live, keyed, stored = set(live_ids), set(self.keys.ids()), set(self.blobs.iter_ids())
        owners = {key_owner(i) for i in live}
        purged = owners & set(self.keys.destroyed_ids())
        return Reconciliation(
            orphan_blobs=tuple(sorted(stored - live)),
            orphan_keys=tuple(sorted(keyed - owners)),
            unrecorded_purges=tuple(sorted(purged)),
            missing_blobs=tuple(sorted(i for i in live - stored if key_owner(i) not in purged)),
            missing_keys=tuple(sorted(owners - keyed - purged)),
        )

    def _layout(self, blob_id: str) -> Layout:
        with self._lock:
            if (layout := self._layouts.get(blob_id)) is not None:
                self._layouts.move_to_end(blob_id)
                return layout
        stored_size = self.blobs.size(blob_id)
        header = self._fetch(blob_id, 0, min(HEADER_SIZE, stored_size))
        layout = Layout.of(Header.parse(header), stored_size)
        with self._lock:
            self._layouts[blob_id] = layout
            if len(self._layouts) > _LAYOUT_CACHE_SIZE:
                self._layouts.popitem(last=False)
        return layout

    def _fetch(self, blob_id: str, start: int, end: int) -> bytes:
        """Read stored bytes; a range the layout promised but the store lacks is tampering."""
        try:
            return self.blobs.get_range(blob_id, start, end)
        except RangeError:
            with self._lock:
                self._layouts.pop(blob_id, None)
            raise IntegrityError(f"{blob_id} changed size since it was stored") from None
