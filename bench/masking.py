"""Masking and redaction speed at 1080p 25 fps, against a plain ffmpeg re-encode of the same clip.

The clip is the real footage scaled to 1920x1080 by the camera simulator and ingested into a
fresh archive with two privacy zones (one blurred, one solid). Both the masked rendition and
the redacted extract are timed end to end (decrypt, decode, mask or redact, encode, store or
write); the peer is ``ffmpeg -i clip -c:v libx264 -preset ultrafast`` on the same plaintext in
the same run — decoding and encoding alone, the floor under any rendition.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Context, Figure, Part, clock, median

FOOTAGE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pedestrians-720p.avi"


def _archive(scratch: Path, seconds: int):  # type: ignore[no-untyped-def]
    from evidence.bootstrap import init_data_dir, open_system
    from evidence.config import Settings
    from evidence.model import PrivacyZone
    from evidence.model.security import user_id
    from ingest.pipeline import Ingestor
    from ingest.simulate import record_simulated
    from tests.builders import register_camera

    settings = Settings(data=scratch / "data")
    init_data_dir(settings, "scelle.bench/masking")
    system = open_system(settings)
    register_camera(system, "CAM01")
    for zone in (
        PrivacyZone(
            "fenetre", ((0.6, 0.1), (0.9, 0.1), (0.9, 0.45), (0.6, 0.45)), "Fenêtre", "blur"
        ),
        PrivacyZone(
            "porte", ((0.05, 0.5), (0.2, 0.5), (0.2, 0.95), (0.05, 0.95)), "Porte", "solid"
        ),
    ):
        system.archives.define_privacy_zone("CAM01", zone, user_id("chef.salle"))
    spool = scratch / "spool"
    spool.mkdir()
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    paths = record_simulated(
        spool, "CAM01", start, 1, seconds, 1920, 1080, 25, source="footage", footage_path=FOOTAGE
    )
    clip = scratch / "clip.mp4"
    clip.write_bytes(paths[0].read_bytes())
    outcome = Ingestor(system).ingest(paths[0], "CAM01", root=spool)
    assert outcome.segment_id is not None
    return system, outcome.segment_id, clip


def _plain(clip: Path) -> float:
    from ingest.ffmpeg import ffmpeg_path

    began = clock()
    subprocess.run(
        [str(ffmpeg_path()), "-v", "error", "-i", str(clip), "-an", "-c:v", "libx264",
         "-preset", "ultrafast", "-crf", "23", "-movflags", "frag_keyframe+empty_moov",
         "-f", "mp4", "pipe:1"],
        stdout=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    return clock() - began


def speed(ctx: Context) -> Iterator[Figure]:
    from ingest.rendition import Designation, masked_segment, redacted_extract

    seconds = ctx.size(10, 1)
    frames = seconds * 25
    repeats = ctx.size(3, 1)
    with ctx.scratch() as scratch:
        system, segment_id, clip = _archive(scratch, seconds)
        try:
            plain, masked, redacted = [], [], []
            for i in range(repeats):
                plain.append(_plain(clip))
                if i:  # remake: drop the stored copy so the next call renders again
                    system.vault.delete_rendition(masked_segment(system, segment_id))
                began = clock()
                masked_segment(system, segment_id)
                masked.append(clock() - began)
                with tempfile.TemporaryDirectory(dir=scratch) as out:
                    began = clock()
                    redacted_extract(
                        system,
                        segment_id,
                        [Designation(8, (0.39, 0.39, 0.43, 0.54))],
                        Path(out) / "x.mp4",
                    )
                    redacted.append(clock() - began)
        finally:
            system.close()
    what = f"{frames} frames of the real footage at 1920x1080 25 fps, median of {repeats}" + (
        " (TINY)" if ctx.tiny else ""
    )
    peer = "ffmpeg decode + libx264 ultrafast re-encode of the same clip, same run, frames/s"
    yield Figure("masking_masked_rendition_1080p", frames / median(masked), "frames/s",
                 "masked rendition (decrypt, 2 zones through the filter graph, libx264 "
                 "ultrafast, encrypt, store) — " + what,
                 peer, frames / median(plain), target="ratio ≥ 0.8")  # fmt: skip
    yield Figure("masking_redaction_1080p", frames / median(redacted), "frames/s",
                 "redacted extract (decode to yuv420p, detect, track, blur people, zones, "
                 "encode) — " + what,
                 peer, frames / median(plain), target="≥ 25 frames/s")  # fmt: skip


PARTS = {
    "speed": Part(figures=("masking_masked_rendition_1080p", "masking_redaction_1080p"), run=speed)
}
