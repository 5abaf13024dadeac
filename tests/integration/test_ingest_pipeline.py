"""Ingest as an operator runs it: the real ``scelle`` process, real ffmpeg, real SQLite.

What a segment becomes (one event, its exact bytes, a thumbnail under its key, its clock
drift), that the same bytes twice stay one segment, and that every kind of bad input is moved
to quarantine with its reason (a ``.motif.txt`` and a ``QuarantinedFile.Recorded`` event)
while the good files of the same batch are still taken. ``scelle verify store`` after each.

Tests named ``test_bug_…`` show a defect found while writing these tests: they fail until the
code is fixed (diagnosis in each docstring).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence.content.errors import KeyDestroyedError
from evidence.model.segment import segment_id
from ingest.ffmpeg import ffmpeg_path
from ingest.naming import format_segment_name, parse_segment_name
from ingest.simulate import record_simulated
from tests.ingest_support import (
    CAMERA,
    PAST,
    assert_store_verifies,
    content_problems,
    new_archive,
    opened,
    quarantined,
    recorded,
    scelle,
    sha256_of,
    topic_counts,
)

RECORDED = "scelle:Segment.Recorded"
QUARANTINED = "scelle:QuarantinedFile.Recorded"
TS_PACKET = 188


# --------------------------------------------------------------------------- footage


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Tiny finished segments, made once: 8 MP4, 2 MKV, 2 MPEG-TS (the TS a bit larger, so
    its frames span several transport packets and can be cut inside one)."""
    root = tmp_path_factory.mktemp("library")
    hour = timedelta(hours=1)
    return {
        "mp4": record_simulated(root / "mp4", CAMERA, PAST, 8, 1, 64, 48, 10),
        "mkv": record_simulated(
            root / "mkv", CAMERA, PAST + hour, 2, 1, 64, 48, 10, container="mkv"
        ),
        "ts": record_simulated(
            root / "ts", CAMERA, PAST + 2 * hour, 2, 1, 160, 120, 10, container="ts"
        ),
    }


def name_at(minutes: int, ext: str = ".mp4", camera: str = CAMERA) -> str:
    """A well-formed segment name, ``minutes`` after the library's footage (no clash)."""
    return format_segment_name(camera, PAST + timedelta(hours=5, minutes=minutes), ext)


def in_the_past(path: Path) -> Path:
    """Give a file (or a link itself) an old modification time, as a finished segment has."""
    old = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(path, (old, old), follow_symlinks=False)
    return path


def copy_to(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(source, folder / (name or source.name)))


def restamp(source: Path, target: Path, creation_time: datetime) -> Path:
    """Stream copy of ``source`` with another container ``creation_time`` (camera clock)."""
    muxer = {".mp4": ["-movflags", "+faststart", "-f", "mp4"], ".mkv": ["-f", "matroska"]}
    args = [str(ffmpeg_path()), "-nostdin", "-v", "error", "-i", str(source), "-map", "0"]
    args += ["-c", "copy", "-metadata", f"creation_time={creation_time:%Y-%m-%dT%H:%M:%S}Z"]
    args += [*muxer[source.suffix], "-y", str(target)]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return in_the_past(target)


def cut_ts_inside_a_frame(source: Path, target: Path) -> Path:
    """Cut an MPEG-TS on a packet boundary, but inside a video frame: structurally whole (the
    format is made to be cut), so only decoding the last frame can tell it is truncated."""
    data = source.read_bytes()
    packets = len(data) // TS_PACKET

    def pid(i: int) -> int:
        return ((data[i * TS_PACKET + 1] & 0x1F) << 8) | data[i * TS_PACKET + 2]

    video = Counter(pid(i) for i in range(packets)).most_common(1)[0][0]
    middle = packets // 2
    for k in sorted(range(packets // 4, packets), key=lambda k: abs(k - middle)):
        # packet k is the first one dropped: a continuation (no payload start) of the video
        if pid(k) == video and not data[k * TS_PACKET + 1] & 0x40:
            target.write_bytes(data[: k * TS_PACKET])
            return in_the_past(target)
    raise AssertionError("no video frame spans two transport packets in the sample")


def ingest_files(
    data: Path, *paths: Path, env: dict[str, str] | None = None, keep_source: bool = False
) -> subprocess.CompletedProcess[str]:
    keep = ["--keep-source"] if keep_source else []
    return scelle(data, "ingest", "files", *map(str, paths), *keep, env=env)


def watch_once(data: Path, folder: Path, camera: str = CAMERA) -> subprocess.CompletedProcess[str]:
    return scelle(
        data, "ingest", "watch", str(folder), "--camera", camera, "--once", "--settle", "0"
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def escaped(name: str) -> str:
    """How an event names a source: ``repr`` without quotes, so control bytes stay visible."""
    return repr(name)[1:-1]


# --------------------------------------------------------------------------- idempotence


def test_the_same_file_twice_by_ingest_files_is_one_segment_and_one_event(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    source = copy_to(library["mp4"][0], tmp_path / "inbox")
    original = source.read_bytes()

    first = assert_ok(ingest_files(data, source, keep_source=True))
    assert "1 segment(s) versé(s), 0 doublon(s)" in first
    assert source.read_bytes() == original  # --keep-source
    second = assert_ok(ingest_files(data, source))
    assert "0 segment(s) versé(s), 1 doublon(s)" in second
    assert f"déjà versé  {source.name}" in second
    assert not source.exists()  # the duplicate's source is removed like any ingested file

    assert topic_counts(data)[RECORDED] == 1
    (fact,) = recorded(data)
    assert fact["originator_id"] == segment_id(CAMERA, fact["sha256"]).hex
    assert not content_problems(data)  # no second blob or key left behind
    assert_store_verifies(data)


def test_the_same_file_copied_back_into_the_watch_folder_is_one_segment(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    folder = tmp_path / "watch"
    segment = library["mp4"][1]
    copy_to(segment, folder)
    assert "versé       " + segment.name in assert_ok(watch_once(data, folder))
    assert not list(folder.iterdir())

    copy_to(segment, folder)  # the recorder (or an operator) drops it again
    again = assert_ok(watch_once(data, folder))
    assert f"déjà versé  {segment.name}" in again
    assert "0 segment(s) versé(s), 1 doublon(s), 0 fichier(s) en quarantaine" in again
    assert not list(folder.iterdir())

    counts = topic_counts(data)
    assert counts[RECORDED] == 1
    assert QUARANTINED not in counts
    assert not content_problems(data)
    assert_store_verifies(data)


def test_the_recorded_event_holds_the_digest_and_size_of_the_original_bytes(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    sources = [copy_to(library["mp4"][2], inbox), copy_to(library["mkv"][0], inbox)]
    sources.append(copy_to(library["ts"][0], inbox))
    originals = {p.name: p.read_bytes() for p in sources}
    assert "3 segment(s) versé(s)" in assert_ok(ingest_files(data, *sources))

    facts = {fact["source_name"]: fact for fact in recorded(data)}
    assert set(facts) == set(originals)
    with opened(data) as system:
        for name, original in originals.items():
            fact = facts[name]
            assert fact["size"] == len(original)
            assert fact["sha256"] == hashlib.sha256(original).hexdigest()
            assert system.vault.read_all(fact["blob_id"]) == original
            assert (
                fact["container"]
                == {".mp4": "mp4", ".mkv": "matroska", ".ts": "mpegts"}[Path(name).suffix]
            )
            start = parse_segment_name(name).start
            assert fact["start"]["_data_"] == start.isoformat()
    assert not content_problems(data)
    assert_store_verifies(data)


def test_the_thumbnail_is_a_jpeg_under_the_segment_key_and_dies_with_it(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    data = new_archive(tmp_path)
    assert_ok(ingest_files(data, copy_to(library["mp4"][3], tmp_path / "inbox")))
    (fact,) = recorded(data)
    blob, thumb = fact["blob_id"], fact["thumbnail_blob_id"]
    assert thumb == f"{blob}.thumb"
    with opened(data) as system:
        vault = system.vault
        jpeg = vault.read_all(thumb)
        assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
        assert thumb not in system.vault.keys.ids()  # no key of its own: the segment's key
        assert set(vault.blobs.iter_ids()) == {blob, thumb}

        backup = {b: vault.blobs.get_range(b, 0, vault.blobs.size(b)) for b in (blob, thumb)}
        shredded = vault.shred(blob, derived=[thumb])
        assert shredded.key == "destroyed" and shredded.blob_deleted
        assert not list(vault.blobs.iter_ids())
        assert blob in vault.keys.destroyed_ids()
        for gone in (blob, thumb):
            with pytest.raises(KeyDestroyedError):
                vault.read_all(gone)
        for copy, ciphertext in backup.items():  # a copy left in a backup: noise now
            vault.blobs.put(copy, [ciphertext])
            with pytest.raises(KeyDestroyedError):
                vault.read_all(copy)
            vault.blobs.delete(copy)
    # The log is untouched by a shred: verify store still passes (the purge event is the
    # caller's job, not the vault's).
    assert_store_verifies(data)


# --------------------------------------------------------------------------- clock drift


def test_a_camera_clock_beyond_the_threshold_is_flagged_and_one_within_is_not(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Default threshold 2 s. MP4 stores whole seconds, Matroska microseconds; MPEG-TS has no
    creation time at all, so its drift is unknown (None) and not flagged."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cases = {  # name -> (source, drift in seconds or None, flagged)
        name_at(0): (library["mp4"][4], 10, True),
        name_at(1): (library["mp4"][5], 1, False),
        name_at(2): (library["mp4"][6], 0, False),
        name_at(3): (library["mp4"][7], -3, True),
        name_at(4, ".mkv"): (library["mkv"][1], 2, False),  # exactly at the threshold
        name_at(5, ".mkv"): (library["mkv"][0], -125, True),
    }
    paths = []
    for name, (source, drift, _) in cases.items():
        start = parse_segment_name(name).start
        paths.append(restamp(source, inbox / name, start + timedelta(seconds=drift)))
    paths.append(copy_to(library["ts"][1], inbox))
    assert "7 segment(s) versé(s)" in assert_ok(ingest_files(data, *paths))

    facts = {fact["source_name"]: fact for fact in recorded(data)}
    for name, (_, drift, flagged) in cases.items():
        fact = facts[name]
        assert fact["clock_drift_seconds"] == pytest.approx(drift), name
        assert fact["clock_drift_flagged"] is flagged, name
        start = parse_segment_name(name).start
        assert fact["camera_clock"]["_data_"] == (start + timedelta(seconds=drift)).isoformat()
    ts = facts[library["ts"][1].name]
    assert ts["camera_clock"] is None
    assert ts["clock_drift_seconds"] is None
    assert ts["clock_drift_flagged"] is False
    assert_store_verifies(data)


# --------------------------------------------------------------------------- bad input


@dataclass(frozen=True)
class Bad:
    """A refused file: its name, why (code, and words the French motive must contain)."""

    name: str
    code: str
    words: str
    safe_name: bool = True  # quarantined under its own name (else ``nom-refuse-…``)


@dataclass(frozen=True)
class Batch:
    data: Path
    folder: Path
    result: subprocess.CompletedProcess[str]
    bad: dict[str, Bad]
    hashes: dict[str, str | None]  # name -> sha256 of what was refused (None: a link)
    good: list[str]


def _bad_files(folder: Path, library: dict[str, list[Path]]) -> list[tuple[Bad, Path]]:
    mp4, mkv, ts = library["mp4"][0], library["mkv"][0], library["ts"][0]
    made: list[tuple[Bad, Path]] = []

    def add(bad: Bad, write: object) -> None:
        path = folder / bad.name
        if callable(write):
            write(path)
        else:
            assert isinstance(write, bytes)
            path.write_bytes(write)
        made.append((bad, in_the_past(path)))

    add(Bad(name_at(10), "EmptyFile", "est vide"), b"")
    add(
        Bad(name_at(11), "TruncatedFile", "est tronqué ou endommagé"),
        mp4.read_bytes()[: mp4.stat().st_size // 2],
    )
    half = ts.stat().st_size // 2
    assert half % TS_PACKET, "pick a cut inside a transport packet"
    add(Bad(name_at(12, ".ts"), "TruncatedFile", "est tronqué"), ts.read_bytes()[:half])
    add(
        Bad(name_at(13, ".ts"), "TruncatedFile", "est tronqué"),
        lambda p: cut_ts_inside_a_frame(ts, p),
    )
    add(
        Bad(name_at(14), "NotAVideo", "n'est pas une vidéo lisible"),
        "Ceci n'est pas une vidéo.\n".encode() * 40,
    )
    add(
        Bad(
            name_at(15),
            "UnsupportedContainer",
            "l'extension annonce du MP4 mais le contenu est du Matroska (MKV)",
        ),
        mkv.read_bytes(),
    )
    add(
        Bad(name_at(16, ".avi"), "bad-name", "l'extension '.avi', qui n'est pas parmi"),
        mp4.read_bytes(),
    )
    add(
        Bad(name_at(17, camera="CAM99"), "unknown-camera", "La caméra CAM99 n'est pas enregistrée"),
        library["mp4"][1].read_bytes(),
    )
    add(Bad("CAM01_nimporte.mp4", "bad-name", "non reconnu"), mp4.read_bytes())
    return made


def _hostile_names(folder: Path, library: dict[str, list[Path]]) -> list[tuple[Bad, Path]]:
    """Names a recorder-side attacker could write: each refused before any path join."""
    good = library["mp4"][2].read_bytes()
    cases = [
        Bad(".." + name_at(20), "bad-name", "contient « .. »", safe_name=False),
        Bad(name_at(21).replace("_", "_\x01", 1), "bad-name", "caractère de contrôle", False),
        Bad(name_at(22) + "\n", "bad-name", "caractère de contrôle", safe_name=False),
        Bad(name_at(23).replace("_", "\x1b[2J\x1b[31m_", 1), "bad-name", "contrôle", False),
    ]
    made = []
    for bad in cases:
        path = folder / bad.name
        path.write_bytes(good)
        made.append((bad, in_the_past(path)))
    return made


@pytest.fixture(scope="module")
def files_batch(tmp_path_factory: pytest.TempPathFactory, library: dict[str, list[Path]]) -> Batch:
    """One ``scelle ingest files`` over good and bad files interleaved."""
    root = tmp_path_factory.mktemp("files-batch")
    data = new_archive(root)
    folder = root / "inbox"
    folder.mkdir()
    bad = _bad_files(folder, library) + _hostile_names(folder, library)
    good = [copy_to(p, folder) for p in (library["mp4"][3], library["mkv"][1], library["ts"][1])]
    hashes = {b.name: sha256_of(p) for b, p in bad}
    order = [p for _, p in bad]
    for position, path in zip((1, 6, 11), good, strict=True):  # good files between bad ones
        order.insert(position, path)
    result = ingest_files(data, *order)
    return Batch(data, folder, result, {b.name: b for b, _ in bad}, hashes, [p.name for p in good])


FILES_CASES = [
    "empty",
    "truncated-mp4",
    "truncated-ts-inside-a-packet",
    "truncated-ts-on-a-packet-boundary",
    "text-named-mp4",
    "mkv-named-mp4",
    "avi",
    "unknown-camera",
    "unrecognised-name",
    "dotdot-prefix",
    "control-character",
    "newline",
    "terminal-escape",
]


def _check_quarantined(batch: Batch, bad: Bad) -> None:
    """The file is gone from the inbox, sits in quarantine with its motive, and the refusal
    is an event naming it, its reason, its size and digest, and where it went."""
    assert not (batch.folder / bad.name).exists() and not (batch.folder / bad.name).is_symlink()
    matching = [e for e in quarantined(batch.data) if e["source_name"] == escaped(bad.name)]
    assert len(matching) == 1, [e["source_name"] for e in quarantined(batch.data)]
    (fact,) = matching
    assert fact["reason_code"] == bad.code
    assert bad.words in fact["reason_fr"]
    where = batch.data / "quarantine" / fact["quarantine_name"]
    assert where.parent.parent == batch.data / "quarantine"
    assert where.parent.name == fact["at"]["_data_"][:10]  # one folder per day
    if bad.safe_name:
        assert where.name == bad.name
    else:
        assert where.name.startswith("nom-refuse-")  # a hostile name never reaches the disk
    assert where.exists() or where.is_symlink()
    motive = where.with_name(where.name + ".motif.txt").read_text(encoding="utf-8")
    detail = f"détail technique : {fact['detail']}\n" if fact.get("detail") else ""
    assert motive == f"{bad.code}\n{fact['reason_fr']}\n{detail}"
    assert fact["sha256"] == batch.hashes[bad.name]
    if fact["sha256"] is not None:
        assert sha256_of(where) == fact["sha256"]  # the very bytes, moved not rewritten
    assert fact["size"] == where.lstat().st_size


@pytest.mark.parametrize("case", range(len(FILES_CASES)), ids=FILES_CASES)
def test_ingest_files_quarantines_each_bad_file_with_its_reason(
    files_batch: Batch, case: int
) -> None:
    _check_quarantined(files_batch, list(files_batch.bad.values())[case])


def test_ingest_files_keeps_going_with_the_good_files_of_a_bad_batch(files_batch: Batch) -> None:
    out = assert_ok(files_batch.result)
    bad = len(files_batch.bad)
    assert bad == len(FILES_CASES)
    assert f"3 segment(s) versé(s), 0 doublon(s), {bad} fichier(s) en quarantaine." in out
    assert sorted(e["source_name"] for e in recorded(files_batch.data)) == sorted(files_batch.good)
    assert topic_counts(files_batch.data)[QUARANTINED] == bad
    assert not list(files_batch.folder.iterdir())  # everything accounted for
    assert not content_problems(files_batch.data)  # refusals write no blob, no key
    assert_store_verifies(files_batch.data)


def test_regression_the_cli_echoes_raw_control_characters_from_hostile_names(
    files_batch: Batch,
) -> None:
    """Fixed (tools/ingest_cli.py ``_report``):
    ``QUARANTAINE {outcome.source}`` prints the raw
    file name, so a name written by the recorder side reaches the operator's terminal with
    its ESC sequences (here ``ESC[2J``, clear screen) and control bytes: terminal injection
    (CWE-150), e.g. hiding or faking lines of the report. The French reason next to it is
    safe (it uses ``repr``), and so is the event's ``source_name``.
    Fix: print ``repr(name)[1:-1]`` (as the event does) wherever a name from disk is echoed:
    ``Outcome.source`` could carry the escaped form."""
    out = files_batch.result.stdout + files_batch.result.stderr
    raw = sorted({c for c in out if (ord(c) < 32 and c != "\n") or ord(c) == 127})
    assert raw == [], f"raw control characters on the operator's terminal: {raw}"


def test_a_file_over_the_size_limit_is_quarantined_without_being_read(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """``SCELLE_MAX_SEGMENT_BYTES`` from the environment; an oversized file is not hashed."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    small = copy_to(library["mp4"][4], inbox)
    big = copy_to(library["ts"][0], inbox, name_at(30, ".ts"))
    limit = 20_000
    assert small.stat().st_size < limit < big.stat().st_size
    result = ingest_files(data, big, small, env={"SCELLE_MAX_SEGMENT_BYTES": str(limit)})
    assert "1 segment(s) versé(s), 0 doublon(s), 1 fichier(s) en quarantaine." in assert_ok(result)
    (fact,) = quarantined(data)
    assert fact["reason_code"] == "too-large"
    assert f"au-delà de la limite de {limit} octets" in fact["reason_fr"]
    assert fact["sha256"] is None and fact["size"] == library["ts"][0].stat().st_size
    where = data / "quarantine" / fact["quarantine_name"]
    assert where.read_bytes() == library["ts"][0].read_bytes()
    assert "au-delà de la limite" in where.with_name(where.name + ".motif.txt").read_text()
    assert [e["source_name"] for e in recorded(data)] == [small.name]
    assert not content_problems(data)
    assert_store_verifies(data)


def test_ingest_files_takes_an_operator_path_with_dotdot_components_as_given(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Documented behaviour, not a refusal: ``ingest files`` ingests the paths the operator
    names, wherever they resolve (a name with '/' cannot exist inside a folder, so the
    only '..' that can reach the pipeline is in the operator's own argument). Only the final
    name is parsed and recorded; the file is removed where it really is. Confinement to a
    folder is the watch mode's job (``root``)."""
    data = new_archive(tmp_path)
    elsewhere = copy_to(library["mp4"][5], tmp_path / "elsewhere")
    (tmp_path / "inbox" / "sub").mkdir(parents=True)
    winding = tmp_path / "inbox" / "sub" / ".." / ".." / "elsewhere" / elsewhere.name
    assert "1 segment(s) versé(s)" in assert_ok(ingest_files(data, winding))
    (fact,) = recorded(data)
    assert fact["source_name"] == elsewhere.name
    assert not elsewhere.exists()
    assert_store_verifies(data)


def test_regression_a_file_gone_before_its_turn_does_not_abort_the_batch(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Fixed (ingest/pipeline.py ``_check``, tools/ingest_cli.py ``files``):
    the CLI checks
    that every path exists once, up front; a file that disappears before its turn (listed
    twice by overlapping shell globs, or taken meanwhile by a watcher on the same folder)
    makes ``path.stat()`` raise ``FileNotFoundError``, uncaught: a traceback, exit 1, and
    the rest of the batch is never ingested.
    Fix: in ``Ingestor.ingest``, catch ``FileNotFoundError`` for the file being checked and
    return an ``Outcome(status="vanished")`` (reported, nothing to quarantine), and let the
    CLI count it; optionally de-duplicate the resolved paths of a batch first."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    first = copy_to(library["mp4"][0], inbox)
    last = copy_to(library["mp4"][1], inbox)
    result = ingest_files(data, first, first, last)
    assert "Traceback" not in result.stderr, result.stderr[-600:]
    assert sorted(e["source_name"] for e in recorded(data)) == sorted([first.name, last.name])
    assert not last.exists()


def test_regression_a_directory_named_like_a_segment_is_refused_not_a_crash(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Fixed (ingest/pipeline.py ``_check``):
    nothing checks that the path is a regular file;
    a directory named like a segment passes the name, size and camera checks and then
    ``inspect_structure`` opens it: ``IsADirectoryError``, uncaught, the batch dies (a FIFO
    would even block ``open`` forever, with no timeout).
    Fix: ``lstat`` once at the start of ``_check`` and refuse anything that is not
    ``S_ISREG`` (Refusal("not-a-file", "… n'est pas un fichier ordinaire : refusé.")),
    then open the file with ``O_NOFOLLOW | O_NONBLOCK`` in the probe."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    odd = inbox / name_at(40)
    odd.mkdir(parents=True)
    good = copy_to(library["mp4"][2], inbox)
    result = ingest_files(data, odd, good)
    assert "Traceback" not in result.stderr, result.stderr[-600:]
    assert [e["source_name"] for e in recorded(data)] == [good.name]
    assert [e["source_name"] for e in quarantined(data)] == [odd.name]


def test_regression_the_technical_detail_the_operator_is_sent_to_is_recorded_somewhere(
    files_batch: Batch,
) -> None:
    """Fixed (ingest/pipeline.py, ingest/quarantine.py):
    a truncated file's French reason says
    « le détail technique figure dans le journal », but the detail (the probe's English
    message, e.g. "box 'mdat' at byte 40 needs 4906 bytes, only 2497 remain") is dropped:
    ``Refusal`` keeps only ``message_fr``; the motive file, the event, stdout and stderr
    all lack it. An operator or an inspector cannot tell a cut copy from a corrupt disk.
    Fix: give ``Refusal`` a ``detail`` (``str(exc)``), write it as a third line of the
    ``.motif.txt``, print it on stderr, and record it in the event (a new optional field
    with ``class_version`` 2 and an upcaster, per DESIGN §3)."""
    bad = next(b for b in files_batch.bad.values() if b.code == "TruncatedFile")
    (fact,) = [e for e in quarantined(files_batch.data) if e["source_name"] == bad.name]
    where = files_batch.data / "quarantine" / fact["quarantine_name"]
    motive = where.with_name(where.name + ".motif.txt").read_text(encoding="utf-8")
    everywhere = motive + json.dumps(fact) + files_batch.result.stdout + files_batch.result.stderr
    assert "mdat" in everywhere, "the technical detail is nowhere to be found"


# --------------------------------------------------------------------------- watch folder


@pytest.fixture(scope="module")
def watch_batch(tmp_path_factory: pytest.TempPathFactory, library: dict[str, list[Path]]) -> Batch:
    """One ``scelle ingest watch --once`` over a folder holding good files and traps."""
    root = tmp_path_factory.mktemp("watch-batch")
    data = new_archive(root, cameras=(CAMERA, "CAM02"))
    folder = root / "watch"
    folder.mkdir()
    outside = copy_to(library["mp4"][6], root / "outside", name_at(50))
    traps = [
        Bad(name_at(50), "symlink", "est un lien symbolique : refusé"),
        Bad(name_at(51, camera="CAM02"), "wrong-camera", "mais le dossier est celui de la caméra"),
        Bad(name_at(52).replace("_", "..x_", 1), "bad-name", "contient « .. »", False),
        Bad(name_at(53).replace("_", "\x07_", 1), "bad-name", "caractère de contrôle", False),
        Bad(name_at(54), "EmptyFile", "est vide"),
    ]
    in_the_past(outside)
    (folder / traps[0].name).symlink_to(outside)
    for trap in traps[1:4]:
        shutil.copy2(library["mp4"][7], folder / trap.name)
    (folder / traps[4].name).write_bytes(b"")
    for trap in traps:
        in_the_past(folder / trap.name)
    hashes: dict[str, str | None] = {t.name: sha256_of(folder / t.name) for t in traps[1:]}
    hashes[traps[0].name] = None  # a link is moved, never followed nor hashed
    good = [copy_to(p, folder) for p in (library["mp4"][3], library["mkv"][1])]
    result = watch_once(data, folder)
    return Batch(data, folder, result, {t.name: t for t in traps}, hashes, [p.name for p in good])


WATCH_CASES = ["symlink-outside", "wrong-camera", "dotdot-inside", "bell-character", "empty"]


@pytest.mark.parametrize("case", range(len(WATCH_CASES)), ids=WATCH_CASES)
def test_watch_quarantines_each_trap_with_its_reason(watch_batch: Batch, case: int) -> None:
    _check_quarantined(watch_batch, list(watch_batch.bad.values())[case])


def test_watch_moves_a_symlink_itself_and_never_touches_its_target(watch_batch: Batch) -> None:
    link_name = next(iter(watch_batch.bad))
    (fact,) = [e for e in quarantined(watch_batch.data) if e["source_name"] == link_name]
    moved = watch_batch.data / "quarantine" / fact["quarantine_name"]
    assert moved.is_symlink()
    target = watch_batch.folder.parent / "outside" / link_name
    assert moved.readlink() == target
    assert target.is_file() and target.stat().st_size > 0  # outside the folder, untouched


def test_watch_keeps_going_with_the_good_files(watch_batch: Batch) -> None:
    out = assert_ok(watch_batch.result)
    assert "2 segment(s) versé(s), 0 doublon(s), 5 fichier(s) en quarantaine." in out
    assert sorted(e["source_name"] for e in recorded(watch_batch.data)) == sorted(watch_batch.good)
    assert topic_counts(watch_batch.data)[QUARANTINED] == len(WATCH_CASES)
    assert not list(watch_batch.folder.iterdir())
    assert not content_problems(watch_batch.data)
    assert_store_verifies(watch_batch.data)


def test_regression_watch_leaves_a_hidden_escaping_name_unaccounted_for_ever(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Fixed (ingest/watch.py ``FolderWatch.candidates``):
    every name starting with '.' is
    skipped as a temporary file, forever. ``..CAM01_…mp4`` (or any hidden file a recorder
    leaves) is never ingested, never quarantined, never recorded: something the camera side
    sent goes unaccounted for, silently, while ``ingest files`` on the same name quarantines
    it (« contient « .. » »).
    Fix: keep skipping hidden names while they may still be written, but hand a hidden entry
    that has been quiet for ``idle`` seconds (or any quiet hidden entry when ``drain``) to the
    pipeline, which refuses it by name; or at least report it on every pass."""
    data = new_archive(tmp_path)
    folder = tmp_path / "watch"
    hidden = copy_to(library["mp4"][0], folder, ".." + name_at(60))
    in_the_past(hidden)
    os.utime(hidden, (0, 0))  # quiet since 1970: no writer is coming back for it
    good = copy_to(library["mp4"][1], folder)
    assert_ok(watch_once(data, folder))
    assert [e["source_name"] for e in recorded(data)] == [good.name]
    assert [e["source_name"] for e in quarantined(data)] == [hidden.name], (
        f"{hidden.name} left in the watch folder, neither ingested nor quarantined"
    )


def test_regression_a_later_motive_overwrites_a_file_already_in_quarantine(
    tmp_path: Path, library: dict[str, list[Path]]
) -> None:
    """Fixed (ingest/quarantine.py ``quarantine``):
    the target name is checked for collisions,
    but its motive ``<target>.motif.txt`` is written with ``write_text``, which overwrites.
    A refused file that was itself named ``X.mp4.motif.txt`` (any name can arrive) sits in
    quarantine under that name; when ``X.mp4`` is refused later, its motive replaces it: the
    bytes the camera side sent are destroyed, and the first event's ``quarantine_name`` and
    ``sha256`` now point at a text the archive wrote itself.
    Fix: choose the target so that neither ``target`` nor its motive exists, and create the
    motive with ``open(..., "x")`` (O_EXCL), retrying with a fresh prefix on collision; or
    keep motives apart (``<day>/motifs/``) so that no incoming name can collide with one."""
    data = new_archive(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = name_at(70)
    trap = inbox / f"{name}.motif.txt"
    trap.write_bytes(library["mp4"][0].read_bytes())  # whatever the recorder side left
    sent = sha256_of(trap)
    empty = inbox / name
    empty.write_bytes(b"")
    assert_ok(ingest_files(data, trap, empty))  # refused one after the other
    first = next(e for e in quarantined(data) if e["source_name"] == trap.name)
    assert first["sha256"] == sent
    kept = data / "quarantine" / first["quarantine_name"]
    assert sha256_of(kept) == sent, f"{kept.name} in quarantine was overwritten by a motive"
