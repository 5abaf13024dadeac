"""The sealer: follows the notification log in order and seals every stored event.

Each committed event gets the next dense leaf index (notification ids may have gaps; leaf
indices never do), its chain value and its place in the Merkle tree's tiles — all written in
one transaction under the sealer's lock, so two sealers at once still produce one gap-free
sequence.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

from evidence.ledger.leaf import ZERO_CHAIN, StoredRecord, chain_values
from evidence.ledger.store import LeafRow, LedgerDB, tail_run
from evidence.ledger.tiles import TILE_WIDTH

_digest = methodcaller("digest")


class SealingError(RuntimeError):
    """The ledger and the event store disagree in a way the sealer must not paper over."""


@dataclass(frozen=True)
class _Head:
    """What the sealer remembers between batches, checked against the database each time."""

    size: int
    last_notification_id: int
    chain: bytes

    def extends(self, records: list[StoredRecord]) -> bool:
        """Whether ``records`` can go straight to the tail after this head: they follow it
        without a gap and leave its group of 256 leaves unfinished (nothing to fold)."""
        offset = self.size % TILE_WIDTH
        return (
            bool(records)
            and offset > 0
            and offset + len(records) < TILE_WIDTH
            and records[0].notification_id == self.last_notification_id + 1
        )


class Sealer:
    def __init__(self, db: LedgerDB, batch_size: int = 2_048) -> None:
        self.db = db
        self.batch_size = batch_size
        self._head: _Head | None = None
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Seal every committed event not yet sealed, in transactions of our own."""
        total = 0
        with self._lock:
            while True:
                with self.db.write_transaction() as cur:
                    sealed = self.seal_pending(cur, self.batch_size)
                total += sealed
                if sealed < self.batch_size:
                    return total

    def seal_pending(self, cur: Any, limit: int | None = None) -> int:
        """Seal, within the caller's write transaction, the events it can see unsealed.

        Embedded mode calls this from inside the transaction that inserts the events, so an
        event and its seal commit together. The cached head is only a hint: it is checked
        against the database's last leaf every time, so a rolled-back transaction or another
        sealer can never make us extend the wrong tree.
        """
        return self._seal_after(cur, self._load_head(cur), limit)

    def _seal_after(self, cur: Any, head: _Head, limit: int | None = None) -> int:
        records = self.db.records_after(cur, head.last_notification_id, limit or 1_000_000)
        return self._append(cur, head, records)

    def seal_inserted(self, cur: Any, records: list[StoredRecord]) -> int:
        """Seal events this transaction just inserted, without reading them back.

        The common case — a save of fewer events than it takes to fill the current group of
        256 leaves, while the ledger ends where this sealer left it — costs one indexed read
        (does the last tail run still end at the remembered leaf, with its notification id
        and chain value?) and the insert of one tail run. Otherwise the head is reloaded and
        checked against its event; and if the records do not directly follow it, every
        unsealed event is read.
        """
        cached = self._head
        if cached is not None and cached.extends(records):
            leaves, chains = self._hashes(cached.chain, records)
            nids = [r.notification_id for r in records]
            last = LeafRow(cached.size - 1, cached.last_notification_id, b"", cached.chain)
            if self.db.guarded_append(cur, last, tail_run(cached.size, nids, leaves, chains)):
                self._head = _Head(cached.size + len(records), nids[-1], chains[-1])
                return len(records)
        head = self._load_head(cur)
        if records and records[0].notification_id <= head.last_notification_id:
            raise SealingError(
                f"notification {records[0].notification_id} was already sealed: an id was "
                "reused after a deletion — run 'scelle verify store'"
            )
        if not records or records[0].notification_id != head.last_notification_id + 1:
            return self._seal_after(cur, head)
        return self._append(cur, head, records)

    @staticmethod
    def _hashes(chain: bytes, records: list[StoredRecord]) -> tuple[list[bytes], list[bytes]]:
        inputs = [b"\x00" + r.leaf_input() for r in records]
        leaves = list(map(_digest, map(hashlib.sha256, inputs)))
        return leaves, chain_values(chain, leaves)

    def _append(self, cur: Any, head: _Head, records: list[StoredRecord]) -> int:
        if not records:
            return 0
        leaves, chains = self._hashes(head.chain, records)
        try:
            self.db.append(cur, head.size, leaves, [r.notification_id for r in records], chains)
        except LookupError as exc:
            raise SealingError(
                f"the ledger's tiles do not end where its head does: {exc}"
            ) from None
        self._head = _Head(head.size + len(records), records[-1].notification_id, chains[-1])
        return len(records)

    def _load_head(self, cur: Any) -> _Head:
        """Trust the cached head only if the database's last leaf still matches it."""
        last = self.db.last_leaf(cur)
        if last is None:
            return _Head(0, 0, ZERO_CHAIN)  # append() refuses if rows exist all the same
        cached = self._head
        if (
            cached is not None
            and cached.size == last.leaf_index + 1
            and cached.chain == last.chain_hash
            and cached.last_notification_id == last.notification_id
        ):
            return cached
        self._check_head(cur, last)
        return _Head(last.leaf_index + 1, last.notification_id, last.chain_hash)

    def _check_head(self, cur: Any, last: LeafRow) -> None:
        """Never extend a head we cannot vouch for: refusing stops the save (an alarm), where
        extending it would seal new events onto a tampered ledger or leave them unsealed."""
        previous = ZERO_CHAIN
        if last.leaf_index:
            rows = self.db.raw_leaves(cur, last.leaf_index - 1, last.leaf_index)
            previous = bytes(rows[0][3]) if rows else b""
        records = self.db.records_after(cur, last.notification_id - 1, 1)
        sealed = records[0] if records else None
        if (
            hashlib.sha256(previous + last.leaf_hash).digest() != last.chain_hash
            or sealed is None
            or sealed.notification_id != last.notification_id
            or hashlib.sha256(b"\x00" + sealed.leaf_input()).digest() != last.leaf_hash
        ):
            raise SealingError(
                f"the ledger's last leaf ({last.leaf_index}) does not match the event store; "
                "refusing to seal onto it — run 'scelle verify store'"
            )
