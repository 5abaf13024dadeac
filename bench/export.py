"""Evidence packages: an hour of one camera exported, and the package verified (issue 7).

* ``export_hour_vs_copy``: ``produce_package`` over 60 one-minute segments of a 4 Mbit/s
  camera (decrypt every chunk, hash, write the bag and its zip, fsync, prove the events,
  render the report, sign, record), in MB of original video per second, against copying the
  same decrypted bytes as plain files (fsync each).
* ``verify_package_vs_sha256sum``: ``verify_package`` over the produced bag directory (every
  file hashed, signatures, proofs, index), in MB of package per second, against coreutils
  ``sha256sum`` over the same files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from bench.common import Context, Figure, Part, clock, median
from evidence.bootstrap import System, init_data_dir, open_system
from evidence.config import Settings
from evidence.model.security import user_id
from evidence.packages.build import produce_package
from tests.builders import register_camera
from tools.verify_package import verify_package

MB = 1_000_000
SEGMENTS = 60
SEGMENT_BYTES = 30_000_000  # one minute at 4 Mbit/s
REPEATS = 3
CAMERA = "BENCH-01"
T0 = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)


def _archive(root: Path, segment_bytes: int) -> tuple[System, UUID]:
    """60 encrypted one-minute segments and an approved requisition covering the hour."""
    settings = Settings(data=root / "data")
    init_data_dir(settings, "scelle.bench/export")
    system = open_system(settings)
    archives = system.archives
    register_camera(system, CAMERA)
    for name in ("opj", "chef"):
        archives.create_user(name, None)
    block = os.urandom(1 << 20)  # incompressible, like video
    for i in range(SEGMENTS):
        start = T0 + timedelta(minutes=i)
        body = (block * (segment_bytes // len(block) + 1))[:segment_bytes]
        payload = i.to_bytes(8, "big") + body[8:]  # each segment distinct
        blob = uuid.uuid4().hex
        stored = system.vault.put(blob, [payload])
        archives.record_segment(
            CAMERA,
            start=start,
            end=start + timedelta(minutes=1),
            container="mp4",
            codec="h264",
            width=1280,
            height=720,
            fps=25.0,
            size=stored.plaintext_size,
            sha256=stored.plaintext_sha256,
            blob_id=blob,
            thumbnail_blob_id=None,
            camera_clock=start,
            clock_drift_seconds=0.0,
            clock_drift_flagged=False,
            source_name=f"{CAMERA}_{i}.mp4",
        )
    requisition = archives.register_requisition(
        "Parquet", "BENCH/1", "flagrance", [CAMERA], [(T0, T0 + timedelta(hours=1))], user_id("opj")
    )
    archives.approve_requisition(requisition, user_id("chef"))
    return system, requisition


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_seconds(files: list[Path], target: Path) -> float:
    target.mkdir()
    os.sync()
    began = clock()
    for source in files:
        _fsync(Path(shutil.copyfile(source, target / source.name)))
    _fsync(target)
    elapsed = clock() - began
    shutil.rmtree(target)
    return elapsed


def _sha256sum_seconds(root: Path) -> float:
    files = [str(p) for p in sorted(root.rglob("*")) if p.is_file()]
    began = clock()
    subprocess.run(["sha256sum", *files], capture_output=True, check=True, timeout=600)
    return clock() - began


def figures(ctx: Context) -> Iterator[Figure]:
    segment_bytes = ctx.size(SEGMENT_BYTES, 50_000)
    repeats = ctx.size(REPEATS, 1)
    rates: dict[str, list[float]] = {"export": [], "copy": [], "verify": [], "sha256sum": []}
    with ctx.scratch() as scratch:
        system, requisition = _archive(scratch, segment_bytes)
        try:
            originals = scratch / "originals"  # the decrypted bytes, for the copy peer
            originals.mkdir()
            for n, segment_id in enumerate(
                m.segment_id for m in system.archives.matching_segments(requisition)
            ):
                blob = system.archives.segment(segment_id).blob_id
                with open(originals / f"{n:02d}.mp4", "wb") as handle:
                    for chunk in system.vault.iter_range(blob):
                        handle.write(chunk)
            files = sorted(originals.iterdir())
            video = sum(f.stat().st_size for f in files)
            for run in range(repeats):
                export = system.archives.request_requisition_export(requisition, user_id("opj"))
                system.archives.approve_export(export, user_id("chef"))
                out = scratch / f"exports-{run}"
                os.sync()
                began = clock()
                produced = produce_package(system, export, out)
                rates["export"].append(video / MB / (clock() - began))
                rates["copy"].append(video / MB / _copy_seconds(files, scratch / "copy"))
                size = sum(p.stat().st_size for p in produced.directory.rglob("*") if p.is_file())
                began = clock()
                verify_package(produced.directory)
                rates["verify"].append(size / MB / (clock() - began))
                rates["sha256sum"].append(size / MB / _sha256sum_seconds(produced.directory))
                shutil.rmtree(out)
        finally:
            system.close()
    ctx.log(
        "MB/s per run: "
        + "; ".join(f"{k} {', '.join(f'{v:.0f}' for v in vals)}" for k, vals in rates.items())
    )
    tiny = " (TINY sizes)" if ctx.tiny else ""
    hour = f"{SEGMENTS} one-minute segments of {segment_bytes / MB:g} MB{tiny}"
    yield Figure(
        "export_hour_vs_copy",
        median(rates["export"]),
        "MB/s",
        f"produce_package over {hour} (decrypt, hash, bag + zip with fsync, proofs, report, "
        f"signature, events recorded); MB of original video per second, median of {repeats}",
        "plain copy of the same decrypted bytes to the same disk (shutil.copyfile, fsync each)",
        median(rates["copy"]),
    )
    yield Figure(
        "verify_package_vs_sha256sum",
        median(rates["verify"]),
        "MB/s",
        f"verify_package over the bag of {hour} (every file hashed, signature, checkpoint, one "
        f"inclusion proof per event, index); MB of package per second, median of {repeats}",
        "coreutils sha256sum over every file of the same bag (one process), MB/s",
        median(rates["sha256sum"]),
    )


PARTS = {
    "package": Part(figures=("export_hour_vs_copy", "verify_package_vs_sha256sum"), run=figures),
}
