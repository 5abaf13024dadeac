"""``scelle projections update|rebuild|show|export``, ``scelle stats``, ``scelle anomalies``.

Reading commands bring the views up to date first (``--sans-maj`` to skip), and every one
takes ``--as-of`` (ISO 8601; without an offset, Paris time) for the ethics committee.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from evidence.model.errors import DomainError
from projections.anomalies import Rules, find_anomalies
from projections.runner import ProjectionRunner
from projections.stats import PARIS, month_bounds, monthly_statistics
from projections.store import Views, open_views
from tools.context import StopFlag, console, fail, opened

app = typer.Typer(help="Vues (DuckDB) construites depuis le journal.", no_args_is_help=True)

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Les vues telles qu'à cet instant (ISO 8601, heure de Paris)."),
]
NoUpdate = Annotated[
    bool, typer.Option("--sans-maj", help="Ne pas rattraper le journal avant de lire.")
]


def parse_instant(text: str | None, option: str = "--as-of") -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} : date attendue au format ISO 8601") from None
    return value if value.tzinfo else value.replace(tzinfo=PARIS)


@contextmanager
def views_of(ctx: typer.Context, update: bool = True) -> Iterator[Views]:
    """Catch up (unless told not to), then hand out the views; French errors either way."""
    with opened(ctx) as system:
        runner = ProjectionRunner(system.settings, system)
        try:
            if update:
                runner.catch_up()
        except DomainError as exc:
            raise fail(exc.message_fr, 1) from None
        finally:
            runner.close()
        views = open_views(system.settings)
        try:
            yield views
        finally:
            views.close()


@app.command()
def update(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option(help="Suivre le journal jusqu'à l'arrêt.")] = False,
    interval: Annotated[float, typer.Option(help="Secondes entre deux passages.")] = 1.0,
) -> None:
    """Apply the log's new events to the views."""
    stop = StopFlag()
    with opened(ctx) as system:
        runner = ProjectionRunner(system.settings, system)
        try:
            done = runner.catch_up()
            applied = done.applied + (
                runner.follow(lambda: stop.requested, interval) if follow else 0
            )
        except DomainError as exc:
            raise fail(exc.message_fr, 1) from None
        finally:
            runner.close()
    console.print(f"{applied} événement(s) appliqué(s) ; vues à jour jusqu'à n° {done.position}.")


@app.command()
def rebuild(ctx: typer.Context) -> None:
    """Rebuild every view from nothing (a new file, swapped in when complete)."""
    with opened(ctx) as system:
        runner = ProjectionRunner(system.settings, system)
        try:
            done = runner.rebuild()
        except DomainError as exc:
            raise fail(exc.message_fr, 1) from None
        finally:
            runner.close()
    console.print(
        f"Vues reconstruites : {done.applied} événement(s) appliqué(s) sur {done.read} lus."
    )


SHOWS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "cameras": lambda v, a, o: v.cameras(as_of=a),
    "segments": lambda v, a, o: v.segments(o["camera"], o["start"], o["end"], o["limit"], as_of=a),
    "couverture": lambda v, a, o: v.coverage(o["start"], o["end"], o["camera"], as_of=a),
    "acces": lambda v, a, o: v.access_log(limit=o["limit"], as_of=a),
    "purges": lambda v, a, o: v.purge_register(limit=o["limit"], as_of=a),
    "conservations": lambda v, a, o: v.holds(as_of=a),
    "ordres": lambda v, a, o: v.hold_orders(as_of=a),
    "requisitions": lambda v, a, o: v.requisitions(as_of=a),
    "exports": lambda v, a, o: v.exports(as_of=a),
    "demandes": lambda v, a, o: v.access_requests(as_of=a),
    "missions": lambda v, a, o: v.missions(as_of=a),
    "quarantaine": lambda v, a, o: v.quarantine(as_of=a),
}


@app.command()
def show(
    ctx: typer.Context,
    view: Annotated[str, typer.Argument(help=f"Une vue : {', '.join(SHOWS)}.")],
    camera: Annotated[str | None, typer.Option(help="Code caméra (segments).")] = None,
    start: Annotated[str | None, typer.Option(help="Début (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option(help="Fin (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Lignes au plus.")] = 50,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
    no_update: NoUpdate = False,
) -> None:
    """Print one view (as of an instant with --as-of)."""
    if view not in SHOWS:
        raise fail(f"vue inconnue {view!r} ; vues : {', '.join(SHOWS)}")
    if view == "segments" and camera is None:
        raise fail("la vue segments demande --camera")
    options = {
        "camera": camera,
        "start": parse_instant(start, "--start") or datetime(1970, 1, 1, tzinfo=PARIS),
        "end": parse_instant(end, "--end") or datetime(9999, 1, 1, tzinfo=PARIS),
        "limit": limit,
    }
    at = parse_instant(as_of)
    with views_of(ctx, not no_update) as views:
        rows = SHOWS[view](views, at, options)
    print_rows(rows, view, as_json)


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Répertoire des fichiers Parquet.")],
    as_of: AsOf = None,
    no_update: NoUpdate = False,
) -> None:
    """Write the access log and the purge register as Parquet files."""
    from projections.parquet import export_parquet  # pyarrow loads only for exports

    at = parse_instant(as_of)
    with views_of(ctx, not no_update) as views:
        paths = export_parquet(views, out, at)
    for path in paths:
        console.print(str(path))


def stats(
    ctx: typer.Context,
    month: Annotated[
        str | None, typer.Option(help="Mois AAAA-MM (le mois en cours sinon).")
    ] = None,
    as_of: AsOf = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Fichier JSON.")] = None,
    no_update: NoUpdate = False,
) -> None:
    """Monthly open-data statistics (no personal data), as JSON."""
    at = parse_instant(as_of)
    month = month or (at or datetime.now(PARIS)).astimezone(PARIS).strftime("%Y-%m")
    try:
        month_bounds(month)  # checked before the views are touched
    except ValueError:
        raise fail(f"--month {month!r} : mois attendu au format AAAA-MM") from None
    with views_of(ctx, not no_update) as views:
        figures = monthly_statistics(views, month, as_of=at)
    text = json.dumps(figures, ensure_ascii=False, indent=2) + "\n"
    if out is not None:
        out.write_text(text, encoding="utf-8")
        console.print(str(out))
    else:
        typer.echo(text, nl=False)


def anomalies(
    ctx: typer.Context,
    as_of: AsOf = None,
    since: Annotated[str | None, typer.Option(help="Depuis (ISO 8601).")] = None,
    day: Annotated[
        str, typer.Option("--jour", help="Heures ouvrées, heure de Paris (début-fin, 0–24).")
    ] = "7-21",
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
    no_update: NoUpdate = False,
) -> None:
    """Anomalies for the ethics committee: outside missions, out of hours, repeats, bursts."""
    start, at = parse_instant(since, "--since"), parse_instant(as_of)
    rules = Rules(*_hours(day))
    with views_of(ctx, not no_update) as views:
        found = find_anomalies(views, rules, since=start, as_of=at)
    print_rows(found, "anomalies", as_json)


def _hours(text: str) -> tuple[int, int]:
    """``"7-21"`` → (7, 21): accesses before 7 h or from 21 h on are out of hours."""
    try:
        first, last = (int(part) for part in text.split("-"))
    except ValueError:
        raise fail(f"--jour {text!r} : attendu « début-fin » en heures, par exemple 7-21") from None
    if not 0 <= first < last <= 24:
        raise fail(f"--jour {text!r} : il faut 0 ≤ début < fin ≤ 24")
    return first, last


def print_rows(rows: list[dict[str, Any]], title: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print(f"{title} : aucune ligne.")
        return
    table = Table(title=f"{title} ({len(rows)})")
    for name in rows[0]:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def register(root: typer.Typer) -> None:
    """Mount on the ``scelle`` command: one call from tools/cli.py."""
    root.add_typer(app, name="projections")
    root.command("stats")(stats)
    root.command("anomalies")(anomalies)
