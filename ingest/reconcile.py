"""Start-up reconciliation: the stores must hold exactly what the log says they hold.

Run before intake resumes. An orphan blob or key is an intake that crashed before its event:
its source file is still waiting, so shredding the orphan loses nothing. A live segment with
no blob or key is an integrity alarm: that must never happen, and is never papered over.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.bootstrap import System
from evidence.content.vault import key_owner


@dataclass(frozen=True)
class ReconcileReport:
    shredded: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.missing


def reconcile(system: System) -> ReconcileReport:
    vault = system.vault
    sweep = getattr(vault.blobs, "sweep_temporary", None)
    if sweep is not None:
        sweep()
    live = system.archives.live_blob_ids()
    report = vault.orphans(live)
    owners = {key_owner(b) for b in (*report.orphan_blobs, *report.orphan_keys)}
    # A rendition left by a crash before its derivation event belongs to a live segment:
    # delete that copy alone; shredding its owner would destroy the recorded original.
    live_owners = {key_owner(b) for b in live} & owners
    for owner in sorted(live_owners):
        for blob in report.orphan_blobs:
            if key_owner(blob) == owner and blob != owner:
                vault.delete_rendition(blob)
    owners -= live_owners
    for owner in sorted(owners):
        derived = [b for b in report.orphan_blobs if b != owner and key_owner(b) == owner]
        vault.shred(owner, derived=derived)
    return ReconcileReport(
        shredded=tuple(sorted(owners)),
        missing=tuple(sorted({*report.missing_blobs, *report.missing_keys})),
    )
