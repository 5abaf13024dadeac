"""Shared by the package tests: an archive with real encrypted segments and an approved export.

Segments are stored through the real vault (AES-GCM chunks, key table) and recorded with the
digest the vault computed, as ingest does; the bytes are small and deterministic so tests can
flip them at known offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from evidence.bootstrap import System
from evidence.model.security import user_id
from tests.builders import T0, new_store, register_camera, store_segment

OFFICER = "opj.martin"
SUPERVISOR = "chef.salle"


@dataclass
class Scene:
    system: System
    requisition_id: UUID
    segments: list[UUID]  # in scope
    outside: list[UUID]  # same camera, outside the requisition's range
    other_camera: list[UUID]


def video_bytes(i: int, size: int = 4096) -> bytes:
    seed = f"segment {i} ".encode()
    return (seed * (size // len(seed) + 1))[:size]


def scene(tmp: Path, count: int = 3, size: int = 4096, database_url: str | None = None) -> Scene:
    """Two cameras, segments inside and outside an approved requisition on CAM-1."""
    system = new_store(tmp, database_url)
    register_camera(system, "CAM-1")
    register_camera(system, "CAM-2")
    archives = system.archives
    for name, role in ((OFFICER, "officer"), (SUPERVISOR, "supervisor")):
        archives.create_user(name, None)
        archives.grant_role(name, role, [archives.commune("69266").id], None)
    inside = [
        store_segment(system, "CAM-1", T0 + timedelta(minutes=i), video_bytes(i, size))
        for i in range(count)
    ]
    later = T0 + timedelta(hours=2)
    outside = [store_segment(system, "CAM-1", later, video_bytes(100, size))]
    other = [store_segment(system, "CAM-2", T0, video_bytes(200, size))]
    requisition = archives.register_requisition(
        "Parquet de Lyon",
        "2026/1121/042",
        "flagrance",
        ["CAM-1"],
        [(T0, T0 + timedelta(minutes=count))],
        user_id(OFFICER),
    )
    archives.approve_requisition(requisition, user_id(SUPERVISOR))
    return Scene(system, requisition, inside, outside, other)


def approved_export(s: Scene) -> UUID:
    archives = s.system.archives
    export = archives.request_requisition_export(s.requisition_id, user_id(OFFICER))
    archives.approve_export(export, user_id(SUPERVISOR))
    return export
