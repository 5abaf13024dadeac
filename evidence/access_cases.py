"""Use cases of the API's four-eyes flows, mixed into ``Archives``.

Kept apart from ``evidence.application`` (which imports this module) so that the API's needs
grow without touching the shared application module; it must never import it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.judicial import Requisition
from evidence.model.segment import Segment
from evidence.model.unmasking import MaskLiftRequest, mask_lift_id

T = TypeVar("T")


class _Host(Protocol):
    """What the mixin needs from ``Archives``."""

    def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    def _get(self, kind: type[T], aggregate_id: UUID, label: str) -> T: ...

    def segment(self, segment_id: UUID) -> Segment: ...

    def requisition(self, requisition_id: UUID) -> Requisition: ...


#: Concurrent facts on one segment (many viewers at once) conflict on its version; a retry
#: reloads the segment and appends after the other's event.
CONFLICT_RETRIES = 20


def retry_on_conflict(work: Callable[[], T], attempts: int = CONFLICT_RETRIES) -> T:
    """Run ``work`` again while its save loses a version race (``IntegrityError``).

    ``work`` must load the aggregates it changes *inside* the call, so that each attempt
    appends after the events the other writer saved; an access fact (a view, a zoom) then
    always lands, in the log's order, however many people look at one segment at once. The
    last conflict is raised: a conflict that never clears is a fault, not contention.
    """
    for attempt in range(attempts):
        try:
            return work()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise ValueError("attempts must be at least 1")


class AccessCases:
    """Mask lifts: one person asks within a requisition, a second one approves; views recorded
    under concurrency."""

    def record_consultation(self: _Host, segment_id: UUID, **details: Any) -> None:
        """``Segment.Viewed``, retried on a version conflict with another viewer's event."""

        def once() -> None:
            segment = self.segment(segment_id)
            segment.record_view(**details)
            self.save(segment)

        retry_on_conflict(once)

    def request_mask_lift(
        self: _Host, segment_id: UUID, requisition_id: UUID, requested_by: UUID, reason: str
    ) -> UUID:
        """Record the request; the segment must lie within the approved, open requisition."""
        segment = self.segment(segment_id)
        segment.check_not_purged()
        requisition = self.requisition(requisition_id)
        check_requisition_covers(requisition, segment)
        request = MaskLiftRequest(
            segment_id=segment_id,
            requisition_id=requisition_id,
            requested_by=requested_by,
            reason=reason,
        )
        try:
            self.save(request)
        except IntegrityError:
            raise InvalidState(
                "a mask lift was already requested for this segment and requisition",
                "Une levée de masque a déjà été demandée pour ce segment et cette réquisition.",
            ) from None
        return request.id

    def mask_lift(self: _Host, segment_id: UUID, requisition_id: UUID) -> MaskLiftRequest:
        return self._get(
            MaskLiftRequest, mask_lift_id(segment_id, requisition_id), "levée de masque"
        )

    def mask_lift_request(self: _Host, request_id: UUID) -> MaskLiftRequest:
        return self._get(MaskLiftRequest, request_id, "levée de masque")

    def approve_mask_lift(self: _Host, request_id: UUID, approver_id: UUID) -> None:
        """Four eyes: the approval and the segment's ``MaskLifted`` are one save."""
        request = self._get(MaskLiftRequest, request_id, "levée de masque")
        segment = self.segment(request.segment_id)
        request.approve(approver_id)
        segment.lift_mask(request.requisition_id, request.requested_by, approver_id)
        self.save(request, segment)


def check_requisition_covers(requisition: Requisition, segment: Segment) -> None:
    """A requisition opens only its own cameras and time ranges, once approved, until closed."""
    if requisition.approved_by is None or requisition.closed:
        raise RuleViolation(
            "the requisition is not approved, or is closed",
            "La réquisition n'est pas approuvée, ou elle est close.",
        )
    if not requisition.covers(segment.camera_id, segment.start, segment.end):
        raise RuleViolation(
            "the segment lies outside the requisition's cameras or time ranges",
            "Le segment est hors des caméras ou des plages horaires de la réquisition.",
        )
