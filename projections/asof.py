"""Time travel's one rule: a view as of T keeps the facts logged at or before T."""

from __future__ import annotations

from datetime import UTC, datetime


def instant(as_of: datetime | None) -> datetime:
    """The instant a query is asked at: ``as_of`` (timezone-aware), or now."""
    if as_of is None:
        return datetime.now(UTC)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return as_of


#: SQL: a hold row's expiry as of ``$t`` — its latest extension logged by then, if any.
EXPIRY_SQL = (
    "coalesce((SELECT max(x.expires_at) FROM hold_expiry x WHERE x.segment_id = h.segment_id "
    "AND x.hold_id = h.hold_id AND x.nid > h.nid AND x.changed_at <= $t "
    "AND (h.released_at IS NULL OR x.changed_at <= h.released_at)), h.expires_at)"
)
#: SQL: the hold row ``h`` is in force at ``$t``.
IN_FORCE_SQL = (
    f"h.placed_at <= $t AND (h.released_at IS NULL OR h.released_at > $t) AND {EXPIRY_SQL} > $t"
)


def held_sql(segment: str) -> str:
    """SQL: the ids of the holds on ``segment`` in force at ``$t`` (NULL if none)."""
    return (
        "(SELECT list(h.hold_id ORDER BY h.hold_id) FROM holds h "
        f"WHERE h.segment_id = {segment}.segment_id AND {IN_FORCE_SQL})"
    )
