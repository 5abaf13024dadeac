"""The demo's projections step: the views built from the log, as operators and the public see
them — coverage per camera, the access log's last entries, the month's open-data figures."""

from __future__ import annotations

from datetime import datetime

from projections.runner import ProjectionRunner
from projections.stats import PARIS, monthly_statistics
from projections.store import open_views
from tools.context import console
from tools.demo_steps import DemoRun

KIND_FR = {
    "view": "consultation",
    "zoom": "zoom",
    "mask_applied": "masquage appliqué",
    "mask_lifted": "masque levé",
    "rendition_derived": "rendu dérivé",
    "denial": "refus d'accès",
    "export_requested": "export demandé",
    "export_approved": "export approuvé",
    "export_produced": "export produit",
    "export_delivered": "export remis",
}


def _hm(value: datetime) -> str:
    return value.astimezone(PARIS).strftime("%H:%M")


def show_views(run: DemoRun) -> None:
    runner = ProjectionRunner(run.settings, run.system)
    try:
        done = runner.catch_up()
    finally:
        runner.close()
    console.print(f"  {done.applied} événement(s) projetés dans {run.settings.data}/views.duckdb")
    views = open_views(run.settings)
    try:
        console.print("  Couverture par caméra :")
        for row in views.coverage():
            gaps = len(row["gaps"])
            console.print(
                f"    {row['camera_code']} : {row['segments']} segment(s), "
                f"{row['recorded_seconds'] / 60:.1f} min de {_hm(row['first_start'])} à "
                f"{_hm(row['last_end'])}, {gaps} trou(s)"
            )
        console.print("  Dernières entrées du journal des accès :")
        for row in views.access_log(limit=5):
            console.print(
                f"    {_hm(row['logged_at'])} {KIND_FR.get(row['kind'], row['kind'])} — "
                f"{row['actor_name'] or 'système'}"
                + (f", {row['camera_code']}" if row["camera_code"] else "")
                + (f", finalité {row['purpose']}" if row["purpose"] else ""),
                markup=False,
            )
        held = {h["segment_id"] for h in views.holds()}
        orders = [o for o in views.hold_orders() if o["status"] == "in_force"]
        console.print(
            f"  Conservations en vigueur : {len(held)} segment(s) retenu(s) au-delà de leur "
            f"échéance, {len(orders)} ordre(s) de conservation"
        )
        month = datetime.now(PARIS).strftime("%Y-%m")
        figures = monthly_statistics(views, month)
        console.print(
            f"  Statistiques ouvertes de {month} : {figures['cameras']['total']} caméras, "
            f"{figures['segments_enregistres']} segments ({figures['heures_enregistrees']} h), "
            f"{figures['consultations']} consultation(s), {figures['refus_d_acces']} refus, "
            f"{figures['requisitions']['total']} réquisition(s), "
            f"{figures['purges']['total']} purge(s)"
        )
    finally:
        views.close()
