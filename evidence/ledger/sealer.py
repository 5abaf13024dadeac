"""The sealer: follows the notification log in order and seals every stored event.

Each committed event gets the next dense leaf index (notification ids may have gaps; leaf
indices never do), its chain value and its place in the Merkle tree — leaves, chain values
and new tree nodes written in one transaction under the sealer's lock, so two sealers at
once still produce one gap-free sequence.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from evidence.ledger import merkle
from evidence.ledger.leaf import ZERO_CHAIN, leaf_input
from evidence.ledger.store import LeafRow, LedgerDB


class SealingError(RuntimeError):
    """The ledger and the event store disagree in a way the sealer must not paper over."""


@dataclass
class _Head:
    """What the sealer remembers between batches, checked against the database each time."""

    size: int
    last_notification_id: int
    chain: bytes
    frontier: merkle.Frontier


class Sealer:
    def __init__(self, db: LedgerDB, batch_size: int = 2_000) -> None:
        self.db = db
        self.batch_size = batch_size
        self._head: _Head | None = None
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Seal every committed event not yet sealed; return how many were sealed."""
        total = 0
        with self._lock:
            while True:
                sealed = self._seal_batch()
                total += sealed
                if sealed < self.batch_size:
                    return total

    def _seal_batch(self) -> int:
        with self.db.write_transaction() as cur:
            head = self._load_head(cur)
            records = self.db.records_after(cur, head.last_notification_id, self.batch_size)
            if not records:
                return 0
            leaves: list[LeafRow] = []
            nodes: list[tuple[int, int, bytes]] = []
            frontier = merkle.Frontier(head.frontier.size, head.frontier.hashes)
            chain = head.chain
            sha256 = hashlib.sha256
            for offset, record in enumerate(records):
                leaf = sha256(b"\x00" + leaf_input(record)).digest()
                chain = sha256(chain + leaf).digest()
                leaves.append(LeafRow(head.size + offset, record.notification_id, leaf, chain))
                nodes.extend(frontier.append(leaf))
            self.db.insert_leaves(cur, leaves)
            self.db.insert_nodes(cur, nodes)
            new_head = _Head(frontier.size, records[-1].notification_id, chain, frontier)
        self._head = new_head  # only after the commit succeeded
        return len(records)

    def _load_head(self, cur: Any) -> _Head:
        """Trust the cached head only if the database's last leaf still matches it."""
        last = self.db.last_leaf(cur)
        if last is None:
            return _Head(0, 0, ZERO_CHAIN, merkle.Frontier())
        cached = self._head
        if (
            cached is not None
            and cached.size == last.leaf_index + 1
            and cached.chain == last.chain_hash
        ):
            return cached
        size = last.leaf_index + 1
        plan = merkle.Frontier.plan(size)
        nodes = self.db.get_nodes(cur, plan)
        frontier = merkle.Frontier(size, [nodes[ref] for ref in plan])
        return _Head(size, last.notification_id, last.chain_hash, frontier)
