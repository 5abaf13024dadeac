"""Batch intake (``Ingestor.ingest_many``): files stored in parallel, recorded in order.

The pool probes, thumbnails and encrypts several files at once; these tests hold it to what
the sequential intake promised: events (and refusals) in the order the files were given, each
refusal quarantined and recorded while the rest of the batch goes on, every thumbnail a JPEG
under its segment's key, nothing recorded without its content, no source removed before its
event. Also: the one-run probe + thumbnail judges files exactly as ``probe()`` does.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.content.vault import ContentVault
from ingest.ffmpeg import ffmpeg_path
from ingest.naming import format_segment_name
from ingest.pipeline import Ingestor
from ingest.probe import ProbeError, probe
from ingest.simulate import record_simulated
from ingest.thumbnail import probe_with_thumbnail, thumbnail_jpeg
from tests.ingest_support import (
    CAMERA,
    PAST,
    assert_store_verifies,
    content_problems,
    new_archive,
    opened,
    recorded,
    scelle,
)

RECORDED = "scelle:Segment.Recorded"
QUARANTINED = "scelle:QuarantinedFile.Recorded"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("batch-library")
    hour = timedelta(hours=1)
    return {
        "mp4": record_simulated(root / "mp4", CAMERA, PAST, 8, 1, 64, 48, 10),
        "mkv": record_simulated(
            root / "mkv", CAMERA, PAST + hour, 1, 1, 64, 48, 10, container="mkv"
        ),
        "ts": record_simulated(
            root / "ts", CAMERA, PAST + 2 * hour, 1, 1, 160, 120, 10, container="ts"
        ),
    }


def copy_all(sources: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(s, folder / s.name)) for s in sources]


def intake_log(data: Path) -> list[tuple[str, str]]:
    """(topic, source name) of every segment and refusal event, in log order."""
    with closing(sqlite3.connect(data / "events.sqlite")) as db:
        rows = db.execute(
            "SELECT topic, state FROM stored_events WHERE topic IN (?, ?) ORDER BY rowid",
            (RECORDED, QUARANTINED),
        ).fetchall()
    return [(topic, json.loads(state)["source_name"]) for topic, state in rows]


def ingest_batch(
    data: Path, paths: list[Path], camera: str | None = CAMERA, *, workers: int
) -> list[Any]:
    with opened(data) as system:
        return list(Ingestor(system).ingest_many(paths, camera, workers=workers))


# --------------------------------------------------------------------------- order


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_events_are_recorded_in_the_order_the_files_were_given(
    tmp_path: Path, library: dict[str, list[Path]], workers: int
) -> None:
    data = new_archive(tmp_path)
    given = copy_all(library["mp4"], tmp_path / "inbox")
    given = given[1::2] + given[0::2]  # not the sorted order: the order given is what counts
    outcomes = ingest_batch(data, given, workers=workers)
    assert [o.source for o in outcomes] == [p.name for p in given]
    assert {o.status for o in outcomes} == {"recorded"}
    assert intake_log(data) == [(RECORDED, p.name) for p in given]
    assert not any(p.exists() for p in given)
    assert content_problems(data) == []


def test_a_refusal_in_the_middle_of_a_batch_is_quarantined_and_the_rest_recorded(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Refused at admission (bad name, unknown camera) and by the probe in a worker (empty,
    truncated): each quarantined and recorded at its turn, between the good files."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    good = copy_all(library["mp4"][:4], inbox)
    empty = inbox / format_segment_name(CAMERA, PAST + timedelta(hours=3))
    empty.write_bytes(b"")
    cut = inbox / format_segment_name(CAMERA, PAST + timedelta(hours=3, minutes=1))
    cut.write_bytes(library["mp4"][4].read_bytes()[:1500])
    stranger = inbox / format_segment_name("CAM99", PAST + timedelta(hours=3, minutes=2))
    shutil.copyfile(library["mp4"][5], stranger)
    badly_named = inbox / "CAM01_nimporte.mp4"
    shutil.copyfile(library["mp4"][6], badly_named)
    given = [good[0], empty, good[1], cut, stranger, good[2], badly_named, good[3]]

    outcomes = ingest_batch(data, given, None, workers=2)  # as `ingest files` without --camera

    statuses = [o.status for o in outcomes]
    assert statuses == ["recorded", "quarantined"] * 2 + ["quarantined", "recorded"] * 2
    expected = [
        (RECORDED if s == "recorded" else QUARANTINED, p.name)
        for s, p in zip(statuses, given, strict=True)
    ]
    assert intake_log(data) == expected
    reasons = {o.source: o.reason for o in outcomes if o.status == "quarantined"}
    assert "est vide" in reasons[empty.name]
    assert "tronqué" in reasons[cut.name]
    assert "CAM99 n'est pas enregistrée" in reasons[stranger.name]
    assert not list(inbox.iterdir())  # recorded ones removed, refused ones moved
    moved = sorted(p.name for p in (data / "quarantine").rglob("*") if p.suffix == ".mp4")
    assert moved == sorted(p.name for p in (empty, cut, stranger, badly_named))
    assert content_problems(data) == []  # refusals leave no blob, no key
    assert_store_verifies(data)


def test_an_unexpected_error_stops_the_batch_after_recording_the_files_before_it(
    tmp_path: Path, library: dict[str, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store failure on the third file: the first two are recorded and removed; the third
    and later keep their sources and have no event; what the pool had already stored for
    later files is orphan content, which the next start's reconciliation shreds."""
    data = new_archive(tmp_path)
    given = copy_all(library["mp4"][:6], tmp_path / "inbox")
    failing = given[2].name
    original = ContentVault.put

    def put(self: ContentVault, blob_id: str, source: Any) -> Any:
        if getattr(source, "name", "").endswith(failing):
            raise OSError(28, "No space left on device")
        return original(self, blob_id, source)

    monkeypatch.setattr(ContentVault, "put", put)
    seen = []
    with opened(data) as system, pytest.raises(OSError, match="No space left"):
        seen.extend(Ingestor(system).ingest_many(given, CAMERA, workers=2))
    monkeypatch.undo()

    assert [o.source for o in seen] == [p.name for p in given[:2]]
    assert [e["source_name"] for e in recorded(data)] == [p.name for p in given[:2]]
    assert [p.exists() for p in given] == [False, False, True, True, True, True]
    assert content_problems(data, orphans_allowed=True) == []

    result = scelle(data, "ingest", "files", *map(str, given[2:]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 segment(s) versé(s)" in result.stdout
    assert [e["source_name"] for e in recorded(data)] == [p.name for p in given]
    assert content_problems(data) == []  # orphans shredded at start-up


def test_a_batch_stopped_early_records_nothing_more_and_keeps_every_other_source(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """The caller stops after the first outcome (Ctrl-C, an error of its own): files the
    pools had started may have content stored, but no event, and their sources stay."""
    data = new_archive(tmp_path)
    given = copy_all(library["mp4"][:6], tmp_path / "inbox")
    with opened(data) as system:
        batch = Ingestor(system).ingest_many(given, CAMERA, workers=2)
        first = next(batch)
        batch.close()
    assert first.status == "recorded" and first.source == given[0].name
    assert intake_log(data) == [(RECORDED, given[0].name)]
    assert [p.exists() for p in given] == [False] + [True] * 5
    assert content_problems(data, orphans_allowed=True) == []
    result = scelle(data, "ingest", "files", *map(str, given[1:]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert intake_log(data) == [(RECORDED, p.name) for p in given]
    assert content_problems(data) == []


def test_the_same_bytes_twice_in_one_batch_are_one_segment_and_leave_no_copy(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Both copies are stored at once by the pool; the second is found a duplicate at its
    turn and its fresh content shredded."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    first = copy_all(library["mp4"][:1], inbox)[0]
    again = inbox / format_segment_name(CAMERA, PAST + timedelta(hours=4))
    shutil.copyfile(first, again)
    outcomes = ingest_batch(data, [first, again], workers=2)
    assert [o.status for o in outcomes] == ["recorded", "duplicate"]
    assert outcomes[0].segment_id == outcomes[1].segment_id
    assert not first.exists() and not again.exists()
    assert content_problems(data) == []


def test_a_file_gone_before_its_turn_is_reported_and_the_batch_goes_on(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    given = copy_all(library["mp4"][:3], tmp_path / "inbox")
    given[1].unlink()
    outcomes = ingest_batch(data, given, workers=2)
    assert [o.status for o in outcomes] == ["recorded", "vanished", "recorded"]
    assert intake_log(data) == [(RECORDED, given[0].name), (RECORDED, given[2].name)]
    assert content_problems(data) == []


def test_ingest_files_takes_a_file_named_twice_once(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    first, last = copy_all(library["mp4"][:2], tmp_path / "inbox")
    winding = first.parent / ".." / first.parent.name / first.name
    result = scelle(data, "ingest", "files", str(first), str(winding), str(last), "-j", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 segment(s) versé(s), 0 doublon(s), 0 fichier(s) en quarantaine." in result.stdout
    assert [e["source_name"] for e in recorded(data)] == [first.name, last.name]


def test_watch_once_ingests_a_folder_through_the_pool_in_name_order(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    folder = tmp_path / "watch"
    given = copy_all(library["mp4"][:5], folder)
    args = ["ingest", "watch", str(folder), "--camera", CAMERA, "--once", "--settle", "0"]
    result = scelle(data, *args, "--jobs", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 segment(s) versé(s)" in result.stdout
    assert intake_log(data) == [(RECORDED, p.name) for p in sorted(given)]
    assert not list(folder.iterdir())


# --------------------------------------------------------------------------- thumbnails


def test_every_thumbnail_of_a_batch_decrypts_to_a_jpeg_of_its_own_segment(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    sources = [*library["mp4"][:2], *library["mkv"], *library["ts"]]
    given = copy_all(sources, tmp_path / "inbox")
    expected = {s.name: thumbnail_jpeg(s) for s in sources}
    ingest_batch(data, given, workers=2)
    facts = recorded(data)
    assert [f["source_name"] for f in facts] == [p.name for p in given]
    with opened(data) as system:
        for fact in facts:
            assert fact["thumbnail_blob_id"] == f"{fact['blob_id']}.thumb"
            jpeg = system.vault.read_all(fact["thumbnail_blob_id"])
            assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
            assert jpeg == expected[fact["source_name"]]  # the same picture as on its own
            assert fact["thumbnail_blob_id"] not in system.vault.keys.ids()  # segment's key
    assert content_problems(data) == []


def test_the_keyframe_thumbnail_is_the_first_frame_and_other_frames_fall_back(
    library: dict[str, list[Path]],
) -> None:
    """Segments start on a keyframe: the combined run's picture is the keyframe-only one.
    Half a second in, this one-second clip (keyframes every 2 s) has no keyframe left, so
    the keyframe-only run finds nothing and the full decode gives the frame there."""
    segment = library["mp4"][0]
    first = thumbnail_jpeg(segment, width=64)
    assert first.startswith(b"\xff\xd8") and first.endswith(b"\xff\xd9")
    _, combined = probe_with_thumbnail(segment, width=64)
    assert combined == first
    later = thumbnail_jpeg(segment, width=64, at_seconds=0.5)
    assert later.startswith(b"\xff\xd8") and later.endswith(b"\xff\xd9")
    assert later != first  # testsrc2 moves: another frame


# --------------------------------------------------------------------------- probe


def _bad_files(folder: Path, library: dict[str, list[Path]]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mp4, mkv, ts = library["mp4"][0], library["mkv"][0], library["ts"][0]
    made = {
        "empty": b"",
        "truncated-mp4": mp4.read_bytes()[: mp4.stat().st_size // 2],
        "text": "Ceci n'est pas une vidéo.\n".encode() * 40,
        "mkv-named-mp4": mkv.read_bytes(),
        "truncated-ts": ts.read_bytes()[: ts.stat().st_size // 2],
    }
    paths = {}
    for label, content in made.items():
        suffix = ".ts" if label.endswith("-ts") else ".mp4"
        path = folder / f"{label}{suffix}"
        path.write_bytes(content)
        paths[label] = path
    return paths


def test_the_one_run_probe_judges_good_files_exactly_as_probe(
    library: dict[str, list[Path]],
) -> None:
    for path in (*library["mp4"][:2], *library["mkv"], *library["ts"]):
        result, image = probe_with_thumbnail(path)
        assert result == probe(path), path.name
        assert image is not None and image.startswith(b"\xff\xd8"), path.name


def test_the_one_run_probe_refuses_bad_files_exactly_as_probe(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    for label, path in _bad_files(tmp_path, library).items():
        with pytest.raises(ProbeError) as alone:
            probe(path)
        with pytest.raises(ProbeError) as combined:
            probe_with_thumbnail(path)
        assert type(combined.value) is type(alone.value), label
        assert combined.value.message_fr == alone.value.message_fr, label


#: MP4s as cameras and recorders write them, beyond the simulator's: each is judged by the
#: one-run probe exactly as by probe().
_MP4_VARIANTS: dict[str, list[str]] = {
    "b-frames-no-edit-list": ["-c:v", "libx264", "-bf", "3", "-use_editlist", "0"],
    "with-audio": ["-f", "lavfi", "-i", "sine=d=1", "-c:v", "libx264", "-c:a", "aac"],
    "variable-rate": ["-vf", "select='lt(n,4)+not(mod(n,3))'", "-fps_mode", "vfr"],
    "fragmented": ["-c:v", "libx264", "-movflags", "frag_keyframe+empty_moov"],
    "ntsc-rate": ["-r", "30000/1001", "-c:v", "libx264"],
    "mjpeg": ["-c:v", "mjpeg"],
    "garbage-in-mdat": ["-c:v", "libx264"],  # made, then its frames overwritten below
}


@pytest.fixture(scope="module")
def mp4_variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mp4-variants")
    made = {}
    for label, options in _MP4_VARIANTS.items():
        path = root / f"{label}.mp4"
        source = ["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-t", "1"]
        subprocess.run(
            [str(ffmpeg_path()), "-v", "error", *source, *options, "-shortest", str(path)],
            check=True,
            timeout=60,
        )
        made[label] = path
    damaged = made["garbage-in-mdat"]
    data = bytearray(damaged.read_bytes())
    mdat = data.index(b"mdat") + 4
    data[mdat + 64 : mdat + 2048] = bytes(range(256)) * 7 + bytes(192)
    damaged.write_bytes(bytes(data))
    return made


@pytest.mark.parametrize("label", list(_MP4_VARIANTS))
def test_the_one_run_probe_judges_mp4_variants_exactly_as_probe(
    mp4_variants: dict[str, Path], label: str
) -> None:
    path = mp4_variants[label]
    try:
        expected: object = probe(path)
    except ProbeError as error:
        expected = (type(error), error.message_fr)
    try:
        found: object = probe_with_thumbnail(path)[0]
    except ProbeError as error:
        found = (type(error), error.message_fr)
    assert found == expected
