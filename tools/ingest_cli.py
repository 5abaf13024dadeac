"""``scelle ingest``: finished segment files into the archive, once each."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import Progress

from evidence.bootstrap import System
from ingest.pipeline import Ingestor, Outcome
from ingest.reconcile import reconcile
from ingest.watch import FolderWatch
from tools.context import console, errors, fail, opened

app = typer.Typer(help="Verser des segments vidéo dans l'archive.", no_args_is_help=True)

CameraOption = Annotated[
    str | None, typer.Option("--camera", help="Code de la caméra (contrôlé contre le nom).")
]
KeepOption = Annotated[
    bool, typer.Option("--keep-source", help="Ne pas supprimer le fichier après versement.")
]


def _reconcile(system: System) -> None:
    report = reconcile(system)
    if report.shredded:
        console.print(
            f"Réconciliation : {len(report.shredded)} versement(s) interrompu(s) "
            "nettoyé(s) ; leurs fichiers source seront repris."
        )
    for blob in report.missing:
        errors.print(f"[bold red]ALERTE[/] contenu manquant pour un segment enregistré : {blob}")


def _report(outcome: Outcome) -> None:
    if outcome.status == "quarantined":
        console.print(f"QUARANTAINE {outcome.source} : {outcome.reason}", markup=False)
    elif outcome.status == "duplicate":
        console.print(f"déjà versé  {outcome.source} (segment {outcome.segment_id})", markup=False)


def _summary(counts: Counter[str]) -> None:
    console.print(
        f"{counts['recorded']} segment(s) versé(s), {counts['duplicate']} doublon(s), "
        f"{counts['quarantined']} fichier(s) en quarantaine."
    )


@app.command("files")
def files(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Fichiers de segments terminés.")],
    camera: CameraOption = None,
    keep_source: KeepOption = False,
) -> None:
    """One-shot intake of finished segment files."""
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise fail(f"fichier(s) introuvable(s) : {', '.join(map(str, missing))}")
    counts: Counter[str] = Counter()
    with opened(ctx) as system:
        _reconcile(system)
        ingestor = Ingestor(system, remove_source=not keep_source)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Versement", total=len(paths))
            for path in paths:
                outcome = ingestor.ingest(path, camera)
                counts[outcome.status] += 1
                _report(outcome)
                progress.advance(task)
    _summary(counts)


class _Stop:
    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


@app.command("watch")
def watch(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Dossier où l'enregistreur dépose les segments.")],
    camera: Annotated[str, typer.Option("--camera", help="Code de la caméra du dossier.")],
    once: Annotated[
        bool, typer.Option(help="Verser ce qui est terminé maintenant, puis s'arrêter.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Secondes entre deux passages.")] = 1.0,
    settle: Annotated[float, typer.Option(help="Secondes sans changement avant de verser.")] = 2.0,
) -> None:
    """Watch a folder and ingest every finished segment, until stopped (Ctrl-C)."""
    if not folder.is_dir():
        raise fail(f"{folder} n'est pas un dossier")
    stop = _Stop()
    counts: Counter[str] = Counter()
    with opened(ctx) as system:
        _reconcile(system)
        ingestor = Ingestor(system)
        watcher = FolderWatch(folder, settle=settle)
        console.print(f"Surveillance de {folder} pour la caméra {camera} (Ctrl-C pour arrêter).")
        while not stop.requested:
            for path in list(watcher.finished(drain=once)):
                outcome = ingestor.ingest(path, camera, root=folder)
                counts[outcome.status] += 1
                _report(outcome)
                if outcome.status == "recorded":
                    console.print(f"versé       {outcome.source}", markup=False)
            if once:
                break
            time.sleep(interval)
    _summary(counts)
