"""Where encrypted blobs live: the ``BlobStore`` port and its filesystem adapter.

A store sees only ciphertext and never interprets it. Its contract (run by the same tests
against every adapter): ``put`` is atomic and write-once, so a reader sees the whole object or
nothing and evidence is never overwritten; ``get_range`` returns exactly the bytes asked for or
raises; ``delete`` is idempotent, because a purge interrupted by a crash is simply run again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, Protocol, TypeVar

from evidence.content.errors import (
    BlobExistsError,
    BlobNotFoundError,
    InvalidBlobIdError,
    RangeError,
)

#: Threads that unlink a purge batch (see :meth:`FilesystemBlobStore.delete_many`).
DELETE_THREADS: Final = 8
BLOB_ID_PATTERN: Final = re.compile(r"[0-9a-f]{4}[0-9a-f-]{4,124}(?:\.[a-z]{1,16})?")


def check_blob_id(blob_id: str) -> str:
    """Return ``blob_id`` if it is 8-128 lowercase hex digits and dashes, starting with 4 hex,
    optionally followed by one ``.kind`` suffix of lowercase letters (a derived rendition).

    That admits SHA-256 hex digests, random hex ids and canonical UUID strings, and nothing
    that could climb out of a directory or collide on a case-insensitive filesystem.
    """
    if not isinstance(blob_id, str) or not BLOB_ID_PATTERN.fullmatch(blob_id):
        raise InvalidBlobIdError(f"invalid blob id {blob_id!r}")
    return blob_id


def check_range(start: int, end: int, size: int) -> None:
    """Raise :class:`RangeError` unless ``0 <= start <= end <= size``."""
    if not 0 <= start <= end <= size:
        raise RangeError(f"range [{start}, {end}) outside an object of {size} bytes")


class BlobStore(Protocol):
    """Write-once storage of opaque (encrypted) objects addressed by blob id."""

    def put(self, blob_id: str, chunks: Iterable[bytes | memoryview]) -> int:
        """Store the concatenated ``chunks`` atomically; return the size stored.

        Durable on return. Raises :class:`BlobExistsError` if the id is taken; if ``chunks``
        raises, nothing is left behind and the exception propagates. A chunk may be a view
        of a buffer its producer reuses (:meth:`~evidence.content.stream.Encryptor.views`):
        write or copy each one before asking for the next.
        """
        ...

    def get_range(self, blob_id: str, start: int, end: int) -> bytes:
        """Return exactly the stored bytes ``[start, end)``."""
        ...

    def size(self, blob_id: str) -> int:
        """Return the stored object's size in bytes."""
        ...

    def exists(self, blob_id: str) -> bool:
        """Tell whether an object is stored under ``blob_id``."""
        ...

    def delete(self, blob_id: str) -> bool:
        """Delete the object if present; return whether this call removed one."""
        ...

    def iter_ids(self) -> Iterator[str]:
        """Yield the id of every stored object (for reconciliation and storage audits)."""
        ...


class FilesystemBlobStore:
    """Blobs as files ``root/ab/cd/<blob_id>``, written by temp file, fsync, link, fsync.

    Sharding on the first four hex digits keeps directories small at millions of segments.
    The final name is created with ``os.link`` rather than ``os.replace`` because a link
    refuses an existing name atomically: evidence is never overwritten, even by a racing put.
    Temporary files start with a dot; one left by a crash is never listed as a blob.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def path(self, blob_id: str) -> Path:
        """The file holding ``blob_id``."""
        check_blob_id(blob_id)
        return self.root / blob_id[0:2] / blob_id[2:4] / blob_id

    def put(self, blob_id: str, chunks: Iterable[bytes | memoryview]) -> int:
        """Store atomically and durably; see :meth:`BlobStore.put`."""
        final = self.path(blob_id)
        if final.exists():
            raise BlobExistsError(blob_id)
        _make_dirs_durably(final.parent)
        temp = final.parent / f".{blob_id}.{secrets.token_hex(4)}.tmp"
        # Read-only from birth (the open descriptor may still write): evidence is write-once.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
        fcntl.flock(fd, fcntl.LOCK_EX)  # "being written": released only when we close or die
        try:
            with open(fd, "wb", closefd=True) as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
                _drop_cached(out.fileno())
                size = out.tell()
            try:
                os.link(temp, final)
            except FileExistsError:
                raise BlobExistsError(blob_id) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        fsync_dir(final.parent)
        return size

    def sweep_temporary(self) -> list[Path]:
        """Delete temporary files a crashed ``put`` left behind (never listed as blobs, so
        reconciliation would otherwise leak their ciphertext). A put in flight holds an
        exclusive ``flock`` on its file until it closes it or dies, so only files nobody
        holds are removed — never another process's write in progress."""
        swept = []
        for temp in self.root.glob("??/??/.*.tmp"):
            try:
                fd = os.open(temp, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being written right now
            finally:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
                swept.append(temp)
        if swept:
            for folder in {t.parent for t in swept}:
                fsync_dir(folder)
        return swept

    def get_range(self, blob_id: str, start: int, end: int) -> bytes:
        """Read ``[start, end)`` with ``pread``; see :meth:`BlobStore.get_range`."""
        try:
            fd = os.open(self.path(blob_id), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BlobNotFoundError(blob_id) from None
        try:
            check_range(start, end, os.fstat(fd).st_size)
            parts, offset = [], start
            while offset < end:
                data = os.pread(fd, end - offset, offset)
                if not data:
                    raise RangeError(f"{blob_id} shrank while being read")
                parts.append(data)
                offset += len(data)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        finally:
            os.close(fd)

    def size(self, blob_id: str) -> int:
        """Size from ``stat``; see :meth:`BlobStore.size`."""
        try:
            return self.path(blob_id).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(blob_id) from None

    def exists(self, blob_id: str) -> bool:
        """See :meth:`BlobStore.exists`."""
        return self.path(blob_id).is_file()

    def delete(self, blob_id: str) -> bool:
        """Unlink and fsync the directory; see :meth:`BlobStore.delete`.

        Shard directories are left in place: removing them would race a concurrent ``put``.
        """
        path = self.path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        return True

    def delete_many(self, blob_ids: Iterable[str]) -> set[str]:
        """Delete a purge batch: unlink all, then fsync each directory once (one journal
        commit for the batch instead of one per file); return the ids this call removed.

        Unlinks and fsyncs run on a few threads (both release the GIL): on a busy disk each
        waits on the journal, and waits overlap.
        """
        paths = [(blob_id, self.path(blob_id)) for blob_id in blob_ids]

        def unlink(share: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
            done = []
            for blob_id, path in share:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    done.append((blob_id, path))
            return done

        def sync(share: list[Path]) -> None:
            for folder in share:
                fsync_dir(folder)

        with ThreadPoolExecutor(max_workers=DELETE_THREADS) as pool:
            removed = [d for done in pool.map(unlink, _shares(paths)) for d in done]
            list(pool.map(sync, _shares(sorted({path.parent for _, path in removed}))))
        return {blob_id for blob_id, _ in removed}

    def renditions(self, owner: str) -> list[str]:
        """Stored ids derived from ``owner`` (``<owner>.<kind>``), found in its shard."""
        folder = self.path(owner).parent
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        return sorted(
            n for n in names if n.startswith(owner + ".") and BLOB_ID_PATTERN.fullmatch(n)
        )

    def iter_ids(self) -> Iterator[str]:
        """Walk the two shard levels in sorted order; see :meth:`BlobStore.iter_ids`."""
        for first in _sorted_subdirs(self.root):
            for second in _sorted_subdirs(first):
                prefix = first.name + second.name
                for name in sorted(os.listdir(second)):
                    if name.startswith(prefix) and BLOB_ID_PATTERN.fullmatch(name):
                        yield name


_SHARD = re.compile(r"[0-9a-f]{2}")
_T = TypeVar("_T")


def _shares(items: list[_T]) -> list[list[_T]]:
    """``items`` in one share per deleting thread (a task per item costs more than it does)."""
    return [items[i::DELETE_THREADS] for i in range(DELETE_THREADS) if items[i::DELETE_THREADS]]


def _sorted_subdirs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if _SHARD.fullmatch(p.name) and p.is_dir())


def _drop_cached(fd: int) -> None:
    """Drop a just-synced blob's pages from the page cache.

    A blob is written once and seldom read soon after; leaving ingest's hundreds of MB/s of
    cold ciphertext in the cache would evict what is hot (the databases, sources not yet
    ingested). It is also cheaper: the next blob's writes reuse the pages freed here instead
    of claiming fresh ones, which costs the kernel more than the copy itself (30 MB written
    and synced: ~20 ms of CPU instead of ~60-80 ms on the benchmark's virtual machine).
    """
    with contextlib.suppress(OSError):  # only advice: never worth failing a durable put
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a new or removed name) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs_durably(path: Path) -> None:
    """Create ``path`` and its missing parents, fsyncing the parent of each new directory."""
    if path.is_dir():
        return
    _make_dirs_durably(path.parent)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    fsync_dir(path.parent)
