"""The mutable credentials table, outside the event log: hashes, failures, tokens.

Tokens are random 256-bit strings handed to the client once; only their SHA-256 is stored,
so a copy of this file lets nobody act as a user. Revoking is deleting the row.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username     TEXT PRIMARY KEY,
    hash         TEXT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    updated_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    digest     TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens (username);
"""


@dataclass(frozen=True)
class Account:
    username: str
    hash: str
    failures: int
    locked_until: float | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CredentialStore:
    """One SQLite file (mode 0600) shared by the threads of one API process."""

    def __init__(self, path: Path, now: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self.now = now
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Accounts ----------------------------------------------------------------------------
    def set_password(self, username: str, password_hash: str) -> None:
        """Set or replace a hash; clears failures and the lock, and revokes every token."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO accounts (username, hash, failures, locked_until, updated_at) "
                "VALUES (?, ?, 0, NULL, ?) ON CONFLICT (username) DO UPDATE SET "
                "hash = excluded.hash, failures = 0, locked_until = NULL, "
                "updated_at = excluded.updated_at",
                (username, password_hash, self.now()),
            )
            db.execute("DELETE FROM tokens WHERE username = ?", (username,))

    def account(self, username: str) -> Account | None:
        with self._lock:
            row = self._db.execute(
                "SELECT username, hash, failures, locked_until FROM accounts WHERE username = ?",
                (username,),
            ).fetchone()
        return Account(*row) if row else None

    def usernames(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT username FROM accounts ORDER BY 1")]

    def locked_until(self, username: str) -> float | None:
        found = self.account(username)
        if found and found.locked_until and found.locked_until > self.now():
            return found.locked_until
        return None

    def record_failure(self, username: str, threshold: int, lock_seconds: float) -> bool:
        """Count a failed login; return True if this failure locks the account."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE accounts SET failures = failures + 1 WHERE username = ? RETURNING failures",
                (username,),
            ).fetchone()
            if row is None or row[0] < threshold:
                return False
            db.execute(
                "UPDATE accounts SET failures = 0, locked_until = ? WHERE username = ?",
                (self.now() + lock_seconds, username),
            )
            return True

    def record_success(self, username: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE accounts SET failures = 0, locked_until = NULL WHERE username = ?",
                (username,),
            )

    def unlock(self, username: str) -> None:
        self.record_success(username)

    # Tokens ------------------------------------------------------------------------------
    def issue_token(self, username: str, ttl_seconds: float) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires = self.now() + ttl_seconds
        with self._tx() as db:
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (self.now(),))
            db.execute(
                "INSERT INTO tokens (digest, username, expires_at) VALUES (?, ?, ?)",
                (_digest(token), username, expires),
            )
        return token, expires

    def resolve(self, token: str) -> str | None:
        """The username a live token belongs to, or None (unknown, expired or revoked)."""
        with self._lock:
            row = self._db.execute(
                "SELECT username FROM tokens WHERE digest = ? AND expires_at > ?",
                (_digest(token), self.now()),
            ).fetchone()
        return row[0] if row else None

    def revoke(self, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM tokens WHERE digest = ?", (_digest(token),))

    def revoke_all(self, username: str) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM tokens WHERE username = ?", (username,)).rowcount
