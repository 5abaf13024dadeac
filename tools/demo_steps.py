"""The demo's capability steps: each capability appends its own step here.

A step gets the demo's state after the cameras have recorded and the first facts are in, and
runs before the final checkpoint and the full verification, so that everything it writes is
verified too. Keep each step short (seconds): ``make demo`` must stay quick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from evidence.bootstrap import System
from evidence.config import Settings


@dataclass
class DemoRun:
    """What the steps share: the open system, the recorded segments, the demo's start time."""

    settings: Settings
    system: System
    segments: list[UUID]
    start: datetime
    extras: dict[str, Any] = field(default_factory=dict)


#: (title printed in French, step). Steps run in this order.
CAPABILITY_STEPS: list[tuple[str, Callable[[DemoRun], None]]] = []


def _projections_step(run: DemoRun) -> None:
    from tools.projections_demo import show_views  # imported late: it imports this module

    show_views(run)


CAPABILITY_STEPS.append(("Vues : couverture, journal des accès, statistiques", _projections_step))


def _api_step(run: DemoRun) -> None:
    from tools.api_demo import api_step  # imported late: it imports this module

    api_step(run)


CAPABILITY_STEPS.append(("API : identités, finalités, refus tracés", _api_step))


def _masking_step(run: DemoRun) -> None:
    from ingest.rendition.demo import masking_step  # imported late: OpenCV loads on use only

    masking_step(run)


CAPABILITY_STEPS.append(("Masquage des zones privées et extrait flouté", _masking_step))


def _export_step(run: DemoRun) -> None:
    from tools.export_demo import export_step  # imported late: it imports this module

    export_step(run)


CAPABILITY_STEPS.append(
    ("Réquisition judiciaire : paquet de preuve signé et vérifié", _export_step)
)


def _batch_ingest_step(run: DemoRun) -> None:
    from tools.ingest_demo import batch_step  # imported late: it imports this module

    batch_step(run)


CAPABILITY_STEPS.append(
    ("Versement en lot : fichiers chiffrés en parallèle, dans l'ordre", _batch_ingest_step)
)


def _retention_step(run: DemoRun) -> None:
    from tools.retention_demo import retention_step  # imported late: it imports this module

    retention_step(run)


#: Last of all: it purges. Segments under a requisition are held first, never purged.
CAPABILITY_STEPS.append(("Échéance franchie : purge, rapport de purge vérifié", _retention_step))
