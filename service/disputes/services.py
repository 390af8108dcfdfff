"""Disputes: the rules, as service functions (writes) and selectors (reads).

- Open: a party of a COMPLETED exchange opens a dispute within the community's
  window (`Community.dispute_window_days`, counted from completion), with a
  reason. One dispute per exchange, ever: a resolution is final, and a second
  dispute about the same help would reopen a decided case.
- Statements: while the dispute is open, every party may add their account.
  Parties and admins see the thread; nobody else learns the dispute exists.
- Resolve (admins only): upheld (nothing moves), reversed (the whole amount
  goes back) or adjusted (N minutes go back). A group exchange is resolved per
  recipient: the outcome applies to every recipient unless `recipients` says
  otherwise for some. All reversals of one resolution are one ledger chain;
  each points at the recipient's original transfer, which is never changed.
- A reversal that would take the provider below their floor (or a recipient
  above their ceiling) is refused with 409 `limit_override_required` unless the
  admin confirms the override; then the ledger moves the limit to the new
  position, the correction records the agreed floor and how far below it the
  account now is, and the audit log says so.
- Resolving is a conditional UPDATE (`WHERE status = 'open'`) in the same write
  transaction as the reversals: of two admins resolving at once exactly one
  wins; the other gets 409 and nothing moves. Reversal ids derive from the
  dispute and recipient, so a retried resolution never moves hours twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.engine.base import Engine

from ledger import Ledger, LedgerError, Reverse, run_write
from ledger.transactions import WriteTransaction
from service.disputes.schemas import RecipientOutcome, ResolveIn
from service.disputes.tables import Dispute, DisputeCorrection, DisputeStatement
from service.exchanges.services import (
    ExchangeView,
    exchange_get,
    exchange_history_event,
    exchange_party_filter,
)
from service.exchanges.tables import Exchange, ExchangeEvent, ExchangeRecipient
from service.http.cursors import decode_instant_cursor, encode_instant_cursor
from service.limits import (
    DISPUTE_NOTE_CHARS_MAX,
    DISPUTE_OUTCOME_NOTICE_DAYS,
    DISPUTE_REASON_CHARS_MAX,
    DISPUTE_STATEMENT_CHARS_MAX,
    DISPUTE_STATEMENTS_MAX,
    DISPUTES_BETWEEN_MAX,
    NOTICES_MAX,
    PAGE_SIZE_MAX,
)
from service.members.accounts import member_account_id
from service.members.audit import audit_record
from service.members.tables import Community, Member
from service.principal import Principal, forbidden, not_found, require_active
from service.problems import Problem, field_problem, minutes_text
from service.rollups.services import record_exchange_flow

DISPUTE_CODE = "dispute"  # the ledger code of every reversing transfer a resolution makes
COMPLETION_ACTIONS = ("complete", "record")  # exchange events that mark it done


def utc_now() -> datetime:
    return datetime.now(UTC)


def reversal_transfer_id(dispute_id: uuid.UUID, recipient_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(dispute_id, f"reverse:{recipient_id}")


def reversal_chain_id(dispute_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(dispute_id, "chain:resolve")


# What callers read ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute with its exchange (and history), its thread and what resolving did."""

    dispute: Dispute
    exchange: ExchangeView
    statements: tuple[DisputeStatement, ...]
    corrections: tuple[DisputeCorrection, ...]
    completed_at: datetime

    @property
    def id(self) -> uuid.UUID:
        dispute_id: uuid.UUID = self.dispute.id
        return dispute_id

    @property
    def is_open(self) -> bool:
        return bool(self.dispute.status == "open")

    def name_of(self, member_id: uuid.UUID | None) -> str:
        return self.exchange.name_of(member_id)


@dataclass(frozen=True, slots=True)
class QueueItem:
    dispute: Dispute
    exchange: Exchange
    opened_by_name: str


@dataclass(frozen=True, slots=True)
class DisputeNotice:
    kind: str  # dispute_awaiting_account | dispute_resolved
    dispute: Dispute
    exchange: Exchange

    @property
    def since(self) -> datetime:
        """When it began to wait for the member: the opening, or the resolution."""
        resolved_at: datetime | None = self.dispute.resolved_at
        opened_at: datetime = self.dispute.opened_at
        return resolved_at if self.kind == "dispute_resolved" and resolved_at else opened_at


# Problems ---------------------------------------------------------------------


def _text(value: str, *, field: str, chars_max: int) -> str:
    text = value.strip()
    if not text:
        raise field_problem(field, "write a few words")
    if len(text) > chars_max:
        raise field_problem(field, f"at most {chars_max} characters")
    return text


def _dispute_state(detail: str) -> Problem:
    return Problem(status=409, code="dispute_state", detail=detail)


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise forbidden("Only an admin can do that.")


# Reading ----------------------------------------------------------------------


async def _completed_at(view: ExchangeView) -> datetime:
    """When the exchange was completed (or recorded): the dispute window starts there."""
    row = (
        await ExchangeEvent.select(ExchangeEvent.at)
        .where(
            (ExchangeEvent.exchange == view.id)
            & ExchangeEvent.action.is_in(list(COMPLETION_ACTIONS))
        )
        .order_by(ExchangeEvent.at, ascending=False)
        .first()
        .run()
    )
    at: datetime = row["at"] if row else view.exchange.updated_at
    return at.astimezone(UTC)


async def _dispute_view(dispute: Dispute, actor: Principal) -> DisputeView:
    exchange = await exchange_get(actor=actor, exchange_id=dispute.exchange)
    statements = (
        await DisputeStatement.objects()
        .where(DisputeStatement.dispute == dispute.id)
        .order_by(DisputeStatement.at)
        .run()
    )
    corrections = (
        await DisputeCorrection.objects()
        .where(DisputeCorrection.dispute == dispute.id)
        .order_by(DisputeCorrection.recipient)
        .run()
    )
    return DisputeView(
        dispute=dispute,
        exchange=exchange,
        statements=tuple(statements),
        corrections=tuple(corrections),
        completed_at=await _completed_at(exchange),
    )


async def _may_see(actor: Principal, dispute: Dispute) -> bool:
    if actor.is_admin:
        return True
    exchange = await exchange_parties(dispute.exchange)
    return actor.member_id in exchange


async def exchange_parties(exchange_id: uuid.UUID) -> frozenset[uuid.UUID]:
    provider = await Exchange.select(Exchange.provider).where(Exchange.id == exchange_id).run()
    recipients = (
        await ExchangeRecipient.select(ExchangeRecipient.member)
        .where(ExchangeRecipient.exchange == exchange_id)
        .run()
    )
    return frozenset(
        [*(row["provider"] for row in provider), *(row["member"] for row in recipients)]
    )


async def dispute_get(*, actor: Principal, dispute_id: uuid.UUID) -> DisputeView:
    """One dispute, for a party of its exchange or an admin; anyone else: 404."""
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None or not await _may_see(actor, dispute):
        raise not_found("That dispute")
    return await _dispute_view(dispute, actor)


async def dispute_of_exchange(*, actor: Principal, exchange_id: uuid.UUID) -> Dispute | None:
    """The exchange's dispute, if the actor may see it (for the exchange page)."""
    dispute = await Dispute.objects().where(Dispute.exchange == exchange_id).first().run()
    if dispute is None or not await _may_see(actor, dispute):
        return None
    return dispute


async def dispute_window_closes_at(view: ExchangeView) -> datetime | None:
    """When the window to dispute a completed exchange closes (None unless completed)."""
    if view.status != "completed":
        return None
    days = (
        await Community.select(Community.dispute_window_days)
        .where(Community.id == view.exchange.community)
        .first()
        .run()
    )
    window_days = int(days["dispute_window_days"]) if days else 0
    return await _completed_at(view) + timedelta(days=window_days)


async def _queue_items(disputes: Sequence[Dispute]) -> list[QueueItem]:
    if not disputes:
        return []
    exchanges = {
        row.id: row
        for row in await Exchange.objects()
        .where(Exchange.id.is_in([dispute.exchange for dispute in disputes]))
        .run()
    }
    names = {
        row["id"]: row["display_name"]
        for row in await Member.select(Member.id, Member.display_name)
        .where(Member.id.is_in([dispute.opened_by for dispute in disputes]))
        .run()
    }
    return [
        QueueItem(dispute, exchanges[dispute.exchange], names.get(dispute.opened_by, ""))
        for dispute in disputes
    ]


async def dispute_queue(
    *, actor: Principal, status: str | None, limit: int, cursor: str | None
) -> tuple[list[QueueItem], str | None]:
    """Disputes for admins, oldest first (the longest waiting at the top), one page."""
    require_admin(actor)
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_SIZE_MAX}")
    where: Combinable = Dispute.id.is_not_null()
    if status is not None:
        where &= Dispute.status == status
    if cursor is not None:
        opened_at, dispute_id = decode_instant_cursor(cursor)
        where &= (Dispute.opened_at > opened_at) | (
            (Dispute.opened_at == opened_at) & (Dispute.id > dispute_id)
        )
    rows = (
        await Dispute.objects()
        .where(where)
        .order_by(Dispute.opened_at, Dispute.id)
        .limit(limit + 1)
        .run()
    )
    next_cursor = (
        encode_instant_cursor(rows[limit - 1].opened_at, rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return await _queue_items(rows[:limit]), next_cursor


async def disputes_of(*, actor: Principal, limit: int = PAGE_SIZE_MAX) -> list[QueueItem]:
    """Disputes about the caller's exchanges, newest first (at most `limit`, a page unless
    the data export asks for more)."""
    mine = exchange_party_filter(actor.member_id)
    rows = (
        await Dispute.objects()
        .where(Dispute.exchange.is_in(Exchange.select(Exchange.id).where(mine)))
        .order_by(Dispute.opened_at, ascending=False)
        .limit(limit)
        .run()
    )
    return await _queue_items(rows)


async def dispute_notices_of(*, actor: Principal, now: datetime | None = None) -> list[QueueItem]:
    """Disputes to show on the dashboard: open ones, and outcomes of the last few weeks."""
    since = (now or utc_now()) - timedelta(days=DISPUTE_OUTCOME_NOTICE_DAYS)
    return [
        item
        for item in await disputes_of(actor=actor)
        if item.dispute.status == "open" or item.dispute.resolved_at >= since
    ]


async def dispute_notices_waiting(
    *, actor: Principal, now: datetime | None = None
) -> list[DisputeNotice]:
    """What waits for the caller about disputes (the notices API).

    Open disputes the other side opened and the caller has not answered yet
    (as `disputes_awaiting_count` counts them), oldest first; then outcomes of
    the last DISPUTE_OUTCOME_NOTICE_DAYS, newest first. An open dispute the
    caller opened or answered waits for an admin, not for them.
    """
    items = await dispute_notices_of(actor=actor, now=now)
    answered = await _answered_by(actor.member_id, [item.dispute.id for item in items])
    awaiting = [
        DisputeNotice("dispute_awaiting_account", item.dispute, item.exchange)
        for item in sorted(items, key=lambda item: item.dispute.opened_at)
        if item.dispute.status == "open"
        and item.dispute.opened_by != actor.member_id
        and item.dispute.id not in answered
    ]
    resolved = [
        DisputeNotice("dispute_resolved", item.dispute, item.exchange)
        for item in items
        if item.dispute.status == "resolved"
    ]
    resolved.sort(key=lambda notice: notice.since, reverse=True)
    return (awaiting + resolved)[:NOTICES_MAX]


async def _answered_by(member_id: uuid.UUID, dispute_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these disputes hold a statement by the member."""
    if not dispute_ids:
        return set()
    rows = (
        await DisputeStatement.select(DisputeStatement.dispute)
        .where((DisputeStatement.author == member_id) & DisputeStatement.dispute.is_in(dispute_ids))
        .run()
    )
    return {row["dispute"] for row in rows}


async def disputes_awaiting_count(*, actor: Principal) -> int:
    """Open disputes about the caller's exchanges that the caller has not yet answered."""
    answered = DisputeStatement.select(DisputeStatement.dispute).where(
        DisputeStatement.author == actor.member_id
    )
    mine = exchange_party_filter(actor.member_id)
    count: int = (
        await Dispute.count()
        .where(
            (Dispute.status == "open")
            & (Dispute.opened_by != actor.member_id)
            & Dispute.id.not_in(answered)
            & Dispute.exchange.is_in(Exchange.select(Exchange.id).where(mine))
        )
        .run()
    )
    return count


async def exchanges_between(
    a_id: uuid.UUID, b_id: uuid.UUID, *, limit: int = DISPUTES_BETWEEN_MAX
) -> list[Exchange]:
    """Recent exchanges where one of two members gave help to the other (for admins)."""

    def gave(provider: uuid.UUID, recipient: uuid.UUID) -> Any:
        return (Exchange.provider == provider) & Exchange.id.is_in(
            ExchangeRecipient.select(ExchangeRecipient.exchange).where(
                ExchangeRecipient.member == recipient
            )
        )

    rows: list[Exchange] = (
        await Exchange.objects()
        .where(gave(a_id, b_id) | gave(b_id, a_id))
        .order_by(Exchange.service_date, ascending=False)
        .limit(limit)
        .run()
    )
    return rows


# Opening and answering --------------------------------------------------------


async def dispute_open(
    *, engine: Engine[Any], actor: Principal, exchange_id: uuid.UUID, reason: str
) -> uuid.UUID:
    """A party disputes a completed exchange within the window; returns the dispute id."""
    require_active(actor)
    text = _text(reason, field="reason", chars_max=DISPUTE_REASON_CHARS_MAX)
    view = await exchange_get(actor=actor, exchange_id=exchange_id)
    if actor.member_id not in view.parties:
        raise forbidden("Only the people taking part in an exchange can dispute it.")
    if view.status != "completed":
        raise Problem(
            status=409,
            code="exchange_state",
            detail=f"This exchange is {view.status}: only completed exchanges can be disputed.",
            extra={"status": view.status},
        )
    now = utc_now()
    closes_at = await dispute_window_closes_at(view)
    if closes_at is None or now > closes_at:
        raise Problem(
            status=409,
            code="dispute_window_closed",
            detail=f"The time to dispute this exchange ended on {closes_at:%-d %B %Y}."
            if closes_at
            else "This exchange cannot be disputed.",
        )
    dispute_id = uuid.uuid4()

    async def work(_transaction: WriteTransaction) -> None:
        inserted = (
            await Dispute.insert(
                Dispute(
                    id=dispute_id,
                    exchange=exchange_id,
                    community=view.exchange.community,
                    opened_by=actor.member_id,
                    reason=text,
                    status="open",
                    opened_at=now,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(Dispute.id)
            .run()
        )
        if not inserted:
            raise _already_disputed()
        await exchange_history_event(exchange_id, actor, "dispute", now, note="dispute opened")

    await run_write(engine, work)
    return dispute_id


def _already_disputed() -> Problem:
    return Problem(
        status=409,
        code="dispute_exists",
        detail="This exchange has already been disputed.",
    )


async def dispute_add_statement(
    *, engine: Engine[Any], actor: Principal, dispute_id: uuid.UUID, body: str
) -> uuid.UUID:
    """A party adds their account to an open dispute."""
    text = _text(body, field="body", chars_max=DISPUTE_STATEMENT_CHARS_MAX)
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None:
        raise not_found("That dispute")
    if actor.member_id not in await exchange_parties(dispute.exchange):
        if not actor.is_admin:
            raise not_found("That dispute")
        raise forbidden("Only the people taking part in the exchange can add their account.")
    statement_id = uuid.uuid4()

    async def work(_transaction: WriteTransaction) -> None:
        status = await Dispute.select(Dispute.status).where(Dispute.id == dispute_id).first().run()
        if status is None or status["status"] != "open":
            raise _dispute_state("This dispute has been resolved: the thread is closed.")
        count = await DisputeStatement.count().where(DisputeStatement.dispute == dispute_id).run()
        if count >= DISPUTE_STATEMENTS_MAX:
            raise _dispute_state("This dispute's thread is full; an admin will read it.")
        await DisputeStatement.insert(
            DisputeStatement(
                id=statement_id,
                dispute=dispute_id,
                author=actor.member_id,
                body=text,
                at=utc_now(),
            )
        ).run()

    await run_write(engine, work)
    return statement_id


# Resolving --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """One recipient's part of a resolution."""

    recipient_id: uuid.UUID
    outcome: str
    minutes: int
    original_transfer_id: uuid.UUID


def _recipient_outcomes(data: ResolveIn, view: ExchangeView) -> list[_Plan]:
    """Every recipient's outcome: the general one unless `recipients` says otherwise."""
    recipients = {recipient.member_id: recipient for recipient in view.recipients}
    special: dict[uuid.UUID, RecipientOutcome] = {}
    for position, item in enumerate(data.recipients or []):
        field = f"recipients[{position}].recipient_id"
        if item.recipient_id not in recipients:
            raise field_problem(field, "not a recipient of this exchange")
        if item.recipient_id in special:
            raise field_problem(field, "named twice")
        special[item.recipient_id] = item
    plans = []
    for member_id, recipient in recipients.items():
        chosen = special.get(member_id)
        outcome = chosen.outcome if chosen else data.outcome
        minutes = chosen.minutes if chosen else data.minutes
        prefix = f"recipients[{list(special).index(member_id)}]." if chosen else ""
        amount = _minutes_for(outcome, minutes, view.exchange.minutes, prefix)
        assert recipient.transfer_id is not None  # noqa: S101 - completed exchanges have one
        plans.append(_Plan(member_id, outcome, amount, recipient.transfer_id))
    return plans


def _minutes_for(outcome: str, minutes: int | None, exchanged: int, prefix: str) -> int:
    if outcome == "upheld":
        if minutes:
            raise field_problem(f"{prefix}minutes", "only an adjustment moves minutes")
        return 0
    if outcome == "reversed":
        if minutes is not None and minutes != exchanged:
            raise field_problem(f"{prefix}minutes", "a reversal returns the whole amount")
        return exchanged
    if minutes is None:
        raise field_problem(f"{prefix}minutes", "say how many minutes go back")
    if not 1 <= minutes <= exchanged:
        raise field_problem(f"{prefix}minutes", f"between 1 and {exchanged}, what was exchanged")
    return minutes


async def _limit_check(
    ledger: Ledger, view: ExchangeView, plans: Sequence[_Plan]
) -> tuple[int | None, int]:
    """The provider's floor before resolving, and how far below it the reversals take them."""
    account = await ledger.account(account_id=member_account_id(view.provider_id))
    total = sum(plan.minutes for plan in plans)  # upheld plans add 0
    floor = account.floor_minor
    if floor is None:
        return None, 0
    return floor, max(0, floor - (account.available_minor - total))


def _override_problem(view: ExchangeView, error: LedgerError, below_minutes: int) -> Problem:
    if error.code == "exceeds_ceiling":
        detail = (
            "Returning these hours would take a recipient above their ceiling. "
            "Confirm the override to record the correction anyway."
        )
    else:
        detail = (
            f"Reversing would take {view.name_of(view.provider_id)} "
            f"{minutes_text(below_minutes)} below their floor. "
            "Confirm the override to record the correction anyway."
        )
    return Problem(
        status=409,
        code="limit_override_required",
        detail=detail,
        extra={"below_floor_minutes": below_minutes, "limit": error.code},
    )


@dataclass(frozen=True, slots=True)
class _Resolution:
    """Everything one resolution decided, for the steps that write it down."""

    dispute: Dispute
    view: ExchangeView
    plans: tuple[_Plan, ...]
    note: str
    actor: Principal
    confirm_override: bool
    agreed_floor: int | None = None  # the provider's floor before resolving
    below_floor: int = 0  # how far below it the reversals take the provider

    @property
    def moving(self) -> tuple[_Plan, ...]:
        return tuple(plan for plan in self.plans if plan.minutes)

    @property
    def overridden(self) -> bool:
        return bool(self.moving) and self.confirm_override and self.below_floor > 0


async def dispute_resolve(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    actor: Principal,
    dispute_id: uuid.UUID,
    data: ResolveIn,
) -> DisputeView:
    """An admin resolves an open dispute; corrections are new, reversing transfers."""
    require_admin(actor)
    note = _text(data.note, field="note", chars_max=DISPUTE_NOTE_CHARS_MAX)
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None:
        raise not_found("That dispute")
    view = await exchange_get(actor=actor, exchange_id=dispute.exchange)
    plans = tuple(_recipient_outcomes(data, view))

    async def work(_transaction: WriteTransaction) -> None:
        now = utc_now()
        if not await _claim(dispute_id, data.outcome, note, actor, now):
            raise _dispute_state("This dispute has already been resolved.")
        agreed_floor, below = await _limit_check(ledger, view, plans)
        resolution = _Resolution(
            dispute, view, plans, note, actor, data.confirm_override, agreed_floor, below
        )
        if resolution.moving:
            await _reverse(ledger, resolution)
        for plan in plans:
            await _record_correction(resolution, plan)
        await exchange_history_event(
            view.id, actor, "dispute_resolved", now, note=_outcome_words(plans)
        )
        await _audit_resolution(resolution)

    await run_write(engine, work)
    return await dispute_get(actor=actor, dispute_id=dispute_id)


async def _claim(
    dispute_id: uuid.UUID, outcome: str, note: str, actor: Principal, now: datetime
) -> bool:
    """The conditional UPDATE that decides which admin resolves: True for the winner."""
    rows = (
        await Dispute.update(
            {
                Dispute.status: "resolved",
                Dispute.outcome: outcome,
                Dispute.resolution_note: note,
                Dispute.resolved_by: actor.member_id,
                Dispute.resolved_at: now,
            }
        )
        .where((Dispute.id == dispute_id) & (Dispute.status == "open"))
        .returning(Dispute.id)
        .run()
    )
    return bool(rows)


# Of the admin's note, copied into the ledger's reason field.
REVERSAL_REASON_CHARS_MAX = 200


async def _reverse(ledger: Ledger, resolution: _Resolution) -> None:
    dispute_id: uuid.UUID = resolution.dispute.id
    operations = [
        Reverse(
            id=reversal_transfer_id(dispute_id, plan.recipient_id),
            reverses_id=plan.original_transfer_id,
            actor=f"admin:{resolution.actor.member_id}",
            reason=f"dispute: {resolution.note}"[:REVERSAL_REASON_CHARS_MAX],
            amount_minor=plan.minutes,
            code=DISPUTE_CODE,
            override_limits=resolution.confirm_override,
        )
        for plan in resolution.moving
    ]
    try:
        transfers = await ledger.chain(
            operations=operations, chain_id=reversal_chain_id(dispute_id)
        )
    except LedgerError as error:
        if error.code in ("exceeds_floor", "exceeds_ceiling"):
            raise _override_problem(resolution.view, error, resolution.below_floor) from error
        if error.code in ("already_reversed", "reversal_exceeds_original"):
            raise Problem(
                status=409,
                code="reversal_exceeds_original",
                detail="These hours have already been given back in full or in part.",
            ) from error
        raise
    # Council figures count exchanges net: the correction joins the original's cells.
    for plan, transfer in zip(resolution.moving, transfers, strict=True):
        await record_exchange_flow(
            exchange_id=resolution.view.id,
            recipient_id=plan.recipient_id,
            minutes_signed=-plan.minutes,
            at=transfer.recorded_at,
            source_id=transfer.id,
        )


async def _record_correction(resolution: _Resolution, plan: _Plan) -> None:
    dispute_id: uuid.UUID = resolution.dispute.id
    overridden = resolution.overridden
    await DisputeCorrection.insert(
        DisputeCorrection(
            dispute=dispute_id,
            recipient=plan.recipient_id,
            outcome=plan.outcome,
            minutes=plan.minutes,
            original_transfer_id=plan.original_transfer_id,
            reversal_transfer_id=(
                reversal_transfer_id(dispute_id, plan.recipient_id) if plan.minutes else None
            ),
            provider_account_id=member_account_id(resolution.view.provider_id),
            agreed_floor_minutes=resolution.agreed_floor if overridden else None,
            below_floor_minutes=resolution.below_floor if overridden else 0,
        )
    ).run()


def _outcome_words(plans: Sequence[_Plan]) -> str:
    moved = sum(plan.minutes for plan in plans)
    if not moved:
        return "dispute resolved: upheld, nothing moved"
    return f"dispute resolved: {minutes_text(moved)} given back"


def _correction_record(dispute_id: uuid.UUID, plan: _Plan) -> dict[str, Any]:
    return {
        "recipient_id": str(plan.recipient_id),
        "outcome": plan.outcome,
        "minutes": plan.minutes,
        "original_transfer_id": str(plan.original_transfer_id),
        "reversal_transfer_id": (
            str(reversal_transfer_id(dispute_id, plan.recipient_id)) if plan.minutes else None
        ),
    }


async def _audit_resolution(resolution: _Resolution) -> None:
    actor, view = resolution.actor, resolution.view
    dispute_id: uuid.UUID = resolution.dispute.id
    await audit_record(
        actor_id=actor.member_id,
        actor_label=actor.label,
        action="dispute.resolve",
        target_type="dispute",
        target_id=str(dispute_id),
        community_id=view.exchange.community,
        reason=resolution.note,
        before={"status": "open", "exchange_id": str(view.id)},
        after={
            "status": "resolved",
            "override": resolution.overridden,
            "corrections": [_correction_record(dispute_id, plan) for plan in resolution.plans],
        },
    )
    if resolution.overridden:
        floor = resolution.agreed_floor
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action="account.floor_override",
            target_type="account",
            target_id=str(member_account_id(view.provider_id)),
            community_id=view.exchange.community,
            reason=f"dispute {dispute_id}: {resolution.note}",
            before={"floor_minutes": floor},
            after={
                "floor_minutes": None if floor is None else floor - resolution.below_floor,
                "below_floor_minutes": resolution.below_floor,
            },
        )
