"""Rollups, recomputed: every rollup row checked against the recorded flows.

For tests, `timebank reports rebuild` and the benchmarks: it reads every flow,
so it is never run for a request.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from ledger.sql import Connection, as_uuid
from service.rollups.flows import (
    CELL_COLUMNS,
    FLOW_COLUMNS,
    CellKey,
    FlowDelta,
    cell_keys,
    flow_from_row,
    member_month_deltas,
    member_roles,
)


async def rollups_verify(connection: Connection) -> list[str]:
    """Recompute every rollup row from `reports_flow` and list where the tables differ.

    An empty list means the rollups are exactly what the recorded flows give.
    Reads every flow: for tests and occasional checks, not for each request.
    """
    expected_cells: dict[CellKey, list[int]] = defaultdict(lambda: [0, 0])
    expected_members: dict[tuple[CellKey, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    flows: list[FlowDelta] = []
    for row in await connection.fetch(f"SELECT {FLOW_COLUMNS}, minutes_net FROM reports_flow"):
        flow, net = flow_from_row(row), int(row["minutes_net"])
        live = int(net > 0)
        flows.append(FlowDelta(flow, net, live))
        for key in cell_keys(flow):
            expected_cells[key][0] += net
            expected_cells[key][1] += live
            for pseudonym, gave, received in member_roles(flow) if live else []:
                expected_members[(key, pseudonym)][0] += gave
                expected_members[(key, pseudonym)][1] += received
    problems = []
    actual_cells = {
        _cell_key(row): (int(row["minutes"]), int(row["exchanges"]), int(row["members"]))
        for row in await connection.fetch(
            f"SELECT {CELL_COLUMNS}, minutes, exchanges, members FROM reports_cell"
        )
    }
    member_counts: dict[CellKey, int] = defaultdict(int)
    for (key, _), (gave, received) in expected_members.items():
        if gave or received:
            member_counts[key] += 1
    for key in set(expected_cells) | set(actual_cells):
        minutes, exchanges = expected_cells.get(key, [0, 0])
        wanted = (minutes, exchanges, member_counts.get(key, 0))
        if actual_cells.get(key, (0, 0, 0)) != wanted:
            problems.append(f"cell {key}: {actual_cells.get(key)} != {wanted}")
    actual_members = {
        (_cell_key(row), as_uuid(row["member_key"])): (int(row["gave"]), int(row["received"]))
        for row in await connection.fetch(
            f"SELECT {CELL_COLUMNS}, member_key, gave, received FROM reports_cell_member"
        )
    }
    for member in set(expected_members) | set(actual_members):
        wanted_counts = tuple(expected_members.get(member, [0, 0]))
        if actual_members.get(member, (0, 0)) != wanted_counts:
            problems.append(f"member {member}: {actual_members.get(member)} != {wanted_counts}")
    return problems + await _verify_member_months(connection, flows)


async def _verify_member_months(connection: Connection, flows: list[FlowDelta]) -> list[str]:
    expected = {key: tuple(counts) for key, counts in member_month_deltas(flows).items()}
    actual = {
        (as_uuid(row["community"]), as_uuid(row["member_key"]), int(row["month"])): (
            int(row["gave"]),
            int(row["received"]),
        )
        for row in await connection.fetch(
            "SELECT community, member_key, month, gave, received FROM reports_member_month"
        )
    }
    problems = [
        f"member month {key}: {actual.get(key)} != {expected.get(key)}"
        for key in set(expected) | set(actual)
        if actual.get(key, (0, 0)) != expected.get(key, (0, 0))
    ]
    masks: dict[tuple[uuid.UUID, int, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    for (community, who, month), (gave, received) in expected.items():
        bit = 1 << (month % 100 - 1)
        mask = masks[(community, month // 100, who)]
        mask[0] |= bit if gave else 0
        mask[1] |= bit if received else 0
    stored = {
        (as_uuid(row["community"]), int(row["year"]), as_uuid(row["member_key"])): (
            int(row["gave_months"]),
            int(row["received_months"]),
        )
        for row in await connection.fetch(
            "SELECT community, year, member_key, gave_months, received_months "
            "FROM reports_member_year"
        )
    }
    problems += [
        f"member year {key}: {stored.get(key)} != {tuple(masks.get(key, [0, 0]))}"
        for key in set(masks) | set(stored)
        if stored.get(key, (0, 0)) != tuple(masks.get(key, [0, 0]))
    ]
    return problems


def _cell_key(row: Any) -> CellKey:
    return (
        row["dimension"],
        as_uuid(row["community"]),
        int(row["month"]),
        row["side"],
        as_uuid(row["other_community"]),
        row["key_a"],
        row["key_b"],
    )
