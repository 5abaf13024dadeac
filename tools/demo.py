"""``scelle demo``: the whole product as it stands, on the embedded defaults.

Each capability adds its step here; anything long-running (serving) comes after it in
``make demo``, never inside it.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from evidence.bootstrap import System, init_data_dir, ledger_db, open_system, read_verifier
from evidence.model import PrivacyZone
from evidence.model.security import user_id
from ingest.pipeline import Ingestor
from ingest.simulate import record_simulated
from ingest.watch import FolderWatch
from tools.context import console, fail, state
from tools.demo_steps import CAPABILITY_STEPS, DemoRun
from tools.verify_proof import verify_inclusion_file
from tools.verify_store import StoreVerificationFailed, verify_store

DEMO_MARKER = ".scelle-demo"
COMMUNES = {"69266": "Villeurbanne", "69256": "Vaulx-en-Velin"}
CAMERAS = [
    ("VIL-001", "69266", "Place Lazare-Goujon", "fixed"),
    ("VIL-002", "69266", "Cours Émile-Zola / Gratte-Ciel", "ptz"),
    ("VIL-003", "69266", "Parvis de la gare", "fixed"),
    ("VAU-001", "69256", "Place de la Nation", "ptz"),
]
USERS = [
    ("admin", "admin"),
    ("chef.salle", "supervisor"),
    ("operateur", "operator"),
    ("opj.durand", "officer"),
    ("comite.ethique", "ethics"),
    ("inspecteur", "inspector"),
    ("dpo", "dpo"),
    ("magistrat", "magistrate"),
]


def _prepare(data: Path, fresh: bool) -> None:
    if data.exists() and any(data.iterdir()):
        if not (data / DEMO_MARKER).exists():
            raise fail(
                f"{data} contient déjà des données qui ne sont pas celles d'une démo ; "
                "choisissez un autre --data"
            )
        if not fresh:
            raise fail(f"{data} contient une démo précédente ; relancez avec --fresh")
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    (data / DEMO_MARKER).write_text("données de démonstration\n", encoding="utf-8")


def _register(system: System) -> None:
    archives = system.archives
    for insee, name in COMMUNES.items():
        archives.register_commune(insee, name)
    for code, insee, place, kind in CAMERAS:
        archives.register_camera(
            insee,
            code=code,
            place=place,
            kind=kind,
            purposes=["crime_prevention", "traffic_regulation"],
            authorisation_ref=f"Arrêté préfectoral 2026-{insee}-VP",
            authorised_from=date(2026, 1, 1),
            authorised_until=date(2031, 1, 1),
            authorised_retention_days=15,
            retention_days=15,
        )
    admin = None
    for username, role in USERS:
        archives.create_user(username, admin)
        communes = [archives.commune(i).id for i in COMMUNES] if role != "admin" else []
        archives.grant_role(username, role, communes, admin)
        admin = admin or user_id("admin")
    archives.define_privacy_zone(
        "VIL-002",
        PrivacyZone(
            "facade-12",
            ((0.62, 0.10), (0.95, 0.10), (0.95, 0.55), (0.62, 0.55)),
            "Façade d'immeuble d'habitation, n° 12",
            "solid",
        ),
        user_id("chef.salle"),
    )
    console.print(
        f"  {len(COMMUNES)} communes, {len(CAMERAS)} caméras, {len(USERS)} comptes, "
        "1 zone de masquage"
    )


FOOTAGE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pedestrians-720p.avi"
#: (camera, source, segments, seconds each, width, height): several minutes of video.
RECORDINGS = [
    ("VIL-001", "lavfi", 3, 60, 640, 360),
    ("VIL-002", "lavfi", 2, 60, 640, 360),
    ("VAU-001", "lavfi", 2, 60, 640, 360),
    ("VIL-003", "footage", 2, 30, 1280, 720),
]


def _record_video(system: System, start: datetime) -> list[UUID]:
    """Simulated cameras record into watch folders; ingest takes each finished segment."""
    ingestor = Ingestor(system)
    recorded: list[UUID] = []
    with tempfile.TemporaryDirectory(prefix="scelle-cameras-") as spool:
        for code, source, count, seconds, width, height in RECORDINGS:
            if source == "footage" and not FOOTAGE.exists():
                console.print(f"  {code} : séquence réelle absente ({FOOTAGE}), caméra ignorée")
                continue
            folder = Path(spool) / code
            folder.mkdir()
            record_simulated(
                folder,
                code,
                start,
                count,
                seconds,
                width,
                height,
                25,
                source=source,  # type: ignore[arg-type]
                footage_path=FOOTAGE if source == "footage" else None,
            )
            watch = FolderWatch(folder)
            outcomes = [ingestor.ingest(p, code, root=folder) for p in watch.finished(drain=True)]
            ids = [o.segment_id for o in outcomes if o.status == "recorded" and o.segment_id]
            recorded += ids
            size = sum(o.size for o in outcomes) / 1e6
            console.print(
                f"  {code} : {len(ids)} segment(s) de {seconds} s versé(s), "
                f"{size:.1f} Mo chiffrés ({'séquence réelle' if source == 'footage' else 'mire'})"
            )
    return recorded


def _record_facts(system: System, segments: list[UUID], start: datetime) -> None:
    archives = system.archives
    operator = user_id("operateur")
    mission = archives.assign_mission(
        operator_id=operator,
        task="Surveillance du marché de nuit",
        camera_ids=[archives.camera("VIL-001").id],
        window_start=start,
        window_end=start + timedelta(hours=8),
        requesting_partner="Police municipale",
        assigned_by=user_id("chef.salle"),
    )
    archives.record_view(
        segments[0],
        actor_id=operator,
        purpose="mission",
        mission_id=mission,
        range_start=0.0,
        range_end=60.0,
        masked=True,
        on_behalf_of=None,
    )
    requisition = archives.register_requisition(
        "Parquet de Lyon",
        "2026/1121/042",
        "flagrance",
        ["VIL-001"],
        [(start, start + timedelta(minutes=10))],
        user_id("opj.durand"),
    )
    archives.approve_requisition(requisition, user_id("chef.salle"))
    archives.record_denial(
        "comite.ethique", "segment.view", str(segments[0]), "role without image access", "demo"
    )
    console.print(
        "  1 mission, 1 consultation tracée, 1 réquisition approuvée, 1 refus d'accès tracé"
    )


def demo(
    ctx: typer.Context,
    fresh: Annotated[bool, typer.Option(help="Effacer une démo précédente.")] = False,
) -> None:
    """Run the whole product on a demo data directory and verify it."""
    settings = state(ctx).settings()
    if settings.database_url:
        raise fail("la démo tourne sur les réglages embarqués (SQLite), sans --database-url")
    _prepare(settings.data, fresh)
    console.rule("[bold]Scellé — démonstration")
    number = iter(range(1, 100))
    console.print(f"{next(number)}. Initialisation de {settings.data}")
    vkey = init_data_dir(settings, "scelle.local/demo-csu-villeurbanne")
    console.print(f"  clé publique du journal : {vkey}")
    system = open_system(settings)
    try:
        console.print(f"{next(number)}. Communes, caméras, comptes et zones de masquage")
        _register(system)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        console.print(
            f"{next(number)}. Caméras simulées : enregistrement, versement chiffré et scellé"
        )
        segments = _record_video(system, start)
        console.print(f"{next(number)}. Faits enregistrés")
        _record_facts(system, segments, start)
        run = DemoRun(settings=settings, system=system, segments=segments, start=start)
        for title, step in CAPABILITY_STEPS:
            console.print(f"{next(number)}. {title}")
            step(run)
        console.print(f"{next(number)}. Point de contrôle signé")
        note = system.ledger.checkpoint()
        console.print("  " + note.replace("\n", "\n  ").rstrip(), markup=False)
        console.print(f"{next(number)}. Preuve d'inclusion d'un événement, vérifiée hors ligne")
        proof = system.ledger.inclusion_proof(3)
        proof_path = settings.data / "proofs" / "event-3.tlog-proof"
        proof_path.parent.mkdir(exist_ok=True)
        proof_path.write_text(proof, encoding="utf-8")
        verdict = verify_inclusion_file(proof, read_verifier(settings.log_vkey_path))
        console.print(f"  {proof_path} : OK (feuille {verdict.index} / {verdict.tree_size})")
    finally:
        system.close()
    console.print(f"{next(number)}. Vérification complète du journal")
    outside = [
        (p.read_text(encoding="utf-8"), str(p))
        for p in sorted(settings.checkpoints_dir.glob("*.checkpoint"))
    ]
    try:
        summary = verify_store(ledger_db(settings), read_verifier(settings.log_vkey_path), outside)
    except StoreVerificationFailed as exc:
        for failure in exc.failures:
            console.print(f"FAIL: {failure}", markup=False)
        raise typer.Exit(1) from None
    console.print(
        f"OK: {summary.events} événements scellés, chaîne, arbre et "
        f"{summary.checkpoints + summary.outside_checkpoints} points de contrôle "
        "vérifiés.",
        markup=False,
    )
