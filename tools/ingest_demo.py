"""The demo's batch-intake step: several segments ingested at once, recorded in order.

It runs on a scratch archive of its own (a camera registered there, nothing shared), so that
its segments never reach the main demo's retention, masking or export steps: what it shows is
the pipeline itself, each file encrypted under its own key while the next ones are probed,
every event in the order of the files, every blob decrypting to its recorded digest.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from evidence.bootstrap import System, init_data_dir, open_system
from evidence.config import Settings
from ingest.pipeline import DEFAULT_WORKERS, Ingestor
from ingest.simulate import record_simulated
from tools.context import console
from tools.demo_steps import DemoRun

CAMERA = "LOT-001"
SEGMENTS = 6


def batch_step(run: DemoRun) -> None:
    """Ingest a batch of simulated 720p segments in parallel and check what was recorded."""
    with tempfile.TemporaryDirectory(prefix="scelle-lot-") as scratch:
        root = Path(scratch)
        settings = Settings(data=root / "data")
        init_data_dir(settings, "scelle.demo/lot")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        files = record_simulated(root / "in", CAMERA, start, SEGMENTS, 2, 1280, 720, 25)
        system = open_system(settings)
        try:
            _register(system)
            began = time.perf_counter()
            outcomes = list(Ingestor(system).ingest_many(files, CAMERA))
            elapsed = time.perf_counter() - began
            in_order = [o.source for o in outcomes] == [f.name for f in files]
            facts = [system.archives.segment(o.segment_id) for o in outcomes if o.segment_id]
            for fact in facts:
                system.vault.verify(fact.blob_id, fact.sha256, fact.size)
            keys = set(system.vault.keys.ids())
        finally:
            system.close()
    size = sum(o.size for o in outcomes) / 1e6
    console.print(
        f"  {len(facts)} segment(s) 720p versé(s) en {f'{elapsed:.2f}'.replace('.', ',')} s "
        f"({size / elapsed:.0f} Mo/s, "
        f"{DEFAULT_WORKERS} fils d'analyse et {DEFAULT_WORKERS} de chiffrement)"
    )
    console.print(
        f"  événements {'dans' if in_order else 'HORS de'} l'ordre des fichiers ; "
        f"{len(keys)} clé(s) distincte(s) ; chaque contenu relu conforme à son empreinte"
    )
    if not in_order or len(keys) != len(facts) or len(facts) != SEGMENTS:
        raise RuntimeError("batch intake demo: unexpected outcome")


def _register(system: System) -> None:
    system.archives.register_commune("69266", "Villeurbanne")
    system.archives.register_camera(
        "69266",
        code=CAMERA,
        place="Démonstration du versement en lot",
        kind="fixed",
        purposes=["crime_prevention"],
        authorisation_ref="AP-DEMO-LOT",
        authorised_from=date(2026, 1, 1),
        authorised_until=date(2031, 1, 1),
        authorised_retention_days=15,
        retention_days=15,
    )
