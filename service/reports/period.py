"""The period a report covers: whole calendar months (UTC), as yyyymm, read from
the `from` and `to` query fields (both optional), and said in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from service.errors import DomainError, Invalid
from service.i18n import N_, _
from service.limits import REPORT_MONTHS_DEFAULT, REPORT_MONTHS_MAX
from service.rollups import services as rollups

MONTH_PATTERN: Final = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    """Whole calendar months (UTC), first and last included, as yyyymm."""

    first: int
    last: int

    def months(self) -> list[int]:
        found, month = [], self.first
        while month <= self.last:
            found.append(month)
            month = _next_month(month)
        return found

    @property
    def starts_at(self) -> datetime:
        return datetime(self.first // 100, self.first % 100, 1, tzinfo=UTC)

    @property
    def ends_before(self) -> datetime:
        after = _next_month(self.last)
        return datetime(after // 100, after % 100, 1, tzinfo=UTC)


def _next_month(month: int) -> int:
    year, number = divmod(month, 100)
    return (year + 1) * 100 + 1 if number == 12 else month + 1  # noqa: PLR2004 - December


def _months_back(month: int, count: int) -> int:
    year, number = divmod(month, 100)
    index = year * 12 + number - 1 - count
    return (index // 12) * 100 + index % 12 + 1


def month_text(month: int) -> str:
    """202603 -> "2026-03" (the API's and CSV's form)."""
    return f"{month // 100:04d}-{month % 100:02d}"


# English month names, whatever the server's locale; shown through `_` in the reader's language.
MONTH_NAMES: Final = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)

# Their short forms for chart labels, likewise.
MONTH_ABBREVIATIONS: Final = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)


def month_short_label(month: int) -> str:
    """202603 -> "Mar 26" (a chart's label)."""
    return f"{_(MONTH_ABBREVIATIONS[month % 100 - 1])} {month // 100 % 100:02d}"


def month_label(month: int) -> str:
    """202603 -> "March 2026"."""
    return f"{_(MONTH_NAMES[month % 100 - 1])} {month // 100}"


def _period_problem(field_name: str, message: str) -> DomainError:
    return Invalid(
        code="validation_failed",
        detail=_("The period is not valid."),
        extra={"errors": [{"field": field_name, "source": "query", "message": message}]},
    )


def _parse_month(text: str, field_name: str) -> int:
    match = MONTH_PATTERN.match(text.strip())
    if match is None:
        raise _period_problem(field_name, _("must be a month written YYYY-MM, like 2026-03"))
    year, number = int(match.group(1)), int(match.group(2))
    if not (1 <= number <= 12 and 1900 <= year <= 2999):  # noqa: PLR2004 - calendar bounds
        raise _period_problem(field_name, _("must be a real month between 1900-01 and 2999-12"))
    return year * 100 + number


def period_parse(from_text: str | None, to_text: str | None, *, now: datetime) -> Period:
    """The period asked for; by default the last REPORT_MONTHS_DEFAULT months to this one."""
    last = _parse_month(to_text, "to") if to_text else rollups.month_of(now)
    first = (
        _parse_month(from_text, "from")
        if from_text
        else _months_back(last, REPORT_MONTHS_DEFAULT - 1)
    )
    if first > last:
        raise _period_problem("from", _("must not be after the end of the period"))
    period = Period(first, last)
    if len(period.months()) > REPORT_MONTHS_MAX:
        raise _period_problem(
            "from", _("a report covers at most %(months)s months") % {"months": REPORT_MONTHS_MAX}
        )
    return period
