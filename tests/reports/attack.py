"""An attacker's tool: which suppressed figures can be worked out from the published ones?

The published figures of a breakdown obey linear equations (cells add up to
their row and column totals, totals to the grand total). Treat every
suppressed figure as an unknown; an unknown is recovered exactly when its unit
vector lies in the row space of the equations restricted to the unknowns.
Exact rational arithmetic (Fractions), so no rounding hides a recovery.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction
from typing import Any

Equation = tuple[dict[Hashable, int], int]  # (coefficients of unknowns, constant)


def _rank(matrix: list[list[Fraction]]) -> int:
    rows = [row[:] for row in matrix]
    rank = 0
    columns = len(rows[0]) if rows else 0
    for column in range(columns):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][column] != 0:
                factor = rows[r][column] / rows[rank][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def recoverable(equations: Sequence[Equation]) -> set[Hashable]:
    """Unknowns whose exact value follows from the equations."""
    unknowns = sorted({name for coefficients, _ in equations for name in coefficients}, key=str)
    if not unknowns:
        return set()
    matrix = [
        [Fraction(coefficients.get(name, 0)) for name in unknowns] for coefficients, _ in equations
    ]
    base = _rank(matrix)
    found = set()
    for index, name in enumerate(unknowns):
        unit = [Fraction(int(i == index)) for i in range(len(unknowns))]
        if _rank([*matrix, unit]) == base:
            found.add(name)
    return found


def _line(known_and_unknown: list[tuple[Hashable, int | None, int]]) -> Equation:
    """sum(sign * value) = 0, with None values as unknowns named by their key."""
    coefficients: dict[Hashable, int] = {}
    constant = 0
    for name, value, sign in known_and_unknown:
        if value is None:
            coefficients[name] = coefficients.get(name, 0) + sign
        else:
            constant -= sign * value
    return coefficients, constant


def equations_of(flows: dict[str, Any], measure: str) -> list[Equation]:
    """The equations a reader of one /reports/flows response can write down."""
    total = ("total",)
    cells = {(c["row"], c["column"]): c[measure] for c in flows["cells"]}
    grand = flows["total"][measure]
    if not flows["columns"]:
        return [_line([*((key, value, 1) for key, value in cells.items()), (total, grand, -1)])]
    rows = [label["key"] for label in flows["rows"]]
    columns = [label["key"] for label in flows["columns"]]
    row_totals = {c["row"]: c[measure] for c in flows["row_totals"]}
    column_totals = {c["column"]: c[measure] for c in flows["column_totals"]}
    equations = [
        _line(
            [
                *(((r, c), cells[(r, c)], 1) for c in columns),
                (("row", r), row_totals[r], -1),
            ]
        )
        for r in rows
    ]
    equations += [
        _line(
            [
                *(((r, c), cells[(r, c)], 1) for r in rows),
                (("column", c), column_totals[c], -1),
            ]
        )
        for c in columns
    ]
    equations.append(_line([*((("row", r), row_totals[r], 1) for r in rows), (total, grand, -1)]))
    equations.append(
        _line([*((("column", c), column_totals[c], 1) for c in columns), (total, grand, -1)])
    )
    return equations


def recovered_figures(flows: dict[str, Any]) -> set[Hashable]:
    """Suppressed figures (minutes or exchanges) of a response that can be worked out."""
    return recoverable(equations_of(flows, "minutes")) | recoverable(
        equations_of(flows, "exchanges")
    )
