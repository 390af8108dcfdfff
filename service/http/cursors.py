"""Opaque paging cursors: what a list hands out as `next_cursor` and takes back.

A cursor names the last row of a page by its sort key, so the next page starts
after it however many rows arrive meanwhile (keyset paging). Clients must treat
it as opaque; a cursor this service did not make answers 400 `cursor_invalid`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime

from service.i18n import _
from service.problems import Problem


def cursor_invalid() -> Problem:
    return Problem(
        status=400, code="cursor_invalid", detail=_("The cursor is not one this list gave out.")
    )


def encode_cursor(*parts: str) -> str:
    """A cursor holding the sort key `parts` of a page's last row."""
    raw = json.dumps(list(parts), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The `size` parts of a cursor made by `encode_cursor`; 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise cursor_invalid() from None
    if not (
        isinstance(parts, list) and len(parts) == size and all(isinstance(p, str) for p in parts)
    ):
        raise cursor_invalid()
    return parts


def encode_instant_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """A cursor for lists sorted by (a timestamp, the row id)."""
    return encode_cursor(at.astimezone(UTC).isoformat(), str(row_id))


def decode_instant_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    at_text, id_text = decode_cursor(cursor, 2)
    try:
        at, row_id = datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except ValueError:
        raise cursor_invalid() from None
    if at.tzinfo is None:
        raise cursor_invalid()
    return at.astimezone(UTC), row_id
