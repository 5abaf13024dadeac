"""The STREAM blob format: round trips, random access, and every edit an attacker could make."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import struct
import tracemalloc
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.content.errors import (
    ContentError,
    IntegrityError,
    MalformedBlobError,
    RangeError,
)
from evidence.content.stream import (
    DEFAULT_CHUNK_SIZE,
    HEADER_SIZE,
    MAGIC,
    TAG_SIZE,
    Encryptor,
    Header,
    Layout,
    decrypt_range,
    encrypt_bytes,
    new_data_key,
)

SMALL = 64
KEY = bytes(range(32))


def chunks_of(blob: bytes, chunk_size: int) -> list[bytes]:
    body, full = blob[HEADER_SIZE:], chunk_size + TAG_SIZE
    return [body[i : i + full] for i in range(0, len(body), full)]


def boundary_sizes(chunk: int) -> list[int]:
    return [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk - 1, 2 * chunk, 2 * chunk + 1]


@pytest.mark.parametrize("chunk_size", [SMALL, DEFAULT_CHUNK_SIZE])
def test_round_trips_at_chunk_boundaries(chunk_size: int) -> None:
    for size in boundary_sizes(chunk_size):
        plaintext = os.urandom(size)
        encryptor = Encryptor(KEY, [plaintext], chunk_size)
        blob = b"".join(encryptor)
        assert decrypt_range(KEY, blob) == plaintext
        assert encryptor.plaintext_size == size
        assert encryptor.plaintext_sha256 == hashlib.sha256(plaintext).hexdigest()
        assert encryptor.stored_size == len(blob)
        chunk_count = max(1, -(-size // chunk_size))
        assert len(blob) == HEADER_SIZE + size + chunk_count * TAG_SIZE
        layout = Layout.of(Header.parse(blob), len(blob))
        assert (layout.chunk_count, layout.plaintext_size) == (chunk_count, size)


def test_empty_plaintext_is_one_empty_final_chunk() -> None:
    blob = encrypt_bytes(KEY, b"", SMALL)
    assert len(blob) == HEADER_SIZE + TAG_SIZE
    assert decrypt_range(KEY, blob) == b""
    with pytest.raises(MalformedBlobError):  # without its final chunk it is not a blob
        decrypt_range(KEY, blob[:HEADER_SIZE])


def test_chunks_follow_the_documented_nonce_and_associated_data() -> None:
    """An independent re-derivation of the format, as docs/FORMATS.md describes it."""
    plaintext = os.urandom(3 * SMALL - 5)
    blob = encrypt_bytes(KEY, plaintext, SMALL)
    magic, version, chunk_size, prefix = struct.unpack(">8sBI7s", blob[:HEADER_SIZE])
    assert (magic, version, chunk_size, len(prefix)) == (b"SCELLE/C", 1, SMALL, 7)
    pieces = chunks_of(blob, SMALL)
    assert len(pieces) == 3
    for index, sealed in enumerate(pieces):
        nonce = prefix + index.to_bytes(4, "big") + (b"\x01" if index == 2 else b"\x00")
        expected = plaintext[index * SMALL : (index + 1) * SMALL]
        assert AESGCM(KEY).decrypt(nonce, sealed, blob[:HEADER_SIZE]) == expected


def test_each_blob_gets_a_fresh_nonce_prefix() -> None:
    first, second = encrypt_bytes(KEY, b"same", SMALL), encrypt_bytes(KEY, b"same", SMALL)
    assert first[:HEADER_SIZE] != second[:HEADER_SIZE]
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


def test_encrypts_from_a_binary_file_like_from_an_iterator() -> None:
    plaintext = os.urandom(5 * SMALL + 3)
    encryptor = Encryptor(KEY, io.BytesIO(plaintext), SMALL)
    assert decrypt_range(KEY, b"".join(encryptor)) == plaintext
    assert encryptor.plaintext_sha256 == hashlib.sha256(plaintext).hexdigest()


@given(
    data=st.binary(max_size=700),
    cuts=st.lists(st.integers(min_value=0, max_value=700), max_size=12),
)
def test_any_split_of_the_source_gives_a_readable_blob(data: bytes, cuts: list[int]) -> None:
    bounds = sorted([0, len(data), *(c for c in cuts if c <= len(data))])
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]  # repeated cuts: empty pieces
    assert decrypt_range(KEY, b"".join(Encryptor(KEY, pieces, SMALL))) == data


def test_a_source_that_reuses_its_buffer_is_copied_in_time() -> None:
    plaintext = os.urandom(10 * SMALL + 7)

    def reusing_reader() -> Iterator[memoryview]:
        buffer = bytearray(SMALL // 2 + 3)
        source = io.BytesIO(plaintext)
        while count := source.readinto(buffer):
            yield memoryview(buffer)[:count]

    assert decrypt_range(KEY, b"".join(Encryptor(KEY, reusing_reader(), SMALL))) == plaintext


@pytest.mark.parametrize("size", boundary_sizes(SMALL))
def test_views_give_the_same_blob_as_iteration_in_one_reused_buffer(size: int) -> None:
    """What a blob store writes from ``views()`` is a valid blob of the same plaintext, with
    the same digest and sizes; each view is only valid until the next is asked for."""
    plaintext = os.urandom(size)
    encryptor = Encryptor(KEY, io.BytesIO(plaintext), SMALL)
    pieces, buffers = [], set()
    for view in encryptor.views():
        pieces.append(bytes(view))  # copied at once, as the contract asks
        if len(pieces) > 1:
            buffers.add(id(view.obj))
    blob = b"".join(pieces)
    assert decrypt_range(KEY, blob) == plaintext
    assert len(buffers) == 1  # every chunk went through one buffer
    assert encryptor.plaintext_sha256 == hashlib.sha256(plaintext).hexdigest()
    assert (encryptor.plaintext_size, encryptor.stored_size) == (size, len(blob))


class _AesGcmWithoutEncryptInto:
    """AES-GCM as older cryptography releases offer it: ``encrypt`` but no ``encrypt_into``."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, nonce: bytes, data: memoryview, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, aad)


def test_views_work_where_aes_gcm_cannot_encrypt_into_a_buffer() -> None:
    plaintext = os.urandom(3 * SMALL + 1)
    encryptor = Encryptor(KEY, [plaintext], SMALL)
    encryptor._aead = _AesGcmWithoutEncryptInto(KEY)  # type: ignore[assignment]
    assert decrypt_range(KEY, b"".join(bytes(v) for v in encryptor.views())) == plaintext


def test_an_encryptor_gives_its_pieces_once_either_way() -> None:
    encryptor = Encryptor(KEY, [b"abc"], SMALL)
    list(encryptor.views())
    with pytest.raises(ContentError):
        iter(encryptor)
    with pytest.raises(ContentError):
        encryptor.views()


def test_encryption_memory_stays_bounded_by_the_chunk_size() -> None:
    piece = os.urandom(256 * 1024)

    def thirty_two_mib() -> Iterator[bytes]:
        for _ in range(128):
            yield piece

    tracemalloc.start()
    try:
        stored = sum(len(c) for c in Encryptor(KEY, thirty_two_mib()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored == HEADER_SIZE + 32 * (DEFAULT_CHUNK_SIZE + TAG_SIZE)
    assert peak < 6 * DEFAULT_CHUNK_SIZE


@settings(max_examples=300)
@given(
    data=st.binary(max_size=1000),
    chunk_size=st.sampled_from([16, 17, 64, 100]),
    bounds=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
)
def test_random_ranges_equal_plaintext_slices(
    data: bytes, chunk_size: int, bounds: tuple[int, int]
) -> None:
    start, end = sorted(min(b, len(data)) for b in bounds)
    blob = encrypt_bytes(KEY, data, chunk_size)
    assert decrypt_range(KEY, blob, start, end) == data[start:end]


def test_a_range_reads_only_the_chunks_it_overlaps() -> None:
    layout = Layout.of(Header(SMALL, bytes(7)), HEADER_SIZE + 10 * (SMALL + TAG_SIZE))
    plan = layout.plan(SMALL + 5, 3 * SMALL + 1)
    assert (plan.first_chunk, plan.stop_chunk) == (1, 4)
    assert plan.stored_start == HEADER_SIZE + (SMALL + TAG_SIZE)
    assert plan.stored_end == HEADER_SIZE + 4 * (SMALL + TAG_SIZE)
    assert (plan.skip, plan.length) == (5, 2 * SMALL - 4)


@pytest.mark.parametrize("bounds", [(-1, 3), (5, 4), (0, 3 * SMALL + 1)])
def test_ranges_outside_the_plaintext_are_refused(bounds: tuple[int, int]) -> None:
    blob = encrypt_bytes(KEY, bytes(3 * SMALL), SMALL)
    with pytest.raises(RangeError):
        decrypt_range(KEY, blob, *bounds)


def test_every_flipped_bit_is_detected() -> None:
    blob = encrypt_bytes(KEY, os.urandom(2 * SMALL + 9), SMALL)
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= bit
            with pytest.raises(IntegrityError):
                decrypt_range(KEY, bytes(tampered))


def test_swapped_chunks_are_detected() -> None:
    blob = encrypt_bytes(KEY, os.urandom(3 * SMALL), SMALL)
    a, b, c = chunks_of(blob, SMALL)
    with pytest.raises(IntegrityError):
        decrypt_range(KEY, blob[:HEADER_SIZE] + b + a + c)
    with pytest.raises(IntegrityError, match="chunk 0"):
        decrypt_range(KEY, blob[:HEADER_SIZE] + b + a + c, 0, 1)  # even a one-byte read


@pytest.mark.parametrize("cut", [1, TAG_SIZE - 1, TAG_SIZE, TAG_SIZE + 1, SMALL + TAG_SIZE])
def test_truncated_blobs_are_detected(cut: int) -> None:
    blob = encrypt_bytes(KEY, os.urandom(3 * SMALL), SMALL)
    with pytest.raises(IntegrityError):
        decrypt_range(KEY, blob[:-cut])


def test_dropping_the_whole_last_chunk_is_detected() -> None:
    plaintext = os.urandom(3 * SMALL)
    blob = encrypt_bytes(KEY, plaintext, SMALL)
    shortened = blob[: -(SMALL + TAG_SIZE)]  # parses as a valid 2-chunk blob
    assert Layout.of(Header.parse(shortened), len(shortened)).plaintext_size == 2 * SMALL
    with pytest.raises(IntegrityError, match="chunk 1"):
        decrypt_range(KEY, shortened)
    assert decrypt_range(KEY, shortened, 0, SMALL) == plaintext[:SMALL]  # chunk 0 is genuine


@pytest.mark.parametrize("size", [SMALL, 2 * SMALL + 3])
def test_appended_chunks_are_detected(size: int) -> None:
    blob = encrypt_bytes(KEY, os.urandom(size), SMALL)
    pieces = chunks_of(blob, SMALL)
    other = chunks_of(encrypt_bytes(KEY, os.urandom(SMALL), SMALL), SMALL)
    for extra in (pieces[-1], pieces[0], other[0], bytes(TAG_SIZE)):
        with pytest.raises(IntegrityError):
            decrypt_range(KEY, blob + extra)


def test_a_chunk_from_another_blob_under_the_same_key_is_detected() -> None:
    first = encrypt_bytes(KEY, os.urandom(2 * SMALL), SMALL)
    second = encrypt_bytes(KEY, os.urandom(2 * SMALL), SMALL)
    spliced = first[:HEADER_SIZE] + chunks_of(second, SMALL)[0] + chunks_of(first, SMALL)[1]
    with pytest.raises(IntegrityError, match="chunk 0"):
        decrypt_range(KEY, spliced)


@pytest.mark.parametrize(
    "field",
    [
        slice(0, 8),  # magic
        slice(8, 9),  # version
        slice(9, 13),  # chunk size
        slice(13, 20),  # nonce prefix
    ],
)
def test_a_changed_header_is_detected(field: slice) -> None:
    blob = encrypt_bytes(KEY, os.urandom(5 * SMALL), SMALL)
    tampered = bytearray(blob)
    tampered[field.stop - 1] ^= 0x01
    with pytest.raises(IntegrityError):
        decrypt_range(KEY, bytes(tampered))


def test_a_smaller_chunk_size_in_the_header_is_detected() -> None:
    """Re-cutting chunk boundaries still fails: the header is every chunk's associated data."""
    blob = encrypt_bytes(KEY, os.urandom(4 * SMALL), SMALL)
    forged = Header(SMALL // 2 - TAG_SIZE // 2, Header.parse(blob).nonce_prefix).to_bytes()
    with pytest.raises(IntegrityError):
        decrypt_range(KEY, forged + blob[HEADER_SIZE:])


def test_a_wrong_key_is_detected() -> None:
    blob = encrypt_bytes(KEY, b"segment", SMALL)
    with pytest.raises(IntegrityError):
        decrypt_range(new_data_key(), blob)


@pytest.mark.parametrize(
    "header",
    [
        b"",
        MAGIC[:-1] + b"X" + bytes(12),
        MAGIC + b"\x02" + struct.pack(">I", 64) + bytes(7),
        MAGIC + b"\x01" + struct.pack(">I", 15) + bytes(7),
        MAGIC + b"\x01" + struct.pack(">I", 1 << 27) + bytes(7),
    ],
)
def test_malformed_headers_are_rejected_while_parsing(header: bytes) -> None:
    with pytest.raises(MalformedBlobError):
        Header.parse(header)


def test_results_are_unavailable_before_the_stream_is_consumed() -> None:
    encryptor = Encryptor(KEY, [b"abc"], SMALL)
    with pytest.raises(ContentError):
        _ = encryptor.plaintext_sha256
    iterator = iter(encryptor)
    next(iterator)
    with pytest.raises(ContentError):
        _ = encryptor.plaintext_size
    list(iterator)
    assert encryptor.plaintext_size == 3
    with pytest.raises(ContentError):
        iter(encryptor)  # a second pass would reuse the nonce prefix


def test_chunk_size_is_bounded() -> None:
    with pytest.raises(ValueError):
        Encryptor(KEY, [b""], 8)
