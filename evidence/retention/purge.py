"""The purge runner: crypto-shred every segment past its deadline and not held.

One purge, in this order (DESIGN §3), for a batch of segments at a time:

1. **Claim**: save ``PurgeStarted`` for the whole batch. The save is the claim: optimistic
   concurrency on each aggregate's version means two runners never both claim a segment.
2. **Shred**: destroy the data keys (one key-table transaction, secure delete), then delete
   the blobs — video, thumbnail and every derived rendition.
3. **Record**: save ``Purged`` with the deadline, the actual time and the lateness.

A crash between 1 and 3 leaves ``PurgeStarted`` without ``Purged``: the next run finds the
segment still due, and finishes it (shredding is idempotent). A runner that loses a race
(the batch save conflicts) falls back to one segment at a time, re-reading each, so a
segment gets exactly one ``PurgeStarted`` and one ``Purged`` whatever the interleaving.
The index only proposes candidates; every decision re-reads the aggregate.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from evidence.model.segment import Segment
from evidence.retention.loading import load_segments
from evidence.retention.rules import HoldSpan, effective_due, lateness_seconds

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BATCH_SIZE = 500


@dataclass
class PurgeSummary:
    purged: int = 0  # segments this run recorded as purged (resumed ones included)
    resumed: int = 0  # of which a previous run had claimed (crash, or another runner)
    skipped_held: int = 0  # past their deadline, kept by a hold in force
    failed: int = 0  # left for the next run (an error while shredding or saving)
    errors: list[str] = field(default_factory=list)


def due_of(segment: Segment) -> datetime:
    """The instant the purge of ``segment`` was due, from its hold history."""
    spans = [HoldSpan(h.get("placed_at"), h["expires_at"]) for h in segment.holds.values()] + [
        HoldSpan(p, e) for p, e in getattr(segment, "lifted_spans", [])
    ]
    return effective_due(segment.deadline, spans)


class PurgeRunner:
    """``run_once`` is safe from a scheduler thread and from several processes at once."""

    def __init__(
        self, system: Any, progress: Progress | None = None, batch_size: int = BATCH_SIZE
    ) -> None:
        self.system = system
        self.archives = system.archives
        self.progress = progress
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def run_once(self, limit: int | None = None) -> PurgeSummary:
        with self._lock:
            summary = PurgeSummary()
            index = self.archives.retention_index()
            now = self.archives.clock.now()
            candidates = index.due(now, limit)
            done = 0
            self._report(done, len(candidates))
            for start in range(0, len(candidates), self.batch_size):
                batch = candidates[start : start + self.batch_size]
                try:
                    self._purge_batch(batch, now, summary)
                except Exception as exc:  # left claimed: the next run finishes it
                    log.exception("purge batch failed")
                    summary.failed += len(batch)
                    summary.errors.append(f"{type(exc).__name__}: {exc}")
                done += len(batch)
                self._report(done, len(candidates))
            index.catch_up(self.archives)
            summary.skipped_held += index.kept_past_deadline(now)
            return summary

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    # ------------------------------------------------------------------ one batch
    def _purge_batch(self, ids: list[UUID], now: datetime, summary: PurgeSummary) -> None:
        """Re-read each candidate; claim the due ones, finish the ones a previous run (a
        crash, or a slower runner) claimed before this run began."""
        fresh: list[Segment] = []
        resumed: list[Segment] = []
        loaded = load_segments(self.system, ids)
        for segment_id in ids:
            segment = loaded.get(segment_id)
            if segment is None or segment.purged:
                continue  # the index had not seen the Purged event yet
            if segment.purge_started:
                if segment.purge_started_at < now:  # claimed before this run: finish it
                    resumed.append(segment)
                continue  # claimed during this run by another runner, which finishes it
            if self._may_purge(segment, now):
                segment.start_purge(deadline=segment.deadline, started_at=now)
                fresh.append(segment)
        claimed = self._save_claims(fresh, now)
        self._finish(claimed + resumed, summary, resumed={s.id for s in resumed})

    def _may_purge(self, segment: Segment, now: datetime) -> bool:
        """Re-read decision: due, and no order in force covers it (else hold it now)."""
        if not segment.is_due(now):
            return False
        order = self.archives.hold_if_in_scope(segment, now)
        if order is not None:
            with contextlib.suppress(IntegrityError):  # changed meanwhile: decided next run
                self.archives.save(order, segment)
            return False
        return True

    def _save_claims(self, fresh: list[Segment], now: datetime) -> list[Segment]:
        if not fresh:
            return []
        try:
            self.archives.save(*fresh)
            return fresh
        except IntegrityError:
            pass  # another runner got some of them first: one at a time, re-reading each
        claimed = []
        for stale in fresh:
            segment = self.archives.segment(stale.id)
            if segment.purge_started or not self._may_purge(segment, now):
                continue  # its claimant finishes it
            segment.start_purge(deadline=segment.deadline, started_at=now)
            try:
                self.archives.save(segment)
            except IntegrityError:
                continue
            claimed.append(segment)
        return claimed

    def _finish(self, segments: list[Segment], summary: PurgeSummary, resumed: set[UUID]) -> None:
        if not segments:
            return
        owners = {s.blob_id: _renditions(s) for s in segments}
        shredded = self.system.vault.shred_many(owners)
        purged_at = self.archives.clock.now()
        for segment in segments:
            key, blobs = shredded[segment.blob_id]
            segment.record_purge(
                deadline=segment.deadline,
                purged_at=purged_at,
                lateness_seconds=lateness_seconds(purged_at, due_of(segment)),
                key_destroyed=key != "absent",
                blobs_deleted=blobs,
            )
        try:
            self.archives.save(*segments)
            recorded = segments
        except IntegrityError:
            recorded = []
            for stale in segments:  # a racing runner recorded some: record the others
                segment = self.archives.segment(stale.id)
                if segment.purged:
                    continue
                key, blobs = shredded[segment.blob_id]
                segment.record_purge(
                    deadline=segment.deadline,
                    purged_at=purged_at,
                    lateness_seconds=lateness_seconds(purged_at, due_of(segment)),
                    key_destroyed=key != "absent",
                    blobs_deleted=blobs,
                )
                try:
                    self.archives.save(segment)
                except IntegrityError:
                    continue
                recorded.append(segment)
        summary.purged += len(recorded)
        summary.resumed += sum(1 for s in recorded if s.id in resumed)


def _renditions(segment: Segment) -> list[str]:
    """The renditions the log knows: thumbnail and every recorded derivation (the store may
    list more, see ``ContentVault.shred_many``)."""
    known = [segment.thumbnail_blob_id] if segment.thumbnail_blob_id else []
    known += [b for b in getattr(segment, "renditions", {}) if b and b not in known]
    return known
