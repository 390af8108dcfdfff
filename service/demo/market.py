"""The marketplace part of `timebank demo`: listings and a history of exchanges.

Everything goes through the service functions members and coordinators use
(listing_create, exchange_propose/accept/complete/cancel, exchange_record,
pool_grant), so the ledger and the history hold exactly what real use would
leave: holds, postings dated the service date, voided holds, an audited grant.

Safe to run twice. Listings are found again by owner and title; exchanges,
the recorded exchange and the grant have ids derived from a fixed
Idempotency-Key, and each exchange is only moved on towards its planned
state, so a second run finds everything in place and writes nothing.

Dates are relative to the first run: the completed exchanges' service dates
spread over the last six months.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, TransferNotFound
from service.demo.market_data import (
    DEMO_EXCHANGES,
    DEMO_GRANTS,
    DEMO_LISTINGS,
    DEMO_RECORDS,
    DemoExchange,
    DemoGrant,
    DemoListing,
    DemoRecord,
)
from service.exchanges import ids as exchanges_ids
from service.exchanges import recording as exchanges_recording
from service.exchanges import selectors as exchanges_selectors
from service.exchanges import services as exchanges
from service.exchanges.schemas import ExchangeIn, RecordIn
from service.exchanges.tables import Exchange
from service.http.idempotency import derived_id
from service.i18n import _
from service.listings import services as listings
from service.listings.schemas import ListingIn
from service.listings.tables import Listing
from service.principal import Principal
from service.transfers import services as transfers

# Demo exchanges happen in the late morning of their day.
SERVICE_HOUR_UTC = 10
# pool_grant derives its transfer id from (coordinator, Idempotency-Key) with this purpose.
GRANT_PURPOSE = "grant"


def service_date(days_ago: int, now: datetime) -> datetime:
    day = (now - timedelta(days=days_ago)).astimezone(UTC)
    return day.replace(hour=SERVICE_HOUR_UTC, minute=0, second=0, microsecond=0)


class MarketDemo:
    """One run: looks before each write and notes what it changed."""

    def __init__(
        self,
        *,
        engine: Engine[Any],
        ledger: Ledger,
        people: Mapping[str, Principal],
        hold_seconds: int,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.people = people  # demo members by email, as they act
        self.by_id = {principal.member_id: principal for principal in people.values()}
        self.hold_seconds = hold_seconds
        self.now = datetime.now(UTC)
        self.changes: list[str] = []

    async def load(self) -> list[str]:
        for listing in DEMO_LISTINGS:
            await self.listing(listing)
        for plan in DEMO_EXCHANGES:
            await self.exchange(plan)
        for record in DEMO_RECORDS:
            await self.record(record)
        for grant in DEMO_GRANTS:
            await self.grant(grant)
        return self.changes

    async def listing(self, plan: DemoListing) -> None:
        owner = self.people[plan.owner]
        if await _listing_id(owner.member_id, _(plan.title)) is not None:
            return
        await listings.listing_create(
            engine=self.engine,
            actor=owner,
            data=ListingIn(
                kind=plan.kind,
                title=_(plan.title),
                description=_(plan.description),
                category=plan.category,
                availability=_(plan.availability) if plan.availability else "",
            ),
        )
        self.changes.append(f"{plan.kind} {plan.title!r} by {plan.owner}")

    async def exchange(self, plan: DemoExchange) -> None:
        proposer = self.people[plan.proposer]
        exchange_id = exchanges_ids.proposal_id(proposer.member_id, plan.key)
        steps = []
        if not await Exchange.exists().where(Exchange.id == exchange_id).run():
            await self.propose(plan, proposer)
            steps.append("proposed")
        if plan.outcome != "proposed":
            steps += await self.move_on(plan, exchange_id)
        if steps:
            self.changes.append(f"exchange {plan.description!r}: {', '.join(steps)}")

    async def propose(self, plan: DemoExchange, proposer: Principal) -> None:
        recipient_ids = [self.people[email].member_id for email in plan.recipients]
        listing_id = None
        if plan.listing is not None:
            parties = [plan.provider, *plan.recipients]
            listing_id = await _listing_of_parties(
                [self.people[email].member_id for email in parties], _(plan.listing)
            )
        await exchanges.exchange_propose(
            engine=self.engine,
            ledger=self.ledger,
            actor=proposer,
            data=ExchangeIn(
                provider_id=self.people[plan.provider].member_id,
                minutes=plan.minutes,
                service_date=service_date(plan.days_ago, self.now),
                description=_(plan.description),
                recipient_ids=recipient_ids if len(recipient_ids) > 1 else None,
                recipient_id=recipient_ids[0] if len(recipient_ids) == 1 else None,
                listing_id=listing_id,
            ),
            idempotency_key=plan.key,
        )

    async def move_on(self, plan: DemoExchange, exchange_id: uuid.UUID) -> list[str]:
        """Accept, then complete or cancel, whatever is still to do; the steps taken."""
        steps = []
        view = await exchanges_selectors.exchange_get(
            actor=self.people[plan.proposer], exchange_id=exchange_id
        )
        for member_id in view.awaiting:
            await exchanges.exchange_accept(
                engine=self.engine,
                ledger=self.ledger,
                actor=self.by_id[member_id],
                exchange_id=exchange_id,
                hold_seconds=self.hold_seconds,
            )
            steps.append(f"accepted by {view.name_of(member_id)}")
        if view.status not in ("proposed", "accepted"):
            return steps  # completed or cancelled before, or its hold ran out since
        if plan.outcome == "completed":
            await exchanges.exchange_complete(
                engine=self.engine,
                ledger=self.ledger,
                actor=self.people[plan.recipients[0]],
                exchange_id=exchange_id,
            )
            steps.append("completed")
        elif plan.outcome == "cancelled":
            await exchanges.exchange_cancel(
                engine=self.engine,
                ledger=self.ledger,
                actor=self.people[plan.provider],
                exchange_id=exchange_id,
            )
            steps.append("cancelled")
        return steps

    async def record(self, plan: DemoRecord) -> None:
        coordinator = self.people[plan.coordinator]
        exchange_id = exchanges_ids.recording_id(coordinator.member_id, plan.key)
        if await Exchange.exists().where(Exchange.id == exchange_id).run():
            return
        await exchanges_recording.exchange_record(
            engine=self.engine,
            ledger=self.ledger,
            actor=coordinator,
            data=RecordIn(
                provider_id=self.people[plan.provider].member_id,
                recipient_id=self.people[plan.recipient].member_id,
                minutes=plan.minutes,
                service_date=service_date(plan.days_ago, self.now),
                description=_(plan.description),
            ),
            idempotency_key=plan.key,
        )
        self.changes.append(f"exchange {plan.description!r}: recorded by {plan.coordinator}")

    async def grant(self, plan: DemoGrant) -> None:
        coordinator = self.people[plan.coordinator]
        transfer_id = derived_id(
            caller_id=coordinator.member_id, key=plan.key, purpose=GRANT_PURPOSE
        )
        if await transfer_exists(self.ledger, transfer_id):
            return
        await transfers.pool_grant(
            engine=self.engine,
            ledger=self.ledger,
            principal=coordinator,
            member_id=self.people[plan.member].member_id,
            minutes=plan.minutes,
            reason=_(plan.reason),
            idempotency_key=plan.key,
        )
        self.changes.append(f"grant of {plan.minutes} minutes from the pool to {plan.member}")


async def _listing_id(owner_id: uuid.UUID, title: str) -> uuid.UUID | None:
    row = (
        await Listing.select(Listing.id)
        .where((Listing.member == owner_id) & (Listing.title == title))
        .first()
        .run()
    )
    return None if row is None else row["id"]


async def _listing_of_parties(party_ids: list[uuid.UUID], title: str) -> uuid.UUID:
    for member_id in party_ids:
        listing_id = await _listing_id(member_id, title)
        if listing_id is not None:
            return listing_id
    raise LookupError(f"no demo listing {title!r} of the exchange's parties")


async def transfer_exists(ledger: Ledger, transfer_id: uuid.UUID) -> bool:
    """Whether the demo already posted this transfer (its ids are fixed, so reruns skip it)."""
    try:
        await ledger.get_transfer(transfer_id=transfer_id)
    except TransferNotFound:
        return False
    return True


async def load_market_demo(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    people: Mapping[str, Principal],
    hold_seconds: int,
) -> list[str]:
    """Load the demo listings and exchanges; returns what changed (empty on a repeat)."""
    demo = MarketDemo(engine=engine, ledger=ledger, people=people, hold_seconds=hold_seconds)
    return await demo.load()


__all__ = [
    "DEMO_EXCHANGES",
    "DEMO_GRANTS",
    "DEMO_LISTINGS",
    "DEMO_RECORDS",
    "load_market_demo",
]
