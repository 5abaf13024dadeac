"""Simulated cameras with the real ffmpeg: names, times, durations, metadata, footage."""

import os
import subprocess
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from ingest.ffmpeg import ffmpeg_path
from ingest.naming import InvalidCameraCode, parse_segment_name
from ingest.probe import probe
from ingest.simulate import record_simulated

FOOTAGE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pedestrians-720p.avi"
START = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def footage() -> Path:
    if not FOOTAGE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"sample footage missing in CI: {FOOTAGE}")
        pytest.skip(f"sample footage not found: {FOOTAGE}")
    return FOOTAGE


def check_segments(files, *, camera, start, seconds, container, exact_creation):
    """Names parse back to the expected starts; durations, containers and metadata agree."""
    assert files == sorted(files)
    for i, path in enumerate(files):
        expected = start + timedelta(seconds=i * seconds)
        name = parse_segment_name(path.name)
        assert (name.camera_code, name.extension) == (camera, f".{container}")
        assert name.start == expected.replace(microsecond=0)
        result = probe(path)
        assert result.duration_s == pytest.approx(seconds, abs=0.05)
        ended = expected + timedelta(seconds=seconds)
        assert path.stat().st_mtime == pytest.approx(ended.timestamp(), abs=0.05)
        assert result.video_codec == "h264"
        if container == "ts":
            assert result.creation_time is None
        elif exact_creation:  # Matroska keeps microseconds
            assert result.creation_time == expected
        else:  # MP4's mvhd counts whole seconds
            assert result.creation_time == expected.replace(microsecond=0)


def test_lavfi_mp4(tmp_path):
    files = record_simulated(tmp_path, "CAM01", START, 3, 1, 160, 120, 10)
    assert [f.name for f in files] == [
        "CAM01_20261122T053000Z.mp4",
        "CAM01_20261122T053001Z.mp4",
        "CAM01_20261122T053002Z.mp4",
    ]
    assert sorted(tmp_path.iterdir()) == files  # no scratch folder or list left behind
    check_segments(
        files, camera="CAM01", start=START, seconds=1, container="mp4", exact_creation=False
    )
    result = probe(files[0])
    assert (result.width, result.height, result.frame_rate_exact) == (160, 120, "10/1")
    assert files[0].read_bytes()[4:8] == b"ftyp"
    assert b"moov" in files[0].read_bytes()[:4096]  # faststart: index before the media


def test_lavfi_mkv_keeps_sub_second_start(tmp_path):
    start = START + timedelta(microseconds=250_000)
    files = record_simulated(tmp_path, "CAM-02", start, 2, 2, 160, 120, 10, container="mkv")
    check_segments(
        files, camera="CAM-02", start=start, seconds=2, container="mkv", exact_creation=True
    )


def test_lavfi_ts(tmp_path):
    files = record_simulated(tmp_path, "CAM03", START, 2, 1, 160, 120, 10, container="ts")
    check_segments(
        files, camera="CAM03", start=START, seconds=1, container="ts", exact_creation=False
    )


def test_ntsc_rate(tmp_path):
    files = record_simulated(tmp_path, "CAM04", START, 2, 1, 160, 120, Fraction(30000, 1001))
    assert probe(files[1]).frame_rate_exact == "30000/1001"
    # 30 frames last 1.001 s: the second segment starts a millisecond after the second.
    assert parse_segment_name(files[1].name).start == START + timedelta(seconds=1)
    assert probe(files[1]).creation_time == START + timedelta(seconds=1)


def test_real_footage(tmp_path, footage):
    files = record_simulated(
        tmp_path, "GARE01", START, 2, 1, 320, 180, 25, source="footage", footage_path=footage
    )
    check_segments(
        files, camera="GARE01", start=START, seconds=1, container="mp4", exact_creation=False
    )
    assert (probe(files[0]).width, probe(files[0]).height) == (320, 180)


def test_footage_loops_past_its_end(tmp_path):
    """A 1-second source looped into 3 seconds: -stream_loop plus renumbered timestamps."""
    source = tmp_path / "short.mp4"
    lavfi = "testsrc2=size=160x120:rate=25:duration=1"
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    args = ["-nostdin", "-v", "error", "-f", "lavfi", "-i", lavfi, *x264, str(source)]
    subprocess.run([str(ffmpeg_path()), *args], check=True, stdin=subprocess.DEVNULL)
    out = tmp_path / "out"
    files = record_simulated(out, "CAM05", START, 3, 1, 160, 120, 25, "footage", source)
    check_segments(
        files, camera="CAM05", start=START, seconds=1, container="mp4", exact_creation=False
    )


def test_refusals(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        record_simulated(tmp_path, "CAM01", datetime(2026, 11, 22), 1, 1, 160, 120)
    with pytest.raises(ValueError, match="even"):
        record_simulated(tmp_path, "CAM01", START, 1, 1, 161, 120)
    with pytest.raises(ValueError, match="at least one"):
        record_simulated(tmp_path, "CAM01", START, 1, 0.5, 160, 120)
    with pytest.raises(InvalidCameraCode):
        record_simulated(tmp_path, "../CAM01", START, 1, 1, 160, 120)
    with pytest.raises(FileNotFoundError):
        record_simulated(tmp_path, "CAM01", START, 1, 1, 160, 120, 25, "footage", tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites(tmp_path):
    record_simulated(tmp_path, "CAM01", START, 2, 1, 160, 120, 10)
    with pytest.raises(FileExistsError):
        record_simulated(tmp_path, "CAM01", START + timedelta(seconds=1), 2, 1, 160, 120, 10)
