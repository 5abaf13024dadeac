"""``scelle hold``: place, extend and release holds, each with its legal basis."""

from __future__ import annotations

from typing import Annotated

import typer

from evidence.model.security import user_id
from tools.context import console, opened, parse_instant, parse_uuid

app = typer.Typer(
    help="Conservations au-delà de l'échéance (procédure judiciaire, demande d'accès, "
    "enquête d'intégrité).",
    no_args_is_help=True,
)

Actor = Annotated[str, typer.Option("--actor", help="Identifiant de la personne qui agit.")]
Expires = Annotated[str, typer.Option("--expires", help="Échéance de la conservation (ISO 8601).")]


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
            access_request_id=parse_uuid(request, "demande d'accès") if request else None,
        )
        held = len(system.archives.hold_order(order).segment_ids)
    console.print(f"Conservation {order} placée : {held} segment(s) conservé(s).")


@app.command("requisition")
def requisition(ctx: typer.Context, requisition_id: str, expires: Expires, actor: Actor) -> None:
    """Hold every segment in a requisition's scope (one order per requisition)."""
    with opened(ctx) as system:
        held = system.archives.hold_for_requisition(
            parse_uuid(requisition_id, "réquisition"), user_id(actor), parse_instant(expires)
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
        order_id = parse_uuid(order, "ordre de conservation")
        system.archives.extend_hold(order_id, parse_instant(expires), user_id(actor), reason)
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
        order_id = parse_uuid(order, "ordre de conservation")
        system.archives.release_hold(order_id, user_id(actor), reason)
    console.print(f"Conservation {order} levée.")
