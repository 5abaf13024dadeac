"""Recording an RTSP stream with the real ffmpeg, against a camera played by ffmpeg itself.

The "camera" is an ffmpeg process pushing a lavfi ``testsrc2`` picture, encoded with libx264
(small, with a keyframe every half second so that segments can be cut on time), to
``rtsp://127.0.0.1:PORT/cam`` with RTSP ANNOUNCE/RECORD. ffmpeg cannot *serve* a stream to be
pulled, so here the recorder is the RTSP server (``listen=True``) and the camera connects to
it; with a real camera the recorder pulls instead, and everything after the connection is the
same. Ports are chosen free on 127.0.0.1; every wait is bounded, every ffmpeg process is killed
in a ``finally``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.bootstrap import open_system
from evidence.config import Settings
from ingest.ffmpeg import ffmpeg_path, has_encoder
from ingest.naming import parse_segment_name
from ingest.pipeline import Outcome
from ingest.recorder import (
    LIST_NAME,
    PID_NAME,
    Backoff,
    InvalidStreamUrl,
    SpoolBusy,
    StreamRecorder,
    check_stream_url,
    next_delay,
    redact,
    spool_dir,
)
from ingest.simulate import record_simulated
from tests.builders import new_store, register_camera
from tools.verify_store import verify_store

SCELLE = str(Path(sys.executable).parent / "scelle")
RECORDED = ["scelle:Segment.Recorded"]
QUARANTINED = ["scelle:QuarantinedFile.Recorded"]
FAST = Backoff(initial=0.5, factor=2.0, cap=2.0, healthy_after=60.0)

needs_x264 = pytest.mark.skipif(
    not has_encoder("libx264"), reason="this ffmpeg has no libx264 to play the camera"
)


# -- the back-off policy, without processes ---------------------------------------------------


def test_backoff_doubles_from_the_first_failure_up_to_the_cap() -> None:
    policy = Backoff(initial=1.0, factor=2.0, cap=30.0, healthy_after=60.0)
    delays: list[float] = []
    previous = None
    for _ in range(8):
        previous = next_delay(policy, previous, run_seconds=0.5)
        delays.append(previous)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_resets_after_a_healthy_run_only() -> None:
    policy = Backoff(initial=1.0, factor=2.0, cap=30.0, healthy_after=60.0)
    assert next_delay(policy, 16.0, run_seconds=59.9) == 30.0  # still failing
    assert next_delay(policy, 16.0, run_seconds=60.0) == 1.0  # it ran well for a minute
    assert next_delay(policy, 30.0, run_seconds=3600.0) == 1.0
    assert next_delay(policy, None, run_seconds=0.0) == 1.0


def test_backoff_rejects_nonsense() -> None:
    for bad in (
        {"initial": 0.0},
        {"initial": 5.0, "cap": 1.0},
        {"factor": 0.5},
        {"healthy_after": -1.0},
    ):
        with pytest.raises(ValueError):
            Backoff(**bad)  # type: ignore[arg-type]


def test_stream_urls_are_checked_and_passwords_never_shown() -> None:
    assert (
        check_stream_url("rtsp://10.0.0.7:554/Streaming/101") == "rtsp://10.0.0.7:554/Streaming/101"
    )
    for bad in ("file:/etc/passwd", "-y", "rtsp://", "http://cam/live", "rtsp://cam/a b"):
        with pytest.raises(InvalidStreamUrl):
            check_stream_url(bad)
    assert redact("rtsp://admin:s3cret@10.0.0.7/live") == "rtsp://admin:***@10.0.0.7/live"
    assert redact("rtsp://10.0.0.7/live") == "rtsp://10.0.0.7/live"


# -- harness -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def kill(pid: int | None) -> None:
    if pid is None:
        return
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class Camera:
    """ffmpeg pushing a test pattern over RTSP (TCP) to the listening recorder."""

    def __init__(self, port: int, log: Path) -> None:
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        """Start it, again until it connects (the recorder may be between two runs)."""
        args = [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-loglevel", "warning", "-re"]
        args += ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "60"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"]
        args += ["-g", "5", "-pix_fmt", "yuv420p"]
        args += ["-f", "rtsp", "-rtsp_transport", "tcp", self.url]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
                )
            try:
                self.process.wait(timeout=1.5)  # refused at once when nobody listens
            except subprocess.TimeoutExpired:
                return  # connected and streaming
            time.sleep(0.3)
        raise AssertionError(f"the camera never connected:\n{self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class RecorderThread:
    """A StreamRecorder running in a thread with its own System, stopped by a flag."""

    def __init__(self, settings: Settings, camera: str, url: str, **options: Any) -> None:
        self.settings, self.camera, self.url, self.options = settings, camera, url, options
        self.outcomes: list[Outcome] = []
        self.statuses: list[str] = []
        self.stop_flag = threading.Event()
        self.recorder: StreamRecorder | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="recorder", daemon=True)

    def _main(self) -> None:
        system = open_system(self.settings)
        try:
            self.recorder = StreamRecorder(
                system,
                self.camera,
                self.url,
                on_outcome=self.outcomes.append,
                on_status=self.statuses.append,
                **self.options,
            )
            self.recorder.run(self.stop_flag.is_set)
        except BaseException as exc:
            self.error = exc
        finally:
            system.close()

    def recorded(self) -> int:
        return sum(1 for o in list(self.outcomes) if o.status == "recorded")

    @property
    def runs(self) -> int:
        return self.recorder.summary.runs if self.recorder else 0

    def said(self, fragment: str) -> bool:
        return any(fragment in line for line in list(self.statuses))

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_flag.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the recorder did not stop in time"
        if self.error is not None:
            raise self.error

    def kill_ffmpeg(self) -> None:
        kill(self.recorder.pid if self.recorder else None)
        pid_file = spool_dir(self.settings, self.camera) / PID_NAME
        if pid_file.exists():
            kill(int(pid_file.read_text()))


@contextmanager
def recording(
    settings: Settings, camera: str, port: int, **options: Any
) -> Iterator[RecorderThread]:
    options = {"segment_seconds": 1, "listen": True, "poll": 0.2, "backoff": FAST, **options}
    rec = RecorderThread(settings, camera, f"rtsp://127.0.0.1:{port}/cam", **options)
    rec.thread.start()
    try:
        yield rec
    finally:
        rec.stop_flag.set()
        rec.thread.join(30)
        rec.kill_ffmpeg()  # only if it outlived the stop


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    system = new_store(tmp_path)
    register_camera(system, "CAM-R1")
    system.close()
    return Settings(data=tmp_path / "data")


def notifications(settings: Settings, topics: list[str]) -> list[Any]:
    system = open_system(settings)
    try:
        return list(system.archives.recorder.select_notifications(1, 10_000, topics=topics))
    finally:
        system.close()


def check_store(settings: Settings, recorded: int) -> None:
    """As many sealed Segment.Recorded events as segments recorded; the store verifies."""
    system = open_system(settings)
    try:
        found = system.archives.recorder.select_notifications(1, 10_000, topics=RECORDED)
        assert len(found) == recorded
        system.ledger.checkpoint()
        summary = verify_store(system.ledger.db, system.ledger.verifier)
        assert summary.leaves == summary.events
    finally:
        system.close()


def spool_segments(settings: Settings, camera: str = "CAM-R1") -> list[Path]:
    spool = spool_dir(settings, camera)
    return sorted(p for p in spool.iterdir() if not p.name.startswith("."))


# -- recording ---------------------------------------------------------------------------------


@needs_x264
@pytest.mark.timeout(90)
def test_closed_segments_become_sealed_events(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    camera = Camera(port, tmp_path / "camera.log")
    try:
        with recording(settings, "CAM-R1", port) as rec:
            camera.start()
            began = time.monotonic()
            assert wait_until(lambda: rec.recorded() >= 2, 15), rec.statuses
            took = time.monotonic() - began
            # Only what ffmpeg closed was taken: at most the segment being written and one
            # just closed (waiting for the next poll) are in the spool.
            assert len(spool_segments(settings)) <= 2
            time.sleep(max(0.0, 6.0 - took))
            rec.stop()
        summary = rec.recorder.summary  # type: ignore[union-attr]
    finally:
        camera.kill()
    assert took < 10
    assert summary.counts["recorded"] >= 4
    assert summary.counts["quarantined"] == 0
    assert summary.runs == 1
    assert spool_segments(settings) == []  # the stop closed and took the last one too
    check_store(settings, summary.counts["recorded"])
    system = open_system(settings)
    try:
        for outcome in rec.outcomes:
            name = parse_segment_name(outcome.source)
            assert (name.camera_code, name.extension) == ("CAM-R1", ".ts")
            segment = system.archives.segment(outcome.segment_id)  # type: ignore[arg-type]
            assert segment.size == outcome.size > 0
            assert timedelta(0) < segment.end - segment.start < timedelta(seconds=5)
            assert abs(segment.start - datetime.now(UTC)) < timedelta(minutes=1)
    finally:
        system.close()


@needs_x264
@pytest.mark.timeout(120)
def test_a_dropped_stream_is_picked_up_again_with_back_off(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    camera = Camera(port, tmp_path / "camera.log")
    try:
        with recording(settings, "CAM-R1", port) as rec:
            camera.start()
            assert wait_until(lambda: rec.recorded() >= 1, 15), rec.statuses
            camera.kill()  # the camera dies mid-stream
            assert wait_until(lambda: rec.runs >= 2, 15), rec.statuses  # ffmpeg restarted
            assert rec.said("ffmpeg s'est arrêté")
            assert rec.said("nouvelle tentative dans 0.5 s")
            before = rec.recorded()
            camera.start()  # it comes back
            assert wait_until(lambda: rec.recorded() >= before + 2, 20), rec.statuses
            rec.stop()
        summary = rec.recorder.summary  # type: ignore[union-attr]
    finally:
        camera.kill()
    assert summary.restarts >= 1
    assert spool_segments(settings) == []
    check_store(settings, summary.counts["recorded"])
    names = [o.source for o in rec.outcomes if o.status == "recorded"]
    assert len(set(names)) == len(names)  # no name was reused (cuts at clock time)


@needs_x264
@pytest.mark.timeout(120)
def test_a_stalled_stream_is_restarted_by_the_watchdog(settings: Settings, tmp_path: Path) -> None:
    """A camera that keeps its connection open and sends nothing: ffmpeg would wait forever."""
    port = free_port()
    camera = Camera(port, tmp_path / "camera.log")
    try:
        with recording(settings, "CAM-R1", port, stall_timeout=3.0, stop_grace=3.0) as rec:
            camera.start()
            assert wait_until(lambda: rec.recorded() >= 1, 15), rec.statuses
            assert camera.process is not None
            camera.process.send_signal(signal.SIGSTOP)  # frozen, connection still open
            assert wait_until(lambda: rec.said("Aucune donnée reçue"), 20), rec.statuses
            assert wait_until(lambda: rec.runs >= 2, 15), rec.statuses
            camera.kill()
            before = rec.recorded()
            camera.start()
            assert wait_until(lambda: rec.recorded() >= before + 1, 20), rec.statuses
            rec.stop()
    finally:
        camera.kill()
    assert spool_segments(settings) == []


@pytest.mark.timeout(60)
def test_a_listening_recorder_waits_for_the_camera_then_starts_again(settings: Settings) -> None:
    """The watchdog leaves a listening ffmpeg alone until its own listen timeout."""
    with recording(settings, "CAM-R1", free_port(), listen_timeout=4, stall_timeout=1.0) as rec:
        time.sleep(3.0)
        assert rec.runs == 1, rec.statuses
        assert wait_until(lambda: rec.runs >= 2, 15), rec.statuses
        rec.stop()
    assert not rec.said("Aucune donnée reçue")
    assert rec.said("ffmpeg s'est arrêté (code")
    assert rec.outcomes == []


@pytest.mark.timeout(90)
def test_leftovers_of_a_crash_are_taken_first(settings: Settings, tmp_path: Path) -> None:
    """A whole segment is recorded, one cut short by the crash quarantined, an empty one
    dropped; then recording starts (and here stops at once)."""
    spool = spool_dir(settings, "CAM-R1")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    whole, cut = record_simulated(spool, "CAM-R1", start, 2, 2, 160, 120, 10, container="ts")
    data = cut.read_bytes()
    middle = len(data) // 2
    cut.write_bytes(data[: middle + (1 if middle % 188 == 0 else 0)])  # inside a packet
    empty = spool / f"CAM-R1_{start + timedelta(seconds=4):%Y%m%dT%H%M%S}Z.ts"
    empty.touch()
    (spool / LIST_NAME).write_text(f"{whole.name},0.0,2.0\n")  # a stale list from the crash
    port = free_port()
    with recording(settings, "CAM-R1", port) as rec:
        assert wait_until(lambda: rec.runs >= 1, 15)
        rec.stop()
    by_name = {o.source: o.status for o in rec.outcomes}
    assert by_name == {whole.name: "recorded", cut.name: "quarantined"}
    assert rec.said(f"{empty.name} est vide")
    assert spool_segments(settings) == []
    check_store(settings, 1)
    assert len(notifications(settings, QUARANTINED)) == 1


@pytest.mark.timeout(60)
def test_a_second_recorder_on_the_same_spool_is_refused(settings: Settings) -> None:
    port = free_port()
    with recording(settings, "CAM-R1", port) as first:
        assert wait_until(lambda: first.runs >= 1, 15)
        second = RecorderThread(settings, "CAM-R1", f"rtsp://127.0.0.1:{free_port()}/cam")
        second.thread.start()
        second.thread.join(15)
        assert isinstance(second.error, SpoolBusy)
        assert "déjà utilisé" in second.error.message_fr
        first.stop()


# -- the command line ------------------------------------------------------------------------


@needs_x264
@pytest.mark.timeout(120)
def test_scelle_record_until_ctrl_c(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/cam"
    out = tmp_path / "record.out"
    camera = Camera(port, tmp_path / "camera.log")
    args = [SCELLE, "--data", str(settings.data), "record", "--camera", "CAM-R1"]
    args += ["--listen", "--segment", "1", url]
    with out.open("wb") as sink:
        scelle = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        camera.start(timeout=30)
        assert wait_until(lambda: out.read_text().count("versé ") >= 2, 20), out.read_text()
        scelle.send_signal(signal.SIGINT)  # Ctrl-C
        assert scelle.wait(timeout=30) == 0, out.read_text()
    finally:
        camera.kill()
        if scelle.poll() is None:
            scelle.kill()
            scelle.wait(10)
        pid_file = spool_dir(settings, "CAM-R1") / PID_NAME
        if pid_file.exists():
            kill(int(pid_file.read_text()))
    text = out.read_text()
    assert "Enregistrement de la caméra CAM-R1" in text
    assert "Arrêt demandé" in text
    recorded = text.count("versé       ")
    assert f"{recorded} segment(s) versé(s), 0 doublon(s), 0 fichier(s) en quarantaine." in text
    check_store(settings, recorded)


def test_scelle_record_refuses_an_unknown_camera_or_a_bad_url(settings: Settings) -> None:
    base = [SCELLE, "--data", str(settings.data), "record"]
    unknown = subprocess.run(
        [*base, "--camera", "CAM-XX", "rtsp://127.0.0.1:9/cam"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 1
    assert "ERREUR" in unknown.stderr
    bad = subprocess.run(
        [SCELLE, "--data", str(settings.data), "ingest", "record", "--camera", "CAM-R1", "/etc/x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "Adresse de flux invalide" in bad.stderr
