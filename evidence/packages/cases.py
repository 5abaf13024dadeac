"""Use cases of judicial requisitions and their exports, mixed into ``Archives`` (issue 7).

Kept apart from ``evidence.application`` (which imports this module): it must never import it
back. Building the package itself needs the vault and the ledger, which the application does
not hold, so it lives in ``evidence.packages.build``; the use cases here check and record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

from evidence.clock import Clock
from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.judicial import Export, Requisition
from evidence.model.segment import Hold, Segment

T = TypeVar("T")

#: A judicial hold lasts this long unless the magistrate says otherwise; it is extended or
#: lifted by the retention use cases.
DEFAULT_HOLD_DAYS = 365
_SCAN_TOPICS = ["scelle:Segment.Recorded", "scelle:Segment.Purged"]


class OutOfScope(RuleViolation):
    """A segment outside the requisition's cameras or time ranges; the refusal is recorded."""


class SegmentPurged(InvalidState):
    """The segment was destroyed by its retention purge: there is nothing left to export."""


@dataclass(frozen=True)
class MatchedSegment:
    """A recorded segment that a requisition's cameras and time ranges cover."""

    segment_id: UUID
    camera_code: str
    start: datetime
    end: datetime
    purged: bool


class _Host(Protocol):
    """What the mixin needs from ``Archives``."""

    clock: Clock
    recorder: Any
    mapper: Any

    def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    def segment(self, segment_id: UUID) -> Segment: ...

    def requisition(self, requisition_id: UUID) -> Requisition: ...

    def export(self, export_id: UUID) -> Export: ...

    def request_export(
        self, requisition_id: UUID, segment_ids: list[UUID], requested_by: UUID
    ) -> UUID: ...

    def record_denial(
        self, actor: str, action: str, target: str, reason: str, source: str
    ) -> UUID: ...

    def matching_segments(self, requisition_id: UUID) -> list[MatchedSegment]: ...


def requisition_hold_id(requisition_id: UUID) -> str:
    return f"requisition-{requisition_id}"


def purged_message(segment: Segment) -> SegmentPurged:
    return SegmentPurged(
        f"segment {segment.id} was purged and cannot be exported",
        f"Le segment {segment.camera_code} du {segment.start:%d/%m/%Y %H:%M} UTC a été détruit "
        "à l'échéance de sa durée de conservation : il ne peut plus être exporté.",
    )


def check_open(requisition: Requisition) -> None:
    if requisition.approved_by is None or requisition.closed:
        raise InvalidState(
            f"requisition {requisition.id} is not approved, or is closed",
            "La réquisition n'est pas approuvée (quatre yeux), ou elle est close.",
        )


class RequisitionCases:
    """Requisitions hold their segments; exports are checked, then produced and handed over."""

    def matching_segments(self: _Host, requisition_id: UUID) -> list[MatchedSegment]:
        """Every recorded segment the requisition covers, purged ones flagged, in time order.

        Read from the log itself (``Segment.Recorded`` and ``Segment.Purged``), so that a
        judicial decision never rests on a read model.
        """
        requisition = self.requisition(requisition_id)
        found: dict[UUID, MatchedSegment] = {}
        start = 1
        while batch := self.recorder.select_notifications(start, 2_000, topics=_SCAN_TOPICS):
            for notification in batch:
                fact = self.mapper.to_domain_event(notification)
                if notification.topic == "scelle:Segment.Purged":
                    if fact.originator_id in found:
                        kept = found[fact.originator_id]
                        found[fact.originator_id] = MatchedSegment(
                            kept.segment_id, kept.camera_code, kept.start, kept.end, True
                        )
                elif requisition.covers(fact.camera_id, fact.start, fact.end):
                    found[fact.originator_id] = MatchedSegment(
                        fact.originator_id, fact.camera_code, fact.start, fact.end, False
                    )
            start = batch[-1].id + 1
        return sorted(found.values(), key=lambda m: (m.start, m.camera_code))

    def hold_requisition_segments(
        self: _Host, requisition_id: UUID, actor_id: UUID, expires_at: datetime | None = None
    ) -> list[UUID]:
        """Place a judicial hold, tied to the procedure, on every live segment it covers.

        The retention helper's ``hold_for_requisition`` does it when present (one rule for
        every hold); otherwise each segment gets the hold here, all in one save. Segments that
        already carry this requisition's hold are left as they are: running it twice is safe.
        """
        requisition = self.requisition(requisition_id)
        check_open(requisition)
        now = self.clock.now()
        expires = expires_at or now + timedelta(days=DEFAULT_HOLD_DAYS)
        delegate = getattr(self, "hold_for_requisition", None)
        if delegate is not None:
            held: list[UUID] = delegate(requisition_id, actor_id, expires)
            return held
        hold = Hold(
            hold_id=requisition_hold_id(requisition_id),
            kind="judicial",
            reference=requisition.procedure_number,
            expires_at=expires,
            legal_basis=requisition.legal_basis,
            authority=requisition.authority,
        )
        segments = []
        for match in self.matching_segments(requisition_id):
            segment = self.segment(match.segment_id)
            if segment.purged or hold.hold_id in segment.holds:
                continue
            segment.place_hold(hold, actor_id, now)
            segments.append(segment)
        if segments:
            self.save(*segments)
        return [s.id for s in segments]

    def request_requisition_export(
        self: _Host,
        requisition_id: UUID,
        requested_by: UUID,
        segment_ids: list[UUID] | None = None,
    ) -> UUID:
        """Ask for an export within an approved requisition (all its live segments if None).

        A segment outside the requisition is refused and the refusal recorded as an
        ``AccessDenial`` (directive 2016/680 art. 25); a purged one is refused with its date.
        """
        requisition = self.requisition(requisition_id)
        check_open(requisition)
        if segment_ids is None:
            matches = self.matching_segments(requisition_id)
            segment_ids = [m.segment_id for m in matches if not m.purged]
        if not segment_ids:
            raise RuleViolation(
                "an export names at least one live segment",
                "Un export désigne au moins un segment encore conservé.",
            )
        segments = [self.segment(s) for s in dict.fromkeys(segment_ids)]
        check_scope(self, requisition, segments, requested_by, "export.request")
        return self.request_export(requisition_id, [s.id for s in segments], requested_by)

    def check_export_producible(self: _Host, export_id: UUID) -> tuple[Export, list[Segment]]:
        """What producing needs, re-checked at the last moment (a purge may have run since)."""
        export = self.export(export_id)
        if export.approved_by is None:
            raise InvalidState(
                "an export is produced only after approval",
                "Un export n'est produit qu'après son approbation par une seconde personne.",
            )
        if export.package_id is not None:
            raise InvalidState(
                f"export {export_id} was already produced as {export.package_id}",
                f"L'export a déjà été produit (paquet {export.package_id}).",
            )
        requisition = self.requisition(export.requisition_id)
        check_open(requisition)
        segments = [self.segment(s) for s in export.segment_ids]
        check_scope(self, requisition, segments, export.approved_by, "export.produce")
        return export, segments

    def record_export_produced(
        self: _Host, export_id: UUID, package_id: str, manifest_sha256: str, checkpoint_size: int
    ) -> None:
        """The package exists: the export and each exported segment say so, in one save."""
        export = self.export(export_id)
        export.produce(package_id, manifest_sha256, checkpoint_size)
        segments = [self.segment(s) for s in export.segment_ids]
        for segment in segments:
            segment.record_export(export_id=export_id, package_id=package_id)
        self.save(export, *segments)

    def deliver_export(
        self: _Host, export_id: UUID, actor_id: UUID, recipient: str, channel: str
    ) -> None:
        export = self.export(export_id)
        check_produced(export)
        export.deliver(actor_id=actor_id, recipient=recipient, channel=channel)
        self.save(export)

    def record_export_download(
        self: _Host, export_id: UUID, actor_id: UUID, from_address: str
    ) -> None:
        export = self.export(export_id)
        check_produced(export)
        export.record_download(actor_id=actor_id, from_address=from_address)
        self.save(export)

    def requisition_ids(self: _Host) -> list[UUID]:
        """Every registered requisition, in registration order (for listings)."""
        ids: list[UUID] = []
        start = 1
        topics = ["scelle:Requisition.Registered"]
        while batch := self.recorder.select_notifications(start, 2_000, topics=topics):
            ids += [n.originator_id for n in batch]
            start = batch[-1].id + 1
        return ids


def check_produced(export: Export) -> None:
    if export.package_id is None:
        raise InvalidState(
            f"export {export.id} has not been produced",
            "L'export n'a pas encore été produit.",
        )


def check_scope(
    host: _Host, requisition: Requisition, segments: list[Segment], actor: UUID, action: str
) -> None:
    """Refuse (and record) segments outside the requisition; refuse purged ones."""
    outside = [s for s in segments if not requisition.covers(s.camera_id, s.start, s.end)]
    if outside:
        codes = ", ".join(f"{s.camera_code} {s.start:%d/%m/%Y %H:%M}" for s in outside)
        host.record_denial(
            str(actor),
            action,
            ",".join(str(s.id) for s in outside),
            f"outside requisition {requisition.id} ({requisition.procedure_number})",
            "requisition",
        )
        raise OutOfScope(
            f"{len(outside)} segment(s) outside requisition {requisition.id}",
            f"Refusé et consigné : {len(outside)} segment(s) hors des caméras ou des plages "
            f"horaires de la réquisition {requisition.procedure_number} ({codes}).",
        )
    for segment in segments:
        if segment.purged:
            raise purged_message(segment)
