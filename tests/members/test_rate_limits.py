"""Rate limits on registration (sign-in limits count failures: tests/access/test_sign_in_limits.py).

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
from service.limits import REGISTER_PER_ADDRESS
from service.members.tables import Member
from service.problems import Problem
from tests.members.world import ENGINES, World, assert_problem, open_world
from tests.support.app import NoRateLimits
from tests.support.people import PASSWORD
from tests.support.redis_db import worker_redis_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

REDIS_URL = worker_redis_url()
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
