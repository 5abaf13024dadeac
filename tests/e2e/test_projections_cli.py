"""``scelle projections …``, ``scelle stats`` and ``scelle anomalies`` as an auditor runs them.

The command runs in-process (typer's runner, the same ``scelle`` application, argument
parsing and exit codes): a dozen separate processes would cost a minute of imports.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from projections.stats import PARIS
from tests.builders import new_store
from tests.projection_support import varied_log
from tools.cli import app

PAST = "2000-01-01T00:00"  # before any event: every view is empty as of then


def scelle(data: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--data", str(data), *args])


def _store(tmp_path: Path) -> tuple[Path, int]:
    system = new_store(tmp_path)
    try:
        varied_log(system, rounds=2)
        for _ in range(5):  # a burst of refusals, for the anomalies
            system.archives.record_denial("intrus", "segment.view", "x", "hors périmètre", "t")
        top = system.archives.recorder.max_notification_id()
    finally:
        system.close()
    return system.settings.data, top


def _json(data: Path, *args: str) -> list[dict[str, object]]:
    done = scelle(data, *args, "--json")
    assert done.exit_code == 0, done.output
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def test_an_auditor_updates_reads_travels_in_time_and_rebuilds_the_views(
    tmp_path: Path,
) -> None:
    data, top = _store(tmp_path)

    updated = scelle(data, "projections", "update")
    assert updated.exit_code == 0, updated.output
    assert f"vues à jour jusqu'à n° {top}." in updated.stdout
    assert (data / "views.duckdb").exists()
    again = scelle(data, "projections", "update")
    assert again.stdout.startswith("0 événement(s) appliqué(s)")

    segments = _json(data, "projections", "show", "segments", "--camera", "CAM-0", "--sans-maj")
    assert len(segments) == 12 and {"held", "purged", "kept"} <= {s["status"] for s in segments}
    orders = _json(data, "projections", "show", "ordres", "--sans-maj")
    assert [o["status"] for o in orders] == ["released", "in_force"]
    assert _json(data, "projections", "show", "acces", "--as-of", PAST) == []
    table = scelle(data, "projections", "show", "purges", "--limit", "2")
    assert table.exit_code == 0 and "purges (2)" in table.stdout

    month = datetime.now(PARIS).strftime("%Y-%m")
    out = tmp_path / "stats.json"
    stats = scelle(data, "stats", "--month", month, "--out", str(out))
    assert stats.exit_code == 0, stats.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["mois"] == month and figures["refus_d_acces"] == 7
    assert figures["purges"]["total"] == 6 and "intrus" not in out.read_text(encoding="utf-8")
    then = json.loads(scelle(data, "stats", "--month", month, "--as-of", PAST).stdout)
    assert then["consultations"] == 0 and then["cameras"]["total"] == 0

    anomalies = _json(data, "anomalies")
    assert any(a["kind"] == "rafale_de_refus" and a["actor_name"] == "intrus" for a in anomalies)
    assert _json(data, "anomalies", "--as-of", PAST) == []
    assert not any(a["kind"] == "hors_horaires" for a in _json(data, "anomalies", "--jour", "0-24"))
    hour = datetime.now(PARIS).hour
    if hour < 23:  # the accesses were made this hour: a working day starting later flags them
        late = _json(data, "anomalies", "--jour", f"{hour + 1}-24")
        assert any(a["kind"] == "hors_horaires" for a in late)

    rebuilt = scelle(data, "projections", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"sur {top} lus." in rebuilt.stdout
    assert _json(data, "projections", "show", "ordres", "--sans-maj") == orders


def test_bad_input_gets_a_french_error_and_leaves_the_views_alone(tmp_path: Path) -> None:
    data, _ = _store(tmp_path)
    bad_instant = scelle(data, "anomalies", "--as-of", "hier")
    assert bad_instant.exit_code == 2 and "date attendue au format ISO 8601" in bad_instant.stderr
    bad_month = scelle(data, "stats", "--month", "2026-13", "--sans-maj")
    assert bad_month.exit_code == 2 and "mois attendu au format AAAA-MM" in bad_month.stderr
    bad_day = scelle(data, "anomalies", "--jour", "21-7")
    assert bad_day.exit_code == 2 and "0 ≤ début < fin ≤ 24" in bad_day.stderr
    unknown = scelle(data, "projections", "show", "tout")
    assert unknown.exit_code == 2 and "vue inconnue" in unknown.stderr
    assert not (data / "views.duckdb").exists()  # refused before anything was built
