"""Reminders about accepted exchanges, sent by a sweep, each at most once.

- "Please confirm": to the recipients, once the day after the service date
  has come and the exchange is still accepted (not yet confirmed).
- "Your hours go back in 48 hours": to the recipients, once the hold has less
  than HOLD_EXPIRY_WARNING_SECONDS left, unless the helper marked it done: then
  it confirms by itself before the hold ends (service/exchanges/done.py), and
  the hours do not go back.

A reminder is claimed by inserting its (exchange, kind) row in the same
transaction that queues its mail: two sweeps at once send it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.exchanges.mailing import exchange_facts, mail_parties
from service.exchanges.tables import Exchange
from service.mail.limits import (
    CONFIRM_REMINDER_AFTER_SECONDS,
    HOLD_EXPIRY_WARNING_SECONDS,
    REMINDER_BATCH_MAX,
)
from service.mail.tables import MailReminder

KIND_MAIL = {"confirm": "exchange_confirm_reminder", "hold_expiring": "hold_expiring"}


async def reminders_sweep(*, engine: Engine[Any], now: datetime) -> int:
    """Queue every reminder that has come due; returns how many exchanges were reminded."""
    confirm_due = (Exchange.status == "accepted") & (
        Exchange.service_date <= now - timedelta(seconds=CONFIRM_REMINDER_AFTER_SECONDS)
    )
    hold_due = (
        (Exchange.status == "accepted")
        & (Exchange.hold_expires_at <= now + timedelta(seconds=HOLD_EXPIRY_WARNING_SECONDS))
        & (Exchange.hold_expires_at > now)
        & Exchange.marked_done_at.is_null()
    )
    sent = 0
    for kind, where in (("confirm", confirm_due), ("hold_expiring", hold_due)):
        for exchange_id in await _not_yet_reminded(kind, where):
            sent += await _remind(engine, exchange_id, kind, now)
    return sent


async def _not_yet_reminded(kind: str, where: Any) -> list[uuid.UUID]:
    candidates = [
        row["id"]
        for row in await Exchange.select(Exchange.id)
        .where(where)
        .order_by(Exchange.service_date)
        .limit(REMINDER_BATCH_MAX)
        .run()
    ]
    if not candidates:
        return []
    done = {
        row["exchange"]
        for row in await MailReminder.select(MailReminder.exchange)
        .where(MailReminder.exchange.is_in(candidates) & (MailReminder.kind == kind))
        .run()
    }
    return [exchange_id for exchange_id in candidates if exchange_id not in done]


async def _remind(engine: Engine[Any], exchange_id: uuid.UUID, kind: str, now: datetime) -> int:
    async def work(transaction: WriteTransaction) -> int:
        claimed = (
            await MailReminder.insert(MailReminder(exchange=exchange_id, kind=kind, sent_at=now))
            .on_conflict(action="DO NOTHING")
            .returning(MailReminder.exchange)
            .run()
        )
        if not claimed:
            return 0  # another sweep got there first
        facts = await exchange_facts(exchange_id)
        await mail_parties(
            transaction,
            kind=KIND_MAIL[kind],
            facts=facts,
            to=facts["recipients"],
            other_id=facts["provider"],
        )
        return 1

    return await run_write(engine, work)
