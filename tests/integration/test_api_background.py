"""What ``scelle serve`` runs beside the API: the purge scheduler and the views' follower.

A running app (real SQLite, vault, DuckDB views) with its background threads on a short
interval and a simulated business clock: a segment past its deadline gets purged without
anyone asking, and the listing shows it purged; a segment recorded a moment earlier is listed
at once (read-your-writes), and so is a refusal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.background import Background
from api.context import ApiContext
from evidence.bootstrap import System, init_data_dir, open_system
from evidence.clock import SimulatedClock
from evidence.config import Settings
from tests.api_support import FAST_HASHES, START, add_account, login
from tests.builders import register_camera
from tests.retention_support import blob_files, store_segments

CAM = "CAM-BG"


@dataclass
class Running:
    system: System
    clock: SimulatedClock
    client: TestClient
    background: Background
    headers: dict[str, str]

    @property
    def context(self) -> ApiContext:
        found: ApiContext = self.client.app.state.scelle  # type: ignore[attr-defined]
        return found


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    settings = Settings(data=tmp_path / "data")
    init_data_dir(settings, "scelle.test/log")
    clock = SimulatedClock(START + timedelta(hours=1))
    system = open_system(settings, clock=clock)
    register_camera(system, CAM)
    app = create_app(settings, system, FAST_HASHES)
    with TestClient(app) as client:
        context: ApiContext = app.state.scelle
        add_account(system, context, "op", "operator", "69266")
        add_account(system, context, "ethique", "ethics", "69266")
        fast = FAST_HASHES.model_copy(
            update={"purge_interval_seconds": 0.05, "projection_interval_seconds": 0.05}
        )
        background = Background(system, fast, context.listings)
        headers = {"Authorization": f"Bearer {login(client, 'op')}"}
        yield Running(system, clock, client, background, headers)
        background.stop()
    system.close()


def eventually(condition: Callable[[], bool], limit: float = 60.0) -> bool:
    """Poll until the background thread has done its work (a bound, not a timing claim)."""
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def purged(system: System) -> set[object]:
    found = system.archives.recorder.select_notifications(
        1, 100_000, topics=["scelle:Segment.Purged"]
    )
    return {n.originator_id for n in found}


def test_a_running_server_purges_a_due_segment_on_its_own(running: Running) -> None:
    due = store_segments(running.system, CAM, 2, START)
    running.background.start()
    assert set(running.background.names) >= {"purge", "projections"}
    running.clock.advance(timedelta(days=16))  # past the camera's 15 days
    assert eventually(lambda: purged(running.system) == set(due))
    assert not set(_blobs(running.system, due)) & blob_files(running.system)
    listed = running.client.get(f"/cameras/{CAM}/segments", headers=running.headers).json()
    assert [(row["id"], row["status"]) for row in listed] == [(str(s), "purged") for s in due]


def test_a_listing_sees_a_segment_recorded_a_moment_earlier(running: Running) -> None:
    assert running.client.get(f"/cameras/{CAM}/segments", headers=running.headers).json() == []
    first = store_segments(running.system, CAM, 1, START)
    listed = running.client.get(f"/cameras/{CAM}/segments", headers=running.headers).json()
    assert [row["id"] for row in listed] == [str(first[0])]
    assert listed[0]["status"] == "kept"
    one = running.client.get(f"/segments/{first[0]}", headers=running.headers)
    assert one.status_code == 200 and one.json()["sha256"] == listed[0]["sha256"]


def test_refusals_are_listed_from_the_views_newest_first(running: Running) -> None:
    for _ in range(3):
        refused = running.client.get("/users", headers=running.headers)
        assert refused.status_code == 403
    ethics = {"Authorization": f"Bearer {login(running.client, 'ethique')}"}
    page = running.client.get("/audit/denials?limit=2", headers=ethics)
    assert page.status_code == 200
    rows = page.json()
    assert len(rows) == 2 and rows[0]["position"] > rows[1]["position"]
    assert rows[0]["actor"] == "op" and rows[0]["action"] == "user.list"
    assert rows[0]["reason"].startswith("no role of ['operator'] may user.list")
    assert rows[0]["source"] == "api:testclient"


def _blobs(system: System, segments: list[object]) -> list[str]:
    ids = []
    for segment_id in segments:
        segment = system.archives.segment(segment_id)  # type: ignore[arg-type]
        ids.append(segment.blob_id)
    return ids
