"""Simulated cameras: finished segment files as a real recorder would leave them.

The demo and the tests need many cameras' worth of segments on a machine with no camera, so
this writes what the recording side writes: H.264 (libx264, ultrafast, yuv420p) segments
named ``{camera}_{%Y%m%dT%H%M%S}Z.{ext}`` in UTC, each carrying its wall-clock start as
``creation_time`` metadata, so ingest can compare the name, the metadata and its own clock.

Speed matters (hours of simulated video for a demo): all segments come from *one* ffmpeg
process using the segment muxer (``-f segment -segment_time N -reset_timestamps 1``), with
keyframes forced on segment boundaries so each cut falls exactly where it should. The
muxer's own ``-strftime`` names cannot be used, because they stamp the wall clock of *now*
while simulated recordings start at any chosen time; so segments are written under numbered
names in a hidden scratch folder and then stamped. Stamping is a stream copy per segment
(a few ms: it rewrites headers, it does not encode) that sets ``creation_time`` — the segment
muxer gives every segment the same metadata — and moves the moov index to the front
(faststart). Each finished file then appears in ``out_dir`` by an atomic rename, so a folder
watcher never sees a half-written segment; its modification time is set to the segment's
simulated end, as a recorder running at that time would have left it. MPEG-TS has no
creation-time field: TS segments carry their start only in their name.

Picture: ``lavfi`` draws ffmpeg's ``testsrc2`` pattern (moving, so encoders and motion
detectors have work to do); ``footage`` loops real footage with ``-stream_loop``, resampled to
``fps`` and scaled to ``width`` x ``height`` (aspect not preserved; audio dropped, as most
municipal cameras record none). Both get a
burnt-in camera code and UTC clock (the camera's on-screen display) when the ffmpeg build has
``drawtext`` and fontconfig finds a font. Otherwise there is no clock: the testsrc2 pattern
still moves and shows its own running counter, and footage is left as is.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Literal

from ingest.ffmpeg import SAFE_INPUT_OPTIONS, ffmpeg_path, file_url, has_encoder, has_filter
from ingest.naming import check_camera_code, format_segment_name
from ingest.probe import probe

Source = Literal["lavfi", "footage"]
Container = Literal["mp4", "mkv", "ts"]

#: Sample footage shipped beside the repository (13.8 s, 1280x720, 25 fps).
DEFAULT_FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "data" / "pedestrians-720p.avi"

_MUXERS = {"mp4": "mp4", "mkv": "matroska", "ts": "mpegts"}

#: Keyframe interval of the simulated cameras, in seconds (real cameras use 1-2 s).
GOP_SECONDS = 2


class SimulationError(RuntimeError):
    """ffmpeg failed to produce the simulated segments."""


@cache
def drawtext_available() -> bool:
    """Whether this ffmpeg can burn text in: drawtext built in *and* a font found."""
    if not has_filter("drawtext"):
        return False
    args = [str(ffmpeg_path()), "-nostdin", "-v", "error", "-f", "lavfi"]
    args += ["-i", "color=size=64x64:duration=0.04", "-vf", "drawtext=text=0"]
    args += ["-frames:v", "1", "-f", "null", "-"]
    done = subprocess.run(
        args,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def _rate_text(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def _clock(camera_code: str, start: datetime) -> str:
    """drawtext filter showing the camera code and start + frame time, in UTC."""
    epoch = f"{start.timestamp():.6f}"
    # %T rather than %H:%M:%S: colons would need a second level of escaping.
    text = f"{camera_code} %{{pts\\:gmtime\\:{epoch}\\:%Y-%m-%d %T}} UTC"
    return (
        f"drawtext=text='{text}':fontsize=h/20:fontcolor=white"
        ":box=1:boxcolor=black@0.5:boxborderw=4:x=16:y=h-th-16"
    )


def _input_args(
    source: Source, width: int, height: int, rate: Fraction, footage: Path | None
) -> tuple[list[str], list[str]]:
    """(input arguments, filters before the clock) for one picture source."""
    if source == "lavfi":
        return ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={_rate_text(rate)}"], [
            "format=yuv420p"
        ]
    path = Path(footage) if footage else DEFAULT_FOOTAGE
    if not path.is_file():
        raise FileNotFoundError(f"footage not found: {path}")
    native = Fraction(probe(path, containers=None, decode_check="none").frame_rate_exact)
    # Looped input restarts its timestamps (and the sample AVI has no PTS at all), which
    # would make the fps filter drop every frame after the first loop: number frames instead.
    return [*SAFE_INPUT_OPTIONS, "-stream_loop", "-1", "-i", file_url(path)], [
        f"setpts=N/({_rate_text(native)})/TB",
        f"fps={_rate_text(rate)}",
        f"scale={width}:{height}",
        "setsar=1",
        "format=yuv420p",
    ]


def record_simulated(
    out_dir: Path,
    camera_code: str,
    start: datetime,
    segments: int,
    segment_seconds: float,
    width: int = 1280,
    height: int = 720,
    fps: float | Fraction = 25,
    source: Source = "lavfi",
    footage_path: Path | None = None,
    *,
    container: Container = "mp4",
    clock: bool = True,
    timeout: float | None = None,
) -> list[Path]:
    """Write ``segments`` finished segments of ``segment_seconds`` each; return their paths.

    ``start`` (timezone-aware) is the wall-clock start of the first segment. Segment names
    have one-second resolution, hence ``segment_seconds >= 1``. Raises ``FileExistsError``
    rather than overwrite a segment, ``SimulationError`` if ffmpeg fails.
    """
    check_camera_code(camera_code)
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware (use UTC)")
    if segments < 1 or segment_seconds < 1:
        raise ValueError("need at least one segment of at least one second")
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError("width and height must be even and at least 16 (yuv420p)")
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError("fps must be positive")
    if not has_encoder("libx264"):
        raise SimulationError("this ffmpeg has no libx264 encoder")
    start = start.astimezone(UTC)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = f".{container}"
    for i in range(segments):
        began = start + timedelta(seconds=i * segment_seconds)
        target = out_dir / format_segment_name(camera_code, began, ext)
        if target.exists():
            raise FileExistsError(f"segment already exists: {target}")

    scratch = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out_dir))
    try:
        inputs, filters = _input_args(source, width, height, rate, footage_path)
        if clock and drawtext_available():
            filters.append(_clock(camera_code, start))
        frames = round(segments * segment_seconds * rate)
        args = [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-v", "error", *inputs]
        args += ["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(filters)]
        args += ["-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast"]
        args += ["-pix_fmt", "yuv420p", "-g", str(max(1, round(GOP_SECONDS * rate)))]
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds:g})"]
        args += ["-f", "segment", "-segment_time", f"{segment_seconds:g}"]
        args += ["-segment_format", _MUXERS[container], "-reset_timestamps", "1"]
        args += ["-segment_list", str(scratch / "list.csv"), "-segment_list_type", "csv"]
        _run([*args, str(scratch / f"part%05d{ext}")], timeout)
        return _finish(scratch, out_dir, camera_code, start, segments, container, timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _finish(
    scratch: Path,
    out_dir: Path,
    camera_code: str,
    start: datetime,
    segments: int,
    container: Container,
    timeout: float | None,
) -> list[Path]:
    """Stamp each numbered part with its start time and move it into place under its name."""
    with (scratch / "list.csv").open(newline="") as f:
        parts = [(row[0], float(row[1]), float(row[2])) for row in csv.reader(f) if row]
    if len(parts) != segments:
        raise SimulationError(f"ffmpeg wrote {len(parts)} segments, {segments} expected")
    finished: list[Path] = []
    for part, offset, end in parts:
        began = start + timedelta(seconds=offset)
        name = format_segment_name(camera_code, began, f".{container}")
        stamped = scratch / name
        if container == "ts":  # no creation-time field in MPEG-TS
            os.replace(scratch / part, stamped)
        else:
            args = [str(ffmpeg_path()), "-nostdin", "-v", "error", "-i", str(scratch / part)]
            args += ["-map", "0", "-c", "copy"]
            args += ["-metadata", f"creation_time={began:%Y-%m-%dT%H:%M:%S.%f}Z"]
            if container == "mp4":
                args += ["-movflags", "+faststart"]
            _run([*args, "-f", _MUXERS[container], str(stamped)], timeout)
        ended = (start + timedelta(seconds=end)).timestamp()
        os.utime(stamped, (ended, ended))  # as a recorder leaves it: last written at its end
        target = out_dir / name
        os.replace(stamped, target)
        finished.append(target)
    return finished


def _run(args: Sequence[str], timeout: float | None) -> None:
    try:
        done = subprocess.run(
            list(args), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise SimulationError(f"ffmpeg took more than {timeout} s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise SimulationError("ffmpeg failed: " + " | ".join(tail))
