"""Rate limits on token creation (per account and per address) and on registration.

The in-memory limiter is what a single worker uses; the Redis limiter must
count one window across workers, which two limiter instances stand in for.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from service.http.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, enforce
from service.limits import REGISTER_PER_ADDRESS, SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ADDRESS
from service.members.tables import Member
from service.problems import Problem
from tests.members.conftest import PASSWORD
from tests.members.world import ENGINES, NoRateLimits, World, assert_problem, open_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_PREFIX = "timebank:rate:"
TOKEN_PATH = "/api/v1/auth/token"


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=ENGINES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with open_world(request, request.param) as shared:
        yield shared


@pytest.fixture
def limits(world: World) -> Iterator[None]:
    """Rate limits switched back off after the test (its members are made before they count)."""
    yield
    world.app.state.rate_limiter = NoRateLimits()


def limits_on(world: World, limiter: RateLimiter | None = None) -> None:
    world.app.state.rate_limiter = limiter or MemoryRateLimiter()


def unique_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def sign_in_from(world: World, address: str, email: str, password: str) -> httpx.Response:
    async with world.client_at(address) as client:
        return await client.post(TOKEN_PATH, json={"email": email, "password": password})


def assert_rate_limited(response: httpx.Response, window_seconds: int) -> None:
    body = assert_problem(response, 429, "rate_limited")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window_seconds
    assert body["retry_after_seconds"] == retry_after


@pytest.mark.usefixtures("limits")
async def test_token_creation_is_limited_per_account_even_with_the_right_password(
    world: World,
) -> None:
    member = await world.member("meadow")
    bystander = await world.member("meadow")
    tokens_before = await world.live_tokens(member.id)
    attempts, window = SIGN_IN_PER_ACCOUNT
    limits_on(world)

    # Each guess from a different address: the account's count does not care.
    for _ in range(attempts):
        wrong = await sign_in_from(world, unique_address(), member.email, "wrong password")
        assert_problem(wrong, 401, "sign_in_failed")
    right = await sign_in_from(world, unique_address(), member.email, PASSWORD)

    assert_rate_limited(right, window)
    assert await world.live_tokens(member.id) == tokens_before
    # The email's case does not make it another account.
    shouted = await sign_in_from(world, unique_address(), member.email.upper(), PASSWORD)
    assert_rate_limited(shouted, window)
    # Other accounts are not held back by it.
    other = await sign_in_from(world, unique_address(), bystander.email, PASSWORD)
    assert other.status_code == 201, other.text


@pytest.mark.usefixtures("limits")
async def test_token_creation_is_limited_per_address(world: World) -> None:
    member = await world.member("meadow")
    attempts, window = SIGN_IN_PER_ADDRESS
    busy, quiet = unique_address(), unique_address()
    limits_on(world)

    # Guesses at many different emails from one address: no account reaches its own limit.
    for _ in range(attempts):
        wrong = await sign_in_from(world, busy, world.email("guess"), "wrong password")
        assert_problem(wrong, 401, "sign_in_failed")
    blocked = await sign_in_from(world, busy, member.email, PASSWORD)
    elsewhere = await sign_in_from(world, quiet, member.email, PASSWORD)

    assert_rate_limited(blocked, window)
    assert elsewhere.status_code == 201, elsewhere.text


@pytest.mark.usefixtures("limits")
async def test_registration_is_limited_per_address(world: World) -> None:
    attempts, window = REGISTER_PER_ADDRESS
    busy, quiet = unique_address(), unique_address()
    limits_on(world)

    async with world.client_at(busy) as client:
        for _ in range(attempts):
            body = {
                "email": world.email("joiner"),
                "password": PASSWORD,
                "display_name": "Joiner",
                "community": "meadow",
            }
            response = await client.post("/api/v1/auth/register", json=body)
            assert response.status_code == 201, response.text
        accounts_before = await world.ledger_accounts()
        refused_email = world.email("refused")
        refused = await client.post(
            "/api/v1/auth/register",
            json={
                "email": refused_email,
                "password": PASSWORD,
                "display_name": "Refused",
                "community": "meadow",
            },
        )

    assert_rate_limited(refused, window)
    assert not await Member.exists().where(Member.email == refused_email).run()
    assert await world.ledger_accounts() == accounts_before
    async with world.client_at(quiet) as client:
        accepted = await client.post(
            "/api/v1/auth/register",
            json={
                "email": refused_email,
                "password": PASSWORD,
                "display_name": "Refused",
                "community": "meadow",
            },
        )
    assert accepted.status_code == 201, accepted.text


# Redis: one count shared by every worker -----------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def redis_keys() -> AsyncIterator[list[str]]:
    """Keys (without the limiter's prefix) that the test used; deleted afterwards."""
    used: list[str] = []
    yield used
    client = Redis.from_url(REDIS_URL)
    try:
        if used:
            await client.delete(*(REDIS_PREFIX + key for key in used))
    finally:
        await client.aclose()


async def test_the_redis_limiter_counts_across_instances(redis_keys: list[str]) -> None:
    key = f"test:{uuid.uuid4()}"
    redis_keys.append(key)
    workers = [RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)]
    rule = (5, 60)
    try:
        counts = [
            (await workers[attempt % 2].hit(key, window_seconds=rule[1]))[0] for attempt in range(5)
        ]
        assert counts == [1, 2, 3, 4, 5]
        with pytest.raises(Problem) as refused:
            await enforce(workers[1], key, rule)
        assert refused.value.status_code == 429
        assert refused.value.code == "rate_limited"
        retry_after = int((refused.value.headers or {})["Retry-After"])
        assert 1 <= retry_after <= rule[1]
        with pytest.raises(Problem):
            await enforce(workers[0], key, rule)
        # Another key has a count of its own.
        other = f"test:{uuid.uuid4()}"
        redis_keys.append(other)
        assert (await workers[0].hit(other, window_seconds=rule[1]))[0] == 1
    finally:
        for worker in workers:
            await worker.close()
    client = Redis.from_url(REDIS_URL)
    try:
        ttl = await client.ttl(REDIS_PREFIX + key)
    finally:
        await client.aclose()
    assert 0 < ttl <= rule[1]  # the window ends: the key expires


@pytest.mark.usefixtures("limits")
async def test_the_app_shares_sign_in_counts_through_redis(
    world: World, redis_keys: list[str]
) -> None:
    member = await world.member("meadow", stem=f"redis{uuid.uuid4().hex[:12]}")
    address = unique_address()
    account_key = f"sign-in:account:{member.email}"
    redis_keys.extend([account_key, f"sign-in:address:{address}"])
    this_worker, other_worker = RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)
    limits_on(world, this_worker)
    attempts, window = SIGN_IN_PER_ACCOUNT
    try:
        # Failed sign-ins that another worker served, all but the last allowed one.
        for _ in range(attempts - 1):
            await other_worker.hit(account_key, window_seconds=window)
        allowed = await sign_in_from(world, address, member.email, PASSWORD)
        assert allowed.status_code == 201, allowed.text
        refused = await sign_in_from(world, address, member.email, PASSWORD)
        assert_rate_limited(refused, window)
        # And the other worker sees this worker's attempts.
        count, _ = await other_worker.hit(account_key, window_seconds=window)
        assert count == attempts + 2
    finally:
        await other_worker.close()
        await this_worker.close()
