"""The time bank's wall clock (ADR 0064): what people read and write is local time,
what is stored is UTC, in summer and in winter, across both changes of the clocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import pytest

from service import clock
from service.events.services import meeting_starts
from service.formatting import clock_words, date_words, iso_day, moment_words, time_words
from service.paper.services import Period
from service.settings import Settings, SettingsError
from service.web.forms import service_date_field
from service.web.kit import Form

SUMMER_DAY = date(2026, 7, 1)
WINTER_DAY = date(2026, 12, 4)
SPRING_CHANGE = date(2026, 3, 29)  # London's clocks go from 01:00 to 02:00
AUTUMN_CHANGE = date(2026, 10, 25)  # and back from 02:00 to 01:00


@pytest.fixture(autouse=True)
def london() -> Iterator[None]:
    clock.use_time_zone(clock.TIME_ZONE_DEFAULT)
    yield
    clock.use_time_zone(clock.TIME_ZONE_DEFAULT)


def test_a_summer_afternoon_is_stored_an_hour_earlier_in_utc() -> None:
    assert clock.instant_at(SUMMER_DAY, time(14, 30)) == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert clock.instant_at(WINTER_DAY, time(14, 30)) == datetime(2026, 12, 4, 14, 30, tzinfo=UTC)


def test_people_read_an_instant_on_the_time_banks_clock() -> None:
    summer = datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert time_words(summer) == "2:30 pm"
    assert clock_words(summer) == "14:30"
    assert moment_words(summer) == "Wednesday 1 July 2026 at 2:30 pm"
    winter = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
    assert moment_words(winter) == "Friday 4 December 2026 at 2:30 pm"


def test_late_on_a_summer_evening_in_utc_is_already_the_next_day() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London.
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert iso_day(late) == "2026-07-01"
    assert date_words(late) == "Wednesday 1 July 2026"
    # A calendar day is said as it is, whatever the zone.
    assert date_words(SUMMER_DAY) == "Wednesday 1 July 2026"
    assert iso_day(SUMMER_DAY) == "2026-07-01"


def test_a_time_the_clocks_skip_does_not_exist_and_one_shown_twice_is_the_first() -> None:
    assert not clock.wall_clock_exists(SPRING_CHANGE, time(1, 30))
    assert clock.wall_clock_exists(SPRING_CHANGE, time(2, 30))
    assert clock.wall_clock_exists(SPRING_CHANGE, time(0, 30))
    # 01:30 happens twice on the autumn change: the summer one, 00:30 UTC, is meant.
    assert clock.instant_at(AUTUMN_CHANGE, time(1, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert clock.wall_clock_exists(AUTUMN_CHANGE, time(1, 30))


def test_another_zone_is_read_once_bound() -> None:
    clock.use_time_zone("Europe/Berlin")
    assert clock.instant_at(SUMMER_DAY, time(14, 30)) == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert time_words(datetime(2026, 7, 1, 12, 30, tzinfo=UTC)) == "2:30 pm"


def test_the_setting_names_a_real_zone_at_or_ahead_of_utc() -> None:
    assert Settings.from_env({"SECRET_KEY": "k" * 40}).time_zone == "Europe/London"
    chosen = Settings.from_env({"SECRET_KEY": "k" * 40, "TIMEBANK_TIME_ZONE": "Europe/Dublin"})
    assert chosen.time_zone == "Europe/Dublin"
    with pytest.raises(SettingsError, match="must name a time zone"):
        Settings.from_env({"SECRET_KEY": "k" * 40, "TIMEBANK_TIME_ZONE": "Europe/Atlantis"})
    with pytest.raises(SettingsError, match="must name a time zone"):
        Settings.from_env({"SECRET_KEY": "k" * 40, "TIMEBANK_TIME_ZONE": "../etc/passwd"})
    with pytest.raises(SettingsError, match="behind UTC"):
        Settings.from_env({"SECRET_KEY": "k" * 40, "TIMEBANK_TIME_ZONE": "America/New_York"})


def test_a_day_from_a_form_begins_at_the_time_banks_midnight() -> None:
    """The date of the help, a visit's day, a printed statement's days: each is the day on
    the local clock, so a summer day begins at 23:00 UTC the day before and reads back as
    itself; "today" is never in the future."""
    form = Form()
    summer = service_date_field(form, "2026-07-01")
    assert summer == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert (date_words(summer), iso_day(summer)) == ("Wednesday 1 July 2026", "2026-07-01")
    assert service_date_field(form, "2026-12-04") == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert not form.errors
    july = Period(first_day=SUMMER_DAY, last_day=date(2026, 7, 31))
    assert july.starts_at == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert july.ends_at == datetime(2026, 7, 31, 23, 0, tzinfo=UTC)
    assert clock.instant_at(clock.local_today(), time(0, 0)) <= clock.utc_now()


def test_a_series_keeps_its_time_on_the_local_clock_across_the_changes() -> None:
    """A Tuesday club at 2 pm stays at 2 pm when summer time begins, and a monthly one at
    10 am when it ends: the same local time, an hour apart in UTC."""
    tuesday = datetime(2027, 3, 23, 14, 0, tzinfo=UTC)  # the clocks change on 28 March
    weekly = meeting_starts(tuesday, "weekly", 3)
    assert weekly == [
        tuesday,
        datetime(2027, 3, 30, 13, 0, tzinfo=UTC),
        datetime(2027, 4, 6, 13, 0, tzinfo=UTC),
    ]
    assert {time_words(start) for start in weekly} == {"2 pm"}
    monthly = meeting_starts(datetime(2026, 9, 15, 9, 0, tzinfo=UTC), "monthly", 3)
    assert [clock_words(start) for start in monthly] == ["10:00", "10:00", "10:00"]
    assert monthly[2] == datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
    assert meeting_starts(tuesday, "none", 1) == [tuesday]
