"""The application: one method per use case, every fact saved as events then sealed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import Environment

from evidence.access_cases import AccessCases, retry_on_conflict
from evidence.clock import Clock, SystemClock
from evidence.model import (
    AccessDenial,
    AccessRequest,
    Camera,
    Commune,
    Export,
    Hold,
    Mission,
    PrivacyZone,
    QuarantinedFile,
    Requisition,
    Segment,
    User,
)
from evidence.model.camera import camera_id, commune_id
from evidence.model.errors import DomainError
from evidence.model.security import user_id
from evidence.packages.cases import RequisitionCases
from evidence.rendition_cases import RenditionCases
from evidence.retention.holds import RetentionCases

T = TypeVar("T")


class NotFound(DomainError):
    """The aggregate named by the command does not exist."""


class AlreadyExists(DomainError):
    """A second registration of something that exists once (a commune, a camera, a user)."""


class DateAsISO(Transcoding):
    """Authorisation dates are calendar dates, not instants."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Archives(AccessCases, RenditionCases, RetentionCases, RequisitionCases, Application[UUID]):
    """Scellé's use cases. ``after_save`` seals right after each save in embedded mode."""

    name = "Scelle"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        after_save: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.after_save = after_save

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """Only our own configuration: the library would otherwise merge ``os.environ``, and a
        stray ``CIPHER_TOPIC`` or ``COMPRESSOR_TOPIC`` would silently change the stored bytes."""
        return Environment(name, dict(env or {}))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def _notify(self, recordings: Any) -> None:
        if self.after_save is not None:
            self.after_save()

    def _get(self, kind: type[T], aggregate_id: UUID, label: str) -> T:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{label} {aggregate_id} not found", f"{label} introuvable.") from None
        if not isinstance(found, kind):
            raise NotFound(f"{aggregate_id} is not a {label}", f"{label} introuvable.")
        return found

    def _save_new(self, aggregate: Any, label: str) -> None:
        try:
            self.save(aggregate)
        except IntegrityError:
            raise AlreadyExists(
                f"{label} {aggregate.id} already exists", f"{label} déjà enregistré(e)."
            ) from None

    # Communes, cameras, privacy zones ----------------------------------------------------
    def register_commune(self, insee_code: str, name: str) -> UUID:
        commune = Commune(insee_code=insee_code, name=name)
        self._save_new(commune, "commune")
        return commune.id

    def commune(self, insee_code: str) -> Commune:
        return self._get(Commune, commune_id(insee_code), "commune")

    def register_camera(self, commune_insee: str, **details: Any) -> UUID:
        commune = self.commune(commune_insee)
        camera = Camera.register(commune_id=commune.id, **details)
        self._save_new(camera, "caméra")
        return camera.id

    def camera(self, code: str) -> Camera:
        return self._get(Camera, camera_id(code), "caméra")

    def change_retention(self, code: str, days: int, authorisation_ref: str) -> None:
        camera = self.camera(code)
        camera.change_retention(days, authorisation_ref)
        self.save(camera)

    def define_privacy_zone(self, code: str, zone: PrivacyZone, actor_id: UUID) -> None:
        camera = self.camera(code)
        camera.define_zone(zone, actor_id)
        self.save(camera)

    def remove_privacy_zone(self, code: str, zone_id: str, actor_id: UUID, reason: str) -> None:
        camera = self.camera(code)
        camera.remove_zone(zone_id, actor_id, reason)
        self.save(camera)

    def decommission_camera(self, code: str, reason: str) -> None:
        camera = self.camera(code)
        camera.decommission(reason)
        self.save(camera)

    # Segments -----------------------------------------------------------------------------
    def record_segment(self, camera_code: str, **details: Any) -> tuple[UUID, bool]:
        """Record a segment once; return (id, created). Same bytes twice: one event."""
        camera = self.camera(camera_code)
        camera.check_active()
        now = self.clock.now()
        segment = Segment(
            camera_code=camera.code,
            camera_id=camera.id,
            commune_id=camera.commune_id,
            ingest_clock=now,
            deadline=details["end"] + timedelta(days=camera.retention_days),
            **details,
        )
        try:
            self.save(segment)
        except IntegrityError:
            self.segment(segment.id)  # a real duplicate, not another integrity failure
            return segment.id, False
        return segment.id, True

    def record_quarantine(self, **details: Any) -> UUID:
        """A refused file is a fact too: nothing a camera sent goes unaccounted for."""
        quarantined = QuarantinedFile(at=self.clock.now(), **details)
        self.save(quarantined)
        return quarantined.id

    def live_blob_ids(self) -> set[str]:
        """Every blob a recorded, unpurged segment owns (video and renditions).

        Read from the log itself, so that reconciliation at start-up trusts no read model.
        """
        live: dict[UUID, list[str]] = {}
        topics = [
            "scelle:Segment.Recorded",
            "scelle:Segment.RenditionDerived",
            "scelle:Segment.Purged",
        ]
        start = 1
        while batch := self.recorder.select_notifications(start, 2_000, topics=topics):
            for notification in batch:
                fact = self.mapper.to_domain_event(notification)
                if isinstance(fact, Segment.Recorded):  # type: ignore[attr-defined]
                    owned = [fact.blob_id, fact.thumbnail_blob_id]
                    live[fact.originator_id] = [b for b in owned if b]
                elif isinstance(fact, Segment.RenditionDerived):  # type: ignore[attr-defined]
                    if fact.blob_id and fact.originator_id in live:
                        live[fact.originator_id].append(fact.blob_id)
                else:
                    live.pop(fact.originator_id, None)
            start = batch[-1].id + 1
        return {blob for owned in live.values() for blob in owned}

    def segment(self, segment_id: UUID) -> Segment:
        return self._get(Segment, segment_id, "segment")

    def record_view(self, segment_id: UUID, **details: Any) -> None:
        """``Segment.Viewed``; reloaded and retried if another viewer's event got in first."""

        def once() -> None:
            segment = self.segment(segment_id)
            segment.record_view(**details)
            self.save(segment)

        retry_on_conflict(once)

    def record_zoom(self, segment_id: UUID, **details: Any) -> None:
        """``Segment.Zoomed``; retried like :meth:`record_view` (many zoom one segment)."""

        def once() -> None:
            segment = self.segment(segment_id)
            segment.record_zoom(**details)
            self.save(segment)

        retry_on_conflict(once)

    def hold_segment(self, segment_id: UUID, hold: Hold, actor_id: UUID) -> None:
        segment = self.segment(segment_id)
        segment.hold(hold, actor_id)
        self.save(segment)

    # Requisitions and exports -------------------------------------------------------------
    def register_requisition(
        self,
        authority: str,
        procedure_number: str,
        legal_basis: str,
        camera_codes: list[str],
        ranges: list[tuple[datetime, datetime]],
        officer_id: UUID,
    ) -> UUID:
        cameras = [self.camera(code).id for code in camera_codes]
        requisition = Requisition.register(
            authority=authority,
            procedure_number=procedure_number,
            legal_basis=legal_basis,
            camera_ids=cameras,
            ranges=[[start, end] for start, end in ranges],
            officer_id=officer_id,
        )
        self.save(requisition)
        return requisition.id

    def requisition(self, requisition_id: UUID) -> Requisition:
        return self._get(Requisition, requisition_id, "réquisition")

    def approve_requisition(self, requisition_id: UUID, approver_id: UUID) -> None:
        requisition = self.requisition(requisition_id)
        requisition.approve(approver_id)
        self.save(requisition)

    def request_export(
        self, requisition_id: UUID, segment_ids: list[UUID], requested_by: UUID
    ) -> UUID:
        self.requisition(requisition_id)
        export = Export(
            requisition_id=requisition_id, segment_ids=segment_ids, requested_by=requested_by
        )
        self.save(export)
        return export.id

    def export(self, export_id: UUID) -> Export:
        return self._get(Export, export_id, "export")

    def approve_export(self, export_id: UUID, approver_id: UUID) -> None:
        export = self.export(export_id)
        export.approve(approver_id)
        self.save(export)

    # Missions, access requests, users, denials --------------------------------------------
    def assign_mission(self, **details: Any) -> UUID:
        mission = Mission(**details)
        self.save(mission)
        return mission.id

    def mission(self, mission_id: UUID) -> Mission:
        return self._get(Mission, mission_id, "mission")

    def close_mission(self, mission_id: UUID, actor_id: UUID) -> None:
        mission = self.mission(mission_id)
        mission.close(actor_id)
        self.save(mission)

    def receive_access_request(self, **details: Any) -> UUID:
        request = AccessRequest(**details)
        self.save(request)
        return request.id

    def create_user(self, username: str, created_by: UUID | None) -> UUID:
        user = User(username=username, created_by=created_by)
        self._save_new(user, "utilisateur")
        return user.id

    def user(self, username: str) -> User:
        return self._get(User, user_id(username), "utilisateur")

    def grant_role(
        self, username: str, role: str, commune_ids: list[UUID], actor_id: UUID | None
    ) -> None:
        user = self.user(username)
        user.grant(role, commune_ids, actor_id)
        self.save(user)

    def revoke_role(self, username: str, role: str, actor_id: UUID) -> None:
        user = self.user(username)
        user.revoke(role, actor_id)
        self.save(user)

    def record_denial(self, actor: str, action: str, target: str, reason: str, source: str) -> UUID:
        """Every refused attempt is a fact of its own (directive 2016/680 art. 25)."""
        denial = AccessDenial(
            actor=actor,
            action=action,
            target=target,
            reason=reason,
            at=self.clock.now(),
            source=source,
        )
        self.save(denial)
        return denial.id


def new_id() -> UUID:
    return uuid4()
