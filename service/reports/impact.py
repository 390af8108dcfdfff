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

An exchange counts when it is completed, its service date falls in the period
and its provider or a recipient belongs to a selected community (as flows do);
each recipient of a group exchange is one flow of the exchange's minutes.
Intergenerational: between a member under IMPACT_YOUNGER_AGE_BELOW and one of
IMPACT_OLDER_AGE_FROM or over (either way round), ages being the exchange's year
minus the birth year. Members are counted by id in memory only; nothing
returned names or identifies one.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from piccolo.engine.base import Engine

from ledger.sql import Connection, Row
from ledger.transactions import read_connection
from service import database
from service.events.selectors import event_participation_by_month
from service.i18n import N_, _
from service.limits import (
    IMPACT_OLDER_AGE_FROM,
    IMPACT_RETENTION_MONTHS,
    IMPACT_YOUNGER_AGE_BELOW,
)
from service.principal import Principal
from service.reports.period import Period, month_label, month_text
from service.reports.scope import Scope, scope_for
from service.reports.suppression import (
    MANY,
    TOTAL,
    Entry,
    Members,
    normalised,
    suppress_alone,
    suppress_breakdown,
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
    """Per month (yyyymm): events held, attendances, and who took part (hosts and attendees)."""

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
    for month, taken in taken_by_month.items():
        figures.held[month] = taken.events_held
        figures.attendances[month] = taken.event_attendances
        figures.people[month] = set(taken.people)
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


def _month_case(period: Period) -> tuple[str, list[Any]]:
    """SQL giving the yyyymm of `e.service_date` within the period (boundaries as parameters)."""
    months = period.months()
    whens, arguments = [], []
    for month, following in itertools.pairwise(months):
        whens.append(f"WHEN e.service_date < {{}} THEN {month}")
        arguments.append(_month_start(following))
    return f"(CASE {' '.join(whens)} ELSE {months[-1]} END)", arguments


def _month_start(month: int) -> datetime:
    return datetime(month // 100, month % 100, 1, tzinfo=UTC)


def _flows_sql(period: Period, scope: Scope) -> tuple[str, list[Any]]:
    """A CTE `flows`: one row per completed exchange and recipient in the period and scope.

    Read from the selected communities' members outwards (their exchanges as
    provider, then as recipient with a provider from elsewhere), so the cost
    follows the selection's exchanges, not the whole installation's.
    """
    case, case_arguments = _month_case(period)
    ids = scope.ids
    young, old = IMPACT_YOUNGER_AGE_BELOW, IMPACT_OLDER_AGE_FROM
    columns = (
        f"{case} AS month, e.id AS exchange_id, e.provider AS provider,"
        " r.member AS recipient, e.minutes AS minutes,"
        " CASE WHEN NOT EXISTS (SELECT 1 FROM market_exchange_recipient o"
        "  WHERE o.exchange = e.id AND o.member <> r.member) THEN 1 ELSE 0 END AS one,"
        " p.birth_year AS provider_born, q.birth_year AS recipient_born"
    )
    completed = "e.status = 'completed' AND e.service_date >= {} AND e.service_date < {}"
    sql = (
        "WITH pairs AS ("
        f" SELECT {columns} FROM member_member p"
        f" JOIN market_exchange e ON e.provider = p.id AND {completed}"
        " JOIN market_exchange_recipient r ON r.exchange = e.id"
        " JOIN member_member q ON q.id = r.member"
        f" WHERE p.community IN {_in_list(len(ids))}"
        " UNION ALL"
        f" SELECT {columns} FROM member_member q"
        " JOIN market_exchange_recipient r ON r.member = q.id"
        f" JOIN market_exchange e ON e.id = r.exchange AND {completed}"
        " JOIN member_member p ON p.id = e.provider"
        f" WHERE q.community IN {_in_list(len(ids))} AND p.community NOT IN {_in_list(len(ids))}"
        "), flows AS ("
        " SELECT month, exchange_id, provider, recipient, minutes, one,"
        f" CASE WHEN (month / 100 - provider_born < {young} AND month / 100 - recipient_born"
        f" >= {old}) OR (month / 100 - provider_born >= {old} AND month / 100 - recipient_born"
        f" < {young}) THEN 1 ELSE 0 END AS inter FROM pairs"
        ") "
    )
    window = [period.starts_at, period.ends_before]
    return sql, [
        *case_arguments, *window, *ids,
        *case_arguments, *window, *ids, *ids,
    ]  # fmt: skip


_PEOPLE_SQL: Final = (
    "people AS (SELECT month, provider AS member, one, inter FROM flows"
    " UNION ALL SELECT month, recipient AS member, one, inter FROM flows) "
)
# Which flows each exchange figure (and its members) is made of: a SQL condition.
_FLOW_FILTERS: Final = {
    "exchanges": "1 = 1",
    "hours_minutes": "1 = 1",
    "one_to_one_minutes": "one = 1",
    "intergenerational_minutes": "inter = 1",
}


@dataclass
class _Counts:
    """Per month and for the period: a figure's value, its distinct members, and who they are.

    `exact` (yyyymm -> member ids) is shared between the figures made of the same flows.
    """

    values: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    members: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    period_members: int = 0
    exact: dict[int, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))


# Which members a figure rests on: everyone in its flows, or only those in flows with a flag.
_MEMBER_FLAGS: Final = {"one_to_one_minutes": "one", "intergenerational_minutes": "inter"}


async def _exchange_counts(
    connection: Connection, period: Period, scope: Scope
) -> dict[str, _Counts]:
    """Every exchange figure from two statements over the flows: the sums by month, then each
    month's members with their flags (distinct counts and exact sets are made from those rows,
    where three more passes over the flows used to count them)."""
    counts = {name: _Counts() for name in [*_FLOW_FILTERS, "people_connected"]}
    if not scope.ids:
        return counts
    flows, arguments = _flows_sql(period, scope)
    sums = await _fetch(
        connection,
        flows + "SELECT month, COUNT(DISTINCT exchange_id) AS exchanges,"
        " SUM(minutes) AS hours_minutes,"
        " SUM(CASE WHEN one = 1 THEN minutes ELSE 0 END) AS one_to_one_minutes,"
        " SUM(CASE WHEN inter = 1 THEN minutes ELSE 0 END) AS intergenerational_minutes"
        " FROM flows GROUP BY month",
        *arguments,
    )
    for row in sums:
        for name in _FLOW_FILTERS:
            counts[name].values[int(row["month"])] = int(row[name] or 0)
    people = flows[:-1] + ", " + _PEOPLE_SQL
    rows = await _fetch(
        connection,
        people + "SELECT month, member, MAX(one) AS one, MAX(inter) AS inter"
        " FROM people GROUP BY month, member",
        *arguments,
    )
    everyone = counts["people_connected"].exact
    flagged: dict[str, dict[int, set[uuid.UUID]]] = {
        flag: defaultdict(set) for flag in ("one", "inter")
    }
    for row in rows:
        month, member = int(row["month"]), uuid.UUID(str(row["member"]))
        everyone[month].add(member)
        for flag, sets in flagged.items():
            if row[flag] == 1:
                sets[month].add(member)
    for name, each in counts.items():
        member_flag = _MEMBER_FLAGS.get(name)
        each.exact = flagged[member_flag] if member_flag else everyone
        each.members = {month: len(who) for month, who in each.exact.items()}
        each.period_members = len(_union(each.exact))
    for month, value in counts["people_connected"].members.items():
        counts["people_connected"].values[month] = value
    return counts


# New members and members still active ---------------------------------------------------


def _months_after(instant: datetime, months: int) -> datetime:
    index = instant.year * 12 + instant.month - 1 + months
    year, month = divmod(index, 12)
    day = min(instant.day, 28)  # the same day of the month, or the 28th: never past its end
    return instant.replace(year=year, month=month + 1, day=day)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


async def _joiners(
    connection: Connection, period: Period, scope: Scope
) -> dict[str, dict[int, set[uuid.UUID]]]:
    """New members per month approved, and those of them active N months after joining."""
    names = ["new_members", *(f"active_after_{n}_months" for n in IMPACT_RETENTION_MONTHS)]
    found: dict[str, dict[int, set[uuid.UUID]]] = {name: defaultdict(set) for name in names}
    if not scope.ids:
        return found
    rows = await _fetch(
        connection,
        "SELECT m.id, m.approved_at,"
        " (SELECT MAX(e.service_date) FROM market_exchange e"
        "  WHERE e.provider = m.id AND e.status = 'completed') AS gave_last,"
        " (SELECT MAX(e.service_date) FROM market_exchange_recipient r"
        "  JOIN market_exchange e ON e.id = r.exchange"
        "  WHERE r.member = m.id AND e.status = 'completed') AS received_last"
        f" FROM member_member m WHERE m.community IN {_in_list(len(scope.ids))}"
        " AND m.approved_at >= {} AND m.approved_at < {}",
        *scope.ids,
        period.starts_at,
        period.ends_before,
    )
    for row in rows:
        joined = _aware(row["approved_at"])
        assert joined is not None  # noqa: S101 - the WHERE asked for a date
        month = joined.year * 100 + joined.month
        member = uuid.UUID(str(row["id"]))
        found["new_members"][month].add(member)
        last = max(
            (at for at in (_aware(row["gave_last"]), _aware(row["received_last"])) if at),
            default=None,
        )
        for months in IMPACT_RETENTION_MONTHS:
            if last is not None and last >= _months_after(joined, months):
                found[f"active_after_{months}_months"][month].add(member)
    return found


# Building the series ----------------------------------------------------------------------


def _members(count: int, exact: set[uuid.UUID] | None, k: int) -> Members:
    if count >= k:
        return MANY
    return normalised(Members(frozenset(exact or ())), k)


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
    connection: Connection, period: Period, scope: Scope, k: int, events: EventFigures
) -> dict[str, Series]:
    counts = await _exchange_counts(connection, period, scope)
    exact = {name: each.exact for name, each in counts.items()}
    by_name = {spec.name: spec for spec in FIGURES}
    series: dict[str, Series] = {}
    for name, each in counts.items():
        spec = by_name[name]
        entries = []
        for month in period.months():
            members = _members(each.members.get(month, 0), exact.get(name, {}).get(month), k)
            value = each.values.get(month, 0)
            if name == "people_connected" and events.people.get(month):
                members = members.union(Members(frozenset(events.people[month])))
                members = normalised(members, k)
                value = value + len(events.people[month] - exact.get(name, {}).get(month, set()))
            entries.append(_entry(month, value, members))
        total_value = (
            each.period_members if name == "people_connected"
            else sum(entry.minutes for entry in entries)
        )  # fmt: skip
        total_members = _members(each.period_members, _union(exact.get(name, {})), k)
        if name == "people_connected" and events.people:
            extra = _union(events.people) - _union(exact.get(name, {}))
            total_value += len(extra)
            total_members = normalised(total_members.union(Members(frozenset(extra))), k)
        series[name] = _series(
            spec, entries, Entry(TOTAL, total_value, total_value, total_members), k
        )
    return series


def _union(sets: dict[int, set[uuid.UUID]]) -> set[uuid.UUID]:
    return set().union(*sets.values()) if sets else set()


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
        series = await _exchange_series(connection, period, scope, k, events)
        joiners = await _joiners(connection, period, scope)
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
