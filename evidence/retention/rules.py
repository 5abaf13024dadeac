"""Retention rules as pure functions, shared by the purge runner and the report verifier.

Both must reach the same verdict from the same facts, so the one rule that turns a deadline
and its holds into the instant a purge is due lives here, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from evidence.model.camera import check_retention
from evidence.model.purposes import MAX_RETENTION_DAYS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def retention_for(authorised_days: int, default_days: int) -> int:
    """A new camera keeps the default retention, never beyond its authorisation.

    Refuses (French ``RuleViolation``) a default above one month (CSI L252-5).
    """
    check_retention(default_days, MAX_RETENTION_DAYS)
    days = min(default_days, authorised_days)
    check_retention(days, authorised_days)
    return days


@dataclass(frozen=True)
class HoldSpan:
    """When a hold began and when it stopped keeping the segment (lift or expiry)."""

    placed_at: datetime | None  # None: a legacy ``Held`` without business time
    ends_at: datetime


def effective_due(deadline: datetime, spans: Iterable[HoldSpan]) -> datetime:
    """The instant the purge is due: the deadline, pushed back by each hold placed while
    the segment was still lawfully kept (a hold placed on a segment already past due does
    not excuse the delay before it)."""
    due = deadline
    ordered = sorted(spans, key=lambda s: s.placed_at or EPOCH)
    for span in ordered:
        if span.placed_at is None or span.placed_at <= due:
            due = max(due, span.ends_at)
    return due


def lateness_seconds(purged_at: datetime, due: datetime) -> float:
    """How long after it was due a purge happened (0 if on time)."""
    return max(0.0, (purged_at - due) / timedelta(seconds=1))


def micros(instant: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (index columns sort)."""
    return (instant - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)
