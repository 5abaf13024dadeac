"""Users and their roles; credentials never enter the log."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from evidence.model.errors import InvalidState, RuleViolation

ROLES = (
    "operator",
    "supervisor",
    "officer",
    "magistrate",
    "ethics",
    "inspector",
    "dpo",
    "admin",
)
#: Separation of duties (DESIGN §6): these roles never see an image.
ROLES_WITHOUT_IMAGES = frozenset({"admin", "ethics", "inspector"})


def user_id(username: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"scelle:user:{username}")


class User(Aggregate):
    TOPIC = "scelle:User"

    @staticmethod
    def create_id(username: str) -> UUID:
        return user_id(username)

    @event("Created", topic="scelle:User.Created")
    def __init__(self, username: str, created_by: UUID | None) -> None:
        self.username = username
        self.roles: dict[str, list[UUID]] = {}
        self.disabled = False

    def grant(self, role: str, commune_ids: list[UUID], actor_id: UUID | None) -> None:
        if role not in ROLES:
            raise RuleViolation(f"unknown role {role!r}", f"Rôle inconnu : {role!r}.")
        self._role_granted(role=role, commune_ids=commune_ids, actor_id=actor_id)

    @event("RoleGranted", topic="scelle:User.RoleGranted")
    def _role_granted(self, role: str, commune_ids: list[UUID], actor_id: UUID | None) -> None:
        self.roles[role] = list(commune_ids)

    def revoke(self, role: str, actor_id: UUID) -> None:
        if role not in self.roles:
            raise InvalidState(
                f"{self.username} does not hold {role}",
                f"{self.username} n'a pas le rôle {role}.",
            )
        self._role_revoked(role=role, actor_id=actor_id)

    @event("RoleRevoked", topic="scelle:User.RoleRevoked")
    def _role_revoked(self, role: str, actor_id: UUID) -> None:
        del self.roles[role]
