"""The wellbeing API's bodies: a check-in in, the member's own check-ins out."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from service.wellbeing.services import Answers, CheckInView


class CheckInIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The ONS questions 0-10, the UCLA items 1-3; `consent` must be true to keep them."""

    consent: bool
    life_satisfaction: int
    worthwhile: int
    happy_yesterday: int
    anxious_yesterday: int
    lack_companionship: int
    left_out: int
    isolated: int

    def answers(self) -> Answers:
        return Answers(
            life_satisfaction=self.life_satisfaction,
            worthwhile=self.worthwhile,
            happy_yesterday=self.happy_yesterday,
            anxious_yesterday=self.anxious_yesterday,
            lack_companionship=self.lack_companionship,
            left_out=self.left_out,
            isolated=self.isolated,
        )


class CheckInOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    taken_at: datetime
    life_satisfaction: int
    worthwhile: int
    happy_yesterday: int
    anxious_yesterday: int
    lack_companionship: int
    left_out: int
    isolated: int
    loneliness: int  # the UCLA total, 3-9


class WellbeingOut(msgspec.Struct, kw_only=True):
    due: bool  # a check-in is offered now (on joining, then every six months)
    items: list[CheckInOut]


def checkin_out(view: CheckInView) -> CheckInOut:
    answers = view.answers
    return CheckInOut(
        id=view.id,
        taken_at=view.taken_at,
        life_satisfaction=answers.life_satisfaction,
        worthwhile=answers.worthwhile,
        happy_yesterday=answers.happy_yesterday,
        anxious_yesterday=answers.anxious_yesterday,
        lack_companionship=answers.lack_companionship,
        left_out=answers.left_out,
        isolated=answers.isolated,
        loneliness=answers.loneliness,
    )
