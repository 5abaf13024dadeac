"""Privacy zones on every rendition path: the masked copy, the zoom, the thumbnail."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from evidence.model import PrivacyZone
from ingest.reconcile import reconcile
from ingest.rendition import RenditionError, masked_segment, masked_thumbnail, zoom_frame
from tests.ingest_support import events
from tests.rendition_support import (
    SUPERVISOR,
    ZONES,
    Footage,
    decode_gray,
    detail_correlation,
    edge_energy,
    footage_archive,
    zone_pixels,
)

OPERATOR = SUPERVISOR  # any user id: the policy lives in the API


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, footage: Path) -> Footage:
    made = footage_archive(tmp_path_factory.mktemp("masking"), footage, seconds=2)
    yield made
    made.system.close()


@pytest.fixture(scope="module")
def frames(archive: Footage, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Frame 20 of the original and of the masked copy, decoded to luma."""
    system = archive.system
    segment = system.archives.segment(archive.segment_id)
    tmp = tmp_path_factory.mktemp("decoded")
    original = tmp / "original.mp4"
    original.write_bytes(system.vault.read_all(segment.blob_id))
    masked = tmp / "masked.mp4"
    masked.write_bytes(system.vault.read_all(masked_segment(system, archive.segment_id)))
    return {"original": decode_gray(original, [20])[20], "masked": decode_gray(masked, [20])[20]}


def test_solid_zone_is_flat_black_in_the_masked_copy(frames: dict[str, np.ndarray]) -> None:
    inside = zone_pixels(ZONES[0], 1280, 720)
    assert frames["original"][inside].std() > 20  # there was something to hide
    assert frames["masked"][inside].mean() < 24
    assert frames["masked"][inside].std() < 2


@pytest.mark.parametrize("zone", ZONES[1:], ids=lambda z: z.method)
def test_blurred_and_pixelated_zones_keep_no_detail(
    frames: dict[str, np.ndarray], zone: PrivacyZone
) -> None:
    inside = zone_pixels(zone, 1280, 720, erode=6)
    before, after = edge_energy(frames["original"], inside), edge_energy(frames["masked"], inside)
    assert before > 3
    # What fine texture is left is the encoder's noise and the pixel grid, not the original's.
    assert after < before * (0.3 if zone.method == "blur" else 0.5)
    assert abs(detail_correlation(frames["original"], frames["masked"], inside)) < 0.1
    # Outside every zone, the picture is the original's, up to re-encoding.
    outside = ~np.any([zone_pixels(z, 1280, 720, erode=0) for z in ZONES], axis=0)
    outside = cv2.erode(outside.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    diff = np.abs(frames["original"].astype(int) - frames["masked"].astype(int))[outside]
    assert diff.mean() < 4


def test_masked_copy_is_recorded_once_and_remade_when_zones_change(archive: Footage) -> None:
    system = archive.system
    first = masked_segment(system, archive.segment_id)
    assert masked_segment(system, archive.segment_id) == first
    facts = [
        e
        for e in events(archive.data, "scelle:Segment.RenditionDerived")
        if e["rendition"] == "masked"
    ]
    assert len(facts) == 1
    fact = facts[0]
    segment = system.archives.segment(archive.segment_id)
    assert fact["source_sha256"] == segment.sha256
    assert fact["blob_id"] == f"{segment.blob_id}.masked"
    assert [z["zone_id"] for z in fact["parameters"]["zones"]] == sorted(z.zone_id for z in ZONES)
    assert "ffmpeg" in fact["tool_versions"]
    stored = system.vault.read_all(first)
    import hashlib

    assert hashlib.sha256(stored).hexdigest() == fact["output_sha256"]

    system.archives.define_privacy_zone(
        "CAM01",
        PrivacyZone("extra", ((0.0, 0.8), (0.1, 0.8), (0.1, 1.0)), "Soupirail", "solid"),
        SUPERVISOR,
    )
    try:
        assert masked_segment(system, archive.segment_id) == first
        facts = [
            e
            for e in events(archive.data, "scelle:Segment.RenditionDerived")
            if e["rendition"] == "masked"
        ]
        assert len(facts) == 2
        assert "extra" in [z["zone_id"] for z in facts[1]["parameters"]["zones"]]
        assert hashlib.sha256(system.vault.read_all(first)).hexdigest() == facts[1]["output_sha256"]
    finally:
        system.archives.remove_privacy_zone("CAM01", "extra", SUPERVISOR, "test")


def test_zoom_masks_before_cropping_and_records_the_zones_it_met(archive: Footage) -> None:
    system = archive.system
    inside_solid = (0.1, 0.1, 0.25, 0.35)  # wholly inside the solid zone
    zoom = zoom_frame(
        system, archive.segment_id, 0.8, inside_solid, OPERATOR, "crime_prevention", None
    )
    image = cv2.imdecode(np.frombuffer(zoom.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape[1] >= 640
    assert image.mean() < 24 and image.std() < 3
    assert zoom.zones_triggered == ["porte-solid"]

    blurred = (0.45, 0.35, 0.65, 0.65)  # inside the blurred window
    zoom = zoom_frame(system, archive.segment_id, 0.8, blurred, OPERATOR, "crime_prevention", None)
    image = cv2.imdecode(np.frombuffer(zoom.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert zoom.zones_triggered == ["fenetre-blur"]
    free = (0.32, 0.76, 0.5, 0.99)  # in no zone: real detail at the same magnification
    plain = zoom_frame(system, archive.segment_id, 0.8, free, OPERATOR, "crime_prevention", None)
    plain_image = cv2.imdecode(np.frombuffer(plain.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert plain.zones_triggered == []
    assert edge_energy(image) < 0.2 * edge_energy(plain_image)

    zooms = events(archive.data, "scelle:Segment.Zoomed")
    assert [z["zones_triggered"] for z in zooms[-3:]] == [["porte-solid"], ["fenetre-blur"], []]


def test_zoom_refuses_a_bad_region_and_records_nothing(archive: Footage) -> None:
    before = len(events(archive.data, "scelle:Segment.Zoomed"))
    with pytest.raises(RenditionError):
        zoom_frame(
            archive.system, archive.segment_id, 0.0, (0.5, 0.5, 0.4, 0.9), OPERATOR, "x", None
        )
    assert len(events(archive.data, "scelle:Segment.Zoomed")) == before


def test_thumbnail_shown_is_masked(archive: Footage) -> None:
    image = cv2.imdecode(
        np.frombuffer(masked_thumbnail(archive.system, archive.segment_id), np.uint8),
        cv2.IMREAD_GRAYSCALE,
    )
    h, w = image.shape
    assert w == 320
    inside = zone_pixels(ZONES[0], w, h, erode=2)
    assert image[inside].mean() < 24 and image[inside].std() < 3


def test_reconcile_keeps_a_live_segment_whose_rendition_is_an_orphan(archive: Footage) -> None:
    """A crash between storing a rendition and its event must not shred the original."""
    system = archive.system
    segment = system.archives.segment(archive.segment_id)
    system.vault.put(f"{segment.blob_id}.orphan", [b"left by a crash"])
    report = reconcile(system)
    assert report.clean and segment.blob_id not in report.shredded
    assert not system.vault.blobs.exists(f"{segment.blob_id}.orphan")
    system.vault.verify(segment.blob_id, segment.sha256, segment.size)
    assert f"{segment.blob_id}.masked" in system.archives.live_blob_ids()
