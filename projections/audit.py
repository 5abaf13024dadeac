"""The auditors' and inspectors' views: access log, purge register, holds, requisitions,
exports, citizens' access requests, missions. Each reads ``as_of`` a past instant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from projections.asof import EXPIRY_SQL, IN_FORCE_SQL, instant

#: Every kind the access log holds (directive 2016/680 art. 25: who, when, what, why).
ACCESS_KINDS = (
    "view",
    "zoom",
    "mask_applied",
    "mask_lift_requested",
    "mask_lift_approved",
    "mask_lifted",
    "rendition_derived",
    "segment_exported",
    "export_requested",
    "export_approved",
    "export_produced",
    "export_delivered",
    "export_downloaded",
    "extract_produced",
    "denial",
)

ACCESS_SQL = (
    "SELECT a.nid, a.logged_at, a.kind, a.actor, coalesce(u.username, a.actor) AS actor_name, "
    "a.purpose, a.mission_id, a.segment_id, s.camera_code, a.requisition_id, a.export_id, "
    "a.masked, a.on_behalf_of, a.target, a.detail FROM access_log a "
    "LEFT JOIN users u ON u.user_id = a.actor "
    "LEFT JOIN segments s ON s.segment_id = a.segment_id "
)
PURGE_SQL = (
    'SELECT p.nid, p.segment_id, s.camera_code, s.start, s."end", p.deadline, p.purged_at, '
    "p.lateness_seconds, p.key_destroyed, p.blobs_deleted, p.logged_at FROM purges p "
    "LEFT JOIN segments s ON s.segment_id = p.segment_id "
)


class AuditQueries:
    def rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def access_log(
        self,
        actor: str | None = None,
        kinds: Sequence[str] | None = None,
        segment_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        newest_first: bool = True,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Who did what, when, why and for whom; ``actor`` is a user id or a username."""
        where: list[str] = ["a.logged_at <= $t"]
        params: dict[str, Any] = {"t": instant(as_of)}
        if actor is not None:
            where.append("(a.actor = $actor OR u.username = $actor)")
            params["actor"] = actor
        if kinds:
            where.append("list_contains($kinds, a.kind)")
            params["kinds"] = list(kinds)
        if segment_id is not None:
            where.append("a.segment_id = $segment")
            params["segment"] = str(segment_id)
        if since is not None:
            where.append("a.logged_at >= $since")
            params["since"] = since
        if until is not None:
            where.append("a.logged_at < $until")
            params["until"] = until
        order = "DESC" if newest_first else "ASC"
        sql = f"{ACCESS_SQL} WHERE {' AND '.join(where)} ORDER BY a.nid {order} "
        return self.rows(sql + "LIMIT $limit OFFSET $offset", params | _page(limit, offset))

    def purge_register(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        *,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Every purge: deadline, actual time, lateness, key destroyed, blobs deleted."""
        where: list[str] = ["p.logged_at <= $t"]
        params: dict[str, Any] = {"t": instant(as_of)}
        if since is not None:
            where.append("p.purged_at >= $since")
            params["since"] = since
        if until is not None:
            where.append("p.purged_at < $until")
            params["until"] = until
        sql = f"{PURGE_SQL} WHERE {' AND '.join(where)} ORDER BY p.nid"
        if limit is not None:
            sql += " LIMIT $limit"
            params["limit"] = limit
        return self.rows(sql, params)

    def holds(
        self, in_force_only: bool = True, *, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT h.segment_id, s.camera_code, h.hold_id, h.kind, h.reference, h.legal_basis, "
            f"h.authority, {EXPIRY_SQL} AS expires_at, h.placed_by, h.placed_at, "
            "CASE WHEN h.released_at <= $t THEN h.released_at END AS released_at, "
            "CASE WHEN h.released_at <= $t THEN h.release_reason END AS release_reason, "
            f"({IN_FORCE_SQL}) AS in_force "
            "FROM holds h LEFT JOIN segments s ON s.segment_id = h.segment_id "
            "WHERE h.placed_at <= $t"
        )
        if in_force_only:
            sql += f" AND {IN_FORCE_SQL}"
        return self.rows(sql + " ORDER BY h.nid", {"t": instant(as_of)})

    def hold_orders(self, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Hold orders as of T: basis, scope, expiry (latest extension by then), status, and
        how many segments they had put on hold by then."""
        expiry = (
            "coalesce((SELECT max(x.expires_at) FROM hold_order_expiry x WHERE "
            "x.order_id = o.order_id AND x.changed_at <= $t), o.expires_at)"
        )
        sql = (
            "SELECT o.order_id, o.kind, o.reference, o.legal_basis, o.authority, o.camera_ids, "
            f"o.ranges, {expiry} AS expires_at, o.placed_by, o.placed_at, "
            "CASE WHEN o.released_at <= $t THEN o.released_at END AS released_at, "
            "CASE WHEN o.released_at <= $t THEN o.release_reason END AS release_reason, "
            "(SELECT count(*) FROM hold_order_segments g WHERE g.order_id = o.order_id "
            " AND g.logged_at <= $t) AS segments, "
            "CASE WHEN o.released_at <= $t THEN 'released' "
            f"WHEN {expiry} <= $t THEN 'expired' ELSE 'in_force' END AS status "
            "FROM hold_orders o WHERE o.placed_at <= $t ORDER BY o.nid"
        )
        return self.rows(sql, {"t": instant(as_of)})

    def requisitions(self, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT requisition_id, authority, procedure_number, legal_basis, officer_id, "
            "camera_ids, ranges, registered_at, "
            "CASE WHEN approved_at <= $t THEN approved_at END AS approved_at, "
            "CASE WHEN closed_at <= $t THEN closed_at END AS closed_at, "
            "CASE WHEN closed_at <= $t THEN 'closed' WHEN approved_at <= $t THEN 'approved' "
            "ELSE 'registered' END AS status FROM requisitions WHERE registered_at <= $t "
            "ORDER BY nid"
        )
        return self.rows(sql, {"t": instant(as_of)})

    def exports(self, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT e.export_id, e.requisition_id, r.procedure_number, len(e.segment_ids) AS "
            "segments, e.requested_by, e.requested_at, "
            "CASE WHEN e.approved_at <= $t THEN e.approved_at END AS approved_at, "
            "CASE WHEN e.produced_at <= $t THEN e.package_id END AS package_id, "
            "CASE WHEN e.delivered_at <= $t THEN e.recipient END AS recipient, "
            "(SELECT count(*) FROM access_log a WHERE a.export_id = e.export_id "
            " AND a.kind = 'export_downloaded' AND a.logged_at <= $t) AS downloads, "
            "CASE WHEN e.delivered_at <= $t THEN 'delivered' WHEN e.produced_at <= $t "
            "THEN 'produced' WHEN e.approved_at <= $t THEN 'approved' ELSE 'requested' END "
            "AS status FROM exports e LEFT JOIN requisitions r "
            "ON r.requisition_id = e.requisition_id WHERE e.requested_at <= $t ORDER BY e.nid"
        )
        return self.rows(sql, {"t": instant(as_of)})

    def access_requests(self, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT q.request_id, q.channel, q.subject_ref, q.time_from, q.time_to, q.deadline, "
            "q.received_at, (SELECT count(*) FROM access_request_segments g WHERE "
            " g.request_id = q.request_id AND g.preserved_at <= $t) AS preserved_segments, "
            "CASE WHEN q.extract_produced_at <= $t THEN q.extract_produced_at END AS "
            "extract_produced_at, CASE WHEN q.closed_at <= $t THEN q.outcome ELSE 'open' END "
            "AS status, CASE WHEN q.closed_at <= $t THEN q.closed_at END AS closed_at "
            "FROM access_requests q WHERE q.received_at <= $t ORDER BY q.nid"
        )
        return self.rows(sql, {"t": instant(as_of)})

    def missions(self, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT m.mission_id, m.operator_id, u.username AS operator, m.task, m.camera_ids, "
            "m.window_start, m.window_end, m.requesting_partner, m.assigned_at, "
            "CASE WHEN m.closed_at <= $t THEN 'closed' ELSE 'open' END AS status "
            "FROM missions m LEFT JOIN users u ON u.user_id = m.operator_id "
            "WHERE m.assigned_at <= $t ORDER BY m.nid"
        )
        return self.rows(sql, {"t": instant(as_of)})

    def quarantine(self, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT file_id, source_name, camera_code, reason_code, reason_fr, size, at "
            "FROM quarantine WHERE logged_at <= $t ORDER BY nid"
        )
        return self.rows(sql, {"t": instant(as_of)})


def _page(limit: int, offset: int) -> dict[str, int]:
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must be >= 0")
    return {"limit": limit, "offset": offset}
