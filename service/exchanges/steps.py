"""What every exchange step shares: refusals, the history, claiming a status."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import (
    LedgerError,
)
from service import clock
from service.errors import Conflict, DomainError, Invalid, invalid_field
from service.exchanges.selectors import (
    ExchangeView,
)
from service.exchanges.tables import Exchange, ExchangeEvent
from service.formatting import iso_day, minutes_text
from service.i18n import N_, _
from service.limits import (
    EXCHANGE_SERVICE_DATE_AHEAD_DAYS,
    EXCHANGE_SERVICE_DATE_PAST_DAYS,
)
from service.principal import Principal

EXPIRY_ACTOR = "system:expiry"  # ExpirePending's actor in the ledger
AUTOCONFIRM_ACTOR = "system:autoconfirm"  # who completed an exchange nobody answered

# Past participles for "cannot be <done> now".
_DONE = {
    "accept": N_("accepted"),
    "complete": N_("completed"),
    "cancel": N_("cancelled"),
    "decline": N_("declined"),
    "mark_done": N_("marked done"),
}
# An exchange's status as the refusal names it ("This exchange is completed, so...").
_STATUS_WORDS = {
    "proposed": N_("proposed"),
    "accepted": N_("accepted"),
    "completed": N_("completed"),
    "cancelled": N_("cancelled"),
    "declined": N_("declined"),
    "expired": N_("expired"),
    "disputed": N_("disputed"),
    "reversed": N_("reversed"),
}


def exchange_state_problem(status: str, detail: str) -> DomainError:
    return Conflict(code="exchange_state", detail=detail, extra={"exchange_status": status})


def service_date_in_future(service_date: datetime) -> DomainError:
    """Help cannot be confirmed before the day it is planned for."""
    return Conflict(
        code="service_date_in_future",
        detail=_("This help is planned for %(day)s: it can be confirmed once that time has come.")
        % {"day": iso_day(service_date)},
        extra={"service_date": service_date.isoformat()},
    )


def state_refusal(status: str, action: str) -> DomainError:
    return exchange_state_problem(
        status,
        _("This exchange is %(status)s, so it cannot be %(done)s now.")
        % {"status": _(_STATUS_WORDS.get(status, status)), "done": _(_DONE[action])},
    )


def insufficient_credit(
    error: LedgerError, *, short_member: uuid.UUID | None, name: str, caller: Principal
) -> DomainError:
    """409 insufficient_credit naming who is short (a party to the exchange).

    The available balance is private (ADR 0025): it is told to the member
    themselves, never to anyone else, coordinators and admins included.
    """
    if short_member == caller.member_id:
        available_minutes = int(error.data.get("available_minor") or 0)
        floor_minutes = error.data.get("floor_minor")
        return own_credit_problem(
            caller.member_id,
            available_minutes,
            None if floor_minutes is None else int(floor_minutes),
        )
    return counterparty_credit_problem(short_member, name)


def own_credit_problem(
    member_id: uuid.UUID, available_minutes: int, floor_minutes: int | None
) -> DomainError:
    """The caller cannot cover it: their own figures, nothing else.

    `available_minutes` is the balance less holds; what they may still spend
    goes down to their floor (which may be below zero).
    """
    spendable = max(0, available_minutes - (floor_minutes or 0))
    return Conflict(
        code="insufficient_credit",
        detail=_("Not enough credit: you have %(hours)s available.")
        % {"hours": minutes_text(available_minutes)},
        extra={
            "member_id": str(member_id),
            "available_minutes": available_minutes,
            "spendable_minutes": spendable,
        },
    )


def counterparty_credit_problem(short_member: uuid.UUID | None, name: str) -> DomainError:
    """Someone else cannot cover it: who (a party to the exchange), never their figures."""
    return Conflict(
        code="insufficient_credit",
        detail=_("Not enough credit: %(name)s does not have enough hours for this right now.")
        % {"name": name},
        extra={"member_id": str(short_member) if short_member else None},
    )


def service_date_checked(value: datetime, now: datetime, *, future_allowed: bool) -> datetime:
    service_date = value.astimezone(UTC)
    if service_date < now - timedelta(days=EXCHANGE_SERVICE_DATE_PAST_DAYS):
        raise invalid_field(
            "service_date",
            _("must be within the last %(days)s days") % {"days": EXCHANGE_SERVICE_DATE_PAST_DAYS},
        )
    if not future_allowed and service_date > now:
        raise invalid_field("service_date", _("a recorded exchange cannot be in the future"))
    if service_date > now + timedelta(days=EXCHANGE_SERVICE_DATE_AHEAD_DAYS):
        raise invalid_field(
            "service_date",
            _("must be within the next %(days)s days") % {"days": EXCHANGE_SERVICE_DATE_AHEAD_DAYS},
        )
    return service_date


def service_date_problems(value: datetime | None, *, future_allowed: bool) -> list[Invalid]:
    """`service_date_checked` for a form that asks before writing: its refusal, if any,
    as a list (a date the form could not read has nothing more to say)."""
    if value is None:
        return []
    try:
        service_date_checked(value, clock.utc_now(), future_allowed=future_allowed)
    except Invalid as problem:
        return [problem]
    return []


def description_checked(value: str) -> str:
    description = value.strip()
    if not description:
        raise invalid_field("description", _("must not be blank"))
    return description


async def history_event(
    exchange_id: uuid.UUID,
    actor: Principal | None,
    action: str,
    at: datetime,
    note: str = "",
    *,
    system_label: str = EXPIRY_ACTOR,
) -> None:
    """Append to the history; without an actor, the system did it (`system_label`)."""
    await ExchangeEvent.insert(
        ExchangeEvent(
            id=uuid.uuid4(),
            exchange=exchange_id,
            at=at,
            actor=actor.member_id if actor else None,
            actor_label=actor.label if actor else system_label,
            action=action,
            note=note,
            # A coordinator acting for the member (ADR 0031): both are kept.
            recorded_by=actor.acting_by_id if actor else None,
        )
    ).run()


async def claim_status(
    exchange_id: uuid.UUID, *, source: str, changes: Mapping[Any, Any], now: datetime
) -> bool:
    """The conditional UPDATE that decides who wins: True if this caller moved the row.

    An accepted exchange is claimable only while its hold runs; on PostgreSQL
    the UPDATE waits for a concurrent writer of the row and then re-checks.
    """
    where = (Exchange.id == exchange_id) & (Exchange.status == source)
    if source == "accepted":
        where &= Exchange.hold_expires_at > now
    rows = (
        await Exchange.update({**changes, Exchange.updated_at: now})
        .where(where)
        .returning(Exchange.id)
        .run()
    )
    return bool(rows)


def held_pendings(view: ExchangeView) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(recipient, pending transfer) of an accepted exchange."""
    held = []
    for recipient in view.recipients:
        assert recipient.pending_transfer_id is not None  # noqa: S101 - set on acceptance
        held.append((recipient.member_id, recipient.pending_transfer_id))
    return held


SUSPENSION_NOTE = "member suspended"
CLOSURE_NOTE = "member closed their account"


OPEN_STATUSES = ("proposed", "accepted")
