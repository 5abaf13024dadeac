"""``scelle communes add`` and ``scelle cameras add|retention|list``: the admin's registry.

A camera's retention comes from its prefectoral authorisation: without ``--retention`` it
takes the centre's default (setting ``SCELLE_DEFAULT_RETENTION_DAYS``, 15 days), capped by
the authorisation; above the authorisation or one month it is refused (CSI L252-5).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from evidence.model.purposes import PURPOSES
from evidence.retention.rules import retention_for
from tools.context import console, fail, opened

communes = typer.Typer(help="Communes (collectivités) servies par le centre.", no_args_is_help=True)
cameras = typer.Typer(help="Caméras et leur autorisation préfectorale.", no_args_is_help=True)


@communes.command("add")
def add_commune(
    ctx: typer.Context,
    insee: Annotated[str, typer.Argument(help="Code INSEE de la commune.")],
    name: Annotated[str, typer.Argument(help="Nom de la commune.")],
) -> None:
    """Register a commune (a tenant)."""
    with opened(ctx) as system:
        system.archives.register_commune(insee, name)
    console.print(f"Commune {name} ({insee}) enregistrée.")


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} : date attendue au format AAAA-MM-JJ (reçu : {text!r})") from None


@cameras.command("add")
def add_camera(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Code de la caméra, unique dans le centre.")],
    commune: Annotated[str, typer.Option("--commune", help="Code INSEE de la commune.")],
    place: Annotated[str, typer.Option("--place", help="Emplacement.")],
    authorisation: Annotated[str, typer.Option("--authorisation", help="Arrêté préfectoral.")],
    authorised_from: Annotated[str, typer.Option("--from", help="Début de l'autorisation.")],
    authorised_until: Annotated[str, typer.Option("--until", help="Fin de l'autorisation.")],
    authorised_days: Annotated[
        int, typer.Option("--authorised-days", help="Durée de conservation autorisée (jours).")
    ],
    purpose: Annotated[
        list[str], typer.Option("--purpose", help=f"Finalité (répétable) : {', '.join(PURPOSES)}.")
    ],
    kind: Annotated[str, typer.Option("--kind", help="fixed ou ptz.")] = "fixed",
    retention: Annotated[
        int | None,
        typer.Option("--retention", help="Conservation (jours) ; défaut : réglage du centre."),
    ] = None,
) -> None:
    """Register a camera under its prefectoral authorisation."""
    start, end = _day(authorised_from, "--from"), _day(authorised_until, "--until")
    with opened(ctx) as system:
        days = retention
        if days is None:
            days = retention_for(authorised_days, system.settings.default_retention_days)
        system.archives.register_camera(
            commune,
            code=code,
            place=place,
            kind=kind,
            purposes=purpose,
            authorisation_ref=authorisation,
            authorised_from=start,
            authorised_until=end,
            authorised_retention_days=authorised_days,
            retention_days=days,
        )
    console.print(f"Caméra {code} enregistrée : conservation {days} jours.")


@cameras.command("retention")
def change_retention(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Code de la caméra.")],
    days: Annotated[int, typer.Argument(help="Nouvelle durée de conservation (jours).")],
    authorisation: Annotated[str, typer.Option("--authorisation", help="Arrêté qui la fonde.")],
) -> None:
    """Change a camera's retention within its authorisation (and one month at most)."""
    with opened(ctx) as system:
        system.archives.change_retention(code, days, authorisation)
    console.print(f"Caméra {code} : conservation portée à {days} jours.")


@cameras.command("list")
def list_cameras(
    ctx: typer.Context,
    code: Annotated[list[str], typer.Argument(help="Codes des caméras.")],
) -> None:
    """Show cameras with their authorisation and retention, one line each."""
    with opened(ctx) as system:
        for each in code:
            camera = system.archives.camera(each)
            console.print(
                f"{camera.code}  {camera.place}  {camera.authorisation_ref}  conservation "
                f"{camera.retention_days} j (autorisé : {camera.authorised_retention_days} j)  "
                f"zones : {len(camera.zones)}",
                markup=False,
                soft_wrap=True,
            )
