"""Quarantine: a refused file is moved aside with its reason, and the refusal is an event."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from evidence.application import Archives
from evidence.content.blobs import fsync_dir
from ingest.naming import SegmentNameError, check_safe_name


@dataclass(frozen=True)
class Refusal:
    """Why a file is refused: a stable code, a sentence for the operator in French, and the
    technical detail (ffmpeg's words, a box size…) that the sentence may point to."""

    code: str
    message_fr: str
    detail: str = ""


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


def _reserve(target_dir: Path, name: str, refusal: Refusal) -> Path:
    """Pick a target whose motive file we create exclusively: nothing already in quarantine
    (a file that was itself named ``X.motif.txt``, say) can ever be overwritten."""
    target = target_dir / name
    while True:
        motive = target.with_name(target.name + ".motif.txt")
        if not (target.exists() or target.is_symlink()):
            try:
                with open(motive, "x", encoding="utf-8") as handle:
                    handle.write(f"{refusal.code}\n{refusal.message_fr}\n")
                    if refusal.detail:
                        handle.write(f"détail technique : {refusal.detail}\n")
                return target
            except FileExistsError:
                pass
        target = target_dir / f"{uuid.uuid4().hex[:8]}-{name}"


def quarantine(
    archives: Archives,
    path: Path,
    folder: Path,
    refusal: Refusal,
    camera_code: str | None,
    hash_limit: int,
) -> Path:
    """Record the refusal, then move ``path`` (a file or a link itself, never its target)
    into ``folder``. In that order: a crash in between leaves the file where it was, to be
    refused again — never a file gone from the folder with no trace of why."""
    size = path.lstat().st_size
    sha256 = None if path.is_symlink() or not path.is_file() else _hash(path, hash_limit)
    day = archives.clock.now().strftime("%Y-%m-%d")
    target_dir = folder / day
    target_dir.mkdir(parents=True, exist_ok=True)
    target = _reserve(target_dir, _safe_target_name(path.name), refusal)
    fsync_dir(target_dir)
    archives.record_quarantine(
        source_name=repr(path.name)[1:-1][:200],
        camera_code=camera_code,
        reason_code=refusal.code,
        reason_fr=refusal.message_fr,
        detail=refusal.detail[:500] or None,
        size=size,
        sha256=sha256,
        quarantine_name=str(target.relative_to(folder)),
    )
    shutil.move(str(path), str(target))  # os.rename on one filesystem; the link itself moves
    fsync_dir(target_dir)
    return target
