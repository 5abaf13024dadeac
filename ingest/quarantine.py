"""Quarantine: a refused file is moved aside with its reason, and the refusal is an event."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from evidence.application import Archives
from ingest.naming import SegmentNameError, check_safe_name


@dataclass(frozen=True)
class Refusal:
    """Why a file is refused: a stable code, and a sentence for the operator in French."""

    code: str
    message_fr: str


def _hash(path: Path, limit: int) -> str | None:
    """Hash what can be hashed in bounded time: an oversized file is named, not read."""
    if path.stat().st_size > limit:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _safe_target_name(name: str) -> str:
    try:
        return check_safe_name(name)
    except SegmentNameError:
        return f"nom-refuse-{uuid.uuid4().hex[:12]}"


def quarantine(
    archives: Archives,
    path: Path,
    folder: Path,
    refusal: Refusal,
    camera_code: str | None,
    hash_limit: int,
) -> Path:
    """Move ``path`` (a file or a link itself, never its target) into ``folder`` and record it."""
    size = path.lstat().st_size
    sha256 = None if path.is_symlink() else _hash(path, hash_limit)
    day = archives.clock.now().strftime("%Y-%m-%d")
    target_dir = folder / day
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / _safe_target_name(path.name)
    if target.exists() or target.is_symlink():
        target = target.with_name(f"{uuid.uuid4().hex[:8]}-{target.name}")
    shutil.move(str(path), str(target))  # os.rename on one filesystem; the link itself moves
    motive = target.with_name(target.name + ".motif.txt")
    motive.write_text(f"{refusal.code}\n{refusal.message_fr}\n", encoding="utf-8")
    _fsync_dir(target_dir)
    archives.record_quarantine(
        source_name=repr(path.name)[1:-1][:200],
        camera_code=camera_code,
        reason_code=refusal.code,
        reason_fr=refusal.message_fr,
        size=size,
        sha256=sha256,
        quarantine_name=str(target.relative_to(folder)),
    )
    return target


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
