"""Citizens' access requests, operators' missions, and recorded refusals."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState


class AccessRequest(Aggregate):
    """A citizen's request to see their own image (GDPR art. 15, directive 2016/680 art. 14).

    The citizen is named only by a pseudonymous reference; the mapping to a name lives in a
    purgeable table outside the log.
    """

    TOPIC = "scelle:AccessRequest"

    class Created(Aggregate.Created):
        TOPIC = "scelle:AccessRequest.Created"  # declared for the library; never stored

    @event("Received", topic="scelle:AccessRequest.Received")
    def __init__(
        self,
        channel: str,
        subject_ref: str,
        place_described: str,
        time_from: datetime,
        time_to: datetime,
        deadline: datetime,
        received_by: UUID,
    ) -> None:
        self.subject_ref = subject_ref
        self.deadline = deadline
        self.segment_ids: list[UUID] = []
        self.closed = False

    @event("SegmentsPreserved", topic="scelle:AccessRequest.SegmentsPreserved")
    def preserve(self, segment_ids: list[UUID], actor_id: UUID) -> None:
        self.segment_ids.extend(segment_ids)

    @event("ExtractProduced", topic="scelle:AccessRequest.ExtractProduced")
    def record_extract(self, extract_sha256: str, derivation_id: str, actor_id: UUID) -> None:
        pass

    def answer(self, actor_id: UUID, summary: str) -> None:
        self.check_open()
        self._answered(actor_id=actor_id, summary=summary)

    @event("Answered", topic="scelle:AccessRequest.Answered")
    def _answered(self, actor_id: UUID, summary: str) -> None:
        self.closed = True

    def refuse(self, actor_id: UUID, reason: str) -> None:
        self.check_open()
        self._refused(actor_id=actor_id, reason=reason)

    @event("Refused", topic="scelle:AccessRequest.Refused")
    def _refused(self, actor_id: UUID, reason: str) -> None:
        self.closed = True

    def check_open(self) -> None:
        if self.closed:
            raise InvalidState("access request already closed", "Demande d'accès déjà close.")


class Mission(Aggregate):
    """A daily task given by a supervisor: the purpose an operator's views are tied to."""

    TOPIC = "scelle:Mission"

    class Created(Aggregate.Created):
        TOPIC = "scelle:Mission.Created"  # declared for the library; never stored

    @event("Assigned", topic="scelle:Mission.Assigned")
    def __init__(
        self,
        operator_id: UUID,
        task: str,
        camera_ids: list[UUID],
        window_start: datetime,
        window_end: datetime,
        requesting_partner: str | None,
        assigned_by: UUID,
    ) -> None:
        self.operator_id = operator_id
        self.camera_ids = list(camera_ids)
        self.window_start = window_start
        self.window_end = window_end
        self.closed = False

    def is_open_for(self, operator_id: UUID, camera_id: UUID, now: datetime) -> bool:
        return (
            not self.closed
            and operator_id == self.operator_id
            and camera_id in self.camera_ids
            and self.window_start <= now < self.window_end
        )

    @event("Closed", topic="scelle:Mission.Closed")
    def close(self, actor_id: UUID) -> None:
        self.closed = True


class AccessDenial(Aggregate):
    """Every refused attempt is itself a fact (directive 2016/680 art. 25).

    One aggregate per denial: denials come from anyone, including unknown users, and must
    never contend with each other.
    """

    TOPIC = "scelle:AccessDenial"

    class Created(Aggregate.Created):
        TOPIC = "scelle:AccessDenial.Created"  # declared for the library; never stored

    @event("Recorded", topic="scelle:AccessDenial.Recorded")
    def __init__(
        self,
        actor: str,
        action: str,
        target: str,
        reason: str,
        at: datetime,
        source: str,
    ) -> None:
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
