"""SQLite keeps instants as fixed-format UTC text; they read back as the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.sql import Connection, Dialect, as_datetime

SQLITE = Connection(raw=None, dialect=Dialect.SQLITE)


# The ledger's instants come from clocks: four-digit years (strftime writes fewer
# digits before the year 1000, which neither this nor the format's strptime reads).
INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - Hypothesis wants it naive
    timezones=st.just(UTC),
)


@given(INSTANTS)
def test_an_instant_reads_back_as_itself(instant: datetime) -> None:
    text = SQLITE.encode(instant)
    assert isinstance(text, str)
    read = as_datetime(text)
    assert read == instant
    assert read.tzinfo is UTC


def test_an_instant_given_in_another_zone_reads_back_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    instant = datetime(2026, 12, 7, 5, 0, 0, 500, tzinfo=paris)
    text = SQLITE.encode(instant)
    assert text == "2026-12-07 04:00:00.000500"
    assert as_datetime(text) == datetime(2026, 12, 7, 4, 0, 0, 500, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2026-12-07 04:00:00.000000+01:00", "2026-12-07T04:00:00Z", "not a time"]
)
def test_text_not_written_by_the_ledger_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        as_datetime(text)
