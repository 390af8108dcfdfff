"""Wellbeing check-ins for the demo (issue 19): most of the club's regulars and a few
more answered when they joined, about seven months ago, and again last month, so the
impact page shows a change in wellbeing from more members than the threshold.

Through the same service a member's answers go through, with consent, once. Tom has
not answered yet, so signing in as him shows the check-in offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.base import Engine

from service.principal import Principal
from service.wellbeing.services import Answers, checkin_record
from service.wellbeing.tables import CheckIn

FIRST_CHECKIN_DAYS_AGO = 210  # when they joined, about seven months ago
SECOND_CHECKIN_DAYS_AGO = 30  # six months on
# (life satisfaction, worthwhile, happy, anxious, and the three loneliness items):
# before, then after; most feel less lonely after a half-year of the club.
ANSWERS: Mapping[str, tuple[Answers, Answers]] = {
    "margaret@demo.example": (Answers(5, 6, 4, 6, 3, 3, 3), Answers(7, 7, 7, 4, 2, 1, 2)),
    "george@demo.example": (Answers(4, 5, 5, 5, 3, 2, 3), Answers(6, 7, 6, 4, 2, 2, 2)),
    "doreen@demo.example": (Answers(6, 6, 5, 3, 2, 3, 2), Answers(7, 8, 7, 3, 1, 2, 1)),
    "fatima@demo.example": (Answers(7, 7, 6, 4, 2, 2, 1), Answers(7, 8, 7, 3, 1, 1, 1)),
    "oliver@demo.example": (Answers(6, 5, 6, 5, 2, 2, 2), Answers(6, 6, 6, 5, 2, 2, 2)),
    "aisha@demo.example": (Answers(5, 7, 5, 6, 3, 2, 2), Answers(7, 8, 6, 4, 2, 1, 1)),
    "kwame@demo.example": (Answers(6, 6, 6, 4, 2, 2, 2), Answers(6, 7, 7, 3, 2, 1, 2)),
}


async def load_wellbeing_demo(
    *, engine: Engine[Any], people: Mapping[str, Principal], now: datetime | None = None
) -> list[str]:
    """Two check-ins for each person in ANSWERS, once."""
    answering = {email: people[email] for email in ANSWERS if email in people}
    ids = [member.member_id for member in answering.values()]
    if not ids or await CheckIn.exists().where(CheckIn.member.is_in(ids)).run():
        return []
    now = now or datetime.now(UTC)
    for email, member in answering.items():
        before, after = ANSWERS[email]
        for answers, days_ago in (
            (before, FIRST_CHECKIN_DAYS_AGO),
            (after, SECOND_CHECKIN_DAYS_AGO),
        ):
            await checkin_record(
                engine=engine,
                actor=member,
                answers=answers,
                consent=True,
                now=now - timedelta(days=days_ago),
            )
    return [f"wellbeing check-ins: two each for {len(answering)} members, six months apart"]
