"""Requests to lift a privacy mask: asked by one person, approved by another (CSI L251-3).

The approval and the segment's ``MaskLifted`` fact are saved together, so a lift is never
recorded without its approval nor approved without the lift being on the segment's record.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState
from evidence.model.judicial import check_four_eyes


def mask_lift_id(segment_id: UUID, requisition_id: UUID) -> UUID:
    """One request per segment and requisition: asking twice finds the first request."""
    return uuid5(NAMESPACE_URL, f"scelle:mask-lift:{segment_id}:{requisition_id}")


class MaskLiftRequest(Aggregate):
    """An officer's request to see a segment unmasked within a requisition."""

    TOPIC = "scelle:MaskLiftRequest"

    class Created(Aggregate.Created):
        TOPIC = "scelle:MaskLiftRequest.Created"  # declared for the library; never stored

    @staticmethod
    def create_id(segment_id: UUID, requisition_id: UUID) -> UUID:
        return mask_lift_id(segment_id, requisition_id)

    @event("Requested", topic="scelle:MaskLiftRequest.Requested")
    def __init__(
        self, segment_id: UUID, requisition_id: UUID, requested_by: UUID, reason: str
    ) -> None:
        self.segment_id = segment_id
        self.requisition_id = requisition_id
        self.requested_by = requested_by
        self.approved_by: UUID | None = None

    def approve(self, approver_id: UUID) -> None:
        check_four_eyes(self.requested_by, approver_id)
        if self.approved_by is not None:
            raise InvalidState("mask lift already approved", "Levée de masque déjà approuvée.")
        self._approved(approver_id=approver_id)

    @event("Approved", topic="scelle:MaskLiftRequest.Approved")
    def _approved(self, approver_id: UUID) -> None:
        self.approved_by = approver_id
