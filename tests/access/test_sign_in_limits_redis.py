"""Item 5, across workers: two real `timebank serve` processes share failures through Redis.

Both servers run on one database (each engine) with REDIS_URL set, as two
workers or two machines behind a proxy would. Every request comes from
127.0.0.1, so the keys this test touches are deleted before and after it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from service.limits import SIGN_IN_ACCOUNT_FAILURES_MAX, SIGN_IN_LOCK_FIRST_SECONDS
from service.members.sign_in_limits import REDIS_KEY_PREFIX, wait_text
from tests.access.conftest import serving
from tests.conftest import TestDatabase
from tests.support.people import PASSWORD
from tests.support.redis_db import worker_redis_url

REDIS_URL = worker_redis_url()
TOKEN_PATH = "/api/v1/auth/token"
LOOPBACK = "127.0.0.1"
# What a client might claim to be, from TEST-NET-3 (RFC 5737): never a real peer here.
CLAIMED_ADDRESS = "203.0.113.7"
SUCCESSES = 30


async def _forget(emails: list[str]) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [f"account:{email}" for email in emails]
        keys += [f"address:{LOOPBACK}", f"address:{CLAIMED_ADDRESS}"]
        for key in keys:
            base = REDIS_KEY_PREFIX + key
            await redis.delete(f"{base}:failures", f"{base}:lock", f"{base}:locks")
    finally:
        await redis.aclose()


@pytest.fixture
async def emails() -> AsyncIterator[list[str]]:
    tag = uuid.uuid4().hex[:12]
    made = [f"locked-{tag}@example.org", f"busy-{tag}@example.org"]
    await _forget(made)
    yield made
    await _forget(made)


def test_waits_are_said_in_plain_words() -> None:
    assert wait_text(1) == "1 second"
    assert wait_text(45) == "45 seconds"
    assert wait_text(60) == "1 minute"
    assert wait_text(61) == "2 minutes"
    assert wait_text(3600) == "1 hour"
    assert wait_text(3660) == "1 hour and 1 minute"
    assert wait_text(7500) == "2 hours and 5 minutes"


async def test_two_servers_share_failures_and_never_count_successes(
    db: TestDatabase, tmp_path: Path, emails: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    locked_email, busy_email = emails
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", PASSWORD)
    with (
        serving(db, tmp_path / "one", REDIS_URL=REDIS_URL) as one,
        serving(db, tmp_path / "two", REDIS_URL=REDIS_URL) as two,
    ):
        for email in emails:
            one.run_cli("create-admin", "--email", email, "--name", "Someone")
        async with (
            httpx.AsyncClient(base_url=one.base_url) as first,
            httpx.AsyncClient(base_url=two.base_url) as second,
        ):
            servers = [first, second]
            # Successes from one address, spread over both servers: none is refused.
            for attempt in range(SUCCESSES):
                ok = await servers[attempt % 2].post(
                    TOKEN_PATH, json={"email": busy_email, "password": PASSWORD}
                )
                assert ok.status_code == 201, (attempt, ok.text)
            # Failures spread over both servers add up to one lock, seen by both.
            for attempt in range(SIGN_IN_ACCOUNT_FAILURES_MAX - 1):
                wrong = await servers[attempt % 2].post(
                    TOKEN_PATH, json={"email": locked_email, "password": "wrong"}
                )
                assert wrong.status_code == 401, wrong.text
            last = await first.post(TOKEN_PATH, json={"email": locked_email, "password": "wrong"})
            refused = await second.post(
                TOKEN_PATH, json={"email": locked_email, "password": PASSWORD}
            )
            still_fine = await second.post(
                TOKEN_PATH, json={"email": busy_email, "password": PASSWORD}
            )
    assert last.status_code == 429, last.text
    assert last.headers["retry-after"] == str(SIGN_IN_LOCK_FIRST_SECONDS)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "sign_in_locked"
    assert 1 <= int(refused.headers["retry-after"]) <= SIGN_IN_LOCK_FIRST_SECONDS
    assert "and then try again" in refused.json()["detail"]
    assert still_fine.status_code == 201, still_fine.text


async def test_a_forwarded_for_header_does_not_move_the_counted_address(
    db: TestDatabase, tmp_path: Path, emails: list[str]
) -> None:
    # `timebank serve` takes the peer as the client (ADR 0065): a header a client can
    # write itself must not spread its failures over addresses of its choosing.
    with serving(db, tmp_path / "one", REDIS_URL=REDIS_URL) as one:
        async with httpx.AsyncClient(base_url=one.base_url) as client:
            refused = await client.post(
                TOKEN_PATH,
                json={"email": emails[0], "password": "not " + PASSWORD},
                headers={"X-Forwarded-For": CLAIMED_ADDRESS, "X-Forwarded-Proto": "https"},
            )
    assert refused.status_code == 401, refused.text
    redis = Redis.from_url(REDIS_URL)
    try:
        counted = REDIS_KEY_PREFIX + f"address:{LOOPBACK}:failures"
        claimed = REDIS_KEY_PREFIX + f"address:{CLAIMED_ADDRESS}:failures"
        assert await redis.get(counted) == b"1"
        assert not await redis.exists(claimed)
    finally:
        await redis.aclose()
