"""Static privacy zones as an ffmpeg filter graph: the fast path of every rendition.

A camera's zones are fixed polygons, so their masks are drawn once per rendition (one grey
PNG per zone, cropped to the zone's bounding box) and ffmpeg does the per-frame work in C:
``solid`` paints the zone black, ``blur`` and ``pixelate`` replace it with a copy of the same
pixels so degraded that no detail survives (box blur of radius ≥ 1/12 of the zone's short side,
three passes; pixelation into blocks of ≥ 1/10 of it), merged through the polygon's mask.
Only the zone's bounding box is filtered, so the cost grows with the zones' area, not the
frame's. The graph is recorded verbatim in each derivation record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: Masks are drawn at this precision, so a zone's edge is exact to 1/16 pixel.
_SHIFT = 4
#: Each mask image is read and converted once, then repeated for every frame by ffmpeg's
#: ``loop`` filter (``-loop 1`` on the input decoded the PNG again for every frame: ~3 ms a
#: frame at 1080p with two zones; the output is bit-identical).
_HOLD = "loop=loop=-1:size=1"


@dataclass(frozen=True)
class Zone:
    """One privacy zone of a camera, as its ``PrivacyZoneDefined`` event gave it."""

    zone_id: str
    polygon: tuple[tuple[float, float], ...]
    label: str
    method: str

    def as_record(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "label": self.label,
            "method": self.method,
            "polygon": [list(p) for p in self.polygon],
        }


def zones_of(camera_zones: Mapping[str, Mapping[str, Any]]) -> list[Zone]:
    """The camera aggregate's ``zones`` dict as a sorted list (stable derivation records)."""
    return [
        Zone(zid, tuple((float(x), float(y)) for x, y in z["polygon"]), z["label"], z["method"])
        for zid, z in sorted(camera_zones.items())
    ]


def fingerprint(zones: list[Zone]) -> str:
    """SHA-256 of the zones' canonical JSON: a rendition is current while this matches."""
    text = json.dumps([z.as_record() for z in zones], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def zone_mask(zone: Zone, width: int, height: int) -> np.ndarray:
    """The whole frame's mask of one zone (255 inside), for tests and zoom checks."""
    mask = np.zeros((height, width), np.uint8)
    pts = np.array(
        [
            [round(x * width * (1 << _SHIFT)), round(y * height * (1 << _SHIFT))]
            for x, y in zone.polygon
        ],
        np.int32,
    )
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Even-aligned bounding box (x, y, w, h) of a mask, so chroma planes align."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    x0, y0 = int(xs.min()) & ~1, int(ys.min()) & ~1
    x1, y1 = (
        min(mask.shape[1], (int(xs.max()) + 2) & ~1),
        min(mask.shape[0], (int(ys.max()) + 2) & ~1),
    )
    return x0, y0, max(2, x1 - x0), max(2, y1 - y0)


@dataclass(frozen=True)
class ZoneGraph:
    """An ffmpeg ``-filter_complex`` that masks input ``[0:v]`` into ``[masked]``.

    ``inputs`` are the mask images to pass (each with ``-i``, read once) after the video.
    """

    graph: str
    inputs: tuple[Path, ...]
    zones: tuple[Zone, ...]

    def input_args(self) -> list[str]:
        args: list[str] = []
        for path in self.inputs:
            args += ["-i", str(path)]
        return args


def build_graph(
    zones: list[Zone], width: int, height: int, workdir: Path, source: str = "0:v"
) -> ZoneGraph:
    """The filter graph for ``zones`` on ``width``×``height`` frames; masks written to ``workdir``.

    The graph's output is ``[masked]`` in yuv420p. Without zones it only fixes the pixel format.
    """
    chain = [f"[{source}]format=yuv420p[v0]"]
    inputs: list[Path] = []
    current = "v0"
    for index, zone in enumerate(zones):
        mask = zone_mask(zone, width, height)
        box = _box(mask)
        if box is None:  # a zone thinner than a pixel at this size covers nothing
            continue
        x, y, w, h = box
        nxt = f"v{index + 1}"
        if zone.method == "solid":
            # A black plane with the polygon as alpha, overlaid once per frame.
            path = workdir / f"zone-{index}.png"
            rgba = np.zeros((h, w, 4), np.uint8)
            rgba[:, :, 3] = mask[y : y + h, x : x + w]
            cv2.imwrite(str(path), rgba)
            inputs.append(path)
            chain.append(f"[{len(inputs)}:v]format=yuva420p,{_HOLD}[{nxt}m]")
            chain.append(f"[{current}][{nxt}m]overlay={x}:{y}:shortest=1:format=yuv420[{nxt}]")
        else:
            path = workdir / f"zone-{index}.png"
            cv2.imwrite(str(path), mask[y : y + h, x : x + w])
            inputs.append(path)
            short = max(2, min(w, h))
            if zone.method == "blur":
                radius = max(2, min(short // 12, (min(w, h) // 2) - 1, 127))
                chroma = max(1, min(radius // 2, (min(w, h) // 4) - 1))
                degrade = (
                    f"boxblur=luma_radius={radius}:luma_power=3:"
                    f"chroma_radius={chroma}:chroma_power=3"
                )
            else:  # pixelate
                block = max(4, short // 10)
                bw, bh = max(1, w // block), max(1, h // block)
                degrade = f"scale={bw}:{bh}:flags=area,scale={w}:{h}:flags=neighbor"
            chain.append(f"[{current}]split[{nxt}a][{nxt}b]")
            chain.append(f"[{nxt}b]crop={w}:{h}:{x}:{y},{degrade},format=yuva420p[{nxt}c]")
            chain.append(f"[{len(inputs)}:v]format=gray,{_HOLD}[{nxt}m]")
            chain.append(f"[{nxt}c][{nxt}m]alphamerge=shortest=1[{nxt}d]")
            chain.append(f"[{nxt}a][{nxt}d]overlay={x}:{y}:shortest=1:format=yuv420[{nxt}]")
        current = nxt
    chain.append(f"[{current}]format=yuv420p[masked]")
    return ZoneGraph(";".join(chain), tuple(inputs), tuple(zones))


def zones_meeting(zones: list[Zone], region: tuple[float, float, float, float]) -> list[str]:
    """Ids of the zones that share at least one pixel with ``region`` (x0, y0, x1, y1, 0..1).

    Decided on a 1000×1000 raster of the zones, exact to a thousandth of the frame.
    """
    x0, y0, x1, y1 = (round(v * 1000) for v in region)
    met = []
    for zone in zones:
        mask = zone_mask(zone, 1000, 1000)
        if mask[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)].any():
            met.append(zone.zone_id)
    return met
