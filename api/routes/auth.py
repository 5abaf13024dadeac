"""Login, logout, and who am I: short-lived revocable tokens and a session cookie."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import SESSION_COOKIE, Ctx, CurrentUser, bearer, refuse

router = APIRouter(prefix="/auth", tags=["authentification"])

Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class LoginIn(BaseModel):
    username: Username
    password: Annotated[str, Field(min_length=1, max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth 2 token type, not a secret)
    expires_at: datetime


class MeOut(BaseModel):
    username: str
    user_id: UUID
    roles: dict[str, list[UUID]]


@router.post("/login", responses={401: {}, 403: {}, 429: {}})
def login(body: LoginIn, request: Request, response: Response, ctx: Ctx) -> TokenOut:
    """Exchange a password for a token; failures count towards a lock-out, and are recorded."""
    who, api = body.username, ctx.api
    source = request.client.host if request.client else "inconnu"
    if not ctx.limiter.allow(source):
        refuse(
            ctx,
            request,
            who,
            "auth.login",
            f"user:{who}",
            "rate limited",
            "Trop de tentatives de connexion : réessayez dans une minute.",
            status=429,
            headers={"Retry-After": "60"},
        )
    if ctx.credentials.locked_until(who) is not None:
        refuse(
            ctx,
            request,
            who,
            "auth.login",
            f"user:{who}",
            "account locked",
            "Compte verrouillé après des échecs répétés : réessayez plus tard.",
        )
    account = ctx.credentials.account(who)
    if not ctx.passwords.verify(account.hash if account else None, body.password):
        locked = account is not None and ctx.credentials.record_failure(
            who, api.lockout_failures, api.lockout_seconds
        )
        reason = "bad credentials" + ("; account now locked" if locked else "")
        refuse(
            ctx,
            request,
            who,
            "auth.login",
            f"user:{who}",
            reason,
            "Identifiant ou mot de passe incorrect.",
            status=401,
        )
    ctx.credentials.record_success(who)
    token, expires = ctx.credentials.issue_token(who, api.token_ttl_seconds)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=api.token_ttl_seconds,
        httponly=True,
        secure=api.secure_cookies,
        samesite="strict",
    )
    return TokenOut(access_token=token, expires_at=datetime.fromtimestamp(expires, UTC))


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, ctx: Ctx, user: CurrentUser) -> None:
    """Revoke the token in use (from another node too: the table is shared)."""
    token = bearer(request)
    if token:
        ctx.credentials.revoke(token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me")
def me(user: CurrentUser) -> MeOut:
    return MeOut(
        username=user.username,
        user_id=user.user_id,
        roles={role: sorted(communes) for role, communes in user.roles.items()},
    )
