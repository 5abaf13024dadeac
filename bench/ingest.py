"""Ingest figures: end-to-end MB/s of ``scelle ingest files`` on one-minute 1080p segments.

Targets from the issue (printed, never asserted): >= 500 MB/s end to end, i.e. a two-core
machine keeping up with a thousand 4 Mbit/s cameras, which is at least 0.3x of
``hashlib.sha256`` alone on one core.

What is measured, per set of segments (4 Mbit/s, the usual 1080p CCTV rate, and 16 Mbit/s):

* ours: the ``scelle ingest files`` command, run in this process on a fresh data directory
  over copies of the segments (copied untimed, and written back to disk before the clock
  starts, as the ingest removes its sources): open the archive, reconcile, then for each file
  check, probe and thumbnail (ffmpeg), hash and encrypt (AES-256-GCM) into the blob store with
  fsync, record and seal its event, remove the source. MB/s = plaintext bytes / wall time.
* peers, on the same files in the same run: a plain copy to the same disk (``shutil.copyfile``
  then ``fsync`` of each file), ``sha256sum`` over them (coreutils, one process), and
  ``hashlib.sha256`` over them in Python (1 MiB reads; OpenSSL, which uses the CPU's SHA
  instructions).
* ``ingest_cameras_4mbit``: how many 4 Mbit/s (0.5 MB/s) cameras the ingest sustains, against
  how many ``hashlib.sha256`` alone could keep up with on one core: the ceiling of any intake
  that reads and hashes every byte once on one core, before it encrypts, stores or seals.

Each measurement is repeated (``REPEATS``), interleaved with its peers so that a load spike
from another job hits them alike; the median is kept. All figures are decimal MB (10^6 B).

Segments: H.264 1920x1080 at 25 fps, libx264 ``-b:v R -maxrate R -bufsize 2R``, keyframe
every 2 s, MP4 with faststart, named ``CAM_%Y%m%dT%H%M%SZ.mp4`` with that start as
``creation_time``, as ``scelle record`` names them (with its MP4 option: by default it writes
MPEG-TS, whose ingest costs one more ffmpeg run per file, the tail decode check). Encoding
1080p runs at only ~3x real time here, so one minute is encoded per bitrate and each segment
is that minute rotated to start at another keyframe (a stream copy), e.g. segment 3 =
seconds 6-60 then 0-6: every segment has distinct bytes and the real bitrate, GOP structure
and index, which is all ingest looks at (it decodes the first keyframe only). They are
cached under ``bench/.cache/ingest``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from bench.common import Context, Figure, Part, clock, median
from evidence.bootstrap import init_data_dir, open_system
from evidence.config import Settings
from ingest.ffmpeg import ffmpeg_path
from ingest.naming import format_segment_name
from ingest.pipeline import DEFAULT_WORKERS
from tests.builders import register_camera

CAMERA = "BENCH01"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
CAMERA_BYTES_PER_S = 4_000_000 / 8  # one 4 Mbit/s camera
MB = 1_000_000
REPEATS = 5  # interleaved; the median resists a load spike from another job


@dataclass(frozen=True)
class SegmentSet:
    label: str  # figure-name fragment: "4mbit"
    mbit: int  # video bitrate
    count: int
    seconds: int
    width: int
    height: int
    fps: int = 25
    gop_seconds: int = 2

    @property
    def key(self) -> str:
        return (
            f"{self.width}x{self.height}p{self.fps}-{self.mbit}mbit-"
            f"{self.seconds}s-x{self.count}-gop{self.gop_seconds}"
        )


def segment_sets(ctx: Context) -> list[SegmentSet]:
    if ctx.tiny:
        return [
            SegmentSet("4mbit", 4, 2, 2, 320, 180, gop_seconds=1),
            SegmentSet("16mbit", 16, 2, 2, 320, 180, gop_seconds=1),
        ]
    return [SegmentSet("4mbit", 4, 10, 60, 1920, 1080), SegmentSet("16mbit", 16, 5, 60, 1920, 1080)]


# Segments -------------------------------------------------------------------------------------


def _ffmpeg(*args: str, timeout: float = 600) -> None:
    done = subprocess.run(
        [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-v", "error", "-y", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {done.stderr.decode('utf-8', 'replace')[-800:]}")


def _concat_line(path: Path) -> str:
    return "file '" + str(path).replace("'", "'\\''") + "'\n"


def segments(ctx: Context, spec: SegmentSet) -> list[Path]:
    """The set's segment files, generated once into the cache."""
    folder = ctx.cache / "ingest" / spec.key
    done = folder / "done.txt"
    if done.exists():
        names = done.read_text(encoding="utf-8").split()
        if all((folder / n).is_file() for n in names):
            return [folder / n for n in names]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    began = clock()
    base = folder / "base.mp4"
    rate = f"{spec.mbit}M"
    _ffmpeg(
        *("-f", "lavfi", "-i", f"testsrc2=size={spec.width}x{spec.height}:rate={spec.fps}"),
        *("-frames:v", str(spec.seconds * spec.fps), "-an"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-b:v", rate, "-maxrate", rate, "-bufsize", f"{2 * spec.mbit}M"),
        *("-g", str(spec.gop_seconds * spec.fps), "-keyint_min", str(spec.gop_seconds * spec.fps)),
        *("-sc_threshold", "0", "-f", "mp4", str(base)),
    )
    made: list[Path] = []
    for i in range(spec.count):
        start = T0 + timedelta(seconds=spec.seconds * i)
        target = folder / format_segment_name(CAMERA, start, ".mp4")
        offset = (i * spec.gop_seconds) % spec.seconds  # on a keyframe: an exact stream copy
        playlist = folder / "rotate.ffconcat"
        text = "ffconcat version 1.0\n" + _concat_line(base) + f"inpoint {offset}\n"
        if offset:
            text += _concat_line(base) + f"outpoint {offset}\n"
        playlist.write_text(text, encoding="utf-8")
        _ffmpeg(
            *("-f", "concat", "-safe", "0", "-i", str(playlist), "-map", "0:v:0", "-c", "copy"),
            *("-metadata", f"creation_time={start:%Y-%m-%dT%H:%M:%S.%f}Z"),
            *("-movflags", "+faststart", "-f", "mp4", str(target)),
        )
        end = (start + timedelta(seconds=spec.seconds)).timestamp()
        os.utime(target, (end, end))
        made.append(target)
    base.unlink()
    (folder / "rotate.ffconcat").unlink()
    done.write_text("\n".join(p.name for p in made) + "\n", encoding="utf-8")
    ctx.log(
        f"generated {spec.count} segments {spec.key} in {clock() - began:.0f} s, kept in {folder}"
    )
    return made


# Measurements ---------------------------------------------------------------------------------


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_archive(root: Path) -> Path:
    """A fresh data directory with the bench camera registered, as ``scelle init`` makes it."""
    data = root / "data"
    settings = Settings(data=data)
    init_data_dir(settings, "scelle.bench/ingest")
    system = open_system(settings)
    try:
        register_camera(system, CAMERA)
    finally:
        system.close()
    return data


def ingest_seconds(scratch: Path, files: list[Path]) -> float:
    """Wall time of ``scelle ingest files`` over copies of ``files`` on a fresh archive."""
    from tools.cli import app

    run = scratch / "ingest"
    shutil.rmtree(run, ignore_errors=True)
    data = _new_archive(run)
    inbox = run / "inbox"
    inbox.mkdir()
    copies = [Path(shutil.copyfile(f, inbox / f.name)) for f in files]
    os.sync()  # the copies on disk, so that their write-back does not land in the timing
    began = clock()
    result = CliRunner().invoke(app, ["--data", str(data), "ingest", "files", *map(str, copies)])
    elapsed = clock() - began
    if result.exit_code != 0 or f"{len(files)} segment(s) versé(s)" not in result.output:
        raise RuntimeError(f"ingest failed ({result.exit_code}): {result.output[-800:]}")
    if any(inbox.iterdir()):
        raise RuntimeError("ingest left source files behind")
    shutil.rmtree(run)
    return elapsed


def copy_seconds(scratch: Path, files: list[Path]) -> float:
    """A plain copy of ``files`` to the same disk, each file fsynced, then the directory."""
    target = scratch / "copy"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    os.sync()
    began = clock()
    for source in files:
        copied = Path(shutil.copyfile(source, target / source.name))
        fd = os.open(copied, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _sync_dir(target)
    elapsed = clock() - began
    shutil.rmtree(target)
    return elapsed


def sha256sum_seconds(files: list[Path]) -> float:
    began = clock()
    done = subprocess.run(
        ["sha256sum", *map(str, files)], capture_output=True, check=True, timeout=600
    )
    elapsed = clock() - began
    if len(done.stdout.splitlines()) != len(files):
        raise RuntimeError("sha256sum did not hash every file")
    return elapsed


def hashlib_seconds(files: list[Path]) -> float:
    began = clock()
    for path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        digest.hexdigest()
    return clock() - began


@dataclass(frozen=True)
class Rates:
    """Median MB/s of each contender over the same files."""

    ingest: float
    copy: float
    sha256sum: float
    hashlib: float


def measure(ctx: Context, spec: SegmentSet) -> Rates:
    files = segments(ctx, spec)
    size = sum(f.stat().st_size for f in files)
    runs: dict[str, list[float]] = {"ingest": [], "copy": [], "sha256sum": [], "hashlib": []}
    with ctx.scratch() as scratch:
        hashlib_seconds(files)  # warm the page cache: every contender reads from memory
        contenders: dict[str, Callable[[], float]] = {
            "ingest": lambda: ingest_seconds(scratch, files),
            "copy": lambda: copy_seconds(scratch, files),
            "sha256sum": lambda: sha256sum_seconds(files),
            "hashlib": lambda: hashlib_seconds(files),
        }
        for _ in range(ctx.size(REPEATS, 1)):
            for name, timed in contenders.items():
                runs[name].append(size / MB / timed())
    rates = Rates(**{name: median(values) for name, values in runs.items()})
    mbit_s = size * 8 / spec.count / spec.seconds / 1e6
    ctx.log(
        f"{spec.label}: {spec.count} x {spec.seconds} s {spec.width}x{spec.height}, "
        f"{size / MB:.0f} MB ({mbit_s:.1f} Mbit/s); MB/s per run "
        + "; ".join(f"{k} {', '.join(f'{v:.0f}' for v in vals)}" for k, vals in runs.items())
    )
    return rates


# Figures --------------------------------------------------------------------------------------


def _what(spec: SegmentSet, ctx: Context) -> str:
    return (
        f"end-to-end `scelle ingest files` (check, probe+thumbnail, SHA-256 + AES-256-GCM into "
        f"the blob store with fsync, event recorded and sealed, source removed; "
        f"{DEFAULT_WORKERS} workers) over {spec.count} segments of {spec.seconds} s, "
        f"{spec.width}x{spec.height} H.264 at {spec.mbit} Mbit/s; decimal MB of plaintext per "
        f"second of wall time, median of {ctx.size(REPEATS, 1)}, on {os.cpu_count()} cores"
        + (" (TINY sizes)" if ctx.tiny else "")
    )


def throughput(ctx: Context) -> Iterator[Figure]:
    for spec in segment_sets(ctx):
        rates = measure(ctx, spec)
        what = _what(spec, ctx)
        name = f"ingest_{spec.label}"
        yield Figure(
            f"{name}_vs_copy",
            rates.ingest,
            "MB/s",
            what,
            "plain copy of the same files to the same disk (shutil.copyfile, fsync each), MB/s",
            rates.copy,
            target="500 MB/s",
        )
        yield Figure(
            f"{name}_vs_sha256sum",
            rates.ingest,
            "MB/s",
            what,
            "coreutils sha256sum over the same files (one process), MB/s",
            rates.sha256sum,
            target="500 MB/s",
        )
        yield Figure(
            f"{name}_vs_hashlib",
            rates.ingest,
            "MB/s",
            what,
            "Python hashlib.sha256 over the same files (1 MiB reads, one core, SHA-NI), MB/s",
            rates.hashlib,
            target="ratio ≥ 0.3",
        )
        if spec.label == "4mbit":
            yield Figure(
                "ingest_cameras_4mbit",
                rates.ingest * MB / CAMERA_BYTES_PER_S,
                "cameras",
                "4 Mbit/s (0.5 MB/s) cameras whose segments one machine ingests as fast as "
                "they are recorded: end-to-end ingest bytes/s / 500,000 — " + what,
                "cameras hashlib.sha256 alone could keep up with on one core (its bytes/s / "
                "500,000): the ceiling of any intake that reads and hashes every byte once on "
                "one core, before encrypting, storing or sealing anything",
                rates.hashlib * MB / CAMERA_BYTES_PER_S,
                target="≥ 1,000 cameras",
            )


PARTS = {
    "throughput": Part(
        figures=(
            "ingest_4mbit_vs_copy",
            "ingest_4mbit_vs_sha256sum",
            "ingest_4mbit_vs_hashlib",
            "ingest_cameras_4mbit",
            "ingest_16mbit_vs_copy",
            "ingest_16mbit_vs_sha256sum",
            "ingest_16mbit_vs_hashlib",
        ),
        run=throughput,
    ),
}
