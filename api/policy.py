"""The one module that decides every action (DESIGN §1 and §6).

Routes gather the facts (who, which commune, whose request, which purpose) into a ``Target``
and call :func:`decide`; they never compare roles themselves. A refusal carries the reason
recorded in the ``AccessDenial`` event (English) and the message shown to the user (French).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from uuid import UUID

from evidence.model.security import ROLES, ROLES_WITHOUT_IMAGES

Action = Literal[
    "camera.list",
    "camera.read",
    "segment.list",
    "segment.play",
    "segment.play_unmasked",
    "segment.zoom",
    "mission.assign",
    "mission.read",
    "mission.close",
    "requisition.register",
    "requisition.read",
    "requisition.approve",
    "masklift.request",
    "masklift.approve",
    "export.request",
    "export.approve",
    "export.read",
    "export.produce",
    "export.deliver",
    "export.download",
    "audit.denials",
    "user.list",
]
PurposeKind = Literal["mission", "camera", "requisition", "access_request"]

_ALL: Final = frozenset(ROLES)
_APPROVERS: Final = frozenset({"supervisor", "magistrate"})
_VIEWERS: Final = frozenset({"operator", "supervisor"})

#: Which roles may attempt each action at all.
ROLES_FOR: Final[Mapping[str, frozenset[str]]] = {
    "camera.list": _ALL,
    "camera.read": _ALL,
    "segment.list": _ALL - {"admin"},
    "segment.play": _VIEWERS | {"officer", "dpo"},
    "segment.play_unmasked": frozenset({"officer"}),
    "segment.zoom": _VIEWERS | {"officer"},
    "mission.assign": frozenset({"supervisor"}),
    "mission.read": frozenset({"supervisor", "operator"}),
    "mission.close": frozenset({"supervisor"}),
    "requisition.register": frozenset({"officer"}),
    "requisition.read": frozenset({"officer"}) | _APPROVERS,
    "requisition.approve": _APPROVERS,
    "masklift.request": frozenset({"officer"}),
    "masklift.approve": _APPROVERS,
    "export.request": frozenset({"officer"}),
    "export.approve": _APPROVERS,
    "export.read": frozenset({"officer"}) | _APPROVERS,
    # The centre builds and hands over the package; justice receives it.
    "export.produce": frozenset({"supervisor"}),
    "export.deliver": frozenset({"supervisor"}),
    "export.download": frozenset({"officer", "magistrate"}),
    "audit.denials": frozenset({"ethics", "inspector"}),
    "user.list": frozenset({"admin"}),
}
#: Actions that show an image: separation of duties and a purpose apply.
IMAGE_ACTIONS: Final = frozenset({"segment.play", "segment.play_unmasked", "segment.zoom"})
#: Approvals: the approver must not be the one who asked (four eyes).
APPROVALS: Final = frozenset({"requisition.approve", "masklift.approve", "export.approve"})
#: (action, role) pairs allowed only on the user's own target (an operator's own missions, the
#: package of the export an officer asked for).
OWN_ONLY: Final = frozenset({("mission.read", "operator"), ("export.download", "officer")})
#: The purposes each role may state for an image action.
PURPOSES_FOR: Final[Mapping[str, frozenset[str]]] = {
    "operator": frozenset({"mission", "camera"}),
    "supervisor": frozenset({"mission", "camera"}),
    "officer": frozenset({"requisition"}),
    "dpo": frozenset({"access_request"}),
}
#: Actions an officer takes only within a requisition that covers the target.
WITHIN_REQUISITION: Final = frozenset({"masklift.request", "export.request"})


@dataclass(frozen=True)
class Principal:
    """An authenticated user: roles with the communes each one covers."""

    username: str
    user_id: UUID
    roles: Mapping[str, frozenset[UUID]]


@dataclass(frozen=True)
class Purpose:
    """A stated purpose and whether the facts support it (checked by the route)."""

    kind: PurposeKind
    code: str
    ref: UUID | None = None
    valid: bool = True
    why_not: str = ""


@dataclass(frozen=True)
class Target:
    """What an action is about, with the facts the policy needs."""

    kind: str
    ident: str
    communes: frozenset[UUID] = frozenset()
    owner_id: UUID | None = None
    purpose: Purpose | None = None
    mask_lifted: bool = False
    centre_wide: bool = False

    def label(self) -> str:
        return f"{self.kind}:{self.ident}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    message_fr: str = ""
    role: str | None = None


def _deny(reason: str, message_fr: str) -> Decision:
    return Decision(False, reason, message_fr)


def decide(user: Principal, action: Action, target: Target) -> Decision:  # noqa: PLR0911 (one exit per numbered rule)
    """Allow or refuse ``action`` on ``target``; every branch that refuses says why."""
    # 1. Role: the user must hold a role that may attempt the action.
    held = [r for r in user.roles if r in ROLES_FOR[action]]
    if not held:
        return _deny(
            f"no role of {sorted(user.roles)} may {action}",
            "Votre rôle ne permet pas cette action.",
        )
    # 2. Separation of duties: a holder of admin, ethics or inspector never sees an image.
    if action in IMAGE_ACTIONS and ROLES_WITHOUT_IMAGES & set(user.roles):
        return _deny(
            "separation of duties: role without image access",
            "Séparation des fonctions : votre rôle ne donne accès à aucune image.",
        )
    # 3. Scope: a role counts only where its communes cover the target's communes.
    if not target.centre_wide:
        held = [r for r in held if target.communes and target.communes <= user.roles[r]]
        if not held:
            return _deny(
                f"{target.label()} is outside the user's communes",
                "Cette ressource relève d'une commune hors de votre périmètre.",
            )
    # 4. Own targets only, for the roles bound to them.
    held = [r for r in held if (action, r) not in OWN_ONLY or target.owner_id == user.user_id]
    if not held:
        return _deny(
            f"{target.label()} belongs to someone else",
            "Cette ressource ne vous est pas attribuée.",
        )
    # 5. Four eyes: nobody approves their own request.
    if action in APPROVALS and target.owner_id == user.user_id:
        return _deny(
            "four eyes: self-approval",
            "On ne peut pas approuver sa propre demande (principe des quatre yeux).",
        )
    # 6. Purpose: no image without a purpose the role may state and the facts support.
    if action in IMAGE_ACTIONS or action in WITHIN_REQUISITION:
        decision = _check_purpose(user, action, target, held)
        if not decision.allowed:
            return decision
        held = [decision.role] if decision.role else held
    # 7. Unmasked images: only after a second person approved the lift for this requisition.
    if action == "segment.play_unmasked" and not target.mask_lifted:
        return _deny(
            "no approved mask lift for this segment and requisition",
            "Aucune levée de masque approuvée pour ce segment dans cette réquisition.",
        )
    return Decision(True, role=held[0])


def _check_purpose(user: Principal, action: Action, target: Target, held: list[str]) -> Decision:
    purpose = target.purpose
    if purpose is None:
        return _deny(
            "no purpose stated",
            "Aucune finalité indiquée : précisez une mission ou une finalité de la caméra.",
        )
    if action in WITHIN_REQUISITION or action == "segment.play_unmasked":
        allowed_kinds: frozenset[str] = frozenset({"requisition"})
    else:
        allowed_kinds = frozenset()
    fitting = [
        r
        for r in held
        if purpose.kind in PURPOSES_FOR.get(r, frozenset())
        and (not allowed_kinds or purpose.kind in allowed_kinds)
    ]
    if not fitting:
        return _deny(
            f"purpose {purpose.kind!r} is not one the user's role may state",
            "Cette finalité ne correspond pas à votre rôle.",
        )
    if not purpose.valid:
        return _deny(f"purpose {purpose.code!r} refused: {purpose.why_not}", _purpose_fr(purpose))
    return Decision(True, role=fitting[0])


def _purpose_fr(purpose: Purpose) -> str:
    return {
        "mission": "La mission indiquée n'est pas ouverte pour vous sur cette caméra.",
        "camera": "Cette finalité ne figure pas parmi celles autorisées pour la caméra.",
        "requisition": "La réquisition indiquée ne couvre pas cette ressource.",
        "access_request": "La demande d'accès indiquée n'est pas en cours.",
    }[purpose.kind]


@dataclass(frozen=True)
class Scope:
    """The communes in which a user may take an action (for listings)."""

    communes: frozenset[UUID] = field(default_factory=frozenset)


def scope_for(user: Principal, action: Action) -> Scope:
    """Union of the communes of the user's roles that may take ``action``."""
    communes: set[UUID] = set()
    for role, covered in user.roles.items():
        if role in ROLES_FOR[action]:
            communes |= covered
    return Scope(frozenset(communes))
