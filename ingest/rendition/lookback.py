"""Where a designated person was before the frame they were designated on.

The access desk marks a person on the frame where they are easiest to see, which is seldom
the first. Followed forward only, they would be blurred on every earlier frame, so before the
extract is made the frames leading up to each designation are decoded once more (luma at
half size, to bound memory), and the person is followed backwards from their box with the
same template follower. At most :data:`LOOKBACK_FRAMES` frames are kept, so memory stays
bounded (~50 MB at 1080p); earlier frames stay blurred, as the derivation record says.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ingest.ffmpeg import ffmpeg_path
from ingest.rendition.people import Box, Follower
from ingest.rendition.source import Plaintext, RenditionError, input_args

if TYPE_CHECKING:
    from ingest.rendition.redact import Designation

#: Frames followed backwards from a designation (4 s at 25 fps).
LOOKBACK_FRAMES = 100


def earlier_boxes(
    source: Plaintext, width: int, height: int, designated: Sequence[Designation]
) -> dict[int, list[Box]]:
    """Frame number → full-size boxes of the designated people on frames before their
    designation (within :data:`LOOKBACK_FRAMES`)."""
    wanted = [d for d in designated if d.frame > 0]
    if not wanted:
        return {}
    last = max(d.frame for d in wanted)
    keep = {n for d in wanted for n in range(max(0, d.frame - LOOKBACK_FRAMES), d.frame + 1)}
    hw, hh = width // 2, height // 2
    frames = _half_luma(source, hw, hh, last + 1, keep)
    found: dict[int, list[Box]] = {}
    for wish in wanted:
        if wish.frame not in frames:
            continue  # the segment is shorter than the designation's frame: nothing to follow
        x0, y0, x1, y1 = wish.box
        follower = Follower((int(x0 * hw), int(y0 * hh), int((x1 - x0) * hw), int((y1 - y0) * hh)))
        follower.start(frames[wish.frame])
        for n in range(wish.frame - 1, max(-1, wish.frame - LOOKBACK_FRAMES - 1), -1):
            x, y, w, h = follower.follow(frames[n])
            found.setdefault(n, []).append((x * 2, y * 2, w * 2, h * 2))
    return found


def _half_luma(
    source: Plaintext, width: int, height: int, count: int, keep: set[int]
) -> dict[int, np.ndarray]:
    """The luma planes, at ``width``×``height``, of the first ``count`` frames in ``keep``."""
    args = [
        str(ffmpeg_path()), "-nostdin", "-v", "error", *input_args(source), "-map", "0:v:0",
        "-frames:v", str(count), "-vf", f"scale={width}:{height}:flags=area,format=gray",
        "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    size = width * height
    frames: dict[int, np.ndarray] = {}
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, pass_fds=(source.fd,)
    )
    assert process.stdout is not None
    with process.stdout as pipe:
        for n in range(count):
            data = pipe.read(size)
            if len(data) < size:
                break
            if n in keep:
                frames[n] = np.frombuffer(data, np.uint8).reshape(height, width)
    if process.wait() != 0:
        raise RenditionError(
            "decoding the frames before a designation failed",
            "Les images précédant la désignation n'ont pu être lues.",
        )
    return frames
