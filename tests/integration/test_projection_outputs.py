"""What leaves the views: open-data statistics without a person, anomalies, Parquet files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from evidence.bootstrap import System
from projections.anomalies import Rules, find_anomalies
from projections.parquet import export_parquet
from projections.runner import ProjectionRunner
from projections.stats import PARIS, monthly_statistics
from projections.store import open_views
from tests.builders import new_store
from tests.projection_support import OFFICER, varied_log


def _system(tmp_path: Path) -> System:
    system = new_store(tmp_path)
    varied_log(system, rounds=3)
    for _ in range(5):
        system.archives.record_denial("intrus", "segment.view", "x", "hors périmètre", "t")
    ProjectionRunner(system.settings, system).catch_up()
    return system


def test_statistics_count_the_month_and_name_nobody(tmp_path: Path) -> None:
    system = _system(tmp_path)
    views = open_views(system.settings)
    try:
        figures = monthly_statistics(views, datetime.now(PARIS).strftime("%Y-%m"))
        text = json.dumps(figures, ensure_ascii=False)
        users = views.rows("SELECT user_id, username FROM users")
    finally:
        views.close()
        system.close()
    assert figures["consultations"] == 12 and figures["zooms"] == 3
    assert figures["refus_d_acces"] == 8 and figures["purges"]["total"] == 9
    assert figures["requisitions"]["par_cadre_legal"] == {"flagrance": 3}
    for person in [str(OFFICER), "intrus", *(u["user_id"] for u in users)]:
        assert person not in text


def test_anomalies_find_bursts_of_denials_and_views_outside_missions(tmp_path: Path) -> None:
    system = _system(tmp_path)
    views = open_views(system.settings)
    try:
        hour = datetime.now(PARIS).hour
        quiet = find_anomalies(views, Rules(day_starts_hour=0, day_ends_hour=24))
        night = find_anomalies(views, Rules(day_starts_hour=(hour + 1) % 24, day_ends_hour=24))
        before = find_anomalies(views, as_of=datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        views.close()
        system.close()
    kinds = {a["kind"] for a in quiet}
    assert {"hors_mission", "rafale_de_refus"} <= kinds and "hors_horaires" not in kinds
    burst = next(a for a in quiet if a["kind"] == "rafale_de_refus")
    assert burst["actor_name"] == "intrus" and burst["count"] >= 5
    assert any(a["kind"] == "hors_horaires" for a in night) or hour == 23
    assert before == []


def test_parquet_files_hold_the_whole_access_log_and_purge_register(tmp_path: Path) -> None:
    system = _system(tmp_path)
    views = open_views(system.settings)
    try:
        paths = export_parquet(views, tmp_path / "out")
        access = len(views.access_log(limit=100_000))
        purges = len(views.purge_register())
    finally:
        views.close()
        system.close()
    tables = {p.stem: pq.read_table(p) for p in paths}
    assert tables["access_log"].num_rows == access > 0
    assert tables["purge_register"].num_rows == purges == 9
    assert tables["purge_register"].schema.metadata[b"scelle.view"] == b"purge_register"


def test_hold_orders_show_scope_extensions_and_release_as_of_any_instant(
    tmp_path: Path,
) -> None:
    system = _system(tmp_path)
    stored = system.archives.recorder.select_notifications(1, 100_000)
    mapper = system.archives.mapper
    logged = {n.topic: mapper.to_domain_event(n).timestamp for n in stored}  # last of each
    views = open_views(system.settings)
    try:
        now = views.hold_orders()
        before_release = views.hold_orders(
            as_of=logged["scelle:HoldOrder.Released"] - timedelta(microseconds=1)
        )
        before_all = views.hold_orders(as_of=datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        views.close()
        system.close()
    assert [o["status"] for o in now] == ["released", "in_force", "released"]
    assert all(o["segments"] > 0 and o["legal_basis"] == "flagrance" for o in now)
    extended = now[1]
    assert extended["expires_at"] > extended["placed_at"] + timedelta(days=7)  # 5 d, then 8 d
    assert before_release[-1]["status"] == "in_force" and before_release[-1]["released_at"] is None
    assert now[0]["release_reason"] == "classement sans suite"
    assert before_all == []


DOC = Path(__file__).resolve().parents[2] / "docs" / "FORMATS.md"


def _doc_columns(name: str) -> list[tuple[str, str]]:
    """The ``<!-- parquet:NAME -->`` table of docs/FORMATS.md §12.1: (column, Arrow type)."""
    text = DOC.read_text(encoding="utf-8").split(f"<!-- parquet:{name} -->\n", 1)[1]
    rows = re.findall(r"^\| \d+ \| `([a-z_]+)` \| ([^|]+) \|", text.split("\n\n", 1)[0], re.M)
    return [(col, kind.strip().replace("\\", "")) for col, kind in rows]


def test_formats_doc_states_the_parquet_columns_and_statistics_keys_exactly(
    tmp_path: Path,
) -> None:
    system = _system(tmp_path)
    views = open_views(system.settings)
    try:
        paths = export_parquet(views, tmp_path / "out")
        figures = monthly_statistics(views, datetime.now(PARIS).strftime("%Y-%m"))
    finally:
        views.close()
        system.close()
    for path in paths:
        schema = pq.read_schema(path)
        found = [(f.name, str(f.type).replace("element: ", "")) for f in schema]
        assert found == _doc_columns(path.stem), path.stem
        assert set(schema.metadata) == {b"scelle.view", b"scelle.as_of", b"scelle.position"}
    text = DOC.read_text(encoding="utf-8").split("### 12.2", 1)[1]
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])

    def shape(value: object) -> object:
        if isinstance(value, dict):
            return [(k, shape(v)) for k, v in value.items()]
        return type(value).__name__ if value is not None else "null"

    assert [k for k, _ in shape(figures)] == [k for k, _ in shape(example)]  # type: ignore[union-attr]
    assert shape(figures["purges"]) == shape(example["purges"])
    assert shape(figures["demandes_d_acces"]) == shape(example["demandes_d_acces"])
