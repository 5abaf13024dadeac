"""Projection figures: rebuild speed against decoding alone; catalogue query latency.

Targets (printed, never asserted): a rebuild applies events at >= 0.6x the rate at which the
notification log can merely be read and decoded (same run, same store); the catalogue query
(one camera, one hour, first 100 segments) has p99 <= 10 ms over 3.5 million segments
(162 cameras x 15 days of one-minute segments).

The log for the rebuild is built through ``Archives.save`` (segments recorded, viewed,
purged) and cached; the catalogue's 3.5 million rows are generated straight into DuckDB (and
into an indexed SQLite table for the peer) and cached under ``bench/.cache``.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Context, Figure, Part, clock, median, percentile
from evidence.bootstrap import init_data_dir, open_system
from evidence.config import Settings
from evidence.model.security import user_id
from evidence.model.segment import Segment
from projections.runner import ProjectionRunner
from projections.schema import create_schema
from projections.store import Views, connect
from tests.builders import register_camera

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SEED = 8
BATCH = 20_000  # the runner's default batch, and the peer's read size


def _log(ctx: Context, segments: int) -> Path:
    """A data directory whose log holds ``segments`` x (recorded, viewed, purge started,
    purged) plus the cameras: about four events per segment."""
    data = ctx.cache / f"projections-log-{segments}"
    if (data / "log.vkey").exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    settings = Settings(data=data)
    init_data_dir(settings, "scelle.bench/projections")
    system = open_system(settings)
    try:
        a = system.archives
        codes = [f"C{i:03d}" for i in range(20)]
        for code in codes:
            register_camera(system, code)
        batch: list[Segment] = []
        viewer = user_id("op")
        for i in range(segments):
            code = codes[i % len(codes)]
            start = T0 + timedelta(minutes=i // len(codes))
            seg = Segment(
                camera_code=code,
                camera_id=_cam(a, code),
                commune_id=_commune(a),
                start=start,
                end=start + timedelta(minutes=1),
                container="mp4",
                codec="h264",
                width=1920,
                height=1080,
                fps=25.0,
                size=10**7,
                sha256=hashlib.sha256(f"{i}".encode()).hexdigest(),
                blob_id=f"b{i}",
                thumbnail_blob_id=None,
                camera_clock=start,
                ingest_clock=start,
                clock_drift_seconds=0.0,
                clock_drift_flagged=False,
                deadline=start + timedelta(days=15),
                source_name=f"{code}-{i}.mp4",
            )
            seg.record_view(
                actor_id=viewer,
                purpose="mission",
                mission_id=None,
                range_start=0.0,
                range_end=60.0,
                masked=True,
                on_behalf_of=None,
            )
            seg.start_purge(deadline=seg.deadline, started_at=seg.deadline)
            seg.record_purge(
                deadline=seg.deadline,
                purged_at=seg.deadline,
                lateness_seconds=30.0,
                key_destroyed=True,
                blobs_deleted=[f"b{i}"],
            )
            batch.append(seg)
            if len(batch) == 250:
                a.save(*batch)
                batch.clear()
        if batch:
            a.save(*batch)
    finally:
        system.close()
    return data


_IDS: dict[str, object] = {}


def _cam(a: object, code: str) -> object:
    if code not in _IDS:
        _IDS[code] = a.camera(code).id  # type: ignore[attr-defined]
    return _IDS[code]


def _commune(a: object) -> object:
    if "commune" not in _IDS:
        _IDS["commune"] = a.commune("69266").id  # type: ignore[attr-defined]
    return _IDS["commune"]


def rebuild(ctx: Context) -> Iterator[Figure]:
    segments = ctx.size(25_000, 500)
    data = _log(ctx, segments)
    settings = Settings(data=data)
    system = open_system(settings)
    try:
        total = system.archives.recorder.max_notification_id()
        ours, peer = [], []
        for _ in range(ctx.size(3, 1)):
            t = clock()
            start, read = 1, 0
            while batch := system.archives.recorder.select_notifications(start, BATCH):
                for n in batch:
                    system.archives.mapper.to_domain_event(n)
                read += len(batch)
                start = batch[-1].id + 1
            peer.append(read / (clock() - t))
            with ctx.scratch() as tmp:
                runner = ProjectionRunner(settings, system, tmp / "views.duckdb", BATCH)
                t = clock()
                done = runner.catch_up()
                ours.append(done.read / (clock() - t))
                runner.close()
    finally:
        system.close()
    yield Figure(
        name="projection_rebuild",
        value=max(ours),
        unit="events/s",
        what=f"rebuild of every view from a {total:,}-event SQLite log (segments recorded, "
        f"viewed, purge started, purged), batches of {BATCH:,}, best of the trials",
        peer="reading and decoding the same notification log alone (select_notifications "
        f"in batches of {BATCH:,} + mapper.to_domain_event of every event), same run, best "
        "of the trials",
        peer_value=max(peer),
        target=">= 0.6x",
    )


def _catalogue(ctx: Context, cameras: int, days: int) -> tuple[Path, Path]:
    minutes = days * 24 * 60
    duck = ctx.cache / f"catalogue-v2-{cameras}x{days}.duckdb"  # v2: rows carry their holds
    lite = ctx.cache / f"catalogue-v2-{cameras}x{days}.sqlite"
    if duck.exists() and lite.exists():
        return duck, lite
    for stale in (duck, lite, Path(f"{duck}.wal")):
        stale.unlink(missing_ok=True)
    con = connect(duck)
    create_schema(con)
    con.execute(  # in time order, as ingest delivers them: every camera's minute m together
        "INSERT INTO segments SELECT uuid()::VARCHAR, 'C' || lpad(c::VARCHAR, 3, '0'), "
        "'cam' || c, 'commune', $t0 + to_minutes(m), $t0 + to_minutes(m + 1), 'mp4', 'h264', "
        "1920, 1080, 25.0, 10000000, md5(c::VARCHAR || '-' || m::VARCHAR), "
        "$t0 + to_minutes(m + 1) + INTERVAL 15 DAYS, 0.0, false, 'f.mp4', "
        "$t0 + to_minutes(m + 1), NULL, NULL, NULL, m * $cams + c, "
        "CASE WHEN m % 97 = 0 THEN ['hold-' || c] END, "  # about 1% of the rows held
        "CASE WHEN m % 97 = 0 THEN [$t0 + INTERVAL 400 DAYS] END "
        "FROM range($minutes) r(m), range($cams) k(c) ORDER BY m, c",
        {"t0": T0, "minutes": minutes, "cams": cameras},
    )
    con.execute("CHECKPOINT")
    rows = con.execute(
        'SELECT segment_id, camera_code, epoch(start), epoch("end"), deadline::VARCHAR, size '
        "FROM segments"
    ).fetchall()
    con.close()
    peer = sqlite3.connect(lite)
    peer.execute(
        'CREATE TABLE segments (segment_id TEXT, camera_code TEXT, start REAL, "end" REAL, '
        "deadline TEXT, size INTEGER)"
    )
    peer.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)", rows)
    peer.execute("CREATE INDEX by_camera_start ON segments (camera_code, start)")
    peer.commit()
    peer.close()
    return duck, lite


def catalogue(ctx: Context) -> Iterator[Figure]:
    cameras, days = ctx.size(162, 4), ctx.size(15, 1)
    duck, lite = _catalogue(ctx, cameras, days)
    rng = random.Random(SEED)
    views = Views(connect(duck))
    peer = sqlite3.connect(lite)
    ours, theirs = [], []
    try:
        for i in range(ctx.size(1_000, 50) + 20):
            code = f"C{rng.randrange(cameras):03d}"
            start = T0 + timedelta(minutes=rng.randrange(days * 24 * 60 - 60))
            end = start + timedelta(hours=1)
            t = clock()
            found = views.segments(code, start, end, limit=100)
            elapsed = clock() - t
            t = clock()
            rows = peer.execute(
                'SELECT * FROM segments WHERE camera_code = ? AND start < ? AND "end" > ? '
                "ORDER BY start LIMIT 100",
                (code, end.timestamp(), start.timestamp()),
            ).fetchall()
            peer_elapsed = clock() - t
            assert len(found) == len(rows) == 60, (len(found), len(rows))
            if i >= 20:  # the first queries warm the caches
                ours.append(elapsed * 1000)
                theirs.append(peer_elapsed * 1000)
    finally:
        views.close()
        peer.close()
    what = (
        f"Views.segments (one camera, one hour, status and holds in force computed, rows "
        f"fetched through Arrow into dicts) over "
        f"{cameras * days * 1440:,} segments ({cameras} cameras x {days} days of one-minute "
        "segments), random cameras and hours"
    )
    peer_text = "the same lookup in SQLite with an index on (camera_code, start), no status"
    for name, pick, label in (
        ("catalogue_query_p50", median, "p50"),
        ("catalogue_query_p99", lambda v: percentile(v, 99), "p99"),
    ):
        yield Figure(
            name=name,
            value=pick(ours),
            unit=f"ms per query, {label}",
            what=what,
            peer=peer_text,
            peer_value=pick(theirs),
            lower_is_better=True,
            target="p99 <= 10 ms",
        )


PARTS = {
    "rebuild": Part(figures=("projection_rebuild",), run=rebuild),
    "catalogue": Part(figures=("catalogue_query_p50", "catalogue_query_p99"), run=catalogue),
}
