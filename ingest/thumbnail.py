"""One small JPEG from the start of a segment, for custody reports and the segment browser.

The frame is the segment's first keyframe (or the one just before ``at_seconds``), decoded by
ffmpeg and written as JPEG to a pipe: no temporary file holds an unencrypted image, and only
one GOP is decoded, so the time is bounded whatever the segment's length. ``timeout`` bounds
it for hostile or damaged files too.

The picture is *raw*: privacy masks (CSI L251-3) are not applied here. Callers store it
encrypted like any blob and mask it before anyone sees it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ingest.ffmpeg import SAFE_INPUT_OPTIONS, ffmpeg_path, file_url


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
    if not 16 <= width <= 3840:
        raise ValueError("thumbnail width must be between 16 and 3840 pixels")
    if not 2 <= quality <= 31:
        raise ValueError("quality must be between 2 and 31")
    args = [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-v", "error"]
    if at_seconds > 0:
        args += ["-ss", f"{at_seconds:.3f}"]
    args += [*SAFE_INPUT_OPTIONS, "-i", file_url(path), "-map", "0:v:0", "-frames:v", "1"]
    args += ["-vf", f"scale={width}:-2", "-c:v", "mjpeg", "-q:v", str(quality)]
    args += ["-f", "image2pipe", "pipe:1"]
    try:
        done = subprocess.run(
            args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ThumbnailError(
            f"thumbnail of {path.name} took more than {timeout:g} s",
            f"La vignette de {path.name} n'a pas pu être produite en {timeout:g} s.",
        ) from exc
    image = done.stdout
    if done.returncode != 0 or not (image.startswith(b"\xff\xd8") and image.endswith(b"\xff\xd9")):
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else "no frame decoded"
        raise ThumbnailError(
            f"no thumbnail for {path.name}: {reason}",
            f"Impossible d'extraire une vignette de {path.name}.",
        )
    return image
