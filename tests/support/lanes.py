"""Comparing a lane's answers with its route's (ADRs 0058, 0062)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
