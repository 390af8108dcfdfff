"""Small-cell suppression: primary, then complementary, so no published figure rests on
fewer than k distinct members and no suppressed one can be worked out from the rest.

Pure functions over `Entry` values; no database. The rules (docs/adr, reports suppression):

* Primary: an entry (a cell, a row or column total, the grand total) whose
  flows involve fewer than k distinct members is suppressed. Empty entries
  (no flow) are published as zero: they rest on nobody.
* One-way breakdowns with a shown total: the suppressed entries' sum is the
  total minus the shown ones, so the suppressed entries together must rest on
  at least k distinct members; while they do not, the smallest published
  non-empty entry is suppressed too.
* Two-way tables with row, column and grand totals: each row and column
  (totals included) is such a line. Beyond that, with equations on both rows
  and columns, a suppressed entry can be solved exactly when it is a bridge of
  the graph whose nodes are rows and columns and whose edges are the
  suppressed entries. Each bridge is put on a cycle by suppressing the
  cheapest rectangle of entries around it. Repeated until nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

PRIMARY: Final = "primary"
COMPLEMENTARY: Final = "complementary"
Suppression = Literal["primary", "complementary"]

# Cost of suppressing an empty entry to close a cycle: only when nothing else will do.
_EMPTY_ENTRY_COST: Final = 10**15


@dataclass(frozen=True, slots=True)
class Members:
    """Who an entry rests on: exactly (a set of pseudonyms) while small, else just "many".

    `many` means at least k distinct members were seen; the exact set is
    only needed (and only fetched) for entries that might be below k.
    """

    keys: frozenset[uuid.UUID] = frozenset()
    many: bool = False

    def union(self, other: Members) -> Members:
        if self.many or other.many:
            return MANY
        return Members(self.keys | other.keys)

    def below(self, k: int) -> bool:
        return not self.many and len(self.keys) < k

    @property
    def empty(self) -> bool:
        return not self.many and not self.keys


MANY: Final = Members(many=True)
NOBODY: Final = Members()


def union_of(members: Iterable[Members]) -> Members:
    total = NOBODY
    for each in members:
        total = total.union(each)
        if total.many:
            return total
    return total


def normalised(members: Members, k: int) -> Members:
    """MANY once a set reaches k (callers may drop the exact keys then)."""
    return MANY if not members.many and len(members.keys) >= k else members


@dataclass(slots=True)
class Entry:
    """One published figure: minutes and exchanges of the flows in it, and who they involve."""

    key: Hashable
    minutes: int
    exchanges: int
    members: Members
    suppression: Suppression | None = field(default=None)

    @property
    def empty(self) -> bool:
        return self.members.empty and self.minutes == 0 and self.exchanges == 0

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    def suppress(self, reason: Suppression) -> None:
        if self.suppression is None:
            self.suppression = reason


def _primary(entries: Iterable[Entry], k: int) -> None:
    for entry in entries:
        if not entry.empty and entry.members.below(k):
            entry.suppress(PRIMARY)


def _smallest_published(entries: Iterable[Entry]) -> Entry | None:
    candidates = [entry for entry in entries if not entry.suppressed and not entry.empty]
    if not candidates:
        return None
    return min(candidates, key=lambda entry: (entry.minutes, entry.exchanges))


def _protect_line(line: Sequence[Entry], k: int) -> bool:
    """Make the suppressed entries of one line rest on >= k members together.

    Returns True if it suppressed something more.
    """
    changed = False
    while True:
        hidden = [entry for entry in line if entry.suppressed]
        if not hidden or not union_of(entry.members for entry in hidden).below(k):
            return changed
        extra = _smallest_published(line)
        if extra is None:
            return changed  # every non-empty entry is already hidden
        extra.suppress(COMPLEMENTARY)
        changed = True


def suppress_breakdown(entries: Sequence[Entry], total: Entry, k: int) -> None:
    """A one-way breakdown whose total is shown (months, categories, wards)."""
    line = [*entries, total]
    _primary(line, k)
    if total.suppressed:
        for entry in entries:
            if not entry.empty:
                entry.suppress(COMPLEMENTARY)
        return
    _protect_line(line, k)


def suppress_alone(entries: Iterable[Entry], k: int) -> None:
    """Figures shown without any total that would sum them (pool donations, grants)."""
    _primary(entries, k)


TOTAL: Final = "*"  # the key of the totals row and column


@dataclass
class Table:
    """A two-way table with row, column and grand totals: entries keyed (row, column).

    The totals sit in the row and column keyed TOTAL, so every row and every
    column of `grid` (totals included) is a line whose entries add up.
    """

    rows: list[Hashable]
    columns: list[Hashable]
    grid: dict[tuple[Hashable, Hashable], Entry]

    def line(self, row: Hashable | None = None, column: Hashable | None = None) -> list[Entry]:
        if row is not None:
            return [self.grid[(row, each)] for each in [*self.columns, TOTAL]]
        return [self.grid[(each, column)] for each in [*self.rows, TOTAL]]

    def lines(self) -> list[list[Entry]]:
        return [self.line(row=row) for row in [*self.rows, TOTAL]] + [
            self.line(column=column) for column in [*self.columns, TOTAL]
        ]

    def hidden_edges(self) -> list[tuple[Hashable, Hashable]]:
        return [position for position, entry in self.grid.items() if entry.suppressed]


Node = tuple[str, Hashable]  # ("r", row) or ("c", column): rows and columns kept apart


def _bridges(edges: Sequence[tuple[Hashable, Hashable]]) -> list[tuple[Hashable, Hashable]]:
    """Every bridge of the row-column graph of the hidden entries (Tarjan, iterative).

    Entries are distinct (row, column) pairs, so there are no parallel edges.
    """
    neighbours: dict[Node, list[tuple[Node, int]]] = {}
    for index, (row, column) in enumerate(edges):
        neighbours.setdefault(("r", row), []).append((("c", column), index))
        neighbours.setdefault(("c", column), []).append((("r", row), index))
    order: dict[Node, int] = {}
    low: dict[Node, int] = {}
    found = []
    for root, first in neighbours.items():
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[Node, int, Iterator[tuple[Node, int]]]] = [(root, -1, iter(first))]
        while stack:
            node, via, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        found.append(edges[via])
                continue
            nxt, index = step
            if index == via:
                continue
            if nxt in order:
                low[node] = min(low[node], order[nxt])
            else:
                order[nxt] = low[nxt] = len(order)
                stack.append((nxt, index, iter(neighbours[nxt])))
    return found


def _first_bridge(table: Table) -> tuple[Hashable, Hashable] | None:
    bridges = _bridges(table.hidden_edges())
    return bridges[0] if bridges else None


def _rectangle_cost(added: Sequence[Entry]) -> int:
    return sum(_EMPTY_ENTRY_COST if entry.empty else entry.minutes + 1 for entry in added)


def _close_cycle(table: Table, row: Hashable, column: Hashable) -> bool:
    """Suppress the cheapest rectangle (row, column), (row, c2), (r2, c2), (r2, column).

    Rows and columns with something in them are tried first (tables are
    sparse); every pair only when none of those closes a cycle without
    hiding an empty entry.
    """
    all_rows = [each for each in [*table.rows, TOTAL] if each != row]
    all_columns = [each for each in [*table.columns, TOTAL] if each != column]
    busy_rows = [r for r in all_rows if not table.grid[(r, column)].empty or r == TOTAL]
    busy_columns = [c for c in all_columns if not table.grid[(row, c)].empty or c == TOTAL]
    best: tuple[int, list[Entry]] | None = None
    for rows, columns in ((busy_rows, busy_columns), (all_rows, all_columns)):
        for other_row in rows:
            for other_column in columns:
                corners = [
                    table.grid[(row, other_column)],
                    table.grid[(other_row, other_column)],
                    table.grid[(other_row, column)],
                ]
                added = [entry for entry in corners if not entry.suppressed]
                cost = _rectangle_cost(added)
                if best is None or cost < best[0]:
                    best = (cost, added)
        if best is not None and best[0] < _EMPTY_ENTRY_COST:
            break
    if best is None:
        return False
    for entry in best[1]:
        entry.suppress(COMPLEMENTARY)
    return True


def suppress_table(table: Table, k: int) -> None:
    """Primary and complementary suppression of a table with all its totals shown."""
    entries = list(table.grid.values())
    _primary(entries, k)
    if table.grid[(TOTAL, TOTAL)].suppressed:
        for entry in entries:
            if not entry.empty:
                entry.suppress(COMPLEMENTARY)
        return
    while True:
        if any(_protect_line(line, k) for line in table.lines()):
            continue
        bridge = _first_bridge(table)
        if bridge is None:
            return
        if not _close_cycle(table, *bridge):
            for entry in entries:  # a table too small to hide anything in: hide it all
                if not entry.empty:
                    entry.suppress(COMPLEMENTARY)
            return


__all__ = [
    "COMPLEMENTARY",
    "MANY",
    "NOBODY",
    "PRIMARY",
    "TOTAL",
    "Entry",
    "Members",
    "Table",
    "normalised",
    "suppress_alone",
    "suppress_breakdown",
    "suppress_table",
    "union_of",
]
