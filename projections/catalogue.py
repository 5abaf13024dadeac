"""The operators' views: cameras, the segment catalogue with status and holds, coverage and gaps.

Status of a segment at instant T: ``purged`` (destroyed), ``purging`` (purge begun),
``held`` (a hold in force keeps it), ``overdue`` (past its deadline, not yet purged), or
``kept`` (within its retention period).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from projections.asof import IN_FORCE_SQL, held_sql, instant

STATUS_SQL = (
    "CASE WHEN s.purged_at <= $t THEN 'purged' "
    "WHEN s.purge_started_at <= $t THEN 'purging' "
    f"WHEN {held_sql('s')} IS NOT NULL THEN 'held' "
    "WHEN s.deadline <= $t THEN 'overdue' ELSE 'kept' END"
)
SEGMENT_COLUMNS = (
    's.segment_id, s.camera_code, s.start, s."end", s.codec, s.width, s.height, s.size, '
    "s.sha256, s.deadline, s.recorded_at, s.clock_drift_flagged"
)


PAGE_WHERE = (
    'FROM segments s WHERE s.camera_code = $code AND s.start < $end AND s."end" > $start '
    "AND s.recorded_at <= $t ORDER BY s.start, s.segment_id LIMIT $limit OFFSET $offset"
)
#: The holds a row carries that are still in force at ``$t`` (NULL if none).
OPEN_HOLDS = (
    "nullif(list_select(s.hold_ids, list_filter(range(1, len(s.hold_ids) + 1), "
    "i -> s.hold_expiries[i] > $t)), [])"
)
CURRENT_PAGE_SQL = (
    f"SELECT p.* EXCLUDE (purged_at, purge_started_at), CASE WHEN p.purged_at <= $t "
    "THEN 'purged' WHEN p.purge_started_at <= $t THEN 'purging' WHEN p.holds IS NOT NULL "
    "THEN 'held' WHEN p.deadline <= $t THEN 'overdue' ELSE 'kept' END AS status, p.holds "
    f"FROM (SELECT {SEGMENT_COLUMNS}, s.purged_at, s.purge_started_at, {OPEN_HOLDS} AS holds "
    f"{PAGE_WHERE}) p ORDER BY p.start, p.segment_id"
)
PAST_PAGE_SQL = (
    f"WITH page AS (SELECT {SEGMENT_COLUMNS}, s.purged_at, s.purge_started_at {PAGE_WHERE}), "
    "held AS (SELECT h.segment_id, list(h.hold_id ORDER BY h.hold_id) AS holds "
    f"FROM holds h WHERE h.segment_id IN (SELECT segment_id FROM page) AND {IN_FORCE_SQL} "
    "GROUP BY h.segment_id) "
    "SELECT p.* EXCLUDE (purged_at, purge_started_at), CASE WHEN p.purged_at <= $t "
    "THEN 'purged' WHEN p.purge_started_at <= $t THEN 'purging' WHEN held.holds IS NOT "
    "NULL THEN 'held' WHEN p.deadline <= $t THEN 'overdue' ELSE 'kept' END AS status, "
    "held.holds FROM page p LEFT JOIN held ON held.segment_id = p.segment_id "
    "ORDER BY p.start, p.segment_id"
)

#: The current page, fast path: the rows of :data:`CURRENT_PAGE_SQL` before status and open
#: holds (decided in Python by :func:`_current_row`, same rules), times as epoch microseconds
#: (no Arrow, no pytz). Positional parameters: code, start, end, t, limit, offset. Prepared
#: once per cursor: planning the statement costs more than running it.
CURRENT_PAGE_NAME = "scelle_catalogue_current_page"
CURRENT_PAGE_RAW_SQL = (
    'SELECT s.segment_id, s.camera_code, epoch_us(s.start), epoch_us(s."end"), s.codec, s.width, '
    "s.height, s.size, s.sha256, epoch_us(s.deadline), epoch_us(s.recorded_at), "
    "s.clock_drift_flagged, epoch_us(s.purged_at), epoch_us(s.purge_started_at), s.hold_ids, "
    "list_transform(s.hold_expiries, x -> epoch_us(x)) "
    'FROM segments s WHERE s.camera_code = $1 AND s.start < $3 AND s."end" > $2 '
    "AND s.recorded_at <= $4 ORDER BY s.start, s.segment_id LIMIT $5 OFFSET $6"
)
_UTC = ZoneInfo("UTC")  # the tzinfo the Arrow path gives, kept identical
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_US = timedelta(microseconds=1)


def _time(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def _current_row(raw: tuple[Any, ...], t: int) -> dict[str, Any]:
    """One row of the fast current page as :data:`CURRENT_PAGE_SQL` would give it (same
    keys, same order, same values): status and the holds in force at ``t`` (epoch µs)."""
    (sid, code, start, end, codec, width, height, size, sha, deadline, recorded, drift,
     purged, purging, hold_ids, expiries) = raw  # fmt: skip
    holds: list[str] | None = None
    if hold_ids and expiries:
        # zip stops at the shorter list, as SQL's out-of-range hold_expiries[i] is NULL
        holds = [h for h, x in zip(hold_ids, expiries, strict=False) if x is not None and x > t]
        holds = holds or None
    if purged is not None and purged <= t:
        status = "purged"
    elif purging is not None and purging <= t:
        status = "purging"
    elif holds is not None:
        status = "held"
    elif deadline is not None and deadline <= t:
        status = "overdue"
    else:
        status = "kept"
    return {
        "segment_id": sid,
        "camera_code": code,
        "start": _time(start),
        "end": _time(end),
        "codec": codec,
        "width": width,
        "height": height,
        "size": size,
        "sha256": sha,
        "deadline": _time(deadline),
        "recorded_at": _time(recorded),
        "clock_drift_flagged": drift,
        "holds": holds,
        "status": status,
    }


class CatalogueQueries:
    def rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def prepared(self, name: str, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def segments(
        self,
        camera_code: str,
        start: datetime,
        end: datetime,
        limit: int = 100,
        offset: int = 0,
        *,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Segments of one camera overlapping [start, end), in time order, with status.

        Now (no ``as_of``): one scan of ``segments``, whose rows carry their open holds, so
        the listing joins nothing — zone maps on ``start`` (rows arrive in time order) prune
        the scan to a row group or two; the statement (:data:`CURRENT_PAGE_RAW_SQL`) is
        prepared once per cursor and status and holds are decided in Python, giving what
        :data:`CURRENT_PAGE_SQL` gives. As of a past instant: the page first, then the holds
        in force then of those rows only, from ``holds`` and ``hold_expiry``.
        """
        t = instant(as_of)
        if as_of is None:
            found = self.prepared(
                CURRENT_PAGE_NAME, CURRENT_PAGE_RAW_SQL, [camera_code, start, end, t, limit, offset]
            )
            t_us = (t - _EPOCH) // _US
            return [_current_row(raw, t_us) for raw in found]
        params = {"code": camera_code, "start": start, "end": end, "t": t}
        params |= {"limit": limit, "offset": offset}
        return self.rows(PAST_PAGE_SQL, params)

    def segment(self, segment_id: str, *, as_of: datetime | None = None) -> dict[str, Any] | None:
        sql = (
            f"SELECT {SEGMENT_COLUMNS}, {STATUS_SQL} AS status, {held_sql('s')} AS holds, "
            "s.purged_at, s.purge_lateness_seconds FROM segments s "
            "WHERE s.segment_id = $id AND s.recorded_at <= $t"
        )
        found = self.rows(sql, {"id": str(segment_id), "t": instant(as_of)})
        return found[0] if found else None

    def cameras(
        self, commune_ids: list[Any] | None = None, *, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Cameras (of the given communes, or all), with retention and zones as of T."""
        sql = (
            "SELECT c.camera_id, c.code, c.commune_id, m.name AS commune, m.insee_code, c.place, "
            "c.kind, c.purposes, c.authorisation_ref, c.authorised_from, c.authorised_until, "
            "c.authorised_retention_days, "
            "(SELECT r.retention_days FROM camera_retention r WHERE r.camera_id = c.camera_id "
            " AND r.changed_at <= $t ORDER BY r.nid DESC LIMIT 1) AS retention_days, "
            "(SELECT count(*) FROM privacy_zones z WHERE z.camera_id = c.camera_id "
            " AND z.defined_at <= $t AND (z.removed_at IS NULL OR z.removed_at > $t)) AS zones, "
            "c.registered_at, CASE WHEN c.decommissioned_at <= $t THEN 'decommissioned' "
            "ELSE 'active' END AS status "
            "FROM cameras c LEFT JOIN communes m ON m.commune_id = c.commune_id "
            "WHERE c.registered_at <= $t"
        )
        params: dict[str, Any] = {"t": instant(as_of)}
        if commune_ids is not None:
            sql += " AND list_contains($communes, c.commune_id)"
            params["communes"] = [str(c) for c in commune_ids]
        return self.rows(sql + " ORDER BY c.code", params)

    def coverage(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        camera_code: str | None = None,
        *,
        gap_seconds: float = 2.0,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Per camera: footage still available (not purged) and the gaps between segments.

        ``gaps`` lists [from, to] pairs where consecutive segments leave more than
        ``gap_seconds`` uncovered.
        """
        where = ["s.recorded_at <= $t", "(s.purged_at IS NULL OR s.purged_at > $t)"]
        params: dict[str, Any] = {"t": instant(as_of), "gap": gap_seconds}
        if start is not None:
            where.append('s."end" > $start')
            params["start"] = start
        if end is not None:
            where.append("s.start < $end")
            params["end"] = end
        if camera_code is not None:
            where.append("s.camera_code = $code")
            params["code"] = camera_code
        sql = (
            'WITH seg AS (SELECT s.camera_code, s.start, s."end", max(s."end") OVER ('
            ' PARTITION BY s.camera_code ORDER BY s.start, s."end" ROWS BETWEEN UNBOUNDED '
            " PRECEDING AND 1 PRECEDING) AS prev_end FROM segments s WHERE "
            + " AND ".join(where)
            + ") SELECT camera_code, count(*) AS segments, min(start) AS first_start, "
            'max("end") AS last_end, '
            'sum(epoch("end") - epoch(start)) AS recorded_seconds, '
            "list([prev_end, start] ORDER BY start) FILTER (WHERE prev_end IS NOT NULL "
            "AND epoch(start) - epoch(prev_end) > $gap) AS gaps "
            "FROM seg GROUP BY camera_code ORDER BY camera_code"
        )
        found = self.rows(sql, params)
        for row in found:
            row["gaps"] = [tuple(g) for g in row["gaps"] or []]
        return found
