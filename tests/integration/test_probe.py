"""Probing real files with the real ffmpeg: good segments, and each way a file can be bad.

Clips are tiny (160x120, 1 s) and generated once per module with lavfi; the one-minute clip
for the timing check is 320x240. Thumbnails and the ffmpeg lookup are tested here too.
"""

import os
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest import ffmpeg
from ingest.ffmpeg import FfmpegNotFound, ffmpeg_path, has_encoder, has_filter, tool_versions
from ingest.probe import (
    EmptyFile,
    NotAVideo,
    ProbeError,
    TruncatedFile,
    UnsupportedContainer,
    probe,
)
from ingest.thumbnail import ThumbnailError, thumbnail_jpeg

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FOOTAGE = DATA / "pedestrians-720p.avi"
CREATED = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def footage() -> Path:
    if not FOOTAGE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"sample footage missing in CI: {FOOTAGE}")
        pytest.skip(f"sample footage not found: {FOOTAGE}")
    return FOOTAGE


def run_ffmpeg(*args: str) -> None:
    subprocess.run(
        [str(ffmpeg_path()), "-nostdin", "-v", "error", *args], check=True, stdin=subprocess.DEVNULL
    )


def make_clip(path: Path, *extra: str, seconds: float = 1, size: str = "160x120") -> Path:
    """A lavfi test clip; ``extra`` output options go before the file name."""
    source = f"testsrc2=size={size}:rate=25:duration={seconds}"
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    run_ffmpeg("-f", "lavfi", "-i", source, *x264, *extra, "-y", str(path))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    stamp = ["-metadata", "creation_time=2026-11-22T05:30:00Z"]
    return {
        "mp4": make_clip(d / "clip.mp4", *stamp, "-movflags", "+faststart"),
        "mp4_index_last": make_clip(d / "late.mp4", *stamp),
        "mkv": make_clip(d / "clip.mkv", *stamp),
        "ts": make_clip(d / "clip.ts"),
    }


def cut(source: Path, target: Path, length: int) -> Path:
    target.write_bytes(source.read_bytes()[:length])
    return target


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize(
    ("kind", "container"),
    [("mp4", "mp4"), ("mp4_index_last", "mp4"), ("mkv", "matroska"), ("ts", "mpegts")],
)
def test_generated_clips(clips, kind, container):
    result = probe(clips[kind])
    assert result.container == container
    assert (result.video_codec, result.width, result.height) == ("h264", 160, 120)
    assert (result.frame_rate, result.frame_rate_exact) == (25.0, "25/1")
    assert result.duration_s == pytest.approx(1.0, abs=0.05)
    assert result.audio_codec is None
    assert result.video_streams == 1
    if container == "mpegts":
        assert result.creation_time is None  # MPEG-TS has no such field
        assert result.start_time_s == pytest.approx(1.4, abs=0.1)  # ffmpeg's mux delay
    else:
        assert result.creation_time == CREATED
        assert result.start_time_s == 0.0


def test_real_footage(footage):
    result = probe(footage, containers=None)
    assert (result.container, result.video_codec) == ("avi", "h264")
    assert (result.width, result.height) == (1280, 720)
    assert result.frame_rate_exact == "25/1"  # although the AVI claims 50 fps on average
    assert result.duration_s == pytest.approx(13.8, abs=0.1)
    assert result.audio_codec == "aac"


def test_real_footage_is_not_an_accepted_segment(footage):
    with pytest.raises(UnsupportedContainer, match=r"'\.avi' is not accepted"):
        probe(footage)


@pytest.mark.parametrize("kind", ["mp4", "mkv", "ts"])
@pytest.mark.parametrize("check", ["tail", "full"])
def test_decode_checks_pass_on_healthy_clips(clips, kind, check):
    probe(clips[kind], decode_check=check)


def test_probe_of_a_one_minute_segment_is_fast(tmp_path):
    minute = make_clip(tmp_path / "minute.mp4", "-movflags", "+faststart", seconds=60)
    probe(minute)  # warm the page cache and the binary
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        probe(minute)
        timings.append(time.perf_counter() - began)
    assert statistics.median(timings) < 0.2, timings


# ---------------------------------------------------------------------------- bad files


def test_zero_bytes(tmp_path):
    empty = tmp_path / "CAM01_20261122T053000Z.mp4"
    empty.touch()
    with pytest.raises(EmptyFile) as caught:
        probe(empty)
    assert caught.value.message_fr == f"Le fichier {empty.name} est vide."


@pytest.mark.parametrize("kind", ["mp4", "mp4_index_last", "mkv"])
def test_cut_in_half(clips, tmp_path, kind):
    source = clips[kind]
    half = cut(source, tmp_path / f"half{source.suffix}", source.stat().st_size // 2)
    with pytest.raises(TruncatedFile) as caught:
        probe(half)
    assert "tronqué" in caught.value.message_fr


def test_ts_cut_inside_a_packet(clips, tmp_path):
    source = clips["ts"]
    middle = source.stat().st_size // 2
    half = cut(source, tmp_path / "half.ts", middle + (1 if middle % 188 == 0 else 0))
    with pytest.raises(TruncatedFile, match="inside a transport packet"):
        probe(half)


def test_ts_cut_on_a_packet_boundary_inside_a_frame(clips, tmp_path):
    """Structurally a valid, shorter TS; only decoding the last frame shows the damage.

    The cut is moved to the next packet that does not start a PES packet (a frame), so the
    last frame really is incomplete: a cut exactly between two frames is indistinguishable
    from a shorter recording, by anyone.
    """
    data = clips["ts"].read_bytes()
    offset = len(data) // 2 // 188 * 188
    while data[offset + 1] & 0x40:  # payload_unit_start_indicator: a new frame starts here
        offset += 188
    half = cut(clips["ts"], tmp_path / "half.ts", offset)
    assert probe(half, decode_check="none")  # the container alone looks fine
    with pytest.raises(TruncatedFile, match="decoding failed"):
        probe(half)  # "auto" decodes the tail of MPEG-TS files


def test_random_bytes_named_mp4(tmp_path):
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(os.urandom(64 * 1024))
    with pytest.raises(NotAVideo):
        probe(noise)


def test_text_renamed_mp4(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("Main courante du 22 novembre : RAS.\n" * 200, encoding="utf-8")
    with pytest.raises(NotAVideo) as caught:
        probe(text)
    assert caught.value.message_fr == "Le fichier notes.mp4 n'est pas une vidéo lisible."


def test_audio_only_mp4(tmp_path):
    audio = tmp_path / "audio.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio))
    with pytest.raises(NotAVideo, match="no video stream"):
        probe(audio)


@pytest.mark.parametrize(
    ("kind", "suffix", "content"),
    [("mkv", ".mp4", "matroska"), ("mp4", ".ts", "mp4"), ("ts", ".mkv", "mpegts")],
)
def test_video_with_the_wrong_extension(clips, tmp_path, kind, suffix, content):
    renamed = tmp_path / f"renamed{suffix}"
    renamed.write_bytes(clips[kind].read_bytes())
    with pytest.raises(UnsupportedContainer, match=f"the content is {content}"):
        probe(renamed)


def test_other_media_format_named_mp4(tmp_path):
    flv = make_clip(tmp_path / "clip.flv")
    renamed = tmp_path / "clip.mp4"
    renamed.write_bytes(flv.read_bytes())
    with pytest.raises(UnsupportedContainer):
        probe(renamed)


def test_unaccepted_extension(clips, tmp_path):
    renamed = tmp_path / "clip.mov"
    renamed.write_bytes(clips["mp4"].read_bytes())
    with pytest.raises(UnsupportedContainer, match="not accepted"):
        probe(renamed)
    assert probe(renamed, containers=None).container == "mp4"


def test_every_refusal_is_a_probe_error_with_french():
    for error in (EmptyFile, NotAVideo, TruncatedFile, UnsupportedContainer):
        assert issubclass(error, ProbeError)
        assert error("english", "français").message_fr == "français"
        assert str(error("english", "français")) == "english"


# --------------------------------------------------------------------------- thumbnails


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a baseline JPEG's SOF0 marker."""
    at = data.index(b"\xff\xc0")
    return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(
        data[at + 5 : at + 7], "big"
    )


def test_thumbnail_of_a_clip(clips):
    image = thumbnail_jpeg(clips["mp4"], width=80)
    assert image[:2] == b"\xff\xd8" and image[-2:] == b"\xff\xd9"
    assert jpeg_size(image) == (80, 60)


def test_thumbnail_of_the_footage(footage):
    began = time.perf_counter()
    image = thumbnail_jpeg(footage)
    assert time.perf_counter() - began < 2
    assert jpeg_size(image) == (320, 180)


def test_thumbnail_failures(clips, tmp_path):
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(os.urandom(4096))
    with pytest.raises(ThumbnailError) as caught:
        thumbnail_jpeg(noise)
    assert caught.value.message_fr.startswith("Impossible d'extraire une vignette")
    with pytest.raises(ThumbnailError):
        thumbnail_jpeg(clips["mp4"], at_seconds=30)  # past the end: no frame
    with pytest.raises(ValueError, match="width"):
        thumbnail_jpeg(clips["mp4"], width=8)


# ------------------------------------------------------------------------------ ffmpeg


def test_tools_and_capabilities():
    assert ffmpeg_path().is_file()
    assert tool_versions()["ffmpeg"].startswith("ffmpeg version ")
    assert has_encoder("libx264")
    assert has_filter("scale")
    assert not has_encoder("no-such-encoder")


def test_ffmpeg_not_found(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/nonexistent/ffmpeg")
    ffmpeg.clear_caches()
    try:
        with pytest.raises(FfmpegNotFound) as caught:
            ffmpeg.ffmpeg_path()
        assert "Outil ffmpeg introuvable" in caught.value.message_fr
        assert ffmpeg.ffprobe_path() is None
    finally:
        monkeypatch.undo()
        ffmpeg.clear_caches()
    assert ffmpeg.ffmpeg_path().is_file()
