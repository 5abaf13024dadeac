"""Two writers at once — each also sealing — still yield one gap-free leaf sequence."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.bootstrap import init_data_dir, open_system
from evidence.config import Settings
from evidence.model import AccessDenial
from tools.verify_store import verify_store

EVENTS_PER_WRITER = 150


def write_and_seal(data: str, url: str | None, writer: int, seal: bool = True) -> None:
    """A writer process: single-event saves, each sealed in its own transaction (or not)."""
    system = open_system(Settings(data=Path(data), database_url=url), embedded_sealing=seal)
    try:
        for i in range(EVENTS_PER_WRITER):
            system.archives.save(
                AccessDenial(
                    actor=f"writer-{writer}",
                    action="view",
                    target=str(i),
                    reason="test",
                    at=datetime.now(UTC),
                    source="concurrency-test",
                )
            )
    finally:
        system.close()


def follow(data: str, url: str | None, seconds: float) -> None:
    """A follower process sealing while the writers write (scale-out follower mode)."""
    system = open_system(Settings(data=Path(data), database_url=url), embedded_sealing=False)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            system.ledger.seal()
            time.sleep(0.01)
    finally:
        system.close()


@pytest.mark.parametrize(
    ("backend", "mode"),
    [("sqlite", "in-transaction"), ("postgres", "in-transaction"), ("postgres", "follower")],
)
def test_two_writers_yield_one_gap_free_leaf_sequence(
    backend: str, mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    settings = Settings(data=tmp_path / "data", database_url=url)
    init_data_dir(settings, "scelle.test/concurrent")
    context = multiprocessing.get_context("spawn")
    sealing = mode == "in-transaction"
    writers = [
        context.Process(target=write_and_seal, args=(str(settings.data), url, n, sealing))
        for n in (1, 2)
    ]
    if not sealing:
        writers.append(context.Process(target=follow, args=(str(settings.data), url, 6.0)))
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
        assert process.exitcode == 0
    system = open_system(settings)
    try:
        system.ledger.seal()
        system.ledger.checkpoint()
        db = system.ledger.db
        with db.read_transaction() as cur:
            leaves = [row for batch in db.iter_leaves(cur) for row in batch]
        assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
        nids = [leaf.notification_id for leaf in leaves]
        assert nids == sorted(nids) and len(set(nids)) == len(nids)
        summary = verify_store(db, system.ledger.verifier)
        assert summary.events == summary.leaves == len(leaves) >= 2 * EVENTS_PER_WRITER
    finally:
        system.close()
