"""The impact report (issue 19, ADR 0042): what a council funds, in figures over months.

For a period and the communities a viewer may see (service/reports/scope.py),
each figure is a series of months and a total, suppressed exactly like the
flow reports (service/reports/suppression.py):

* figures that add up over months (exchanges, hours, one-to-one and
  intergenerational hours, events, attendances, new members, members still
  active) are a one-way breakdown with its total: primary suppression below k
  distinct members, then complementary suppression so no hidden month can be
  worked out from the total (`suppress_breakdown`);
* people connected (distinct members) does not add up over months: each month
  and the total are hidden alone below k (`suppress_alone`, like the flows'
  active members).

Exchange figures are read from the rollups' impact cells (ADR 0051), kept in the
same transaction as each posting (service/rollups/): a flow (one recipient's part
of an exchange) counts in the month of the exchange's service date when its
provider or its recipient belongs to a selected community, as the flows report
counts it, so "exchanges" here is the flows report's figure: a group exchange
counts once for each person helped. Figures are net of dispute corrections: a
flow whose hours were all moved back no longer counts. One-to-one: an exchange
with one recipient. Intergenerational: between a member under
IMPACT_YOUNGER_AGE_BELOW and one of IMPACT_OLDER_AGE_FROM or over (either way
round), ages being the year of the help minus the birth year; both flags are
frozen when the flow is recorded. People connected are the selected
communities' own members with a live exchange (as the flows report's active
members) and everyone at their events. Members are counted by pseudonym in
memory only; nothing returned names or identifies one.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from piccolo.engine.base import Engine

from ledger.sql import Connection, Row, as_uuid
from ledger.transactions import read_connection
from service import database
from service.events.selectors import event_participation_by_month
from service.i18n import N_, _
from service.limits import IMPACT_RETENTION_MONTHS
from service.principal import Principal
from service.reports.impact_flows import flow_figures, member_years, people_connected
from service.reports.period import Period, month_label, month_text
from service.reports.scope import Scope, scope_for
from service.reports.suppression import (
    NOBODY,
    TOTAL,
    Entry,
    Members,
    normalised,
    suppress_alone,
    suppress_breakdown,
)
from service.rollups.flows import (
    member_key,
)
from service.wellbeing.report import WellbeingChange, wellbeing_change

Unit = Literal["count", "minutes"]


@dataclass(frozen=True, slots=True)
class FigureSpec:
    name: str
    label: str
    unit: Unit
    adds_up: bool  # a sum over months (False: distinct members, counted over the period)
    retention_months: int | None = None  # of "New members still active after N months"

    def words(self) -> str:
        """The label in the reader's language (the API keeps the English `label`)."""
        if self.retention_months is not None:
            return _("New members still active after %(months)s months") % {
                "months": self.retention_months
            }
        return _(self.label)


FIGURES: Final = (
    FigureSpec("people_connected", N_("People connected"), "count", adds_up=False),
    FigureSpec("exchanges", N_("Exchanges completed"), "count", adds_up=True),
    FigureSpec("hours_minutes", N_("Hours exchanged"), "minutes", adds_up=True),
    FigureSpec("events_held", N_("Events held"), "count", adds_up=True),
    FigureSpec("event_attendances", N_("Attendances at events"), "count", adds_up=True),
    FigureSpec("one_to_one_minutes", N_("One-to-one hours"), "minutes", adds_up=True),
    FigureSpec("intergenerational_minutes", N_("Intergenerational hours"), "minutes", adds_up=True),
    FigureSpec("new_members", N_("New members"), "count", adds_up=True),
    *(
        FigureSpec(
            f"active_after_{months}_months",
            f"New members still active after {months} months",
            "count",
            adds_up=True,
            retention_months=months,
        )
        for months in IMPACT_RETENTION_MONTHS
    ),
)
FIGURE_NAMES: Final = tuple(spec.name for spec in FIGURES)


@dataclass
class Series:
    """One figure: an entry per month (keyed "YYYY-MM") and the period's total.

    An entry's `minutes` holds the figure's value whatever its unit (a count of
    exchanges, members or events is kept there too), so the suppression rules,
    which pick the smallest published entry by `minutes`, apply unchanged.
    """

    spec: FigureSpec
    months: list[Entry]
    total: Entry


@dataclass
class ImpactReport:
    period: Period
    scope: Scope
    k: int
    series: dict[str, Series]
    wellbeing: WellbeingChange

    def month_labels(self) -> list[tuple[str, str]]:
        return [(month_text(month), month_label(month)) for month in self.period.months()]


# Events -------------------------------------------------------------------------------


@dataclass
class EventFigures:
    """Per month (yyyymm): events held, attendances, and who took part (hosts and attendees,
    by the rollups' pseudonym, so that they meet the exchanges' members in one set)."""

    held: dict[int, int] = field(default_factory=dict)
    attendances: dict[int, int] = field(default_factory=dict)
    people: dict[int, set[uuid.UUID]] = field(default_factory=dict)


async def _event_figures(
    connection: Connection, community_ids: Sequence[uuid.UUID], period: Period
) -> EventFigures:
    """Events held and attendances in the period, by month, and who attended or hosted
    (they count in people connected). The only place the report reads events."""
    figures = EventFigures()
    taken_by_month = await event_participation_by_month(connection, community_ids, period)
    pseudonyms: dict[uuid.UUID, uuid.UUID] = {}  # each member's worked out once
    for month, taken in taken_by_month.items():
        figures.held[month] = taken.events_held
        figures.attendances[month] = taken.event_attendances
        figures.people[month] = {
            pseudonyms.get(member) or pseudonyms.setdefault(member, member_key(member))
            for member in taken.people
        }
    return figures


# Reading exchanges --------------------------------------------------------------------


def _in_list(count: int) -> str:
    return "(" + ", ".join("{}" for _unused in range(count)) + ")"


_SLOT: Final = re.compile(r"\{\}")


async def _fetch(connection: Connection, sql: str, *arguments: Any) -> list[Row]:
    """`sql` with its `{}` slots numbered in order ($1, $2, ...) as the Connection wants;
    instants as Piccolo stores them (service.database.stored_instant)."""
    numbers = itertools.count(1)
    numbered = _SLOT.sub(lambda _match: f"${next(numbers)}", sql)
    values = [
        database.stored_instant(connection, value) if isinstance(value, datetime) else value
        for value in arguments
    ]
    return await connection.fetch(numbered, *values)


# New members and members still active ---------------------------------------------------


def _month_plus(month: int, months: int) -> int:
    """yyyymm `months` calendar months after `month`: 202611 + 3 -> 202702."""
    index = (month // 100) * 12 + month % 100 - 1 + months
    return (index // 12) * 100 + index % 12 + 1


def _aware(value: Any) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _last_active_months(years: Iterable[Row]) -> dict[str, int]:
    """Each member's (pseudonym's, as text) last month with a live exchange in the selected
    communities, from the member-year rows (`member_years`): their month masks, as the
    flows report counts active members."""
    last: dict[str, int] = {}  # by the pseudonym's text: no UUID made per row
    for row in years:
        months_mask = int(row["gave_months"]) | int(row["received_months"])
        if months_mask:
            month = int(row["year"]) * 100 + months_mask.bit_length()  # the highest bit set
            who = str(row["member_key"])
            last[who] = max(last.get(who, 0), month)
    return last


async def _joiners(
    connection: Connection, period: Period, scope: Scope, years: Iterable[Row]
) -> dict[str, dict[int, set[uuid.UUID]]]:
    """New members per month approved, and those of them active N months after joining:
    with a live exchange in the Nth calendar month after the month they joined, or later."""
    names = ["new_members", *(f"active_after_{n}_months" for n in IMPACT_RETENTION_MONTHS)]
    found: dict[str, dict[int, set[uuid.UUID]]] = {name: defaultdict(set) for name in names}
    if not scope.ids:
        return found
    rows = await _fetch(
        connection,
        "SELECT m.id, m.approved_at"
        f" FROM member_member m WHERE m.community IN {_in_list(len(scope.ids))}"
        " AND m.approved_at >= {} AND m.approved_at < {}",
        *scope.ids,
        period.starts_at,
        period.ends_before,
    )
    last_active = _last_active_months(years)
    for row in rows:
        joined = _aware(row["approved_at"])
        month = joined.year * 100 + joined.month
        member = as_uuid(row["id"])
        found["new_members"][month].add(member)
        last = last_active.get(str(member_key(member)), 0)
        for months in IMPACT_RETENTION_MONTHS:
            if last >= _month_plus(month, months):
                found[f"active_after_{months}_months"][month].add(member)
    return found


# Building the series ----------------------------------------------------------------------


def _series(spec: FigureSpec, entries: list[Entry], total: Entry, k: int) -> Series:
    if spec.adds_up:
        suppress_breakdown(entries, total, k)
    else:
        suppress_alone([*entries, total], k)
    return Series(spec=spec, months=entries, total=total)


def _entry(month: int, value: int, members: Members) -> Entry:
    return Entry(month_text(month), value, value, members)


def _from_sets(
    spec: FigureSpec,
    period: Period,
    sets: dict[int, set[uuid.UUID]],
    k: int,
    values: dict[int, int] | None = None,
) -> Series:
    """A series whose members are known exactly (joiners, events): values default to sizes."""
    entries = []
    everyone: set[uuid.UUID] = set()
    for month in period.months():
        people = sets.get(month, set())
        everyone |= people
        value = values.get(month, 0) if values is not None else len(people)
        entries.append(_entry(month, value, normalised(Members(frozenset(people)), k)))
    total_value = sum(entry.minutes for entry in entries)
    members = normalised(Members(frozenset(everyone)), k)
    return _series(spec, entries, Entry(TOTAL, total_value, total_value, members), k)


async def _exchange_series(
    connection: Connection,
    period: Period,
    scope: Scope,
    k: int,
    events: EventFigures,
    *,
    years: Iterable[Row],
) -> dict[str, Series]:
    """The exchange figures and people connected (service/reports/impact_flows.py)."""
    figures = await flow_figures(connection, period, scope, k)
    figures["people_connected"] = await people_connected(
        connection, period, scope, k, events.people, years=years
    )
    by_name = {spec.name: spec for spec in FIGURES}
    series: dict[str, Series] = {}
    for name, figure in figures.items():
        entries = [
            _entry(month, figure.values.get(month, 0), figure.members.get(month, NOBODY))
            for month in period.months()
        ]
        total = Entry(TOTAL, figure.total, figure.total, figure.total_members)
        series[name] = _series(by_name[name], entries, total, k)
    return series


async def impact_build(
    *, engine: Engine[Any], viewer: Principal, period: Period, community_slugs: Sequence[str]
) -> ImpactReport:
    """The impact figures `viewer` may see for the period and communities, small ones hidden.

    Who may see which communities is read through the tables (the primary, like the
    flows report's scope); every figure is read on one connection of `engine`, which
    `ReportReader` makes the replica's while it is fresh (ADR 0047).
    """
    scope = await scope_for(viewer, community_slugs)
    k = scope.k
    async with read_connection(engine) as connection:
        events = await _event_figures(connection, scope.ids, period)
        years = await member_years(connection, scope, period.first // 100)
        series = await _exchange_series(connection, period, scope, k, events, years=years)
        joiners = await _joiners(connection, period, scope, years)
        wellbeing = await wellbeing_change(
            connection, scope.ids, ends_before=period.ends_before, k=k
        )
    by_name = {spec.name: spec for spec in FIGURES}
    for name, values in (("events_held", events.held), ("event_attendances", events.attendances)):
        series[name] = _from_sets(by_name[name], period, events.people, k, values=values)
    for name, sets in joiners.items():
        series[name] = _from_sets(by_name[name], period, sets, k)
    return ImpactReport(
        period=period,
        scope=scope,
        k=k,
        series={name: series[name] for name in FIGURE_NAMES},
        wellbeing=wellbeing,
    )


__all__ = ["FIGURES", "FIGURE_NAMES", "EventFigures", "ImpactReport", "Series", "impact_build"]
