"""Read what ffprobe (JSON) or ``ffmpeg -i`` (stderr) say about a file.

The imageio-ffmpeg wheel ships no ffprobe, so the stderr report of ``ffmpeg -hide_banner -i
FILE`` is the usual source. It is meant for humans, so the parser trusts only a few line shapes
that have been stable across ffmpeg releases, ignores everything else, and never fails except
with a :class:`~ingest.probe_result.ProbeError` (a property test feeds it arbitrary text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from ingest.probe_result import (
    NotAVideo,
    ProbeError,
    ProbeResult,
    TruncatedFile,
    UnsupportedContainer,
)

#: Messages ffmpeg prints while probing a damaged, not merely unusual, file.
_DAMAGE = re.compile(
    r"Packet corrupt|PES packet size mismatch|partial file|File ended prematurely"
    r"|exceeds containing master element|Truncating packet|Read error",
    re.IGNORECASE,
)


def reported_damage(stderr: str) -> str | None:
    """The first line in which ffmpeg reports a damaged container, if any."""
    return next((x.strip() for x in stderr.splitlines() if _DAMAGE.search(x)), None)


def open_failure(path: Path, stderr: str) -> ProbeError:
    """ffmpeg could not open the file: say why in the operator's terms."""
    lines = [x.strip() for x in stderr.splitlines() if x.strip()]
    reason = lines[-1] if lines else "no diagnostic"
    if "not on whitelist" in stderr:
        return UnsupportedContainer(
            f"{path.name}: media format not accepted ({reason})",
            f"{path.name} : format multimédia non accepté (ni MP4, ni MKV, ni MPEG-TS).",
        )
    return NotAVideo(
        f"{path.name} is not a readable video ({reason})",
        f"Le fichier {path.name} n'est pas une vidéo lisible.",
    )


@dataclass(frozen=True)
class _Stream:
    kind: str  # "video", "audio", ...
    codec: str
    width: int = 0
    height: int = 0
    r_rate: Fraction | None = None  # ffmpeg's "tbr" / ffprobe's r_frame_rate
    avg_rate: Fraction | None = None  # ffmpeg's "fps" / ffprobe's avg_frame_rate
    attached_pic: bool = False


def _container_of(format_name: str) -> str:
    names = format_name.split(",")
    for short in ("mp4", "matroska", "mpegts", "avi"):
        if short in names:
            return short
    return names[0]


def _nominal_rate(stream: _Stream) -> Fraction | None:
    """The camera's nominal rate: r_frame_rate (tbr), else avg_frame_rate.

    r_frame_rate is preferred because avg_frame_rate is wrong in some real files: the sample
    footage (AVI, 1/50 time base) reports 50 fps average for 25 frames per second. When tbr is
    implausible (> 240, a time base leaking through on variable-rate streams), avg is used.
    """
    if stream.r_rate and 0 < stream.r_rate <= 240:
        return stream.r_rate
    return stream.avg_rate if stream.avg_rate and stream.avg_rate > 0 else stream.r_rate


def _assemble(
    name: str,
    format_name: str,
    duration: float | None,
    start: float | None,
    tags: Mapping[str, str],
    streams: list[_Stream],
    prober: str,
) -> ProbeResult:
    videos = [s for s in streams if s.kind == "video" and not s.attached_pic]
    if not videos:
        raise NotAVideo(
            f"{name} has no video stream ({format_name})",
            f"Le fichier {name} ne contient aucune piste vidéo.",
        )
    video = videos[0]
    if duration is None or duration <= 0:
        raise TruncatedFile(
            f"{name} has no duration: the recorder did not finalise it",
            f"Le fichier {name} n'a pas de durée : l'enregistreur ne l'a pas finalisé.",
        )
    rate = _nominal_rate(video)
    if not rate or not video.width or not video.height:
        raise NotAVideo(
            f"{name}: video stream without size or frame rate",
            f"Le fichier {name} a une piste vidéo sans dimensions ni cadence.",
        )
    audio = next((s.codec for s in streams if s.kind == "audio"), None)
    return ProbeResult(
        container=_container_of(format_name),
        format_name=format_name,
        video_codec=video.codec,
        width=video.width,
        height=video.height,
        frame_rate=float(rate),
        frame_rate_exact=f"{rate.numerator}/{rate.denominator}",
        duration_s=duration,
        start_time_s=start or 0.0,
        creation_time=_parse_time(tags.get("creation_time")),
        audio_codec=audio,
        video_streams=len(videos),
        prober=prober,
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _fraction(text: str | None) -> Fraction | None:
    try:
        value = Fraction(text) if text else None
    except (ValueError, ZeroDivisionError):
        return None
    return value if value else None


def parse_ffprobe_json(text: str, *, name: str = "file") -> ProbeResult:
    """Read ``ffprobe -of json -show_format -show_streams`` output."""
    try:
        data = json.loads(text)
        fmt = data["format"]
        streams = [
            _Stream(
                kind=str(s.get("codec_type", "")),
                codec=str(s.get("codec_name", "unknown")),
                width=int(s.get("width") or 0),
                height=int(s.get("height") or 0),
                r_rate=_fraction(s.get("r_frame_rate")),
                avg_rate=_fraction(s.get("avg_frame_rate")),
                attached_pic=bool((s.get("disposition") or {}).get("attached_pic")),
            )
            for s in data.get("streams", [])
        ]
        duration = float(fmt["duration"]) if "duration" in fmt else None
        start = float(fmt["start_time"]) if "start_time" in fmt else None
        tags = {str(k).lower(): str(v) for k, v in (fmt.get("tags") or {}).items()}
        format_name = str(fmt["format_name"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotAVideo(
            f"{name}: unreadable ffprobe report ({exc})",
            f"Le fichier {name} n'a pas pu être analysé.",
        ) from exc
    return _assemble(name, format_name, duration, start, tags, streams, "ffprobe")


_INPUT = re.compile(r"^Input #0, (?P<fmt>.+?), from '")
_DURATION = re.compile(
    r"^\s+Duration: (?:N/A|(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?))"
    r"(?:, start: (?P<start>-?\d+(?:\.\d+)?))?"
)
_STREAM = re.compile(
    r"^\s+Stream #0:\d+(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: "
    r"(?P<kind>Video|Audio|Subtitle|Data|Attachment): (?P<rest>.*)$"
)
_META = re.compile(r"^    (?P<key>[^\s:][^:]*?)\s*: (?P<value>.*)$")
_SIZE = re.compile(r"^(?P<w>\d+)x(?P<h>\d+)(?:\s|$)")
_RATE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<k>k?) (?P<unit>fps|tbr)\b")


def _top_level_split(text: str) -> list[str]:
    """Split on commas outside parentheses and brackets: 'yuv420p(tv, bt709)' stays whole."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _printed_rate(value: str, kilo: bool) -> Fraction:
    """The exact rate behind ffmpeg's printed one (integers, or two decimals).

    ffmpeg prints 30000/1001 as "29.97", so NTSC-family rates (N*1000/1001) are recognised
    first; other fractional rates become the nearest fraction with denominator <= 100
    (12.5 -> 25/2). Exact for every rate cameras use; ffprobe, when present, needs no guess.
    """
    rate = Fraction(value) * (1000 if kilo else 1)
    if rate.denominator == 1:
        return rate
    ntsc = round(rate * Fraction(1001, 1000))
    if ntsc and abs(Fraction(ntsc * 1000, 1001) - rate) < Fraction(6, 1000):
        return Fraction(ntsc * 1000, 1001)
    return rate.limit_denominator(100)


def _parse_stream(kind: str, rest: str) -> _Stream:
    parts = _top_level_split(rest)
    codec = parts[0].split(" ")[0] if parts[0] else "unknown"
    width = height = 0
    rates: dict[str, Fraction] = {}
    for part in parts[1:]:
        size = _SIZE.match(part)
        if size and not width:
            width, height = int(size["w"]), int(size["h"])
        rate = _RATE.match(part)
        if rate:
            rates[rate["unit"]] = _printed_rate(rate["value"], bool(rate["k"]))
    return _Stream(
        kind=kind.lower(),
        codec=codec,
        width=width,
        height=height,
        r_rate=rates.get("tbr"),
        avg_rate=rates.get("fps"),
        attached_pic="(attached pic)" in rest,
    )


def parse_ffmpeg_stderr(text: str, *, name: str = "file") -> ProbeResult:
    """Read what ``ffmpeg -hide_banner -i FILE`` prints about its one input.

    Only the lines this needs are trusted: the ``Input #0`` line (demuxer name), the input's
    own ``Metadata:`` block (two-space indent; stream metadata is indented further), the
    ``Duration:`` line and the ``Stream #0:N`` lines. Everything else (warnings, programs,
    side data, the "At least one output file" complaint) is ignored.
    """
    lines = text.splitlines()
    start_at = next((i for i, x in enumerate(lines) if _INPUT.match(x)), None)
    if start_at is None:
        raise open_failure(Path(name), text)
    format_name = _INPUT.match(lines[start_at])["fmt"]  # type: ignore[index]
    tags: dict[str, str] = {}
    duration: float | None = None
    start: float | None = None
    streams: list[_Stream] = []
    in_input_metadata = False
    for line in lines[start_at + 1 :]:
        if line.startswith("  Metadata:"):
            in_input_metadata = True
            continue
        meta = _META.match(line)
        if in_input_metadata and meta:
            tags.setdefault(meta["key"].strip().lower(), meta["value"].strip())
            continue
        if not line.startswith("     "):
            in_input_metadata = False
        found = _DURATION.match(line)
        if found:
            if found["h"]:
                duration = int(found["h"]) * 3600 + int(found["m"]) * 60 + float(found["s"])
            start = float(found["start"]) if found["start"] else None
            continue
        stream = _STREAM.match(line)
        if stream:
            streams.append(_parse_stream(stream["kind"], stream["rest"]))
    return _assemble(name, format_name, duration, start, tags, streams, "ffmpeg")
