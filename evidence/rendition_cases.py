"""Use cases of renditions, mixed into ``Archives``: derivation records and four-eyes lifts.

Kept apart from ``evidence.application`` (which imports this module), and free of OpenCV and
ffmpeg: the rendering itself lives in ``ingest.rendition``, which calls these use cases.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from uuid import UUID

from evidence.access_cases import check_requisition_covers
from evidence.model.errors import DomainError, RuleViolation
from evidence.model.judicial import Requisition
from evidence.model.segment import Segment
from evidence.model.unmasking import MaskLiftRequest

T = TypeVar("T")


class _Host(Protocol):
    """What the mixin needs from ``Archives``."""

    def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    def segment(self, segment_id: UUID) -> Segment: ...

    def requisition(self, requisition_id: UUID) -> Requisition: ...

    def record_denial(
        self, actor: str, action: str, target: str, reason: str, source: str
    ) -> UUID: ...


class RenditionCases:
    """Every derived rendition is recorded; a mask is lifted only under four eyes."""

    def record_derivation(self: _Host, segment_id: UUID, **details: Any) -> None:
        """Record how a rendition was derived (``Segment.RenditionDerived``)."""
        segment = self.segment(segment_id)
        segment.record_derivation(**details)
        self.save(segment)

    def lift_mask(
        self: _Host,
        segment_id: UUID,
        requisition_id: UUID | None,
        requested_by: UUID,
        approved_by: UUID | None,
        reason: str,
        source: str = "application",
    ) -> UUID:
        """Lift a segment's privacy masks for a requisition, asked and approved by two people.

        Every check runs before anything is saved; a refusal is recorded as an
        ``AccessDenial`` and raised again, so the attempt is on the record and nothing else is.
        """
        try:
            if requisition_id is None:
                raise RuleViolation(
                    "a mask is lifted only under a judicial requisition",
                    "Un masque n'est levé que sur réquisition judiciaire.",
                )
            if approved_by is None or approved_by == requested_by:
                raise RuleViolation(
                    "lifting a mask needs a second person's approval",
                    "La levée d'un masque exige l'approbation d'une seconde personne.",
                )
            segment = self.segment(segment_id)
            segment.check_not_purged()
            check_requisition_covers(self.requisition(requisition_id), segment)
            request = MaskLiftRequest(
                segment_id=segment_id,
                requisition_id=requisition_id,
                requested_by=requested_by,
                reason=reason,
            )
            request.approve(approved_by)
            segment.lift_mask(requisition_id, requested_by, approved_by)
            self.save(request, segment)
        except DomainError as refused:
            self.record_denial(
                str(requested_by), "segment.mask.lift", str(segment_id), str(refused), source
            )
            raise
        return request.id
