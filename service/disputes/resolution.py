"""An admin resolves a dispute: reverse what was exchanged, record the correction, audit it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    AlreadyReversed,
    ExceedsCeiling,
    ExceedsFloor,
    Ledger,
    LedgerError,
    LimitMove,
    ReversalExceedsOriginal,
    Reverse,
    WriteTransaction,
    run_write,
)
from service import clock
from service.disputes.floors import CEILING_OVERRIDE_ACTION, FLOOR_OVERRIDE_ACTION
from service.disputes.schemas import RecipientOutcome, ResolveIn
from service.disputes.selectors import (
    DisputeView,
    dispute_get,
)
from service.disputes.services import (
    REVERSAL_REASON_CHARS_MAX,
    _dispute_state,
    checked_text,
    reversal_chain_id,
    reversal_transfer_id,
)
from service.disputes.tables import Dispute, DisputeCorrection
from service.errors import Conflict, DomainError, invalid_field
from service.exchanges.mailing import dispute_decided_mail
from service.exchanges.selectors import ExchangeView, exchange_get
from service.exchanges.services import exchange_history_event
from service.formatting import minutes_text
from service.i18n import _
from service.limits import (
    DISPUTE_NOTE_CHARS_MAX,
)
from service.members.accounts import member_account_id
from service.members.audit import audit_record
from service.principal import Principal, not_found, require_admin
from service.rollups.services import record_exchange_flow

DISPUTE_CODE = "dispute"  # the ledger code of every reversing transfer a resolution makes


@dataclass(frozen=True, slots=True)
class Plan:
    """One recipient's part of a resolution."""

    recipient_id: uuid.UUID
    outcome: str
    minutes: int
    original_transfer_id: uuid.UUID


def recipient_outcomes(data: ResolveIn, view: ExchangeView) -> list[Plan]:
    """Every recipient's outcome: the general one unless `recipients` says otherwise."""
    recipients = {recipient.member_id: recipient for recipient in view.recipients}
    special: dict[uuid.UUID, RecipientOutcome] = {}
    for position, item in enumerate(data.recipients or []):
        field = f"recipients[{position}].recipient_id"
        if item.recipient_id not in recipients:
            raise invalid_field(field, _("not a recipient of this exchange"))
        if item.recipient_id in special:
            raise invalid_field(field, _("named twice"))
        special[item.recipient_id] = item
    plans = []
    for member_id, recipient in recipients.items():
        chosen = special.get(member_id)
        outcome = chosen.outcome if chosen else data.outcome
        minutes = chosen.minutes if chosen else data.minutes
        prefix = f"recipients[{list(special).index(member_id)}]." if chosen else ""
        amount = minutes_for(outcome, minutes, view.exchange.minutes, prefix)
        assert recipient.transfer_id is not None  # noqa: S101 - completed exchanges have one
        plans.append(Plan(member_id, outcome, amount, recipient.transfer_id))
    return plans


def minutes_for(outcome: str, minutes: int | None, exchanged: int, prefix: str) -> int:
    if outcome == "upheld":
        if minutes:
            raise invalid_field(f"{prefix}minutes", _("only an adjustment moves minutes"))
        return 0
    if outcome == "reversed":
        if minutes is not None and minutes != exchanged:
            raise invalid_field(f"{prefix}minutes", _("a reversal returns the whole amount"))
        return exchanged
    if minutes is None:
        raise invalid_field(f"{prefix}minutes", _("say how many minutes go back"))
    if not 1 <= minutes <= exchanged:
        raise invalid_field(
            f"{prefix}minutes",
            _("between 1 and %(minutes)s, what was exchanged") % {"minutes": exchanged},
        )
    return minutes


async def below_floor_estimate(ledger: Ledger, view: ExchangeView, plans: Sequence[Plan]) -> int:
    """How far below their floor the reversals would take the provider, for a refusal's words.

    An unlocked read, so only ever shown; what a resolution records comes from
    the ledger's own result (`Ledger.limit_moves`).
    """
    account = await ledger.account(account_id=member_account_id(view.provider_id))
    total = sum(plan.minutes for plan in plans)  # upheld plans add 0
    floor = account.floor_minor
    if floor is None:
        return 0
    return max(0, floor - (account.available_minor - total))


def override_problem(view: ExchangeView, error: LedgerError, below_minutes: int) -> DomainError:
    if isinstance(error, ExceedsCeiling):
        detail = _(
            "Returning these hours would take a recipient above their ceiling. "
            "Confirm the override to record the correction anyway."
        )
    else:
        detail = _(
            "Reversing would take %(name)s %(hours)s below their floor. "
            "Confirm the override to record the correction anyway."
        ) % {"name": view.name_of(view.provider_id), "hours": minutes_text(below_minutes)}
    return Conflict(
        code="limit_override_required",
        detail=detail,
        extra={"below_floor_minutes": below_minutes, "limit": error.code},
    )


@dataclass(frozen=True, slots=True)
class Resolution:
    """Everything one resolution decided, for the steps that write it down."""

    dispute: Dispute
    view: ExchangeView
    plans: tuple[Plan, ...]
    note: str
    actor: Principal
    confirm_override: bool
    # The limits the ledger moved (override confirmed), read in the resolving transaction.
    moves: tuple[LimitMove, ...] = ()

    @property
    def moving(self) -> tuple[Plan, ...]:
        return tuple(plan for plan in self.plans if plan.minutes)

    @property
    def overridden(self) -> bool:
        return bool(self.moves)

    @property
    def floor_move(self) -> LimitMove | None:
        """The provider's floor, lowered to where the reversals left them."""
        provider = member_account_id(self.view.provider_id)
        return next((m for m in self.moves if m.account_id == provider and m.floor_moved), None)

    @property
    def agreed_floor(self) -> int | None:
        move = self.floor_move
        return None if move is None else move.floor_before_minor

    @property
    def below_floor(self) -> int:
        move = self.floor_move
        if move is None or move.floor_before_minor is None or move.floor_after_minor is None:
            return 0
        return move.floor_before_minor - move.floor_after_minor

    def ceiling_move(self, recipient_id: uuid.UUID) -> LimitMove | None:
        """A recipient's ceiling, raised to where the hours given back took them."""
        account_id = member_account_id(recipient_id)
        return next((m for m in self.moves if m.account_id == account_id and m.ceiling_moved), None)


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
    note = checked_text(data.note, field="note", chars_max=DISPUTE_NOTE_CHARS_MAX)
    dispute = await Dispute.objects().where(Dispute.id == dispute_id).first().run()
    if dispute is None:
        raise not_found(_("That dispute"))
    view = await exchange_get(actor=actor, exchange_id=dispute.exchange)
    plans = tuple(recipient_outcomes(data, view))

    async def work(transaction: WriteTransaction) -> None:
        now = clock.utc_now()
        if not await claim_dispute(dispute_id, data.outcome, note, actor, now):
            raise _dispute_state(_("This dispute has already been resolved."))
        resolution = Resolution(dispute, view, plans, note, actor, data.confirm_override)
        if resolution.moving:
            moves = await reverse_exchange(ledger, resolution)
            resolution = dataclasses.replace(resolution, moves=tuple(moves))
        for plan in plans:
            await record_correction(resolution, plan)
        await exchange_history_event(
            view.id, actor, "dispute_resolved", now, note=outcome_words(plans)
        )
        await audit_resolution(resolution)
        await dispute_decided_mail(
            transaction, exchange_id=view.id, dispute_id=dispute_id, outcome=data.outcome
        )

    await run_write(engine, work)
    return await dispute_get(actor=actor, dispute_id=dispute_id)


async def claim_dispute(
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


async def reverse_exchange(ledger: Ledger, resolution: Resolution) -> list[LimitMove]:
    """Write the reversals; return the limits the ledger moved for them (override confirmed)."""
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
        if isinstance(error, ExceedsFloor | ExceedsCeiling):
            below = await below_floor_estimate(ledger, resolution.view, resolution.moving)
            raise override_problem(resolution.view, error, below) from error
        if isinstance(error, AlreadyReversed | ReversalExceedsOriginal):
            raise Conflict(
                code="reversal_exceeds_original",
                detail=_("These hours have already been given back in full or in part."),
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
    return await ledger.limit_moves(transfer_ids=[transfer.id for transfer in transfers])


async def record_correction(resolution: Resolution, plan: Plan) -> None:
    dispute_id: uuid.UUID = resolution.dispute.id
    ceiling_move = resolution.ceiling_move(plan.recipient_id)
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
            agreed_floor_minutes=resolution.agreed_floor,
            below_floor_minutes=resolution.below_floor,
            agreed_ceiling_minutes=(
                None if ceiling_move is None else ceiling_move.ceiling_before_minor
            ),
        )
    ).run()


def outcome_words(plans: Sequence[Plan]) -> str:
    moved = sum(plan.minutes for plan in plans)
    if not moved:
        return "dispute resolved: upheld, nothing moved"
    return f"dispute resolved: {minutes_text(moved)} given back"


def correction_record(dispute_id: uuid.UUID, plan: Plan) -> dict[str, Any]:
    return {
        "recipient_id": str(plan.recipient_id),
        "outcome": plan.outcome,
        "minutes": plan.minutes,
        "original_transfer_id": str(plan.original_transfer_id),
        "reversal_transfer_id": (
            str(reversal_transfer_id(dispute_id, plan.recipient_id)) if plan.minutes else None
        ),
    }


async def audit_resolution(resolution: Resolution) -> None:
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
            "corrections": [correction_record(dispute_id, plan) for plan in resolution.plans],
        },
    )
    for move in resolution.moves:
        await audit_limit_move(resolution, move)


async def audit_limit_move(resolution: Resolution, move: LimitMove) -> None:
    """One audit line per limit the override moved: the floor down, or a ceiling up."""
    actor, view = resolution.actor, resolution.view
    reason = f"dispute {resolution.dispute.id}: {resolution.note}"
    changes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    if move.floor_moved and move.floor_before_minor is not None:
        below = move.floor_before_minor - (move.floor_after_minor or 0)
        changes.append(
            (
                FLOOR_OVERRIDE_ACTION,
                {"floor_minutes": move.floor_before_minor},
                {"floor_minutes": move.floor_after_minor, "below_floor_minutes": below},
            )
        )
    if move.ceiling_moved and move.ceiling_before_minor is not None:
        above = (move.ceiling_after_minor or 0) - move.ceiling_before_minor
        changes.append(
            (
                CEILING_OVERRIDE_ACTION,
                {"ceiling_minutes": move.ceiling_before_minor},
                {"ceiling_minutes": move.ceiling_after_minor, "above_ceiling_minutes": above},
            )
        )
    for action, before, after in changes:
        await audit_record(
            actor_id=actor.member_id,
            actor_label=actor.label,
            action=action,
            target_type="account",
            target_id=str(move.account_id),
            community_id=view.exchange.community,
            reason=reason,
            before=before,
            after=after,
        )
