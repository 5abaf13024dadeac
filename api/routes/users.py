"""Accounts, for administrators: who holds which role in which communes (no secret)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Guarded, principal
from api.policy import Target

router = APIRouter(prefix="/users", tags=["comptes"])


class UserOut(BaseModel):
    username: str
    user_id: UUID
    roles: dict[str, list[UUID]]
    locked: bool


@router.get("", responses={403: {}})
def list_users(gate: Guarded) -> list[UserOut]:
    gate.check("user.list", Target("user", "*", centre_wide=True))
    ctx = gate.ctx
    out = []
    for username in ctx.credentials.usernames():
        found = principal(ctx, username)
        if found is None:
            continue
        out.append(
            UserOut(
                username=username,
                user_id=found.user_id,
                roles={r: sorted(c) for r, c in found.roles.items()},
                locked=ctx.credentials.locked_until(username) is not None,
            )
        )
    return out
