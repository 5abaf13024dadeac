"""Dependencies as typed aliases: the context, the authenticated user, the policy gate.

Authentication reads only; a refusal is recorded by :func:`refuse`. The policy check happens
in the route body after validation, so a request rejected for its shape writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, NoReturn

from fastapi import Depends, HTTPException, Request

from api.context import ApiContext
from api.policy import Action, Decision, Principal, Target, decide
from evidence.application import NotFound

SESSION_COOKIE = "scelle_session"
_MAX_FIELD = 200


def context(request: Request) -> ApiContext:
    found: ApiContext = request.app.state.scelle
    return found


Ctx = Annotated[ApiContext, Depends(context)]


def client(request: Request) -> str:
    return f"api:{request.client.host if request.client else 'inconnu'}"


def route_label(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    return f"{request.method} {path}"[:_MAX_FIELD]


def refuse(
    ctx: ApiContext,
    request: Request,
    actor: str,
    action: str,
    target: str,
    reason: str,
    message_fr: str,
    status: int = 403,
    headers: dict[str, str] | None = None,
) -> NoReturn:
    """Record the refusal as an ``AccessDenial`` event, then answer it."""
    ctx.system.archives.record_denial(
        actor=actor[:_MAX_FIELD],
        action=action[:_MAX_FIELD],
        target=target[:_MAX_FIELD],
        reason=reason[: _MAX_FIELD * 2],
        source=client(request),
    )
    raise HTTPException(status_code=status, detail=message_fr, headers=headers)


def bearer(request: Request) -> str | None:
    """The token from ``Authorization: Bearer``, or from the session cookie on safe methods.

    The cookie (SameSite=Strict) serves pages and ``<video>``; a state-changing request must
    carry the header, which another site cannot make a browser send (no CSRF).
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.method in ("GET", "HEAD"):
        return request.cookies.get(SESSION_COOKIE) or None
    return None


def principal(ctx: ApiContext, username: str) -> Principal | None:
    try:
        user = ctx.system.archives.user(username)
    except NotFound:
        return None
    roles = {role: frozenset(communes) for role, communes in user.roles.items()}
    return Principal(username=username, user_id=user.id, roles=roles)


def current_user(request: Request, ctx: Ctx) -> Principal:
    token = bearer(request)
    username = ctx.credentials.resolve(token) if token else None
    if username is None:
        refuse(
            ctx,
            request,
            "anonyme",
            route_label(request),
            request.url.path,
            "not authenticated" if token is None else "unknown, expired or revoked token",
            "Authentification requise.",
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = principal(ctx, username)
    if found is None or not found.roles:
        refuse(
            ctx,
            request,
            username,
            route_label(request),
            request.url.path,
            "account without any role",
            "Ce compte n'a aucun rôle.",
        )
    return found


CurrentUser = Annotated[Principal, Depends(current_user)]


@dataclass
class Gate:
    """The policy, applied for one request: allowed, or refused and recorded."""

    ctx: ApiContext
    request: Request
    user: Principal

    def check(self, action: Action, target: Target) -> Decision:
        decision = decide(self.user, action, target)
        if not decision.allowed:
            refuse(
                self.ctx,
                self.request,
                self.user.username,
                action,
                target.label(),
                decision.reason,
                decision.message_fr,
            )
        return decision


def gate(request: Request, ctx: Ctx, user: CurrentUser) -> Gate:
    return Gate(ctx, request, user)


Guarded = Annotated[Gate, Depends(gate)]
