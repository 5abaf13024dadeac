"""The vocabulary of probing: what a segment is, and every way it can be refused.

Kept apart from the ffmpeg plumbing so the report parsers, the pipeline and the quarantine can
share it. Each refusal has an English ``str()`` for logs and a French ``message_fr`` for the
operator, like the domain errors in ``evidence``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ProbeError(Exception):
    """A segment cannot be ingested as it is; ``message_fr`` is for the operator."""

    def __init__(self, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.message_fr = message_fr


class EmptyFile(ProbeError):
    """The file has zero bytes (a recorder that opened it and died)."""


class NotAVideo(ProbeError):
    """The content is not media ffmpeg can read, or has no video stream."""


class TruncatedFile(ProbeError):
    """The container is damaged or incomplete: cut short, never finalised, corrupt."""


class UnsupportedContainer(ProbeError):
    """The extension is not an accepted one, or the content is not what it claims."""


class ProbeTimeout(ProbeError):
    """ffmpeg did not answer in time (a pathological file, or an overloaded host)."""


@dataclass(frozen=True)
class ProbeResult:
    """What ingest records about a segment (events hold this metadata, never images)."""

    container: str  # "mp4", "matroska", "mpegts", "avi", or ffmpeg's first demuxer name
    format_name: str  # ffmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    video_codec: str
    width: int
    height: int
    frame_rate: float
    frame_rate_exact: str  # "25/1", "30000/1001"
    duration_s: float
    start_time_s: float
    creation_time: datetime | None  # aware UTC, from container metadata
    audio_codec: str | None
    video_streams: int  # attached pictures (cover art) not counted
    prober: str  # "ffprobe" or "ffmpeg": which report this came from
