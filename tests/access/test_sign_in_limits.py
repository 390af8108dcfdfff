"""Item 5: sign-in limits count failures (per email and per address), never successes.

The in-app tests drive the app through httpx's ASGI transport with a client
address of their choosing, and give the app a memory counter on a clock the
test moves (no sleeps). The counts shared through Redis are in
test_sign_in_limits_redis.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from service.limits import (
    SIGN_IN_ACCOUNT_FAILURES_MAX,
    SIGN_IN_ADDRESS_FAILURES_MAX,
    SIGN_IN_LOCK_FIRST_SECONDS,
)
from service.members.sign_in_limits import MemoryFailureCounter, wait_text
from tests.members.world import ENGINES, World, assert_problem, open_world
from tests.support.pages import csrf_token
from tests.support.people import PASSWORD

TOKEN_PATH = "/api/v1/auth/token"
SUCCESSES_FROM_ONE_ADDRESS = 30


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def unique_address() -> str:
    number = uuid.uuid4().int
    return f"10.{number % 250}.{(number >> 8) % 250}.{(number >> 16) % 250}"


async def sign_in_from(world: World, address: str, email: str, password: str) -> httpx.Response:
    async with world.client_at(address) as client:
        return await client.post(TOKEN_PATH, json={"email": email, "password": password})


def assert_locked(response: httpx.Response, seconds: int) -> dict[str, object]:
    body = assert_problem(response, 429, "sign_in_locked")
    assert response.headers["retry-after"] == str(seconds)
    assert body["retry_after_seconds"] == seconds
    assert f"wait {wait_text(seconds)} and then try again" in str(body["detail"])
    return body


# In-app: the rule -------------------------------------------------------------------

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


@pytest.fixture
def clock(world: World) -> Iterator[Clock]:
    """The app's failure counts on a hand-moved clock, fresh for each test."""
    moved = Clock()
    kept = world.app.state.sign_in_failures
    world.app.state.sign_in_failures = MemoryFailureCounter(clock=moved)
    yield moved
    world.app.state.sign_in_failures = kept


@pytest.mark.usefixtures("clock")
async def test_thirty_successful_sign_ins_from_one_address_all_succeed(world: World) -> None:
    """A library drop-in: everyone on one connection, each signing in, some several times."""
    members = [await world.member("meadow") for _ in range(3)]
    library = unique_address()
    async with world.client_at(library) as client:
        for attempt in range(SUCCESSES_FROM_ONE_ADDRESS):
            member = members[attempt % len(members)]
            response = await client.post(
                TOKEN_PATH, json={"email": member.email, "password": PASSWORD}
            )
            assert response.status_code == 201, (attempt, response.text)


async def test_failures_lock_the_account_for_a_time_that_doubles(
    world: World, clock: Clock
) -> None:
    member = await world.member("meadow")
    bystander = await world.member("meadow")

    # Guesses from ever-new addresses: the account's own count stops them.
    for _ in range(SIGN_IN_ACCOUNT_FAILURES_MAX - 1):
        wrong = await sign_in_from(world, unique_address(), member.email, "wrong password")
        assert_problem(wrong, 401, "sign_in_failed")
    last = await sign_in_from(world, unique_address(), member.email, "wrong password")
    assert_locked(last, SIGN_IN_LOCK_FIRST_SECONDS)

    # While locked even the right password is refused, with the time left.
    clock.now += 15
    right = await sign_in_from(world, unique_address(), member.email.upper(), PASSWORD)
    assert_locked(right, SIGN_IN_LOCK_FIRST_SECONDS - 15)
    other = await sign_in_from(world, unique_address(), bystander.email, PASSWORD)
    assert other.status_code == 201, other.text

    # After the lock: the right password works; the next lock is twice as long.
    clock.now += SIGN_IN_LOCK_FIRST_SECONDS
    again = await sign_in_from(world, unique_address(), member.email, PASSWORD)
    assert again.status_code == 201, again.text
    for _ in range(SIGN_IN_ACCOUNT_FAILURES_MAX - 1):
        wrong = await sign_in_from(world, unique_address(), member.email, "wrong password")
        assert_problem(wrong, 401, "sign_in_failed")
    second = await sign_in_from(world, unique_address(), member.email, "wrong password")
    body = assert_locked(second, 2 * SIGN_IN_LOCK_FIRST_SECONDS)
    assert "wait 2 minutes" in str(body["detail"])


async def test_a_success_clears_the_accounts_failures(world: World, clock: Clock) -> None:
    member = await world.member("meadow")
    for _ in range(SIGN_IN_ACCOUNT_FAILURES_MAX - 1):
        await sign_in_from(world, unique_address(), member.email, "typo")
    clock.now += 1
    signed_in = await sign_in_from(world, unique_address(), member.email, PASSWORD)
    assert signed_in.status_code == 201, signed_in.text
    # A fresh count: the next typo is just a typo.
    typo = await sign_in_from(world, unique_address(), member.email, "typo")
    assert_problem(typo, 401, "sign_in_failed")


@pytest.mark.usefixtures("clock")
async def test_an_unknown_email_locks_exactly_like_a_known_one(world: World) -> None:
    member = await world.member("meadow")
    answers: dict[str, list[tuple[int, str]]] = {}
    for email in (member.email, world.email("nobody")):
        answers[email] = []
        for _ in range(SIGN_IN_ACCOUNT_FAILURES_MAX + 1):
            response = await sign_in_from(world, unique_address(), email, "wrong password")
            answers[email].append((response.status_code, response.json()["detail"]))
    known, unknown = answers.values()
    assert known == unknown
    assert known[-1][0] == 429


@pytest.mark.usefixtures("clock")
async def test_failures_from_one_address_lock_that_address_only(world: World) -> None:
    member = await world.member("meadow")
    busy, quiet = unique_address(), unique_address()
    # Guesses at many emails from one address: no email reaches its own limit.
    for _ in range(SIGN_IN_ADDRESS_FAILURES_MAX - 1):
        wrong = await sign_in_from(world, busy, world.email("guess"), "wrong password")
        assert_problem(wrong, 401, "sign_in_failed")
    last = await sign_in_from(world, busy, world.email("guess"), "wrong password")
    assert_locked(last, SIGN_IN_LOCK_FIRST_SECONDS)
    blocked = await sign_in_from(world, busy, member.email, PASSWORD)
    assert_locked(blocked, SIGN_IN_LOCK_FIRST_SECONDS)
    elsewhere = await sign_in_from(world, quiet, member.email, PASSWORD)
    assert elsewhere.status_code == 201, elsewhere.text


@pytest.mark.usefixtures("clock")
async def test_the_sign_in_page_says_when_to_try_again(world: World) -> None:
    member = await world.member("meadow")
    async with world.client_at(unique_address()) as client:
        for _ in range(SIGN_IN_ACCOUNT_FAILURES_MAX):
            token = await csrf_token(client)
            await client.post(
                "/sign-in",
                data={"_csrf_token": token, "email": member.email, "password": "wrong"},
            )
        token = await csrf_token(client)
        page = await client.post(
            "/sign-in", data={"_csrf_token": token, "email": member.email, "password": PASSWORD}
        )
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == str(SIGN_IN_LOCK_FIRST_SECONDS)
    assert "please wait 1 minute and then try again" in page.text
    assert "tb_session=" not in page.headers.get("set-cookie", "")
