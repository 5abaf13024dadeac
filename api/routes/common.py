"""Shared shapes and lookups for the resource routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Path, Query

from api.context import ApiContext
from api.policy import Target
from evidence.application import NotFound
from evidence.model import Camera, Segment

CameraCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def aware(moment: datetime | None) -> datetime | None:
    """Query datetimes without a zone are read as UTC, so comparisons never mix kinds."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def camera_by_id(ctx: ApiContext, camera_id: UUID) -> Camera:
    return ctx.system.archives._get(Camera, camera_id, "caméra")


def communes_of(ctx: ApiContext, camera_ids: list[UUID]) -> frozenset[UUID]:
    return frozenset(camera_by_id(ctx, c).commune_id for c in camera_ids)


def segment_target(segment: Segment) -> Target:
    return Target("segment", str(segment.id), frozenset({segment.commune_id}))


def find_camera(ctx: ApiContext, code: str) -> Camera:
    try:
        return ctx.system.archives.camera(code)
    except NotFound:
        raise NotFound(f"camera {code} not found", f"Caméra {code} introuvable.") from None
