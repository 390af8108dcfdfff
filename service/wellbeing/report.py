"""Change in wellbeing over time, for the impact report: averages over members, never answers.

For each member of the selected communities with two or more check-ins taken
before the period's end, the change is their latest answer minus their first,
per measure; the report shows the mean change per measure and the share of
those members whose loneliness score (UCLA, 3-9) went down. Nothing comes out
unless at least k members contributed: below that the figures are None.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.sql import Connection
from service import database
from service.wellbeing.services import MEASURES, Answers

CHANGE_DECIMALS = 2


@dataclass(frozen=True, slots=True)
class WellbeingChange:
    """None everywhere while fewer than k members had two check-ins."""

    members: int | None
    mean_change: dict[str, float] | None
    loneliness_improved_share: float | None

    @property
    def suppressed(self) -> bool:
        return self.members is None


async def wellbeing_change(
    connection: Connection,
    community_ids: Sequence[uuid.UUID],
    *,
    ends_before: datetime,
    k: int,
) -> WellbeingChange:
    """Read on `connection` (the impact report's: a replica's, ADR 0047)."""
    if not community_ids:
        return WellbeingChange(None, None, None)
    in_scope, ids = connection.id_list(community_ids, 2)
    rows = await connection.fetch(
        "SELECT w.member, w.taken_at, "
        + ", ".join(f"w.{name}" for name in MEASURES)
        + " FROM wellbeing_checkin w JOIN member_member m ON m.id = w.member"
        f" WHERE m.community {in_scope} AND w.taken_at < $1"
        " ORDER BY w.member, w.taken_at, w.id",
        database.stored_instant(connection, ends_before),
        *ids,
    )
    by_member: dict[Any, list[Answers]] = defaultdict(list)
    for row in rows:
        by_member[str(row["member"])].append(Answers(**{name: int(row[name]) for name in MEASURES}))
    pairs = [(answers[0], answers[-1]) for answers in by_member.values() if len(answers) >= 2]  # noqa: PLR2004 - first and last
    if len(pairs) < k or not pairs:
        return WellbeingChange(None, None, None)
    mean_change = {
        name: round(
            sum(getattr(last, name) - getattr(first, name) for first, last in pairs) / len(pairs),
            CHANGE_DECIMALS,
        )
        for name in MEASURES
    }
    mean_change["loneliness"] = round(
        sum(last.loneliness - first.loneliness for first, last in pairs) / len(pairs),
        CHANGE_DECIMALS,
    )
    improved = sum(1 for first, last in pairs if last.loneliness < first.loneliness)
    return WellbeingChange(
        members=len(pairs),
        mean_change=mean_change,
        loneliness_improved_share=round(improved / len(pairs), CHANGE_DECIMALS),
    )
