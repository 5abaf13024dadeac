"""Shared by the rendition tests: a real archive holding a segment of the real footage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import cv2
import numpy as np

from evidence.bootstrap import System, open_system
from evidence.config import Settings
from evidence.model import PrivacyZone
from evidence.model.security import user_id
from ingest.pipeline import Ingestor
from ingest.simulate import record_simulated
from tests.ingest_support import new_archive

LABELS = Path(__file__).parent / "data" / "pedestrians-720p.people.json"
SUPERVISOR = user_id("chef.salle")
START = (datetime.now(UTC) - timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)

#: A façade on the right of the hall, one zone per method (normalised polygons).
ZONES = [
    PrivacyZone(
        "porte-solid", ((0.05, 0.05), (0.30, 0.05), (0.30, 0.40), (0.05, 0.40)), "Porte", "solid"
    ),
    PrivacyZone(
        "fenetre-blur", ((0.40, 0.30), (0.70, 0.25), (0.72, 0.70), (0.42, 0.75)), "Fenêtre", "blur"
    ),
    PrivacyZone(
        "balcon-pixel",
        ((0.75, 0.50), (0.98, 0.50), (0.98, 0.95), (0.75, 0.95)),
        "Balcon",
        "pixelate",
    ),
]


@dataclass
class Footage:
    system: System
    segment_id: UUID
    data: Path


def footage_archive(root: Path, footage: Path, seconds: int = 4, zones: bool = True) -> Footage:
    """An archive with camera CAM01, its zones, and one ingested segment of the footage."""
    data = new_archive(root)
    folder = root / "spool"
    folder.mkdir()
    paths = record_simulated(
        folder, "CAM01", START, 1, seconds, 1280, 720, 25, source="footage", footage_path=footage
    )
    system = open_system(Settings(data=data))
    outcome = Ingestor(system).ingest(paths[0], "CAM01", root=folder)
    assert outcome.status == "recorded" and outcome.segment_id, outcome
    if zones:
        for zone in ZONES:
            system.archives.define_privacy_zone("CAM01", zone, SUPERVISOR)
    return Footage(system, outcome.segment_id, data)


def edge_energy(gray: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean absolute Laplacian (over ``where`` if given): how much detail the pixels hold."""
    if gray.size == 0:
        return 0.0
    energy = np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F))
    return float(energy[where].mean() if where is not None else energy.mean())


def labels() -> dict[int, list[list[int]]]:
    doc = json.loads(LABELS.read_text(encoding="utf-8"))
    return {int(k): v for k, v in doc["frames"].items()}


def decode_gray(
    video: Path, frames: list[int], width: int = 1280, height: int = 720
) -> dict[int, np.ndarray]:
    """Luma of the given frames (0-based decode order) of a video file, via ffmpeg."""
    import subprocess

    from ingest.ffmpeg import ffmpeg_path

    done = subprocess.run(
        [
            str(ffmpeg_path()),
            "-v",
            "error",
            "-i",
            str(video),
            "-frames:v",
            str(max(frames) + 1),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "pipe:1",
        ],
        capture_output=True,
        check=True,
    )
    size = width * height
    return {
        n: np.frombuffer(done.stdout[n * size : (n + 1) * size], np.uint8).reshape(height, width)
        for n in frames
    }


def zone_pixels(zone: PrivacyZone, width: int, height: int, erode: int = 4) -> np.ndarray:
    """Boolean mask of a zone's inside, eroded so that encoder bleed at the edge is ignored."""
    from ingest.rendition.zones import Zone, zone_mask

    mask = zone_mask(Zone(zone.zone_id, zone.polygon, zone.label, zone.method), width, height)
    return cv2.erode(mask, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8)) > 0


def detail_correlation(original: np.ndarray, shown: np.ndarray, where: np.ndarray) -> float:
    """Correlation of the two pictures' fine detail (Laplacians) over ``where``: near 0 when
    nothing of the original's detail can be recovered from what is shown."""
    a = cv2.Laplacian(original.astype(np.float32), cv2.CV_32F)[where]
    b = cv2.Laplacian(shown.astype(np.float32), cv2.CV_32F)[where]
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
