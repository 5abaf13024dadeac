"""``scelle purge``: destroy now every segment past its deadline and not held."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from evidence.retention.purge import BATCH_SIZE, PurgeRunner
from tools.context import console, opened

#: Runs this large show a progress bar.
PROGRESS_FROM = 1_000


class _Bar:
    """A rich progress bar that appears only once a run turns out to be large."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None and total >= PROGRESS_FROM:
            self.progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("Purge", total=total)  # type: ignore[assignment]
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def purge(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Au plus ce nombre de segments dans ce passage.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Segments par lot (une transaction par étape et par lot).")
    ] = BATCH_SIZE,
) -> None:
    """Destroy (crypto-shredding) every segment past its deadline and not held."""
    bar = _Bar()
    with opened(ctx) as system:
        try:
            summary = PurgeRunner(system, progress=bar, batch_size=batch_size).run_once(limit)
        finally:
            bar.stop()
    console.print(
        f"Purge : {summary.purged} segment(s) détruit(s), dont {summary.resumed} purge(s) "
        f"interrompue(s) achevée(s) ; {summary.skipped_held} segment(s) échu(s) conservé(s) "
        f"par une mesure en cours ; {summary.failed} en échec."
    )
    for error in summary.errors:
        console.print(f"  échec : {error}", markup=False)
    if summary.failed:
        raise typer.Exit(1)
