"""Donations tests: the app talks to a fake Stripe on loopback through the real SDK.

Each test gets a fresh database and app. Everything runs on the test's own
event loop: the app's lifespan (so the PostgreSQL pool and the Stripe client),
the requests (through `httpx.ASGITransport`, so `asyncio.gather` of requests is
truly concurrent) and the test's direct reads of tables and the ledger.

Every test here ends by checking the ledger: the GBP unit sums to zero, the
HOUR unit too, and `verify()` finds nothing wrong.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from ledger import Ledger, Unit
from service import database
from service.app import create_app
from service.members import roles as members_roles
from service.members.tables import Community
from service.settings import Settings, StripeSettings
from tests.conftest import TestDatabase, _run_in_own_loop
from tests.donations import stripe_events
from tests.donations.fake_stripe import SECRET_KEY, FakeStripe, FakeStripeServer
from tests.members.conftest import PASSWORD, Person
from tests.members.world import NoRateLimits

BASE_URL = "http://testserver.local"
ADMIN_EMAIL = "admin@example.org"


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


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan in a task of its own (pytest-asyncio sets a fixture up and tears
    it down in different tasks; a lifespan must be entered and left in one)."""
    ready: asyncio.Future[httpx.AsyncClient] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def keep_running() -> None:
        try:
            async with app.lifespan():
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                    ready.set_result(client)
                    await stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            raise

    keeper = asyncio.create_task(keep_running())
    try:
        yield await ready
    finally:
        stop.set()
        await keeper


@pytest.fixture
async def gifts(settings: Settings, db: TestDatabase) -> AsyncIterator[Gifts]:
    del db  # the settings name its database; asked for so that it exists
    app = create_app(settings)
    app.state.rate_limiter = NoRateLimits()
    async with running(app) as client:
        yield await _populate(app, client)


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _member(client: httpx.AsyncClient, email: str, community: str) -> Person:
    name = email.split("@", maxsplit=1)[0].title()
    body = {"email": email, "password": PASSWORD, "display_name": name}
    response = await client.post("/api/v1/auth/register", json={**body, "community": community})
    assert response.status_code == 201, response.text
    return Person(uuid.UUID(response.json()["id"]), email, await sign_in(client, email))


async def _populate(app: Litestar, client: httpx.AsyncClient) -> Gifts:
    await members_roles.admin_bootstrap(
        engine=app.state.engine,
        ledger=app.state.ledger,
        email=ADMIN_EMAIL,
        password=PASSWORD,
        display_name="Ada Admin",
    )
    headers = await sign_in(client, ADMIN_EMAIL)
    me = await client.get("/api/v1/me", headers=headers)
    admin = Person(uuid.UUID(me.json()["id"]), ADMIN_EMAIL, headers)
    for slug in ("north", "south"):
        response = await client.post(
            "/api/v1/admin/areas", json={"name": slug.title(), "slug": slug}, headers=headers
        )
        assert response.status_code == 201, response.text
    for slug, area in (("riverside", "north"), ("oakfield", "north"), ("hillside", "south")):
        response = await client.post(
            "/api/v1/admin/communities",
            headers=headers,
            json={"name": slug.title(), "slug": slug, "area": area, "requires_approval": False},
        )
        assert response.status_code == 201, response.text
    return Gifts(
        app=app,
        client=client,
        admin=admin,
        alice=await _member(client, "alice@example.org", "riverside"),
        bob=await _member(client, "bob@example.org", "riverside"),
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
