"""Finding and following people in a fixed camera's frames, cheaply enough for real time.

Detectors whose weights ship inside the OpenCV wheel (no download at run time):

* **motion**: a MOG2 background model on the luma plane reduced to 1/4 of its width, updated
  every frame (about 1 ms). A fixed camera's moving people are its foreground; their blobs,
  dilated, are the boxes. It misses people who never move while it learns, hence:
* **HOG**: OpenCV's default people detector (Dalal–Triggs, 64×128 windows) on the luma plane
  reduced to 720 lines, every ``hog_every`` frames, on a worker thread (OpenCV releases the
  GIL), its boxes kept until the next run;
* **faces**: the Haar frontal-face cascade from ``cv2.data`` on the same reduced plane, in the
  same worker run.

Boxes are followed by a greedy IoU tracker, so the access desk can designate one person by a
box on one frame and have that person left visible while everyone else is blurred. Every box
is in full-frame pixels: (x, y, w, h).
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

Box = tuple[int, int, int, int]

HOG_MIN_WEIGHT = 0.6
DETECTOR_NAME = "mog2-motion+hog-default-people+haar-frontalface-default"


def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = min(ax1, bx1) - max(a[0], b[0]), min(ay1, by1) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def _pairs(tracked: list[Box], found: list[Box], floor: float) -> list[tuple[int, int]]:
    """(track, box) index pairs whose IoU is at least ``floor``, best first (ties: higher
    indices first). One array operation instead of a Python ``iou`` per pair, which cost
    30 ms a frame at 1080p with a hundred boxes."""
    if not tracked or not found:
        return []
    a = np.asarray(tracked, np.float64)[:, None, :]
    b = np.asarray(found, np.float64)[None, :, :]
    iw = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    score = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    ti, bi = np.nonzero(score >= max(floor, 1e-12))
    order = np.lexsort((-bi, -ti, -score[ti, bi]))
    return [(int(ti[k]), int(bi[k])) for k in order]


def grow(box: Box, ratio: float, width: int, height: int) -> Box:
    x, y, w, h = box
    dx, dy = int(w * ratio), int(h * ratio)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    return x0, y0, min(width, x + w + dx) - x0, min(height, y + h + dy) - y0


@dataclass
class Detector:
    """Motion every frame; HOG every ``hog_every`` frames and faces every ``face_every``-th
    HOG run, on a worker thread."""

    width: int
    height: int
    hog_every: int = 25
    #: Reduction of the motion plane; 0: the frame's height // 180 (4 at 720p, 6 at 1080p),
    #: so a person covers as many motion pixels whatever the camera's resolution.
    motion_scale: int = 0
    min_area: int = 30
    #: Wait for each HOG run (deterministic, for measuring); the pipeline lets it run behind.
    synchronous: bool = False
    #: HOG pyramid step: 1.2 halves its cost but drops recall on the labels to 0.80.
    hog_scale: float = 1.1
    #: The face cascade costs more than HOG at 720 lines and adds little over motion and HOG
    #: (recall 0.887 with it on every run, 0.881 without): it runs every other HOG run and
    #: its boxes are held in between.
    face_every: int = 2
    _fg: cv2.BackgroundSubtractorMOG2 = field(init=False)
    _pool: ThreadPoolExecutor = field(init=False)
    _pending: Future[list[Box]] | None = field(default=None, init=False)
    _static: list[Box] = field(default_factory=list, init=False)
    _faces: list[Box] = field(default_factory=list, init=False)
    _frame: int = field(default=0, init=False)
    _runs: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.motion_scale <= 0:
            self.motion_scale = max(1, self.height // 180)
        self._fg = cv2.createBackgroundSubtractorMOG2(
            history=500, varThreshold=24, detectShadows=False
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scelle-hog")
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 9))
        self._open = np.ones((2, 2), np.uint8)

    @property
    def motion_size(self) -> tuple[int, int]:
        """(width, height) of the reduced luma plane that motion works on."""
        return self.width // self.motion_scale, self.height // self.motion_scale

    def parameters(self) -> dict[str, object]:
        return {
            "name": DETECTOR_NAME,
            "opencv": cv2.__version__,
            "hog_every": self.hog_every,
            "hog_scale": self.hog_scale,
            "face_every": self.face_every,
            "motion_scale": self.motion_scale,
            "hog_height": min(720, self.height),
        }

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def reduce(self, luma: np.ndarray) -> np.ndarray:
        """The motion plane of a full-size luma plane (area average)."""
        return cv2.resize(luma, self.motion_size, interpolation=cv2.INTER_AREA)

    def detect(self, luma: np.ndarray) -> list[Box]:
        """Boxes of people in this frame (``luma``: the full-size Y plane, uint8)."""
        moving, still = self.detect_split(luma)
        return moving + still

    def detect_split(
        self, luma: np.ndarray, small: np.ndarray | None = None
    ) -> tuple[list[Box], list[Box]]:
        """(motion boxes of this frame, latest HOG and face boxes): only the first are tracked,
        since a HOG box stands still until the next run while its person walks on.

        ``small`` is :meth:`reduce` of ``luma`` when the caller made it already (the
        pipeline's reader thread does, so that this thread never touches the full frame).
        """
        s = self.motion_scale
        mask = self._fg.apply(self.reduce(luma) if small is None else small)
        if self._frame == 0:
            mask[:] = 0  # the first frame only seeds the background model
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.dilate(mask, self._kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [
            grow((int(x) * s, int(y) * s, int(w) * s, int(h) * s), 0.1, self.width, self.height)
            for x, y, w, h, area in stats[1:count]
            if area >= self.min_area
        ]
        if self._pending is not None and self._pending.done():
            self._static = self._pending.result()
            self._pending = None
        if self._frame % self.hog_every == 0 and self._pending is None:
            faces = self._runs % self.face_every == 0
            self._runs += 1
            self._pending = self._pool.submit(self._hog_and_faces, luma.copy(), faces)
            if self.synchronous:
                self.flush()
        self._frame += 1
        return boxes, list(self._static)

    def flush(self) -> None:
        """Wait for the worker's run in flight (tests, and the very first frame)."""
        if self._pending is not None:
            self._static = self._pending.result()
            self._pending = None

    def _hog_and_faces(self, luma: np.ndarray, faces: bool) -> list[Box]:
        scale = min(1.0, 720 / self.height)
        image = (
            luma
            if scale == 1.0
            else cv2.resize(luma, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        found, weights = hog.detectMultiScale(
            image, winStride=(8, 8), padding=(8, 8), scale=self.hog_scale
        )

        def full(x: float, y: float, w: float, h: float) -> Box:
            return int(x / scale), int(y / scale), int(w / scale), int(h / scale)

        boxes: list[Box] = []
        for (x, y, w, h), weight in zip(found, np.ravel(weights), strict=False):
            if float(weight) >= HOG_MIN_WEIGHT:
                # The HOG window pads the person by ~1/8 on each side: keep the inner part.
                boxes.append(full(x + w // 8, y + h // 16, w * 3 // 4, h * 7 // 8))
        if faces:  # else the last run's faces stand (this worker is the only writer)
            found = _cascade().detectMultiScale(
                image, scaleFactor=1.15, minNeighbors=4, minSize=(16, 16)
            )
            self._faces = [
                grow(full(x, y, w, h), 0.3, self.width, self.height)
                for x, y, w, h in (found if len(found) else [])
            ]
        return boxes + self._faces


_CASCADE: list[cv2.CascadeClassifier] = []


def _cascade() -> cv2.CascadeClassifier:
    if not _CASCADE:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        _CASCADE.append(cv2.CascadeClassifier(path))
    return _CASCADE[0]


@dataclass
class Track:
    track_id: int
    box: Box
    missed: int = 0
    designated: bool = False


@dataclass
class Tracker:
    """Greedy IoU association; a track coasts ``keep`` frames without a detection."""

    keep: int = 12
    keep_designated: int = 250
    min_iou: float = 0.15
    tracks: list[Track] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def update(self, boxes: list[Box]) -> list[Track]:
        pairs = _pairs([t.box for t in self.tracks], boxes, self.min_iou)
        used_t: set[int] = set()
        used_b: set[int] = set()
        for ti, bi in pairs:
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            self.tracks[ti].box, self.tracks[ti].missed = boxes[bi], 0
        for ti, track in enumerate(self.tracks):
            if ti not in used_t:
                track.missed += 1
        # A designated person who stops moving is kept where last seen for longer.
        self.tracks = [
            t
            for t in self.tracks
            if t.missed <= (self.keep_designated if t.designated else self.keep)
        ]
        self.tracks += [Track(next(self._ids), b) for bi, b in enumerate(boxes) if bi not in used_b]
        return self.tracks

    def designate(self, box: Box) -> Track | None:
        """Mark the track that best matches ``box`` (the access desk's choice) as designated."""
        best = max(self.tracks, key=lambda t: iou(t.box, box), default=None)
        if best is None or iou(best.box, box) < 0.1:
            best = Track(next(self._ids), box)
            self.tracks.append(best)
        best.designated = True
        return best


@dataclass
class Follower:
    """Follows one designated person by template matching on the luma plane.

    Motion blobs break a walker into pieces, so the designated person is followed by their
    own appearance instead: each frame, the last patch is searched for in a window around
    where it was (normalised cross-correlation), and the patch is refreshed from the match.
    """

    box: Box
    margin: float = 0.5
    _patch: np.ndarray | None = None

    def start(self, luma: np.ndarray) -> None:
        x, y, w, h = self.box
        self._patch = luma[y : y + h, x : x + w].copy()

    def follow(self, luma: np.ndarray) -> Box:
        if self._patch is None or self._patch.size == 0:
            self.start(luma)
            return self.box
        height, width = luma.shape
        sx, sy, sw, sh = grow(self.box, self.margin, width, height)
        window = luma[sy : sy + sh, sx : sx + sw]
        ph, pw = self._patch.shape
        if window.shape[0] < ph or window.shape[1] < pw:
            return self.box
        scores = cv2.matchTemplate(window, self._patch, cv2.TM_CCOEFF_NORMED)
        _, _, _, (bx, by) = cv2.minMaxLoc(scores)
        self.box = (sx + bx, sy + by, pw, ph)
        self._patch = luma[sy + by : sy + by + ph, sx + bx : sx + bx + pw].copy()
        return self.box
