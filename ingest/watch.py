"""A watch folder of finished segment files, as ffmpeg's segment muxer or a recorder leaves them.

A file still being written is never taken: it must keep the same size and modification time
for ``settle`` seconds, and not be the newest file of its camera while its writer may still be
appending (the segment muxer opens the next file only when it closes the previous one), unless
it has been quiet for ``idle`` seconds (a camera that stopped).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.naming import SEGMENT_EXTENSIONS

Stamp = tuple[int, int]  # size, mtime in ns


@dataclass
class FolderWatch:
    folder: Path
    settle: float = 2.0
    idle: float = 90.0
    clock: Callable[[], float] = time.time
    _seen: dict[str, tuple[Stamp, float]] = field(default_factory=dict)

    def candidates(self) -> list[Path]:
        """Entries that look like segments or that must be refused (anything but our temp)."""
        return sorted(
            p
            for p in self.folder.iterdir()
            if not p.name.startswith(".")
            and not p.name.endswith((".part", ".tmp"))
            and (p.is_file() or p.is_symlink())
        )

    def finished(self, drain: bool = False) -> Iterator[Path]:
        """Files that are ready now; call again on every poll. ``drain`` says the writer has
        stopped, so the newest file need not be held back."""
        now = self.clock()
        entries = self.candidates()
        newest = self._newest_segment(entries)
        hidden = self._hidden()
        entries += hidden
        alive = set()
        for path in entries:
            alive.add(path.name)
            stat = path.lstat()
            stamp = (stat.st_size, stat.st_mtime_ns)
            # First sight: unchanged since its last write, as far as we know; any change
            # seen between two polls restarts the wait.
            first, since = self._seen.get(path.name, (stamp, stat.st_mtime_ns / 1e9))
            if first != stamp:
                since = now
            self._seen[path.name] = (stamp, since)
            quiet = now - max(since, stat.st_mtime_ns / 1e9)
            if quiet < self.settle:
                continue
            if path == newest and quiet < self.idle and not drain:
                continue  # the segment muxer may still be writing the newest file
            if path in hidden and quiet < self.idle and not drain:
                continue  # maybe a writer's temporary name: wait until it is clearly left over
            yield path
        for gone in set(self._seen) - alive:
            del self._seen[gone]

    def _hidden(self) -> list[Path]:
        """Hidden entries that are not temporary files: handed over only once left alone for
        ``idle`` seconds (or when draining), so that even a name crafted to hide (``..x``)
        ends up refused and recorded rather than ignored for ever."""
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.name.startswith(".")
            and not p.name.endswith((".part", ".tmp"))
            and (p.is_file() or p.is_symlink())
        )

    def _newest_segment(self, entries: list[Path]) -> Path | None:
        segments = [
            p for p in entries if p.suffix.lower() in SEGMENT_EXTENSIONS and not p.is_symlink()
        ]
        return max(segments, key=lambda p: p.stat().st_mtime_ns, default=None)
