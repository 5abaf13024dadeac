"""Communes (tenants) and their cameras, with the authorisation that bounds retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState, RuleViolation
from evidence.model.purposes import MAX_RETENTION_DAYS, PURPOSES

CAMERA_KINDS = ("fixed", "ptz")
MASK_METHODS = ("blur", "pixelate", "solid")


def commune_id(insee_code: str) -> UUID:
    """Commune ids derive from the INSEE code so a commune can be registered only once."""
    return uuid5(NAMESPACE_URL, f"scelle:commune:{insee_code}")


def camera_id(code: str) -> UUID:
    """Camera ids derive from the camera code, unique across the centre."""
    return uuid5(NAMESPACE_URL, f"scelle:camera:{code}")


def check_retention(days: int, authorised_days: int) -> None:
    """CSI L252-5: never beyond the authorisation, never beyond one month."""
    if days < 1:
        raise RuleViolation(
            f"retention must be at least one day, got {days}",
            f"La durée de conservation doit être d'au moins un jour (reçu : {days}).",
        )
    if days > MAX_RETENTION_DAYS:
        raise RuleViolation(
            f"retention of {days} days exceeds the legal maximum of {MAX_RETENTION_DAYS} days",
            f"Une durée de conservation de {days} jours dépasse le maximum légal d'un mois "
            f"({MAX_RETENTION_DAYS} jours, article L252-5 du code de la sécurité intérieure).",
        )
    if days > authorised_days:
        raise RuleViolation(
            f"retention of {days} days exceeds the prefectoral authorisation ({authorised_days})",
            f"Une durée de conservation de {days} jours dépasse celle fixée par l'autorisation "
            f"préfectorale ({authorised_days} jours).",
        )


@dataclass(frozen=True)
class PrivacyZone:
    """A polygon in normalised image coordinates (0..1) that hides a dwelling (CSI L251-3)."""

    zone_id: str
    polygon: tuple[tuple[float, float], ...]
    label: str
    method: str

    def __post_init__(self) -> None:
        if len(self.polygon) < 3:
            raise RuleViolation(
                "a privacy zone needs at least three points",
                "Une zone de masquage doit comporter au moins trois points.",
            )
        if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in self.polygon):
            raise RuleViolation(
                "privacy zone points must lie within the image (0..1)",
                "Les points d'une zone de masquage doivent être dans l'image (0 à 1).",
            )
        if self.method not in MASK_METHODS:
            raise RuleViolation(
                f"unknown masking method {self.method!r}",
                f"Méthode de masquage inconnue : {self.method!r}.",
            )


class Commune(Aggregate):
    """A tenant: users are scoped to communes, and cameras belong to one."""

    TOPIC = "scelle:Commune"

    class Created(Aggregate.Created):
        TOPIC = "scelle:Commune.Created"  # declared for the library; never stored

    @staticmethod
    def create_id(insee_code: str) -> UUID:
        return commune_id(insee_code)

    @event("Registered", topic="scelle:Commune.Registered")
    def __init__(self, insee_code: str, name: str) -> None:
        self.insee_code = insee_code
        self.name = name


class Camera(Aggregate):
    """A camera under a prefectoral authorisation that fixes purposes and retention."""

    TOPIC = "scelle:Camera"

    class Created(Aggregate.Created):
        TOPIC = "scelle:Camera.Created"  # declared for the library; never stored

    @staticmethod
    def create_id(code: str) -> UUID:
        return camera_id(code)

    @event("Registered", topic="scelle:Camera.Registered")
    def __init__(
        self,
        code: str,
        commune_id: UUID,
        place: str,
        kind: str,
        purposes: list[str],
        authorisation_ref: str,
        authorised_from: date,
        authorised_until: date,
        authorised_retention_days: int,
        retention_days: int,
    ) -> None:
        self.code = code
        self.commune_id = commune_id
        self.place = place
        self.kind = kind
        self.purposes = list(purposes)
        self.authorisation_ref = authorisation_ref
        self.authorised_from = authorised_from
        self.authorised_until = authorised_until
        self.authorised_retention_days = authorised_retention_days
        self.retention_days = retention_days
        self.zones: dict[str, dict[str, Any]] = {}
        self.decommissioned = False

    @classmethod
    def register(cls, **kwargs: Any) -> Camera:
        """Check the authorisation before any event exists."""
        if kwargs["kind"] not in CAMERA_KINDS:
            raise RuleViolation(
                f"unknown camera kind {kwargs['kind']!r}",
                f"Type de caméra inconnu : {kwargs['kind']!r} (fixe ou PTZ).",
            )
        unknown = [p for p in kwargs["purposes"] if p not in PURPOSES]
        if not kwargs["purposes"] or unknown:
            raise RuleViolation(
                f"purposes must be among CSI L251-2's, got {unknown or 'none'}",
                "Les finalités doivent être celles de l'article L251-2 du code de la sécurité "
                f"intérieure (inconnues : {unknown or 'aucune finalité'}).",
            )
        if kwargs["authorised_until"] <= kwargs["authorised_from"]:
            raise RuleViolation(
                "the authorisation ends before it starts",
                "L'autorisation préfectorale se termine avant de commencer.",
            )
        check_retention(kwargs["retention_days"], kwargs["authorised_retention_days"])
        return cls(**kwargs)

    def check_active(self) -> None:
        if self.decommissioned:
            raise InvalidState(
                f"camera {self.code} is decommissioned",
                f"La caméra {self.code} est retirée du service.",
            )

    def change_retention(self, days: int, authorisation_ref: str) -> None:
        self.check_active()
        check_retention(days, self.authorised_retention_days)
        self._retention_changed(retention_days=days, authorisation_ref=authorisation_ref)

    @event("RetentionChanged", topic="scelle:Camera.RetentionChanged")
    def _retention_changed(self, retention_days: int, authorisation_ref: str) -> None:
        self.retention_days = retention_days

    def define_zone(self, zone: PrivacyZone, actor_id: UUID) -> None:
        self.check_active()
        self._zone_defined(
            zone_id=zone.zone_id,
            polygon=[list(p) for p in zone.polygon],
            label=zone.label,
            method=zone.method,
            actor_id=actor_id,
        )

    @event("PrivacyZoneDefined", topic="scelle:Camera.PrivacyZoneDefined")
    def _zone_defined(
        self, zone_id: str, polygon: list[list[float]], label: str, method: str, actor_id: UUID
    ) -> None:
        self.zones[zone_id] = {"polygon": polygon, "label": label, "method": method}

    def remove_zone(self, zone_id: str, actor_id: UUID, reason: str) -> None:
        if zone_id not in self.zones:
            raise InvalidState(
                f"camera {self.code} has no privacy zone {zone_id!r}",
                f"La caméra {self.code} n'a pas de zone de masquage {zone_id!r}.",
            )
        self._zone_removed(zone_id=zone_id, actor_id=actor_id, reason=reason)

    @event("PrivacyZoneRemoved", topic="scelle:Camera.PrivacyZoneRemoved")
    def _zone_removed(self, zone_id: str, actor_id: UUID, reason: str) -> None:
        del self.zones[zone_id]

    def decommission(self, reason: str) -> None:
        self.check_active()
        self._decommissioned(reason=reason)

    @event("Decommissioned", topic="scelle:Camera.Decommissioned")
    def _decommissioned(self, reason: str) -> None:
        self.decommissioned = True
