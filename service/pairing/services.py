"""Introducing a suggested pair, their arrangement for regular visits, and recording a visit.

The introduction is two conversations, coordinator and older member, coordinator
and younger member, so each can reply to the coordinator privately before they
meet; neither learns the other's contact details from it. The pair is stored
(`friendship_pair`) in the same transaction as both messages and the audit line,
so an introduction is all there or not at all (ADR 0040).

A recorded visit is a recorded exchange (service/exchanges/recording.py) whose id
is derived from the pair's plan and the visit's date: recording it again, or two
coordinators at once, moves the hours once.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from piccolo.engine.base import Engine

from ledger import Ledger, WriteTransaction, run_write
from service import clock
from service.blocks.selectors import blocked_between, refuse_if_blocked
from service.checks.services import home_check_refusal
from service.errors import Conflict, Forbidden, invalid_field
from service.exchanges.recording import exchange_record
from service.exchanges.schemas import RecordIn
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.i18n import _
from service.limits import EXCHANGE_SERVICE_DATE_PAST_DAYS
from service.members.audit import audit_record
from service.messages.services import conversation_start
from service.pairing.cadence import on_cadence, visit_exchange_id
from service.pairing.pairs import arrangement_out, on_hold, pair_row, plan_of, visit_pair_row
from service.pairing.schemas import (
    CADENCE_NAMES,
    WEEKDAY_NAMES,
    ArrangementIn,
    ArrangementOut,
    VisitRecordedOut,
)
from service.pairing.selectors import INTRODUCE_ACTION, Pair, introduced_pairs, suggested_pairs
from service.pairing.tables import FriendshipPair, VisitPlan
from service.principal import Principal, not_found

ARRANGEMENT_ACTION = "pairing.arrangement.set"
PAIR_END_ACTION = "pairing.pair.end"


def _introduction(member_name: str, other_name: str, other_offered: bool, pair: Pair) -> str:
    names = {
        "name": member_name,
        "other": other_name,
        "title": (pair.younger if other_offered else pair.older).listing_title,
    }
    # Written as the coordinator's message, in the language they use the site in.
    if other_offered:
        hello = _(
            "Hello %(name)s, I would like to introduce you to %(other)s, "
            'who offered company: "%(title)s". '
        )
    else:
        hello = _(
            "Hello %(name)s, I would like to introduce you to %(other)s, "
            'who asked for company: "%(title)s". '
        )
    return (
        hello % names
        + (_("You both live in %(ward)s. ") % {"ward": pair.older.ward} if pair.same_ward else "")
        + _("If you would like to meet, reply here and I will arrange a first visit.")
    )


async def pair_introduce(
    *, engine: Engine[Any], actor: Principal, older_id: uuid.UUID, younger_id: uuid.UUID
) -> uuid.UUID:
    """Introduce a pair the actor may see among their suggestions (else 404); the pair's id."""
    if (older_id, younger_id) in await introduced_pairs():
        raise Conflict(
            code="already_introduced", detail=_("These two have been introduced already.")
        )
    pairs = {(p.older.member_id, p.younger.member_id): p for p in await suggested_pairs(actor)}
    pair = pairs.get((older_id, younger_id))
    if pair is None:
        raise not_found(_("That pair"))
    await refuse_if_blocked(older_id, [younger_id])
    older, younger = pair.older, pair.younger
    pair_id = uuid.uuid4()
    now = clock.utc_now()

    async def work(_transaction: WriteTransaction) -> None:
        inserted = (
            await FriendshipPair.insert(
                FriendshipPair(
                    id=pair_id,
                    community=older.community_id,
                    older=older_id,
                    younger=younger_id,
                    introduced_by=actor.member_id,
                    introduced_at=now,
                    status="active",
                    ended_at=None,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(FriendshipPair.id)
            .run()
        )
        if not inserted:  # a second coordinator introduced them a moment ago
            raise Conflict(
                code="already_introduced", detail=_("These two have been introduced already.")
            )
        for member, other in ((older, younger), (younger, older)):
            await conversation_start(
                engine=engine,
                actor=actor,
                member_id=member.member_id,
                body=_introduction(member.display_name, other.display_name, other is younger, pair),
            )
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action=INTRODUCE_ACTION,
            target_type="member",
            target_id=str(older_id),
            community_id=older.community_id,
            after={
                "older_id": str(older_id),
                "younger_id": str(younger_id),
                "pair_id": str(pair_id),
            },
        )

    await run_write(engine, work)
    return pair_id


def _sides(row: dict[str, Any], provider_id: uuid.UUID | None) -> tuple[uuid.UUID, uuid.UUID]:
    """Who gives and who receives: the younger member gives unless the older is named."""
    older, younger = uuid.UUID(str(row["older"])), uuid.UUID(str(row["younger"]))
    provider = provider_id or younger
    if provider not in (older, younger):
        raise invalid_field("provider_id", _("must be one of the pair"))
    return provider, older if provider == younger else younger


async def arrangement_set(
    *, engine: Engine[Any], actor: Principal, pair_id: uuid.UUID, data: ArrangementIn
) -> ArrangementOut:
    """Set up (or change, or end) the pair's regular visits; audited."""
    row = await pair_row(actor, pair_id)
    if row["status"] != "active" and data.active:
        raise Conflict(
            code="pair_ended", detail=_("This pair has ended: visits cannot be planned.")
        )
    provider, recipient = _sides(row, data.provider_id)
    now = clock.utc_now()
    fields: dict[str, Any] = {
        "minutes": data.minutes,
        "cadence": data.cadence,
        "weekday": data.weekday,
        "starts_on": data.starts_on,
        "provider": provider,
        "recipient": recipient,
        "in_home": data.in_home,
        "status": "active" if data.active else "ended",
        "updated_by": actor.member_id,
        "updated_at": now,
    }

    async def work(_transaction: WriteTransaction) -> None:
        update = VisitPlan.update(**fields).where(VisitPlan.pair == pair_id)
        changed = await update.returning(VisitPlan.id)
        if not changed:
            await VisitPlan.insert(VisitPlan(id=uuid.uuid4(), pair=pair_id, **fields)).run()
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action=ARRANGEMENT_ACTION,
            target_type="pair",
            target_id=str(pair_id),
            community_id=uuid.UUID(str(row["community"])),
            after={
                "minutes": data.minutes,
                "cadence": data.cadence,
                "weekday": data.weekday,
                "starts_on": data.starts_on.isoformat(),
                "provider_id": str(provider),
                "in_home": data.in_home,
                "active": data.active,
            },
        )

    await run_write(engine, work)
    plan = await plan_of(pair_id)
    assert plan is not None  # noqa: S101 - written just above
    return arrangement_out(plan)


async def recorded_visit(pair_id: uuid.UUID, exchange_id: uuid.UUID) -> VisitRecordedOut | None:
    """A visit already recorded, as it was stored (so a repeat answers the same)."""
    exchange = await Exchange.objects().where(Exchange.id == exchange_id).first().run()
    if exchange is None:
        return None
    recipient = (
        await ExchangeRecipient.select(ExchangeRecipient.member)
        .where(ExchangeRecipient.exchange == exchange_id)
        .first()
        .run()
    )
    assert recipient is not None  # noqa: S101 - a recorded exchange has its recipient
    return VisitRecordedOut(
        pair_id=pair_id,
        visit_on=clock.local_day(exchange.service_date),
        exchange_id=exchange_id,
        minutes=exchange.minutes,
        provider_id=uuid.UUID(str(exchange.provider)),
        recipient_id=uuid.UUID(str(recipient["member"])),
    )


def _visit_day_checked(plan: VisitPlan, visit_on: date, today: date) -> None:
    if visit_on > today:
        raise invalid_field("visit_on", _("a visit cannot be recorded before it happens"))
    if visit_on < today - timedelta(days=EXCHANGE_SERVICE_DATE_PAST_DAYS):
        raise invalid_field(
            "visit_on",
            _("must be within the last %(days)s days") % {"days": EXCHANGE_SERVICE_DATE_PAST_DAYS},
        )
    starts_on = (
        plan.starts_on
        if isinstance(plan.starts_on, date)
        else date.fromisoformat(str(plan.starts_on)[:10])
    )
    if not on_cadence(visit_on, starts_on=starts_on, weekday=plan.weekday, cadence=plan.cadence):
        raise invalid_field(
            "visit_on",
            _("is not a visit day of this arrangement (%(cadence)s on %(weekday)s from %(day)s)")
            % {
                "cadence": _(CADENCE_NAMES[plan.cadence]).lower(),
                "weekday": _(WEEKDAY_NAMES[plan.weekday]),
                "day": starts_on.isoformat(),
            },
        )


async def visit_record(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    pair_id: uuid.UUID,
    visit_on: date,
) -> tuple[VisitRecordedOut, bool]:
    """Record the pair's visit on `visit_on` as a completed exchange; True when this call
    recorded it, False when it was recorded before (the same answer, nothing moved).
    Their coordinators record it, or the visitor (the plan's provider) does."""
    row = await visit_pair_row(actor, pair_id)
    plan = await plan_of(pair_id)
    if plan is None:
        raise Conflict(
            code="no_arrangement", detail=_("This pair has no arrangement for regular visits yet.")
        )
    exchange_id = visit_exchange_id(uuid.UUID(str(plan.id)), visit_on)
    done = await recorded_visit(pair_id, exchange_id)
    if done is not None:
        return done, False
    if row["status"] != "active" or plan.status != "active":
        raise Conflict(code="arrangement_ended", detail=_("This pair's regular visits have ended."))
    if on_hold(row):
        raise Conflict(
            code="pair_on_hold",
            detail=_(
                "Visits are on hold while one of this pair is not an active member."
                " Nothing was recorded."
            ),
        )
    _visit_day_checked(plan, visit_on, clock.local_today())
    provider, recipient = uuid.UUID(str(plan.provider)), uuid.UUID(str(plan.recipient))
    if await blocked_between(provider, recipient):
        raise Forbidden(
            code="blocked",
            detail=_("One of this pair has blocked the other: no visit can be recorded."),
        )
    if plan.in_home:
        await home_check_refusal(
            engine=engine,
            community_id=uuid.UUID(str(row["community"])),
            helper_id=provider,
            exchange_id=exchange_id,
        )
    await exchange_record(
        engine=engine,
        ledger=ledger,
        actor=actor,
        data=RecordIn(
            provider_id=provider,
            recipient_id=recipient,
            minutes=plan.minutes,
            service_date=clock.day_starts_at(visit_on),
            description=_("Friendship visit of %(younger)s and %(older)s, %(day)s")
            % {
                "younger": row["younger_name"],
                "older": row["older_name"],
                "day": visit_on.isoformat(),
            },
        ),
        keyed_id=exchange_id,
        in_home=plan.in_home,
        provider_records=True,  # visit_pair_row let only coordinators and the provider by
    )
    recorded = await recorded_visit(pair_id, exchange_id)
    assert recorded is not None  # noqa: S101 - recorded just above (or by a twin)
    return recorded, True


async def pairs_end_for_closure(
    *, engine: Engine[Any], ledger: Ledger, principal: Principal
) -> None:
    """Closure step (inside the closure's transaction): the leaver's pairs and their
    regular visits end; visits already recorded stay, as every exchange does."""
    del engine, ledger  # the step's signature; nothing here moves hours
    member_id = principal.member_id
    now = clock.utc_now()
    ended = await (
        FriendshipPair.update({FriendshipPair.status: "ended", FriendshipPair.ended_at: now})
        .where(
            ((FriendshipPair.older == member_id) | (FriendshipPair.younger == member_id))
            & (FriendshipPair.status == "active")
        )
        .returning(FriendshipPair.id, FriendshipPair.community)
    )
    if not ended:
        return
    pair_ids = [row["id"] for row in ended]
    await VisitPlan.update(
        {VisitPlan.status: "ended", VisitPlan.updated_at: now, VisitPlan.updated_by: None}
    ).where(VisitPlan.pair.is_in(pair_ids))
    for row in ended:
        await audit_record(
            actor_id=member_id,
            actor_label=principal.label,
            action=PAIR_END_ACTION,
            target_type="pair",
            target_id=str(row["id"]),
            community_id=uuid.UUID(str(row["community"])),
            reason="a member of the pair closed their account",
            after={"status": "ended"},
        )
