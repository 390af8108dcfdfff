"""The impact report's exchange figures and people connected, read from the rollups (ADR 0051).

Like the flows reports (service/reports/figures.py), sums come from `reports_cell`
(here its "impact" cells, keyed one-to-one or group and across generations or
not), and whether a month rests on at least k members is proved by a fine cell
with `members >= k`; member pseudonyms are read only for months that may be
small. People connected are the selected communities' members with a live
exchange (`reports_member_month`, `reports_member_year`: what the flows report
counts active members from) and everyone who came to or hosted one of their
events, each counted once per month and once over the period.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ledger.sql import Connection, Row, as_uuid
from service.reports.figures import active_member_counts
from service.reports.period import Period
from service.reports.scope import Scope
from service.reports.suppression import MANY, NOBODY, Members, normalised, union_of
from service.rollups.flows import DIMENSION_IMPACT, IMPACT_INTERGENERATIONAL, IMPACT_ONE_TO_ONE

FLOW_FIGURES: Final = (
    "exchanges",
    "hours_minutes",
    "one_to_one_minutes",
    "intergenerational_minutes",
)

# A flow between two selected communities has a row under each: keep the provider's.
_CELLS_WHERE: Final = (
    "{p}dimension = $1 AND {p}month BETWEEN $2 AND $3 AND {p}community {in_scope}"
    " AND NOT ({p}side = 'r' AND {p}other_community {in_scope})"
)
_SUMS: Final = (
    "SELECT month, key_a, key_b, SUM(minutes) AS minutes, SUM(exchanges) AS exchanges,"
    " MAX(members) AS members_max FROM reports_cell WHERE {where}"
    " GROUP BY month, key_a, key_b"
)
_SMALL_CELL_MEMBERS: Final = (
    "SELECT c.month, c.key_a, c.key_b, m.member_key FROM reports_cell c"
    " JOIN reports_cell_member m ON m.dimension = c.dimension AND m.community = c.community"
    " AND m.month = c.month AND m.side = c.side AND m.other_community = c.other_community"
    " AND m.key_a = c.key_a AND m.key_b = c.key_b"
    " WHERE {where} AND c.members > 0 AND c.members < {k} AND c.month IN ({months})"
    " AND m.gave + m.received > 0"
)
_MEMBERS_WHERE: Final = "community {in_scope} AND month BETWEEN $1 AND $2 AND gave + received > 0"
_MONTH_COUNTS: Final = (
    "SELECT month, COUNT(DISTINCT member_key) AS members FROM reports_member_month"
    " WHERE {where} GROUP BY month"
)
_MONTH_MEMBERS: Final = (
    "SELECT month, member_key FROM reports_member_month WHERE {where} AND {which}"
)


@dataclass
class Figure:
    """A figure per month (yyyymm): its value, and who it rests on (MANY, or exactly)."""

    values: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    members: dict[int, Members] = field(default_factory=dict)
    total: int = 0
    total_members: Members = NOBODY


def _slots(first: int, count: int) -> str:
    return ", ".join(f"${number}" for number in range(first, first + count))


# Exchanges, hours, one-to-one and intergenerational hours --------------------------------


def _in_figure(name: str, row: Row) -> bool:
    """Whether a (month, flags) row's flows count in figure `name`."""
    if name == "one_to_one_minutes":
        return bool(row["key_a"] == IMPACT_ONE_TO_ONE)
    if name == "intergenerational_minutes":
        return bool(row["key_b"] == IMPACT_INTERGENERATIONAL)
    return True


def _cells_where(connection: Connection, scope: Scope, prefix: str = "") -> tuple[str, list[Any]]:
    in_scope, ids = connection.id_list(scope.ids, 4)
    return _CELLS_WHERE.format(p=prefix, in_scope=in_scope), ids


async def flow_figures(
    connection: Connection, period: Period, scope: Scope, k: int
) -> dict[str, Figure]:
    """Exchanges (live flows), hours, one-to-one and intergenerational hours by month."""
    figures = {name: Figure() for name in FLOW_FIGURES}
    if not scope.ids:
        return figures
    where, ids = _cells_where(connection, scope)
    parameters = [DIMENSION_IMPACT, period.first, period.last, *ids]
    largest: dict[tuple[str, int], int] = defaultdict(int)  # a lower bound of its members
    for row in await connection.fetch(_SUMS.format(where=where), *parameters):
        month = int(row["month"])
        for name, figure in figures.items():
            if _in_figure(name, row):
                figure.values[month] += int(row["exchanges" if name == "exchanges" else "minutes"])
                largest[(name, month)] = max(largest[(name, month)], int(row["members_max"]))
    small_months = set()
    for (name, month), members_max in largest.items():
        if members_max >= k:
            figures[name].members[month] = MANY
        else:
            small_months.add(month)
    if small_months:
        rows = await _small_cell_members(connection, scope, parameters, k, small_months)
        for name, figure in figures.items():
            _exact_members(figure, name, rows, small_months, k)
    for figure in figures.values():
        figure.total = sum(figure.values.values())
        figure.total_members = normalised(union_of(figure.members.values()), k)
    return figures


async def _small_cell_members(
    connection: Connection, scope: Scope, parameters: list[Any], k: int, months: set[int]
) -> list[Row]:
    """Member pseudonyms of the fine cells below k in `months` (all a small month has)."""
    where, _ids = _cells_where(connection, scope, prefix="c.")
    first = len(parameters) + 1
    sql = _SMALL_CELL_MEMBERS.format(
        where=where, k=f"${first}", months=_slots(first + 1, len(months))
    )
    return await connection.fetch(sql, *parameters, k, *sorted(months))


def _exact_members(
    figure: Figure, name: str, rows: Iterable[Row], months: set[int], k: int
) -> None:
    found: dict[int, set[uuid.UUID]] = defaultdict(set)
    for row in rows:
        if _in_figure(name, row):
            found[int(row["month"])].add(as_uuid(row["member_key"]))
    for month in months:
        if figure.members.get(month) is not MANY and month in figure.values:
            figure.members[month] = normalised(Members(frozenset(found[month])), k)


# People connected ---------------------------------------------------------------------------


def _members_where(connection: Connection, scope: Scope) -> tuple[str, list[Any]]:
    in_scope, ids = connection.id_list(scope.ids, 3)
    return _MEMBERS_WHERE.format(in_scope=in_scope), ids


async def _small_month_rows(
    connection: Connection, period: Period, scope: Scope, months: Sequence[int]
) -> list[Row]:
    """(month, pseudonym) rows of live members in `months` (few: each has under k)."""
    where, ids = _members_where(connection, scope)
    parameters = [period.first, period.last, *ids]
    which = f"month IN ({_slots(len(parameters) + 1, len(months))})"
    sql = _MONTH_MEMBERS.format(where=where, which=which)
    return await connection.fetch(sql, *parameters, *months)


async def member_years(connection: Connection, scope: Scope, from_year: int) -> list[Row]:
    """The month masks of the selected communities' members (`reports_member_year`, a row per
    member and year) from `from_year` on: read once per report, for people connected and
    for new members still active months later."""
    if not scope.ids:
        return []
    in_scope, ids = connection.id_list(scope.ids, 2)
    return await connection.fetch(
        "SELECT member_key, year, gave_months, received_months FROM reports_member_year"
        f" WHERE community {in_scope} AND year >= $1",
        from_year,
        *ids,
    )


def _event_people_active(
    period: Period, event_people: dict[int, set[uuid.UUID]], years: Iterable[Row]
) -> tuple[set[tuple[int, str]], set[str]]:
    """Of the event people (pseudonyms as text): (month, who) where they had a live exchange
    in a month they took part in an event, and who had one in any month of the period.

    Matched against the member-year rows (`member_years`) here: an IN list of thousands of
    pseudonyms is slower to plan and run than reading the scope's year rows, and text keys
    spare a UUID per row.
    """
    event_months: dict[str, list[int]] = defaultdict(list)
    for month, keys in event_people.items():
        for key in keys:
            event_months[str(key)].append(month)
    in_period: dict[int, int] = defaultdict(int)  # year -> bits of the period's months
    for month in period.months():
        in_period[month // 100] |= 1 << (month % 100 - 1)
    found: set[tuple[int, str]] = set()
    active: set[str] = set()
    for row in years:
        who = str(row["member_key"])
        months = event_months.get(who)
        if not months:
            continue
        year = int(row["year"])
        months_mask = (int(row["gave_months"]) | int(row["received_months"])) & in_period[year]
        if months_mask:
            active.add(who)
        found.update(
            (month, who)
            for month in months
            if month // 100 == year and months_mask >> (month % 100 - 1) & 1
        )
    return found, active


async def people_connected(
    connection: Connection,
    period: Period,
    scope: Scope,
    k: int,
    event_people: dict[int, set[uuid.UUID]],
    *,
    years: Iterable[Row],
) -> Figure:
    """Distinct people by month and over the period: the selected communities' members with
    a live exchange, and everyone at their events (`event_people`, by pseudonym); `years`
    are the scope's member-year rows (`member_years`)."""
    figure = Figure()
    active: dict[int, int] = {}
    total_active = 0
    if scope.ids:
        where, ids = _members_where(connection, scope)
        rows = await connection.fetch(
            _MONTH_COUNTS.format(where=where), period.first, period.last, *ids
        )
        active = {int(row["month"]): int(row["members"]) for row in rows}
        total_active = (await active_member_counts(connection, period, scope))[0]
    everyone_at_events = set().union(*event_people.values()) if event_people else set()
    seen, seen_in_period = _event_people_active(period, event_people, years)
    small = [month for month in period.months() if active.get(month, 0) < k]
    exact: dict[int, set[uuid.UUID]] = defaultdict(set)
    if scope.ids and small:
        for row in await _small_month_rows(connection, period, scope, small):
            exact[int(row["month"])].add(as_uuid(row["member_key"]))
    for month in period.months():
        at_events = event_people.get(month, set())
        newcomers = {who for who in at_events if (month, str(who)) not in seen}
        value = active.get(month, 0) + len(newcomers)
        if value:
            figure.values[month] = value
            members = MANY if value >= k else Members(frozenset(exact[month] | at_events))
            figure.members[month] = members
    not_seen = {who for who in everyone_at_events if str(who) not in seen_in_period}
    figure.total = total_active + len(not_seen)
    figure.total_members = (
        MANY if figure.total >= k else normalised(union_of(figure.members.values()), k)
    )
    return figure
