"""Handlers for requisitions, exports, access requests, missions, users, denials, quarantine."""

from __future__ import annotations

from typing import Any

from projections.apply import Projector, dumps, handles, s
from projections.handlers import access

# Requisitions and exports --------------------------------------------------------------------


@handles("scelle:Requisition.Registered")
def requisition_registered(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "requisitions",
        s(e.originator_id),
        e.authority,
        e.procedure_number,
        e.legal_basis,
        s(e.officer_id),
        [str(c) for c in e.camera_ids],
        dumps([[a.isoformat(), b.isoformat()] for a, b in e.ranges]),
        e.timestamp,
        None,
        None,
        None,
        None,
        None,
        nid,
    )


@handles("scelle:Requisition.Approved")
def requisition_approved(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE requisitions SET approved_at = ?, approved_by = ? WHERE requisition_id = ?",
        [e.timestamp, s(e.approver_id), s(e.originator_id)],
    )


@handles("scelle:Requisition.Closed")
def requisition_closed(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE requisitions SET closed_at = ?, closed_by = ?, close_reason = ? "
        "WHERE requisition_id = ?",
        [e.timestamp, s(e.actor_id), e.reason, s(e.originator_id)],
    )


@handles("scelle:Export.Requested")
def export_requested(p: Projector, nid: int, e: Any) -> None:
    eid = s(e.originator_id)
    p.append(
        "exports",
        eid,
        s(e.requisition_id),
        [str(x) for x in e.segment_ids],
        s(e.requested_by),
        e.timestamp,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        nid,
    )
    access(
        p,
        nid,
        e,
        "export_requested",
        actor=e.requested_by,
        requisition_id=e.requisition_id,
        export_id=eid,
        detail=f"{len(e.segment_ids)} segment(s)",
    )


@handles("scelle:Export.Approved")
def export_approved(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE exports SET approved_at = ?, approved_by = ? WHERE export_id = ?",
        [e.timestamp, s(e.approver_id), s(e.originator_id)],
    )
    access(p, nid, e, "export_approved", actor=e.approver_id, export_id=e.originator_id)


@handles("scelle:Export.Produced")
def export_produced(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE exports SET produced_at = ?, package_id = ?, manifest_sha256 = ?, "
        "checkpoint_size = ? WHERE export_id = ?",
        [e.timestamp, e.package_id, e.manifest_sha256, e.checkpoint_size, s(e.originator_id)],
    )
    access(p, nid, e, "export_produced", export_id=e.originator_id, target=e.package_id)


@handles("scelle:Export.Delivered")
def export_delivered(p: Projector, nid: int, e: Any) -> None:
    p.direct(  # the first delivery stays on the export; every one is in the access log
        "UPDATE exports SET delivered_at = ?, recipient = ?, channel = ? "
        "WHERE export_id = ? AND delivered_at IS NULL",
        [e.timestamp, e.recipient, e.channel, s(e.originator_id)],
    )
    access(
        p,
        nid,
        e,
        "export_delivered",
        actor=e.actor_id,
        export_id=e.originator_id,
        on_behalf_of=e.recipient,
        target=e.channel,
    )


@handles("scelle:Export.Downloaded")
def export_downloaded(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "export_downloaded",
        actor=e.actor_id,
        export_id=e.originator_id,
        target=e.from_address,
    )


@handles("scelle:MaskLiftRequest.Requested")
def mask_lift_requested(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "mask_lift_requested",
        actor=e.requested_by,
        segment_id=e.segment_id,
        requisition_id=e.requisition_id,
        target=s(e.originator_id),
        detail=e.reason,
    )


@handles("scelle:MaskLiftRequest.Approved")
def mask_lift_approved(p: Projector, nid: int, e: Any) -> None:
    access(p, nid, e, "mask_lift_approved", actor=e.approver_id, target=s(e.originator_id))


# Citizens' access requests -------------------------------------------------------------------


@handles("scelle:AccessRequest.Received")
def request_received(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "access_requests",
        s(e.originator_id),
        e.channel,
        e.subject_ref,
        e.place_described,
        e.time_from,
        e.time_to,
        e.deadline,
        s(e.received_by),
        e.timestamp,
        None,
        None,
        None,
        None,
        nid,
    )


@handles("scelle:AccessRequest.SegmentsPreserved")
def request_preserved(p: Projector, nid: int, e: Any) -> None:
    for segment_id in e.segment_ids:
        p.append(
            "access_request_segments",
            s(e.originator_id),
            s(segment_id),
            s(e.actor_id),
            e.timestamp,
            nid,
        )


@handles("scelle:AccessRequest.ExtractProduced")
def request_extract(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE access_requests SET extract_produced_at = ? "
        "WHERE request_id = ? AND extract_produced_at IS NULL",
        [e.timestamp, s(e.originator_id)],
    )
    access(
        p,
        nid,
        e,
        "extract_produced",
        actor=e.actor_id,
        target=s(e.originator_id),
        detail=e.extract_sha256,
    )


@handles("scelle:AccessRequest.Answered")
def request_answered(p: Projector, nid: int, e: Any) -> None:
    _request_closed(p, e, "answered", e.summary)


@handles("scelle:AccessRequest.Refused")
def request_refused(p: Projector, nid: int, e: Any) -> None:
    _request_closed(p, e, "refused", e.reason)


def _request_closed(p: Projector, e: Any, outcome: str, text: str) -> None:
    p.direct(
        "UPDATE access_requests SET closed_at = ?, outcome = ?, outcome_text = ? "
        "WHERE request_id = ?",
        [e.timestamp, outcome, text, s(e.originator_id)],
    )


# Missions, users, denials, quarantine ------------------------------------------------------


@handles("scelle:Mission.Assigned")
def mission_assigned(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "missions",
        s(e.originator_id),
        s(e.operator_id),
        e.task,
        [str(c) for c in e.camera_ids],
        e.window_start,
        e.window_end,
        e.requesting_partner,
        s(e.assigned_by),
        e.timestamp,
        None,
        None,
        nid,
    )


@handles("scelle:Mission.Closed")
def mission_closed(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE missions SET closed_at = ?, closed_by = ? WHERE mission_id = ?",
        [e.timestamp, s(e.actor_id), s(e.originator_id)],
    )


@handles("scelle:User.Created")
def user_created(p: Projector, nid: int, e: Any) -> None:
    p.append("users", s(e.originator_id), e.username, s(e.created_by), e.timestamp, nid)


@handles("scelle:User.RoleGranted")
def role_granted(p: Projector, nid: int, e: Any) -> None:
    uid = s(e.originator_id)
    p.direct(  # granted again: the new scope replaces the open grant
        "UPDATE user_roles SET revoked_at = ?, revoked_by = ? "
        "WHERE user_id = ? AND role = ? AND revoked_at IS NULL",
        [e.timestamp, s(e.actor_id), uid, e.role],
    )
    p.append(
        "user_roles",
        uid,
        e.role,
        [str(c) for c in e.commune_ids],
        s(e.actor_id),
        e.timestamp,
        None,
        None,
        nid,
    )


@handles("scelle:User.RoleRevoked")
def role_revoked(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE user_roles SET revoked_at = ?, revoked_by = ? "
        "WHERE user_id = ? AND role = ? AND revoked_at IS NULL",
        [e.timestamp, s(e.actor_id), s(e.originator_id), e.role],
    )


@handles("scelle:AccessDenial.Recorded")
def access_denied(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "denial",
        actor=e.actor,
        purpose=e.action,
        target=e.target,
        detail=f"{e.reason} ({e.source})",
    )


@handles("scelle:QuarantinedFile.Recorded")
def file_quarantined(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "quarantine",
        s(e.originator_id),
        e.source_name,
        e.camera_code,
        e.reason_code,
        e.reason_fr,
        e.size,
        e.sha256,
        e.quarantine_name,
        e.at,
        e.timestamp,
        nid,
    )
