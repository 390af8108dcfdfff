"""Wellbeing check-ins (writes and the member's own reads): answer, skip, delete, erase.

A check-in is optional and needs the member's consent, given with the answers
(the form's ticked box, `consent: true` in the API). Answers are the member's
own: only they see them (page, API, export); the impact report reads them only
as changes averaged over at least k members (service/reports/impact.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Final

from piccolo.engine.base import Engine

from ledger import WriteTransaction, run_write
from service import clock
from service.errors import Invalid
from service.i18n import N_, _
from service.limits import (
    WELLBEING_INTERVAL_DAYS,
    WELLBEING_LISTED_MAX,
    WELLBEING_ONS_MAX,
    WELLBEING_ONS_MIN,
    WELLBEING_UCLA_MAX,
    WELLBEING_UCLA_MIN,
)
from service.principal import Principal, not_found
from service.wellbeing.tables import CheckIn, Skip

ONS_QUESTIONS: Final = {
    "life_satisfaction": N_("Overall, how satisfied are you with your life nowadays?"),
    "worthwhile": N_(
        "Overall, to what extent do you feel that the things you do in your life are worthwhile?"
    ),
    "happy_yesterday": N_("Overall, how happy did you feel yesterday?"),
    "anxious_yesterday": N_(
        "On a scale where 0 is not at all anxious and 10 is completely "
        "anxious, overall, how anxious did you feel yesterday?"
    ),
}
UCLA_QUESTIONS: Final = {
    "lack_companionship": N_("How often do you feel that you lack companionship?"),
    "left_out": N_("How often do you feel left out?"),
    "isolated": N_("How often do you feel isolated from others?"),
}
UCLA_ANSWERS: Final = {1: N_("Hardly ever"), 2: N_("Some of the time"), 3: N_("Often")}


@dataclass(frozen=True, slots=True)
class Answers:
    life_satisfaction: int
    worthwhile: int
    happy_yesterday: int
    anxious_yesterday: int
    lack_companionship: int
    left_out: int
    isolated: int

    @property
    def loneliness(self) -> int:
        """The UCLA three-item total, 3 (least lonely) to 9."""
        return self.lack_companionship + self.left_out + self.isolated


MEASURES: Final = tuple(field.name for field in fields(Answers))


@dataclass(frozen=True, slots=True)
class CheckInView:
    id: uuid.UUID
    taken_at: datetime
    answers: Answers


def _range_errors(answers: Answers) -> list[dict[str, str]]:
    errors = []
    for name in MEASURES:
        value = getattr(answers, name)
        low, high = (
            (WELLBEING_ONS_MIN, WELLBEING_ONS_MAX)
            if name in ONS_QUESTIONS
            else (WELLBEING_UCLA_MIN, WELLBEING_UCLA_MAX)
        )
        if not low <= value <= high:
            message = _("must be a whole number %(low)s to %(high)s") % {"low": low, "high": high}
            errors.append({"field": name, "message": message})
    return errors


async def checkin_record(
    *,
    engine: Engine[Any],
    actor: Principal,
    answers: Answers,
    consent: bool,
    now: datetime | None = None,
) -> CheckInView:
    """Store one check-in; without consent nothing is kept (422 `consent_required`).
    `now` is for the demo's history; members' check-ins are taken now."""
    if not consent:
        raise Invalid(
            code="consent_required",
            detail=_("Tick the box to say we may keep these answers, or skip the check-in."),
            extra={"errors": [{"field": "consent", "message": "must be true"}]},
        )
    errors = _range_errors(answers)
    if errors:
        raise Invalid(
            code="validation_failed",
            detail=_("Some answers are outside their scale."),
            extra={"errors": errors},
        )
    now = now or clock.utc_now()
    checkin_id = uuid.uuid4()

    async def work(_transaction: WriteTransaction) -> None:
        row = CheckIn(
            id=checkin_id, member=actor.member_id, taken_at=now, consented_at=now,
            **{name: getattr(answers, name) for name in MEASURES},
        )  # fmt: skip
        await CheckIn.insert(row).run()
        await Skip.delete().where(Skip.member == actor.member_id).run()

    await run_write(engine, work)
    return CheckInView(checkin_id, now, answers)


async def checkin_skip(*, engine: Engine[Any], actor: Principal) -> None:
    """ "Not now": the offer comes back after WELLBEING_INTERVAL_DAYS."""
    now = clock.utc_now()

    async def work(_transaction: WriteTransaction) -> None:
        await Skip.delete().where(Skip.member == actor.member_id).run()
        await Skip.insert(Skip(member=actor.member_id, skipped_at=now)).run()

    await run_write(engine, work)


async def checkin_delete(*, engine: Engine[Any], actor: Principal, checkin_id: uuid.UUID) -> None:
    """Delete one of the member's own check-ins; anyone else's is "not found"."""

    async def work(_transaction: WriteTransaction) -> None:
        mine = (CheckIn.id == checkin_id) & (CheckIn.member == actor.member_id)
        if not await CheckIn.exists().where(mine).run():
            raise not_found(_("That check-in"))
        await CheckIn.delete().where(mine).run()

    await run_write(engine, work)


async def wellbeing_erase(member_id: uuid.UUID) -> None:
    """A closing member's check-ins and skips go with the account (inside the closure)."""
    await CheckIn.delete().where(CheckIn.member == member_id).run()
    await Skip.delete().where(Skip.member == member_id).run()


def _view(row: dict[str, Any]) -> CheckInView:
    return CheckInView(
        id=row["id"],
        taken_at=row["taken_at"],
        answers=Answers(**{name: int(row[name]) for name in MEASURES}),
    )


async def checkins_of(
    member_id: uuid.UUID, *, limit: int = WELLBEING_LISTED_MAX
) -> list[CheckInView]:
    """The member's own check-ins, newest first."""
    rows = (
        await CheckIn.select()
        .where(CheckIn.member == member_id)
        .order_by(CheckIn.taken_at, ascending=False)
        .limit(limit)
        .run()
    )
    return [_view(row) for row in rows]


async def checkin_due(principal: Principal, *, now: datetime | None = None) -> bool:
    """Offer a check-in: an approved member with no answer or "not now" in the interval.

    New members have neither, so the offer comes when they join.
    """
    if principal.status != "active" or principal.acting_by_id is not None:
        return False
    since = (now or clock.utc_now()) - timedelta(days=WELLBEING_INTERVAL_DAYS)
    answered = (
        await CheckIn.exists()
        .where((CheckIn.member == principal.member_id) & (CheckIn.taken_at > since))
        .run()
    )
    if answered:
        return False
    skipped = (
        await Skip.exists()
        .where((Skip.member == principal.member_id) & (Skip.skipped_at > since))
        .run()
    )
    return not skipped


async def wellbeing_erase_for_closure(
    *, engine: Engine[Any], ledger: Any, principal: Principal
) -> None:
    """Closure step (inside the closure's transaction): the member's check-ins go too."""
    del engine, ledger  # the step's signature; nothing here touches hours
    await wellbeing_erase(principal.member_id)
