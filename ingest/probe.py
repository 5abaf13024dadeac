"""Describe a recorded segment, or say precisely why it cannot be ingested.

Ingest probes every segment before it writes a blob or an event, so the probe decides what an
operator sees when a camera misbehaves; each refusal is a :class:`ProbeError` subclass with an
English ``str()`` for logs and a French ``message_fr`` for the operator.

How a file is judged, cheapest first. Cost for a one-minute 1080p segment on a 2-core host:
one ffmpeg process, ~25 ms for MP4 and ~55 ms for MKV; two for MPEG-TS, ~180 ms.

1. zero bytes: :class:`EmptyFile`; extension not .mp4/.mkv/.ts: :class:`UnsupportedContainer`.
2. A structural check in Python (:mod:`ingest.structure`), reading a few headers: the magic
   bytes must match the extension (else :class:`UnsupportedContainer`), and the container must
   be whole (else :class:`TruncatedFile`). This is what catches an MP4 or MKV cut short: ffmpeg
   opens a "faststart" MP4 cut in half without a word and reports the full duration, because
   its index sits at the front; but the ``mdat`` box then claims more bytes than the file has.
3. ffprobe's JSON when ffprobe exists, otherwise the stream report that ``ffmpeg -i`` prints
   to stderr (the imageio-ffmpeg wheel has no ffprobe), both read by :mod:`ingest.report`.
   Unreadable content or no video stream: :class:`NotAVideo`; a media format outside the
   accepted demuxers: :class:`UnsupportedContainer`; damage reported while probing:
   :class:`TruncatedFile`.
4. A decode check, by ``decode_check``: an MPEG-TS cut at a packet boundary is structurally
   indistinguishable from a shorter recording (the format is made to be cut), but its last
   frame is incomplete and fails to decode. ``"auto"`` therefore decodes the last GOP
   (``-sseof``) of MPEG-TS files only, which costs one GOP of decoding; ``"tail"`` does that for
   any container and ``"full"`` decodes everything (about 10x real time at 720p on 2 cores:
   for integrity inquiries, not routine ingest). A full decode does not see a truncated MP4
   (the demuxer just stops early), which is why step 2 exists.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from ingest.ffmpeg import SAFE_INPUT_OPTIONS, ffmpeg_path, ffprobe_path, file_url
from ingest.probe_result import (
    EmptyFile,
    NotAVideo,
    ProbeError,
    ProbeResult,
    ProbeTimeout,
    TruncatedFile,
    UnsupportedContainer,
)
from ingest.report import open_failure, parse_ffmpeg_stderr, parse_ffprobe_json, reported_damage
from ingest.structure import inspect_structure

DecodeCheck = Literal["auto", "none", "tail", "full"]

#: Segment extension -> the container the content must be.
SEGMENT_CONTAINERS: Mapping[str, str] = {".mp4": "mp4", ".mkv": "matroska", ".ts": "mpegts"}

#: How far before the end the tail check seeks. ffmpeg starts decoding at the keyframe before
#: that point, so this decodes the last GOP: what the final, possibly cut, frame depends on.
TAIL_SECONDS = 0.1

_NAMES_FR = {"mp4": "MP4", "matroska": "Matroska (MKV)", "mpegts": "MPEG-TS"}


def probe(
    path: Path | str,
    *,
    containers: Mapping[str, str] | None = SEGMENT_CONTAINERS,
    decode_check: DecodeCheck = "auto",
    use_ffprobe: bool | None = None,
    timeout: float = 15.0,
) -> ProbeResult:
    """Describe the video in ``path`` or raise the precise :class:`ProbeError`.

    ``containers`` maps accepted extensions to the container they must hold; ``None`` accepts
    any demuxer in :data:`ingest.ffmpeg.SAFE_DEMUXERS` (e.g. the AVI footage the simulator
    loops). ``use_ffprobe`` None means "if installed". ``timeout`` bounds each ffmpeg process.
    A missing file raises ``FileNotFoundError``.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{path.name} is empty (0 bytes)", f"Le fichier {path.name} est vide.")
    expected = _expected_container(path, containers)
    sniffed, damage = inspect_structure(path)
    if expected and sniffed and sniffed != expected:
        raise _mismatch(path, expected, sniffed)
    if damage:
        raise _truncated(path, damage)

    result, stderr = _report(path, use_ffprobe, timeout)
    if expected and result.container != expected:
        raise _mismatch(path, expected, result.container)
    damage = reported_damage(stderr)
    if damage:
        raise _truncated(path, f"ffmpeg reported damage: {damage}")
    if decode_check == "auto":
        decode_check = "tail" if result.container == "mpegts" else "none"
    if decode_check != "none":
        _decode(path, tail=decode_check == "tail", timeout=timeout)
    return result


def _report(path: Path, use_ffprobe: bool | None, timeout: float) -> tuple[ProbeResult, str]:
    """Run ffprobe (JSON) or ``ffmpeg -i`` (stderr report); return the result and stderr."""
    prober = ffprobe_path() if use_ffprobe is not False else None
    if use_ffprobe and prober is None:
        raise FileNotFoundError("ffprobe requested but not installed")
    if prober:
        args = [str(prober), "-v", "warning", "-hide_banner", "-of", "json"]
        args += ["-show_format", "-show_streams", *SAFE_INPUT_OPTIONS, file_url(path)]
    else:
        args = [str(ffmpeg_path()), "-nostdin", "-hide_banner", *SAFE_INPUT_OPTIONS]
        args += ["-i", file_url(path)]
    done = _run(args, timeout, path)
    stderr = done.stderr.decode("utf-8", "replace")
    if not prober:
        return parse_ffmpeg_stderr(stderr, name=path.name), stderr
    if done.returncode != 0:
        raise open_failure(path, stderr)
    return parse_ffprobe_json(done.stdout.decode("utf-8", "replace"), name=path.name), stderr


def _expected_container(path: Path, containers: Mapping[str, str] | None) -> str | None:
    if containers is None:
        return None
    suffix = path.suffix.lower()
    if suffix not in containers:
        accepted = ", ".join(containers)
        raise UnsupportedContainer(
            f"{path.name}: extension {suffix or '(none)'!r} is not accepted ({accepted})",
            f"{path.name} : l'extension {suffix or '(aucune)'} n'est pas acceptée "
            f"(extensions admises : {accepted}).",
        )
    return containers[suffix]


def _mismatch(path: Path, expected: str, found: str) -> UnsupportedContainer:
    return UnsupportedContainer(
        f"{path.name}: extension says {expected} but the content is {found}",
        f"{path.name} : l'extension annonce du {_NAMES_FR.get(expected, expected)} mais le "
        f"contenu est du {_NAMES_FR.get(found, found)}.",
    )


def _truncated(path: Path, why: str) -> TruncatedFile:
    return TruncatedFile(
        f"{path.name} is truncated or damaged: {why}",
        f"Le fichier {path.name} est tronqué ou endommagé (enregistrement interrompu, copie "
        "incomplète ou support défectueux) ; le détail technique figure dans le journal.",
    )


def _run(args: list[str], timeout: float, path: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ProbeTimeout(
            f"ffmpeg took more than {timeout:g} s on {path.name}",
            f"L'analyse de {path.name} a dépassé {timeout:g} s.",
        ) from exc


def _decode(path: Path, *, tail: bool, timeout: float) -> None:
    """Decode the video (all of it, or its last GOP); any decoder error means damage."""
    args = [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-v", "error", "-xerror"]
    if tail:
        args += ["-sseof", f"-{TAIL_SECONDS:g}"]
    args += [*SAFE_INPUT_OPTIONS, "-i", file_url(path), "-map", "0:v:0", "-f", "null", "-"]
    done = _run(args, timeout, path)
    errors = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 or errors:
        first = errors.splitlines()[0] if errors else f"exit status {done.returncode}"
        raise _truncated(path, f"decoding failed: {first}")


__all__ = [
    "SEGMENT_CONTAINERS",
    "EmptyFile",
    "NotAVideo",
    "ProbeError",
    "ProbeResult",
    "ProbeTimeout",
    "TruncatedFile",
    "UnsupportedContainer",
    "inspect_structure",
    "parse_ffmpeg_stderr",
    "parse_ffprobe_json",
    "probe",
    "reported_damage",
]
