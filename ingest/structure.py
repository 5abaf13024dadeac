"""Is the container whole? Answered from a few header bytes, without ffmpeg.

ffmpeg opens a "faststart" MP4 cut in half without a word and reports the full duration,
because the index sits at the front; a full decode does not notice either (the demuxer simply
stops early). The container's own bookkeeping does: a top-level box, or the Matroska Segment,
that declares more bytes than the file has. MPEG-TS has no such bookkeeping (it is made to be
cut): only a cut inside a 188-byte packet shows here, the rest is left to the decode check.
These checks also name the container from its magic bytes, to catch a renamed file early.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO


def inspect_structure(path: Path) -> tuple[str | None, str | None]:
    """(container recognised by its magic bytes or None, why it is incomplete or None).

    Reads a few headers only: microseconds, whatever the file's size.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(1024)
        if head[4:8] in _MP4_TOP_LEVEL:
            return "mp4", _mp4_damage(f, size)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            return "matroska", _mkv_damage(f, size)
        if head[:4] == b"RIFF" and len(head) >= 12:
            declared = int.from_bytes(head[4:8], "little") + 8
            return head[8:12].decode("latin-1").strip().lower(), (
                f"RIFF header declares {declared} bytes, file has {size}"
                if declared > size
                else None
            )
        stride = _ts_stride(head)
        if stride:
            return "mpegts", _ts_damage(f, size, stride)
    return None, None


_MP4_TOP_LEVEL = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin"}


def _mp4_damage(f: BinaryIO, size: int) -> str | None:
    """Walk the top-level ISO-BMFF boxes: each must fit in the file, and moov must exist."""
    offset, seen_moov = 0, False
    for _ in range(100_000):
        if offset == size:
            break
        f.seek(offset)
        header = f.read(16)
        if len(header) < 8:
            return f"{size - offset} stray bytes after the last box"
        box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
        header_len = 8
        if box_size == 1:
            if len(header) < 16:
                return "box header cut short"
            box_size, header_len = int.from_bytes(header[8:16], "big"), 16
        elif box_size == 0:  # "extends to the end of the file"
            box_size = size - offset
        seen_moov = seen_moov or kind == b"moov"
        name = kind.decode("latin-1")
        if box_size < header_len:
            return f"box {name!r} at byte {offset} has an impossible size {box_size}"
        if offset + box_size > size:
            return (
                f"box {name!r} at byte {offset} needs {box_size} bytes, only {size - offset} remain"
            )
        offset += box_size
    if not seen_moov:
        return "no 'moov' index (the recorder never finalised the file)"
    return None


def _vint(f: BinaryIO, keep_marker: bool) -> tuple[int, int] | None:
    """Read an EBML variable-size integer: (value, length) or None at end of file.

    The value is -1 for the reserved "unknown size" (all value bits set).
    """
    first = f.read(1)
    if not first:
        return None
    byte = first[0]
    length = 9 - byte.bit_length() if byte else 9
    if length > 8:
        return None
    rest = f.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = int.from_bytes(first + rest, "big")
    if keep_marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    return (-1 if value == (1 << (7 * length)) - 1 else value), length


def _mkv_damage(f: BinaryIO, size: int) -> str | None:
    """The EBML header and the Segment must fit in the file (when their size is known)."""
    f.seek(0)
    for expected in (0x1A45DFA3, 0x18538067):  # EBML header, then Segment
        element = _vint(f, keep_marker=True)
        length = _vint(f, keep_marker=False)
        if element is None or length is None:
            return "file ends inside an EBML element header"
        if element[0] != expected:
            return f"expected EBML element {expected:#x}, found {element[0]:#x}"
        if length[0] == -1:
            return None  # unknown size (live recording): nothing to compare with
        end = f.tell() + length[0]
        if end > size:
            return f"element {expected:#x} declares {end} bytes, file has {size}"
        if expected == 0x1A45DFA3:
            f.seek(end)
    return None


def _ts_stride(head: bytes) -> int | None:
    """Packet size of an MPEG-TS (188, or 192 for M2TS, or 204 with FEC), from sync bytes."""
    for stride, first in ((188, 0), (192, 4), (204, 0)):
        syncs = range(first, min(len(head), first + 3 * stride), stride)
        if len(syncs) >= 2 and all(head[i] == 0x47 for i in syncs):
            return stride
    return None


def _ts_damage(f: BinaryIO, size: int, stride: int) -> str | None:
    """Whole packets only, and the last one still in sync."""
    if size % stride:
        return f"ends inside a transport packet ({size % stride} of {stride} bytes)"
    f.seek(size - stride + (4 if stride == 192 else 0))
    if f.read(1) != b"\x47":
        return "last transport packet is out of sync"
    return None
