"""The log as a whole: sealing, signed checkpoints and proofs over one ledger database."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.ledger import merkle
from evidence.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from evidence.ledger.leaf import leaf_input
from evidence.ledger.note import Signer, Verifier, generate_signer_key
from evidence.ledger.proofs import ConsistencyProofFile, InclusionProofFile
from evidence.ledger.sealer import Sealer
from evidence.ledger.store import CheckpointRow, LedgerDB


class LedgerError(RuntimeError):
    """A ledger operation could not be carried out (unknown event, missing key...)."""


def write_private_file(path: Path, text: str) -> None:
    """Create a secret file readable by its owner only; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, text: str) -> None:
    """Write a public file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def create_log_key(skey_path: Path, vkey_path: Path, origin: str) -> str:
    """Create the log's Ed25519 key (mode 0600) and publish its vkey; return the vkey."""
    if skey_path.exists():
        raise LedgerError(f"a log key already exists at {skey_path}")
    skey, vkey = generate_signer_key(origin)
    write_private_file(skey_path, skey + "\n")
    write_atomic(vkey_path, vkey + "\n")
    return vkey


class Ledger:
    def __init__(
        self,
        db: LedgerDB,
        verifier: Verifier,
        signer: Signer | None = None,
        checkpoints_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.verifier = verifier
        self.signer = signer
        self.checkpoints_dir = checkpoints_dir
        self.sealer = Sealer(db)

    @property
    def origin(self) -> str:
        return self.verifier.name

    def seal(self) -> int:
        return self.sealer.catch_up()

    def checkpoint(self) -> str:
        """Seal, then sign the current tree head (or return the one already signed at it)."""
        if self.signer is None:
            raise LedgerError("this node holds no log key and cannot sign checkpoints")
        self.seal()
        with self.db.write_transaction() as cur:
            size = self.db.tree_size(cur)
            existing = self.db.checkpoint_at(cur, size)
            if existing is not None:
                note = existing.note
            else:
                root = self._root(cur, size)
                note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
                issued = datetime.now(UTC).isoformat()
                self.db.insert_checkpoint(cur, CheckpointRow(size, note, issued))
        self._copy_outside(size, note)
        return note

    def _copy_outside(self, size: int, note: str) -> None:
        if self.checkpoints_dir is not None:
            path = self.checkpoints_dir / f"{size:012d}.checkpoint"
            if not path.exists():
                write_atomic(path, note)

    def _root(self, cur: Any, size: int) -> bytes:
        plan = merkle.root_plan(size)
        nodes = self.db.get_nodes(cur, plan)
        return merkle.fold([nodes[ref] for ref in plan])

    def inclusion_proof(self, notification_id: int) -> str:
        """A C2SP tlog-proof for one stored event against a fresh checkpoint.

        The proof's ``extra`` carries the event's leaf input, so the file alone lets anyone
        recompute the leaf hash and check it against the signed tree head.
        """
        note = self.checkpoint()
        size = open_checkpoint(note, self.verifier).size
        with self.db.read_transaction() as cur:
            leaf = self.db.leaf_by_notification(cur, notification_id)
            records = self.db.records_after(cur, notification_id - 1, 1)
            if leaf is None or not records or records[0].notification_id != notification_id:
                raise LedgerError(f"no sealed event with notification id {notification_id}")
            hashes = self.db.inclusion_path(cur, leaf.leaf_index, size)
        extra = leaf_input(records[0])
        return InclusionProofFile(leaf.leaf_index, hashes, note, extra).to_text()

    def consistency_proof(self, old_size: int) -> str:
        """Proof that the current tree extends the tree of ``old_size`` leaves."""
        note = self.checkpoint()
        new_size = open_checkpoint(note, self.verifier).size
        if not 0 < old_size <= new_size:
            raise LedgerError(f"no consistency proof from size {old_size} to {new_size}")
        with self.db.read_transaction() as cur:
            plan = merkle.consistency_plan(old_size, new_size)
            nodes = self.db.get_nodes(cur, [ref for group in plan for ref in group])
        hashes = [merkle.fold([nodes[ref] for ref in group]) for group in plan]
        return ConsistencyProofFile(old_size, new_size, tuple(hashes), note).to_text()

    def find_notification(self, originator_id: Any, version: int) -> int:
        """Map an aggregate id and version to its notification id."""
        with self.db.read_transaction() as cur:
            for batch in self.db.iter_records(cur):
                for record in batch:
                    if (
                        record.originator_id == originator_id
                        and record.originator_version == version
                    ):
                        return record.notification_id
        raise LedgerError(f"no stored event {originator_id} version {version}")
