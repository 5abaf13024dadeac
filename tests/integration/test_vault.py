"""The content vault over real stores: encryption, range reads, crypto-shredding, KEK rotation.

Everything is real: SQLite files, KEK files, the filesystem store, and S3 over HTTP to a moto
server. Where a test needs to see what a store was asked for, it wraps the real store.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import stat
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from evidence.content.blobs import BlobStore, FilesystemBlobStore
from evidence.content.errors import (
    BlobNotFoundError,
    ContentError,
    DigestMismatchError,
    DuplicateKeyError,
    IntegrityError,
    InvalidBlobIdError,
    KeyDestroyedError,
    KeyNotFoundError,
    KeyTableError,
    RangeError,
)
from evidence.content.keys import KeyTable
from evidence.content.s3 import S3BlobStore
from evidence.content.stream import HEADER_SIZE, TAG_SIZE, decrypt_range
from evidence.content.vault import ContentVault, derived_id

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

CHUNK = 64 * 1024


def new_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyTable]:
    with KeyTable(tmp_path / "keys" / "keys.sqlite", tmp_path / "keys" / "kek") as table:
        yield table


@pytest.fixture(params=["filesystem", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    client: S3Client = request.getfixturevalue("s3_client")
    bucket = f"scelle-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3BlobStore(bucket, client)


@pytest.fixture
def vault(keys: KeyTable, blobs: BlobStore) -> ContentVault:
    return ContentVault(keys, blobs, chunk_size=CHUNK)


class RecordingStore:
    """A real store, with a note of every stored range a reader asked for."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.reads: list[tuple[int, int]] = []

    def put(self, blob_id: str, chunks: Iterable[bytes | memoryview]) -> int:
        return self.inner.put(blob_id, chunks)

    def get_range(self, blob_id: str, start: int, end: int) -> bytes:
        self.reads.append((start, end))
        return self.inner.get_range(blob_id, start, end)

    def size(self, blob_id: str) -> int:
        return self.inner.size(blob_id)

    def exists(self, blob_id: str) -> bool:
        return self.inner.exists(blob_id)

    def delete(self, blob_id: str) -> bool:
        return self.inner.delete(blob_id)

    def iter_ids(self) -> Iterator[str]:
        return self.inner.iter_ids()


def database_files(table: KeyTable) -> dict[str, bytes]:
    paths = [table.db_path, *table.db_path.parent.glob(table.db_path.name + "-*")]
    return {p.name: p.read_bytes() for p in paths if p.is_file()}


def wrapped_key(table: KeyTable, blob_id: str) -> bytes:
    with sqlite3.connect(table.db_path) as db:
        row = db.execute("SELECT wrapped FROM data_keys WHERE blob_id = ?", (blob_id,)).fetchone()
    db.close()
    return bytes(row[0])


def test_put_returns_what_the_event_records(vault: ContentVault) -> None:
    blob_id, data = new_id(), os.urandom(5 * CHUNK + 123)
    stored = vault.put(blob_id, io.BytesIO(data))
    assert stored.blob_id == blob_id
    assert stored.plaintext_sha256 == hashlib.sha256(data).hexdigest()
    assert stored.plaintext_size == len(data)
    assert stored.stored_size == vault.blobs.size(blob_id) == HEADER_SIZE + len(data) + 6 * TAG_SIZE
    assert vault.read_all(blob_id) == data
    assert vault.plaintext_size(blob_id) == len(data)
    vault.verify(blob_id, stored.plaintext_sha256, stored.plaintext_size)


def test_the_store_holds_only_ciphertext(vault: ContentVault) -> None:
    blob_id, data = new_id(), b"plaque AB-123-CD " * 1000
    vault.put(blob_id, [data])
    stored = vault.blobs.get_range(blob_id, 0, vault.blobs.size(blob_id))
    assert b"plaque" not in stored


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_sizes_around_chunk_boundaries_round_trip(vault: ContentVault, size: int) -> None:
    blob_id, data = new_id(), os.urandom(size)
    vault.put(blob_id, [data])
    assert vault.read_all(blob_id) == data
    assert b"".join(vault.iter_range(blob_id)) == data


def test_ranges_equal_plaintext_slices(vault: ContentVault) -> None:
    blob_id, data = new_id(), os.urandom(10 * CHUNK + 77)
    vault.put(blob_id, [data])
    for start, end in [
        (0, 0), (0, 1), (CHUNK - 1, CHUNK + 1), (3 * CHUNK, 4 * CHUNK), (5, 9 * CHUNK + 5),
        (len(data) - 1, len(data)), (len(data), len(data)), (0, len(data)),
    ]:  # fmt: skip
        assert vault.read_range(blob_id, start, end) == data[start:end]
    with pytest.raises(RangeError):
        vault.read_range(blob_id, 0, len(data) + 1)


def test_a_range_read_fetches_and_decrypts_only_its_chunks(keys: KeyTable, tmp_path: Path) -> None:
    store = RecordingStore(FilesystemBlobStore(tmp_path / "blobs"))
    vault = ContentVault(keys, store, chunk_size=CHUNK, read_batch=4 * CHUNK)
    blob_id, data = new_id(), os.urandom(100 * CHUNK)
    vault.put(blob_id, [data])
    start = 42 * CHUNK + 10
    assert vault.read_range(blob_id, start, start + 100) == data[start : start + 100]
    chunk_start = HEADER_SIZE + 42 * (CHUNK + TAG_SIZE)
    assert store.reads == [(0, HEADER_SIZE), (chunk_start, chunk_start + CHUNK + TAG_SIZE)]
    store.reads.clear()
    pieces = list(vault.iter_range(blob_id, CHUNK, 11 * CHUNK))
    assert b"".join(pieces) == data[CHUNK : 11 * CHUNK]
    assert len(pieces) == 10  # one piece per authenticated chunk
    assert len(store.reads) == 3  # fetched in batches of 4 chunks; the header was cached


def test_a_tampered_blob_fails_closed(keys: KeyTable, tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    vault = ContentVault(keys, store, chunk_size=CHUNK)
    blob_id, data = new_id(), os.urandom(3 * CHUNK)
    stored = vault.put(blob_id, [data])
    path = store.path(blob_id)
    blob = bytearray(path.read_bytes())
    blob[HEADER_SIZE + CHUNK + TAG_SIZE + 5] ^= 1
    path.chmod(0o600)
    path.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match="chunk 1"):
        vault.read_all(blob_id)
    with pytest.raises(IntegrityError):
        vault.verify(blob_id, stored.plaintext_sha256, stored.plaintext_size)
    assert vault.read_range(blob_id, 0, CHUNK) == data[:CHUNK]  # untouched chunks stay readable


def test_verify_rejects_a_different_recorded_digest(vault: ContentVault) -> None:
    blob_id = new_id()
    stored = vault.put(blob_id, [b"segment"])
    with pytest.raises(DigestMismatchError):
        vault.verify(blob_id, hashlib.sha256(b"other").hexdigest(), stored.plaintext_size)
    with pytest.raises(DigestMismatchError):
        vault.verify(blob_id, stored.plaintext_sha256, stored.plaintext_size + 1)


def test_a_blob_id_is_used_once_even_after_a_purge(vault: ContentVault) -> None:
    blob_id = new_id()
    vault.put(blob_id, [b"first"])
    with pytest.raises(DuplicateKeyError):
        vault.put(blob_id, [b"second"])
    vault.shred(blob_id)
    with pytest.raises(DuplicateKeyError):
        vault.put(blob_id, [b"third"])


def test_a_failed_put_leaves_neither_blob_nor_usable_key(vault: ContentVault) -> None:
    blob_id = new_id()

    def failing() -> Iterator[bytes]:
        yield os.urandom(CHUNK * 3)
        raise OSError("camera connection lost")

    with pytest.raises(OSError, match="camera connection lost"):
        vault.put(blob_id, failing())
    assert not vault.blobs.exists(blob_id)
    with pytest.raises(KeyDestroyedError):
        vault.keys.get(blob_id)
    assert vault.orphans([]).orphan_keys == ()
    assert vault.orphans([]).orphan_blobs == ()


def test_shredding_makes_every_earlier_copy_unreadable(vault: ContentVault, tmp_path: Path) -> None:
    blob_id, data = new_id(), os.urandom(2 * CHUNK)
    vault.put(blob_id, [data])
    backup = vault.blobs.get_range(blob_id, 0, vault.blobs.size(blob_id))  # e.g. a tape copy
    key_before = vault.keys.get(blob_id)
    assert decrypt_range(key_before, backup) == data  # the copy was readable with the key

    report = vault.shred(blob_id)

    assert (report.key, report.blob_deleted) == ("destroyed", True)
    assert not vault.blobs.exists(blob_id)
    assert blob_id not in vault.keys.ids()
    assert blob_id in vault.keys.destroyed_ids()
    with pytest.raises(KeyDestroyedError):
        vault.keys.get(blob_id)
    # The copy is restored where the vault looks (a backup put back by an insider) ...
    restored = ContentVault(vault.keys, FilesystemBlobStore(tmp_path / "restored"))
    restored.blobs.put(blob_id, [backup])
    # ... and nothing in the key table decrypts it any more.
    with pytest.raises(KeyDestroyedError):
        restored.read_all(blob_id)
    for other_id in vault.keys.ids():
        with pytest.raises(IntegrityError):
            decrypt_range(vault.keys.get(other_id), backup)


def test_shred_is_idempotent_and_finishes_an_interrupted_purge(vault: ContentVault) -> None:
    done, interrupted, never = new_id(), new_id(), new_id()
    vault.put(done, [b"a"])
    vault.put(interrupted, [b"b"])
    vault.shred(done)
    again = vault.shred(done)
    assert (again.key, again.blob_deleted) == ("already-destroyed", False)
    vault.keys.destroy(interrupted)  # crash after step 1 of a purge
    finished = vault.shred(interrupted)
    assert (finished.key, finished.blob_deleted) == ("already-destroyed", True)
    unknown = vault.shred(never)
    assert (unknown.key, unknown.blob_deleted) == ("absent", False)


def test_reading_a_missing_blob_or_key_says_which(vault: ContentVault) -> None:
    with pytest.raises(KeyNotFoundError):
        vault.read_all(new_id())
    keyed_only = new_id()
    vault.keys.create(keyed_only)
    with pytest.raises(BlobNotFoundError):
        vault.read_range(keyed_only, 0, 0)


def test_reconciliation_sorts_out_every_crash_window(vault: ContentVault) -> None:
    live, lost, purged = new_id(), new_id(), new_id()
    for blob_id in (live, lost, purged):
        vault.put(blob_id, [b"recorded and logged"])
    vault.blobs.delete(lost)  # content vanished without a purge
    vault.shred(purged)  # crash before the purge event
    blob_without_event = new_id()
    vault.put(blob_without_event, [b"crash before the recorded event"])
    key_without_blob = new_id()
    vault.keys.create(key_without_blob)  # crash between key and blob

    found = vault.orphans([live, lost, purged])

    assert found.orphan_blobs == (blob_without_event,)
    assert found.orphan_keys == tuple(sorted([blob_without_event, key_without_blob]))
    assert found.unrecorded_purges == (purged,)
    assert found.missing_blobs == (lost,)
    assert found.missing_keys == ()


def test_kek_files_are_created_private(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # a careless service manager: files would come out 0666
    try:
        table = KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")
        rotated = table.rotate_kek()
    finally:
        os.umask(old_umask)
    path = table.kek_path(rotated)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == 32
    assert [p.name for p in (tmp_path / "kek").iterdir()] == [path.name]
    table.close()


def test_a_kek_file_open_to_others_is_refused(tmp_path: Path) -> None:
    KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek").close()
    (kek_file,) = (tmp_path / "kek").iterdir()
    kek_file.chmod(0o644)
    with pytest.raises(KeyTableError, match="chmod 600"):
        KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")


def test_a_missing_kek_file_is_reported_at_start(tmp_path: Path) -> None:
    KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek").close()
    (kek_file,) = (tmp_path / "kek").iterdir()
    kek_file.unlink()
    with pytest.raises(KeyTableError, match="missing"):
        KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")


def test_rotation_keeps_every_blob_readable_and_shreds_the_old_kek(vault: ContentVault) -> None:
    contents = {new_id(): os.urandom(n * 1000 + 1) for n in range(20)}
    for blob_id, data in contents.items():
        vault.put(blob_id, [data])
    purged = next(iter(contents))
    vault.shred(purged)
    old_id = vault.keys.current_kek_id
    old_path = vault.keys.kek_path(old_id)
    kept = next(b for b in sorted(contents) if b != purged)  # random ids: never the shredded one
    wrapped_before = wrapped_key(vault.keys, kept)

    new_id_ = vault.keys.rotate_kek()

    assert new_id_ != old_id
    assert vault.keys.current_kek_id == new_id_
    assert not old_path.exists()
    assert vault.keys.kek_path(new_id_).exists()
    for blob_id, data in contents.items():
        if blob_id != purged:
            assert vault.read_all(blob_id) == data
    with pytest.raises(KeyDestroyedError):
        vault.read_all(purged)
    assert wrapped_key(vault.keys, kept) != wrapped_before
    later = new_id()
    vault.put(later, [b"after rotation"])
    assert vault.read_all(later) == b"after rotation"
    reopened = KeyTable(vault.keys.db_path, vault.keys.kek_dir)  # survives a restart
    assert ContentVault(reopened, vault.blobs).read_all(later) == b"after rotation"
    reopened.close()


def test_a_retired_kek_file_found_on_disk_is_shredded_at_open(tmp_path: Path) -> None:
    table = KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")
    blob_id = new_id()
    data_key = table.create(blob_id)
    old_path = table.kek_path(table.current_kek_id)
    old_material = old_path.read_bytes()
    current = table.rotate_kek()
    table.close()
    # a crash between commit and shredding, or a KEK restored from a backup:
    fd = os.open(old_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, old_material)
    os.close(fd)

    reopened = KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")

    assert not old_path.exists()
    assert [p.name for p in (tmp_path / "kek").iterdir()] == [f"kek-{current}.key"]
    assert reopened.get(blob_id) == data_key
    reopened.close()


def test_two_handles_on_one_key_table_agree_through_a_rotation(tmp_path: Path) -> None:
    """The service and an admin command open the same key table at the same time."""
    service = KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")
    admin = KeyTable(tmp_path / "keys.sqlite", tmp_path / "kek")
    before, after = new_id(), new_id()
    first_key = service.create(before)
    new_kek = admin.rotate_kek()
    assert service.get(before) == first_key
    second_key = service.create(after)  # wrapped under the KEK the admin just made current
    assert admin.get(after) == second_key
    assert service.current_kek_id == new_kek
    assert service.destroy(before) is True
    with pytest.raises(KeyDestroyedError):
        admin.get(before)
    service.close()
    admin.close()


def test_a_bad_chunk_size_is_refused_before_any_key_is_made(keys: KeyTable, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ContentVault(keys, FilesystemBlobStore(tmp_path / "blobs"), chunk_size=1)
    assert keys.ids() == []


def test_a_wrapped_key_moved_to_another_blob_does_not_unwrap(keys: KeyTable) -> None:
    victim, target = new_id(), new_id()
    keys.create(victim)
    keys.create(target)
    with sqlite3.connect(keys.db_path) as db:
        db.execute(
            "UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE blob_id = ?)"
            " WHERE blob_id = ?",
            (victim, target),
        )
    db.close()
    with pytest.raises(IntegrityError):
        keys.get(target)


def test_destroyed_keys_leave_no_trace_in_the_database_files(keys: KeyTable) -> None:
    blob_ids = [new_id() for _ in range(400)]  # enough rows for page splits and merges
    data_keys = {blob_id: keys.create(blob_id) for blob_id in blob_ids}
    wrapped = {blob_id: wrapped_key(keys, blob_id) for blob_id in blob_ids}
    keys.rotate_kek()  # the old wrappings must be gone too, not only the old KEK
    rewrapped = {blob_id: wrapped_key(keys, blob_id) for blob_id in blob_ids}
    destroyed, kept = blob_ids[::2], blob_ids[1::2]
    for blob_id in destroyed:
        keys.destroy(blob_id)

    files = database_files(keys)
    raw = b"".join(files.values())
    assert "keys.sqlite" in files
    for blob_id in destroyed:
        for secret in (wrapped[blob_id], rewrapped[blob_id], data_keys[blob_id]):
            for offset in range(0, len(secret) - 15, 4):  # any 16-byte window of it
                assert secret[offset : offset + 16] not in raw, blob_id
    for blob_id in kept:  # the search would find them: it is not vacuous
        assert rewrapped[blob_id] in raw
        assert wrapped[blob_id][:16] not in raw  # the pre-rotation wrapping was overwritten
        assert keys.get(blob_id) == data_keys[blob_id]


def test_a_rendition_is_kept_under_its_owners_key_and_shredded_with_it(
    vault: ContentVault, tmp_path: Path
) -> None:
    owner = new_id()
    thumb = derived_id(owner, "thumb")
    vault.put(owner, [b"segment bytes" * 100])
    vault.put(thumb, [b"thumbnail jpeg"])
    assert vault.read_all(thumb) == b"thumbnail jpeg"
    assert thumb not in vault.keys.ids()  # no key of its own
    assert vault.orphans([owner, thumb]).orphan_keys == ()
    copy = vault.blobs.get_range(thumb, 0, vault.blobs.size(thumb))
    vault.shred(owner, derived=[thumb])
    assert not vault.blobs.exists(thumb)
    with pytest.raises(ContentError):
        decrypt_range(vault.keys.get(owner), copy)


def test_a_rendition_cannot_be_shredded_alone_nor_made_without_its_owner(
    vault: ContentVault,
) -> None:
    owner = new_id()
    with pytest.raises(KeyNotFoundError):
        vault.put(derived_id(owner, "thumb"), [b"x"])
    vault.put(owner, [b"x"])
    with pytest.raises(InvalidBlobIdError):
        vault.shred(derived_id(owner, "thumb"))
    with pytest.raises(InvalidBlobIdError):
        vault.shred(owner, derived=[derived_id(new_id(), "thumb")])
