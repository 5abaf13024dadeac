"""Judicial requisitions and the exports they allow (DESIGN §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.purposes import LEGAL_BASES


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise RuleViolation(
                "a time range must end after it starts",
                "Une plage horaire doit se terminer après son début.",
            )

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return start < self.end and end > self.start


def check_four_eyes(requested_by: UUID, approved_by: UUID) -> None:
    if requested_by == approved_by:
        raise RuleViolation(
            "one cannot approve one's own request",
            "On ne peut pas approuver sa propre demande (principe des quatre yeux).",
        )


class Requisition(Aggregate):
    """A requisition by an officer of judicial police: the only door to unmasked copies."""

    TOPIC = "scelle:Requisition"

    class Created(Aggregate.Created):
        TOPIC = "scelle:Requisition.Created"  # declared for the library; never stored

    @event("Registered", topic="scelle:Requisition.Registered")
    def __init__(
        self,
        authority: str,
        procedure_number: str,
        legal_basis: str,
        camera_ids: list[UUID],
        ranges: list[list[datetime]],
        officer_id: UUID,
    ) -> None:
        self.authority = authority
        self.procedure_number = procedure_number
        self.legal_basis = legal_basis
        self.camera_ids = list(camera_ids)
        self.ranges = [TimeRange(r[0], r[1]) for r in ranges]
        self.officer_id = officer_id
        self.approved_by: UUID | None = None
        self.closed = False

    @classmethod
    def register(cls, **kwargs: object) -> Requisition:
        if kwargs["legal_basis"] not in LEGAL_BASES:
            raise RuleViolation(
                f"unknown legal basis {kwargs['legal_basis']!r}",
                "Cadre légal inconnu : flagrance, enquête préliminaire ou information judiciaire.",
            )
        if not str(kwargs["procedure_number"]).strip():
            raise RuleViolation(
                "a requisition needs a procedure number",
                "Une réquisition exige un numéro de procédure.",
            )
        if not kwargs["camera_ids"] or not kwargs["ranges"]:
            raise RuleViolation(
                "a requisition names cameras and time ranges",
                "Une réquisition désigne des caméras et des plages horaires.",
            )
        return cls(**kwargs)  # type: ignore[arg-type]

    def covers(self, camera_id: UUID, start: datetime, end: datetime) -> bool:
        return camera_id in self.camera_ids and any(r.overlaps(start, end) for r in self.ranges)

    def approve(self, approver_id: UUID) -> None:
        check_four_eyes(self.officer_id, approver_id)
        if self.approved_by is not None:
            raise InvalidState("requisition already approved", "Réquisition déjà approuvée.")
        self._approved(approver_id=approver_id)

    @event("Approved", topic="scelle:Requisition.Approved")
    def _approved(self, approver_id: UUID) -> None:
        self.approved_by = approver_id

    @event("Closed", topic="scelle:Requisition.Closed")
    def close(self, actor_id: UUID, reason: str) -> None:
        self.closed = True


class Export(Aggregate):
    """A copy handed to justice: requested, approved by a second person, produced, delivered."""

    TOPIC = "scelle:Export"

    class Created(Aggregate.Created):
        TOPIC = "scelle:Export.Created"  # declared for the library; never stored

    @event("Requested", topic="scelle:Export.Requested")
    def __init__(self, requisition_id: UUID, segment_ids: list[UUID], requested_by: UUID) -> None:
        self.requisition_id = requisition_id
        self.segment_ids = list(segment_ids)
        self.requested_by = requested_by
        self.approved_by: UUID | None = None
        self.package_id: str | None = None

    def approve(self, approver_id: UUID) -> None:
        check_four_eyes(self.requested_by, approver_id)
        self._approved(approver_id=approver_id)

    @event("Approved", topic="scelle:Export.Approved")
    def _approved(self, approver_id: UUID) -> None:
        self.approved_by = approver_id

    def produce(self, package_id: str, manifest_sha256: str, checkpoint_size: int) -> None:
        if self.approved_by is None:
            raise InvalidState(
                "an export is produced only after approval",
                "Un export n'est produit qu'après approbation.",
            )
        self._produced(
            package_id=package_id,
            manifest_sha256=manifest_sha256,
            checkpoint_size=checkpoint_size,
        )

    @event("Produced", topic="scelle:Export.Produced")
    def _produced(self, package_id: str, manifest_sha256: str, checkpoint_size: int) -> None:
        self.package_id = package_id

    @event("Delivered", topic="scelle:Export.Delivered")
    def deliver(self, actor_id: UUID, recipient: str, channel: str) -> None:
        pass

    @event("Downloaded", topic="scelle:Export.Downloaded")
    def record_download(self, actor_id: UUID, from_address: str) -> None:
        pass
