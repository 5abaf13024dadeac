"""Find the ffmpeg tools that ingest shells out to, and name them for derivation records.

DESIGN §8: use the system's ffmpeg when there is one, else the binary shipped in the
``imageio-ffmpeg`` wheel, so a fresh machine needs nothing outside the Python package index.
That wheel ships no ffprobe, so ffprobe is optional and callers must cope with ``None``.

Evidence packages (§7) record the exact tool versions that produced each derivative, hence
``tool_versions()``. Every lookup is cached and nothing runs at import time: importing ingest
must stay cheap for the API process, which may never touch a video.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

#: Demuxers ingest lets ffmpeg use. Anything else (HLS playlists, concat lists, image
#: sequences...) could make ffmpeg open other files or URLs named inside a hostile upload.
SAFE_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi"

#: Input options that confine ffmpeg to reading the one local file it was given.
SAFE_INPUT_OPTIONS: tuple[str, ...] = (
    "-protocol_whitelist",
    "file",
    "-format_whitelist",
    SAFE_DEMUXERS,
)


class FfmpegNotFound(RuntimeError):
    """No usable ffmpeg: neither on PATH nor in the imageio-ffmpeg wheel.

    Carries a French ``message_fr`` for the operator, like every error shown in the UI.
    """

    def __init__(self, tool: str, searched: str) -> None:
        super().__init__(
            f"{tool} not found ({searched}); install ffmpeg or the imageio-ffmpeg wheel"
        )
        self.tool = tool
        self.message_fr = (
            f"Outil {tool} introuvable ({searched}) : installez ffmpeg ou le paquet imageio-ffmpeg."
        )


def file_url(path: Path) -> str:
    """An ffmpeg input URL that can only mean this local file.

    A bare name such as ``rtsp:x.mp4`` or ``-y.mp4`` would be read as a protocol or an option;
    ``file:`` plus an absolute path cannot be.
    """
    return "file:" + str(Path(path).resolve())


@cache
def ffmpeg_path() -> Path:
    """The ffmpeg executable: PATH first, else the imageio-ffmpeg binary."""
    found = shutil.which("ffmpeg")
    if found:
        return Path(found)
    try:
        import imageio_ffmpeg  # imported lazily: nothing may run at import time

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise FfmpegNotFound("ffmpeg", f"PATH, imageio-ffmpeg: {exc}") from exc
    if not exe or not Path(exe).is_file():
        raise FfmpegNotFound("ffmpeg", "PATH, imageio-ffmpeg")
    return Path(exe)


@cache
def ffprobe_path() -> Path | None:
    """The ffprobe executable on PATH, or None (the imageio-ffmpeg wheel has none)."""
    found = shutil.which("ffprobe")
    return Path(found) if found else None


def _first_line(exe: Path) -> str:
    done = subprocess.run(
        [str(exe), "-version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if done.returncode != 0 or not lines:
        raise FfmpegNotFound(exe.name, f"{exe} -version failed")
    return lines[0].strip()


@cache
def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version``, e.g. ``ffmpeg version n9.0.2-17-... Copyright ...``."""
    return _first_line(ffmpeg_path())


@cache
def ffprobe_version() -> str | None:
    """First line of ``ffprobe -version``, or None without ffprobe."""
    exe = ffprobe_path()
    return _first_line(exe) if exe else None


def tool_versions() -> dict[str, str]:
    """Tool name to version line, as written into a derivation record."""
    versions = {"ffmpeg": ffmpeg_version()}
    probe_version = ffprobe_version()
    if probe_version:
        versions["ffprobe"] = probe_version
    return versions


@cache
def _listing(kind: str) -> frozenset[str]:
    """Names from ``ffmpeg -encoders`` / ``-filters`` / ``-muxers``: the second column."""
    done = subprocess.run(
        [str(ffmpeg_path()), "-hide_banner", f"-{kind}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    names: set[str] = set()
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split()
        # Rows look like " V....D libx264  description"; the legend rows contain "=".
        if len(fields) >= 2 and "=" not in line:
            names.update(fields[1].split(","))
    return frozenset(names)


def has_encoder(name: str) -> bool:
    """Whether this ffmpeg build can encode with ``name`` (e.g. ``libx264``)."""
    return name in _listing("encoders")


def has_filter(name: str) -> bool:
    """Whether this ffmpeg build has the filter ``name`` (e.g. ``drawtext``)."""
    return name in _listing("filters")


def has_muxer(name: str) -> bool:
    """Whether this ffmpeg build can write the format ``name`` (e.g. ``segment``)."""
    return name in _listing("muxers")


def clear_caches() -> None:
    """Forget every lookup, e.g. after PATH changed (tests, long-lived workers)."""
    for cached in (ffmpeg_path, ffprobe_path, ffmpeg_version, ffprobe_version, _listing):
        cached.cache_clear()
