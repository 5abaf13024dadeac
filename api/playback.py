"""Playback tickets and HTTP byte ranges (RFC 9110 §14).

Viewing is two steps. ``POST /segments/{id}/views`` checks the purpose, records the
``Viewed`` event and returns a ticket; ``GET /playback/{ticket}`` then serves byte ranges of
the chosen rendition, decrypting only the chunks asked for. A player issues many range
requests for one consultation: the log gets one ``Viewed`` fact per consultation, not one per
request. Tickets are HMAC-signed (stateless across API nodes), short-lived and bound to the
user who asked, so a leaked URL is useless to anybody else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

MAX_TICKET_LENGTH = 512


class BadRange(ValueError):
    """A Range header that no byte of the representation satisfies."""


@dataclass(frozen=True)
class Ticket:
    user_id: UUID
    segment_id: UUID
    blob_id: str
    masked: bool
    expires_at: float


class Tickets:
    """Sign and check playback tickets with a per-installation secret (file mode 0600)."""

    def __init__(self, key_path: Path) -> None:
        if not key_path.exists():
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key_path.touch(mode=0o600)
            key_path.write_bytes(secrets.token_bytes(32))
        self._key = key_path.read_bytes()

    def issue(self, ticket: Ticket) -> str:
        body = json.dumps(
            [
                str(ticket.user_id),
                str(ticket.segment_id),
                ticket.blob_id,
                ticket.masked,
                round(ticket.expires_at, 3),
            ],
            separators=(",", ":"),
        ).encode()
        payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        return f"{payload}.{self._sign(payload)}"

    def check(self, text: str, now: float | None = None) -> Ticket | None:
        """The ticket if its signature holds and it has not expired, else None."""
        if len(text) > MAX_TICKET_LENGTH or text.count(".") != 1:
            return None
        payload, signature = text.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            user, segment, blob, masked, expires = json.loads(raw)
            ticket = Ticket(UUID(user), UUID(segment), str(blob), bool(masked), float(expires))
        except (ValueError, TypeError):
            return None
        return ticket if ticket.expires_at > (now or time.time()) else None

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` asked by a single-range ``Range`` header, or None for the whole.

    Multiple ranges and other units are answered with the whole representation, as RFC 9110
    allows a server to ignore Range; a range past the end raises :class:`BadRange` (416).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise BadRange(header)
        return max(0, size - length), size
    start = int(first)
    if last and not last.isdigit():
        return None
    end = min(int(last) + 1, size) if last else size
    if start >= size or (last and int(last) < start):
        raise BadRange(header)
    return start, end
