"""Redacted extracts: everyone blurred but the people the access desk designates.

The pipeline stays in the decoder's pixel format: ffmpeg decodes to raw yuv420p on a pipe,
Python finds and follows people on the luma plane (see :mod:`ingest.rendition.people`) and
blurs only their boxes, in place, on the three planes; a second ffmpeg applies the camera's
privacy zones (the same filter graph as every rendition) and encodes. Decoder, Python and
encoder run at once, one process each.

Blurring averages the boxes' regions down to blocks of 1/60 of the frame's height and
brings them back up smoothly: no face, outline or text survives; a person is a soft stain.
Decoding, redacting and encoding overlap on threads (:mod:`ingest.rendition.frames`).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast
from uuid import UUID

import cv2
import numpy as np

from evidence.bootstrap import System
from ingest.ffmpeg import ffmpeg_path
from ingest.rendition.frames import PumpFailed, pump
from ingest.rendition.lookback import LOOKBACK_FRAMES, earlier_boxes
from ingest.rendition.masked import (
    ENCODER,
    Derivation,
    SegmentFacts,
    check_region,
    check_source,
    record,
    segment_facts,
    tool_versions,
)
from ingest.rendition.people import Box, Detector, Follower, Tracker, grow, iou
from ingest.rendition.source import RenditionError, input_args, plaintext
from ingest.rendition.zones import build_graph, fingerprint


@dataclass(frozen=True)
class Designation:
    """A person to leave visible: a box (x0, y0, x1, y1 in 0..1) on frame ``frame``."""

    frame: int
    box: tuple[float, float, float, float]


def blur_boxes(planes: tuple[np.ndarray, np.ndarray, np.ndarray], boxes: list[Box]) -> None:
    """Destroy the detail of ``boxes`` in place on a yuv420p frame's Y, U and V planes.

    The frame is cut into square blocks (1/60 of its height, at least 8 pixels; half that on
    the chroma planes) and the blocks the boxes touch are marked. Each group of touching
    marked blocks is then degraded in one piece, on a view of its region only (one block of
    margin for context): averaged down to one value per block, smoothed back up and
    box-blurred over one block, then copied over the marked blocks. No detail finer than a
    block is left, overlapping boxes cost nothing extra, and the cost follows the boxes'
    area, not the frame's (a full-frame pass of the three planes cost ~30 ms at 1080p).
    """
    if not boxes:
        return
    luma = planes[0]
    height, width = luma.shape
    block = max(8, (height // 60) & ~1)
    rows, cols = -(-height // block), -(-width // block)  # the last block may be partial
    cover = np.zeros((rows, cols), np.uint8)
    for x, y, w, h in boxes:
        cover[y // block : -(-(y + h) // block), x // block : -(-(x + w) // block)] = 1
    count, groups, stats, _ = cv2.connectedComponentsWithStats(cover, connectivity=8)
    for label in range(1, count):
        left, top, span_w, span_h = (int(v) for v in stats[label, :4])
        r0, c0 = max(0, top - 1), max(0, left - 1)
        r1, c1 = min(rows, top + span_h + 1), min(cols, left + span_w + 1)
        marked = (groups[r0:r1, c0:c1] == label).view(np.uint8)
        for plane in planes:
            step = block * plane.shape[0] // height  # block size on this plane
            y0, x0 = r0 * step, c0 * step
            y1, x1 = min(plane.shape[0], r1 * step), min(plane.shape[1], c1 * step)
            region = plane[y0:y1, x0:x1]
            small = cv2.resize(region, (c1 - c0, r1 - r0), interpolation=cv2.INTER_AREA)
            # Bicubic back up: smooth across blocks (no creases), from the means alone.
            smooth = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
            where = np.repeat(np.repeat(marked, step, 0), step, 1)[: y1 - y0, : x1 - x0]
            cv2.copyTo(smooth, where, region)  # in place: ``region`` is a view of the plane


def _slices(box: Box, sub: int) -> tuple[slice, slice]:
    x, y, w, h = box
    return slice(y // sub, (y + h) // sub), slice(x // sub, (x + w) // sub)


def _copy(planes: tuple[np.ndarray, ...], box: Box) -> list[np.ndarray]:
    return [p[_slices(box, sub)].copy() for p, sub in zip(planes, (1, 2, 2), strict=True)]


def _paste(planes: tuple[np.ndarray, ...], box: Box, pieces: list[np.ndarray]) -> None:
    for plane, sub, piece in zip(planes, (1, 2, 2), pieces, strict=True):
        plane[_slices(box, sub)] = piece


def same_person(box: Box, kept: Box) -> bool:
    """Whether ``box`` is another detector's view of the designated person's ``kept`` box
    (HOG and motion each give a box for one person): mostly inside it, or nearly equal."""
    x0, y0 = max(box[0], kept[0]), max(box[1], kept[1])
    x1 = min(box[0] + box[2], kept[0] + kept[2])
    y1 = min(box[1] + box[3], kept[1] + kept[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter >= 0.6 * box[2] * box[3] or iou(box, kept) >= 0.4


@dataclass
class Redactor:
    """Frame-by-frame redaction state: detector, tracker, designations."""

    width: int
    height: int
    designated: Sequence[Designation]
    hog_every: int = 25
    #: Boxes of designated people on frames before their designation (``lookback``).
    earlier: dict[int, list[Box]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.detector = Detector(self.width, self.height, hog_every=self.hog_every)
        self.tracker = Tracker()
        self.frame = 0
        self.chosen: list[dict[str, object]] = []
        self.followers: list[Follower] = []
        self.blurred_boxes = 0
        #: Boxes blurred per frame, kept only for the frames listed in ``trace`` (tests).
        self.trace: dict[int, list[Box]] = {}

    def process(self, frame: np.ndarray, small: np.ndarray | None = None) -> None:
        """Redact one yuv420p frame (a flat uint8 array) in place; ``small`` is its motion
        plane (``self.detector.reduce`` of its luma) if already made."""
        w, h = self.width, self.height
        y = frame[: w * h].reshape(h, w)
        u = frame[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
        v = frame[w * h * 5 // 4 :].reshape(h // 2, w // 2)
        if self.frame == 0:
            self.detector.detect_split(y)
            self.detector.flush()  # the first frame waits for HOG: no one slips through at start
        moving, still = self.detector.detect_split(y, small)
        tracks = self.tracker.update(moving)
        for wanted in self.designated:
            if wanted.frame == self.frame:
                x0, y0, x1, y1 = wanted.box
                box = (int(x0 * w), int(y0 * h), int((x1 - x0) * w), int((y1 - y0) * h))
                follower = Follower(box)
                follower.start(y)
                self.followers.append(follower)
                self.chosen.append(
                    {"frame": wanted.frame, "box": list(wanted.box), "track": len(self.followers)}
                )
        kept = [f.follow(y) for f in self.followers] + self.earlier.get(self.frame, [])
        candidates = [t.box for t in tracks] + still
        hidden = [
            grow(box, 0.05, w, h)
            for box in candidates
            if not any(same_person(box, k) for k in kept)
        ]
        saved = [_copy((y, u, v), box) for box in kept]
        blur_boxes((y, u, v), hidden)
        for box, pieces in zip(kept, saved, strict=True):  # a designated person stays visible
            _paste((y, u, v), box, pieces)
        if self.frame in self.trace:
            self.trace[self.frame] = hidden
        self.blurred_boxes += len(hidden)
        self.frame += 1

    def close(self) -> None:
        self.detector.close()


def _run(
    system: System,
    facts: SegmentFacts,
    redactor: Redactor,
    out_path: Path,
    duration: float | None,
) -> tuple[str, str]:
    """Decode, redact and encode; return (source SHA-256, the zones' filter graph)."""
    w, h = facts.width, facts.height
    size = w * h * 3 // 2
    with (
        tempfile.TemporaryDirectory(prefix="scelle-zones-") as tmp,
        plaintext(system.vault, facts.segment.blob_id) as source,
    ):
        check_source(facts, source.sha256)
        redactor.earlier = earlier_boxes(source, w, h, redactor.designated)
        graph = build_graph(facts.zones, w, h, Path(tmp))
        decode = [
            str(ffmpeg_path()), "-nostdin", "-v", "error", *input_args(source),
            "-map", "0:v:0", *(["-t", f"{duration:.3f}"] if duration else []),
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
        ]  # fmt: skip
        encode = [
            str(ffmpeg_path()), "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
            "-s", f"{w}x{h}", "-r", f"{facts.fps:g}", "-i", "pipe:0", *graph.input_args(),
            "-filter_complex", graph.graph, "-map", "[masked]", *ENCODER,
            "-movflags", "+faststart", "-f", "mp4", str(out_path),
        ]  # fmt: skip
        decoder = subprocess.Popen(
            decode, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, pass_fds=(source.fd,)
        )
        encoder = subprocess.Popen(encode, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        reader, writer = cast(io.BufferedReader, decoder.stdout), cast(IO[bytes], encoder.stdin)
        detector = redactor.detector
        finished = False
        try:
            pump(
                reader,
                writer,
                size,
                lambda frame: detector.reduce(frame[: w * h].reshape(h, w)),
                redactor.process,
            )
            finished = True
        except PumpFailed:
            pass  # a pipe broke: the encoder's or decoder's exit status says why, below
        finally:
            redactor.close()
            if not finished:  # stopped early: do not wait for the rest of the decode
                decoder.kill()
            codes = decoder.wait(), encoder.wait()
            reader.close()
            if not finished:
                out_path.unlink(missing_ok=True)
        if any(codes) or redactor.frame == 0:
            out_path.unlink(missing_ok=True)
            raise RenditionError(
                f"redaction failed (ffmpeg exit {codes})", "L'extrait flouté n'a pu être produit."
            )
    return source.sha256, graph.graph


def redacted_extract(
    system: System,
    segment_id: UUID,
    designated: Sequence[Designation],
    out_path: Path,
    actor_id: UUID | None = None,
    *,
    duration: float | None = None,
) -> Derivation:
    """Write an MP4 of the segment with every non-designated person blurred and the zones
    masked to ``out_path``; record its derivation; return it."""
    for wanted in designated:
        check_region(wanted.box)
        if wanted.frame < 0:
            raise RenditionError("negative frame", "Numéro d'image négatif.")
    facts = segment_facts(system, segment_id)
    w, h = facts.width, facts.height
    if w % 2 or h % 2:
        raise RenditionError("odd frame size", "Dimensions d'image impaires non prises en charge.")
    out_path = Path(out_path)
    if out_path.exists():
        raise RenditionError(
            f"{out_path} exists", f"{out_path} existe déjà : choisissez un autre nom."
        )
    redactor = Redactor(w, h, designated)
    # The pipeline is parallel already (reader, redactor, writer, HOG worker, two ffmpeg):
    # OpenCV's own worker threads only spin against it (~15 % more CPU a frame, measured).
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        source_sha256, filter_graph = _run(system, facts, redactor, out_path, duration)
    finally:
        cv2.setNumThreads(threads)
    digest = hashlib.sha256(out_path.read_bytes()).hexdigest()
    derivation = Derivation(
        derivation_id=uuid.uuid4().hex,
        segment_id=segment_id,
        rendition="redacted",
        blob_id=None,
        path=out_path,
        source_sha256=source_sha256,
        output_sha256=digest,
        output_size=out_path.stat().st_size,
        parameters={
            "zones": [z.as_record() for z in facts.zones],
            "zones_sha256": fingerprint(facts.zones),
            "frame": [w, h],
            "filter_graph": filter_graph,
            "encoder": " ".join(ENCODER),
            "detector": redactor.detector.parameters(),
            "tracker": {
                "kind": "greedy-iou",
                "min_iou": redactor.tracker.min_iou,
                "keep_frames": redactor.tracker.keep,
            },
            "follower": "template matching (TM_CCOEFF_NORMED), window = box grown by 50 %; "
            f"also backwards from the designation over up to {LOOKBACK_FRAMES} frames, "
            "on the luma plane at half size",
            "redaction": "area-average to blocks of max(8, height/60) px (half on the chroma "
            "planes), bicubic back up, over the blocks the boxes touch",
            "designated": redactor.chosen,
            "frames": redactor.frame,
            "duration_limit_seconds": duration,
            "boxes_blurred": redactor.blurred_boxes,
        },
        tool_versions=tool_versions(),
    )
    record(system, derivation, actor_id)
    return derivation
