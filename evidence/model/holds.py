"""Hold orders: the legal act that keeps recordings past their deadline (CSI L252-5).

A hold order names its basis (a judicial procedure, a pending citizen access request or an
integrity investigation), its scope (cameras and time ranges) and its expiry. Each segment in
scope then carries the hold itself (``Segment.HoldPlaced``), so that the purge decision reads
one aggregate; the order keeps the scope, so that a segment recorded later in scope is held
too, and an inspector sees why a segment outlived its deadline.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.judicial import TimeRange
from evidence.model.segment import Hold


def hold_order_id(key: str) -> UUID:
    """Orders placed for one requisition share one id: placing it twice is one order."""
    return uuid5(NAMESPACE_URL, f"scelle:hold:{key}")


class HoldOrder(Aggregate):
    """One hold with its legal basis, scope and expiry; extended or released by events."""

    TOPIC = "scelle:HoldOrder"

    class Created(Aggregate.Created):
        TOPIC = "scelle:HoldOrder.Created"  # declared for the library; never stored

    @staticmethod
    def create_id(key: str) -> UUID:
        return hold_order_id(key)

    @event("Placed", topic="scelle:HoldOrder.Placed")
    def __init__(
        self,
        key: str,
        kind: str,
        reference: str,
        legal_basis: str | None,
        authority: str | None,
        camera_ids: list[UUID],
        ranges: list[list[datetime]],
        expires_at: datetime,
        actor_id: UUID,
        placed_at: datetime,
    ) -> None:
        self.kind = kind
        self.reference = reference
        self.legal_basis = legal_basis
        self.authority = authority
        self.camera_ids = list(camera_ids)
        self.ranges = [TimeRange(r[0], r[1]) for r in ranges]
        self.expires_at = expires_at
        self.actor_id = actor_id
        self.released = False
        self.segment_ids: list[UUID] = []

    @classmethod
    def place(cls, **kwargs: object) -> HoldOrder:
        """Check the basis, the scope and the expiry before any event exists."""
        Hold(  # the three kinds and their legal basis, checked in one place
            hold_id="order",
            kind=str(kwargs["kind"]),
            reference=str(kwargs["reference"]),
            expires_at=kwargs["expires_at"],  # type: ignore[arg-type]
            legal_basis=kwargs.get("legal_basis"),  # type: ignore[arg-type]
            authority=kwargs.get("authority"),  # type: ignore[arg-type]
        )
        cameras, ranges = kwargs["camera_ids"], kwargs["ranges"]
        if not cameras or not ranges:
            raise RuleViolation(
                "a hold names cameras and time ranges",
                "Une conservation désigne des caméras et des plages horaires.",
            )
        for r in ranges:  # type: ignore[attr-defined]
            TimeRange(r[0], r[1])
        if kwargs["expires_at"] <= kwargs["placed_at"]:  # type: ignore[operator]
            raise RuleViolation(
                "a hold must expire in the future",
                "Une conservation doit avoir une échéance dans le futur.",
            )
        return cls(**kwargs)  # type: ignore[arg-type]

    def hold_for(self, hold_id: str) -> Hold:
        return Hold(
            hold_id=hold_id,
            kind=self.kind,
            reference=self.reference,
            expires_at=self.expires_at,
            legal_basis=self.legal_basis,
            authority=self.authority,
        )

    def covers(self, camera_id: UUID, start: datetime, end: datetime) -> bool:
        return camera_id in self.camera_ids and any(r.overlaps(start, end) for r in self.ranges)

    def in_force(self, now: datetime) -> bool:
        return not self.released and self.expires_at > now

    def check_in_force(self, now: datetime) -> None:
        if not self.in_force(now):
            raise InvalidState(
                f"hold {self.id} is released or expired",
                "Cette conservation est levée ou échue : placez-en une nouvelle.",
            )

    @event("SegmentsHeld", topic="scelle:HoldOrder.SegmentsHeld")
    def record_segments(self, segment_ids: list[UUID]) -> None:
        self.segment_ids.extend(segment_ids)

    def extend(self, expires_at: datetime, actor_id: UUID, reason: str, at: datetime) -> None:
        self.check_in_force(at)
        if expires_at <= self.expires_at:
            raise RuleViolation(
                "an extension must end later than the hold",
                "Une prolongation doit se terminer après l'échéance actuelle de la conservation.",
            )
        self._extended(expires_at=expires_at, actor_id=actor_id, reason=reason, at=at)

    @event("Extended", topic="scelle:HoldOrder.Extended")
    def _extended(self, expires_at: datetime, actor_id: UUID, reason: str, at: datetime) -> None:
        self.expires_at = expires_at

    def release(self, actor_id: UUID, reason: str, at: datetime) -> None:
        self.check_in_force(at)
        if not reason.strip():
            raise RuleViolation(
                "releasing a hold needs a reason", "La levée d'une conservation exige un motif."
            )
        self._released(actor_id=actor_id, reason=reason, at=at)

    @event("Released", topic="scelle:HoldOrder.Released")
    def _released(self, actor_id: UUID, reason: str, at: datetime) -> None:
        self.released = True
