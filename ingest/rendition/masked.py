"""Masked renditions through the zones' filter graph: playback copy, zoom, thumbnail.

Every image that leaves the archive for a viewer passes through :func:`build_graph` here; the
raw picture is decrypted into memory only (see :mod:`ingest.rendition.source`). The masked
playback copy is stored in the vault under the segment's own key (``<blob>.masked``), so the
segment's purge shreds it too, and its derivation is recorded the first time it is made, and
again whenever the camera's zones have changed since.
"""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast
from uuid import UUID

import cv2
import numpy as np

from evidence.bootstrap import System
from evidence.content.vault import derived_id
from evidence.model.segment import Segment
from ingest.ffmpeg import ffmpeg_path, ffmpeg_version
from ingest.rendition.source import RenditionError, ffmpeg, input_args, plaintext
from ingest.rendition.zones import Zone, build_graph, fingerprint, zones_meeting, zones_of

#: The playback copy's encoder: the same settings as the bench's plain re-encode.
ENCODER: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-crf", "23")
#: Fragmented MP4 can be written to a pipe and read progressively by a browser.
FRAGMENTED: tuple[str, ...] = ("-movflags", "frag_keyframe+empty_moov+default_base_moof")


@dataclass(frozen=True)
class Derivation:
    """What a derivation record says (``Segment.RenditionDerived``), plus where the output is."""

    derivation_id: str
    segment_id: UUID
    rendition: str
    blob_id: str | None
    path: Path | None
    source_sha256: str
    output_sha256: str
    output_size: int
    parameters: dict[str, Any] = field(default_factory=dict)
    tool_versions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Zoom:
    """A zoomed, masked still: JPEG bytes and the zones the region met."""

    jpeg: bytes
    zones_triggered: list[str]


@dataclass(frozen=True)
class SegmentFacts:
    segment: Segment
    width: int
    height: int
    zones: list[Zone]
    fps: float = 25.0


def segment_facts(system: System, segment_id: UUID) -> SegmentFacts:
    """The segment, its frame size (from its ``Recorded`` event) and its camera's zones now."""
    archives = system.archives
    segment = archives.segment(segment_id)
    segment.check_not_purged()
    recorded = archives.repository.event_store.get(segment_id, lte=1)
    first = next(iter(recorded))
    camera = archives.camera(segment.camera_code)
    return SegmentFacts(
        segment,
        int(first.width),  # type: ignore[attr-defined]
        int(first.height),  # type: ignore[attr-defined]
        zones_of(camera.zones),
        float(first.fps) or 25.0,  # type: ignore[attr-defined]
    )


def tool_versions() -> dict[str, str]:
    return {"ffmpeg": ffmpeg_version(), "opencv": cv2.__version__, "numpy": np.__version__}


def record(system: System, derivation: Derivation, actor_id: UUID | None) -> None:
    system.archives.record_derivation(
        derivation.segment_id,
        derivation_id=derivation.derivation_id,
        rendition=derivation.rendition,
        blob_id=derivation.blob_id,
        source_sha256=derivation.source_sha256,
        output_sha256=derivation.output_sha256,
        output_size=derivation.output_size,
        parameters=derivation.parameters,
        tool_versions=derivation.tool_versions,
        actor_id=actor_id,
    )


def check_source(facts: SegmentFacts, sha256: str) -> None:
    if sha256 != facts.segment.sha256:
        raise RenditionError(
            f"segment {facts.segment.id} decrypts to {sha256}, recorded {facts.segment.sha256}",
            "Le segment ne correspond plus à son empreinte enregistrée : rendu refusé.",
        )


def masked_segment(system: System, segment_id: UUID, actor_id: UUID | None = None) -> str:
    """Vault id of the segment's masked MP4, made (and its derivation recorded) if needed."""
    facts = segment_facts(system, segment_id)
    vault = system.vault
    blob = derived_id(facts.segment.blob_id, "masked")
    zones_sha = fingerprint(facts.zones)
    known = cast(dict[str, Any], facts.segment.__dict__.get("renditions", {})).get(blob)
    if known and known["parameters"].get("zones_sha256") == zones_sha and vault.blobs.exists(blob):
        return blob
    if vault.blobs.exists(blob):  # made under other zones (or before a crash): remake it
        vault.delete_rendition(blob)
    with (
        tempfile.TemporaryDirectory(prefix="scelle-zones-") as tmp,
        plaintext(vault, facts.segment.blob_id) as source,
    ):
        graph = build_graph(facts.zones, facts.width, facts.height, Path(tmp))
        args = [
            str(ffmpeg_path()), "-nostdin", "-hide_banner", "-v", "error",
            *input_args(source), *graph.input_args(),
            "-filter_complex", graph.graph, "-map", "[masked]", "-an",
            *ENCODER, *FRAGMENTED, "-f", "mp4", "pipe:1",
        ]  # fmt: skip
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                pass_fds=(source.fd,),
            )
            try:
                stored = vault.put(blob, cast(IO[bytes], process.stdout))
            finally:
                code = process.wait()
            if code != 0:
                vault.delete_rendition(blob)
                errors.seek(0)
                tail = errors.read().decode("utf-8", "replace").strip()[-300:]
                raise RenditionError(
                    f"masked rendition failed: {tail}", "La copie masquée n'a pu être produite."
                )
        check_source(facts, source.sha256)
    derivation = Derivation(
        derivation_id=uuid.uuid4().hex,
        segment_id=segment_id,
        rendition="masked",
        blob_id=blob,
        path=None,
        source_sha256=source.sha256,
        output_sha256=stored.plaintext_sha256,
        output_size=stored.plaintext_size,
        parameters={
            "zones": [z.as_record() for z in facts.zones],
            "zones_sha256": zones_sha,
            "frame": [facts.width, facts.height],
            "filter_graph": graph.graph,
            "encoder": " ".join((*ENCODER, *FRAGMENTED)),
        },
        tool_versions=tool_versions(),
    )
    record(system, derivation, actor_id)
    return blob


def _jpeg_size(data: bytes) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise RenditionError("stored thumbnail is not a JPEG", "Vignette enregistrée illisible.")
    return int(image.shape[1]), int(image.shape[0])


def masked_thumbnail(system: System, segment_id: UUID) -> bytes:
    """JPEG of the segment's thumbnail with its camera's zones applied (never the raw one)."""
    facts = segment_facts(system, segment_id)
    vault = system.vault
    owner = facts.segment.thumbnail_blob_id or facts.segment.blob_id
    with (
        tempfile.TemporaryDirectory(prefix="scelle-zones-") as tmp,
        plaintext(vault, owner) as source,
    ):
        if facts.segment.thumbnail_blob_id:
            width, height = _jpeg_size(vault.read_all(owner))
            graph = build_graph(facts.zones, width, height, Path(tmp))
            inputs = input_args(source, "jpeg_pipe,image2,mjpeg")
            scale = ""
        else:
            graph = build_graph(facts.zones, facts.width, facts.height, Path(tmp))
            inputs = input_args(source)
            scale = ";[masked]scale=320:-2[out]"
        return _still(inputs, graph.input_args(), graph.graph + scale, bool(scale), source.fd)


def _still(inputs: list[str], masks: list[str], graph: str, scaled: bool, fd: int) -> bytes:
    out = "[out]" if scaled else "[masked]"
    image = ffmpeg(
        [
            *inputs,
            *masks,
            "-filter_complex",
            graph,
            "-map",
            out,
            "-frames:v",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            "-f",
            "image2pipe",
            "pipe:1",
        ],
        (fd,),
    )
    if not image.startswith(b"\xff\xd8"):
        raise RenditionError("no frame decoded", "Aucune image n'a pu être extraite.")
    return image


def check_region(region: tuple[float, float, float, float] | list[float]) -> tuple[float, ...]:
    values = tuple(float(v) for v in region)
    if len(values) != 4 or not (
        0 <= values[0] < values[2] <= 1 and 0 <= values[1] < values[3] <= 1
    ):
        raise RenditionError(
            f"zoom region must be x0 < x1, y0 < y1 within 0..1, got {values}",
            "La zone de zoom doit être un rectangle dans l'image (coordonnées de 0 à 1).",
        )
    return values


def zoom_frame(
    system: System,
    segment_id: UUID,
    at_seconds: float,
    region: tuple[float, float, float, float] | list[float],
    actor_id: UUID,
    purpose: str,
    mission_id: UUID | None,
) -> Zoom:
    """A masked, enlarged still of ``region`` at ``at_seconds``; the ``Zoomed`` event recorded.

    The zones are applied at full resolution *before* the crop, so a zoom can never look
    inside a zone; ``zones_triggered`` says which zones the region met.
    """
    x0, y0, x1, y1 = check_region(region)
    if at_seconds < 0:
        raise RenditionError("negative time", "L'instant demandé est négatif.")
    facts = segment_facts(system, segment_id)
    w, h = facts.width, facts.height
    cx, cy = int(x0 * w) & ~1, int(y0 * h) & ~1
    cw, ch = max(2, (round((x1 - x0) * w)) & ~1), max(2, (round((y1 - y0) * h)) & ~1)
    cw, ch = min(cw, w - cx), min(ch, h - cy)
    with (
        tempfile.TemporaryDirectory(prefix="scelle-zones-") as tmp,
        plaintext(system.vault, facts.segment.blob_id) as source,
    ):
        check_source(facts, source.sha256)
        graph = build_graph(facts.zones, w, h, Path(tmp))
        target = min(1280, max(cw, 640))
        crop = f";[masked]crop={cw}:{ch}:{cx}:{cy},scale={target}:-2:flags=lanczos[out]"
        inputs = ["-ss", f"{at_seconds:.3f}", *input_args(source)]
        jpeg = _still(inputs, graph.input_args(), graph.graph + crop, True, source.fd)
    triggered = zones_meeting(facts.zones, (x0, y0, x1, y1))
    system.archives.record_zoom(
        segment_id,
        actor_id=actor_id,
        purpose=purpose,
        mission_id=mission_id,
        at_seconds=float(at_seconds),
        region=[x0, y0, x1, y1],
        zones_triggered=triggered,
    )
    return Zoom(jpeg, triggered)
