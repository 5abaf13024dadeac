"""One handler per known topic. Topics no view reads are skipped by the runner, never decoded.

Every ``*_at`` column written here is the stored event's ``timestamp`` (when the fact entered
the log): that is the instant time travel filters on.
"""

from __future__ import annotations

from typing import Any

from projections.apply import Projector, dumps, handles, s

# Communes, cameras, zones ------------------------------------------------------------------


@handles("scelle:Commune.Registered")
def commune_registered(p: Projector, nid: int, e: Any) -> None:
    p.append("communes", s(e.originator_id), e.insee_code, e.name, e.timestamp, nid)


@handles("scelle:Camera.Registered")
def camera_registered(p: Projector, nid: int, e: Any) -> None:
    cid = s(e.originator_id)
    p.append(
        "cameras",
        cid,
        e.code,
        s(e.commune_id),
        e.place,
        e.kind,
        list(e.purposes),
        e.authorisation_ref,
        e.authorised_from,
        e.authorised_until,
        e.authorised_retention_days,
        e.timestamp,
        None,
        None,
        nid,
    )
    p.append("camera_retention", cid, e.retention_days, e.authorisation_ref, e.timestamp, nid)


@handles("scelle:Camera.RetentionChanged")
def retention_changed(p: Projector, nid: int, e: Any) -> None:
    p.append(
        "camera_retention",
        s(e.originator_id),
        e.retention_days,
        e.authorisation_ref,
        e.timestamp,
        nid,
    )


@handles("scelle:Camera.Decommissioned")
def camera_decommissioned(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE cameras SET decommissioned_at = ?, decommission_reason = ? WHERE camera_id = ?",
        [e.timestamp, e.reason, s(e.originator_id)],
    )


@handles("scelle:Camera.PrivacyZoneDefined")
def zone_defined(p: Projector, nid: int, e: Any) -> None:
    cid = s(e.originator_id)
    p.direct(  # the aggregate overwrites a zone defined again under the same id
        "UPDATE privacy_zones SET removed_at = ?, removed_by = ?, removal_reason = 'redéfinie' "
        "WHERE camera_id = ? AND zone_id = ? AND removed_at IS NULL",
        [e.timestamp, s(e.actor_id), cid, e.zone_id],
    )
    p.append(
        "privacy_zones",
        cid,
        e.zone_id,
        e.label,
        e.method,
        dumps(e.polygon),
        s(e.actor_id),
        e.timestamp,
        None,
        None,
        None,
        nid,
    )


@handles("scelle:Camera.PrivacyZoneRemoved")
def zone_removed(p: Projector, nid: int, e: Any) -> None:
    p.direct(
        "UPDATE privacy_zones SET removed_at = ?, removed_by = ?, removal_reason = ? "
        "WHERE camera_id = ? AND zone_id = ? AND removed_at IS NULL",
        [e.timestamp, s(e.actor_id), e.reason, s(e.originator_id), e.zone_id],
    )


# Segments ------------------------------------------------------------------------------------


@handles("scelle:Segment.Recorded")
def segment_recorded(p: Projector, nid: int, e: Any) -> None:
    sid = str(e.originator_id)
    p.record_segment(
        sid,
        [
            sid,
            e.camera_code,
            s(e.camera_id),
            s(e.commune_id),
            e.start,
            e.end,
            e.container,
            e.codec,
            e.width,
            e.height,
            e.fps,
            e.size,
            e.sha256,
            e.deadline,
            e.clock_drift_seconds,
            e.clock_drift_flagged,
            e.source_name,
            e.timestamp,
            None,
            None,
            None,
            nid,
            None,
            None,
        ],
    )


def access(
    p: Projector,
    nid: int,
    e: Any,
    kind: str,
    actor: object = None,
    purpose: str | None = None,
    mission_id: object = None,
    segment_id: object = None,
    requisition_id: object = None,
    export_id: object = None,
    masked: bool | None = None,
    on_behalf_of: str | None = None,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    p.append(
        "access_log",
        nid,
        e.timestamp,
        kind,
        s(actor),
        purpose,
        s(mission_id),
        s(segment_id),
        s(requisition_id),
        s(export_id),
        masked,
        on_behalf_of,
        target,
        detail,
    )


@handles("scelle:Segment.Viewed")
def segment_viewed(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "view",
        actor=e.actor_id,
        purpose=e.purpose,
        mission_id=e.mission_id,
        segment_id=e.originator_id,
        masked=e.masked,
        on_behalf_of=e.on_behalf_of,
        detail=f"{e.range_start:g}-{e.range_end:g} s",
    )


@handles("scelle:Segment.Zoomed")
def segment_zoomed(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "zoom",
        actor=e.actor_id,
        purpose=e.purpose,
        mission_id=e.mission_id,
        segment_id=e.originator_id,
        masked=bool(e.zones_triggered),
        detail=dumps({"at": e.at_seconds, "region": e.region, "zones": e.zones_triggered}),
    )


@handles("scelle:Segment.MaskApplied")
def mask_applied(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "mask_applied",
        purpose=e.rendition,
        segment_id=e.originator_id,
        masked=True,
        detail=dumps({"zones": e.zones, "output_sha256": e.output_sha256}),
    )


@handles("scelle:Segment.MaskLifted")
def mask_lifted(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "mask_lifted",
        actor=e.requested_by,
        segment_id=e.originator_id,
        requisition_id=e.requisition_id,
        masked=False,
        target=s(e.approved_by),
        detail="approuvé par un second agent",
    )


@handles("scelle:Segment.Exported")
def segment_exported(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "segment_exported",
        segment_id=e.originator_id,
        export_id=e.export_id,
        target=e.package_id,
    )


@handles("scelle:Segment.Held", "scelle:Segment.HoldPlaced")
def segment_held(p: Projector, nid: int, e: Any) -> None:
    sid = str(e.originator_id)
    row = [sid, e.hold_id, e.kind, e.reference, e.legal_basis, e.authority, e.expires_at]
    row += [s(e.actor_id), e.timestamp, None, None, None, nid]
    p.place_hold((sid, e.hold_id), row, e.timestamp)
    p.touch_holds(sid)


@handles("scelle:Segment.Released", "scelle:Segment.HoldLifted")
def segment_released(p: Projector, nid: int, e: Any) -> None:
    p.close_hold((str(e.originator_id), e.hold_id), e.timestamp, s(e.actor_id), e.reason)
    p.touch_holds(str(e.originator_id))


@handles("scelle:Segment.HoldExtended")
def hold_extended(p: Projector, nid: int, e: Any) -> None:
    sid = str(e.originator_id)
    p.append("hold_expiry", sid, e.hold_id, e.expires_at, s(e.actor_id), e.timestamp, nid)
    p.touch_holds(sid)


@handles("scelle:Segment.RenditionDerived")
def rendition_derived(p: Projector, nid: int, e: Any) -> None:
    access(
        p,
        nid,
        e,
        "rendition_derived",
        actor=e.actor_id,
        purpose=e.rendition,
        segment_id=e.originator_id,
        masked=None,
        target=e.derivation_id,
        detail=dumps({"output_sha256": e.output_sha256, "parameters": e.parameters}),
    )


@handles("scelle:Segment.PurgeStarted")
def purge_started(p: Projector, nid: int, e: Any) -> None:
    p.update_segment(str(e.originator_id), purge_started_at=e.timestamp)


@handles("scelle:Segment.Purged")
def segment_purged(p: Projector, nid: int, e: Any) -> None:
    sid = str(e.originator_id)
    p.update_segment(sid, purged_at=e.timestamp, purge_lateness_seconds=e.lateness_seconds)
    p.append(
        "purges",
        nid,
        sid,
        e.deadline,
        e.purged_at,
        e.lateness_seconds,
        e.key_destroyed,
        list(e.blobs_deleted),
        e.timestamp,
    )


@handles("scelle:Segment.IntegrityAlarm")
def integrity_alarm(p: Projector, nid: int, e: Any) -> None:
    p.append("alarms", s(e.originator_id), e.reason, e.detected_at, e.timestamp, nid)
