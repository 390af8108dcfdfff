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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from piccolo.engine.base import Engine

from ledger import Ledger, LedgerError, TransferNotFound
from service.exchanges import ids as exchanges_ids
from service.exchanges import recording as exchanges_recording
from service.exchanges import selectors as exchanges_selectors
from service.exchanges import services as exchanges
from service.exchanges.schemas import ExchangeIn, RecordIn
from service.exchanges.tables import Exchange
from service.http.idempotency import derived_id
from service.listings import services as listings
from service.listings.schemas import ListingIn, ListingKind
from service.listings.tables import Listing
from service.principal import Principal
from service.transfers import services as transfers

# Demo exchanges happen in the late morning of their day.
SERVICE_HOUR_UTC = 10
# pool_grant derives its transfer id from (coordinator, Idempotency-Key) with this purpose.
GRANT_PURPOSE = "grant"

Outcome = Literal["proposed", "accepted", "completed", "cancelled"]


@dataclass(frozen=True, slots=True)
class DemoListing:
    owner: str  # email of a demo member
    kind: ListingKind
    category: str  # slug
    title: str
    description: str
    availability: str = ""


@dataclass(frozen=True, slots=True)
class DemoExchange:
    """An exchange, proposed by `proposer` and moved on to `outcome`."""

    key: str  # the Idempotency-Key the proposal is made with: its id follows from it
    proposer: str
    provider: str
    recipients: tuple[str, ...]
    minutes: int
    days_ago: int  # the service date, counted back from the first run (negative: ahead)
    description: str
    outcome: Outcome
    listing: str | None = None  # title of a listing of one of the parties


@dataclass(frozen=True, slots=True)
class DemoRecord:
    """An exchange a coordinator records for two members (it happened by phone)."""

    key: str
    coordinator: str
    provider: str
    recipient: str
    minutes: int
    days_ago: int
    description: str


@dataclass(frozen=True, slots=True)
class DemoGrant:
    """Hours a coordinator grants from the community pool."""

    key: str
    coordinator: str
    member: str
    minutes: int
    reason: str


DEMO_LISTINGS: tuple[DemoListing, ...] = (
    DemoListing(
        "tom@demo.example",
        "offer",
        "technology",
        "Help with phones, tablets and computers",
        "Setting up a new phone, video calls with family, email, online banking. Patient, "
        "and happy to write the steps down.",
        "Weekday evenings and Saturdays",
    ),
    DemoListing(
        "kwame@demo.example",
        "offer",
        "transport",
        "Lifts to appointments",
        "I have a car with room for a wheelchair. Hospital, surgery, optician or the "
        "shops; I can wait and bring you home.",
        "Weekday mornings",
    ),
    DemoListing(
        "bethan@demo.example",
        "offer",
        "cooking",
        "Batch cooking and cooking lessons",
        "Learn a few cheap, filling meals for the week, or I can cook a batch for your freezer.",
        "Sunday afternoons",
    ),
    DemoListing(
        "aisha@demo.example",
        "offer",
        "admin",
        "Help with forms and letters",
        "Pension, council tax and benefit forms; letters to the council or the bank. I "
        "read carefully and explain.",
        "Tuesday and Thursday evenings",
    ),
    DemoListing(
        "oliver@demo.example",
        "offer",
        "household",
        "Flat-pack furniture and small repairs",
        "Assembling furniture, putting up shelves and curtain rails, fixing dripping taps.",
        "Weekends",
    ),
    DemoListing(
        "george@demo.example",
        "offer",
        "learning",
        "Chess for beginners",
        "Forty years of club chess. Children and adults welcome; I bring the board.",
        "Any afternoon",
    ),
    DemoListing(
        "callum@demo.example",
        "offer",
        "gardening",
        "Lawn mowing and hedge trimming",
        "I have my own mower and trimmer. Small gardens, front or back.",
        "Saturday mornings",
    ),
    DemoListing(
        "fatima@demo.example",
        "offer",
        "companionship",
        "Friendly visits and a cup of tea",
        "A chat, a walk round the park, or help writing to family. I speak English, "
        "Bengali and Urdu.",
    ),
    DemoListing(
        "margaret@demo.example",
        "request",
        "shopping",
        "Weekly shop from the Co-op",
        "I can no longer carry heavy bags. I will give you the list and the money.",
        "Friday mornings",
    ),
    DemoListing(
        "doreen@demo.example",
        "request",
        "companionship",
        "Someone to chat with on Sunday afternoons",
        "I live on my own and Sundays are long. I love talking about old films.",
        "Sunday afternoons",
    ),
    DemoListing(
        "george@demo.example",
        "request",
        "gardening",
        "Help to tidy my back garden",
        "The brambles have won. I can supervise and make the tea.",
    ),
    DemoListing(
        "patricia@demo.example",
        "request",
        "pets",
        "Dog walking while I recover from a hip operation",
        "Biscuit is a gentle old spaniel who needs twenty minutes twice a day.",
        "Mornings and early evenings",
    ),
    DemoListing(
        "aisha@demo.example",
        "request",
        "family",
        "School pick-up on Wednesdays",
        "Walking my son (8) home from Church End Primary at 3:15.",
        "Wednesdays",
    ),
    DemoListing(
        "callum@demo.example",
        "request",
        "admin",
        "Help writing a job application",
        "Looking for someone to read my CV and cover letter.",
    ),
)

DEMO_EXCHANGES: tuple[DemoExchange, ...] = (
    DemoExchange(
        "demo:exchange:new-phone",
        "margaret@demo.example",
        "tom@demo.example",
        ("margaret@demo.example",),
        60,
        170,
        "Setting up a new phone",
        "completed",
        listing="Help with phones, tablets and computers",
    ),
    DemoExchange(
        "demo:exchange:hospital-lift",
        "kwame@demo.example",
        "kwame@demo.example",
        ("doreen@demo.example",),
        90,
        150,
        "Lift to the hospital and back",
        "completed",
        listing="Lifts to appointments",
    ),
    DemoExchange(
        "demo:exchange:cooking-class",
        "bethan@demo.example",
        "bethan@demo.example",
        ("oliver@demo.example", "tom@demo.example", "aisha@demo.example"),
        120,
        125,
        "Batch cooking class for three",
        "completed",
        listing="Batch cooking and cooking lessons",
    ),
    DemoExchange(
        "demo:exchange:pension-letter",
        "george@demo.example",
        "aisha@demo.example",
        ("george@demo.example",),
        45,
        100,
        "Help with a pension letter",
        "completed",
        listing="Help with forms and letters",
    ),
    DemoExchange(
        "demo:exchange:back-garden",
        "oliver@demo.example",
        "oliver@demo.example",
        ("george@demo.example",),
        120,
        80,
        "Tidying the back garden",
        "completed",
        listing="Help to tidy my back garden",
    ),
    DemoExchange(
        "demo:exchange:weekly-shop",
        "aisha@demo.example",
        "aisha@demo.example",
        ("margaret@demo.example",),
        60,
        60,
        "The weekly shop",
        "completed",
        listing="Weekly shop from the Co-op",
    ),
    DemoExchange(
        "demo:exchange:dog-walks",
        "callum@demo.example",
        "callum@demo.example",
        ("patricia@demo.example",),
        60,
        45,
        "A week of walks with Biscuit",
        "completed",
        listing="Dog walking while I recover from a hip operation",
    ),
    DemoExchange(
        "demo:exchange:job-application",
        "callum@demo.example",
        "fatima@demo.example",
        ("callum@demo.example",),
        90,
        35,
        "Reading through a job application",
        "completed",
        listing="Help writing a job application",
    ),
    DemoExchange(
        "demo:exchange:wardrobe",
        "kwame@demo.example",
        "oliver@demo.example",
        ("kwame@demo.example",),
        75,
        28,
        "Putting a wardrobe together",
        "completed",
        listing="Flat-pack furniture and small repairs",
    ),
    DemoExchange(
        "demo:exchange:sunday-chat",
        "tom@demo.example",
        "tom@demo.example",
        ("doreen@demo.example",),
        60,
        14,
        "A Sunday afternoon chat about old films",
        "completed",
        listing="Someone to chat with on Sunday afternoons",
    ),
    DemoExchange(
        "demo:exchange:video-call",
        "george@demo.example",
        "tom@demo.example",
        ("george@demo.example",),
        30,
        6,
        "Setting up video calls with the grandchildren",
        "completed",
    ),
    DemoExchange(
        "demo:exchange:optician-lift",
        "margaret@demo.example",
        "kwame@demo.example",
        ("margaret@demo.example",),
        60,
        2,
        "Lift to the optician",
        "accepted",
        listing="Lifts to appointments",
    ),
    DemoExchange(
        "demo:exchange:printer",
        "aisha@demo.example",
        "tom@demo.example",
        ("aisha@demo.example",),
        45,
        -3,
        "Getting the printer to work with the laptop",
        "proposed",
        listing="Help with phones, tablets and computers",
    ),
    DemoExchange(
        "demo:exchange:sunday-lunch",
        "bethan@demo.example",
        "bethan@demo.example",
        ("doreen@demo.example",),
        90,
        20,
        "Cooking Sunday lunch together",
        "cancelled",
    ),
)

DEMO_RECORDS: tuple[DemoRecord, ...] = (
    DemoRecord(
        "demo:record:reading-the-post",
        "coordinator@demo.example",
        "george@demo.example",
        "doreen@demo.example",
        60,
        40,
        "Reading the post aloud and sorting the bills",
    ),
)

DEMO_GRANTS: tuple[DemoGrant, ...] = (
    DemoGrant(
        "demo:grant:weekly-visits",
        "coordinator@demo.example",
        "doreen@demo.example",
        45,
        "Extra hours for weekly visits over the winter",
    ),
)


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
        if await _listing_id(owner.member_id, plan.title) is not None:
            return
        await listings.listing_create(
            engine=self.engine,
            actor=owner,
            data=ListingIn(
                kind=plan.kind,
                title=plan.title,
                description=plan.description,
                category=plan.category,
                availability=plan.availability,
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
                [self.people[email].member_id for email in parties], plan.listing
            )
        await exchanges.exchange_propose(
            engine=self.engine,
            ledger=self.ledger,
            actor=proposer,
            data=ExchangeIn(
                provider_id=self.people[plan.provider].member_id,
                minutes=plan.minutes,
                service_date=service_date(plan.days_ago, self.now),
                description=plan.description,
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
                description=plan.description,
            ),
            idempotency_key=plan.key,
        )
        self.changes.append(f"exchange {plan.description!r}: recorded by {plan.coordinator}")

    async def grant(self, plan: DemoGrant) -> None:
        coordinator = self.people[plan.coordinator]
        transfer_id = derived_id(
            caller_id=coordinator.member_id, key=plan.key, purpose=GRANT_PURPOSE
        )
        if await _transfer_exists(self.ledger, transfer_id):
            return
        await transfers.pool_grant(
            engine=self.engine,
            ledger=self.ledger,
            principal=coordinator,
            member_id=self.people[plan.member].member_id,
            minutes=plan.minutes,
            reason=plan.reason,
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


async def _transfer_exists(ledger: Ledger, transfer_id: uuid.UUID) -> bool:
    try:
        await ledger.get_transfer(transfer_id=transfer_id)
    except LedgerError as error:
        if isinstance(error, TransferNotFound):
            return False
        raise
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
