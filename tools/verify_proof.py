"""``scelle verify proof``: check one proof file offline with nothing but the log's vkey.

Steps for an inclusion proof (c2sp.org/tlog-proof@v1, docs/FORMATS.md §5):
  1. Parse the file strictly.
  2. Open the embedded checkpoint with the vkey (signature, origin = key name).
  3. Decode ``extra`` as a Scellé leaf input (it carries the whole stored event) and hash it.
  4. Check the RFC 9162 inclusion proof of that leaf at ``index`` against the signed root.
  5. If the stored event's bytes are given too, check that they are the sealed ones.
For a consistency proof, steps 2 and 4 apply to both checkpoints and RFC 9162 §2.1.4.2.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.ledger import merkle
from evidence.ledger.checkpoint import open_checkpoint
from evidence.ledger.leaf import LeafFormatError, StoredRecord
from evidence.ledger.note import Verifier
from evidence.ledger.proofs import CONSISTENCY_HEADER, ConsistencyProofFile, InclusionProofFile


class ProofVerificationError(Exception):
    """The proof does not hold; the message says which step failed."""


@dataclass(frozen=True)
class InclusionVerdict:
    leaf: StoredRecord
    index: int
    tree_size: int


@dataclass(frozen=True)
class ConsistencyVerdict:
    old_size: int
    new_size: int


def verify_inclusion_file(
    text: str, verifier: Verifier, state: bytes | None = None
) -> InclusionVerdict:
    proof = InclusionProofFile.parse(text)  # 1
    checkpoint = proof.open(verifier)  # 2
    if proof.extra is None:
        raise ProofVerificationError("the proof carries no leaf input ('extra' line missing)")
    try:
        leaf = StoredRecord.from_leaf_input(proof.extra)  # 3
    except LeafFormatError as exc:
        raise ProofVerificationError(f"leaf input: {exc}") from exc
    merkle.verify_inclusion(  # 4
        merkle.leaf_hash(proof.extra),
        proof.index,
        checkpoint.size,
        list(proof.hashes),
        checkpoint.root_hash,
    )
    if state is not None and state != leaf.state:  # 5
        raise ProofVerificationError("the given event's state differs from the sealed one")
    return InclusionVerdict(leaf, proof.index, checkpoint.size)


def verify_consistency_file(text: str, verifier: Verifier, old_note: str) -> ConsistencyVerdict:
    proof = ConsistencyProofFile.parse(text)
    new = proof.open(verifier)
    old = open_checkpoint(old_note, verifier)
    if old.size != proof.old_size:
        raise ProofVerificationError(
            f"the old checkpoint has size {old.size}, the proof starts at {proof.old_size}"
        )
    merkle.verify_consistency(
        proof.old_size, proof.new_size, list(proof.hashes), old.root_hash, new.root_hash
    )
    return ConsistencyVerdict(proof.old_size, proof.new_size)


def is_consistency_file(text: str) -> bool:
    return text.startswith(CONSISTENCY_HEADER + "\n")
