"""One segment: its metadata, a consultation (purpose checked, ``Viewed`` recorded), a zoom,
and the four-eyes lift of its privacy masks."""

from __future__ import annotations

import importlib
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field, model_validator

from api.context import ApiContext
from api.deps import Gate, Guarded
from api.playback import Ticket
from api.policy import Action, Purpose, Target
from api.routes.cameras import SegmentOut
from api.routes.common import camera_by_id, segment_target
from evidence.access_cases import check_requisition_covers
from evidence.application import NotFound
from evidence.model import AccessRequest, Camera, Segment
from evidence.model.errors import DomainError

router = APIRouter(tags=["segments"])

Text = Annotated[str, Field(min_length=1, max_length=500)]
PurposeCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class PurposeIn(BaseModel):
    """Exactly one ground for seeing images: a mission, one of the camera's purposes, a
    requisition (officers) or a citizen's access request (DPO). None at all is refused and
    recorded; two at once is a malformed request."""

    mission_id: UUID | None = None
    purpose: PurposeCode | None = None
    requisition_id: UUID | None = None
    access_request_id: UUID | None = None

    @model_validator(mode="after")
    def one_ground(self) -> Self:
        grounds = [self.mission_id, self.purpose, self.requisition_id, self.access_request_id]
        if sum(g is not None for g in grounds) > 1:
            raise ValueError("une seule finalité par demande")
        return self


class ViewIn(PurposeIn):
    unmasked: bool = False
    on_behalf_of: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class ViewOut(BaseModel):
    ticket: str
    playback_url: str
    expires_at: datetime
    masked: bool


class ZoomIn(PurposeIn):
    at_seconds: Annotated[float, Field(ge=0, le=86_400)]
    region: Annotated[
        list[Annotated[float, Field(ge=0, le=1)]],
        Field(min_length=4, max_length=4, description="x0, y0, x1, y1 in 0..1 of the image"),
    ]


class MaskLiftIn(BaseModel):
    requisition_id: UUID
    reason: Text


class CreatedOut(BaseModel):
    id: UUID


def load_segment(gate: Gate, segment_id: UUID) -> Segment:
    return gate.ctx.system.archives.segment(segment_id)


def resolve_purpose(  # noqa: PLR0911 (one exit per kind of ground)
    gate: Gate, ground: PurposeIn, segment: Segment, camera: Camera
) -> Purpose | None:
    """Check the stated ground against the facts; the policy decides on the result."""
    archives = gate.ctx.system.archives
    now = archives.clock.now()
    if ground.mission_id is not None:
        try:
            mission = archives.mission(ground.mission_id)
        except NotFound:
            return Purpose("mission", "mission", ground.mission_id, False, "unknown mission")
        ok = mission.is_open_for(gate.user.user_id, camera.id, now)
        return Purpose("mission", "mission", mission.id, ok, "" if ok else "mission not open")
    if ground.purpose is not None:
        ok = ground.purpose in camera.purposes
        return Purpose("camera", ground.purpose, None, ok, "" if ok else "not authorised")
    if ground.requisition_id is not None:
        code = f"requisition:{ground.requisition_id}"
        try:
            check_requisition_covers(archives.requisition(ground.requisition_id), segment)
        except DomainError as exc:
            return Purpose("requisition", code, ground.requisition_id, False, str(exc))
        return Purpose("requisition", code, ground.requisition_id)
    if ground.access_request_id is not None:
        code = f"access_request:{ground.access_request_id}"
        try:
            request = archives._get(AccessRequest, ground.access_request_id, "demande d'accès")
            open_request = not request.closed
        except NotFound:
            open_request = False
        return Purpose(
            "access_request",
            code,
            ground.access_request_id,
            open_request,
            "" if open_request else "no open access request",
        )
    return None


@router.get("/segments/{segment_id}", responses={403: {}, 404: {}})
def read_segment(segment_id: UUID, gate: Guarded) -> SegmentOut:
    segment = load_segment(gate, segment_id)
    gate.check("segment.list", segment_target(segment))
    row = gate.ctx.listings.segment(segment.id)
    if row is None:  # in the log but not in the views: never after a catch-up
        raise NotFound(f"segment {segment.id} not in the views", "Segment introuvable.")
    return SegmentOut.of(row)


@router.post("/segments/{segment_id}/views", status_code=201, responses={403: {}, 404: {}})
def view_segment(segment_id: UUID, body: ViewIn, gate: Guarded) -> ViewOut:
    """Open a consultation: purpose checked, rendition chosen, ``Viewed`` recorded."""
    ctx = gate.ctx
    segment = load_segment(gate, segment_id)
    camera = camera_by_id(ctx, segment.camera_id)
    purpose = resolve_purpose(gate, body, segment, camera)
    target = segment_target(segment)
    lifted = False
    if body.unmasked and purpose is not None and purpose.ref is not None:
        try:
            lifted = ctx.system.archives.mask_lift(segment.id, purpose.ref).approved_by is not None
        except NotFound:
            lifted = False
    action: Action = "segment.play_unmasked" if body.unmasked else "segment.play"
    gate.check(
        action,
        Target(target.kind, target.ident, target.communes, purpose=purpose, mask_lifted=lifted),
    )
    assert purpose is not None
    segment.check_not_purged()
    masked = bool(camera.zones) and not body.unmasked
    blob = masked_blob(ctx, segment.id) if masked else segment.blob_id
    ctx.system.archives.record_consultation(
        segment.id,
        actor_id=gate.user.user_id,
        purpose=purpose.code,
        mission_id=purpose.ref if purpose.kind == "mission" else None,
        range_start=0.0,
        range_end=(segment.end - segment.start).total_seconds(),
        masked=masked,
        on_behalf_of=body.on_behalf_of,
    )
    expires = time.time() + ctx.api.ticket_ttl_seconds
    ticket = ctx.tickets.issue(Ticket(gate.user.user_id, segment.id, blob, masked, expires))
    return ViewOut(
        ticket=ticket,
        playback_url=f"/playback/{ticket}",
        expires_at=datetime.fromtimestamp(expires, UTC),
        masked=masked,
    )


def rendition(name: str, *args: Any) -> Any:
    """Call a function of the masking part (``ingest.rendition``); 503 until it is installed.

    Without it no masked copy can be made, and an unmasked image is never the fallback. Its
    refusals (a time past the end, a bad region) carry a French message: 422.
    """
    try:
        found: object = getattr(importlib.import_module("ingest.rendition"), name, None)
    except ImportError:
        found = None
    if not callable(found):
        raise HTTPException(503, "Rendu masqué indisponible : lecture refusée.")
    try:
        return found(*args)
    except Exception as exc:
        message_fr = getattr(exc, "message_fr", None)
        if type(exc).__name__ != "RenditionError" or not isinstance(message_fr, str):
            raise
        raise HTTPException(422, message_fr) from None


def masked_blob(ctx: ApiContext, segment_id: UUID) -> str:
    """The masked rendition's blob, made once by the masking part and kept under the segment's
    key (so a purge shreds it too)."""
    return str(rendition("masked_segment", ctx.system, segment_id))


@router.post(
    "/segments/{segment_id}/zooms", responses={403: {}, 404: {}, 503: {}}, response_class=Response
)
def zoom_segment(segment_id: UUID, body: ZoomIn, gate: Guarded) -> Response:
    """A region at a time, masked where it meets a privacy zone; the zoom is recorded.

    Many people may zoom into one segment at once: ``Archives.record_zoom``, which the masking
    part calls once the still is made, retries its save on a version conflict
    (``evidence.access_cases.retry_on_conflict``), so no zoom goes unrecorded and the frame
    is not decoded twice.
    """
    ctx = gate.ctx
    segment = load_segment(gate, segment_id)
    camera = camera_by_id(ctx, segment.camera_id)
    purpose = resolve_purpose(gate, body, segment, camera)
    target = segment_target(segment)
    gate.check("segment.zoom", Target(target.kind, target.ident, target.communes, purpose=purpose))
    assert purpose is not None
    segment.check_not_purged()
    zoom = rendition(
        "zoom_frame",
        ctx.system,
        segment.id,
        body.at_seconds,
        list(body.region),
        gate.user.user_id,
        purpose.code,
        purpose.ref if purpose.kind == "mission" else None,
    )
    zones = ",".join(zoom.zones_triggered)
    return Response(zoom.jpeg, media_type="image/jpeg", headers={"X-Scelle-Zones": zones})


@router.post("/segments/{segment_id}/mask-lifts", status_code=201, responses={403: {}, 404: {}})
def request_mask_lift(segment_id: UUID, body: MaskLiftIn, gate: Guarded) -> CreatedOut:
    """An officer asks, within a requisition, to see this segment unmasked."""
    archives = gate.ctx.system.archives
    segment = load_segment(gate, segment_id)
    ground = PurposeIn(requisition_id=body.requisition_id)
    purpose = resolve_purpose(gate, ground, segment, camera_by_id(gate.ctx, segment.camera_id))
    target = segment_target(segment)
    gate.check(
        "masklift.request", Target(target.kind, target.ident, target.communes, purpose=purpose)
    )
    return CreatedOut(
        id=archives.request_mask_lift(
            segment.id, body.requisition_id, gate.user.user_id, body.reason
        )
    )


@router.post("/mask-lifts/{request_id}/approve", status_code=204, responses={403: {}, 404: {}})
def approve_mask_lift(request_id: UUID, gate: Guarded) -> None:
    """A second person (supervisor or magistrate) approves; never the one who asked."""
    archives = gate.ctx.system.archives
    request = archives.mask_lift_request(request_id)
    segment = archives.segment(request.segment_id)
    gate.check(
        "masklift.approve",
        Target(
            "mask-lift",
            str(request_id),
            frozenset({segment.commune_id}),
            owner_id=request.requested_by,
        ),
    )
    archives.approve_mask_lift(request_id, gate.user.user_id)
