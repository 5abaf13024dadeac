"""The key table: one wrapped data key per blob, kept outside the event log so it can be erased.

Purging a segment is proven by destroying its data key (crypto-shredding): every copy of the
ciphertext, backups included, becomes noise. The event log is append-only and can never erase
anything, hence this separate, mutable SQLite database with ``secure_delete`` on.

Data keys are wrapped (AES-256-GCM) under a key-encryption key (KEK), a 32-byte file
``kek-<id>.key`` (mode 0600) in a keys directory. The wrap's associated data is the blob id,
so a wrapped key moved to another blob's row does not unwrap. Wrapped value, 60 bytes::

    nonce (12, random) | AES-256-GCM(KEK, nonce, data_key, aad) = ciphertext (32) | tag (16)
    aad = b"scelle/content-key/v1" | 0x00 | blob_id as ASCII

Keep the KEK directory out of the backups of the key database (other media, other schedule):
a backup holding both can resurrect destroyed keys. Regular :meth:`KeyTable.rotate_kek` makes
every older backup of the database useless once the old KEK file is shredded.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from evidence.content.blobs import check_blob_id, fsync_dir
from evidence.content.errors import (
    DuplicateKeyError,
    IntegrityError,
    KeyDestroyedError,
    KeyNotFoundError,
    KeyTableError,
)
from evidence.content.stream import KEY_SIZE, new_data_key

WRAP_LABEL: Final = b"scelle/content-key/v1\x00"
WRAP_NONCE_SIZE: Final = 12
WRAPPED_SIZE: Final = WRAP_NONCE_SIZE + KEY_SIZE + 16
KEK_ID_PATTERN: Final = re.compile(r"[0-9a-f]{16}")
_PAGE: Final = 512

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS data_keys (
    blob_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL, kek_id TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS destroyed_keys (
    blob_id TEXT PRIMARY KEY, destroyed_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retired_keks (
    kek_id TEXT PRIMARY KEY, retired_at TEXT NOT NULL, shredded_at TEXT
) WITHOUT ROWID;
"""


def wrap_key(kek: bytes, blob_id: str, data_key: bytes) -> bytes:
    """Wrap ``data_key`` for ``blob_id`` under ``kek`` (layout in the module docstring)."""
    nonce = secrets.token_bytes(WRAP_NONCE_SIZE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, WRAP_LABEL + blob_id.encode("ascii"))


def unwrap_key(kek: bytes, blob_id: str, wrapped: bytes) -> bytes:
    """Unwrap a data key; :class:`IntegrityError` if it was altered, moved or wrong KEK."""
    if len(wrapped) != WRAPPED_SIZE:
        raise IntegrityError(f"wrapped key for {blob_id} has {len(wrapped)} bytes")
    nonce, sealed = wrapped[:WRAP_NONCE_SIZE], wrapped[WRAP_NONCE_SIZE:]
    try:
        return AESGCM(kek).decrypt(nonce, sealed, WRAP_LABEL + blob_id.encode("ascii"))
    except InvalidTag:
        raise IntegrityError(f"wrapped key for {blob_id} does not authenticate") from None


class KeyTable:
    """Blob id -> wrapped data key, KEK id and creation time, in SQLite with secure delete.

    Thread-safe (one connection behind a lock). The database runs in WAL mode with
    ``synchronous=FULL``, so a created key is durable when :meth:`create` returns.
    """

    def __init__(self, db_path: Path | str, kek_dir: Path | str) -> None:
        self.db_path, self.kek_dir = Path(db_path), Path(kek_dir)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.kek_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._keks: dict[str, bytes] = {}
        self._db = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
        try:
            self._configure()
            self._kek(self.current_kek_id)  # fail at start-up, not at the first read
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"KeyTable({str(self.db_path)!r}, {str(self.kek_dir)!r})"

    def __enter__(self) -> KeyTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and forget cached KEKs."""
        with self._lock:
            self._keks.clear()
            self._db.close()

    def _configure(self) -> None:
        db = self._db
        db.execute("PRAGMA secure_delete=ON")
        if db.execute("PRAGMA secure_delete").fetchone()[0] != 1:
            raise KeyTableError("this SQLite build cannot turn secure_delete on")
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise KeyTableError(f"cannot put {self.db_path} in WAL mode")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
        with self._transaction():
            for statement in _SCHEMA.split(";")[:-1]:  # executescript() would COMMIT
                db.execute(statement)
            if self._meta("current_kek") is None:
                kek_id = secrets.token_hex(8)
                self._write_kek(kek_id)
                db.execute("INSERT INTO meta VALUES ('current_kek', ?)", (kek_id,))
        self._shred_retired()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` takes the write lock first, so a rotation never interleaves."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def current_kek_id(self) -> str:
        """The KEK that wraps newly created keys."""
        with self._lock:
            kek_id = self._meta("current_kek")
        if kek_id is None or not KEK_ID_PATTERN.fullmatch(kek_id):
            raise KeyTableError("key table has no valid current KEK")
        return kek_id

    def create(self, blob_id: str) -> bytes:
        """Create, wrap and durably store a fresh data key for ``blob_id``; return it.

        Refuses an id that has, or ever had, a key: :class:`DuplicateKeyError`.
        """
        check_blob_id(blob_id)
        data_key = new_data_key()
        with self._transaction():
            if self._known(blob_id):
                raise DuplicateKeyError(blob_id)
            kek_id = self.current_kek_id
            self._db.execute(
                "INSERT INTO data_keys VALUES (?, ?, ?, ?)",
                (blob_id, wrap_key(self._kek(kek_id), blob_id, data_key), kek_id, _now()),
            )
        return data_key

    def _known(self, blob_id: str) -> bool:
        query = (
            "SELECT 1 FROM data_keys WHERE blob_id = ?1"
            " UNION ALL SELECT 1 FROM destroyed_keys WHERE blob_id = ?1"
        )
        return self._db.execute(query, (blob_id,)).fetchone() is not None

    def get(self, blob_id: str) -> bytes:
        """Return the data key; :class:`KeyDestroyedError` or :class:`KeyNotFoundError`."""
        check_blob_id(blob_id)
        with self._lock:
            row = self._db.execute(
                "SELECT wrapped, kek_id FROM data_keys WHERE blob_id = ?", (blob_id,)
            ).fetchone()
            if row is None:
                raise self._missing(blob_id)
            return unwrap_key(self._kek(row[1]), blob_id, row[0])

    def _missing(self, blob_id: str) -> KeyTableError:
        destroyed = self._db.execute(
            "SELECT destroyed_at FROM destroyed_keys WHERE blob_id = ?", (blob_id,)
        ).fetchone()
        if destroyed is None:
            return KeyNotFoundError(blob_id)
        return KeyDestroyedError(f"{blob_id} (key destroyed at {destroyed[0]})")

    def destroy(self, blob_id: str) -> bool:
        """Erase the data key; return True if this call destroyed it, False if already gone.

        Steps: (1) overwrite the wrapped key with zeros, (2) delete the row and record a
        tombstone, in one transaction, with ``secure_delete`` zeroing freed space in the
        database pages; (3) checkpoint and truncate the WAL, so no frame holding the old page
        survives in ``keys.sqlite-wal``. Calling it again repeats step 3 (crash recovery).

        Residual risk, outside SQLite's reach: the filesystem may keep old blocks (copy-on-write
        filesystems, snapshots, ``data=journal``), an SSD remaps writes and keeps stale pages
        until its garbage collection, backups and replicas keep their copies, and the process
        held the plaintext key in memory (and maybe swap). Each such copy is still wrapped:
        rotating the KEK and shredding the old KEK file (:meth:`rotate_kek`) makes them all
        useless, which leaves 32 bytes per rotation to worry about instead of every key.
        """
        check_blob_id(blob_id)
        with self._lock:
            with self._transaction():
                row = self._db.execute(
                    "SELECT length(wrapped) FROM data_keys WHERE blob_id = ?", (blob_id,)
                ).fetchone()
                if row is None:
                    error = self._missing(blob_id)
                    if not isinstance(error, KeyDestroyedError):
                        raise error
                else:
                    self._db.execute(
                        "UPDATE data_keys SET wrapped = zeroblob(?), kek_id = '' WHERE blob_id = ?",
                        (row[0], blob_id),
                    )
                    self._db.execute("DELETE FROM data_keys WHERE blob_id = ?", (blob_id,))
                    self._db.execute("INSERT INTO destroyed_keys VALUES (?, ?)", (blob_id, _now()))
            self._truncate_wal()
        return row is not None

    def destroy_many(self, blob_ids: list[str]) -> dict[str, str]:
        """:meth:`destroy` for a purge batch: one transaction and one WAL truncation.

        Returns each id's outcome: ``destroyed``, ``already-destroyed`` or ``absent`` (no key
        ever existed). Same steps and residual risk as :meth:`destroy`.
        """
        for blob_id in blob_ids:
            check_blob_id(blob_id)
        outcome: dict[str, str] = {}
        with self._lock:
            with self._transaction():
                for blob_id in blob_ids:
                    row = self._db.execute(
                        "SELECT length(wrapped) FROM data_keys WHERE blob_id = ?", (blob_id,)
                    ).fetchone()
                    if row is None:
                        gone = isinstance(self._missing(blob_id), KeyDestroyedError)
                        outcome[blob_id] = "already-destroyed" if gone else "absent"
                        continue
                    self._db.execute(
                        "UPDATE data_keys SET wrapped = zeroblob(?), kek_id = '' WHERE blob_id = ?",
                        (row[0], blob_id),
                    )
                    self._db.execute("DELETE FROM data_keys WHERE blob_id = ?", (blob_id,))
                    self._db.execute("INSERT INTO destroyed_keys VALUES (?, ?)", (blob_id, _now()))
                    outcome[blob_id] = "destroyed"
            self._truncate_wal()
        return outcome

    def _truncate_wal(self) -> None:
        busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise KeyTableError(
                "WAL not truncated (another connection is reading); old pages remain in "
                f"{self.db_path}-wal until a checkpoint succeeds: call destroy() again"
            )

    def rotate_kek(self) -> str:
        """Re-wrap every data key under a new KEK in one transaction; shred the old KEK files.

        (1) Under the database write lock, write the new KEK file durably, re-wrap every key,
        make the new KEK current and record the old ones as retired, in one transaction;
        (2) truncate the WAL; (3) overwrite, fsync and unlink each retired KEK file. A crash
        at any point leaves every key readable; a retired file left by a crash in (3) is
        shredded when the table is next opened or rotated. Only KEKs a committed rotation
        retired are shredded, never "every other file", so a concurrent rotation by another
        process cannot lose the KEK it just wrote.
        """
        new_id = secrets.token_hex(8)
        with self._lock:
            try:
                with self._transaction():
                    self._write_kek(new_id)
                    retired = {self.current_kek_id}
                    in_use = self._db.execute("SELECT DISTINCT kek_id FROM data_keys")
                    retired |= {row[0] for row in in_use.fetchall()}
                    self._rewrap_all(new_id)
                    self._db.execute(
                        "UPDATE meta SET value = ? WHERE name = 'current_kek'", (new_id,)
                    )
                    self._db.executemany(
                        "INSERT OR IGNORE INTO retired_keks VALUES (?, ?, NULL)",
                        [(kek_id, _now()) for kek_id in sorted(retired - {new_id})],
                    )
            except BaseException:
                # Never shred a KEK that did become current (an interrupt right after COMMIT).
                if self._meta("current_kek") != new_id and self.kek_path(new_id).exists():
                    self._shred_kek(new_id)
                raise
            self._truncate_wal()
            self._shred_retired()
        return new_id

    def _shred_retired(self) -> None:
        """Shred any retired KEK file found on disk: one a crash left during a rotation, or
        one restored from a backup (it would unwrap old copies of destroyed keys)."""
        for (kek_id,) in self._db.execute("SELECT kek_id FROM retired_keks").fetchall():
            if self.kek_path(kek_id).exists():
                self._shred_kek(kek_id)
                self._db.execute(
                    "UPDATE retired_keks SET shredded_at = ? WHERE kek_id = ?", (_now(), kek_id)
                )

    def _rewrap_all(self, kek_id: str) -> None:
        new_kek, last = self._kek(kek_id), ""
        while rows := self._db.execute(
            "SELECT blob_id, wrapped, kek_id FROM data_keys WHERE blob_id > ?"
            " ORDER BY blob_id LIMIT ?",
            (last, _PAGE),
        ).fetchall():
            for blob_id, wrapped, old_id in rows:
                data_key = unwrap_key(self._kek(old_id), blob_id, wrapped)
                self._db.execute(
                    "UPDATE data_keys SET wrapped = ?, kek_id = ? WHERE blob_id = ?",
                    (wrap_key(new_kek, blob_id, data_key), kek_id, blob_id),
                )
            last = rows[-1][0]

    def ids(self) -> list[str]:
        """Blob ids that have a live key, sorted (audits, reconciliation)."""
        with self._lock:
            rows = self._db.execute("SELECT blob_id FROM data_keys ORDER BY blob_id").fetchall()
        return [row[0] for row in rows]

    def destroyed_ids(self) -> list[str]:
        """Blob ids whose key was destroyed, sorted (purge audits)."""
        with self._lock:
            query = "SELECT blob_id FROM destroyed_keys ORDER BY blob_id"
            rows = self._db.execute(query).fetchall()
        return [row[0] for row in rows]

    def kek_path(self, kek_id: str) -> Path:
        """The file holding KEK ``kek_id``."""
        if not KEK_ID_PATTERN.fullmatch(kek_id):
            raise KeyTableError(f"invalid KEK id {kek_id!r}")
        return self.kek_dir / f"kek-{kek_id}.key"

    def _kek(self, kek_id: str) -> bytes:
        """Load (once) a KEK file, refusing one that others may read or of the wrong size."""
        if kek_id in self._keks:
            return self._keks[kek_id]
        path = self.kek_path(kek_id)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise KeyTableError(f"KEK file {path} is missing") from None
        try:
            if os.fstat(fd).st_mode & 0o077:
                raise KeyTableError(f"KEK file {path} is open to group or others: chmod 600")
            material = os.read(fd, KEY_SIZE + 1)
        finally:
            os.close(fd)
        if len(material) != KEY_SIZE:
            raise KeyTableError(f"KEK file {path} does not hold {KEY_SIZE} bytes")
        self._keks[kek_id] = material
        return material

    def _write_kek(self, kek_id: str) -> None:
        """Create a KEK file with mode 0600 from the start (no window with wider rights)."""
        material, path = secrets.token_bytes(KEY_SIZE), self.kek_path(kek_id)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        try:
            _write_all(fd, material)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.kek_dir)
        self._keks[kek_id] = material

    def _shred_kek(self, kek_id: str) -> None:
        """Overwrite with zeros, fsync, unlink, fsync the directory (same residual risk as
        :meth:`destroy`: the filesystem or the SSD may keep the old blocks)."""
        self._keks.pop(kek_id, None)
        path = self.kek_path(kek_id)
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            _write_all(fd, bytes(max(os.fstat(fd).st_size, KEY_SIZE)))
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink()
        fsync_dir(self.kek_dir)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
