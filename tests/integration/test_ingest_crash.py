"""Crash safety of ingest: SIGKILL the real ``scelle`` process, restart it, lose nothing.

The write order (DESIGN §3: key and blob durable, then the event, then the source removed)
promises, whatever the moment of the crash:

* nothing acknowledged is lost: a source file gone from its folder has its event;
* no event lacks its content: every recorded segment's blob decrypts to its digest and size;
* no orphan survives the restart: reconciliation shreds what a crash left with no event;
* the log still verifies (``scelle verify store``).

Three ways to crash it:

1. at random moments (seeded; the seed is printed, set ``SCELLE_CRASH_SEED`` to replay it),
   into ``ingest files`` and ``ingest watch --once`` alternately, until 20 runs (or
   ``SCELLE_CRASH_RUNS``) have really been killed: a run that ends before its kill comes is
   checked too but not counted. The archive is *cumulative*: one data directory lives
   through every crash and restart, as a real one would, so each restart must also leave
   every segment of the earlier runs intact, and a duplicate from an earlier run rides in
   each batch. Each kill's phase is told from what it left behind (orphan content, a
   recorded source still in the folder…) and tallied;
2. during reconciliation itself, twice in a row, with many orphans to shred;
3. at each boundary of the write order, deterministically: the process SIGKILLs itself at
   the named step (``tests.ingest_support``), so no phase depends on luck.

The whole process group is killed (the ffmpeg children too), as a power cut or the OOM
killer would. Tests named ``test_bug_…`` fail until the defect in their docstring is fixed.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from evidence.content.vault import derived_id
from evidence.model.segment import segment_id
from ingest.simulate import record_simulated
from tests.ingest_support import (
    CAMERA,
    CRASH_POINTS,
    PAST,
    SCELLE,
    content_problems,
    new_archive,
    opened,
    orphans,
    quarantined,
    recorded,
    run_crashing,
    scelle,
    sha256_of,
    temp_blob_files,
)

PER_RUN = 6
RUNS = int(os.environ.get("SCELLE_CRASH_RUNS", "20"))  # runs actually killed
SPARE_RUNS = 10  # for runs that finish before their kill comes
SEED = int(os.environ.get("SCELLE_CRASH_SEED", str(random.SystemRandom().randrange(2**32))))


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Distinct one-second segments for every batch, made by one ffmpeg run."""
    root = tmp_path_factory.mktemp("footage")
    batches = 2 + RUNS + SPARE_RUNS
    return record_simulated(root, CAMERA, PAST, PER_RUN * batches, 1, 64, 48, 10)


def fill(folder: Path, sources: list[Path]) -> dict[str, str]:
    """Copy segments into ``folder`` (keeping their past mtimes); return name -> sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    return {Path(shutil.copy2(s, folder / s.name)).name: sha256_of(s) for s in sources}


def watch_args(folder: Path) -> list[str]:
    return ["ingest", "watch", str(folder), "--camera", CAMERA, "--once", "--settle", "0"]


def recorded_digests(data: Path) -> set[str]:
    return {fact["sha256"] for fact in recorded(data)}


def unaccounted(data: Path, folder: Path, batch: dict[str, str]) -> list[str]:
    """Sources gone from the folder with no event: acknowledged, then lost."""
    digests = recorded_digests(data)
    refused = {fact["source_name"] for fact in quarantined(data)}
    return sorted(
        name
        for name, sha in batch.items()
        if not (folder / name).exists() and sha not in digests and name not in refused
    )


def check_crash_state(data: Path, folder: Path, batch: dict[str, str]) -> None:
    """What must hold right after a kill, before any restart: orphans are allowed."""
    assert unaccounted(data, folder, batch) == [], "source removed but never recorded"
    assert content_problems(data, orphans_allowed=True) == [], "an event lacks its content"


def restart_and_check(data: Path, folder: Path, batch: dict[str, str]) -> tuple[str, float]:
    """A normal run to completion (it reconciles first); then every promise is checked.
    Return what the run printed, and how long it took."""
    began = time.monotonic()
    result = scelle(data, *watch_args(folder))
    seconds = time.monotonic() - began
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "ALERTE" not in result.stderr, result.stderr
    verifying = subprocess.Popen(  # read-only: runs while this process checks the content
        [SCELLE, "--data", str(data), "verify", "store"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert not list(folder.iterdir()), "good files left behind after a full run"
        facts = recorded(data)
        for sha in batch.values():  # one segment per content, under its deterministic id
            assert sum(f["sha256"] == sha for f in facts) == 1
            assert segment_id(CAMERA, sha).hex in {f["originator_id"] for f in facts}
        assert content_problems(data) == [], "orphan or broken content after the restart"
    finally:
        report, _ = verifying.communicate(timeout=120)
    assert verifying.returncode == 0 and report.startswith("OK:"), report
    return result.stdout, seconds


@dataclass
class Killed:
    returncode: int
    finished_first: bool
    elapsed: float
    stderr: str


def run_and_kill(args: list[str], delay: float, log: Path) -> Killed:
    """Start ``scelle args…`` and SIGKILL its whole process group after ``delay`` seconds."""
    began = time.monotonic()
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [SCELLE, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=60)
    elapsed = time.monotonic() - began
    # exit status 0: it finished first (perhaps in the instant between the timeout and the kill)
    return Killed(code, code == 0, elapsed, log.read_text(errors="replace"))


def phase_of(
    killed: Killed, data: Path, folder: Path, batch: dict[str, str], new: set[str], startup: float
) -> str:
    """Tell where the kill landed from what it left (before any restart) and, when it left
    nothing, from its timing against ``startup`` (the time a run over an empty folder takes)."""
    if killed.finished_first:
        return "after the run (it had finished)"
    blobs, keys = orphans(data)
    if blobs or keys:
        return "content stored, event not yet (orphan)"
    digests = recorded_digests(data)
    present = {name for name in batch if (folder / name).exists()}
    if any(batch[name] in digests and batch[name] in new for name in present):
        return "event committed, source not yet removed"
    done = {name for name in batch if batch[name] in new and batch[name] in digests}
    if not done and present == set(batch):
        if killed.elapsed < startup:
            return "start-up (interpreter, open, reconcile)"
        return "first file (probe, thumbnail)"
    if present == set():
        return "after the last file (summary, close)"
    return "between files (probe, thumbnail, duplicate check)"


# --------------------------------------------------------------------------- random kills


def test_sigkill_at_random_moments_then_restart_loses_nothing(
    tmp_path: Path, footage: list[Path]
) -> None:
    """Kill times follow the host's speed: the length of a whole run is re-estimated from
    every run that turned out to be whole (those the kill came too late for, and restarts
    that had the whole batch to do), and a quarter of the kills aim at the start-up (its share
    of a run measured once), three quarters at the intake that follows."""
    rng = random.Random(SEED)
    print(
        f"\ncrash loop: seed {SEED} (SCELLE_CRASH_SEED={SEED} replays it), "
        f"until {RUNS} runs have been killed"
    )
    data = new_archive(tmp_path)
    supply: Iterator[Path] = iter(footage)

    def timed(*args: str) -> float:
        began = time.monotonic()
        assert scelle(data, *args).returncode == 0
        return time.monotonic() - began

    # Two uninterrupted batches (the first one is cold), and a run with nothing to do.
    wholes = []
    for name in ("calibration-1", "calibration-2"):
        batch = fill(tmp_path / name, [next(supply) for _ in range(PER_RUN)])
        wholes.append(timed("ingest", "files", *(str(tmp_path / name / n) for n in batch)))
    durations = [min(wholes)]
    (tmp_path / "empty").mkdir()
    startup_share = min(1.0, timed(*watch_args(tmp_path / "empty")) / durations[0])
    earlier = list(footage[: 2 * PER_RUN])
    print(
        f"uninterrupted runs of {PER_RUN} segments: {wholes[0]:.2f} s (cold), {wholes[1]:.2f} s;"
        f" {startup_share:.0%} of it before the first file"
    )

    phases: Counter[str] = Counter()
    temps = 0
    run = kills = 0
    while kills < RUNS:
        assert run < RUNS + SPARE_RUNS, f"only {kills} of {run} runs were killed before the end"
        folder = tmp_path / f"run{run:02d}"
        fresh = [next(supply) for _ in range(PER_RUN)]
        duplicate = rng.choice(earlier)  # already recorded: the duplicate path, under crash
        batch = fill(folder, fresh)
        batch |= fill(folder, [duplicate])
        new = {sha256_of(p) for p in fresh}
        mode = "files" if run % 2 == 0 else "watch"
        args = ["--data", str(data)]
        if mode == "files":
            args += ["ingest", "files", *(str(folder / n) for n in sorted(batch))]
        else:
            args += watch_args(folder)
        whole = statistics.median(durations[-5:])
        startup = startup_share * whole
        delay = rng.uniform(0.05, startup) if rng.random() < 0.25 else rng.uniform(startup, whole)
        killed = run_and_kill(args, delay, tmp_path / f"run{run:02d}.stderr")
        where = f"run {run} ({mode}, kill at {delay:.3f} s of ~{whole:.2f} s, seed {SEED})"
        assert killed.finished_first or killed.returncode == -signal.SIGKILL, (
            f"{where}: exit status {killed.returncode}\n{killed.stderr}"
        )
        phase = phase_of(killed, data, folder, batch, new, startup)
        phases[phase] += 1
        left = temp_blob_files(data)
        temps = len(left)
        untouched = all((folder / n).exists() for n in batch)
        print(
            f"  {where}: {phase}; {sum((folder / n).exists() for n in batch)} of "
            f"{len(batch)} files left; {len(left)} temp blob file(s) in the store"
        )
        check_crash_state(data, folder, batch)
        try:
            out, seconds = restart_and_check(data, folder, batch)
        except AssertionError as exc:
            raise AssertionError(f"{where}, phase '{phase}': {exc}") from exc
        if killed.finished_first:
            durations.append(killed.elapsed)
        elif untouched and "Réconciliation" not in out:
            durations.append(seconds)  # the restart did the whole batch
        if phase == "content stored, event not yet (orphan)":
            assert "Réconciliation :" in out, where
        earlier += fresh
        kills += not killed.finished_first
        run += 1

    print(f"where the kills landed ({kills} kills in {run} runs):")
    for phase, count in phases.most_common():
        print(f"  {count:3d}  {phase}")
    print(f"temporary blob files left in the store after {kills} kills: {temps}")
    assert sum(phases.values()) == run


# --------------------------------------------------------------------------- reconciliation


def leave_orphans(data: Path, count: int, *, keys_alone: bool = True) -> int:
    """``count`` intakes that crashed after storing content (blob, thumbnail, key), plus as
    many that crashed right after creating their key (unless not ``keys_alone``); return the
    number of blob files written."""
    with opened(data) as system:
        vault = system.vault
        for i in range(count):
            blob = uuid4().hex
            vault.put(blob, [os.urandom(2_000 + i)])
            vault.put(derived_id(blob, "thumb"), [b"\xff\xd8 not really a picture \xff\xd9"])
            if keys_alone:
                vault.keys.create(uuid4().hex)
        stored = len(list(vault.blobs.iter_ids()))
    assert stored == 2 * count
    return stored


def blob_files(data: Path) -> int:
    return sum(1 for p in (data / "blobs").rglob("*") if p.is_file() and p.name[0] != ".")


def test_sigkill_during_reconciliation_twice_then_restart_finishes_it(
    tmp_path: Path, footage: list[Path]
) -> None:
    """The kill is timed by watching the blob store shrink: reconciliation has begun and not
    finished, and no source has been taken yet (intake waits for it)."""
    data = new_archive(tmp_path)
    stored = leave_orphans(data, 150)
    folder = tmp_path / "inbox"
    batch = fill(folder, footage[-2:])
    for fraction in (0.85, 0.4):
        proc = subprocess.Popen(
            [SCELLE, "--data", str(data), *watch_args(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while blob_files(data) > stored * fraction and proc.poll() is None:
            assert time.monotonic() < deadline, "reconciliation never started"
            time.sleep(0.002)
        assert proc.poll() is None, "reconciliation finished before the kill: more orphans"
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        left = blob_files(data)
        print(f"\nkilled during reconciliation: {left} of {stored} orphan blob files left")
        assert 0 < left < stored
        assert recorded(data) == []  # intake had not started
        assert set(batch) == {p.name for p in folder.iterdir()}
        check_crash_state(data, folder, batch)
        stored = left
    out, _ = restart_and_check(data, folder, batch)
    assert "Réconciliation :" in out
    assert temp_blob_files(data) == []


# --------------------------------------------------------------------------- crash points


@dataclass(frozen=True)
class Left:
    """What a kill left behind, before any restart."""

    blobs: tuple[str, ...]  # orphan blob files (no event owns them)
    keys: tuple[str, ...]  # orphan data keys
    temps: int  # half-written blob files
    recorded: int  # files of the batch whose content has an event
    first_still_there: bool  # the first file of the batch is still in its folder

    def keys_without_blob(self) -> set[str]:
        return set(self.keys) - set(self.blobs)

    def blobs_without_thumbnail(self) -> set[str]:
        return {b for b in self.blobs if "." not in b and f"{b}.thumb" not in self.blobs}

    def blobs_with_thumbnail(self) -> set[str]:
        return {b for b in self.blobs if f"{b}.thumb" in self.blobs}


#: Point -> (what the kill must have left, what the restart must say). Stated so that they
#: also hold for a pipeline that stores the next files while recording one (orphans of other
#: files may be there too): each names the state of the file the kill interrupted.
POINTS = {
    "after-key": (lambda left: bool(left.keys_without_blob()), "Réconciliation :"),
    "before-blob-link": (
        # two store workers run in parallel: the kill may catch one or two puts mid-way
        lambda left: left.temps >= 1 and bool(left.keys_without_blob()),
        "Réconciliation :",
    ),
    "before-thumbnail": (lambda left: bool(left.blobs_without_thumbnail()), "Réconciliation :"),
    "before-event": (
        lambda left: bool(left.blobs_with_thumbnail()) and left.recorded == 0,
        "Réconciliation :",
    ),
    "after-event": (lambda left: left.recorded == 1 and left.first_still_there, "déjà versé  "),
    "before-duplicate-shred": (lambda left: bool(left.blobs_with_thumbnail()), "Réconciliation :"),
}


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_each_step_of_the_write_order(
    tmp_path: Path, footage: list[Path], point: str
) -> None:
    data = new_archive(tmp_path)
    folder = tmp_path / "inbox"
    duplicate = point == "before-duplicate-shred"
    if duplicate:
        fill(folder, footage[:1])
        assert scelle(data, *watch_args(folder)).returncode == 0
        batch = fill(folder, footage[:1])  # the same bytes again: a duplicate
    else:
        batch = fill(folder, footage[:2])
    before = recorded_digests(data)
    killed = run_crashing(point, data, *watch_args(folder))
    assert killed.returncode == -signal.SIGKILL, f"never reached {point}: {killed.stderr}"

    blobs, keys = orphans(data)
    first = sorted(batch)[0]
    left = Left(
        blobs,
        keys,
        len(temp_blob_files(data)),
        sum(sha in recorded_digests(data) - before for sha in batch.values()),
        (folder / first).exists(),
    )
    expected, restart_says = POINTS[point]
    assert expected(left), f"{point}: {CRASH_POINTS[point]}; but the kill left {left}"
    check_crash_state(data, folder, batch)

    out, _ = restart_and_check(data, folder, batch)
    assert restart_says in out, out


def test_sigkill_in_reconciliation_between_key_and_blob_then_restart_finishes_it(
    tmp_path: Path, footage: list[Path]
) -> None:
    """The orphan's key destroyed, its blob not yet deleted: the next start finishes it."""
    data = new_archive(tmp_path)
    leave_orphans(data, 3, keys_alone=False)
    folder = tmp_path / "inbox"
    batch = fill(folder, footage[:1])
    killed = run_crashing("reconcile-before-blob-delete", data, *watch_args(folder))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with opened(data) as system:
        destroyed = system.vault.keys.destroyed_ids()
    assert len(destroyed) == 1
    assert destroyed[0] in orphans(data)[0]  # its blob is still there, unreadable
    check_crash_state(data, folder, batch)
    assert "Réconciliation : 3 versement(s)" in restart_and_check(data, folder, batch)[0]


def test_a_crash_while_storing_a_blob_leaves_no_ciphertext_behind(
    tmp_path: Path, footage: list[Path]
) -> None:
    """Regression: a crash between writing ``.<blob>.<rand>.tmp`` and linking it in place
    left the temporary file for ever (``iter_ids`` skips dot-files). Reconciliation now sweeps
    temporaries that no writer holds (``flock``)."""
    data = new_archive(tmp_path)
    folder = tmp_path / "inbox"
    batch = fill(folder, footage[:1])
    killed = run_crashing("before-blob-link", data, *watch_args(folder))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(temp_blob_files(data)) >= 1
    restart_and_check(data, folder, batch)
    left = temp_blob_files(data)
    assert left == [], f"half-written blob files survive reconciliation: {left}"


def test_a_crash_before_the_quarantine_event_leaves_the_refused_file_in_place(
    tmp_path: Path, footage: list[Path]
) -> None:
    """Regression: the refused file used to be moved first and recorded last, so a crash in
    between lost it. The refusal is now recorded first and the file moved after: a crash
    leaves it in the folder, to be refused and recorded again."""
    data = new_archive(tmp_path)
    folder = tmp_path / "inbox"
    empty = folder / f"{CAMERA}_20200101T000000Z.mp4"  # sorted first, refused first
    folder.mkdir()
    empty.write_bytes(b"")
    os.utime(empty, (0, 0))
    batch = {empty.name: sha256_of(empty)} | fill(folder, footage[:1])
    killed = run_crashing("before-quarantine-event", data, *watch_args(folder))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert empty.exists()  # the refusal is recorded before the file moves: nothing vanished
    restart_and_check(data, folder, {k: v for k, v in batch.items() if k != empty.name})
    assert [f["source_name"] for f in quarantined(data)] == [empty.name], (
        f"{empty.name} left the folder for quarantine but no event records it"
    )
