"""Missions: a supervisor assigns them, operators work within them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Guarded, principal
from api.policy import Target
from api.routes.common import aware, communes_of, find_camera
from api.routes.segments import CreatedOut
from evidence.model.errors import RuleViolation

router = APIRouter(prefix="/missions", tags=["missions"])

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class MissionIn(BaseModel):
    operator: Code
    task: Annotated[str, Field(min_length=1, max_length=500)]
    cameras: Annotated[list[Code], Field(min_length=1, max_length=200)]
    window_start: datetime
    window_end: datetime
    requesting_partner: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class MissionOut(BaseModel):
    id: UUID
    operator_id: UUID
    camera_ids: list[UUID]
    window_start: datetime
    window_end: datetime
    closed: bool


@router.post("", status_code=201, responses={403: {}, 404: {}, 409: {}})
def assign_mission(body: MissionIn, gate: Guarded) -> CreatedOut:
    ctx = gate.ctx
    cameras = [find_camera(ctx, code) for code in body.cameras]
    communes = frozenset(c.commune_id for c in cameras)
    gate.check("mission.assign", Target("mission", "new", communes))
    start, end = aware(body.window_start), aware(body.window_end)
    assert start is not None and end is not None
    if end <= start:
        raise RuleViolation(
            "mission window ends before it starts",
            "La fenêtre de la mission se termine avant de commencer.",
        )
    operator = principal(ctx, body.operator)
    if operator is None or "operator" not in operator.roles:
        raise RuleViolation(
            f"{body.operator} is not an operator", f"{body.operator} n'est pas opérateur."
        )
    mission_id = ctx.system.archives.assign_mission(
        operator_id=operator.user_id,
        task=body.task,
        camera_ids=[c.id for c in cameras],
        window_start=start,
        window_end=end,
        requesting_partner=body.requesting_partner,
        assigned_by=gate.user.user_id,
    )
    return CreatedOut(id=mission_id)


@router.get("/{mission_id}", responses={403: {}, 404: {}})
def read_mission(mission_id: UUID, gate: Guarded) -> MissionOut:
    mission = gate.ctx.system.archives.mission(mission_id)
    communes = communes_of(gate.ctx, mission.camera_ids)
    gate.check(
        "mission.read", Target("mission", str(mission_id), communes, owner_id=mission.operator_id)
    )
    return MissionOut(
        id=mission.id,
        operator_id=mission.operator_id,
        camera_ids=mission.camera_ids,
        window_start=mission.window_start,
        window_end=mission.window_end,
        closed=mission.closed,
    )


@router.post("/{mission_id}/close", status_code=204, responses={403: {}, 404: {}, 409: {}})
def close_mission(mission_id: UUID, gate: Guarded) -> None:
    archives = gate.ctx.system.archives
    mission = archives.mission(mission_id)
    communes = communes_of(gate.ctx, mission.camera_ids)
    gate.check("mission.close", Target("mission", str(mission_id), communes))
    if mission.closed:
        raise RuleViolation("mission already closed", "Mission déjà close.")
    archives.close_mission(mission_id, gate.user.user_id)
