"""The refusals, for the ethics committee and inspectors (no image is ever shown here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Guarded
from api.policy import Target
from api.routes.common import Limit, Offset

router = APIRouter(prefix="/audit", tags=["audit"])


class DenialOut(BaseModel):
    position: int = Field(description="notification id of the AccessDenial event in the log")
    at: datetime
    actor: str
    action: str
    target: str
    reason: str
    source: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> DenialOut:
        """From a row of the access log view; its detail reads ``reason (source)``."""
        detail: str = row["detail"] or ""
        reason, found, rest = detail.rpartition(" (")
        if found and rest.endswith(")"):
            source = rest[:-1]
        else:
            reason, source = detail, ""
        return cls(
            position=int(row["nid"]),
            at=row["logged_at"],
            actor=row["actor"] or "",
            action=row["purpose"] or "",
            target=row["target"] or "",
            reason=reason,
            source=source,
        )


@router.get("/denials", responses={403: {}})
def list_denials(gate: Guarded, limit: Limit = 100, offset: Offset = 0) -> list[DenialOut]:
    """Recorded refusals, newest first, read from the access-log view (one indexed page)."""
    gate.check("audit.denials", Target("audit", "denials", centre_wide=True))
    return [DenialOut.of(row) for row in gate.ctx.listings.denials(limit, offset)]
