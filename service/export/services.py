"""A member's data export (product.md journey 9): everything held about them, as JSON.

The export is composed here, above the features, because the members feature
sits at the bottom of the feature stack (docs/architecture.md). Each
feature gives its part through its own selectors, which decide what the member
may see; this module only bounds each part and writes it as plain JSON values.

Top-level keys: the members feature's own (`exported_at`, `profile`, `roles`,
`account`, `statement`, `sessions`, `api_tokens`, `audit`; their shapes are
relied on by outside clients and do not change), then `listings`, `exchanges`,
`disputes`, `donations`, `notices` (in-app notices of mailed events),
`conversations` (with every message in them, the other member's too: the member
read them), `blocks` (members they blocked), `concerns` (those they reported,
with the outcome),
`thanks_given`, `thanks_received` (hidden ones too), `checks` (safeguarding
checks coordinators recorded for the member), `friendship_pairs` (pairs they are
one of, with the visit plan and recent visit days, ADR 0040), `events` (meetings
they said they would go to or wait for, and those the register has them at),
`wellbeing` (their own check-ins), and
`truncated`: the names of the parts cut short at
their limit (service/limits.py), empty when the export is whole.

Other members appear only as a party sees them through the API: id and display
name, their side of an exchange's history, their statements in a dispute
thread the member can read. Never an email, a balance or a statement line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from ledger import Ledger
from service.accounts.selectors import account_of
from service.blocks.selectors import blocks_of
from service.checks.services import checks_of
from service.concerns.selectors import concerns_reported_by
from service.disputes.selectors import DisputeView, dispute_get, disputes_of
from service.donations.member_gifts import MemberGift, donations_of_member
from service.events.selectors import events_of_member
from service.exchanges.selectors import ExchangeView, exchanges_of
from service.limits import (
    BLOCKS_MAX,
    CHECKS_LISTED_MAX,
    CONCERNS_PER_PAGE,
    CONVERSATIONS_PER_PAGE,
    EXPORT_DISPUTES_MAX,
    EXPORT_DONATIONS_MAX,
    EXPORT_EVENTS_MAX,
    EXPORT_EXCHANGES_MAX,
    EXPORT_LISTINGS_MAX,
    EXPORT_NOTICES_MAX,
    EXPORT_STATEMENT_LINES_MAX,
    EXPORT_THANKS_MAX,
    PAGE_SIZE_MAX,
    PAIRS_LISTED_MAX,
    WELLBEING_LISTED_MAX,
)
from service.listings.services import listings_of_member
from service.mail.notices import event_notices_of
from service.members import services as members
from service.messages.selectors import conversations_of, messages_of
from service.neighbours.selectors import thanks_given, thanks_received
from service.pairing.pairs import pairs_of_member
from service.principal import Principal
from service.wellbeing.schemas import checkin_out
from service.wellbeing.services import checkins_of

# A part of the export: given the member and how many items at most, its items.
Gatherer = Callable[[Principal, int], Awaitable[Sequence[Any]]]


async def member_export(*, ledger: Ledger, principal: Principal) -> dict[str, Any]:
    """Everything held about the member, as plain JSON values (see the module's notes)."""
    export = await members.member_export(
        ledger=ledger, principal=principal, statement_lines_max=EXPORT_STATEMENT_LINES_MAX + 1
    )
    # The account part adds how far a dispute override left the member below their floor.
    export["account"] = await account_of(ledger=ledger, principal=principal)
    truncated: list[str] = []
    if len(export["statement"]) > EXPORT_STATEMENT_LINES_MAX:
        export["statement"] = export["statement"][:EXPORT_STATEMENT_LINES_MAX]
        truncated.append("statement")
    parts: tuple[tuple[str, Gatherer, int], ...] = (
        ("listings", _listings, EXPORT_LISTINGS_MAX),
        ("exchanges", _exchanges, EXPORT_EXCHANGES_MAX),
        ("disputes", _disputes, EXPORT_DISPUTES_MAX),
        ("donations", _donations, EXPORT_DONATIONS_MAX),
        ("notices", _notices, EXPORT_NOTICES_MAX),
        ("conversations", _conversations, EXPORT_CONVERSATIONS_MAX),
        ("blocks", _blocks, BLOCKS_MAX),
        ("concerns", _concerns, CONCERNS_PER_PAGE),
        ("thanks_given", _thanks_given, EXPORT_THANKS_MAX),
        ("thanks_received", _thanks_received, EXPORT_THANKS_MAX),
        ("checks", _checks, CHECKS_LISTED_MAX),
        ("friendship_pairs", _friendship_pairs, PAIRS_LISTED_MAX),
        ("events", _events, EXPORT_EVENTS_MAX),
        ("wellbeing", _wellbeing, WELLBEING_LISTED_MAX),
    )
    for name, gather, items_max in parts:
        # One more than the limit tells a whole part from one cut short.
        items = await gather(principal, items_max + 1)
        if len(items) > items_max:
            truncated.append(name)
        export[name] = msgspec.to_builtins(list(items[:items_max]))
    export["truncated"] = truncated
    return export


# Listings ---------------------------------------------------------------------


async def _listings(principal: Principal, limit: int) -> Sequence[Any]:
    """The member's listings, open and withdrawn, as the listings API shows them."""
    return await listings_of_member(actor=principal, limit=limit)


# Thanks and checks (issue 18) -----------------------------------------------------


async def _thanks_given(principal: Principal, limit: int) -> Sequence[Any]:
    return await thanks_given(principal.member_id, limit=limit)


async def _thanks_received(principal: Principal, limit: int) -> Sequence[Any]:
    return await thanks_received(principal.member_id, with_hidden=True, limit=limit)


async def _checks(principal: Principal, limit: int) -> Sequence[Any]:
    return (await checks_of(principal.member_id))[:limit]


async def _friendship_pairs(principal: Principal, limit: int) -> Sequence[Any]:
    return (await pairs_of_member(principal))[:limit]


async def _events(principal: Principal, limit: int) -> Sequence[Any]:
    return await events_of_member(principal.member_id, limit=limit)


# Exchanges --------------------------------------------------------------------


async def _exchanges(principal: Principal, limit: int) -> Sequence[Any]:
    """Exchanges the member took part in, newest first, each with its history."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        views, cursor = await exchanges_of(
            actor=principal,
            status=None,
            limit=min(PAGE_SIZE_MAX, limit - len(found)),
            cursor=cursor,
            with_history=True,
        )
        found += [_exchange(view) for view in views]
        if cursor is None:
            break
    return found


def _party(view: ExchangeView, member_id: Any) -> dict[str, Any]:
    return {
        "id": member_id,
        "display_name": view.name_of(member_id),
        "accepted": member_id in view.accepted,
    }


def _exchange(view: ExchangeView) -> dict[str, Any]:
    """An exchange as GET /api/v1/exchanges/{id} shows it to a party."""
    exchange = view.exchange
    return {
        "id": view.id,
        "status": view.status,
        "community_id": exchange.community,
        "provider": _party(view, view.provider_id),
        "recipients": [
            _party(view, recipient.member_id)
            | {
                "pending_transfer_id": recipient.pending_transfer_id,
                "transfer_id": recipient.transfer_id,
            }
            for recipient in view.recipients
        ],
        "proposer_id": exchange.proposer,
        "minutes": exchange.minutes,
        "service_date": exchange.service_date,
        "description": exchange.description,
        "listing_id": exchange.listing,
        "in_home": bool(exchange.in_home),
        "hold_expires_at": exchange.hold_expires_at,
        "recorded_by_id": exchange.recorded_by,
        "marked_done_at": exchange.marked_done_at,
        "autoconfirm_at": exchange.autoconfirm_at,
        "awaiting_ids": view.awaiting,
        "created_at": exchange.created_at,
        "updated_at": exchange.updated_at,
        "history": [
            {
                "at": event.at,
                "actor_id": event.actor,
                "actor_name": view.name_of(event.actor),
                "action": event.action,
                "note": event.note,
                "recorded_by_id": event.recorded_by,
                "recorded_by_name": view.name_of(event.recorded_by) if event.recorded_by else None,
            }
            for event in view.history
        ],
    }


async def _notices(principal: Principal, limit: int) -> Sequence[Any]:
    """The in-app notices of mailed events, newest first, as the notices API words them."""
    return [
        {
            "id": notice.id,
            "kind": notice.kind,
            "subject": notice.subject,
            "text": notice.text,
            "link": notice.link,
            "at": notice.at,
        }
        for notice in await event_notices_of(principal.member_id, limit=limit)
    ]


# Disputes ---------------------------------------------------------------------


async def _disputes(principal: Principal, limit: int) -> Sequence[Any]:
    """Disputes about the member's exchanges, newest first, each with its thread."""
    items = await disputes_of(actor=principal, limit=limit)
    return [
        _dispute(await dispute_get(actor=principal, dispute_id=item.dispute.id)) for item in items
    ]


def _dispute(view: DisputeView) -> dict[str, Any]:
    """A dispute as GET /api/v1/disputes/{id} shows it to a party."""
    dispute = view.dispute
    return {
        "id": view.id,
        "exchange_id": dispute.exchange,
        "community_id": dispute.community,
        "status": dispute.status,
        "opened_by_id": dispute.opened_by,
        "opened_by_name": view.name_of(dispute.opened_by),
        "reason": dispute.reason,
        "opened_at": dispute.opened_at,
        "exchange_completed_at": view.completed_at,
        "outcome": dispute.outcome,
        "resolution_note": dispute.resolution_note,
        "resolved_by_id": dispute.resolved_by,
        "resolved_at": dispute.resolved_at,
        "statements": [
            {
                "id": statement.id,
                "author_id": statement.author,
                "author_name": view.name_of(statement.author),
                "body": statement.body,
                "at": statement.at,
            }
            for statement in view.statements
        ],
        "corrections": [
            {
                "recipient_id": correction.recipient,
                "recipient_name": view.name_of(correction.recipient),
                "outcome": correction.outcome,
                "minutes": correction.minutes,
                "original_transfer_id": correction.original_transfer_id,
                "reversal_transfer_id": correction.reversal_transfer_id,
                "below_floor_minutes": correction.below_floor_minutes,
            }
            for correction in view.corrections
        ],
    }


# Donations --------------------------------------------------------------------


async def _donations(principal: Principal, limit: int) -> Sequence[MemberGift]:
    """Gifts of money the member gave while signed in, with any Gift Aid declaration."""
    return await donations_of_member(actor=principal, limit=limit)


# Conversations, blocks and concerns (issue 18) ----------------------------------------

EXPORT_CONVERSATIONS_MAX = CONVERSATIONS_PER_PAGE


async def _conversations(principal: Principal, limit: int) -> Sequence[Any]:
    items = (await conversations_of(principal))[:limit]
    return [
        {
            "id": str(item.id),
            "with": {"id": str(item.other_member_id), "display_name": item.other_name},
            "listing_id": str(item.listing_id) if item.listing_id else None,
            "exchange_id": str(item.exchange_id) if item.exchange_id else None,
            "messages": [
                {
                    "author_id": str(message.author_id),
                    "author_name": message.author_name,
                    "body": message.body,
                    "sent_at": message.sent_at.isoformat(),
                }
                for message in await messages_of(item.id)
            ],
        }
        for item in items
    ]


async def _blocks(principal: Principal, limit: int) -> Sequence[Any]:
    return [
        {
            "member_id": str(item.member_id),
            "display_name": item.display_name,
            "blocked_at": item.blocked_at.isoformat(),
        }
        for item in (await blocks_of(principal.member_id))[:limit]
    ]


async def _concerns(principal: Principal, limit: int) -> Sequence[Any]:
    return [
        {
            "id": str(concern.id),
            "text": concern.text,
            "status": concern.status,
            "outcome": concern.outcome,
            "created_at": concern.created_at.isoformat(),
            "closed_at": concern.closed_at.isoformat() if concern.closed_at else None,
        }
        for concern in (await concerns_reported_by(principal.member_id))[:limit]
    ]


async def _wellbeing(principal: Principal, limit: int) -> Sequence[Any]:
    """The member's wellbeing check-ins, as GET /api/v1/me/wellbeing lists them."""
    return [checkin_out(view) for view in await checkins_of(principal.member_id, limit=limit)]
