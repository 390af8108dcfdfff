"""Council figures: the suppressed aggregates a viewer sees (who may see which
communities is service/reports/scope.py; the period, period.py).

Selectors only (reads). Every figure comes from the rollups of
service/rollups/, never from ledger or member rows per person:

* sums (minutes, exchanges) from `reports_cell`, grouped by the breakdown;
* whether a figure rests on at least k distinct members: a fine cell with
  `members >= k` proves it at once; only figures made of small fine cells read
  their member pseudonyms (`reports_cell_member`) to count exactly;
* active members and members who both gave and received: distinct pseudonyms
  of the selected communities' "month" rows; new members: approvals in the period.

Then service/reports/suppression.py hides small figures and their complements.
Nothing returned here carries a name or an id of a member.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from piccolo.engine.base import Engine

from ledger.sql import Connection, as_uuid
from ledger.transactions import read_connection
from service.donations.reports import donations_total
from service.i18n import N_
from service.limits import REPORT_WARDS_SHOWN_MAX
from service.listings.tables import Category
from service.members.tables import Member
from service.principal import Principal
from service.reports.period import Period, month_label, month_text
from service.reports.scope import Scope, scope_for
from service.reports.suppression import (
    NOBODY,
    TOTAL,
    Entry,
    Members,
    Table,
    normalised,
    suppress_alone,
    suppress_breakdown,
    suppress_table,
    union_of,
)
from service.rollups import services as rollups

Breakdown = Literal["month", "category", "ward", "age_band", "community"]
BREAKDOWNS: Final[tuple[Breakdown, ...]] = ("month", "category", "ward", "age_band", "community")
ELSEWHERE: Final = "elsewhere"  # communities outside the selection, never named
OTHER_WARDS: Final = "other"
AGE_BAND_LABELS: Final = {
    "under_25": N_("Under 25"),
    "25_49": N_("25 to 49"),
    "50_64": N_("50 to 64"),
    "65_79": N_("65 to 79"),
    "80_plus": N_("80 and over"),
    rollups.UNKNOWN: N_("Not known"),
}
UNKNOWN_CATEGORY_LABEL: Final = N_("Not known (no listing)")
UNKNOWN_WARD_LABEL: Final = N_("Not given")
OTHER_WARDS_LABEL: Final = N_("Other wards together")
ELSEWHERE_LABEL: Final = N_("Communities outside this report")
# Small groups are looked up by their first key while there are at most this many.
SMALL_GROUPS_LISTED_MAX: Final = 200


# What a report holds ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Label:
    key: str
    label: str


@dataclass
class Figures:
    """One breakdown: rows (and columns for a two-way table) with suppressed entries.

    One-way: `cells[(row, None)]`. Two-way: `cells[(row, column)]` plus row,
    column and grand totals; `total` is the grand total in both cases.
    """

    by: Breakdown
    rows: list[Label]
    columns: list[Label]
    cells: dict[tuple[str, str | None], Entry]
    row_totals: dict[str, Entry] = field(default_factory=dict)
    column_totals: dict[str, Entry] = field(default_factory=dict)
    total: Entry = field(default_factory=lambda: Entry(TOTAL, 0, 0, NOBODY))

    @property
    def two_way(self) -> bool:
        return bool(self.columns)


@dataclass(frozen=True, slots=True)
class Count:
    """A number of members, or None when it rests on fewer than k of them."""

    value: int | None

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True)
class Money:
    """Money given, in pence, or None when it rests on fewer than k donors."""

    amount_pence: int | None

    @property
    def suppressed(self) -> bool:
        return self.amount_pence is None


@dataclass
class Report:
    period: Period
    scope: Scope
    k: int
    total: Entry
    active_members: Count
    new_members: Count
    gave_and_received: Count
    pool_donations: Entry
    pool_grants: Entry
    donations: Money
    breakdowns: dict[Breakdown, Figures]


# Reading the rollups -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Selection:
    """SQL and parameters selecting a report's rows of one dimension (1-3 plus the ids)."""

    where: str
    parameters: list[Any]


def _selection(
    connection: Connection, dimension: str, period: Period, scope: Scope, prefix: str = ""
) -> _Selection:
    in_scope, ids = connection.id_list(scope.ids, 4)
    # A flow between two selected communities has a row under each: keep the provider's.
    where = (
        f"{prefix}dimension = $1 AND {prefix}month BETWEEN $2 AND $3 "
        f"AND {prefix}community {in_scope} "
        f"AND NOT ({prefix}side = 'r' AND {prefix}other_community {in_scope})"
    )
    return _Selection(where, [dimension, period.first, period.last, *ids])


_GROUPS: Final = {
    "month": ("month",),
    "category": ("key_a",),
    "ward": ("key_a",),
    "age_band": ("key_a", "key_b"),
    "community": ("community", "side", "other_community"),
    "pool": ("key_a",),
}
_DIMENSIONS: Final = {"community": rollups.DIMENSION_MONTH}


@dataclass
class _Sums:
    minutes: int = 0
    exchanges: int = 0
    members_max: int = 0  # the largest fine cell: a lower bound of distinct members
    members: Members = NOBODY


async def _sums(
    connection: Connection, name: str, period: Period, scope: Scope, k: int
) -> dict[tuple[Any, ...], _Sums]:
    """Sums per group of one dimension, with exact members for groups that may be small."""
    dimension = _DIMENSIONS.get(name, name)
    group = ", ".join(_GROUPS[name])
    selection = _selection(connection, dimension, period, scope)
    rows = await connection.fetch(
        f"SELECT {group}, SUM(minutes) AS minutes, SUM(exchanges) AS exchanges, "
        f"MAX(members) AS members_max FROM reports_cell WHERE {selection.where} GROUP BY {group}",
        *selection.parameters,
    )
    sums: dict[tuple[Any, ...], _Sums] = {}
    for row in rows:
        key = _group_key(row, name)
        members_max = int(row["members_max"])
        sums[key] = _Sums(
            minutes=int(row["minutes"]),
            exchanges=int(row["exchanges"]),
            members_max=members_max,
            members=Members(many=True) if members_max >= k else NOBODY,
        )
    small = {key for key, each in sums.items() if not each.members.many}
    if small:
        found = await _small_members(connection, name, period, scope, k, small=small)
        for key, members in found.items():
            if key in small:
                sums[key].members = normalised(Members(frozenset(members)), k)
    return sums


_UUID_COLUMNS: Final = frozenset({"community", "other_community"})


def _group_key(row: Any, name: str) -> tuple[Any, ...]:
    """A row's group, with community ids as UUIDs on both engines (TEXT on SQLite)."""
    return tuple(
        as_uuid(row[column]) if column in _UUID_COLUMNS else row[column] for column in _GROUPS[name]
    )


async def _small_members(
    connection: Connection,
    name: str,
    period: Period,
    scope: Scope,
    k: int,
    *,
    small: set[tuple[Any, ...]],
) -> dict[tuple[Any, ...], set[uuid.UUID]]:
    """Member pseudonyms of the fine cells below k of the `small` groups, grouped like `_sums`.

    A group is small only if all its fine cells are, so these rows are all
    it needs; large fine cells are never read member by member, nor (as far
    as the first grouping column tells them apart) the small fine cells of
    groups already known to be large.
    """
    dimension = _DIMENSIONS.get(name, name)
    columns = _GROUPS[name]
    group = ", ".join(f"c.{column}" for column in columns)
    selection = _selection(connection, dimension, period, scope, prefix="c.")
    parameters = [*selection.parameters, k]
    where = f"{selection.where} AND c.members > 0 AND c.members < ${len(parameters)}"
    firsts = sorted({key[0] for key in small}, key=str)
    if len(firsts) <= SMALL_GROUPS_LISTED_MAX:
        numbers = range(len(parameters) + 1, len(parameters) + len(firsts) + 1)
        where += f" AND c.{columns[0]} IN (" + ", ".join(f"${n}" for n in numbers) + ")"
        parameters += firsts
    rows = await connection.fetch(
        f"SELECT {group}, m.member_key FROM reports_cell c JOIN reports_cell_member m "
        "ON m.dimension = c.dimension AND m.community = c.community AND m.month = c.month "
        "AND m.side = c.side AND m.other_community = c.other_community "
        "AND m.key_a = c.key_a AND m.key_b = c.key_b "
        f"WHERE {where} AND m.gave + m.received > 0",
        *parameters,
    )
    found: dict[tuple[Any, ...], set[uuid.UUID]] = defaultdict(set)
    for row in rows:
        key = _group_key(row, name)
        found[key].add(as_uuid(row["member_key"]))
    return found


async def active_member_counts(
    connection: Connection, period: Period, scope: Scope
) -> tuple[int, int]:
    """(active members, members who both gave and received) of the selected communities.

    Read from the month masks of `reports_member_year` (one row per member,
    home community and year): a member is active if any month of the period
    is set in either mask, and gave and received if each mask has one.
    """
    years = list(range(period.first // 100, period.last // 100 + 1))
    in_scope, ids = connection.id_list(scope.ids, 3)
    parameters: list[Any] = [years[0], years[-1], *ids]
    cases = []
    for year in years:
        parameters += [year, _period_mask(period, year)]
        cases.append(f"WHEN ${len(parameters) - 1} THEN ${len(parameters)}")
    mask = f"(CASE year {' '.join(cases)} ELSE 0 END)"
    rows = await connection.fetch(
        "SELECT COALESCE(SUM(active), 0) AS active, COALESCE(SUM(gave * received), 0) AS both "
        "FROM (SELECT member_key, "
        f"MAX(CASE WHEN ((gave_months | received_months) & {mask}) <> 0 THEN 1 ELSE 0 END) "
        "AS active, "
        f"MAX(CASE WHEN (gave_months & {mask}) <> 0 THEN 1 ELSE 0 END) AS gave, "
        f"MAX(CASE WHEN (received_months & {mask}) <> 0 THEN 1 ELSE 0 END) AS received "
        f"FROM reports_member_year WHERE community {in_scope} AND year BETWEEN $1 AND $2 "
        "GROUP BY member_key) AS per_member",
        *parameters,
    )
    return int(rows[0]["active"]), int(rows[0]["both"])


def _period_mask(period: Period, year: int) -> int:
    """Bits (month - 1) of the period's months in `year`."""
    first = period.first % 100 if period.first // 100 == year else 1
    last = period.last % 100 if period.last // 100 == year else 12
    return sum(1 << (month - 1) for month in range(first, last + 1))


async def _new_members(period: Period, scope: Scope) -> int:
    if not scope.ids:
        return 0
    count: int = (
        await Member.count()
        .where(
            Member.community.is_in(scope.ids)
            & (Member.approved_at >= period.starts_at)
            & (Member.approved_at < period.ends_before)
        )
        .run()
    )
    return count


def _count(value: int, k: int) -> Count:
    return Count(None if 0 < value < k else value)


async def _donations(period: Period, scope: Scope, k: int) -> Money:
    """Money donated in the period: one total, hidden while 1 to k-1 donors gave it."""
    total = await donations_total(
        scope.ids,
        first_month=month_text(period.first),
        last_month=month_text(period.last),
        donors_needed=k,
    )
    return Money(None if 0 < total.donors < k else total.amount_pence)


# Building each breakdown ----------------------------------------------------------------


def _entry(key: Hashable, sums: _Sums | None) -> Entry:
    if sums is None:
        return Entry(key, 0, 0, NOBODY)
    return Entry(key, sums.minutes, sums.exchanges, sums.members)


def _merged(key: Hashable, parts: Iterable[Entry], k: int) -> Entry:
    parts = list(parts)
    return Entry(
        key,
        sum(part.minutes for part in parts),
        sum(part.exchanges for part in parts),
        normalised(union_of(part.members for part in parts), k),
    )


def _one_way(by: Breakdown, labels: list[Label], entries: list[Entry], k: int) -> Figures:
    total = _merged(TOTAL, entries, k)
    suppress_breakdown(entries, total, k)
    return Figures(
        by=by,
        rows=labels,
        columns=[],
        cells={(str(entry.key), None): entry for entry in entries},
        total=total,
    )


def _two_way(
    by: Breakdown,
    rows: list[Label],
    columns: list[Label],
    cells: dict[tuple[str, str], Entry],
    k: int,
) -> Figures:
    grid: dict[tuple[Hashable, Hashable], Entry] = {}
    for row in rows:
        for column in columns:
            grid[(row.key, column.key)] = cells.get(
                (row.key, column.key), Entry((row.key, column.key), 0, 0, NOBODY)
            )
    for row in rows:
        grid[(row.key, TOTAL)] = _merged(
            (row.key, TOTAL), (grid[(row.key, c.key)] for c in columns), k
        )
    for column in columns:
        grid[(TOTAL, column.key)] = _merged(
            (TOTAL, column.key), (grid[(r.key, column.key)] for r in rows), k
        )
    grid[(TOTAL, TOTAL)] = _merged(TOTAL, (grid[(r.key, TOTAL)] for r in rows), k)
    suppress_table(Table([r.key for r in rows], [c.key for c in columns], grid), k)
    return Figures(
        by=by,
        rows=rows,
        columns=columns,
        cells={(r.key, c.key): grid[(r.key, c.key)] for r in rows for c in columns},
        row_totals={r.key: grid[(r.key, TOTAL)] for r in rows},
        column_totals={c.key: grid[(TOTAL, c.key)] for c in columns},
        total=grid[(TOTAL, TOTAL)],
    )


async def _months(connection: Connection, period: Period, scope: Scope, k: int) -> Figures:
    sums = await _sums(connection, "month", period, scope, k)
    months = period.months()
    labels = [Label(month_text(month), month_label(month)) for month in months]
    entries = [_entry(month_text(month), sums.get((month,))) for month in months]
    return _one_way("month", labels, entries, k)


async def _categories(connection: Connection, period: Period, scope: Scope, k: int) -> Figures:
    sums = await _sums(connection, "category", period, scope, k)
    known = await Category.select(Category.slug, Category.name).order_by(Category.position).run()
    labels = [Label(row["slug"], row["name"]) for row in known]
    labels.append(Label(rollups.UNKNOWN, UNKNOWN_CATEGORY_LABEL))
    listed = {label.key for label in labels}
    # A category renamed away since (slugs are stable, but admins may edit the list).
    labels += [Label(key[0], key[0]) for key in sorted(sums) if key[0] not in listed]
    entries = [_entry(label.key, sums.get((label.key,))) for label in labels]
    return _one_way("category", labels, entries, k)


async def _wards(connection: Connection, period: Period, scope: Scope, k: int) -> Figures:
    """Wards are typed by members: a ward below k is never named, only counted with others."""
    sums = await _sums(connection, "ward", period, scope, k)
    named: list[Entry] = []
    others: list[Entry] = []
    for (ward,), each in sums.items():
        entry = _entry(ward, each)
        large = ward != rollups.UNKNOWN and not entry.members.below(k)
        (named if large else others).append(entry)
    named.sort(key=lambda entry: (-entry.minutes, str(entry.key)))
    others += named[REPORT_WARDS_SHOWN_MAX:]
    named = named[:REPORT_WARDS_SHOWN_MAX]
    unknown = [entry for entry in others if entry.key == rollups.UNKNOWN]
    rest = [entry for entry in others if entry.key != rollups.UNKNOWN]
    entries = [*named]
    labels = [Label(str(entry.key), str(entry.key)) for entry in named]
    if rest:
        entries.append(_merged(OTHER_WARDS, rest, k))
        labels.append(Label(OTHER_WARDS, OTHER_WARDS_LABEL))
    if unknown:
        entries.append(unknown[0])
        labels.append(Label(rollups.UNKNOWN, UNKNOWN_WARD_LABEL))
    return _one_way("ward", labels, entries, k)


async def _age_bands(connection: Connection, period: Period, scope: Scope, k: int) -> Figures:
    sums = await _sums(connection, "age_band", period, scope, k)
    bands = [Label(band, AGE_BAND_LABELS[band]) for band in rollups.AGE_BAND_KEYS]
    cells = {
        (str(key[0]), str(key[1])): _entry((key[0], key[1]), each) for key, each in sums.items()
    }
    return _two_way("age_band", bands, bands, cells, k)


async def _communities(connection: Connection, period: Period, scope: Scope, k: int) -> Figures:
    sums = await _sums(connection, "community", period, scope, k)
    selected = {community.id: community for community in scope.selected}

    def side_key(community_id: uuid.UUID) -> str:
        return selected[community_id].slug if community_id in selected else ELSEWHERE

    parts: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for (community_id, side, other_id), each in sums.items():
        provider, recipient = (
            (community_id, other_id) if side == rollups.SIDE_PROVIDER else (other_id, community_id)
        )
        key = (side_key(provider), side_key(recipient))
        parts[key].append(_entry(key, each))
    cells = {key: _merged(key, entries, k) for key, entries in parts.items()}
    labels = [Label(community.slug, community.name) for community in scope.selected]
    if any(ELSEWHERE in key for key in cells):
        labels.append(Label(ELSEWHERE, ELSEWHERE_LABEL))
    return _two_way("community", labels, labels, cells, k)


_BUILDERS: Final = {
    "month": _months,
    "category": _categories,
    "ward": _wards,
    "age_band": _age_bands,
    "community": _communities,
}


async def _pool(
    connection: Connection, period: Period, scope: Scope, k: int
) -> tuple[Entry, Entry]:
    sums = await _sums(connection, "pool", period, scope, k)
    donations = _entry("donation", sums.get(("donation",)))
    grants = _entry("grant", sums.get(("grant",)))
    suppress_alone([donations, grants], k)
    return donations, grants


async def report_build(
    *,
    engine: Engine[Any],
    viewer: Principal,
    period: Period,
    community_slugs: Sequence[str],
    breakdowns: Sequence[Breakdown],
) -> Report:
    """The figures `viewer` may see for the period and communities, small cells suppressed."""
    scope = await scope_for(viewer, community_slugs)
    k = scope.k
    new_members = await _new_members(period, scope)
    donated = await _donations(period, scope, k)
    async with read_connection(engine) as connection:
        months = await _months(connection, period, scope, k)
        figures: dict[Breakdown, Figures] = {"month": months}
        for name in breakdowns:
            if name not in figures:
                figures[name] = await _BUILDERS[name](connection, period, scope, k)
        active, both = await active_member_counts(connection, period, scope)
        donations, grants = await _pool(connection, period, scope, k)
    return Report(
        period=period,
        scope=scope,
        k=k,
        total=months.total,
        active_members=_count(active, k),
        new_members=_count(new_members, k),
        gave_and_received=_count(both, k),
        pool_donations=donations,
        pool_grants=grants,
        donations=donated,
        breakdowns={name: figures[name] for name in breakdowns},
    )


__all__ = [
    "BREAKDOWNS",
    "Breakdown",
    "Count",
    "Figures",
    "Label",
    "Money",
    "Report",
    "report_build",
]
