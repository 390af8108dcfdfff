"""Listing expiry (issue 18): a listing stays up for its community's `listing_days`,
then leaves search until its member renews it; a week before, the member is reminded.

Expiry needs no write: search and the listing page compare `expires_at` with now.
The sweep only starts the clock of listings published before expiry existed, and
sends each reminder once (claimed by setting `renew_reminded_at` in the same
transaction that queues the mail, so two sweeps at once remind once).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import run_write
from ledger.transactions import WriteTransaction
from service.formatting import date_words
from service.limits import (
    LISTING_DAYS_DEFAULT,
    LISTING_RENEW_REMINDER_DAYS,
    LISTING_SWEEP_BATCH_MAX,
)
from service.listings.tables import Listing
from service.members.mailing import mail_member
from service.members.tables import Community


async def start_listing_clocks(*, engine: Engine[Any], now: datetime) -> int:
    """Open listings without an expiry (published before it existed) get one from now."""
    started = 0
    for community in await Community.select(Community.id, Community.listing_days).run():
        expires_at = now + timedelta(days=int(community["listing_days"]))

        async def work(
            _transaction: WriteTransaction,
            community_id: Any = community["id"],
            expires_at: datetime = expires_at,
        ) -> int:
            rows = (
                await Listing.update({Listing.expires_at: expires_at})
                .where(
                    (Listing.community == community_id)
                    & Listing.expires_at.is_null()
                    & (Listing.status == "open")
                )
                .returning(Listing.id)
                .run()
            )
            return len(rows)

        started += await run_write(engine, work)
    return started


async def listing_renew_reminders(*, engine: Engine[Any], now: datetime) -> int:
    """Remind members, once, of open listings that come down within a week."""
    due = (
        await Listing.select(
            Listing.id,
            Listing.member,
            Listing.title,
            Listing.expires_at,
            Listing.community.listing_days.as_alias("listing_days"),
        )
        .where(
            (Listing.status == "open")
            & Listing.paused_at.is_null()
            & Listing.renew_reminded_at.is_null()
            & (Listing.expires_at > now)
            & (Listing.expires_at <= now + timedelta(days=LISTING_RENEW_REMINDER_DAYS))
            & (Listing.member.status == "active")
        )
        .limit(LISTING_SWEEP_BATCH_MAX)
        .run()
    )
    reminded = 0
    for row in due:

        async def work(transaction: WriteTransaction, row: dict[str, Any] = row) -> bool:
            claimed = (
                await Listing.update({Listing.renew_reminded_at: now})
                .where((Listing.id == row["id"]) & Listing.renew_reminded_at.is_null())
                .returning(Listing.id)
                .run()
            )
            if not claimed:
                return False
            await mail_member(
                transaction,
                member_id=row["member"],
                kind="listing_renew",
                context={
                    "listing_id": str(row["id"]),
                    "title": row["title"],
                    "expires_on": date_words(row["expires_at"]),
                    "expires_day": row["expires_at"].isoformat(),
                    "listing_days": int(row["listing_days"]),
                },
            )
            return True

        if await run_write(engine, work):
            reminded += 1
    return reminded


async def listing_expiry_sweep(*, engine: Engine[Any], now: datetime) -> int:
    """The sweep's step: start missing clocks, then send due reminders."""
    await start_listing_clocks(engine=engine, now=now)
    return await listing_renew_reminders(engine=engine, now=now)


async def community_listing_days(community_id: uuid.UUID) -> int:
    """How many days the community's listings stay up before they must be renewed."""
    row = (
        await Community.select(Community.listing_days)
        .where(Community.id == community_id)
        .first()
        .run()
    )
    return int(row["listing_days"]) if row else LISTING_DAYS_DEFAULT
