"""The blocks API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class BlockIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    member_id: uuid.UUID


class BlockOut(msgspec.Struct, kw_only=True):
    member_id: uuid.UUID
    display_name: str
    blocked_at: datetime


class BlockPage(msgspec.Struct, kw_only=True):
    items: list[BlockOut]
