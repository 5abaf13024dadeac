"""``scelle report purges``: the purge proof an inspector verifies offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evidence.retention.report import build_purge_report
from tools.context import console, fail, opened, parse_instant
from tools.verify_report import DEFAULT_TOLERANCE, ReportInvalid, read_report, verify_report

app = typer.Typer(help="Rapports pour l'inspection.", no_args_is_help=True)


@app.command("purges")
def purges(
    ctx: typer.Context,
    commune: Annotated[str, typer.Option("--commune", help="Code INSEE de la commune.")],
    start: Annotated[str, typer.Option("--from", help="Début (segments enregistrés depuis).")],
    end: Annotated[str, typer.Option("--to", help="Fin (exclue).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Répertoire à écrire.")] = None,
    as_zip: Annotated[
        bool, typer.Option("--zip", help="Un fichier zip plutôt qu'un dossier.")
    ] = False,
) -> None:
    """Write the purge report of a commune for a period (a directory, or a zip)."""
    begin, finish = parse_instant(start), parse_instant(end)
    if finish <= begin:
        raise fail("la fin de la période doit suivre son début")
    with opened(ctx) as system:
        if out is None:
            stamp = system.archives.clock.now().strftime("%Y%m%dT%H%M%SZ")
            name = f"purges-{commune}-{begin:%Y%m%d}-{finish:%Y%m%d}-{stamp}"
            out = system.settings.data / "reports" / name
        if out.exists() or (out.with_suffix(".zip").exists() and as_zip):
            raise fail(f"{out} existe déjà")
        written = build_purge_report(system, commune, begin, finish, out, as_zip)
    console.print(
        f"Rapport de purge : {written.segments} segment(s), {written.events} événement(s) "
        f"prouvé(s) contre le point de contrôle de {written.checkpoint_size} feuilles."
    )
    console.print(str(written.path), markup=False)
    console.print(f"Vérification hors ligne : scelle verify report {written.path}", markup=False)


#: French labels of the verdicts ``scelle verify report`` prints.
REPORT_LABELS = {
    "report-malformed": "rapport mal formé",
    "checkpoint-signature": "point de contrôle invalide",
    "proof-invalid": "preuve d'inclusion invalide",
    "events-incomplete": "événements manquants ou étrangers",
    "report-altered": "rapport en contradiction avec ses événements",
    "purged-late": "détruit en retard",
    "not-purged": "non détruit après son échéance",
    "hold-without-basis": "conservation sans fondement légal",
}
STATUS_LABELS = {
    "purged": "détruit(s)",
    "held": "conservé(s) par une mesure",
    "pending": "pas encore échu(s)",
    "overdue": "échu(s) non détruit(s)",
}


def verify_report_command(
    path: Annotated[Path, typer.Argument(help="Rapport de purge : répertoire ou .zip.")],
    vkey: Annotated[
        str | None,
        typer.Option(
            help="Clé publique de confiance du journal, ou son fichier (sinon celle du rapport)."
        ),
    ] = None,
    tolerance: Annotated[
        float, typer.Option(min=0, help="Retard toléré après l'échéance, en secondes.")
    ] = DEFAULT_TOLERANCE,
) -> None:
    """Check a purge report offline; name every segment purged late or not at all."""
    if not path.exists():
        raise fail(f"{path} n'existe pas")
    trusted = Path(vkey).read_text(encoding="utf-8") if vkey and Path(vkey).is_file() else vkey
    try:
        verdict = verify_report(read_report(path), trusted, tolerance)
    except ReportInvalid as exc:
        label = REPORT_LABELS.get(exc.kind, "")
        console.print(f"FAIL: [{exc.kind}] {label} — {exc}", markup=False)
        raise typer.Exit(1) from None
    for f in verdict.findings:
        console.print(
            f"FAIL: [{f.kind}] {REPORT_LABELS[f.kind]} — segment {f.segment_id} "
            f"({f.camera_code}, {f.start}) : {f.detail}",
            markup=False,
        )
    counts = ", ".join(f"{n} {STATUS_LABELS[s]}" for s, n in sorted(verdict.counts.items()))
    key = "clé fournie" if vkey else "clé du rapport (à comparer à la clé publiée)"
    summary = (
        f"commune {verdict.commune} : {verdict.segments} segment(s) ({counts or 'aucun'}), "
        f"{verdict.events} événement(s) prouvé(s) contre le point de contrôle signé de "
        f"{verdict.checkpoint_size} feuilles ({key})."
    )
    if verdict.findings:
        console.print(f"FAIL: {summary}", markup=False)
        raise typer.Exit(1)
    console.print(f"OK: {summary}", markup=False)
