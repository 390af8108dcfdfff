"""Donations tests: the app talks to a fake Stripe on loopback through the real SDK.

Each test gets a fresh database and app, run on the test's own event loop
(tests.support.app.running), as every folder's app is.

Every test here ends by checking the ledger: the GBP unit sums to zero, the
HOUR unit too, and `verify()` finds nothing wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from ledger import Ledger, Unit
from service import database
from service.app import create_app
from service.members.tables import Community
from service.settings import Settings, StripeSettings
from tests.conftest import TestDatabase, _run_in_own_loop
from tests.donations import stripe_events
from tests.donations.fake_stripe import SECRET_KEY, FakeStripe, FakeStripeServer
from tests.support.app import BASE_URL, NoRateLimits, running
from tests.support.people import (
    ADMIN_EMAIL,
    Person,
    first_admin,
    new_area,
    new_community,
    person,
)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripeServer() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, fake_stripe: FakeStripe) -> Settings:
    """The shared test settings, with donations switched on and the SDK pointed at the fake."""
    return msgspec.structs.replace(
        settings,
        public_base_url=BASE_URL,
        stripe=StripeSettings(
            secret_key=SECRET_KEY,
            webhook_secret=stripe_events.WEBHOOK_SECRET,
            api_base=fake_stripe.base_url,
        ),
    )


@pytest.fixture(autouse=True)
def ledger_balanced_afterwards(db: TestDatabase) -> Iterator[None]:
    """Every test here uses the database: afterwards its ledger must balance and verify."""
    yield
    # A connection of its own, on a loop of its own: the test's app and loop are gone.
    _run_in_own_loop(lambda: _check_ledger(db.url))


async def _check_ledger(url: str) -> None:
    engine = database.engine_from_url(url)
    await database.prepare(engine)
    try:
        ledger = Ledger(engine, group_commit=False)
        for unit in (Unit.GBP, Unit.HOUR):
            trial = await ledger.trial_balance(unit=unit)
            assert trial.balanced, f"{unit} debits and credits differ"
            assert sum(row.balance_minor for row in trial.rows) == 0, f"{unit} does not sum to 0"
        report = await ledger.verify()
        assert report.ok, report.summary()
    finally:
        await database.release(engine)


@dataclass
class Gifts:
    """A running app with admin, areas north and south, communities riverside, oakfield
    (north) and hillside (south), and members alice and bob of riverside (tokens ready)."""

    app: Litestar
    client: httpx.AsyncClient
    admin: Person
    alice: Person
    bob: Person


@pytest.fixture
async def gifts(settings: Settings, db: TestDatabase) -> AsyncIterator[Gifts]:
    del db  # the settings name its database; asked for so that it exists
    app = create_app(settings)
    app.state.rate_limiter = NoRateLimits()
    async with running(app) as client:
        yield await _populate(app, client)


async def _populate(app: Litestar, client: httpx.AsyncClient) -> Gifts:
    admin = await first_admin(app, client, ADMIN_EMAIL)
    for slug in ("north", "south"):
        await new_area(client, admin, slug, slug.title())
    for slug, area in (("riverside", "north"), ("oakfield", "north"), ("hillside", "south")):
        await new_community(
            client, admin, slug, area=area, requires_approval=False, welcome_minutes=None
        )
    return Gifts(
        app=app,
        client=client,
        admin=admin,
        alice=await person(client, "alice@example.org", "riverside"),
        bob=await person(client, "bob@example.org", "riverside"),
    )


@dataclass
class Money:
    """A community's GBP balances, in pence (ledger sign: credits minus debits)."""

    clearing: int
    donations: int
    fees: int


async def money_of(app: Litestar, slug: str) -> Money:
    community = await Community.objects().where(Community.slug == slug).first().run()
    assert community is not None
    ledger: Ledger = app.state.ledger

    async def balance(account_id: uuid.UUID) -> int:
        found = await ledger.balance(account_id=account_id)
        assert found.unit is Unit.GBP
        return found.balance_minor

    return Money(
        clearing=await balance(community.stripe_clearing_account_id),
        donations=await balance(community.donations_account_id),
        fees=await balance(community.fees_account_id),
    )


async def open_checkout(
    client: httpx.AsyncClient,
    *,
    amount_pence: int = 2500,
    community: str = "riverside",
    recurring: bool = False,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> str:
    """Open a checkout through the API; returns the fake session's id."""
    response = await client.post(
        "/api/v1/donations/checkout",
        json={
            "amount_pence": amount_pence,
            "community": community,
            "recurring": recurring,
            **extra,
        },
        headers=headers or {},
    )
    assert response.status_code == 200, response.text
    url = response.json()["checkout_url"]
    return str(url.rsplit("/", 1)[-1])


async def deliver(
    client: httpx.AsyncClient, payload: dict[str, Any], **signing: Any
) -> dict[str, Any]:
    body, headers = stripe_events.signed(payload, **signing)
    response = await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def paid_gift(
    gifts: Gifts, fake: FakeStripe, *, amount: int = 2500, fee: int | None = 58, pi: str = "pi_1"
) -> tuple[str, dict[str, Any]]:
    """A one-off gift opened through the API and paid at the fake Stripe; returns (pi, event)."""
    session_id = await open_checkout(gifts.client, amount_pence=amount)
    fake.add_payment(pi, fee_pence=fee)
    return pi, stripe_events.session_completed(fake.sessions[session_id], payment_intent=pi)
