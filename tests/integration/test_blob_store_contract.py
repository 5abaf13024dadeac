"""One ``BlobStore`` contract, run against the filesystem store and against S3 (moto server).

The S3 store talks HTTP to a real moto server on 127.0.0.1, through botocore, exactly as it
would to MinIO or AWS; nothing is mocked in-process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from evidence.content.blobs import BlobStore, FilesystemBlobStore
from evidence.content.errors import (
    BlobExistsError,
    BlobNotFoundError,
    InvalidBlobIdError,
    RangeError,
)
from evidence.content.s3 import DEFAULT_PART_SIZE, S3BlobStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

MIB = 1 << 20


def new_id() -> str:
    return uuid.uuid4().hex


class SourceFailedError(Exception):
    pass


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


class BlobStoreContract:
    """Every ``BlobStore`` passes these; subclasses only provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> BlobStore:
        raise NotImplementedError

    def test_put_then_read_back_whole_and_in_ranges(self, store: BlobStore) -> None:
        blob_id, data = new_id(), os.urandom(100_000)
        assert store.put(blob_id, pieces(data, 7_777)) == len(data)
        assert store.exists(blob_id)
        assert store.size(blob_id) == len(data)
        assert store.get_range(blob_id, 0, len(data)) == data
        for start, end in [(0, 1), (5, 5), (7_776, 7_778), (99_999, 100_000), (100_000, 100_000)]:
            assert store.get_range(blob_id, start, end) == data[start:end]

    def test_chunks_that_reuse_one_buffer_are_stored_as_they_were_when_given(
        self, store: BlobStore
    ) -> None:
        """The vault hands each chunk as a view of one buffer it overwrites for the next
        (``Encryptor.views``): a store must write or copy each chunk before asking for more.
        Large enough to span S3 parts."""
        blob_id, data = new_id(), os.urandom(DEFAULT_PART_SIZE + 3 * MIB + 5)

        def one_buffer() -> Iterator[memoryview]:
            buffer = memoryview(bytearray(MIB))
            for offset in range(0, len(data), MIB):
                piece = data[offset : offset + MIB]
                buffer[: len(piece)] = piece
                yield buffer[: len(piece)]
            buffer[:] = bytes(MIB)  # overwritten once more after the last

        assert store.put(blob_id, one_buffer()) == len(data)
        assert store.get_range(blob_id, 0, len(data)) == data

    def test_an_empty_object_is_stored(self, store: BlobStore) -> None:
        blob_id = new_id()
        assert store.put(blob_id, iter([])) == 0
        assert store.exists(blob_id)
        assert store.size(blob_id) == 0
        assert store.get_range(blob_id, 0, 0) == b""

    def test_an_id_is_written_once(self, store: BlobStore) -> None:
        blob_id = new_id()
        store.put(blob_id, [b"original evidence"])
        with pytest.raises(BlobExistsError):
            store.put(blob_id, [b"replacement"])
        assert store.get_range(blob_id, 0, 17) == b"original evidence"

    def test_a_failed_put_leaves_nothing(self, store: BlobStore) -> None:
        blob_id, seen_during_upload = new_id(), []

        def failing() -> Iterator[bytes]:
            yield os.urandom(DEFAULT_PART_SIZE + MIB)  # past the first part on S3
            yield os.urandom(MIB)
            seen_during_upload.append(store.exists(blob_id))
            raise SourceFailedError

        with pytest.raises(SourceFailedError):
            store.put(blob_id, failing())
        assert seen_during_upload == [False]
        assert not store.exists(blob_id)
        assert blob_id not in set(store.iter_ids())
        store.put(blob_id, [b"retry"])  # the id is still free
        assert store.get_range(blob_id, 0, 5) == b"retry"

    def test_an_object_is_invisible_until_complete(self, store: BlobStore) -> None:
        blob_id, seen = new_id(), []

        def watched() -> Iterator[bytes]:
            yield b"first half"
            seen.append(store.exists(blob_id))
            yield b" second half"

        store.put(blob_id, watched())
        assert seen == [False]
        assert store.get_range(blob_id, 0, 22) == b"first half second half"

    def test_a_multipart_sized_object_reads_back_across_part_boundaries(
        self, store: BlobStore
    ) -> None:
        blob_id, data = new_id(), os.urandom(2 * DEFAULT_PART_SIZE + 3 * MIB + 17)
        assert store.put(blob_id, pieces(data, MIB + 1)) == len(data)
        assert store.size(blob_id) == len(data)
        for start, end in [
            (DEFAULT_PART_SIZE - 10, DEFAULT_PART_SIZE + 10),
            (2 * DEFAULT_PART_SIZE - 1, len(data)),
            (0, len(data)),
        ]:
            assert store.get_range(blob_id, start, end) == data[start:end]

    @pytest.mark.parametrize("bounds", [(-1, 2), (3, 2), (0, 11), (10, 12), (11, 11)])
    def test_ranges_outside_the_object_are_refused(
        self, store: BlobStore, bounds: tuple[int, int]
    ) -> None:
        blob_id = new_id()
        store.put(blob_id, [b"0123456789"])
        with pytest.raises(RangeError):
            store.get_range(blob_id, *bounds)

    def test_a_missing_blob_is_reported_as_such(self, store: BlobStore) -> None:
        blob_id = new_id()
        assert not store.exists(blob_id)
        with pytest.raises(BlobNotFoundError):
            store.size(blob_id)
        with pytest.raises(BlobNotFoundError):
            store.get_range(blob_id, 0, 1)
        with pytest.raises(BlobNotFoundError):
            store.get_range(blob_id, 0, 0)

    def test_delete_is_idempotent(self, store: BlobStore) -> None:
        blob_id = new_id()
        store.put(blob_id, [b"x"])
        assert store.delete(blob_id) is True
        assert not store.exists(blob_id)
        assert store.delete(blob_id) is False
        with pytest.raises(BlobNotFoundError):
            store.get_range(blob_id, 0, 1)

    def test_iter_ids_lists_exactly_what_is_stored(self, store: BlobStore) -> None:
        ids = {new_id() for _ in range(5)} | {str(uuid.uuid4()), "a" * 64}
        for blob_id in ids:
            store.put(blob_id, [blob_id.encode()])
        gone = sorted(ids)[0]
        store.delete(gone)
        assert set(store.iter_ids()) == ids - {gone}

    @pytest.mark.parametrize(
        "bad_id",
        ["", "abc", "../../../etc/passwd", "abcd/../../x1234", "ABCDEF0123", "abcd1234\n",
         "abcd 1234", "/abcd1234", "ab.d1234", "é" * 10, "a" * 129],
    )  # fmt: skip
    def test_ids_that_could_escape_are_refused(self, store: BlobStore, bad_id: str) -> None:
        with pytest.raises(InvalidBlobIdError):
            store.put(bad_id, [b"x"])
        with pytest.raises(InvalidBlobIdError):
            store.get_range(bad_id, 0, 0)
        with pytest.raises(InvalidBlobIdError):
            store.exists(bad_id)
        with pytest.raises(InvalidBlobIdError):
            store.delete(bad_id)
        assert list(store.iter_ids()) == []


class TestFilesystemBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FilesystemBlobStore:
        return FilesystemBlobStore(tmp_path / "blobs")

    def test_blobs_are_sharded_by_their_first_hex_digits(self, store: FilesystemBlobStore) -> None:
        store.put("abcdef0123", [b"x"])
        assert (store.root / "ab" / "cd" / "abcdef0123").read_bytes() == b"x"

    def test_a_failed_put_leaves_no_temporary_file(self, store: FilesystemBlobStore) -> None:
        def failing() -> Iterator[bytes]:
            yield b"partial"
            raise SourceFailedError

        with pytest.raises(SourceFailedError):
            store.put("abcdef0123", failing())
        assert [p for p in store.root.rglob("*") if p.is_file()] == []

    def test_leftover_temporary_files_are_not_blobs(self, store: FilesystemBlobStore) -> None:
        store.put("abcdef0123", [b"x"])
        (store.root / "ab" / "cd" / ".abcdef0124.1234abcd.tmp").write_bytes(b"crash")
        assert list(store.iter_ids()) == ["abcdef0123"]

    def test_blob_files_are_private_and_read_only(self, store: FilesystemBlobStore) -> None:
        store.put("abcdef0123", [b"x"])
        assert store.path("abcdef0123").stat().st_mode & 0o777 == 0o400


class TestS3BlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, s3_client: S3Client) -> S3BlobStore:
        bucket = f"scelle-{uuid.uuid4().hex[:12]}"
        s3_client.create_bucket(Bucket=bucket)
        return S3BlobStore(bucket, s3_client, prefix="content/")

    def test_a_failed_multipart_upload_is_aborted(
        self, store: S3BlobStore, s3_client: S3Client
    ) -> None:
        def failing() -> Iterator[bytes]:
            yield os.urandom(2 * DEFAULT_PART_SIZE + 1)  # two parts uploaded
            raise SourceFailedError

        with pytest.raises(SourceFailedError):
            store.put(new_id(), failing())
        assert s3_client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []

    def test_a_large_object_goes_up_in_parts(self, store: S3BlobStore, s3_client: S3Client) -> None:
        store.put("abcdef0123", pieces(os.urandom(2 * DEFAULT_PART_SIZE + 1), MIB))
        head = s3_client.head_object(Bucket=store.bucket, Key=store.key("abcdef0123"))
        assert head["ETag"].endswith('-3"')  # S3's multipart ETag: md5-of-md5s "-<parts>"
        store.put("abcdef0124", [os.urandom(DEFAULT_PART_SIZE)])
        head = s3_client.head_object(Bucket=store.bucket, Key=store.key("abcdef0124"))
        assert "-" not in head["ETag"]

    def test_objects_outside_the_prefix_or_not_blobs_are_ignored(
        self, store: S3BlobStore, s3_client: S3Client
    ) -> None:
        s3_client.put_object(Bucket=store.bucket, Key="elsewhere/abcdef0123", Body=b"x")
        s3_client.put_object(Bucket=store.bucket, Key="content/README.txt", Body=b"x")
        store.put("abcdef0123", [b"x"])
        assert list(store.iter_ids()) == ["abcdef0123"]

    def test_listing_follows_pagination(self, store: S3BlobStore, s3_client: S3Client) -> None:
        paged = S3BlobStore(store.bucket, s3_client, prefix=store.prefix, list_page_size=3)
        ids = {f"{n:08x}" for n in range(10)}
        for blob_id in ids:
            paged.put(blob_id, [b""])
        assert set(paged.iter_ids()) == ids

    def test_part_size_below_the_s3_minimum_is_refused(self, s3_client: S3Client) -> None:
        with pytest.raises(ValueError):
            S3BlobStore("bucket", s3_client, part_size=MIB)
