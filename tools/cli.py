"""The ``scelle`` command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from evidence.bootstrap import init_data_dir
from evidence.ledger.log import LedgerError
from tools import (
    audit_cli,
    cameras_cli,
    demo,
    export_cli,
    hold_cli,
    ingest_cli,
    keys_cli,
    projections_cli,
    purge_cli,
    render_cli,
    report_cli,
    serve_cli,
    users_cli,
    verify_cli,
)
from tools.context import CliState, StopFlag, console, fail, opened, state
from tools.help_fr import apply_french_help

app = typer.Typer(
    name="scelle",
    help="Scellé — archive probante de vidéoprotection.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(verify_cli.app, name="verify")
app.add_typer(ingest_cli.app, name="ingest")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(render_cli.app, name="render")
app.add_typer(export_cli.requisitions, name="requisition")
app.add_typer(export_cli.exports, name="export")
app.command("demo")(demo.demo)
app.command("serve")(serve_cli.serve)
app.add_typer(users_cli.app, name="users")
app.command("record")(ingest_cli.record)
app.command("purge")(purge_cli.purge)
app.add_typer(report_cli.app, name="report")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(hold_cli.app, name="hold")
app.add_typer(cameras_cli.communes, name="communes")
app.add_typer(cameras_cli.cameras, name="cameras")
projections_cli.register(app)


@app.callback()
def main_options(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option("--data", envvar="SCELLE_DATA", help="Répertoire de données.")
    ] = Path("var/scelle"),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="SCELLE_DATABASE_URL",
            help="postgresql://… pour le mode réparti (SQLite par défaut).",
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(data=data, database_url=database_url)


@app.command()
def init(
    ctx: typer.Context,
    origin: Annotated[
        str | None, typer.Option(help="Nom du journal (ligne d'origine des points de contrôle).")
    ] = None,
) -> None:
    """Initialise the data directory and create the log's signing key (mode 0600)."""
    settings = state(ctx).settings()
    try:
        vkey = init_data_dir(settings, origin)
    except LedgerError as exc:
        raise fail(str(exc)) from None
    console.print(f"Répertoire de données initialisé : {settings.data}")
    console.print(f"Clé publique du journal (vkey) : {vkey}")


@app.command()
def seal(
    ctx: typer.Context,
    follow: Annotated[
        bool, typer.Option(help="Rester actif et sceller au fil de l'eau (mode réparti).")
    ] = False,
    interval: Annotated[float, typer.Option(help="Secondes entre deux passages.")] = 0.2,
) -> None:
    """Seal every stored event not yet sealed; with --follow, keep doing so until stopped."""
    stop = StopFlag()
    total = 0
    with opened(ctx) as system:
        while True:
            total += system.ledger.seal()
            if not follow or stop.requested:
                break
            time.sleep(interval)
    console.print(f"{total} événement(s) scellé(s).")


@app.command()
def checkpoint(ctx: typer.Context) -> None:
    """Print a fresh signed checkpoint (C2SP signed note)."""
    with opened(ctx) as system:
        note = system.ledger.checkpoint()
    typer.echo(note, nl=False)


def _notification_id(system_event: str, find: object) -> int:
    if system_event.isdigit():
        return int(system_event)
    aggregate, sep, version = system_event.rpartition(":")
    try:
        if not sep:
            raise ValueError
        return find(UUID(aggregate), int(version))  # type: ignore[operator,no-any-return]
    except ValueError:
        raise fail(
            f"événement {system_event!r} : attendu un numéro de notification ou AGRÉGAT:VERSION"
        ) from None


@app.command()
def prove(
    ctx: typer.Context,
    event: Annotated[
        str | None, typer.Argument(help="Numéro de notification, ou UUID:version.")
    ] = None,
    consistency_from: Annotated[
        int | None, typer.Option(help="Preuve de cohérence depuis cette taille d'arbre.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Fichier à écrire.")] = None,
) -> None:
    """Write an inclusion proof (C2SP tlog-proof) for an event, or a consistency proof."""
    with opened(ctx) as system:
        try:
            if consistency_from is not None:
                text = system.ledger.consistency_proof(consistency_from)
                name = f"consistency-{consistency_from}.tlog-consistency"
            elif event is not None:
                nid = _notification_id(event, system.ledger.find_notification)
                text = system.ledger.inclusion_proof(nid)
                name = f"event-{nid}.tlog-proof"
            else:
                raise fail("indiquez un événement ou --consistency-from")
        except LedgerError as exc:
            raise fail(str(exc), 1) from None
        target = out or system.settings.data / "proofs" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    console.print(str(target))


apply_french_help(app)  # last: every command above is registered by now


def main() -> None:
    app()
