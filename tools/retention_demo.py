"""The demo's retention step: cross the deadline on a simulated clock, purge, prove it.

Runs last (it destroys). Segments in a requisition's scope are held first, so the purge
keeps them, as the law requires of a judicial procedure.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from evidence.bootstrap import open_system
from evidence.clock import SimulatedClock
from evidence.model.security import user_id
from evidence.retention.audit import audit_storage
from evidence.retention.purge import PurgeRunner
from evidence.retention.report import build_purge_report
from tools.context import console
from tools.demo_steps import DemoRun
from tools.report_cli import STATUS_LABELS
from tools.verify_report import read_report, verify_report

COMMUNE = "69266"


def retention_step(run: DemoRun) -> None:
    archives = run.system.archives
    requisitions = [
        UUID(str(n.originator_id))
        for n in archives.recorder.select_notifications(
            1, 1_000, topics=["scelle:Requisition.Registered"]
        )
    ]
    opj = user_id("opj.durand")
    held = set()
    for requisition in requisitions:
        expires = archives.clock.now() + timedelta(days=180)
        held |= set(archives.hold_for_requisition(requisition, opj, expires))
    console.print(
        f"  {len(held)} segment(s) conservé(s) pour {len(requisitions)} réquisition(s) "
        "(conservation judiciaire, 180 jours)"
    )
    deadlines = [archives.segment(s).deadline for s in run.segments]
    if not deadlines:
        console.print("  aucun segment enregistré : rien à purger")
        return
    clock = SimulatedClock(max(deadlines) + timedelta(minutes=1))
    console.print(
        f"  horloge simulée avancée au {clock.now():%Y-%m-%d %H:%M:%S} UTC, après l'échéance"
    )
    system = open_system(run.settings, clock=clock)
    try:
        summary = PurgeRunner(system).run_once()
        console.print(
            f"  purge : {summary.purged} segment(s) détruit(s) (clé effacée, vidéo, vignette et "
            f"rendus supprimés), {summary.skipped_held} conservé(s) par une mesure "
            "(réquisition, demande d'accès)"
        )
        out = run.settings.data / "reports" / f"purges-{COMMUNE}-demo"
        period = (run.start - timedelta(days=1), run.start + timedelta(days=1))
        written = build_purge_report(system, COMMUNE, *period, out)
        vkey = run.settings.log_vkey_path.read_text(encoding="utf-8")
        verdict = verify_report(read_report(written.path), vkey)
        counts = ", ".join(f"{n} {STATUS_LABELS[s]}" for s, n in sorted(verdict.counts.items()))
        state = "OK" if not verdict.findings else f"{len(verdict.findings)} anomalie(s)"
        console.print(
            f"  rapport de purge vérifié hors ligne : {state} ({counts}) — {written.path}",
            markup=False,
        )
        audit = audit_storage(system)
        console.print(
            "  audit du stockage : "
            + ("rien au-delà de son échéance, rien d'orphelin" if audit.clean else "ANOMALIES")
        )
    finally:
        system.close()
