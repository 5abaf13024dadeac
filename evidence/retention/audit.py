"""The storage audit: what the stores hold against what the law and the log allow.

It trusts no stored read model: the due index is rebuilt in memory from the log, and the key
table and the object store are listed whole. It lists every segment past its deadline with
no hold in force (or whose purge began and never finished), every blob and key that no live
segment owns, and every live segment whose content is gone without a purge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evidence.content.vault import key_owner
from evidence.retention.index import DueIndex


@dataclass(frozen=True)
class Overdue:
    segment_id: str
    camera_code: str
    deadline: datetime
    purge_started: bool


@dataclass(frozen=True)
class StorageAudit:
    as_of: datetime
    segments_live: int
    blobs: int
    keys: int
    overdue: tuple[Overdue, ...]
    orphan_blobs: tuple[str, ...]  # content no live segment owns
    orphan_keys: tuple[str, ...]
    missing: tuple[str, ...]  # a live segment's blob or key gone with no purge recorded

    @property
    def clean(self) -> bool:
        return not (self.overdue or self.orphan_blobs or self.orphan_keys or self.missing)


def audit_storage(system: Any, now: datetime | None = None) -> StorageAudit:
    archives = system.archives
    now = now or archives.clock.now()
    index = DueIndex(None)  # rebuilt from the log, in memory
    try:
        index.catch_up(archives)
        overdue = []
        for segment_id in index.due(now):
            segment = archives.segment(segment_id)
            if segment.is_due(now):
                overdue.append(
                    Overdue(
                        segment.id.hex, segment.camera_code, segment.deadline, segment.purge_started
                    )
                )
    finally:
        index.close()
    live = archives.live_blob_ids()
    owners = {key_owner(b) for b in live}
    vault = system.vault
    stored = set(vault.blobs.iter_ids())
    keyed = set(vault.keys.ids())
    destroyed = set(vault.keys.destroyed_ids())
    missing = sorted(
        {b for b in live if b not in stored and key_owner(b) not in destroyed}
        | {o for o in owners if o not in keyed and o not in destroyed}
    )
    return StorageAudit(
        as_of=now,
        segments_live=len(owners),
        blobs=len(stored),
        keys=len(keyed),
        overdue=tuple(overdue),
        orphan_blobs=tuple(sorted(b for b in stored if key_owner(b) not in owners)),
        orphan_keys=tuple(sorted(k for k in keyed if k not in owners)),
        missing=tuple(missing),
    )
