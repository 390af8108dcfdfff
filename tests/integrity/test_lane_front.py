"""The lanes' front (ADR 0071) does for a lane's requests what the app's six layers do for
every other request, on both engines.

The lanes' own tests (test_gift_lane.py, test_balance_lane.py) compare each answer with
the one the full stack gives when the lane is off: status, headers (security headers
included) and body, in the caller's language. Here, what such a comparison cannot see:
the request id the caller sent coming back, exactly one access log line for each request
whether the lane answers it or declines it, and a request that changes a caller moving
the principal version before its answer starts.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.types import Message, Receive, Scope, Send
from redis.asyncio import Redis

from service.accounts.lane import BALANCE_PATH
from service.http.front import LaneFront
from service.http.idempotency import JSON_MEDIA_TYPE, send_whole
from service.http.lanes import Lane, route_handler_of
from service.http.principal_cache import (
    PRINCIPAL_VERSION_KEY,
    PrincipalCache,
    PrincipalVersions,
    principals_changed,
)
from service.http.security import security_header_pairs
from service.observability import JsonFormatter, access_logger
from service.transfers.lane import GIFT_LANE_STATE, GIFT_PATH
from tests.support.people import Town
from tests.support.redis_db import worker_redis_url

REQUEST_ID = "front-test-0001"


class _Lines(logging.Handler):
    """Access log lines as the service writes them (formatted while the request runs:
    the request id is read then)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def access_lines() -> Iterator[_Lines]:
    """The access log's lines while the test runs (the tests' settings log warnings only)."""
    lines = _Lines()
    level, propagate = access_logger.level, access_logger.propagate
    access_logger.addHandler(lines)
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False
    try:
        yield lines
    finally:
        access_logger.removeHandler(lines)
        access_logger.setLevel(level)
        access_logger.propagate = propagate


async def test_a_lane_answer_carries_the_callers_request_id_and_the_security_headers(
    town: Town, access_lines: _Lines
) -> None:
    lane = town.app.state[GIFT_LANE_STATE]
    served_before = lane.served
    gift = await town.client.post(
        GIFT_PATH,
        headers={**town.alice.headers, "Idempotency-Key": "front-1", "X-Request-ID": REQUEST_ID},
        json={"to_member_id": str(town.bob.id), "minutes": 3},
    )
    assert gift.status_code == 201, gift.text
    assert lane.served - served_before == 1
    assert gift.headers["x-request-id"] == REQUEST_ID
    for name, value in security_header_pairs(https=False):
        assert gift.headers.get_list(name.decode()) == [value.decode()], name
    assert [line["request_id"] for line in access_lines.lines] == [REQUEST_ID]


async def test_a_request_id_that_is_not_sane_is_replaced(town: Town) -> None:
    balance = await town.client.get(
        BALANCE_PATH, headers={**town.bob.headers, "X-Request-ID": "no spaces, please"}
    )
    assert balance.status_code == 200, balance.text
    assert len(balance.headers["x-request-id"]) == len(uuid.uuid4().hex)
    assert balance.headers["x-request-id"] != "no spaces, please"


async def test_each_request_on_a_lanes_path_gets_one_log_line_answered_or_declined(
    town: Town, access_lines: _Lines
) -> None:
    sent = [
        ("GET", BALANCE_PATH, town.bob.headers, 200),  # the lane answers
        ("GET", f"{BALANCE_PATH}?fresh=1", town.bob.headers, 200),  # the lane declines
        ("GET", BALANCE_PATH, {"Authorization": "Bearer not-a-token"}, 401),  # declines
    ]
    for number, (method, path, headers, status) in enumerate(sent):
        request_id = f"front-line-{number:04d}"
        response = await town.client.request(
            method, path, headers={**headers, "X-Request-ID": request_id}
        )
        assert response.status_code == status, response.text
        assert response.headers["x-request-id"] == request_id
    assert [
        (line["request_id"], line["method"], line["path"], line["status"])
        for line in access_lines.lines
    ] == [
        (f"front-line-{number:04d}", method, BALANCE_PATH, status)
        for number, (method, _path, _headers, status) in enumerate(sent)
    ]


# A lane whose answer changes a caller: no lane of the app does, but the front must still
# move the version for one that does, as the layer it stands in for would.
class _ChangingLane(Lane):
    __slots__ = ()
    method = "POST"
    path = GIFT_PATH

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        del scope, receive
        self.served += 1
        principals_changed()
        await send_whole(send, 200, JSON_MEDIA_TYPE, b"{}")


async def _unreached(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the front sent a lane's request to the stack")


async def _front_call(front: LaneFront, on_start: Any) -> list[Message]:
    """One POST to the changing lane through `front`; `on_start` runs as its answer starts."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": GIFT_PATH,
        "headers": [],
        "query_string": b"",
        "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            await on_start()
        sent.append(message)

    await front(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_a_lane_request_that_changes_a_caller_moves_the_version_before_answering(
    town: Town,
) -> None:
    redis_url = worker_redis_url()
    cache: PrincipalCache[str] = PrincipalCache(PrincipalVersions(redis_url))
    redis = Redis.from_url(redis_url)
    route_handler = route_handler_of(town.app, GIFT_PATH, "POST")
    lane = _ChangingLane(_unreached, route_handler, _unreached)
    front = LaneFront((lane,), _unreached, https=False, cache_of=lambda: cache)
    seen_at_start: list[bytes | None] = []

    async def on_start() -> None:
        seen_at_start.append(await redis.get(PRINCIPAL_VERSION_KEY))
        # This worker's own entries are gone by then too.
        assert cache.get("someone", version=before.decode()) is None

    try:
        before = uuid.uuid4().hex.encode()
        await redis.set(PRINCIPAL_VERSION_KEY, before)
        cache.put("someone", "a caller", version=before.decode())
        sent = await _front_call(front, on_start)
        assert lane.served == 1
        assert sent[0]["status"] == 200
        assert seen_at_start[0] is not None and seen_at_start[0] != before
    finally:
        await redis.aclose()
        await cache.close()


async def test_a_lane_request_that_changes_nothing_leaves_the_version(town: Town) -> None:
    """The other side: the front does not move the version for every request."""
    redis_url = worker_redis_url()
    redis = Redis.from_url(redis_url)
    cache: PrincipalCache[str] = PrincipalCache(PrincipalVersions(redis_url))
    town.app.state.principal_cache = cache  # the app's own front, with this cache
    try:
        before = uuid.uuid4().hex.encode()
        await redis.set(PRINCIPAL_VERSION_KEY, before)
        balance = await town.client.get(BALANCE_PATH, headers=town.bob.headers)
        assert balance.status_code == 200, balance.text
        assert await redis.get(PRINCIPAL_VERSION_KEY) == before
    finally:
        await redis.aclose()
        await cache.close()
