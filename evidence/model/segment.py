"""A recorded segment and everything that happens to it until its purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.purposes import LEGAL_BASES

HOLD_KINDS = ("judicial", "access_request", "integrity")


def segment_id(camera_code: str, plaintext_sha256: str) -> UUID:
    """Same camera, same bytes: same segment — so ingesting a file twice records it once."""
    return uuid5(NAMESPACE_URL, f"scelle:segment:{camera_code}:{plaintext_sha256}")


@dataclass(frozen=True)
class Hold:
    """What keeps a segment past its deadline (CSI L252-5): only three kinds exist."""

    hold_id: str
    kind: str
    reference: str
    expires_at: datetime
    legal_basis: str | None = None
    authority: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in HOLD_KINDS:
            raise RuleViolation(
                f"a hold must be judicial, for an access request or an integrity inquiry, "
                f"not {self.kind!r}",
                "Une conservation au-delà du délai exige une procédure judiciaire, une demande "
                f"d'accès en cours ou une enquête d'intégrité (reçu : {self.kind!r}).",
            )
        if not self.reference.strip():
            raise RuleViolation(
                "a hold needs a reference (procedure number, request or inquiry id)",
                "Une conservation exige une référence (numéro de procédure, de demande…).",
            )
        if self.kind == "judicial" and (
            self.legal_basis not in LEGAL_BASES or not (self.authority or "").strip()
        ):
            raise RuleViolation(
                "a judicial hold needs a legal basis (flagrance, enquete_preliminaire, "
                "information_judiciaire) and an authority",
                "Une conservation judiciaire exige un cadre légal (flagrance, enquête "
                "préliminaire, information judiciaire) et une autorité.",
            )


class Segment(Aggregate):
    """A segment of video as recorded; its bytes live encrypted in the content store."""

    TOPIC = "scelle:Segment"

    class Created(Aggregate.Created):
        TOPIC = "scelle:Segment.Created"  # declared for the library; never stored

    @staticmethod
    def create_id(camera_code: str, sha256: str) -> UUID:
        return segment_id(camera_code, sha256)

    @event("Recorded", topic="scelle:Segment.Recorded")
    def __init__(
        self,
        camera_code: str,
        camera_id: UUID,
        commune_id: UUID,
        start: datetime,
        end: datetime,
        container: str,
        codec: str,
        width: int,
        height: int,
        fps: float,
        size: int,
        sha256: str,
        blob_id: str,
        thumbnail_blob_id: str | None,
        camera_clock: datetime | None,
        ingest_clock: datetime,
        clock_drift_seconds: float | None,
        clock_drift_flagged: bool,
        deadline: datetime,
        source_name: str,
    ) -> None:
        self.camera_code = camera_code
        self.camera_id = camera_id
        self.commune_id = commune_id
        self.start = start
        self.end = end
        self.size = size
        self.sha256 = sha256
        self.blob_id = blob_id
        self.thumbnail_blob_id = thumbnail_blob_id
        self.deadline = deadline
        self.holds: dict[str, dict[str, Any]] = {}
        self.purged = False
        self.purge_started = False

    def check_not_purged(self) -> None:
        if self.purged:
            raise InvalidState(
                f"segment {self.id} was purged",
                f"Le segment {self.id} a été détruit (purge) : ses images n'existent plus.",
            )

    def record_view(self, **details: Any) -> None:
        self.check_not_purged()
        self._viewed(**details)

    @event("Viewed", topic="scelle:Segment.Viewed")
    def _viewed(
        self,
        actor_id: UUID,
        purpose: str,
        mission_id: UUID | None,
        range_start: float,
        range_end: float,
        masked: bool,
        on_behalf_of: str | None,
    ) -> None:
        pass

    def record_zoom(self, **details: Any) -> None:
        self.check_not_purged()
        self._zoomed(**details)

    @event("Zoomed", topic="scelle:Segment.Zoomed")
    def _zoomed(
        self,
        actor_id: UUID,
        purpose: str,
        mission_id: UUID | None,
        at_seconds: float,
        region: list[float],
        zones_triggered: list[str],
    ) -> None:
        pass

    @event("MaskApplied", topic="scelle:Segment.MaskApplied")
    def record_mask(
        self,
        rendition: str,
        zones: list[str],
        source_sha256: str,
        output_sha256: str,
        parameters: dict[str, Any],
        tool_versions: dict[str, str],
    ) -> None:
        pass

    def lift_mask(self, requisition_id: UUID, requested_by: UUID, approved_by: UUID) -> None:
        """Four eyes: the one who asks is never the one who approves (CSI L251-3)."""
        self.check_not_purged()
        if requested_by == approved_by:
            raise RuleViolation(
                "lifting a mask needs a second person's approval",
                "La levée d'un masque exige l'approbation d'une seconde personne.",
            )
        self._mask_lifted(
            requisition_id=requisition_id, requested_by=requested_by, approved_by=approved_by
        )

    @event("MaskLifted", topic="scelle:Segment.MaskLifted")
    def _mask_lifted(self, requisition_id: UUID, requested_by: UUID, approved_by: UUID) -> None:
        pass

    def hold(self, hold: Hold, actor_id: UUID) -> None:
        self.check_not_purged()
        self._held(
            hold_id=hold.hold_id,
            kind=hold.kind,
            reference=hold.reference,
            legal_basis=hold.legal_basis,
            authority=hold.authority,
            expires_at=hold.expires_at,
            actor_id=actor_id,
        )

    @event("Held", topic="scelle:Segment.Held")
    def _held(
        self,
        hold_id: str,
        kind: str,
        reference: str,
        legal_basis: str | None,
        authority: str | None,
        expires_at: datetime,
        actor_id: UUID,
    ) -> None:
        self.holds[hold_id] = {"kind": kind, "reference": reference, "expires_at": expires_at}

    def release(self, hold_id: str, actor_id: UUID, reason: str) -> None:
        if hold_id not in self.holds:
            raise InvalidState(
                f"segment {self.id} has no hold {hold_id!r}",
                f"Le segment {self.id} ne fait l'objet d'aucune conservation {hold_id!r}.",
            )
        self._released(hold_id=hold_id, actor_id=actor_id, reason=reason)

    @event("Released", topic="scelle:Segment.Released")
    def _released(self, hold_id: str, actor_id: UUID, reason: str) -> None:
        del self.holds[hold_id]

    def active_holds(self, now: datetime) -> list[str]:
        return [h for h, d in self.holds.items() if d["expires_at"] > now]

    # Holds with their business time (issue 4): the purge proof recomputes lateness from
    # these instants, which the event timestamp (the wall clock) cannot give under a
    # simulated clock. ``Held`` and ``Released`` stay readable; new holds use these.
    def place_hold(self, hold: Hold, actor_id: UUID, at: datetime) -> None:
        self.check_not_purged()
        if hold.expires_at <= at:
            raise RuleViolation(
                "a hold must expire in the future",
                "Une conservation doit expirer dans le futur.",
            )
        if hold.hold_id in self.holds:
            raise InvalidState(
                f"segment {self.id} already has hold {hold.hold_id!r}",
                f"Le segment {self.id} fait déjà l'objet de la conservation {hold.hold_id!r}.",
            )
        self._hold_placed(
            hold_id=hold.hold_id,
            kind=hold.kind,
            reference=hold.reference,
            legal_basis=hold.legal_basis,
            authority=hold.authority,
            expires_at=hold.expires_at,
            actor_id=actor_id,
            at=at,
        )

    @event("HoldPlaced", topic="scelle:Segment.HoldPlaced")
    def _hold_placed(
        self,
        hold_id: str,
        kind: str,
        reference: str,
        legal_basis: str | None,
        authority: str | None,
        expires_at: datetime,
        actor_id: UUID,
        at: datetime,
    ) -> None:
        self.holds[hold_id] = {
            "kind": kind,
            "reference": reference,
            "expires_at": expires_at,
            "placed_at": at,
        }

    def extend_hold(
        self, hold_id: str, expires_at: datetime, actor_id: UUID, reason: str, at: datetime
    ) -> None:
        """Only a hold still in force is extended: a lapsed one is placed anew."""
        current = self._hold_in_force(hold_id, at)
        if expires_at <= current["expires_at"]:
            raise RuleViolation(
                "an extension must end later than the hold",
                "Une prolongation doit se terminer après l'échéance actuelle de la conservation.",
            )
        self._hold_extended(
            hold_id=hold_id, expires_at=expires_at, actor_id=actor_id, reason=reason, at=at
        )

    @event("HoldExtended", topic="scelle:Segment.HoldExtended")
    def _hold_extended(
        self, hold_id: str, expires_at: datetime, actor_id: UUID, reason: str, at: datetime
    ) -> None:
        self.holds[hold_id]["expires_at"] = expires_at

    def lift_hold(self, hold_id: str, actor_id: UUID, reason: str, at: datetime) -> None:
        self._hold_in_force(hold_id, at)
        self._hold_lifted(hold_id=hold_id, actor_id=actor_id, reason=reason, at=at)

    @event("HoldLifted", topic="scelle:Segment.HoldLifted")
    def _hold_lifted(self, hold_id: str, actor_id: UUID, reason: str, at: datetime) -> None:
        lifted = self.holds.pop(hold_id)
        spans = getattr(self, "lifted_spans", [])
        self.lifted_spans = [*spans, (lifted.get("placed_at"), min(lifted["expires_at"], at))]

    def _hold_in_force(self, hold_id: str, at: datetime) -> dict[str, Any]:
        current = self.holds.get(hold_id)
        if current is None or current["expires_at"] <= at:
            raise InvalidState(
                f"segment {self.id} has no hold {hold_id!r} in force",
                f"Le segment {self.id} ne fait l'objet d'aucune conservation {hold_id!r} en cours.",
            )
        return current

    def is_due(self, now: datetime) -> bool:
        """Past its deadline, not purged, and no hold in force: it must be destroyed."""
        return not self.purged and now >= self.deadline and not self.active_holds(now)

    def record_derivation(self, **details: Any) -> None:
        """A rendition made from this segment (masked, redacted…): how, from what, into what."""
        self.check_not_purged()
        self._rendition_derived(**details)

    @event("RenditionDerived", topic="scelle:Segment.RenditionDerived")
    def _rendition_derived(
        self,
        derivation_id: str,
        rendition: str,
        blob_id: str | None,
        source_sha256: str,
        output_sha256: str,
        output_size: int,
        parameters: dict[str, Any],
        tool_versions: dict[str, str],
        actor_id: UUID | None,
    ) -> None:
        if blob_id is not None:  # the latest derivation of a stored rendition describes it
            renditions: dict[str, dict[str, Any]] = self.__dict__.setdefault("renditions", {})
            renditions[blob_id] = {"output_sha256": output_sha256, "parameters": parameters}

    @event("Exported", topic="scelle:Segment.Exported")
    def record_export(self, export_id: UUID, package_id: str) -> None:
        pass

    @event("PurgeStarted", topic="scelle:Segment.PurgeStarted")
    def start_purge(self, deadline: datetime, started_at: datetime) -> None:
        self.purge_started = True
        self.purge_started_at = started_at

    @event("Purged", topic="scelle:Segment.Purged")
    def record_purge(
        self,
        deadline: datetime,
        purged_at: datetime,
        lateness_seconds: float,
        key_destroyed: bool,
        blobs_deleted: list[str],
    ) -> None:
        self.purged = True

    @event("IntegrityAlarm", topic="scelle:Segment.IntegrityAlarm")
    def raise_alarm(self, reason: str, detected_at: datetime) -> None:
        pass
