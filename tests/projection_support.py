"""A log with every kind of fact the views read, and a dump of every view's table.

The facts go through the application and the aggregates themselves (no hand-written events),
so the views are tested against exactly what the archive stores.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb

from evidence.bootstrap import System
from evidence.model import Hold, PrivacyZone
from evidence.model.security import user_id
from projections.runner import ProjectionRunner
from projections.schema import TABLES
from tests.builders import T0, record_segments, register_camera

OPERATOR, SUPERVISOR, OFFICER = user_id("op"), user_id("chef"), user_id("opj")


def varied_log(system: System, rounds: int = 1, seed: int = 7) -> None:
    """``rounds`` x (about 60 events): segments, views, zooms, holds, purges, judicial facts."""
    rng = random.Random(seed)
    a = system.archives
    for r in range(rounds):
        code = f"CAM-{r % 3}"
        try:
            a.camera(code)
        except Exception:
            register_camera(system, code)
            a.create_user(f"user-{r}", None)
            a.grant_role(f"user-{r}", "operator", [], None)
        start = T0 + timedelta(hours=r, minutes=20 * seed)
        segments = record_segments(system, code, 12, start)
        mission = a.assign_mission(
            operator_id=OPERATOR,
            task="ronde",
            camera_ids=[a.camera(code).id],
            window_start=datetime.now(UTC) - timedelta(hours=1),
            window_end=datetime.now(UTC) + timedelta(hours=1),
            requesting_partner=None,
            assigned_by=SUPERVISOR,
        )
        for seg in rng.sample(segments, 4):
            a.record_view(
                seg,
                actor_id=OPERATOR,
                purpose="mission",
                mission_id=mission if rng.random() < 0.5 else None,
                range_start=0.0,
                range_end=30.0,
                masked=True,
                on_behalf_of=None,
            )
        a.record_zoom(
            segments[1],
            actor_id=OFFICER,
            purpose="crime_prevention",
            mission_id=None,
            at_seconds=3.0,
            region=[0.1, 0.1, 0.5, 0.5],
            zones_triggered=["z1"],
        )
        now = datetime.now(UTC)
        held = a.segment(segments[2])
        held.place_hold(_hold(f"h{r}", now + timedelta(days=3)), OFFICER, now)
        a.save(held)
        if r % 2:
            held = a.segment(segments[2])
            held.extend_hold(f"h{r}", now + timedelta(days=9), OFFICER, "prolongée", now)
            a.save(held)
        else:
            held = a.segment(segments[2])
            held.lift_hold(f"h{r}", SUPERVISOR, "classement", now)
            a.save(held)
        old = a.segment(segments[3])  # the first hold events (Held, Released) stay readable
        old.hold(_hold(f"old{r}", now + timedelta(days=1)), OFFICER)
        old.release(f"old{r}", SUPERVISOR, "fin")
        old.hold(_hold(f"old{r}", now + timedelta(days=2)), OFFICER)
        a.save(old)
        for seg in segments[-3:]:
            purged = a.segment(seg)
            purged.start_purge(deadline=purged.deadline, started_at=now)
            purged.record_purge(
                deadline=purged.deadline,
                purged_at=now,
                lateness_seconds=float(rng.randint(0, 90)),
                key_destroyed=True,
                blobs_deleted=[purged.blob_id],
            )
            a.save(purged)
        order = a.place_hold(  # a hold order over the round's first hour (retention's use case)
            "judicial",
            f"PV {r}",
            [code],
            [(start, start + timedelta(minutes=30))],
            now + timedelta(days=5),
            OFFICER,
            legal_basis="flagrance",
            authority="Parquet",
        )
        if r % 2:
            a.extend_hold(order, now + timedelta(days=8), OFFICER, "prolongée")
        else:
            a.release_hold(order, SUPERVISOR, "classement sans suite")
        req = a.register_requisition(
            "Parquet",
            f"2026/{r}",
            "flagrance",
            [code],
            [(start, start + timedelta(hours=1))],
            OFFICER,
        )
        a.approve_requisition(req, SUPERVISOR)
        export = a.request_export(req, segments[:2], OFFICER)
        a.approve_export(export, SUPERVISOR)
        lifted = a.segment(segments[0])
        lifted.lift_mask(req, OFFICER, SUPERVISOR)
        a.save(lifted)
        a.record_denial(f"intrus-{r % 2}", "segment.view", str(segments[0]), "hors périmètre", "t")
        if r % 3 == 0:
            a.define_privacy_zone(
                code,
                PrivacyZone(f"z{r}", ((0.1, 0.1), (0.2, 0.1), (0.2, 0.2)), "porte", "blur"),
                SUPERVISOR,
            )
            a.change_retention(code, 10 + r % 5, f"AP-{r}")
        if r % 3 == 1:
            camera = a.camera(code)
            if camera.zones:
                a.remove_privacy_zone(code, next(iter(camera.zones)), SUPERVISOR, "démolie")
        a.close_mission(mission, SUPERVISOR)


def _hold(hold_id: str, expires: datetime) -> Hold:
    return Hold(hold_id, "judicial", "PV 42", expires, "flagrance", "Parquet")


def dump(path: Path) -> dict[str, Any]:
    """Every view's rows (sorted) and the position: two equal dumps are equal views."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out: dict[str, Any] = {}
        for name in TABLES:
            rows = [
                tuple(r.values())
                for r in con.execute(f"SELECT * FROM {name}").to_arrow_table().to_pylist()
            ]
            out[name] = sorted(rows, key=repr)
        out["position"] = con.execute("SELECT position, events FROM projection_state").fetchall()
        return out
    finally:
        con.close()


def build(system: System, path: Path, batch_size: int = 5_000, until: int | None = None) -> Path:
    runner = ProjectionRunner(system.settings, system, path, batch_size)
    try:
        runner.catch_up(until=until)
    finally:
        runner.close()
    return path


def event_ids(system: System) -> list[UUID]:
    return [n.originator_id for n in system.archives.recorder.select_notifications(1, 10**6)]
