"""The benchmark harness on tiny sizes: every figure it writes has the agreed JSON shape.

Runs ``python -m bench.run --tiny`` (the same entry point as ``make bench``) into temporary
results and cache directories. Nothing here looks at how fast anything is.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
KEYS = {"name", "value", "unit", "peer", "peer_value", "ratio"}


def _declared() -> set[str]:
    """Every figure the areas declare: adding a figure to an area extends this test."""
    from bench.run import area_names, load_area

    return {f for area in area_names() for part in load_area(area).values() for f in part.figures}


POSTGRES_FIGURES = {f for f in _declared() if "postgres" in f}
SQLITE_FIGURES = _declared() - POSTGRES_FIGURES


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5):
            return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("bench")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCELLE_BENCH_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--tiny",
            "--results",
            str(base / "results"),
            "--cache",
            str(base / "cache"),
            "--pg",
            PG_ADMIN_URL,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return base / "results", done.stdout


def test_every_expected_figure_is_written(bench_run: tuple[Path, str]) -> None:
    results, _ = bench_run
    expected = SQLITE_FIGURES | (POSTGRES_FIGURES if _postgres_reachable() else set())
    written = {p.stem for p in results.glob("*.json")}
    assert expected <= written, f"missing: {sorted(expected - written)}"
    assert written <= SQLITE_FIGURES | POSTGRES_FIGURES, f"unknown: {written - expected}"


def test_every_file_has_the_schema(bench_run: tuple[Path, str]) -> None:
    results, _ = bench_run
    files = sorted(results.glob("*.json"))
    assert files
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert set(data) == KEYS, path.name
        assert data["name"] == path.stem
        for key in ("unit", "peer"):
            assert isinstance(data[key], str) and data[key].strip(), (path.name, key)
        for key in ("value", "peer_value", "ratio"):
            value = data[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), (path.name, key)
            assert math.isfinite(value) and value > 0, (path.name, key, value)
        lower = "lower is better" in data["unit"]
        assert lower != ("higher is better" in data["unit"]), data["unit"]
        expected = (
            data["peer_value"] / data["value"] if lower else data["value"] / data["peer_value"]
        )
        assert math.isclose(data["ratio"], expected, rel_tol=1e-4), (path.name, data)


def test_a_table_is_printed(bench_run: tuple[Path, str]) -> None:
    results, stdout = bench_run
    for path in results.glob("*.json"):
        assert path.stem in stdout.split("Results (", 1)[1]
    assert "Load before" in stdout


def test_one_part_alone_only_touches_its_figures(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "unrelated.json").write_text("{}", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--tiny",
            "ledger.tree",
            "--results",
            str(results),
            "--cache",
            str(tmp_path / "cache"),
            "--pg",
            "off",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    from bench.run import load_area

    assert {p.stem for p in results.glob("*.json")} == {
        "unrelated",
        *load_area("ledger")["tree"].figures,
    }
