"""``scelle ingest``: finished segment files into the archive, once each."""

from __future__ import annotations

import os
import time
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from evidence.bootstrap import System
from ingest.naming import SegmentNameError
from ingest.pipeline import DEFAULT_WORKERS, Ingestor, Outcome
from ingest.reconcile import reconcile
from ingest.recorder import RecorderError, StreamRecorder, check_stream_url, redact, spool_dir
from ingest.watch import FolderWatch
from tools.context import StopFlag, console, errors, fail, opened, state

app = typer.Typer(help="Verser des segments vidéo dans l'archive.", no_args_is_help=True)

CameraOption = Annotated[
    str | None, typer.Option("--camera", help="Code de la caméra (contrôlé contre le nom).")
]
KeepOption = Annotated[
    bool, typer.Option("--keep-source", help="Ne pas supprimer le fichier après versement.")
]
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        max=16,
        help="Fichiers analysés et chiffrés en même temps (les versements restent dans l'ordre).",
    ),
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


def _say(line: str) -> None:
    """Print a line whose file names come from the camera side: escape every non-printable
    character, so that a hostile name can never drive the operator's terminal."""
    console.print("".join(c if c.isprintable() else repr(c)[1:-1] for c in line), markup=False)


def _report(outcome: Outcome) -> None:
    if outcome.status == "quarantined":
        _say(f"QUARANTAINE {outcome.source} : {outcome.reason}")
        if outcome.detail:
            _say(f"            détail technique : {outcome.detail}")
    elif outcome.status == "duplicate":
        _say(f"déjà versé  {outcome.source} (segment {outcome.segment_id})")


def _report_batch(outcome: Outcome) -> None:
    if outcome.status == "vanished":
        _say(f"disparu     {outcome.source} : {outcome.reason}")
    else:
        _report(outcome)


def _vanished(counts: Counter[str]) -> None:
    if counts["vanished"]:
        console.print(
            f"{counts['vanished']} fichier(s) disparu(s) avant leur tour : rien n'a été "
            "enregistré pour eux."
        )


def _once_each(paths: list[Path]) -> list[Path]:
    """The paths in order, a file named twice (overlapping globs) taken once."""
    unique: dict[str, Path] = {}
    for path in paths:
        unique.setdefault(os.path.abspath(path), path)
    return list(unique.values())


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
    jobs: JobsOption = DEFAULT_WORKERS,
) -> None:
    """One-shot intake of finished segment files."""
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise fail(f"fichier(s) introuvable(s) : {', '.join(map(str, missing))}")
    paths = _once_each(paths)
    counts: Counter[str] = Counter()
    with opened(ctx) as system:
        _reconcile(system)
        ingestor = Ingestor(system, remove_source=not keep_source)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Versement", total=len(paths))
            for outcome in ingestor.ingest_many(paths, camera, workers=jobs):
                counts[outcome.status] += 1
                _report_batch(outcome)
                progress.advance(task)
    _summary(counts)
    _vanished(counts)


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
    jobs: JobsOption = DEFAULT_WORKERS,
) -> None:
    """Watch a folder and ingest every finished segment, until stopped (Ctrl-C)."""
    if not folder.is_dir():
        raise fail(f"{folder} n'est pas un dossier")
    stop = StopFlag()
    counts: Counter[str] = Counter()
    with opened(ctx) as system:
        _reconcile(system)
        ingestor = Ingestor(system)
        watcher = FolderWatch(folder, settle=settle)
        console.print(f"Surveillance de {folder} pour la caméra {camera} (Ctrl-C pour arrêter).")
        while not stop.requested:
            ready = list(watcher.finished(drain=once))
            for outcome in ingestor.ingest_many(ready, camera, root=folder, workers=jobs):
                counts[outcome.status] += 1
                _report_batch(outcome)
                if outcome.status == "recorded":
                    _say(f"versé       {outcome.source}")
            if once:
                break
            time.sleep(interval)
    _summary(counts)
    _vanished(counts)


# -- scelle ingest record (also ``scelle record``) ---------------------------------------------


class SegmentContainer(StrEnum):
    ts = "ts"
    mp4 = "mp4"


def _recorded(outcome: Outcome) -> None:
    _report(outcome)
    if outcome.status == "recorded":
        _say(f"versé       {outcome.source}")


def _status(line: str) -> None:
    console.print(line, markup=False)


@app.command("record")
def record(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Argument(help="Flux de la caméra : rtsp://hôte/chemin, identifiants compris.")
    ],
    camera: Annotated[str, typer.Option("--camera", help="Code de la caméra qui filme ce flux.")],
    segment: Annotated[
        int,
        typer.Option(
            "--segment",
            min=1,
            max=3600,
            help="Durée des segments en secondes (coupés aux heures rondes UTC, sur image clé).",
        ),
    ] = 60,
    container: Annotated[
        SegmentContainer,
        typer.Option(
            "--format",
            help="ts : un segment interrompu par une panne reste lisible ; mp4 : il est perdu.",
        ),
    ] = SegmentContainer.ts,
    listen: Annotated[
        bool,
        typer.Option(
            "--listen",
            help="Attendre que la caméra pousse son flux à cette adresse (serveur RTSP) "
            "au lieu d'aller le chercher.",
        ),
    ] = False,
) -> None:
    """Record an RTSP stream: each closed segment ingested, ffmpeg restarted when it drops."""
    try:
        check_stream_url(url)
        spool = spool_dir(state(ctx).settings(), camera)
    except RecorderError as exc:
        raise fail(exc.message_fr) from None
    except SegmentNameError as exc:  # an invalid camera code
        raise fail(exc.message_fr) from None
    stop = StopFlag()
    with opened(ctx) as system:
        _reconcile(system)
        system.archives.camera(camera).check_active()
        recorder = StreamRecorder(
            system,
            camera,
            url,
            segment_seconds=segment,
            segment_format="mp4" if container is SegmentContainer.mp4 else "mpegts",
            listen=listen,
            spool=spool,
            on_outcome=_recorded,
            on_status=_status,
        )
        console.print(
            f"Enregistrement de la caméra {camera} depuis {redact(url)} : segments de {segment} s "
            f"dans {spool} (Ctrl-C pour arrêter).",
            markup=False,
        )
        try:
            summary = recorder.run(lambda: stop.requested)
        except RecorderError as exc:
            raise fail(exc.message_fr, 1) from None
    console.print(f"ffmpeg démarré {summary.runs} fois ({summary.restarts} reprise(s)).")
    _summary(summary.counts)
