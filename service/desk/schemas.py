"""Shapes of the desk API (`/api/v1/coordinator/members`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from service.desk.selectors import DeskStatus


class DeskMemberOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    status: DeskStatus
    has_login: bool
    available_minutes: int
    balance_minutes: int
    last_exchange_at: datetime | None
    ward: str
    community: str
    inactive_days: int


class DeskPageOut(msgspec.Struct, kw_only=True):
    items: list[DeskMemberOut]
    next_cursor: str | None
