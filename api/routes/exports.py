"""Exports after their approval: produced by the centre, delivered, downloaded by justice.

Each step is an event (``Export.Produced``, ``Delivered``, ``Downloaded``). The package is the
signed BagIt zip of ``evidence.packages.build``, kept under ``DATA/exports/``; its download
honours HTTP ranges, and is recorded once per download — when the bytes asked for start at
the first one — so a client resuming with ranges does not flood the log.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import Gate, Guarded, client
from api.playback import BadRange, parse_range
from api.policy import Action, Target
from api.routes.common import communes_of
from evidence.access_cases import retry_on_conflict
from evidence.application import NotFound
from evidence.bootstrap import System
from evidence.model.errors import DomainError
from evidence.model.judicial import Export
from evidence.packages.build import Thumbnailer, produce_package
from evidence.packages.cases import check_produced

router = APIRouter(prefix="/exports", tags=["réquisitions"])

Text = Annotated[str, Field(min_length=1, max_length=200)]
_CHUNK = 1 << 20


class ExportOut(BaseModel):
    id: UUID
    requisition_id: UUID
    segment_ids: list[UUID]
    requested_by: UUID
    approved_by: UUID | None
    package_id: str | None
    download_url: str | None


class ProducedOut(BaseModel):
    package_id: str
    manifest_sha256: str
    checkpoint_size: int
    size: int
    download_url: str


class DeliveryIn(BaseModel):
    recipient: Text
    channel: Text


def exports_dir(system: System) -> Path:
    return system.settings.data / "exports"


def guarded_export(gate: Gate, export_id: UUID, action: Action) -> Export:
    """The export, once the policy allows ``action`` on it (its requisition's communes)."""
    archives = gate.ctx.system.archives
    export = archives.export(export_id)
    requisition = archives.requisition(export.requisition_id)
    communes = communes_of(gate.ctx, requisition.camera_ids)
    gate.check(action, Target("export", str(export_id), communes, owner_id=export.requested_by))
    return export


def masked_thumbnails(system: System) -> Thumbnailer | None:
    """The report's thumbnails, zones applied, when the masking part is installed."""
    try:
        masked_thumbnail = importlib.import_module("ingest.rendition").masked_thumbnail
    except (ImportError, AttributeError):
        return None

    def thumbnail(segment_id: UUID) -> bytes | None:
        try:
            found: bytes = masked_thumbnail(system, segment_id)
        except (DomainError, RuntimeError, ValueError, OSError):
            return None  # a reading aid, not evidence: the report shows "—" instead
        return found

    return thumbnail


@router.get("/{export_id}", responses={403: {}, 404: {}})
def read_export(export_id: UUID, gate: Guarded) -> ExportOut:
    export = guarded_export(gate, export_id, "export.read")
    return ExportOut(
        id=export.id,
        requisition_id=export.requisition_id,
        segment_ids=export.segment_ids,
        requested_by=export.requested_by,
        approved_by=export.approved_by,
        package_id=export.package_id,
        download_url=f"/exports/{export.id}/package" if export.package_id else None,
    )


@router.post("/{export_id}/package", status_code=201, responses={403: {}, 404: {}, 409: {}})
def produce(export_id: UUID, gate: Guarded) -> ProducedOut:
    """Build the signed package of an approved export (re-checked: a purge may have run)."""
    system = gate.ctx.system
    guarded_export(gate, export_id, "export.produce")
    done = produce_package(system, export_id, exports_dir(system), masked_thumbnails(system))
    return ProducedOut(
        package_id=done.package_id,
        manifest_sha256=done.manifest_sha256,
        checkpoint_size=done.checkpoint_size,
        size=done.zip_path.stat().st_size,
        download_url=f"/exports/{export_id}/package",
    )


@router.post("/{export_id}/deliveries", status_code=204, responses={403: {}, 404: {}, 409: {}})
def deliver(export_id: UUID, body: DeliveryIn, gate: Guarded) -> None:
    """Record the hand-over of the package: to whom, by which channel."""
    guarded_export(gate, export_id, "export.deliver")
    gate.ctx.system.archives.deliver_export(
        export_id, gate.user.user_id, body.recipient, body.channel
    )


@router.get(
    "/{export_id}/package",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, 206: {}, 403: {}, 409: {}, 410: {}},
)
def download(
    export_id: UUID,
    gate: Guarded,
    range_header: Annotated[str | None, Header(alias="range", max_length=200)] = None,
) -> Response:
    """The package as a zip (Range supported); each download is recorded."""
    system = gate.ctx.system
    export = guarded_export(gate, export_id, "export.download")
    check_produced(export)
    path = exports_dir(system) / f"{export.package_id}.zip"
    if not path.is_file():
        raise NotFound(
            f"package {export.package_id} is not on this node",
            "Le paquet n'est pas (ou plus) disponible sur ce serveur : produisez-le à nouveau "
            "ou demandez-le au centre.",
        )
    size = path.stat().st_size
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="{path.name}"',
    }
    try:
        wanted = parse_range(range_header, size)
    except BadRange:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size)
    if start == 0:
        retry_on_conflict(
            lambda: system.archives.record_export_download(
                export_id, gate.user.user_id, client(gate.request)
            )
        )
    headers["Content-Length"] = str(end - start)
    body = _read(path, start, end)
    if wanted is None:
        return StreamingResponse(body, media_type="application/zip", headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(body, 206, media_type="application/zip", headers=headers)


def _read(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as stream:
        stream.seek(start)
        left = end - start
        while left > 0:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
