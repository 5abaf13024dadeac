"""One small JPEG from the start of a segment, for custody reports and the segment browser.

The frame is the segment's first keyframe (or the first one at or after ``at_seconds``),
decoded by ffmpeg and written as JPEG to a pipe: no temporary file holds an unencrypted image.
Only keyframes are decoded (``-skip_frame nokey``), on one thread, so the time is bounded
whatever the segment's length; when a stream has no keyframe where one is expected, every
frame is decoded instead, once. ``timeout`` bounds each run for hostile or damaged files too.

Ingest needs the probe's report *and* the thumbnail of every segment. Without ffprobe (the
imageio-ffmpeg wheel has none) the probe's report is what ``ffmpeg -i`` prints on stderr, and
the thumbnail run prints that same report on its way, so :func:`probe_with_thumbnail` gets
both from one ffmpeg process: a one-minute 1080p segment costs about 55 ms of CPU instead of
about 100 ms for the two runs (starting the static ffmpeg binary alone costs ~15 ms).

The picture is *raw*: privacy masks (CSI L251-3) are not applied here. Callers store it
encrypted like any blob and mask it before anyone sees it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ingest.ffmpeg import SAFE_INPUT_OPTIONS, ffmpeg_path, ffprobe_path, file_url

# probe()'s own steps (private ones included) so that the combined run judges a file exactly
# as probe() does; tests/integration/test_ingest_batch.py holds them to that.
from ingest.probe import (
    SEGMENT_CONTAINERS,
    ProbeResult,
    _decode,
    _expected_container,
    _mismatch,
    _truncated,
    inspect_structure,
    parse_ffmpeg_stderr,
    probe,
    reported_damage,
)

#: Decoder options: one thread (no frame-thread start-up, no lag) and keyframes only.
_KEYFRAME_DECODE: tuple[str, ...] = ("-threads", "1", "-skip_frame", "nokey")

#: Where ffmpeg's report on its input ends and the output side begins.
_OUTPUT_SIDE = ("Stream mapping:", "Output #0")


class ThumbnailError(RuntimeError):
    """No thumbnail could be made; ``message_fr`` is for the operator."""

    def __init__(self, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.message_fr = message_fr


def thumbnail_jpeg(
    path: Path | str,
    width: int = 320,
    *,
    at_seconds: float = 0.0,
    quality: int = 5,
    timeout: float = 10.0,
) -> bytes:
    """JPEG bytes of one frame ``width`` pixels wide (height keeps the aspect, made even).

    ``quality`` is ffmpeg's ``-q:v`` for MJPEG: 2 (best) to 31 (smallest).
    """
    path = Path(path)
    _check_options(width, quality)
    done = _run(_args(path, width, quality, at_seconds, keyframes_only=True), path, timeout)
    image = _jpeg(done)
    if image is None:  # no keyframe flagged where one was expected: decode every frame
        done = _run(_args(path, width, quality, at_seconds, keyframes_only=False), path, timeout)
        image = _jpeg(done)
    if image is None:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else "no frame decoded"
        raise ThumbnailError(
            f"no thumbnail for {path.name}: {reason}",
            f"Impossible d'extraire une vignette de {path.name}.",
        )
    return image


def probe_with_thumbnail(
    path: Path | str, width: int = 320, *, quality: int = 5, timeout: float = 15.0
) -> tuple[ProbeResult, bytes | None]:
    """``probe(path)`` and ``thumbnail_jpeg(path)`` (None if it failed), in one ffmpeg run.

    Judges the file exactly as :func:`ingest.probe.probe` with its defaults does (segment
    extensions, structural check, decode check of MPEG-TS tails) and raises the same
    :class:`ProbeError`. With ffprobe installed, or if the combined run times out or yields no
    picture, it falls back to the separate runs, so a picture that cannot be had still never
    refuses a segment that probes well.
    """
    path = Path(path)
    _check_options(width, quality)
    if ffprobe_path() is not None:  # probe() reads ffprobe's JSON: keep that report
        return probe(path), _thumbnail_or_none(path, width, quality)
    if path.stat().st_size == 0:
        return probe(path), None  # raises EmptyFile, worded by probe()
    expected = _expected_container(path, SEGMENT_CONTAINERS)
    sniffed, damage = inspect_structure(path)
    if expected and sniffed and sniffed != expected:
        raise _mismatch(path, expected, sniffed)
    if damage:
        raise _truncated(path, damage)

    args = _args(path, width, quality, 0.0, keyframes_only=True, report=True)
    try:
        done = _run(args, path, timeout)
    except ThumbnailError:  # timed out: let the separate runs decide, each with its own limit
        return probe(path), _thumbnail_or_none(path, width, quality)
    stderr = done.stderr.decode("utf-8", "replace")
    report = _input_report(stderr)
    result = parse_ffmpeg_stderr(report, name=path.name)
    if expected and result.container != expected:
        raise _mismatch(path, expected, result.container)
    damage = reported_damage(report)
    if damage:
        raise _truncated(path, f"ffmpeg reported damage: {damage}")
    if result.container == "mpegts":  # probe()'s decode_check="auto"
        _decode(path, tail=True, timeout=timeout)
    image = _jpeg(done)
    if image is None:
        image = _thumbnail_or_none(path, width, quality)
    return result, image


def _input_report(stderr: str) -> str:
    """What ``ffmpeg -i`` alone would print: the lines before the output side's report."""
    lines = stderr.splitlines(keepends=True)
    end = next((i for i, x in enumerate(lines) if x.startswith(_OUTPUT_SIDE)), len(lines))
    return "".join(lines[:end])


def _thumbnail_or_none(path: Path, width: int, quality: int) -> bytes | None:
    try:
        return thumbnail_jpeg(path, width, quality=quality)
    except ThumbnailError:
        return None


def _check_options(width: int, quality: int) -> None:
    if not 16 <= width <= 3840:
        raise ValueError("thumbnail width must be between 16 and 3840 pixels")
    if not 2 <= quality <= 31:
        raise ValueError("quality must be between 2 and 31")


def _args(
    path: Path,
    width: int,
    quality: int,
    at_seconds: float,
    *,
    keyframes_only: bool,
    report: bool = False,
) -> list[str]:
    """ffmpeg arguments for one JPEG on stdout; ``report`` keeps the input report on stderr."""
    args = [str(ffmpeg_path()), "-nostdin", "-hide_banner"]
    args += ["-nostats"] if report else ["-v", "error"]
    if at_seconds > 0:
        args += ["-ss", f"{at_seconds:.3f}"]
    args += [*(_KEYFRAME_DECODE if keyframes_only else ("-threads", "1"))]
    args += [*SAFE_INPUT_OPTIONS, "-i", file_url(path), "-map", "0:v:0", "-frames:v", "1"]
    args += ["-filter_threads", "1", "-vf", f"scale={width}:-2"]
    args += ["-c:v", "mjpeg", "-threads", "1", "-q:v", str(quality)]
    return [*args, "-f", "image2pipe", "pipe:1"]


def _run(args: list[str], path: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ThumbnailError(
            f"thumbnail of {path.name} took more than {timeout:g} s",
            f"La vignette de {path.name} n'a pas pu être produite en {timeout:g} s.",
        ) from exc


def _jpeg(done: subprocess.CompletedProcess[bytes]) -> bytes | None:
    image = done.stdout
    if done.returncode != 0 or not (image.startswith(b"\xff\xd8") and image.endswith(b"\xff\xd9")):
        return None
    return image
