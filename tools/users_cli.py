"""``scelle users …``: local accounts. Roles go to the log; passwords to the credentials table."""

from __future__ import annotations

import sys
from typing import Annotated
from uuid import UUID

import typer

from api.context import credentials_path
from api.identity.passwords import Passwords, WeakPassword
from api.identity.store import CredentialStore
from api.settings import ApiSettings
from evidence.application import NotFound
from evidence.bootstrap import System
from evidence.model.security import ROLES, user_id
from tools.context import console, fail, opened

app = typer.Typer(help="Comptes locaux : création, mot de passe, rôles.", no_args_is_help=True)

Communes = Annotated[
    list[str] | None, typer.Option("--commune", help="Code INSEE d'une commune (répétable).")
]
By = Annotated[str, typer.Option("--by", help="Administrateur auteur de l'opération.")]
FromStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Lire le mot de passe sur stdin.")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    return password


def _set_password(system: System, username: str, password: str) -> None:
    api = ApiSettings()
    try:
        hashed = Passwords(api.argon2_time_cost, api.argon2_memory_kib).hash(password)
    except WeakPassword as exc:
        raise fail(str(exc)) from None
    store = CredentialStore(credentials_path(system.settings))
    try:
        store.set_password(username, hashed)
    finally:
        store.close()


def _commune_ids(system: System, communes: list[str] | None) -> list[UUID]:
    return [system.archives.commune(insee).id for insee in communes or []]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise fail(f"rôle inconnu {role!r} (rôles : {', '.join(ROLES)})")


@app.command()
def add(
    ctx: typer.Context,
    username: str,
    role: Annotated[str, typer.Option(help="Rôle initial.")],
    commune: Communes = None,
    password_stdin: FromStdin = False,
    by: By = "admin",
) -> None:
    """Create an account with one role in the given communes, and set its password."""
    _check_role(role)
    password = _password(password_stdin)
    with opened(ctx) as system:
        communes = _commune_ids(system, commune)
        system.archives.create_user(username, user_id(by))
        system.archives.grant_role(username, role, communes, user_id(by))
        _set_password(system, username, password)
    console.print(f"Compte {username} créé ({role}, {len(communes)} commune(s)).")


@app.command()
def passwd(ctx: typer.Context, username: str, password_stdin: FromStdin = False) -> None:
    """Set a new password; every token of the account is revoked and its lock lifted."""
    password = _password(password_stdin)
    with opened(ctx) as system:
        system.archives.user(username)
        _set_password(system, username, password)
    console.print(f"Mot de passe de {username} changé ; ses sessions sont révoquées.")


@app.command()
def grant(
    ctx: typer.Context, username: str, role: str, commune: Communes = None, by: By = "admin"
) -> None:
    """Grant (or re-scope) a role."""
    _check_role(role)
    with opened(ctx) as system:
        communes = _commune_ids(system, commune)
        system.archives.grant_role(username, role, communes, user_id(by))
    console.print(f"Rôle {role} accordé à {username}.")


@app.command()
def revoke(ctx: typer.Context, username: str, role: str, by: By = "admin") -> None:
    """Revoke a role; the account's open sessions are revoked too."""
    with opened(ctx) as system:
        system.archives.revoke_role(username, role, user_id(by))
        store = CredentialStore(credentials_path(system.settings))
        try:
            store.revoke_all(username)
        finally:
            store.close()
    console.print(f"Rôle {role} retiré à {username}.")


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Accounts with a password, their roles and communes (INSEE codes)."""
    with opened(ctx) as system:
        store = CredentialStore(credentials_path(system.settings))
        try:
            for username in store.usernames():
                try:
                    user = system.archives.user(username)
                except NotFound:
                    continue
                roles = ", ".join(
                    f"{role}[{len(communes)} commune(s)]" for role, communes in user.roles.items()
                )
                locked = " (verrouillé)" if store.locked_until(username) else ""
                console.print(f"{username}{locked} : {roles or 'aucun rôle'}")
        finally:
            store.close()


@app.command()
def unlock(ctx: typer.Context, username: str) -> None:
    """Lift a lock-out after repeated failures."""
    with opened(ctx) as system:
        store = CredentialStore(credentials_path(system.settings))
        try:
            store.unlock(username)
        finally:
            store.close()
    console.print(f"Compte {username} déverrouillé.")
