"""Which days a pair's visit plan falls on (pure date arithmetic, no database)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from service.limits import VISIT_CADENCE_DAYS


def first_visit_on(starts_on: date, weekday: int) -> date:
    """The first day on or after `starts_on` that is the plan's weekday."""
    return starts_on + timedelta(days=(weekday - starts_on.weekday()) % 7)


def on_cadence(day: date, *, starts_on: date, weekday: int, cadence: str) -> bool:
    first = first_visit_on(starts_on, weekday)
    return day >= first and (day - first).days % VISIT_CADENCE_DAYS[cadence] == 0


def visit_days(
    *, starts_on: date, weekday: int, cadence: str, until: date, count: int
) -> list[date]:
    """The latest `count` visit days on or before `until`, newest first."""
    first = first_visit_on(starts_on, weekday)
    if until < first:
        return []
    step = VISIT_CADENCE_DAYS[cadence]
    latest = first + timedelta(days=((until - first).days // step) * step)
    days: list[date] = []
    day = latest
    while day >= first and len(days) < count:
        days.append(day)
        day -= timedelta(days=step)
    return days


def visit_exchange_id(plan_id: uuid.UUID, visit_on: date) -> uuid.UUID:
    """A recorded visit's exchange id: the same for every attempt to record that visit."""
    return uuid.uuid5(plan_id, f"visit:{visit_on.isoformat()}")
