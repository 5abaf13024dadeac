"""Judicial requisitions and the exports they allow, each approved by a second person."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Guarded
from api.policy import Purpose, Target
from api.routes.common import aware, communes_of, find_camera
from api.routes.segments import CreatedOut
from evidence.access_cases import check_requisition_covers
from evidence.model.errors import DomainError, RuleViolation
from evidence.packages.cases import DEFAULT_HOLD_DAYS

router = APIRouter(tags=["réquisitions"])

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class RangeIn(BaseModel):
    start: datetime
    end: datetime


class RequisitionIn(BaseModel):
    authority: Text
    procedure_number: Text
    legal_basis: Annotated[
        str, Field(pattern=r"^(flagrance|enquete_preliminaire|information_judiciaire)$")
    ]
    cameras: Annotated[list[Code], Field(min_length=1, max_length=200)]
    ranges: Annotated[list[RangeIn], Field(min_length=1, max_length=100)]


class RequisitionOut(BaseModel):
    id: UUID
    authority: str
    procedure_number: str
    legal_basis: str
    camera_ids: list[UUID]
    officer_id: UUID
    approved_by: UUID | None
    closed: bool


class ExportIn(BaseModel):
    """The segments to export; none named: every live segment the requisition covers."""

    segment_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)] | None = None


class ApprovalOut(BaseModel):
    """The approval, and the judicial hold it placed on the segments in scope."""

    held_segments: int
    hold_expires_at: datetime


@router.post("/requisitions", status_code=201, responses={403: {}, 404: {}, 409: {}})
def register_requisition(body: RequisitionIn, gate: Guarded) -> CreatedOut:
    cameras = [find_camera(gate.ctx, code) for code in body.cameras]
    gate.check(
        "requisition.register",
        Target("requisition", "new", frozenset(c.commune_id for c in cameras)),
    )
    ranges = []
    for r in body.ranges:
        start, end = aware(r.start), aware(r.end)
        assert start is not None and end is not None
        if end <= start:
            raise RuleViolation(
                "a time range must end after it starts",
                "Une plage horaire doit se terminer après son début.",
            )
        ranges.append((start, end))
    requisition_id = gate.ctx.system.archives.register_requisition(
        body.authority,
        body.procedure_number,
        body.legal_basis,
        body.cameras,
        ranges,
        gate.user.user_id,
    )
    return CreatedOut(id=requisition_id)


@router.get("/requisitions/{requisition_id}", responses={403: {}, 404: {}})
def read_requisition(requisition_id: UUID, gate: Guarded) -> RequisitionOut:
    found = gate.ctx.system.archives.requisition(requisition_id)
    gate.check(
        "requisition.read",
        Target("requisition", str(requisition_id), communes_of(gate.ctx, found.camera_ids)),
    )
    return RequisitionOut(
        id=found.id,
        authority=found.authority,
        procedure_number=found.procedure_number,
        legal_basis=found.legal_basis,
        camera_ids=found.camera_ids,
        officer_id=found.officer_id,
        approved_by=found.approved_by,
        closed=found.closed,
    )


@router.post("/requisitions/{requisition_id}/approve", responses={403: {}, 404: {}, 409: {}})
def approve_requisition(requisition_id: UUID, gate: Guarded) -> ApprovalOut:
    """A second person approves (four eyes); every segment in scope is then held."""
    archives = gate.ctx.system.archives
    found = archives.requisition(requisition_id)
    gate.check(
        "requisition.approve",
        Target(
            "requisition",
            str(requisition_id),
            communes_of(gate.ctx, found.camera_ids),
            owner_id=found.officer_id,
        ),
    )
    archives.approve_requisition(requisition_id, gate.user.user_id)
    expires = archives.clock.now() + timedelta(days=DEFAULT_HOLD_DAYS)
    held = archives.hold_requisition_segments(requisition_id, gate.user.user_id, expires)
    return ApprovalOut(held_segments=len(held), hold_expires_at=expires)


@router.post(
    "/requisitions/{requisition_id}/exports", status_code=201, responses={403: {}, 404: {}, 409: {}}
)
def request_export(requisition_id: UUID, body: ExportIn, gate: Guarded) -> CreatedOut:
    """An officer asks for an export of segments the requisition covers.

    A segment outside the requisition (or a requisition not approved, or closed) is refused
    by the policy and recorded; a purged segment is refused with the date it was destroyed.
    """
    archives = gate.ctx.system.archives
    requisition = archives.requisition(requisition_id)
    if body.segment_ids is None:
        wanted = [m.segment_id for m in archives.matching_segments(requisition_id) if not m.purged]
    else:
        wanted = list(dict.fromkeys(body.segment_ids))
    segments = [archives.segment(s) for s in wanted]
    code = f"requisition:{requisition_id}"
    purpose = Purpose("requisition", code, requisition_id)
    try:
        for segment in segments:
            check_requisition_covers(requisition, segment)
    except DomainError as exc:
        purpose = Purpose("requisition", code, requisition_id, False, str(exc))
    communes = frozenset(s.commune_id for s in segments) or communes_of(
        gate.ctx, requisition.camera_ids
    )
    gate.check("export.request", Target("export", "new", communes, purpose=purpose))
    export_id = archives.request_requisition_export(requisition_id, gate.user.user_id, wanted)
    return CreatedOut(id=export_id)


@router.post("/exports/{export_id}/approve", status_code=204, responses={403: {}, 404: {}, 409: {}})
def approve_export(export_id: UUID, gate: Guarded) -> None:
    """A second person approves the export; the one who asked never can."""
    archives = gate.ctx.system.archives
    export = archives.export(export_id)
    requisition = archives.requisition(export.requisition_id)
    gate.check(
        "export.approve",
        Target(
            "export",
            str(export_id),
            communes_of(gate.ctx, requisition.camera_ids),
            owner_id=export.requested_by,
        ),
    )
    if export.approved_by is not None:
        raise RuleViolation("export already approved", "Export déjà approuvé.")
    archives.approve_export(export_id, gate.user.user_id)
