"""``python -m bench.run [AREA | AREA.PART ...]``: measure, one JSON file per figure, a table.

With no names, every area runs. An area is any module of the ``bench`` package (other than
``common`` and ``run``) that defines ``PARTS``; ``--list`` shows them. A figure whose part
runs but cannot be measured (PostgreSQL unreachable...) is removed rather than left stale.

Environment (the options win): ``SCELLE_BENCH_TINY=1`` shrinks every size (tests),
``SCELLE_BENCH_RESULTS`` / ``SCELLE_BENCH_CACHE`` move the output and cache directories,
``SCELLE_BENCH_PG`` is the PostgreSQL admin URL (``off`` to skip PostgreSQL).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

import bench
from bench.common import (
    CACHE_DIR,
    DEFAULT_PG,
    REPO_DIR,
    RESULTS_DIR,
    Context,
    Figure,
    Part,
    load_average,
    write_figure,
)

NOT_AREAS = {"common", "run"}


def area_names() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name not in NOT_AREAS and not m.name.startswith("_")
    )


def load_area(name: str) -> dict[str, Part]:
    module: ModuleType = importlib.import_module(f"bench.{name}")
    parts = getattr(module, "PARTS", None)
    if not isinstance(parts, dict):
        raise SystemExit(f"bench/{name}.py defines no PARTS dict")
    return parts


def select(names: list[str]) -> list[tuple[str, str, Part]]:
    """Resolve ``area`` / ``area.part`` names, in the order given (all areas if none)."""
    known = area_names()
    chosen: list[tuple[str, str, Part]] = []
    for name in names or known:
        area, _, part = name.partition(".")
        if area not in known:
            raise SystemExit(f"unknown area {area!r}; known: {', '.join(known)}")
        parts = load_area(area)
        if part and part not in parts:
            raise SystemExit(f"unknown part {name!r}; {area} has: {', '.join(parts)}")
        for key, value in parts.items():
            if (not part or key == part) and (area, key, value) not in chosen:
                chosen.append((area, key, value))
    return chosen


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            check=False,
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            check=False,
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (+ uncommitted changes)' if dirty else ''}"


def _fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.4f}"


def table(figures: list[Figure], skipped: list[tuple[str, str]]) -> str:
    rows = [("figure", "ours", "peer", "unit", "ratio", "target")]
    for f in figures:
        rows.append((f.name, _fmt(f.value), _fmt(f.peer_value), f.unit, f"{f.ratio:.3g}", f.target))
    for name, why in skipped:
        rows.append((name, "—", "—", "", "", f"not measured: {why}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    align = ["<", ">", ">", "<", ">", "<"]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(f"{c:{a}{w}}" for c, a, w in zip(row, align, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", help="areas or area.part to run (default: all)")
    parser.add_argument(
        "--tiny",
        action="store_true",
        default=os.environ.get("SCELLE_BENCH_TINY", "") not in ("", "0"),
        help="shrink every size (for tests; figures keep their names)",
    )
    parser.add_argument(
        "--results", type=Path, default=Path(os.environ.get("SCELLE_BENCH_RESULTS", RESULTS_DIR))
    )
    parser.add_argument(
        "--cache", type=Path, default=Path(os.environ.get("SCELLE_BENCH_CACHE", CACHE_DIR))
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("SCELLE_BENCH_PG", DEFAULT_PG),
        help="PostgreSQL admin URL, or 'off'",
    )
    parser.add_argument("--list", action="store_true", help="list areas, parts and figures")
    args = parser.parse_args(argv)

    if args.list:
        for area, key, part in select(args.names):
            print(f"{area}.{key}: {', '.join(part.figures)}")
        return 0

    chosen = select(args.names)
    ctx = Context(
        results=args.results,
        cache=args.cache,
        tiny=args.tiny,
        pg_admin_url=None if args.pg in ("", "off") else args.pg,
    )
    ctx.prepare()
    load_before = load_average()
    print(
        f"bench: {'TINY sizes, ' if ctx.tiny else ''}results in {ctx.results}, "
        f"cache in {ctx.cache}",
        flush=True,
    )
    print(f"bench: code {git_state()}; load before: {load_before}", flush=True)
    started = time.perf_counter()
    produced: list[Figure] = []
    skipped: list[tuple[str, str]] = []
    failed: list[str] = []
    for area, key, part in chosen:
        for name in part.figures:  # never leave a stale figure from an earlier run
            (ctx.results / f"{name}.json").unlink(missing_ok=True)
        print(f"\n== {area}.{key} ==", flush=True)
        t0 = time.perf_counter()
        done: set[str] = set()
        try:
            for figure in part.run(ctx):
                if figure.name not in part.figures:
                    raise ValueError(f"{area}.{key} yielded undeclared figure {figure.name!r}")
                write_figure(ctx.results, figure)
                produced.append(figure)
                done.add(figure.name)
                print(
                    f"  {figure.name}: {_fmt(figure.value)} {figure.unit} vs "
                    f"{_fmt(figure.peer_value)} (ratio {figure.ratio:.3g})",
                    flush=True,
                )
        except Exception:
            traceback.print_exc()
            failed.append(f"{area}.{key}")
            why = "FAILED (see traceback)"
        else:
            why = "skipped (see notes)"
        skipped += [(n, why) for n in part.figures if n not in done]
        print(f"  ({area}.{key} took {time.perf_counter() - t0:.1f} s)", flush=True)

    elapsed = time.perf_counter() - started
    print(
        f"\nResults ({len(produced)} figures in {ctx.results}; every ratio is oriented so "
        "that higher is better, see the target column):\n"
    )
    print(table(produced, skipped))
    if ctx.notes:
        print("\nNotes:")
        for text in ctx.notes:
            print(f"  · {text}")
    print(f"\nLoad before: {load_before}\nLoad after:  {load_average()}\nTotal: {elapsed:.0f} s")
    if failed:
        print(f"FAILED parts: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
