"""``scelle requisition …`` and ``scelle export …``: the judicial workflow from the terminal.

Thin: each command names people by their username, calls one use case, prints the result in
French. Domain refusals become ``ERREUR`` lines through ``tools.context.opened``.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from evidence.bootstrap import System
from evidence.model.errors import DomainError
from evidence.packages.build import Thumbnailer, produce_package
from tools.context import console, fail, opened, parse_instant, parse_uuid
from tools.verify_package import PackageInvalid, verify_package

requisitions = typer.Typer(help="Réquisitions judiciaires.", no_args_is_help=True)
exports = typer.Typer(help="Exports de preuve (paquets BagIt signés).", no_args_is_help=True)

By = Annotated[str, typer.Option("--by", help="Identifiant de la personne qui agit.")]


def _person(system: System, username: str) -> UUID:
    return system.archives.user(username).id


def masked_thumbnails(system: System) -> Thumbnailer | None:
    """Thumbnails with privacy zones applied, when the masking module is installed."""
    try:
        masked_thumbnail = importlib.import_module("ingest.rendition").masked_thumbnail
    except (ImportError, AttributeError):
        return None

    def thumbnail(segment_id: UUID) -> bytes | None:
        try:
            found: bytes = masked_thumbnail(system, segment_id)
        except (DomainError, RuntimeError, ValueError, OSError):
            # A thumbnail is a reading aid, not evidence: the report shows "—" instead, and
            # the package (originals, events, proofs) is produced and verified all the same.
            return None
        return found

    return thumbnail


@requisitions.command("register")
def register(
    ctx: typer.Context,
    authority: Annotated[str, typer.Option(help="Autorité requérante (parquet, juge…).")],
    procedure: Annotated[str, typer.Option(help="Numéro de procédure.")],
    legal_basis: Annotated[
        str, typer.Option(help="flagrance, enquete_preliminaire ou information_judiciaire.")
    ],
    camera: Annotated[list[str], typer.Option(help="Code de caméra (répétable).")],
    start: Annotated[list[str], typer.Option("--from", help="Début de plage (répétable).")],
    end: Annotated[list[str], typer.Option("--to", help="Fin de plage (répétable).")],
    by: By,
) -> None:
    """Register a requisition (an officer of judicial police)."""
    if len(start) != len(end):
        raise fail("autant de --from que de --to")
    ranges = [(parse_instant(a), parse_instant(b)) for a, b in zip(start, end, strict=True)]
    with opened(ctx) as system:
        requisition = system.archives.register_requisition(
            authority, procedure, legal_basis, camera, ranges, _person(system, by)
        )
    console.print(f"Réquisition enregistrée : {requisition}")


@requisitions.command("approve")
def approve(
    ctx: typer.Context,
    requisition: str,
    by: By,
    hold_days: Annotated[int, typer.Option(help="Durée de la conservation judiciaire.")] = 365,
) -> None:
    """Approve a requisition (four eyes) and hold every segment it covers."""
    rid = parse_uuid(requisition, "réquisition")
    with opened(ctx) as system:
        approver = _person(system, by)
        system.archives.approve_requisition(rid, approver)
        expires = system.archives.clock.now() + timedelta(days=hold_days)
        held = system.archives.hold_requisition_segments(rid, approver, expires)
    console.print(
        f"Réquisition approuvée ; {len(held)} segment(s) placé(s) sous conservation judiciaire "
        f"jusqu'au {expires:%d/%m/%Y}."
    )


@requisitions.command("list")
def list_requisitions(ctx: typer.Context) -> None:
    """List requisitions with their state."""
    with opened(ctx) as system:
        archives = system.archives
        for rid in archives.requisition_ids():
            r = archives.requisition(rid)
            status = "close" if r.closed else "approuvée" if r.approved_by else "à approuver"
            console.print(
                f"{rid}  {r.procedure_number}  {r.authority}  {r.legal_basis}  {status}",
                markup=False,
            )


@exports.command("request")
def request(
    ctx: typer.Context,
    requisition: str,
    by: By,
    segment: Annotated[
        list[str] | None, typer.Option(help="Segment (répétable) ; tous par défaut.")
    ] = None,
) -> None:
    """Ask for an export within a requisition (out-of-scope segments are refused and logged)."""
    rid = parse_uuid(requisition, "réquisition")
    wanted = [parse_uuid(s, "segment") for s in segment] if segment else None
    with opened(ctx) as system:
        export = system.archives.request_requisition_export(rid, _person(system, by), wanted)
        count = len(system.archives.export(export).segment_ids)
    console.print(f"Export demandé ({count} segment(s)) : {export}")


@exports.command("approve")
def approve_export(ctx: typer.Context, export: str, by: By) -> None:
    """Approve an export (four eyes: not the person who asked)."""
    eid = parse_uuid(export, "export")
    with opened(ctx) as system:
        system.archives.approve_export(eid, _person(system, by))
    console.print("Export approuvé.")


@exports.command("produce")
def produce(
    ctx: typer.Context,
    export: str,
    out: Annotated[Path | None, typer.Option(help="Répertoire (DATA/exports par défaut).")] = None,
) -> None:
    """Build the signed package (directory and zip), verify it, and record its production."""
    eid = parse_uuid(export, "export")
    with opened(ctx) as system:
        target = out or system.settings.data / "exports"
        produced = produce_package(system, eid, target, masked_thumbnails(system))
    try:
        verdict = verify_package(produced.directory)
    except PackageInvalid as exc:
        for failure in exc.failures:
            console.print(failure.line(), markup=False)
        raise typer.Exit(1) from None
    console.print(verdict.line(), markup=False)
    console.print(str(produced.directory))
    console.print(str(produced.zip_path))


@exports.command("deliver")
def deliver(
    ctx: typer.Context,
    export: str,
    by: By,
    recipient: Annotated[str, typer.Option(help="Destinataire (magistrat, service…).")],
    channel: Annotated[str, typer.Option(help="Canal de remise (main propre, PLINE…).")],
) -> None:
    """Record the package's delivery."""
    eid = parse_uuid(export, "export")
    with opened(ctx) as system:
        system.archives.deliver_export(eid, _person(system, by), recipient, channel)
    console.print("Remise enregistrée.")
