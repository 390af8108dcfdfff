"""Shapes of the transfers API that other features answer with too (the desk's statement)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec

from service.transfers.services import StatementItem


class StatementItemOut(msgspec.Struct, kw_only=True):
    transfer_id: uuid.UUID
    code: str
    counterparty: str
    minutes: int
    balance_after: int
    memo: str
    effective_at: datetime
    recorded_at: datetime
    on_hold: bool


class StatementOut(msgspec.Struct, kw_only=True):
    items: list[StatementItemOut]
    next_cursor: str | None


def statement_out(items: Sequence[StatementItem], next_cursor: str | None) -> StatementOut:
    return StatementOut(
        items=[
            StatementItemOut(
                transfer_id=item.transfer_id,
                code=item.code,
                counterparty=item.counterparty,
                minutes=item.minutes,
                balance_after=item.balance_after_minutes,
                memo=item.memo,
                effective_at=item.effective_at,
                recorded_at=item.recorded_at,
                on_hold=item.on_hold,
            )
            for item in items
        ],
        next_cursor=next_cursor,
    )
