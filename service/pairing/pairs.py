"""Introduced pairs as a coordinator reads them: each with its visit plan and recent visits."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from service import clock
from service.exchanges.tables import Exchange
from service.i18n import _
from service.limits import PAIRS_LISTED_MAX, VISITS_SHOWN_MAX
from service.pairing.cadence import visit_days, visit_exchange_id
from service.pairing.schemas import ArrangementOut, PairOut, VisitOut
from service.pairing.tables import FriendshipPair, VisitPlan
from service.principal import Principal, not_found

_PAIR_COLUMNS = (
    FriendshipPair.id,
    FriendshipPair.community,
    FriendshipPair.older,
    FriendshipPair.younger,
    FriendshipPair.introduced_at,
    FriendshipPair.status,
    FriendshipPair.older.display_name.as_alias("older_name"),
    FriendshipPair.younger.display_name.as_alias("younger_name"),
    FriendshipPair.older.status.as_alias("older_status"),
    FriendshipPair.younger.status.as_alias("younger_status"),
)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def may_coordinate_pair(actor: Principal, community_id: uuid.UUID) -> bool:
    return actor.is_admin or actor.coordinates(community_id)


async def pair_row(actor: Principal, pair_id: uuid.UUID) -> dict[str, Any]:
    """The pair, if the actor coordinates its community (admins: any); else 404, the
    same answer as for an id that does not exist (ADR 0025)."""
    row = await FriendshipPair.select(*_PAIR_COLUMNS).where(FriendshipPair.id == pair_id).first()
    if row is None or not may_coordinate_pair(actor, _uuid(row["community"])):
        raise not_found(_("That pair"))
    return row


async def pair_visible(actor: Principal, pair_id: uuid.UUID) -> None:
    """The object checker of routes on one pair (`on_object("pair", "pair_id")`)."""
    await pair_row(actor, pair_id)


async def visit_pair_row(actor: Principal, pair_id: uuid.UUID) -> dict[str, Any]:
    """The pair, for recording its visits: its coordinators, or the member who gives the
    time in its visit plan (the visitor records their own visit); else 404."""
    row = await FriendshipPair.select(*_PAIR_COLUMNS).where(FriendshipPair.id == pair_id).first()
    if row is not None and may_coordinate_pair(actor, _uuid(row["community"])):
        return row
    plan = await plan_of(pair_id) if row is not None else None
    if row is None or plan is None or _uuid(plan.provider) != actor.member_id:
        raise not_found(_("That pair"))
    return row


async def pair_visit_visible(actor: Principal, pair_id: uuid.UUID) -> None:
    """The object checker of the visitor's own route (`on_object("pair_visit", ...)`)."""
    await visit_pair_row(actor, pair_id)


async def plan_of(pair_id: uuid.UUID) -> VisitPlan | None:
    plan: VisitPlan | None = (
        await VisitPlan.objects().where(VisitPlan.pair == pair_id).first().run()
    )
    return plan


def arrangement_out(plan: VisitPlan) -> ArrangementOut:
    return ArrangementOut(
        id=_uuid(plan.id),
        minutes=plan.minutes,
        cadence=plan.cadence,  # type: ignore[arg-type]  # the CHECK holds it to the two
        weekday=plan.weekday,
        starts_on=_day(plan.starts_on),
        provider_id=_uuid(plan.provider),
        recipient_id=_uuid(plan.recipient),
        in_home=plan.in_home,
        status=plan.status,  # type: ignore[arg-type]
    )


async def recent_visits(plan: VisitPlan | None, today: date) -> list[VisitOut]:
    """The plan's latest visit days up to today, each recorded (an exchange) or not."""
    if plan is None:
        return []
    days = visit_days(
        starts_on=_day(plan.starts_on),
        weekday=plan.weekday,
        cadence=plan.cadence,
        until=today,
        count=VISITS_SHOWN_MAX,
    )
    plan_id = _uuid(plan.id)
    ids = {day: visit_exchange_id(plan_id, day) for day in days}
    recorded: set[uuid.UUID] = set()
    if ids:
        rows = await Exchange.select(Exchange.id).where(Exchange.id.is_in(list(ids.values())))
        recorded = {_uuid(row["id"]) for row in rows}
    return [
        VisitOut(visit_on=day, exchange_id=ids[day] if ids[day] in recorded else None)
        for day in days
    ]


def on_hold(row: dict[str, Any]) -> bool:
    """An active pair one of whose members is not active now (suspended pending a review,
    say): no visit is recorded until they are, and nothing about the pair is changed, so it
    goes on by itself when they are reinstated."""
    members_active = row["older_status"] == "active" and row["younger_status"] == "active"
    return row["status"] == "active" and not members_active


async def pair_out(row: dict[str, Any], today: date) -> PairOut:
    plan = await plan_of(_uuid(row["id"]))
    return PairOut(
        id=_uuid(row["id"]),
        community_id=_uuid(row["community"]),
        older_id=_uuid(row["older"]),
        older_name=row["older_name"],
        younger_id=_uuid(row["younger"]),
        younger_name=row["younger_name"],
        introduced_at=row["introduced_at"],
        status=row["status"],
        on_hold=on_hold(row),
        arrangement=None if plan is None else arrangement_out(plan),
        visits=await recent_visits(plan, today),
    )


async def pairs_of_member(actor: Principal) -> list[PairOut]:
    """The pairs the actor is one of, for their own API: with the plan and recent visits."""
    rows = await FriendshipPair.select(*_PAIR_COLUMNS).where(
        (FriendshipPair.older == actor.member_id) | (FriendshipPair.younger == actor.member_id)
    )
    today = clock.local_today()
    return [await pair_out(row, today) for row in rows]


async def pairs_listed(actor: Principal) -> list[PairOut]:
    """The pairs of the communities the actor coordinates (all, for an admin): active
    ones first, then the newest introduced."""
    query = FriendshipPair.select(*_PAIR_COLUMNS)
    if not actor.is_admin:
        communities = list(actor.coordinated_communities)
        if not communities:
            return []
        query = query.where(FriendshipPair.community.is_in(communities))
    rows = await query.order_by(FriendshipPair.introduced_at, ascending=False).limit(
        PAIRS_LISTED_MAX
    )
    rows.sort(key=lambda row: row["status"] != "active")  # stable: newest first within each
    today = clock.local_today()
    return [await pair_out(row, today) for row in rows]
