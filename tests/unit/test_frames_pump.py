"""The redaction pipeline's frame pump: order kept, every frame through, failures surface."""

from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest

from ingest.rendition.frames import BUFFERS, PumpFailed, pump

SIZE = 96


def stream(count: int) -> io.BufferedReader:
    data = b"".join(bytes([n]) * SIZE for n in range(count))
    return io.BufferedReader(io.BytesIO(data))


def first_byte(frame: np.ndarray) -> np.ndarray:
    return frame[:1].copy()


def test_every_frame_is_worked_on_in_place_and_written_in_order() -> None:
    sink = io.BytesIO()
    closed: list[bytes] = []
    sink.close = lambda: closed.append(sink.getvalue())  # type: ignore[method-assign]
    seen: list[int] = []

    def invert(frame: np.ndarray, small: np.ndarray) -> None:
        seen.append(int(small[0]))
        np.subtract(255, frame, out=frame)

    count = 5 * BUFFERS + 3  # buffers are reused many times over
    assert pump(stream(count), sink, SIZE, first_byte, invert) == count
    assert seen == list(range(count))
    assert closed == [b"".join(bytes([255 - n]) * SIZE for n in range(count))]


def test_a_short_last_frame_ends_the_stream() -> None:
    source = io.BufferedReader(io.BytesIO(b"\x01" * SIZE + b"\x02" * (SIZE // 2)))
    sink = io.BytesIO()
    sink.close = lambda: None  # type: ignore[method-assign]
    assert pump(source, sink, SIZE, first_byte, lambda f, s: None) == 1
    assert sink.getvalue() == b"\x01" * SIZE


def test_an_error_in_the_work_propagates_and_stops_the_threads() -> None:
    before = threading.active_count()

    def fail_on_third(frame: np.ndarray, small: np.ndarray) -> None:
        if small[0] == 2:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        pump(stream(50), io.BytesIO(), SIZE, first_byte, fail_on_third)
    assert threading.active_count() == before


def test_a_broken_encoder_pipe_is_reported_not_hung_on() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the encoder is gone
    with open(write_end, "wb") as sink, pytest.raises(PumpFailed):
        pump(stream(40), sink, SIZE, first_byte, lambda f, s: None)
