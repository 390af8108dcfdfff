"""The one clock the service reads: aware UTC, so every stored instant compares.

People read and write the time bank's wall clock, not UTC (ADR 0064): a coordinator's
"14:30" on a summer day is 13:30 UTC, and a member must read it back as 14:30.
Instants are stored and compared in UTC; `local` is for what people read, `instant_at`
for what they write. The zone is the deployment's (`TIMEBANK_TIME_ZONE`, London unless
set), bound once at start-up with the other settings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

TIME_ZONE_DEFAULT = "Europe/London"

_zone = ZoneInfo(TIME_ZONE_DEFAULT)


def utc_now() -> datetime:
    return datetime.now(UTC)


def use_time_zone(name: str) -> None:
    """Read and write wall-clock times in the zone `name` (an IANA name) from now on."""
    global _zone  # noqa: PLW0603 - one setting of the process, bound at start-up
    _zone = ZoneInfo(name)


def local(instant: datetime) -> datetime:
    """An instant as the time bank's clock shows it (a naive one is taken as UTC)."""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(_zone)


def local_day(instant: datetime) -> date:
    """The day an instant falls on, on the time bank's clock."""
    return local(instant).date()


def local_today() -> date:
    return local_day(utc_now())


def instant_at(day: date, wall_clock: time) -> datetime:
    """The UTC instant the time bank's clock shows as `wall_clock` on `day`.

    On the night the clocks go back, a time shown twice means its first (summer) one;
    on the night they go forward, a time never shown is read with the offset before
    the change, as `zoneinfo` does (`wall_clock_exists` tells a form to refuse it).
    """
    return datetime.combine(day, wall_clock, tzinfo=_zone).astimezone(UTC)


def day_starts_at(day: date) -> datetime:
    """The UTC instant `day` begins on the time bank's clock: how a day from a form is
    stored, so it is never in the future on that day and reads back as itself."""
    return instant_at(day, time(0, 0))


def wall_clock_exists(day: date, wall_clock: time) -> bool:
    """False for a time the clocks skip on `day` (01:30 on the spring change in London)."""
    shown = local(instant_at(day, wall_clock))
    return (shown.date(), shown.time()) == (day, wall_clock.replace(tzinfo=None))
