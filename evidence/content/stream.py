"""Chunked AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015).

Why chunks: a segment is 30-120 MB and is played back through HTTP range requests, so a reader
must decrypt (and authenticate) only the chunks a range touches, and a writer must encrypt with
bounded memory. Why STREAM: per-chunk AEAD alone would let an attacker drop, reorder, repeat or
append chunks; binding each chunk's nonce to its index and to a last-chunk flag (as age and
Tink do) makes every such edit fail authentication.

Blob layout, version 1 (all integers big-endian; docs/FORMATS.md repeats it)::

    header   20 bytes   magic "SCELLE/C" (8) | version 0x01 (1) | chunk_size u32 (4)
                        | nonce_prefix (7, random per blob)
    chunk i  c_i + 16   AES-256-GCM(key, nonce_i, plaintext_i, aad=header) = ciphertext || tag
    nonce_i  12 bytes   nonce_prefix (7) | i as u32 (4) | 0x01 if i is the last chunk else 0x00

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last holds 1 to
``chunk_size`` bytes, or 0 only when the whole plaintext is empty (a blob is never without a
final chunk, so truncation at a chunk boundary is detected). The header is the associated data
of every chunk, so changing any header byte makes every chunk fail.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias, TypeVar, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from evidence.content.errors import ContentError, IntegrityError, MalformedBlobError, RangeError

MAGIC: Final = b"SCELLE/C"
VERSION: Final = 1
KEY_SIZE: Final = 32
NONCE_PREFIX_SIZE: Final = 7
TAG_SIZE: Final = 16
HEADER_SIZE: Final = len(MAGIC) + 1 + 4 + NONCE_PREFIX_SIZE  # 20
DEFAULT_CHUNK_SIZE: Final = 1 << 20
MIN_CHUNK_SIZE: Final = 16
MAX_CHUNK_SIZE: Final = 1 << 26
MAX_CHUNKS: Final = 1 << 32

_HEADER = struct.Struct(f">{len(MAGIC)}sBI{NONCE_PREFIX_SIZE}s")
_COUNTER = struct.Struct(">IB")


@runtime_checkable
class SupportsReadinto(Protocol):
    """A binary file object read without an intermediate copy (files, ``io.BytesIO``)."""

    def readinto(self, buffer: memoryview, /) -> int | None:
        """Fill ``buffer`` from the start; return the count read, 0 at end of file."""
        ...


Fetch: TypeAlias = Callable[[int, int], bytes | memoryview]
_Piece = TypeVar("_Piece", bytes, memoryview)
Source: TypeAlias = SupportsReadinto | Iterable[bytes | bytearray | memoryview]


def new_data_key() -> bytes:
    """Return a fresh random 32-byte AES-256 key: one per blob, never reused."""
    return secrets.token_bytes(KEY_SIZE)


def _aes256_gcm(key: bytes) -> AESGCM:
    """AESGCM would also take a 16- or 24-byte key; the format promises AES-256."""
    if len(key) != KEY_SIZE:
        raise ValueError(f"a data key is {KEY_SIZE} bytes, not {len(key)}")
    return AESGCM(key)


@dataclass(frozen=True, slots=True)
class Header:
    """The authenticated blob header; a parsed ``Header`` is always well formed."""

    chunk_size: int
    nonce_prefix: bytes

    def __post_init__(self) -> None:
        if not MIN_CHUNK_SIZE <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise MalformedBlobError(f"chunk size {self.chunk_size} out of bounds")
        if len(self.nonce_prefix) != NONCE_PREFIX_SIZE:
            raise MalformedBlobError("nonce prefix must be 7 bytes")

    @classmethod
    def new(cls, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Header:
        """A header with a fresh random nonce prefix."""
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be in [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}]")
        return cls(chunk_size, secrets.token_bytes(NONCE_PREFIX_SIZE))

    @classmethod
    def parse(cls, data: bytes) -> Header:
        """Parse the first ``HEADER_SIZE`` bytes of a blob, rejecting anything malformed."""
        if len(data) < HEADER_SIZE:
            raise MalformedBlobError(f"blob shorter than its {HEADER_SIZE}-byte header")
        magic, version, chunk_size, prefix = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise MalformedBlobError("not a Scellé content blob (bad magic)")
        if version != VERSION:
            raise MalformedBlobError(f"unsupported blob format version {version}")
        return cls(chunk_size, prefix)

    def to_bytes(self) -> bytes:
        """The 20 header bytes, which are also each chunk's associated data."""
        return _HEADER.pack(MAGIC, VERSION, self.chunk_size, self.nonce_prefix)

    def nonce(self, index: int, last: bool) -> bytes:
        """Chunk ``index``'s nonce: prefix || u32 index || last-chunk flag."""
        if not 0 <= index < MAX_CHUNKS:
            raise ContentError("a blob holds at most 2**32 chunks")
        return self.nonce_prefix + _COUNTER.pack(index, 1 if last else 0)


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """Which stored bytes to fetch for a plaintext range, and how to cut the result."""

    first_chunk: int
    stop_chunk: int
    stored_start: int
    stored_end: int
    skip: int
    length: int


@dataclass(frozen=True, slots=True)
class Layout:
    """A blob's geometry, derived from its header and its stored size alone."""

    header: Header
    stored_size: int
    chunk_count: int
    plaintext_size: int

    @classmethod
    def of(cls, header: Header, stored_size: int) -> Layout:
        """Derive the chunk count and plaintext size; reject sizes no encoder could produce."""
        size, full = header.chunk_size, header.chunk_size + TAG_SIZE
        body = stored_size - HEADER_SIZE
        whole, rest = divmod(body, full)
        if body < TAG_SIZE or 0 < rest < TAG_SIZE or (rest == TAG_SIZE and whole > 0):
            raise MalformedBlobError(f"stored size {stored_size} is truncated or padded")
        if rest == 0:
            return cls(header, stored_size, whole, whole * size)
        return cls(header, stored_size, whole + 1, whole * size + rest - TAG_SIZE)

    def chunk_start(self, index: int) -> int:
        """Offset of chunk ``index`` in the stored bytes (``chunk_count`` gives the end)."""
        return min(HEADER_SIZE + index * (self.header.chunk_size + TAG_SIZE), self.stored_size)

    def plan(self, start: int, end: int) -> ReadPlan:
        """Plan a read of plaintext ``[start, end)``; an empty range plans no chunks."""
        if not 0 <= start <= end <= self.plaintext_size:
            raise RangeError(f"range [{start}, {end}) outside [0, {self.plaintext_size})")
        if start == end:
            return ReadPlan(0, 0, HEADER_SIZE, HEADER_SIZE, 0, 0)
        size = self.header.chunk_size
        first, stop = start // size, (end - 1) // size + 1
        skip = start - first * size
        return ReadPlan(
            first, stop, self.chunk_start(first), self.chunk_start(stop), skip, end - start
        )


class Decryptor:
    """Authenticates and decrypts runs of consecutive chunks of one blob."""

    def __init__(self, key: bytes, layout: Layout) -> None:
        self._aead = _aes256_gcm(key)
        self.layout = layout
        self._aad = layout.header.to_bytes()

    def chunks(self, first_chunk: int, stored: bytes | memoryview) -> Iterator[bytes]:
        """Yield the plaintext of each chunk in ``stored`` (chunks ``first_chunk`` onward).

        A chunk is yielded only once it has authenticated; the first one that does not
        raises :class:`IntegrityError`, so no unauthenticated plaintext ever leaves.
        """
        layout, view = self.layout, memoryview(stored)
        full = layout.header.chunk_size + TAG_SIZE
        count = -(-len(view) // full)
        if first_chunk < 0 or first_chunk + count > layout.chunk_count:
            raise RangeError("chunk run outside the blob")
        if layout.chunk_start(first_chunk + count) - layout.chunk_start(first_chunk) != len(view):
            raise IntegrityError("stored bytes do not align with chunk boundaries")
        for index in range(first_chunk, first_chunk + count):
            offset = (index - first_chunk) * full
            nonce = layout.header.nonce(index, index == layout.chunk_count - 1)
            try:
                yield self._aead.decrypt(nonce, view[offset : offset + full], self._aad)
            except InvalidTag:
                raise IntegrityError(f"chunk {index} failed authentication") from None

    def read(
        self, fetch: Fetch, start: int = 0, end: int | None = None, *, batch_chunks: int = 8
    ) -> Iterator[bytes]:
        """Yield plaintext ``[start, end)`` (to the end if ``end`` is None), chunk by chunk.

        ``fetch(a, b)`` returns stored bytes ``[a, b)``; it is called once per run of
        ``batch_chunks`` chunks, and only for chunks the range overlaps. The range is checked
        now, not at the first ``next``. A read of the whole plaintext authenticates every
        chunk, the final (possibly empty) one included, so a truncated blob cannot pass for a
        shorter plaintext.
        """
        layout = self.layout
        end = layout.plaintext_size if end is None else end
        plan = layout.plan(start, end)
        chunks = range(plan.first_chunk, plan.stop_chunk)
        if start == 0 and end == layout.plaintext_size:
            chunks = range(layout.chunk_count)
        return self._read(fetch, chunks, plan.skip, plan.length, max(1, batch_chunks))

    def _read(
        self, fetch: Fetch, chunks: range, skip: int, remaining: int, per_batch: int
    ) -> Iterator[bytes]:
        for batch in chunks[::per_batch]:
            stop = min(batch + per_batch, chunks.stop)
            stored = fetch(self.layout.chunk_start(batch), self.layout.chunk_start(stop))
            for plain in self.chunks(batch, stored):
                piece = plain[skip : skip + remaining] if skip or len(plain) > remaining else plain
                skip, remaining = 0, remaining - len(piece)
                if piece:
                    yield piece


class Encryptor:
    """Encrypts a plaintext source into blob bytes, streaming, with bounded memory.

    Iterate it once to get the blob's pieces (the header, then one ``bytes`` per chunk); the
    plaintext SHA-256 and sizes are computed on the way and readable once iteration is over.
    Memory is two chunk buffers plus one ciphertext chunk, whatever the plaintext size.
    """

    def __init__(self, key: bytes, source: Source, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self._aead = _aes256_gcm(key)
        self._header = Header.new(chunk_size)
        self._aad = self._header.to_bytes()
        self._source = source
        self._sha256 = hashlib.sha256()
        self._plaintext_size = 0
        self._stored_size = 0
        self._done = False
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        self._start()
        return self._run(self._aad, self._seal)

    def views(self) -> Iterator[memoryview]:
        """The blob's pieces as views of one reused buffer, each valid only until the next
        is requested: no allocation per chunk. For consumers that copy or write each piece
        at once (every :class:`~evidence.content.blobs.BlobStore`).

        Why: a fresh 1 MiB ``bytes`` per chunk is a fresh ``mmap`` for the allocator, so each
        chunk cost page faults and zeroed pages in the kernel, about as much CPU as the AES.
        """
        self._start()
        out = memoryview(bytearray(self._header.chunk_size + TAG_SIZE))
        return self._run(memoryview(self._aad), functools.partial(self._seal_into, out))

    def _start(self) -> None:
        if self._started:
            raise ContentError("an Encryptor is iterated once")
        self._started = True

    def _run(
        self, header: _Piece, seal: Callable[[memoryview, int, bool], _Piece]
    ) -> Iterator[_Piece]:
        self._stored_size = HEADER_SIZE
        yield header
        index, pending = 0, None
        for piece in _fixed_chunks(self._source, self._header.chunk_size):
            self._sha256.update(piece)
            self._plaintext_size += len(piece)
            if pending is not None:
                if not piece:  # the source ended exactly on a chunk boundary
                    break
                yield seal(pending, index, False)
                index += 1
            pending = piece
        yield seal(pending if pending is not None else memoryview(b""), index, True)
        self._done = True

    def _seal(self, chunk: memoryview, index: int, last: bool) -> bytes:
        sealed = self._aead.encrypt(self._header.nonce(index, last), chunk, self._aad)
        self._stored_size += len(sealed)
        return sealed

    def _seal_into(self, out: memoryview, chunk: memoryview, index: int, last: bool) -> memoryview:
        target = out[: len(chunk) + TAG_SIZE]
        nonce = self._header.nonce(index, last)
        encrypt_into = getattr(self._aead, "encrypt_into", None)  # not in older releases
        if encrypt_into is None:
            target[:] = self._aead.encrypt(nonce, chunk, self._aad)
        else:
            encrypt_into(nonce, chunk, self._aad, target)
        self._stored_size += len(target)
        return target

    def _check_done(self) -> None:
        if not self._done:
            raise ContentError("the Encryptor has not been iterated to its end")

    @property
    def plaintext_sha256(self) -> str:
        """Hex SHA-256 of the whole plaintext (available after iteration)."""
        self._check_done()
        return self._sha256.hexdigest()

    @property
    def plaintext_size(self) -> int:
        """Plaintext length in bytes (available after iteration)."""
        self._check_done()
        return self._plaintext_size

    @property
    def stored_size(self) -> int:
        """Blob length in bytes, header and tags included (available after iteration)."""
        self._check_done()
        return self._stored_size


def _fixed_chunks(source: Source, size: int) -> Iterator[memoryview]:
    """Re-cut ``source`` into views of exactly ``size`` bytes, then one shorter (maybe empty).

    Two buffers alternate so the caller may hold one chunk (to learn whether it is the last)
    while the next is filled; each view is valid until two more have been yielded.
    """
    buffers = (memoryview(bytearray(size)), memoryview(bytearray(size)))
    which, filled = 0, 0
    if isinstance(source, SupportsReadinto):
        while True:
            target = buffers[which]
            while filled < size:
                count = source.readinto(target[filled:])
                if count is None:
                    raise ContentError("non-blocking source had no data; pass a blocking one")
                if count == 0:
                    yield target[:filled]
                    return
                filled += count
            yield target
            which, filled = which ^ 1, 0
    for data in source:
        piece = memoryview(data).cast("B")
        while piece:
            take = min(size - filled, len(piece))
            buffers[which][filled : filled + take] = piece[:take]
            filled, piece = filled + take, piece[take:]
            if filled == size:
                yield buffers[which]
                which, filled = which ^ 1, 0
    yield buffers[which][:filled]


def encrypt_bytes(key: bytes, plaintext: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """Encrypt a whole in-memory plaintext (small blobs, tests); see :class:`Encryptor`."""
    return b"".join(Encryptor(key, [plaintext], chunk_size))


def decrypt_range(key: bytes, blob: bytes, start: int = 0, end: int | None = None) -> bytes:
    """Decrypt plaintext ``[start, end)`` of an in-memory blob (see :meth:`Decryptor.read`)."""
    view = memoryview(blob)
    decryptor = Decryptor(key, Layout.of(Header.parse(blob), len(blob)))
    return b"".join(decryptor.read(lambda a, b: view[a:b], start, end, batch_chunks=MAX_CHUNKS))
