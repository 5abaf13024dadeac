"""``blur_boxes`` on a synthetic yuv420p frame: only the boxes change, and no detail is left."""

from __future__ import annotations

import numpy as np

from ingest.rendition.redact import blur_boxes


def frame(width: int = 1280, height: int = 720) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    noise = np.random.default_rng(6).integers(0, 256, width * height * 3 // 2, dtype=np.uint8)
    y = noise[: width * height].reshape(height, width)
    u = noise[width * height : width * height * 5 // 4].reshape(height // 2, width // 2)
    v = noise[width * height * 5 // 4 :].reshape(height // 2, width // 2)
    return y, u, v


def test_only_the_boxes_change_and_their_detail_is_gone() -> None:
    planes = frame()
    before = [p.copy() for p in planes]
    box = (300, 200, 120, 240)
    blur_boxes(planes, [box])
    y = planes[0]
    changed = np.argwhere(y != before[0])
    assert changed[:, 1].min() >= 288 and changed[:, 1].max() < 432  # within the box's blocks
    inside = y[210:430, 310:410].astype(float)
    assert inside.std() < 0.1 * before[0][210:430, 310:410].std()


def test_a_box_at_the_right_edge_is_blurred_to_the_edge_not_flattened() -> None:
    """Regression: a box reaching the last partial block column was painted flat whole."""
    planes = frame()
    before = planes[0].copy()
    blur_boxes(planes, [(1100, 100, 180, 200)])  # 1280 = 106 blocks of 12 + 8 pixels
    y = planes[0]
    assert (y[:, :1080] == before[:, :1080]).all()  # one block's margin at most
    blurred = y[110:290, 1110:1260]
    assert blurred.std() > 0  # smoothed, not a single flat value
    edge = y[110:290, 1272:1280].astype(float)
    assert edge.std() < 0.1 * before[110:290, 1272:1280].std()  # the partial strip too
