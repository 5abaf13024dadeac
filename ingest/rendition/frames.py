"""Raw frames from a decoder pipe, through a per-frame function, into an encoder pipe.

Three threads, so that decoding, redacting and encoding overlap: a reader fills frame
buffers from the decoder (and makes each frame's reduced plane, the only full-frame pass
Python does), the caller's thread runs the function on each, and a writer hands them to the
encoder. Pipe I/O and OpenCV release the GIL, so the reader and writer cost the redacting
thread almost nothing. A few buffers circulate (no copy and no allocation per frame); the
order of frames is kept, since each queue is first in, first out.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable
from typing import IO

import numpy as np

#: Frames in flight: one being read, one being redacted, one being written, one spare.
BUFFERS = 4

Reduce = Callable[[np.ndarray], np.ndarray]
Work = Callable[[np.ndarray, np.ndarray], None]


class PumpFailed(Exception):
    """The reader or the writer thread failed; the cause is chained."""


def pump(source: io.BufferedReader, sink: IO[bytes], size: int, reduce: Reduce, work: Work) -> int:
    """Run ``work(frame, reduce(frame))`` on each ``size``-byte frame of ``source`` in order
    and write it to ``sink``; return the number of frames. ``sink`` is closed on return.

    A short last read ends the stream (the decoder's exit status says whether that was its
    end or a failure). If ``work`` raises, the remaining frames are read and dropped so that
    the threads end, and the error propagates; a reader or writer failure raises
    :class:`PumpFailed`.
    """
    return _Pump(source, sink, size, reduce).run(work)


class _Pump:
    def __init__(self, source: io.BufferedReader, sink: IO[bytes], size: int, reduce: Reduce):
        self.source, self.sink, self.size, self.reduce = source, sink, size, reduce
        self.free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(BUFFERS):
            self.free.put(bytearray(size))
        self.ready: queue.SimpleQueue[tuple[bytearray, np.ndarray] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def read(self) -> None:
        try:
            while not self.stop.is_set():
                buffer = self.free.get()
                if self.source.readinto(buffer) != self.size:
                    break
                self.ready.put((buffer, self.reduce(np.frombuffer(buffer, np.uint8))))
        except BaseException as exc:  # handed to the caller's thread
            self.errors.append(exc)
        finally:
            self.ready.put(None)

    def write(self) -> None:
        while (buffer := self.done.get()) is not None:
            if not self.stop.is_set():
                try:
                    self.sink.write(buffer)
                except BaseException as exc:  # handed to the caller's thread
                    self.errors.append(exc)
                    self.stop.set()
            self.free.put(buffer)  # buffers keep circulating, so the reader never waits forever

    def run(self, work: Work) -> int:
        threads = [
            threading.Thread(target=self.read, name="scelle-frames-read", daemon=True),
            threading.Thread(target=self.write, name="scelle-frames-write", daemon=True),
        ]
        for thread in threads:
            thread.start()
        frames = 0
        try:
            while (item := self.ready.get()) is not None:
                if self.stop.is_set():  # the writer failed: drain, the reader stops soon
                    self.free.put(item[0])
                    continue
                work(np.frombuffer(item[0], np.uint8), item[1])
                self.done.put(item[0])
                frames += 1
        except BaseException:
            self.stop.set()
            while (item := self.ready.get()) is not None:  # the reader stops at its next frame
                self.free.put(item[0])
            raise
        finally:
            self.done.put(None)
            for thread in threads:
                thread.join()
            try:
                self.sink.close()
            except OSError as exc:  # a broken pipe's last flush
                self.errors.append(exc)
        if self.errors:
            raise PumpFailed(str(self.errors[0])) from self.errors[0]
        return frames
