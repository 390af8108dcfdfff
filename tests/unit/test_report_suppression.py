"""Suppression on random tables: nothing hidden can be solved for, nothing shown is small.

Pure functions (service/reports/suppression.py), so no database: hundreds of
seeded random breakdowns and two-way tables, each attacked with the same
equation solver the API tests use (tests/reports/attack.py).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Hashable

import pytest

from service.reports.suppression import (
    NOBODY,
    TOTAL,
    Entry,
    Members,
    Table,
    _bridges,
    normalised,
    suppress_breakdown,
    suppress_table,
    union_of,
)
from tests.reports.attack import recoverable

K = 5
PEOPLE = [uuid.UUID(int=n) for n in range(40)]


def _entry(key: Hashable, rng: random.Random, *, empty_share: float) -> Entry:
    if rng.random() < empty_share:
        return Entry(key, 0, 0, NOBODY)
    people = frozenset(rng.sample(PEOPLE, rng.choice([1, 2, 2, 3, 4, 6, 9, 15])))
    flows = rng.randint(len(people) // 2 + 1, len(people) + 3)
    return Entry(key, 15 * rng.randint(flows, flows * 8), flows, normalised(Members(people), K))


def _merged(key: Hashable, parts: list[Entry]) -> Entry:
    return Entry(
        key,
        sum(part.minutes for part in parts),
        sum(part.exchanges for part in parts),
        normalised(union_of(part.members for part in parts), K),
    )


def _value(entry: Entry) -> int | None:
    return None if entry.suppressed else entry.minutes


def _line(
    entries: list[tuple[Hashable, Entry]], total: tuple[Hashable, Entry]
) -> tuple[dict[Hashable, int], int]:
    coefficients: dict[Hashable, int] = {}
    constant = 0
    for sign, (name, entry) in [*((1, pair) for pair in entries), (-1, total)]:
        value = _value(entry)
        if value is None:
            coefficients[name] = sign
        else:
            constant -= sign * value
    return coefficients, constant


def _assert_safe_line(entries: list[Entry]) -> None:
    hidden = [entry for entry in entries if entry.suppressed]
    for entry in entries:
        if not entry.suppressed and not entry.empty:
            assert not entry.members.below(K), entry
    if hidden:
        assert not union_of(e.members for e in hidden).below(K) or all(
            entry.suppressed or entry.empty for entry in entries
        )


@pytest.mark.parametrize("seed", range(150))
def test_random_breakdowns_hide_small_cells_and_cannot_be_solved(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - seeded test data
    cells = [_entry(f"c{n}", rng, empty_share=0.2) for n in range(rng.randint(1, 12))]
    total = _merged(TOTAL, cells)
    suppress_breakdown(cells, total, K)
    _assert_safe_line([*cells, total])
    equation = _line([(cell.key, cell) for cell in cells], (TOTAL, total))
    assert recoverable([equation]) == set()


@pytest.mark.parametrize("seed", range(150))
def test_random_tables_hide_small_cells_and_cannot_be_solved(seed: int) -> None:
    rng = random.Random(1000 + seed)  # noqa: S311 - seeded test data
    rows: list[Hashable] = [f"r{n}" for n in range(rng.randint(1, 6))]
    columns: list[Hashable] = [f"c{n}" for n in range(rng.randint(1, 6))]
    grid: dict[tuple[Hashable, Hashable], Entry] = {
        (r, c): _entry((r, c), rng, empty_share=0.5) for r in rows for c in columns
    }
    for r in rows:
        grid[(r, TOTAL)] = _merged((r, TOTAL), [grid[(r, c)] for c in columns])
    for c in columns:
        grid[(TOTAL, c)] = _merged((TOTAL, c), [grid[(r, c)] for r in rows])
    grid[(TOTAL, TOTAL)] = _merged(TOTAL, [grid[(r, TOTAL)] for r in rows])
    table = Table(rows, columns, grid)
    suppress_table(table, K)
    for line in table.lines():
        _assert_safe_line(line)
    equations = [
        _line([((r, c), grid[(r, c)]) for c in columns], ((r, TOTAL), grid[(r, TOTAL)]))
        for r in [*rows, TOTAL]
    ] + [
        _line([((r, c), grid[(r, c)]) for r in rows], ((TOTAL, c), grid[(TOTAL, c)]))
        for c in [*columns, TOTAL]
    ]
    assert recoverable(equations) == set()


def _connected(edges: list[tuple[str, str]], start: str, goal: str) -> bool:
    seen, frontier = {("r", start)}, [("r", start)]
    while frontier:
        kind, name = frontier.pop()
        for row, column in edges:
            for here, there in ((("r", row), ("c", column)), (("c", column), ("r", row))):
                if here == (kind, name) and there not in seen:
                    seen.add(there)
                    frontier.append(there)
    return ("c", goal) in seen


@pytest.mark.parametrize("seed", range(60))
def test_bridges_match_the_definition(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - seeded test data
    pairs = {(f"r{rng.randrange(6)}", f"c{rng.randrange(6)}") for _ in range(rng.randint(0, 14))}
    edges = sorted(pairs)
    expected = {
        edge
        for index, edge in enumerate(edges)
        if not _connected(edges[:index] + edges[index + 1 :], *edge)
    }
    assert set(_bridges(edges)) == expected
