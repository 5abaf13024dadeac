# ruff: noqa: E501, W291  -- the ffmpeg reports below are verbatim: long lines, trailing blanks
"""The ``ffmpeg -i`` stderr parser, on reports captured from the imageio-ffmpeg build.

The samples below are verbatim stderr of ``ffmpeg -nostdin -hide_banner -protocol_whitelist
file -format_whitelist ... -i file:PATH`` from ffmpeg n9.0.2 (imageio-ffmpeg 0.6 wheel), on
files generated with lavfi plus the sample footage; only the directory was changed to
/srv/cam. The ffprobe JSON sample is written by hand in ffprobe's schema (there is no ffprobe
on the machine that captured the rest).
"""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.probe import (
    NotAVideo,
    ProbeError,
    ProbeResult,
    TruncatedFile,
    UnsupportedContainer,
    inspect_structure,
    parse_ffmpeg_stderr,
    parse_ffprobe_json,
    reported_damage,
)

# clip.mp4
MP4_WITH_AUDIO = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/srv/cam/clip.mp4':
  Metadata:
    major_brand     : isom
    minor_version   : 512
    compatible_brands: isomiso2avc1mp41
    creation_time   : 2026-11-22T05:30:00.000000Z
    encoder         : Lavf63.1.102
  Duration: 00:00:02.00, start: 0.000000, bitrate: 347 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 265 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Metadata:
      creation_time   : 2026-11-22T05:30:00.000000Z
      handler_name    : VideoHandler
      encoder         : Lavc63.1.102 libx264
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
    Metadata:
      creation_time   : 2026-11-22T05:30:00.000000Z
      handler_name    : SoundHandler
At least one output file must be specified
"""

# clip.mkv
MKV_WITH_AUDIO = """\
Input #0, matroska,webm, from 'file:/srv/cam/clip.mkv':
  Metadata:
    creation_time   : 2026-11-22T05:30:00.250000Z
    ENCODER         : Lavf63.1.102
  Duration: 00:00:02.02, start: 0.000000, bitrate: 339 kb/s
  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(tv, progressive), 160x120 [SAR 1:1 DAR 4:3], 25 fps, 25 tbr, 1k tbn
    Metadata:
      ENCODER         : Lavc63.1.102 libx264
      DURATION        : 00:00:02.000000000
  Stream #0:1: Audio: aac (LC), 44100 Hz, mono, fltp
    Metadata:
      ENCODER         : Lavc63.1.102 aac
      DURATION        : 00:00:02.023000000
At least one output file must be specified
"""

# clip.ts
TS_WITH_PROGRAM = """\
Input #0, mpegts, from 'file:/srv/cam/clip.ts':
  Duration: 00:00:02.02, start: 1.400000, bitrate: 395 kb/s
  Program 1 
    Metadata:
      service_name    : Service01
      service_provider: FFmpeg
  Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 25 fps, 25 tbr, 90k tbn, start 1.423222
  Stream #0:1[0x101]: Audio: aac (LC) ([15][0][0][0] / 0x000F), 44100 Hz, mono, fltp, 71 kb/s, start 1.400000
At least one output file must be specified
"""

# pedestrians-720p.avi
AVI_FOOTAGE = """\
Input #0, avi, from 'file:/srv/cam/pedestrians-720p.avi':
  Metadata:
    software        : Lavf58.76.100
  Duration: 00:00:13.82, start: 0.000000, bitrate: 1750 kb/s
  Stream #0:0: Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1280x720 [SAR 1:1 DAR 16:9], 1624 kb/s, 50 fps, 25 tbr, 50 tbn
  Stream #0:1: Audio: aac (LC) ([255][0][0][0] / 0x00FF), 44100 Hz, stereo, fltp, 127 kb/s
At least one output file must be specified
"""

# ntsc.mp4
MP4_NTSC_MULTILINE_TAG = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/srv/cam/ntsc.mp4':
  Metadata:
    major_brand     : isom
    minor_version   : 512
    compatible_brands: isomiso2avc1mp41
    title           : ligne un
                    : ligne deux
    encoder         : Lavf63.1.102
  Duration: 00:00:01.00, start: 0.000000, bitrate: 817 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 809 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
    Metadata:
      handler_name    : VideoHandler
      encoder         : Lavc63.1.102 libx264
At least one output file must be specified
"""

# cover.mp4
MP4_WITH_COVER_ART = """\
[in#0 @ 0x55d12515c1c0] stream 0, timescale not set
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/srv/cam/cover.mp4':
  Metadata:
    major_brand     : isom
    minor_version   : 512
    compatible_brands: isomiso2avc1mp41
    encoder         : Lavf63.1.102
  Duration: 00:00:01.00, start: 0.000000, bitrate: 304 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 295 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Metadata:
      handler_name    : VideoHandler
      encoder         : Lavc63.1.102 libx264
  Stream #0:1[0x0]: Video: png, rgb24(pc, gbr/unknown/unknown), 64x64 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
At least one output file must be specified
"""

# audio.mp4
AUDIO_ONLY = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/srv/cam/audio.mp4':
  Metadata:
    major_brand     : M4A 
    minor_version   : 512
    compatible_brands: M4A isomiso2
    encoder         : Lavf63.1.102
  Duration: 00:00:01.00, start: 0.000000, bitrate: 79 kb/s
  Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 70 kb/s (default)
    Metadata:
      handler_name    : SoundHandler
At least one output file must be specified
"""

# rand.mp4
RANDOM_BYTES = """\
[in#0 @ 0x562f3f86f1c0] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!
[in#0 @ 0x562f3f86f1c0] moov atom not found
[in#0 @ 0x562f3f86ee80] Error opening input: Invalid data found when processing input
Error opening input file file:/srv/cam/rand.mp4.
Error opening input files: Invalid data found when processing input
"""

# flv_as.mp4
FLV_NOT_ON_WHITELIST = """\
[in#0 @ 0x564d92cd41c0] Format not on whitelist 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi'
[in#0 @ 0x564d92cd3e80] Error opening input: Invalid argument
Error opening input file file:/srv/cam/flv_as.mp4.
Error opening input files: Invalid argument
"""

# clip_half.ts
TS_CUT_IN_HALF = """\
[in#0/mpegts @ 0x563dd3cf71c0] PES packet size mismatch
[in#0/mpegts @ 0x563dd3cf71c0] Packet corrupt (stream = 1, dts = 182425).
[in#0/mpegts @ 0x563dd3cf71c0] PES packet size mismatch
[in#0/mpegts @ 0x563dd3cf71c0] Packet corrupt (stream = 1, dts = 182425).
Input #0, mpegts, from 'file:/srv/cam/clip_half.ts':
  Duration: 00:00:00.98, start: 1.400000, bitrate: 406 kb/s
  Program 1 
    Metadata:
      service_name    : Service01
      service_provider: FFmpeg
  Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 25 fps, 25 tbr, 90k tbn, start 1.423222
  Stream #0:1[0x101]: Audio: aac (LC) ([15][0][0][0] / 0x000F), 44100 Hz, mono, fltp, 73 kb/s, start 1.400000
At least one output file must be specified
"""

# raw.h264
RAW_H264_NO_DURATION = """\
Input #0, h264, from 'file:/srv/cam/raw.h264':
  Duration: N/A, bitrate: N/A
  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 25 fps, 25 tbr, 1200k tbn
At least one output file must be specified
"""


# Written by hand in the shape of `ffprobe -of json -show_format -show_streams` (ffprobe 7).
FFPROBE_AVI_LIKE = json.dumps(
    {
        "streams": [
            {
                "index": 0,
                "codec_name": "h264",
                "codec_type": "video",
                "width": 1280,
                "height": 720,
                "r_frame_rate": "25/1",
                "avg_frame_rate": "50/1",
                "disposition": {"default": 0, "attached_pic": 0},
            },
            {"index": 1, "codec_name": "aac", "codec_type": "audio", "r_frame_rate": "0/0"},
            {
                "index": 2,
                "codec_name": "png",
                "codec_type": "video",
                "width": 64,
                "height": 64,
                "r_frame_rate": "90000/1",
                "avg_frame_rate": "0/0",
                "disposition": {"attached_pic": 1},
            },
        ],
        "format": {
            "filename": "/srv/cam/x.mp4",
            "nb_streams": 3,
            "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
            "start_time": "0.000000",
            "duration": "13.820000",
            "size": "3025664",
            "tags": {"major_brand": "isom", "creation_time": "2026-11-22T05:30:00.000000Z"},
        },
    }
)


def test_mp4_with_audio():
    result = parse_ffmpeg_stderr(MP4_WITH_AUDIO, name="clip.mp4")
    assert result == ProbeResult(
        container="mp4",
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        video_codec="h264",
        width=160,
        height=120,
        frame_rate=25.0,
        frame_rate_exact="25/1",
        duration_s=2.0,
        start_time_s=0.0,
        creation_time=datetime(2026, 11, 22, 5, 30, tzinfo=UTC),
        audio_codec="aac",
        video_streams=1,
        prober="ffmpeg",
    )


def test_mkv_keeps_sub_second_creation_time_and_upper_case_tags():
    result = parse_ffmpeg_stderr(MKV_WITH_AUDIO)
    assert result.container == "matroska"
    assert result.creation_time == datetime(2026, 11, 22, 5, 30, 0, 250_000, tzinfo=UTC)
    assert result.duration_s == pytest.approx(2.02)
    assert result.audio_codec == "aac"


def test_ts_program_metadata_is_not_the_input_metadata():
    result = parse_ffmpeg_stderr(TS_WITH_PROGRAM)
    assert result.container == "mpegts"
    assert result.start_time_s == pytest.approx(1.4)
    assert result.creation_time is None
    assert (result.width, result.height) == (160, 120)


def test_avi_prefers_tbr_over_a_wrong_average_rate():
    # The sample footage reports "50 fps, 25 tbr": it really has 25 frames per second.
    result = parse_ffmpeg_stderr(AVI_FOOTAGE)
    assert result.container == "avi"
    assert (result.frame_rate, result.frame_rate_exact) == (25.0, "25/1")
    assert (result.width, result.height) == (1280, 720)  # not the 0x31637661 codec tag
    assert result.duration_s == pytest.approx(13.82)


def test_ntsc_rate_is_recovered_exactly_and_multiline_tags_are_skipped():
    result = parse_ffmpeg_stderr(MP4_NTSC_MULTILINE_TAG)
    assert result.frame_rate_exact == "30000/1001"
    assert result.frame_rate == pytest.approx(29.97003)
    assert result.creation_time is None


def test_cover_art_is_not_a_video_stream():
    result = parse_ffmpeg_stderr(MP4_WITH_COVER_ART)
    assert result.video_streams == 1
    assert (result.video_codec, result.width) == ("h264", 160)
    assert reported_damage(MP4_WITH_COVER_ART) is None  # a warning, not damage


def test_audio_only_is_not_a_video():
    with pytest.raises(NotAVideo, match="no video stream") as caught:
        parse_ffmpeg_stderr(AUDIO_ONLY, name="audio.mp4")
    assert "aucune piste vidéo" in caught.value.message_fr


def test_unreadable_input_is_not_a_video():
    with pytest.raises(NotAVideo, match="Invalid data found"):
        parse_ffmpeg_stderr(RANDOM_BYTES)


def test_format_outside_the_whitelist_is_an_unsupported_container():
    with pytest.raises(UnsupportedContainer):
        parse_ffmpeg_stderr(FLV_NOT_ON_WHITELIST)


def test_missing_duration_means_not_finalised():
    with pytest.raises(TruncatedFile, match="no duration"):
        parse_ffmpeg_stderr(RAW_H264_NO_DURATION)


def test_damage_is_found_in_the_report():
    assert "PES packet size mismatch" in (reported_damage(TS_CUT_IN_HALF) or "")
    for healthy in (MP4_WITH_AUDIO, MKV_WITH_AUDIO, TS_WITH_PROGRAM, AVI_FOOTAGE):
        assert reported_damage(healthy) is None


@pytest.mark.parametrize(
    ("printed", "exact"),
    [
        ("25 fps, 25 tbr", "25/1"),
        ("29.97 fps, 29.97 tbr", "30000/1001"),
        ("23.98 fps, 23.98 tbr", "24000/1001"),
        ("59.94 fps, 59.94 tbr", "60000/1001"),
        ("14.99 fps, 14.99 tbr", "15000/1001"),
        ("12.50 fps, 12.50 tbr", "25/2"),
        ("7.50 fps, 7.50 tbr", "15/2"),
        ("24.93 fps, 25 tbr", "25/1"),  # jittery camera: nominal rate wins
        ("25 fps, 90k tbr", "25/1"),  # time base leaking into tbr: average wins
        ("1k fps, 1k tbr", "1000/1"),
    ],
)
def test_printed_rates(printed, exact):
    report = MP4_WITH_AUDIO.replace("25 fps, 25 tbr", printed)
    assert parse_ffmpeg_stderr(report).frame_rate_exact == exact


def test_ffprobe_json():
    result = parse_ffprobe_json(FFPROBE_AVI_LIKE)
    assert result.prober == "ffprobe"
    assert (result.container, result.video_codec, result.audio_codec) == ("mp4", "h264", "aac")
    assert (result.frame_rate_exact, result.video_streams) == ("25/1", 1)
    assert result.duration_s == pytest.approx(13.82)
    assert result.creation_time == datetime(2026, 11, 22, 5, 30, tzinfo=UTC)


def test_ffprobe_json_garbage():
    with pytest.raises(NotAVideo):
        parse_ffprobe_json("{not json")
    with pytest.raises(NotAVideo):
        parse_ffprobe_json('{"streams": []}')


SAMPLES = [
    MP4_WITH_AUDIO,
    MKV_WITH_AUDIO,
    TS_WITH_PROGRAM,
    AVI_FOOTAGE,
    MP4_NTSC_MULTILINE_TAG,
    MP4_WITH_COVER_ART,
    AUDIO_ONLY,
    RANDOM_BYTES,
    FLV_NOT_ON_WHITELIST,
    TS_CUT_IN_HALF,
    RAW_H264_NO_DURATION,
]


@given(st.text())
def test_any_text_gives_a_result_or_a_probe_error(text):
    try:
        parse_ffmpeg_stderr(text)
    except ProbeError as error:
        assert error.message_fr


@given(st.sampled_from(SAMPLES), st.data())
def test_damaged_reports_give_a_result_or_a_probe_error(sample, data):
    lines = sample.splitlines()
    kept = data.draw(st.lists(st.sampled_from(lines), max_size=len(lines) + 3))
    cut = data.draw(st.integers(0, len(sample)))
    for text in ("\n".join(kept), sample[:cut]):
        try:
            result = parse_ffmpeg_stderr(text)
        except ProbeError:
            continue
        assert result.width > 0 and result.height > 0 and result.frame_rate > 0


# Structure checks on hand-built bytes (the integration tests use real files).


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def test_mp4_boxes_must_fit(tmp_path):
    whole = _box(b"ftyp", b"isom") + _box(b"moov", b"x" * 20) + _box(b"mdat", b"y" * 100)
    path = tmp_path / "a.mp4"
    path.write_bytes(whole)
    assert inspect_structure(path) == ("mp4", None)
    path.write_bytes(whole[:-1])
    assert "needs 108 bytes, only 107 remain" in (inspect_structure(path)[1] or "")


def test_mp4_large_and_to_end_boxes(tmp_path):
    large = (1).to_bytes(4, "big") + b"mdat" + (16 + 4).to_bytes(8, "big") + b"abcd"
    to_end = (0).to_bytes(4, "big") + b"mdat" + b"z" * 50
    path = tmp_path / "a.mp4"
    path.write_bytes(_box(b"ftyp", b"isom") + _box(b"moov") + large + to_end)
    assert inspect_structure(path) == ("mp4", None)


def test_mp4_without_moov_was_never_finalised(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(_box(b"ftyp", b"isom") + (0).to_bytes(4, "big") + b"mdat" + b"z" * 50)
    assert "moov" in (inspect_structure(path)[1] or "")


def test_mp4_impossible_box_size(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(_box(b"ftyp", b"isom") + (3).to_bytes(4, "big") + b"moov")
    assert "impossible size" in (inspect_structure(path)[1] or "")


def test_mkv_segment_must_fit(tmp_path):
    header = b"\x1a\x45\xdf\xa3" + b"\x84" + b"abcd"  # EBML header, 4 bytes of payload
    segment = b"\x18\x53\x80\x67" + b"\x8a" + b"s" * 10  # Segment, 10 bytes
    path = tmp_path / "a.mkv"
    path.write_bytes(header + segment)
    assert inspect_structure(path) == ("matroska", None)
    path.write_bytes(header + segment[:-3])
    assert "declares" in (inspect_structure(path)[1] or "")
    unknown = b"\x18\x53\x80\x67" + b"\xff" + b"s" * 3  # unknown size: live recording
    path.write_bytes(header + unknown)
    assert inspect_structure(path) == ("matroska", None)


def test_ts_packets(tmp_path):
    packet = b"\x47" + b"\x00" * 187
    path = tmp_path / "a.ts"
    path.write_bytes(packet * 4)
    assert inspect_structure(path) == ("mpegts", None)
    path.write_bytes(packet * 4 + packet[:100])
    assert "ends inside a transport packet" in (inspect_structure(path)[1] or "")
    path.write_bytes(packet * 3 + b"\x00" * 188)
    assert "out of sync" in (inspect_structure(path)[1] or "")
    m2ts = b"\x00" * 4 + packet
    path.write_bytes(m2ts * 4)
    assert inspect_structure(path) == ("mpegts", None)


def test_unknown_magic(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(b"Bonjour, ceci n'est pas une video.\n" * 20)
    assert inspect_structure(path) == (None, None)
