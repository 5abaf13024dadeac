"""Cameras in the user's communes, and their segments by time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Guarded
from api.policy import Target, scope_for
from api.routes.common import CameraCode, Limit, Offset, aware, find_camera
from evidence.application import NotFound

router = APIRouter(prefix="/cameras", tags=["caméras"])


class CameraOut(BaseModel):
    code: str
    commune_id: UUID
    place: str
    kind: str
    purposes: list[str]
    privacy_zones: int = Field(description="privacy zones in force (masked on every rendition)")
    retention_days: int
    decommissioned: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> CameraOut:
        """From a row of the cameras view (``projections``)."""
        return cls(
            code=row["code"],
            commune_id=UUID(row["commune_id"]),
            place=row["place"],
            kind=row["kind"],
            purposes=list(row["purposes"] or []),
            privacy_zones=int(row["zones"] or 0),
            retention_days=int(row["retention_days"]),
            decommissioned=row["status"] == "decommissioned",
        )


class SegmentOut(BaseModel):
    id: UUID
    camera_code: str
    start: datetime
    end: datetime
    size: int
    sha256: str
    deadline: datetime
    status: str = Field(description="kept, held, overdue, purging or purged")
    purged: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> SegmentOut:
        """From a row of the segment catalogue view (``projections``)."""
        return cls(
            id=UUID(row["segment_id"]),
            camera_code=row["camera_code"],
            start=row["start"],
            end=row["end"],
            size=int(row["size"]),
            sha256=row["sha256"],
            deadline=row["deadline"],
            status=row["status"],
            purged=row["status"] == "purged",
        )


@router.get("")
def list_cameras(gate: Guarded) -> list[CameraOut]:
    """The cameras of the communes the user's roles cover (a user sees only those)."""
    scope = scope_for(gate.user, "camera.list")
    return [CameraOut.of(row) for row in gate.ctx.listings.cameras(sorted(scope.communes))]


@router.get("/{code}", responses={403: {}, 404: {}})
def read_camera(code: CameraCode, gate: Guarded) -> CameraOut:
    camera = find_camera(gate.ctx, code)
    gate.check("camera.read", Target("camera", code, frozenset({camera.commune_id})))
    row = gate.ctx.listings.camera(code)
    if row is None:  # registered in the log but not in the views: never after a catch-up
        raise NotFound(f"camera {code} not in the views", f"Caméra {code} introuvable.")
    return CameraOut.of(row)


@router.get("/{code}/segments", responses={403: {}, 404: {}})
def list_segments(
    code: CameraCode,
    gate: Guarded,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[SegmentOut]:
    """Segments of one camera overlapping [start, end), oldest first (metadata only).

    Purged segments stay listed with their status: the catalogue shows what was destroyed
    and when it was due, never its images.
    """
    camera = find_camera(gate.ctx, code)
    gate.check("segment.list", Target("camera", code, frozenset({camera.commune_id})))
    rows = gate.ctx.listings.segments(code, aware(start), aware(end), limit, offset)
    return [SegmentOut.of(row) for row in rows]
