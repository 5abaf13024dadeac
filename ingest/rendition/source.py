"""Plaintext of a stored blob for ffmpeg, held in memory only, and ffmpeg runs around it.

Containers such as MP4 need seeking, so a pipe will not do; an anonymous memory file
(``memfd_create``) will, and it never touches a disk: no unencrypted image is ever written
to a temporary file. ffmpeg reads it as ``/proc/self/fd/N`` (the descriptor is inherited).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from evidence.content.vault import ContentVault
from evidence.model.errors import DomainError
from ingest.ffmpeg import SAFE_DEMUXERS, ffmpeg_path


class RenditionError(DomainError, RuntimeError):
    """A rendition could not be made; ``message_fr`` is for the user.

    A :class:`DomainError`, so every entry point that turns refusals into one French line
    (``scelle`` commands through ``tools.context.opened``, the API's error handler) does so
    for renditions too, instead of showing a traceback; still a ``RuntimeError`` for the
    callers that caught it as one.
    """


@dataclass(frozen=True)
class Plaintext:
    """An in-memory plaintext: its descriptor, ffmpeg URL and SHA-256 (checked on load)."""

    fd: int
    sha256: str

    @property
    def url(self) -> str:
        return f"file:/proc/self/fd/{self.fd}"


@contextmanager
def plaintext(
    vault: ContentVault, blob_id: str, name: str = "scelle-source"
) -> Iterator[Plaintext]:
    """Decrypt ``blob_id`` into a memory file; closed (and gone) on exit."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        digest = hashlib.sha256()
        for piece in vault.iter_range(blob_id):
            digest.update(piece)
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        yield Plaintext(fd, digest.hexdigest())
    finally:
        os.close(fd)


def input_args(source: Plaintext, demuxers: str = SAFE_DEMUXERS) -> list[str]:
    """Input options confining ffmpeg to the one in-memory file."""
    return ["-protocol_whitelist", "file", "-format_whitelist", demuxers, "-i", source.url]


def ffmpeg(args: list[str], fds: tuple[int, ...], timeout: float = 600.0) -> bytes:
    """Run ffmpeg with ``fds`` inherited; return stdout or raise :class:`RenditionError`."""
    try:
        done = subprocess.run(
            [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-v", "error", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            pass_fds=fds,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenditionError(
            f"ffmpeg took more than {timeout:g} s", "Le rendu vidéo a dépassé le temps imparti."
        ) from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RenditionError(
            f"ffmpeg failed: {' | '.join(tail)}", "Le rendu vidéo a échoué (ffmpeg)."
        )
    return done.stdout
