"""Comparing a lane's answers with its route's (ADRs 0058, 0062)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx

from service.http.lanes import Lane


@contextmanager
def lane_taking(lane: Lane, *, taking: bool) -> Iterator[None]:
    """Turn a lane on or off; the app is shared by the session's tests: put it back."""
    before = lane.taking
    lane.taking = taking
    try:
        yield
    finally:
        lane.taking = before


async def both_answers(
    lane: Lane, send: Callable[[], Awaitable[httpx.Response]]
) -> tuple[httpx.Response, httpx.Response, int]:
    """`send` once with the lane taking what it may, once with the lane off; and how many
    of the two the lane answered (the second must go past it)."""
    served_before = lane.served
    with lane_taking(lane, taking=True):
        by_lane = await send()
    served = lane.served - served_before
    with lane_taking(lane, taking=False):
        by_route = await send()
    assert lane.served - served_before == served  # the route's run went past the lane
    return by_lane, by_route, served
