"""Record an RTSP camera into the archive: ffmpeg's segment muxer in stream copy, each closed
segment ingested, ffmpeg restarted with back-off when the stream drops.

One recorder per camera. It owns a private spool, ``DATA/spool/CODE/`` (mode 0700: segments
sit there in clear until ingest encrypts them), and runs, with ``TZ=UTC`` in its environment
(``-strftime`` formats *local* time) and the spool as working directory::

    ffmpeg -rtsp_transport tcp -i rtsp://… -map 0:v -c copy
           -f segment -segment_time 60 -segment_atclocktime 1 -segment_format mpegts
           -reset_timestamps 1 -strftime 1
           -segment_list .segments.csv -segment_list_type csv CODE_%Y%m%dT%H%M%SZ.ts

Choices, and why:

- **Stream copy**: the archive keeps the camera's own H.264/H.265 bytes, not a re-encoding
  of them, and recording costs almost no CPU.
- **Video only** (``-map 0:v``): municipal video protection has no business capturing sound,
  and streams MPEG-TS cannot carry (G.711 audio, ONVIF metadata) would stop the muxer.
- **MPEG-TS segments by default**: a TS file is a run of self-contained 188-byte packets with
  no index and no trailer, so a segment cut short by a crash (power cut, OOM kill, ffmpeg
  killed) is still readable up to its last complete frame, and the probe's tail decode says
  whether that frame is whole. An MP4 segment's index (``moov``) is written only when the
  segment is closed: a crash leaves an unreadable file and loses everything since the last
  cut. ``segment_format="mp4"`` remains for sites that want MP4 anyway.
- **Cuts at clock time** (``-segment_atclocktime 1``): segments line up on UTC boundaries
  (``…T053000Z``, ``…T053100Z``) and, above all, two cuts never fall in the same wall-clock
  second, so two ``-strftime`` names never collide. Without it, the burst of buffered packets
  that follows a connection can close a short segment and open the next one within the same
  second, and ffmpeg silently overwrites the first (seen with 1-2 s segments).

Which files are taken: ffmpeg appends a line to the segment list when it *closes* a segment;
only listed segments are ingested while ffmpeg runs, and only complete lines (ending in a
newline) count. On Linux the file ffmpeg holds open (``/proc/PID/fd``) is never taken even if
listed, which can only happen if the clock stepped back and a name was reused. Each ingested
segment goes through :class:`~ingest.pipeline.Ingestor`, which removes it after its event.

When ffmpeg exits (stream dropped, camera rebooted, listen timeout) or stalls (no byte
written for ``stall_timeout`` seconds once the stream flowed: ffmpeg's own ``-timeout`` does
not cover a peer that keeps its TCP connection open and sends nothing), the recorder ingests
what ffmpeg listed, then what it left (see below), and starts it again after a delay from
:func:`next_delay`: ``initial`` seconds, doubling on each failure in a row up to ``cap``,
back to ``initial`` after a run of at least ``healthy_after`` seconds. A stop request sends
ffmpeg SIGINT (it closes and lists the current segment, then exits), waits at most
``stop_grace`` seconds, kills it otherwise, and ingests the last segments. ffmpeg runs in its
own session, so a Ctrl-C in the terminal reaches the recorder only, which stops ffmpeg in
order.

Leftovers: with ffmpeg not running and the spool lock held, nothing can be writing in the
spool, so every file there is finished: segments closed but not yet ingested when the recorder
died, and at most one segment cut short. All are ingested at start and after every ffmpeg
exit; the probe decides (a whole segment is recorded, a truncated one quarantined, which is
recorded too). Empty files (ffmpeg had just opened the next segment) hold nothing a camera
sent and are removed.

The lock (``flock`` on ``.lock``) is inherited by ffmpeg, so a recorder that was killed while
its ffmpeg survived still keeps a second recorder out of the spool; the survivor's pid is in
``.ffmpeg.pid``. Under systemd (``KillMode=control-group``) no such survivor is left.

Pull or listen: a real camera is an RTSP *server* and the recorder pulls from it (the
default). With ``listen=True`` ffmpeg is the server instead and waits, at most
``listen_timeout`` seconds per run, for a camera (or a test's ffmpeg) to push a stream with
RTSP ANNOUNCE/RECORD; the tests use that, since ffmpeg cannot serve a pull.

Credentials in the URL (``rtsp://user:password@host/…``) are never printed: every status line
shows the URL with the password masked. They remain visible in the process list
(``/proc/PID/cmdline``) to local users, as for any ffmpeg recorder; mount ``/proc`` with
``hidepid=2`` on a shared recorder host.
"""

from __future__ import annotations

import csv
import fcntl
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal
from urllib.parse import urlsplit, urlunsplit

from evidence.bootstrap import System
from evidence.config import Settings
from ingest.ffmpeg import ffmpeg_path
from ingest.naming import SegmentNameError, check_camera_code, check_safe_name, strftime_pattern
from ingest.pipeline import Ingestor, Outcome
from ingest.watch import FolderWatch

SegmentFormat = Literal["mpegts", "mp4"]

#: Segment format -> file extension (both accepted by ingest).
EXTENSIONS: dict[str, str] = {"mpegts": ".ts", "mp4": ".mp4"}

#: Hidden names, so that no folder watcher takes them for segments.
LIST_NAME = ".segments.csv"
LOCK_NAME = ".lock"
PID_NAME = ".ffmpeg.pid"

URL_SCHEMES = ("rtsp", "rtsps")

#: Protocols the RTSP input may open: its own sockets, nothing on disk, no other URL.
INPUT_PROTOCOLS = "rtsp,rtsps,rtp,srtp,tcp,udp,tls"

#: Lines of ffmpeg's stderr kept to explain an exit.
STDERR_TAIL = 20

_CONTEXT = re.compile(r"^(\[[^\]]* @ 0x[0-9a-f]+\] ?)+")

Status = Callable[[str], None]


class RecorderError(RuntimeError):
    """The recorder cannot start; ``message_fr`` is for the operator."""

    def __init__(self, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.message_fr = message_fr


class InvalidStreamUrl(RecorderError):
    """Not an ``rtsp://`` or ``rtsps://`` URL with a host."""


class SpoolBusy(RecorderError):
    """Another recorder, or the ffmpeg a dead recorder left running, holds the spool."""


@dataclass(frozen=True)
class Backoff:
    """When to start ffmpeg again after it stopped: see :func:`next_delay`."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    healthy_after: float = 60.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.cap) or self.factor < 1 or self.healthy_after < 0:
            raise ValueError("back-off needs 0 < initial <= cap, factor >= 1, healthy_after >= 0")


def next_delay(policy: Backoff, previous: float | None, run_seconds: float) -> float:
    """Seconds to wait before the next start of ffmpeg, which just stopped after running
    ``run_seconds``; ``previous`` is the delay waited before that run (None: there was none).

    The first failure, or any failure after a healthy run (``healthy_after`` seconds or
    more), waits ``initial``; each further failure in a row waits ``factor`` times longer,
    never more than ``cap``.
    """
    if previous is None or run_seconds >= policy.healthy_after:
        return policy.initial
    return min(previous * policy.factor, policy.cap)


def check_stream_url(url: str) -> str:
    """Return ``url`` if it is an RTSP URL ffmpeg may be given, else raise InvalidStreamUrl."""
    parts = urlsplit(url)
    if (
        parts.scheme.lower() not in URL_SCHEMES
        or not parts.hostname
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)
    ):
        raise InvalidStreamUrl(
            f"not an RTSP URL: {redact(url)!r}",
            f"Adresse de flux invalide {redact(url)!r} : attendu rtsp://hôte[:port]/chemin "
            "(ou rtsps://).",
        )
    return url


def redact(url: str) -> str:
    """The URL with its password, if any, replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<adresse illisible>"
    if password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def spool_dir(settings: Settings, camera_code: str) -> Path:
    """Where the recorder of ``camera_code`` lets ffmpeg write: ``DATA/spool/CODE``."""
    return settings.data / "spool" / check_camera_code(camera_code)


@dataclass
class RecordSummary:
    """What one :meth:`StreamRecorder.run` did: outcomes by status, ffmpeg starts."""

    counts: Counter[str] = field(default_factory=Counter)
    runs: int = 0

    @property
    def restarts(self) -> int:
        return max(0, self.runs - 1)


class StreamRecorder:
    """Record one camera's RTSP stream into the archive until told to stop."""

    def __init__(
        self,
        system: System,
        camera_code: str,
        url: str,
        *,
        segment_seconds: int = 60,
        segment_format: SegmentFormat = "mpegts",
        listen: bool = False,
        listen_timeout: int = 30,
        io_timeout: float = 10.0,
        stall_timeout: float = 30.0,
        backoff: Backoff | None = None,
        poll: float = 0.5,
        stop_grace: float = 10.0,
        spool: Path | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_status: Status | None = None,
    ) -> None:
        if segment_seconds < 1:
            raise ValueError("segments last at least one second (names have 1 s resolution)")
        if segment_format not in EXTENSIONS:
            raise ValueError(f"segment format must be one of {sorted(EXTENSIONS)}")
        if listen_timeout < 1 or io_timeout <= 0 or stall_timeout <= 0 or poll <= 0:
            raise ValueError("timeouts and poll interval must be positive")
        self.camera_code = check_camera_code(camera_code)
        self.url = check_stream_url(url)
        self.segment_seconds = segment_seconds
        self.segment_format: SegmentFormat = segment_format
        self.listen = listen
        self.listen_timeout = listen_timeout
        self.io_timeout = io_timeout
        self.stall_timeout = stall_timeout
        self.backoff = backoff or Backoff()
        self.poll = poll
        self.stop_grace = stop_grace
        self.spool = (spool or spool_dir(system.settings, camera_code)).resolve()
        self.ingestor = Ingestor(system, remove_source=True)
        self.summary = RecordSummary()
        self._on_outcome = on_outcome
        self._on_status = on_status
        self._consumed = 0  # lines of the current run's segment list already handled
        self._process: subprocess.Popen[bytes] | None = None

    # -- the command -------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The ffmpeg command line, run with the spool as working directory."""
        args = [str(ffmpeg_path()), "-nostdin", "-hide_banner", "-nostats"]
        args += ["-loglevel", "warning", "-protocol_whitelist", INPUT_PROTOCOLS]
        args += ["-rtsp_transport", "tcp", "-timeout", str(round(self.io_timeout * 1e6))]
        if self.listen:
            args += ["-rtsp_flags", "listen", "-listen_timeout", str(self.listen_timeout)]
        args += ["-i", self.url, "-map", "0:v", "-c", "copy"]
        args += ["-f", "segment", "-segment_time", str(self.segment_seconds)]
        args += ["-segment_atclocktime", "1", "-segment_format", self.segment_format]
        args += ["-reset_timestamps", "1", "-strftime", "1"]
        args += ["-segment_list", LIST_NAME, "-segment_list_type", "csv"]
        return [*args, strftime_pattern(self.camera_code, EXTENSIONS[self.segment_format])]

    @property
    def pid(self) -> int | None:
        """The running ffmpeg's pid, if any (for supervisors and tests)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    # -- the loop ----------------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool]) -> RecordSummary:
        """Record until ``should_stop()`` is true; return what was done.

        ``should_stop`` is polled (every ``poll`` seconds at most), never waited on, so a
        signal handler may simply set a flag. Raises :class:`SpoolBusy` if another recorder
        holds the spool; an unexpected error while ingesting stops ffmpeg, then propagates
        (the segment stays in the spool and is taken at the next start).
        """
        self.spool.mkdir(parents=True, exist_ok=True)
        os.chmod(self.spool, 0o700)
        with self._locked() as lock_fd:
            self._take_leftovers()
            delay: float | None = None
            while not should_stop():
                started = time.monotonic()
                stopped, reason = self._run_ffmpeg(lock_fd, should_stop)
                if stopped or should_stop():
                    break
                delay = next_delay(self.backoff, delay, time.monotonic() - started)
                self._status(f"{reason} ; nouvelle tentative dans {delay:g} s.")
                _sleep(delay, should_stop)
        return self.summary

    def _run_ffmpeg(self, lock_fd: int, should_stop: Callable[[], bool]) -> tuple[bool, str]:
        """One ffmpeg run: (whether a stop was requested, why it ended otherwise)."""
        (self.spool / LIST_NAME).unlink(missing_ok=True)  # never read the last run's list
        self._consumed = 0
        process = subprocess.Popen(
            self.command(),
            cwd=self.spool,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "TZ": "UTC"},
            start_new_session=True,
            pass_fds=(lock_fd,),
        )
        self._process = process
        self.summary.runs += 1
        (self.spool / PID_NAME).write_text(f"{process.pid}\n", encoding="ascii")
        tail: deque[str] = deque(maxlen=STDERR_TAIL)
        assert process.stderr is not None
        reader = threading.Thread(
            target=_read_lines, args=(process.stderr, tail), name="ffmpeg-stderr", daemon=True
        )
        reader.start()
        how = "attend le flux poussé sur" if self.listen else "lit"
        self._status(f"ffmpeg (pid {process.pid}) {how} {redact(self.url)}.")
        try:
            outcome = self._supervise(process, should_stop)
        finally:
            self._stop(process)
            reader.join(timeout=2.0)
            (self.spool / PID_NAME).unlink(missing_ok=True)
            self._process = None
        self._take_closed(writer=None)  # ffmpeg is gone: every listed segment is closed
        self._take_leftovers()
        if outcome == "stop":
            return True, ""
        if outcome == "stall":
            return False, f"Aucune donnée reçue depuis {self.stall_timeout:g} s : ffmpeg arrêté"
        last = self._scrub(tail[-1]) if tail else "sans message"
        return False, f"ffmpeg s'est arrêté (code {process.returncode}) : {last}"

    def _supervise(
        self, process: subprocess.Popen[bytes], should_stop: Callable[[], bool]
    ) -> Literal["stop", "exit", "stall"]:
        """Ingest closed segments while ffmpeg runs; say why watching ended.

        Stalled: nothing written for ``stall_timeout`` seconds once the stream flows; before
        its first byte, ffmpeg also gets the time it may spend connecting (or waiting for the
        camera to connect, when listening).
        """
        connecting = self.listen_timeout if self.listen else self.io_timeout
        activity = time.monotonic()
        last = (0, 0)
        while True:
            if should_stop():
                self._status("Arrêt demandé : ffmpeg ferme le segment en cours.")
                return "stop"
            running = process.poll() is None
            self._take_closed(writer=process.pid if running else None)
            if not running:
                return "exit"
            now = time.monotonic()
            mark = (self._consumed, self._spool_bytes())  # (0, 0) until the stream flows
            patience = self.stall_timeout + (connecting if mark == (0, 0) else 0)
            if mark != last:
                last, activity = mark, now
            elif now - activity >= patience:
                return "stall"
            _sleep(self.poll, should_stop)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGINT (ffmpeg closes and lists its segment), then a kill if it does not exit."""
        if process.poll() is not None:
            return
        try:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=self.stop_grace)
            return
        except subprocess.TimeoutExpired:
            self._status(f"ffmpeg ne s'est pas arrêté en {self.stop_grace:g} s : tué.")
        except ProcessLookupError:
            return
        process.kill()
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self._status(f"ALERTE ffmpeg (pid {process.pid}) ne meurt pas.")

    # -- what is taken -----------------------------------------------------------------------

    def _take_closed(self, writer: int | None) -> None:
        """Ingest every segment newly listed as closed; ``writer`` is ffmpeg's pid if alive."""
        names = _listed(self.spool / LIST_NAME)
        if len(names) <= self._consumed:
            return
        held = _open_files(writer) if writer is not None else set()
        for name in names[self._consumed :]:
            self._consumed += 1
            try:
                path = self.spool / check_safe_name(name)
            except SegmentNameError as exc:
                self._status(f"ALERTE liste de segments : {exc.message_fr}")
                continue
            if str(path) in held:
                self._status(
                    f"ALERTE {name} : ffmpeg a rouvert ce nom pour un nouveau segment (horloge "
                    "reculée ?) ; le segment précédent de ce nom est écrasé."
                )
                continue
            if not path.exists():
                self._status(f"{name} est listé mais absent du spool : ignoré.")
                continue
            self._ingest(path)

    def _take_leftovers(self) -> None:
        """Ingest whatever is in the spool; call only while no ffmpeg of ours runs."""
        for path in FolderWatch(self.spool, settle=0.0).candidates():
            if not path.is_symlink() and path.is_file() and path.stat().st_size == 0:
                path.unlink()
                self._status(f"{path.name} est vide (ffmpeg venait de l'ouvrir) : supprimé.")
                continue
            self._ingest(path)

    def _ingest(self, path: Path) -> None:
        outcome = self.ingestor.ingest(path, self.camera_code, root=self.spool)
        self.summary.counts[outcome.status] += 1
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    def _spool_bytes(self) -> int:
        total = 0
        for path in FolderWatch(self.spool).candidates():
            try:
                total += path.lstat().st_size
            except FileNotFoundError:
                continue
        return total

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[int]:
        fd = os.open(self.spool / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(self.spool / PID_NAME)
                who = f" (ffmpeg pid {holder} peut-être resté seul)" if holder else ""
                raise SpoolBusy(
                    f"spool {self.spool} is held by another recorder",
                    f"Le spool {self.spool} est déjà utilisé par un autre enregistreur{who} : "
                    "arrêtez-le avant d'en lancer un second.",
                ) from None
            yield fd
        finally:
            os.close(fd)

    def _status(self, line: str) -> None:
        if self._on_status is not None:
            self._on_status(line)

    def _scrub(self, line: str) -> str:
        """ffmpeg's message with the stream's password masked."""
        line = line.replace(self.url, redact(self.url))
        try:
            password = urlsplit(self.url).password
        except ValueError:
            password = None
        return line.replace(password, "***") if password else line


def _listed(path: Path) -> list[str]:
    """Segment names in ffmpeg's CSV list, complete lines only (a line ends with "\\n")."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    complete = data[: data.rfind(b"\n") + 1].decode("utf-8", "replace")
    return [row[0] for row in csv.reader(complete.splitlines()) if row and row[0]]


def _open_files(pid: int) -> set[str]:
    """Paths process ``pid`` holds open (Linux ``/proc``); empty where unknown."""
    found: set[str] = set()
    try:
        entries = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return found
    for entry in entries:
        try:
            found.add(os.readlink(entry))
        except OSError:
            continue
    return found


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _read_lines(stream: IO[bytes], tail: deque[str]) -> None:
    """Keep the last lines of ffmpeg's stderr (and keep the pipe from filling up), without
    the ``[rtsp @ 0x55…]`` context prefixes."""
    with stream:
        for raw in iter(stream.readline, b""):
            text = _CONTEXT.sub("", raw.decode("utf-8", "replace")).strip()
            if text and not text.startswith("Last message repeated"):
                tail.append(text)


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Sleep ``seconds``, waking early (within 0.1 s) when a stop is requested."""
    deadline = time.monotonic() + seconds
    while not should_stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.1))
