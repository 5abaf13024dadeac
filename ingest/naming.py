"""Segment file names: the camera and the start time a recorder wrote into them.

Recorders (ffmpeg's segment muxer with ``-strftime 1``, or NVRs) name each finished segment
after its camera and wall-clock start. Ingest reads both back from the name, and compares that
start with the container's ``creation_time`` (camera clock against ingest clock).

Names come from a watched folder anyone on the recorder side can write to, so a name is
untrusted input: anything that could step out of the folder (``..``, separators, NUL,
absolute paths) is refused before it reaches a path join.

Two styles are read:

- ``CAM01_20261122T053000Z.mp4``: ISO 8601 basic, explicitly UTC. Scellé writes this one.
- ``CAM01-2026-11-22_05-30-00.mkv``: common NVR style, no zone; read as ``assume_tz``
  (UTC by default, since recorders are meant to run in UTC).

ffmpeg's ``-strftime 1`` formats the *local* time of the recorder process, so a recorder
using :func:`strftime_pattern` must run with ``TZ=UTC`` in its environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

#: Containers a segment may arrive in; the probe checks the content matches.
SEGMENT_EXTENSIONS = (".mp4", ".mkv", ".ts")

#: Letters, digits, '-' and '_', starting and ending with a letter or digit, at most 64.
CAMERA_CODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?")

_ISO_BASIC = re.compile(
    r"(?P<camera>.+)_(?P<date>\d{8})T(?P<time>\d{6})Z(?P<ext>\.[A-Za-z0-9]+)", re.ASCII
)
_NVR = re.compile(
    r"(?P<camera>.+?)-(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}-\d{2}-\d{2})"
    r"(?P<ext>\.[A-Za-z0-9]+)",
    re.ASCII,
)


class SegmentNameError(ValueError):
    """A segment name was refused; ``message_fr`` is for the operator."""

    def __init__(self, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.message_fr = message_fr


class UnsafeSegmentName(SegmentNameError):
    """The name could reach outside the watched folder, or is not a plain file name."""


class UnrecognisedSegmentName(SegmentNameError):
    """The name follows no known recorder style, or carries an impossible date."""


class InvalidCameraCode(SegmentNameError):
    """The camera code has characters or a length a code may not have."""


@dataclass(frozen=True)
class SegmentName:
    """What a segment's file name says about it."""

    camera_code: str
    start: datetime  # aware, UTC
    extension: str  # lower case, with the dot: ".mp4"


def check_camera_code(code: str) -> str:
    """Return ``code`` if it is a valid camera code, else raise :class:`InvalidCameraCode`."""
    if not CAMERA_CODE.fullmatch(code):
        raise InvalidCameraCode(
            f"invalid camera code {code!r}: use 1-64 letters, digits, '-' or '_', "
            "starting and ending with a letter or digit",
            f"Code caméra invalide {code!r} : 1 à 64 lettres, chiffres, « - » ou « _ », "
            "commençant et finissant par une lettre ou un chiffre.",
        )
    return code


def check_safe_name(name: str) -> str:
    """Refuse anything but a plain, visible file name; return it unchanged."""
    reason: tuple[str, str] | None = None
    if not name:
        reason = ("is empty", "est vide")
    elif "\x00" in name:
        reason = ("contains a NUL byte", "contient un octet nul")
    elif name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        reason = ("is an absolute path", "est un chemin absolu")
    elif "/" in name or "\\" in name:
        reason = ("contains a path separator", "contient un séparateur de chemin")
    elif ".." in name:
        reason = ("contains '..'", "contient « .. »")
    elif name.startswith("."):
        reason = ("is hidden (starts with '.')", "est caché (commence par « . »)")
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        reason = ("contains a control character", "contient un caractère de contrôle")
    if reason:
        raise UnsafeSegmentName(
            f"unsafe segment name {name!r}: {reason[0]}",
            f"Nom de segment refusé {name!r} : il {reason[1]}.",
        )
    return name


def parse_segment_name(
    name: str,
    *,
    assume_tz: tzinfo = UTC,
    extensions: tuple[str, ...] = SEGMENT_EXTENSIONS,
) -> SegmentName:
    """Read camera code and UTC start from a segment's file name (not a path).

    ``assume_tz`` applies only to the zone-less NVR style. Raises :class:`UnsafeSegmentName`,
    :class:`UnrecognisedSegmentName` or :class:`InvalidCameraCode`.
    """
    check_safe_name(name)
    match = _ISO_BASIC.fullmatch(name)
    zone: tzinfo = UTC
    layout = "%Y%m%d%H%M%S"
    if not match:
        match = _NVR.fullmatch(name)
        zone = assume_tz
        layout = "%Y-%m-%d%H-%M-%S"
    if not match:
        raise UnrecognisedSegmentName(
            f"segment name {name!r} matches no known style "
            "(CAM_20261122T053000Z.mp4 or CAM-2026-11-22_05-30-00.mkv)",
            f"Nom de segment {name!r} non reconnu (formats attendus : "
            "CAM_20261122T053000Z.mp4 ou CAM-2026-11-22_05-30-00.mkv).",
        )
    extension = match["ext"].lower()
    if extension not in extensions:
        raise UnrecognisedSegmentName(
            f"segment name {name!r} has extension {extension!r}, not one of {extensions}",
            f"Le segment {name!r} a l'extension {extension!r}, "
            f"qui n'est pas parmi {', '.join(extensions)}.",
        )
    try:
        local = datetime.strptime(match["date"] + match["time"], layout)
    except ValueError as exc:
        raise UnrecognisedSegmentName(
            f"segment name {name!r} carries an impossible date or time ({exc})",
            f"Le nom de segment {name!r} porte une date ou une heure impossible.",
        ) from exc
    start = local.replace(tzinfo=zone).astimezone(UTC)
    return SegmentName(check_camera_code(match["camera"]), start, extension)


def format_segment_name(camera_code: str, start: datetime, extension: str = ".mp4") -> str:
    """The ISO-basic name of a segment starting at ``start`` (floored to the second).

    Same result as ffmpeg's segment muxer with :func:`strftime_pattern` under ``TZ=UTC``.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("segment start must be timezone-aware (UTC)")
    check_camera_code(camera_code)
    return f"{camera_code}_{start.astimezone(UTC):%Y%m%dT%H%M%S}Z{extension}"


def strftime_pattern(camera_code: str, extension: str = ".mp4") -> str:
    """The ``-strftime 1`` output pattern for ffmpeg's segment muxer (run it with TZ=UTC)."""
    return f"{check_camera_code(camera_code)}_%Y%m%dT%H%M%SZ{extension}"
