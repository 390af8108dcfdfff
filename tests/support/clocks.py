"""A feature's clock stopped or moved in a test, never by sleeping.

A feature module reads `clock.utc_now()` and the time bank's wall clock built on it
(`local_today`, ADR 0064); a test replaces the module's `clock` with `clock_reading`,
so every reading, the local day included, follows the one `utc_now` the test gives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from types import SimpleNamespace

from service import clock


def clock_reading(utc_now: Callable[[], datetime]) -> SimpleNamespace:
    """The clock module with `utc_now` replaced, and the readings built on it with it."""
    kept = {name: getattr(clock, name) for name in dir(clock) if not name.startswith("_")}

    def local_today() -> date:
        return clock.local_day(utc_now())

    return SimpleNamespace(**{**kept, "utc_now": utc_now, "local_today": local_today})
