"""What every benchmark area shares: the run context, one JSON file per figure, timing helpers.

An *area* is a module of this package (``bench/ledger.py``...) with a ``PARTS`` dict mapping a
part name to a :class:`Part`: the figure names it writes and a function that takes the
:class:`Context` and yields :class:`Figure` objects. ``bench.run`` finds the areas by itself.

Every figure compares us with a *peer* measured in the same run on the same machine. Its JSON
file has exactly the keys of :data:`KEYS`; ``ratio`` is oriented so that ``ratio > 1`` always
means "we are better": ``value / peer_value`` when higher is better, ``peer_value / value``
when lower is better. The unit text says which.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = BENCH_DIR / ".cache"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"

KEYS = ("name", "value", "unit", "peer", "peer_value", "ratio")
HIGHER = "higher is better; ratio = value / peer_value"
LOWER = "lower is better; ratio = peer_value / value"

clock = time.perf_counter


@dataclass(frozen=True)
class Figure:
    """One measured figure against its peer. ``what`` and ``peer`` are free text."""

    name: str
    value: float
    unit: str  # short unit for the table: "events/s", "ms", "appends/s"
    what: str  # what exactly was measured (sizes, conditions)
    peer: str
    peer_value: float
    lower_is_better: bool = False
    target: str = ""  # the target, printed in the table only

    @property
    def ratio(self) -> float:
        if self.lower_is_better:
            return self.peer_value / self.value
        return self.value / self.peer_value

    def unit_text(self) -> str:
        return f"{self.unit} ({LOWER if self.lower_is_better else HIGHER}) — {self.what}"

    def to_json(self) -> dict[str, object]:
        if not (_positive(self.value) and _positive(self.peer_value)):
            raise ValueError(f"{self.name}: values must be finite and > 0: {self}")
        return {
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit_text(),
            "peer": self.peer,
            "peer_value": _round(self.peer_value),
            "ratio": _round(self.ratio),
        }


def _positive(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


def _round(x: float, digits: int = 6) -> float:
    """Six significant digits: plenty for timings, readable in a diff."""
    return float(f"{x:.{digits}g}")


@dataclass(frozen=True)
class Part:
    """A group of figures measured together; ``run`` yields them as they are ready."""

    figures: tuple[str, ...]
    run: Callable[[Context], Iterable[Figure]]


@dataclass
class Context:
    """Where results and caches go, how big to go, and the PostgreSQL server to use."""

    results: Path = RESULTS_DIR
    cache: Path = CACHE_DIR
    tiny: bool = False  # shrunken sizes, for the unit test
    pg_admin_url: str | None = DEFAULT_PG  # None: skip the PostgreSQL figures
    notes: list[str] = field(default_factory=list)

    def size(self, full: int, tiny: int) -> int:
        return tiny if self.tiny else full

    def note(self, text: str) -> None:
        """A line for the report under the table (not a figure)."""
        self.notes.append(text)
        print(f"  · {text}", flush=True)

    def log(self, text: str) -> None:
        print(f"    {text}", flush=True)

    def prepare(self) -> None:
        self.results.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        ignore = self.cache / ".gitignore"  # the cache ignores itself, whatever .gitignore says
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A temporary directory on the cache's file system (same disk as the cached stores)."""
        self.cache.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="scratch-", dir=self.cache))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def write_figure(results: Path, figure: Figure) -> Path:
    """Write ``<results>/<name>.json`` whole or not at all."""
    data = figure.to_json()
    path = results / f"{figure.name}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


# Timing helpers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


# PostgreSQL ----------------------------------------------------------------------------------


def pg_unavailable(admin_url: str | None) -> str | None:
    """Why PostgreSQL cannot be used (None if it can)."""
    if not admin_url:
        return "disabled"
    try:
        import psycopg

        with psycopg.connect(admin_url, connect_timeout=5):
            return None
    except Exception as exc:  # any failure means: skip, and say why
        return f"{type(exc).__name__}: {exc}".strip()


@contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the server, dropped afterwards; yields its URL."""
    import psycopg

    name = f"scelle_bench_{secrets.token_hex(5)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
