"""Byte ranges of a rendition under a playback ticket, decrypting only the chunks asked for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import Ctx, CurrentUser, refuse
from api.playback import MAX_TICKET_LENGTH, BadRange, parse_range

router = APIRouter(tags=["lecture"])

TicketText = Annotated[str, Path(min_length=10, max_length=MAX_TICKET_LENGTH)]


@router.get(
    "/playback/{ticket}",
    response_class=StreamingResponse,
    responses={200: {"content": {"video/mp4": {}}}, 206: {}, 403: {}, 416: {}},
)
def play(
    ticket: TicketText,
    request: Request,
    ctx: Ctx,
    user: CurrentUser,
    range_header: Annotated[str | None, Header(alias="range", max_length=200)] = None,
) -> Response:
    """Serve the consultation opened by ``POST /segments/{id}/views`` (Range supported)."""
    found = ctx.tickets.check(ticket)
    if found is None or found.user_id != user.user_id:
        refuse(
            ctx,
            request,
            user.username,
            "segment.play",
            "playback-ticket",
            "invalid, expired or someone else's playback ticket",
            "Ticket de lecture invalide, expiré ou délivré à une autre personne.",
        )
    vault = ctx.system.vault
    size = vault.plaintext_size(found.blob_id)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    try:
        wanted = parse_range(range_header, size)
    except BadRange:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size)
    chunks = vault.iter_range(found.blob_id, start, end)
    headers["Content-Length"] = str(end - start)
    if wanted is None:
        return StreamingResponse(chunks, media_type="video/mp4", headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(chunks, status_code=206, media_type="video/mp4", headers=headers)
