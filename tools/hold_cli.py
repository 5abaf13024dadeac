"""``scelle hold``: place, extend and release holds, each with its legal basis."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from evidence.model.security import user_id
from tools.context import console, fail, opened
from tools.report_cli import parse_instant

app = typer.Typer(
    help="Conservations au-delà de l'échéance (procédure judiciaire, demande d'accès, "
    "enquête d'intégrité).",
    no_args_is_help=True,
)

Actor = Annotated[str, typer.Option("--actor", help="Identifiant de la personne qui agit.")]
Expires = Annotated[str, typer.Option("--expires", help="Échéance de la conservation (ISO 8601).")]


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise fail(f"identifiant invalide : {text!r}") from None


@app.command("place")
def place(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help="judicial, access_request ou integrity.")],
    camera: Annotated[list[str], typer.Option("--camera", help="Caméra (répétable).")],
    start: Annotated[str, typer.Option("--from", help="Début de la plage (ISO 8601).")],
    end: Annotated[str, typer.Option("--to", help="Fin de la plage (ISO 8601).")],
    expires: Expires,
    actor: Actor,
    reference: Annotated[str, typer.Option(help="N° de procédure ou d'enquête.")] = "",
    basis: Annotated[
        str | None, typer.Option(help="flagrance, enquete_preliminaire, information_judiciaire.")
    ] = None,
    authority: Annotated[str | None, typer.Option(help="Autorité judiciaire.")] = None,
    request: Annotated[str | None, typer.Option(help="Demande d'accès en cours.")] = None,
) -> None:
    """Place a hold on every segment of these cameras in this range."""
    with opened(ctx) as system:
        order = system.archives.place_hold(
            kind,
            reference,
            camera,
            [(parse_instant(start), parse_instant(end))],
            parse_instant(expires),
            user_id(actor),
            legal_basis=basis,
            authority=authority,
            access_request_id=_uuid(request) if request else None,
        )
        held = len(system.archives.hold_order(order).segment_ids)
    console.print(f"Conservation {order} placée : {held} segment(s) conservé(s).")


@app.command("requisition")
def requisition(ctx: typer.Context, requisition_id: str, expires: Expires, actor: Actor) -> None:
    """Hold every segment in a requisition's scope (one order per requisition)."""
    with opened(ctx) as system:
        held = system.archives.hold_for_requisition(
            _uuid(requisition_id), user_id(actor), parse_instant(expires)
        )
    console.print(f"{len(held)} segment(s) conservé(s) pour la réquisition {requisition_id}.")


@app.command("extend")
def extend(
    ctx: typer.Context,
    order: str,
    expires: Expires,
    actor: Actor,
    reason: Annotated[str, typer.Option(help="Motif.")],
) -> None:
    """Push back a hold's expiry."""
    with opened(ctx) as system:
        system.archives.extend_hold(_uuid(order), parse_instant(expires), user_id(actor), reason)
    console.print(f"Conservation {order} prolongée jusqu'au {expires}.")


@app.command("release")
def release(
    ctx: typer.Context,
    order: str,
    actor: Actor,
    reason: Annotated[str, typer.Option(help="Motif.")],
) -> None:
    """Lift a hold: the next purge destroys what is past its deadline."""
    with opened(ctx) as system:
        system.archives.release_hold(_uuid(order), user_id(actor), reason)
    console.print(f"Conservation {order} levée.")
