"""Shared by the ingest integration tests: real archives, the real CLI, events read raw.

Events are read straight from ``events.sqlite`` (their JSON state), not through the
application, so a test checks what is *stored*, whatever the read side believes.

Run as a module, this file is the ``scelle`` command with one deterministic crash point:
``python -m tests.ingest_support POINT scelle-args…`` patches the named step so the process
SIGKILLs itself there (a real kill: no ``finally``, no ``atexit``, no flush), then runs the CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCELLE = str(Path(sys.executable).parent / "scelle")
CAMERA = "CAM01"

#: Segment names need a start in the past: the watch folder takes a file only once its
#: modification time (the simulator sets it to the segment's end) is behind the clock.
PAST = (datetime.now(UTC) - timedelta(days=1)).replace(hour=5, minute=0, second=0, microsecond=0)


# --------------------------------------------------------------------------- processes


def scelle(
    data: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``scelle --data DATA args…`` to completion."""
    return subprocess.run(
        [SCELLE, "--data", str(data), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def crashing_command(point: str, data: Path, *args: str) -> list[str]:
    """argv of ``scelle --data DATA args…`` that SIGKILLs itself at ``point``."""
    return [sys.executable, "-m", "tests.ingest_support", point, "--data", str(data), *args]


def run_crashing(point: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        crashing_command(point, data, *args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def assert_store_verifies(data: Path) -> str:
    """``scelle verify store`` exits 0 and says OK; return its report."""
    result = scelle(data, "verify", "store")
    assert result.returncode == 0, f"verify store failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.startswith("OK:"), result.stdout
    return result.stdout


# --------------------------------------------------------------------------- archives


def new_archive(root: Path, cameras: tuple[str, ...] = (CAMERA,)) -> Path:
    """A fresh, initialised data directory with ``cameras`` registered; return its path."""
    from evidence.bootstrap import init_data_dir
    from evidence.config import Settings
    from tests.builders import register_camera

    data = root / "data"
    init_data_dir(Settings(data=data), "scelle.test/ingest")
    with opened(data) as system:
        for code in cameras:
            register_camera(system, code)
    return data


@contextmanager
def opened(data: Path) -> Iterator[Any]:
    """The archive in this process; always closed again before a subprocess touches it."""
    from evidence.bootstrap import open_system
    from evidence.config import Settings

    system = open_system(Settings(data=data))
    try:
        yield system
    finally:
        system.close()


def events(data: Path, topic: str) -> list[dict[str, Any]]:
    """Stored events of one topic, in log order, as their JSON state plus ``originator_id``."""
    with closing(sqlite3.connect(data / "events.sqlite")) as db:
        rows = db.execute(
            "SELECT originator_id, state FROM stored_events WHERE topic = ? ORDER BY rowid",
            (topic,),
        ).fetchall()
    return [{"originator_id": oid, **json.loads(state)} for oid, state in rows]


def topic_counts(data: Path) -> dict[str, int]:
    with closing(sqlite3.connect(data / "events.sqlite")) as db:
        rows = db.execute("SELECT topic, COUNT(*) FROM stored_events GROUP BY topic").fetchall()
    return dict(rows)


def recorded(data: Path) -> list[dict[str, Any]]:
    return events(data, "scelle:Segment.Recorded")


def quarantined(data: Path) -> list[dict[str, Any]]:
    return events(data, "scelle:QuarantinedFile.Recorded")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_blob_files(data: Path) -> list[Path]:
    """Half-written blobs (``.<id>.<rand>.tmp``) the blob store never lists as blobs."""
    return sorted((data / "blobs").rglob(".*.tmp"))


def content_problems(data: Path, *, orphans_allowed: bool = False) -> list[str]:
    """Everything wrong between the log and the content store, as readable lines.

    Every recorded segment's blob must decrypt to its recorded digest and size, and its
    thumbnail to a JPEG; nothing the log owns may be missing. Unless ``orphans_allowed`` (the
    state a crash may leave before reconciliation), no blob or key may exist that the log
    does not own either.
    """
    problems: list[str] = []
    facts = recorded(data)
    with opened(data) as system:
        vault = system.vault
        for fact in facts:
            name = fact["source_name"]
            try:
                vault.verify(fact["blob_id"], fact["sha256"], fact["size"])
            except Exception as exc:
                problems.append(f"segment {name}: blob {exc!r}")
            thumb = fact["thumbnail_blob_id"]
            if thumb is None:
                problems.append(f"segment {name}: no thumbnail")
                continue
            try:
                if not vault.read_all(thumb).startswith(b"\xff\xd8"):
                    problems.append(f"segment {name}: thumbnail is not a JPEG")
            except Exception as exc:
                problems.append(f"segment {name}: thumbnail {exc!r}")
        report = vault.orphans(system.archives.live_blob_ids())
    fields = ["missing_blobs", "missing_keys", "unrecorded_purges"]
    if not orphans_allowed:
        fields += ["orphan_blobs", "orphan_keys"]
    problems += [f"{field}: {getattr(report, field)}" for field in fields if getattr(report, field)]
    return problems


def orphans(data: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(orphan blobs, orphan keys): content a crash left with no event, before reconciliation."""
    with opened(data) as system:
        report = system.vault.orphans(system.archives.live_blob_ids())
    return report.orphan_blobs, report.orphan_keys


# --------------------------------------------------------------------------- crash points


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_around(
    owner: Any, name: str, *, before: bool, when: Callable[..., bool] = lambda *a, **k: True
) -> None:
    """Replace ``owner.name`` so that its first call for which ``when(*args)`` holds SIGKILLs
    the process, before the call or right after it returns (from whichever thread)."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not when(*args, **kwargs):
            return original(*args, **kwargs)
        if before:
            _die()
        result = original(*args, **kwargs)
        _die()
        return result

    setattr(owner, name, wrapper)


def _is_rendition(vault: Any, blob_id: str, *args: Any, **kwargs: Any) -> bool:
    return "." in blob_id  # ``<owner>.thumb``: stored under its owner's key, after it


#: Each crash point is a boundary of the write order, named by a stable seam (the key table,
#: the blob store, the vault, the application), not by the pipeline's private helpers.
CRASH_POINTS: dict[str, str] = {
    "after-key": "a data key is durable, nothing is written with it yet",
    "before-blob-link": "ciphertext written and fsynced under its temporary name, not linked",
    "before-thumbnail": "a segment's blob is stored, its thumbnail not yet",
    "before-event": "blob and thumbnail stored, no event yet",
    "after-event": "the event is committed (and sealed), the source not yet removed",
    "before-duplicate-shred": "a duplicate found (its event exists), our fresh copy not shredded",
    "before-quarantine-event": "a refused file moved into quarantine, its refusal not recorded",
    "reconcile-before-blob-delete": "an orphan's key destroyed, its blob not yet deleted",
}


def _install(point: str) -> None:
    from evidence.application import Archives
    from evidence.content import blobs
    from evidence.content.keys import KeyTable
    from evidence.content.vault import ContentVault

    if point == "after-key":
        _kill_around(KeyTable, "create", before=False)
    elif point == "before-blob-link":
        _kill_around(blobs.os, "link", before=True)
    elif point == "before-thumbnail":
        _kill_around(ContentVault, "put", before=True, when=_is_rendition)
    elif point in ("before-event", "after-event"):
        _kill_around(Archives, "record_segment", before=point == "before-event")
    elif point == "before-duplicate-shred":
        _kill_around(ContentVault, "shred", before=True)
    elif point == "before-quarantine-event":
        _kill_around(Archives, "record_quarantine", before=True)
    elif point == "reconcile-before-blob-delete":
        _kill_around(blobs.FilesystemBlobStore, "delete", before=True)
    else:
        raise SystemExit(f"unknown crash point {point!r}: one of {', '.join(CRASH_POINTS)}")


def main() -> None:
    point, *args = sys.argv[1:]
    _install(point)
    from tools.cli import app

    sys.argv = ["scelle", *args]
    app()


if __name__ == "__main__":
    main()
