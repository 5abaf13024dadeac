"""The demo's judicial step: the requisition on VIL-001 becomes a verified evidence package."""

from __future__ import annotations

from evidence.model.security import user_id
from evidence.packages.build import produce_package
from tools.context import console
from tools.demo_steps import DemoRun
from tools.export_cli import masked_thumbnails
from tools.verify_package import verify_package


def export_step(run: DemoRun) -> None:
    """Hold, request (officer), approve (supervisor), produce under DATA/exports, verify."""
    system = run.system
    archives = system.archives
    requisition = next(
        rid
        for rid in reversed(archives.requisition_ids())
        if archives.requisition(rid).approved_by is not None
    )
    held = archives.hold_requisition_segments(requisition, user_id("chef.salle"))
    export = archives.request_requisition_export(requisition, user_id("opj.durand"))
    archives.approve_export(export, user_id("chef.salle"))
    produced = produce_package(
        system, export, run.settings.data / "exports", masked_thumbnails(system)
    )
    archives.deliver_export(
        export, user_id("opj.durand"), "Parquet de Lyon", "remise en main propre"
    )
    vkey = run.settings.log_vkey_path.read_text(encoding="utf-8")
    verdict = verify_package(produced.zip_path, vkey)
    run.extras["package"] = produced.directory
    console.print(f"  {len(held)} segment(s) sous conservation judiciaire ; paquet signé :")
    console.print(f"  {produced.directory}", markup=False)
    console.print(f"  {produced.zip_path}", markup=False)
    console.print(f"  {verdict.line()}", markup=False)
