"""A member's statement as people read it (issue 22 item 2), shared by the member's own
page, the coordinator's view of a member and the printed statement (service/paper).

- One line per movement of the member's hours. A hold moves nothing, so it is not a
  line: what is on hold is a separate note ("On hold"), and only on the statement of
  the member whose hours are held (never the helper's).
- Each line says what happened in words (docs/words.md): "Help given", "Help
  received", and a correction as "30 minutes given back after a dispute about
  'Lift to the optician'".
- Two dates, each labelled: the day the help happened (exchanges only) and the day it
  was recorded. Lines are newest first by the day recorded, the order the running
  balance follows.

The JSON statement (api.md) keeps its own shape: service/transfers/services.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger import Ledger, StatementLine
from service.exchanges.tables import ExchangeRecipient
from service.formatting import balance_words, minutes_text
from service.i18n import N_, _
from service.members.services import hour_account_of_member
from service.members.tables import Member
from service.principal import not_found
from service.transfers.services import other_side, parties_of, party_of

# Ledger codes whose lines are help between members: they have a day the help happened.
HELP_CODES = frozenset({"exchange", "dispute"})
CORRECTION_CODE = "dispute"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    transfer_id: uuid.UUID
    code: str
    what: str  # in words: "Help given", "30 minutes given back after a dispute about '…'"
    note: str  # what it was for (the exchange's description, a gift's message), or ""
    with_whom: str
    minutes: int  # signed: + in, - out
    balance_after_minutes: int
    help_on: datetime | None  # the day the help happened, for help between members
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class HoldNote:
    """Hours of the member set aside for an agreed exchange; they have not moved yet."""

    exchange_id: uuid.UUID
    description: str
    minutes: int
    helper: str
    until: datetime | None


async def statement_entries(
    *, ledger: Ledger, member_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[StatementEntry], str | None]:
    """About `limit` movements, newest first by the day recorded (whole ledger pages are
    read, so a page may hold up to twice as many); the cursor continues after them."""
    account_id = await hour_account_of_member(member_id)
    entries: list[StatementEntry] = []
    names: dict[uuid.UUID, str] = {}
    while True:
        page = await ledger.statement(account_id=account_id, limit=limit, cursor=cursor)
        await _name_parties(page.lines, names)
        entries += [
            await entry_of(ledger, line, names) for line in page.lines if line.change_minor != 0
        ]
        cursor = page.next_cursor
        if cursor is None or len(entries) >= limit:
            return entries, cursor


async def _name_parties(lines: Sequence[StatementLine], names: dict[uuid.UUID, str]) -> None:
    """Every other side of `lines` named in `names`, in one pair of statements."""
    unnamed = {other_side(line, line.account_id) for line in lines} - names.keys()
    names.update(
        (account_id, party.display_name)
        for account_id, party in (await parties_of(unnamed)).items()
    )


async def entry_of(
    ledger: Ledger, line: StatementLine, names: dict[uuid.UUID, str]
) -> StatementEntry:
    """One movement in words; `names` caches the other parties' names across lines."""
    transfer = line.transfer
    other = (
        transfer.credit_account_id
        if transfer.debit_account_id == line.account_id
        else transfer.debit_account_id
    )
    if other not in names:
        names[other] = (await party_of(other)).display_name
    what, note = await _words(ledger, line)
    return StatementEntry(
        transfer_id=transfer.id,
        code=transfer.code,
        what=what,
        note=note,
        with_whom=names[other],
        minutes=line.change_minor,
        balance_after_minutes=line.balance_after_minor,
        help_on=transfer.effective_at if transfer.code in HELP_CODES else None,
        recorded_at=line.recorded_at,
    )


async def _words(ledger: Ledger, line: StatementLine) -> tuple[str, str]:
    transfer = line.transfer
    received = line.change_minor > 0
    if transfer.code == CORRECTION_CODE and transfer.reverses_id is not None:
        original = await ledger.get_transfer(transfer_id=transfer.reverses_id)
        figures = {"hours": minutes_text(abs(line.change_minor)), "memo": original.memo}
        if received:
            return _("%(hours)s given back after a dispute about '%(memo)s'") % figures, ""
        return _("%(hours)s taken back after a dispute about '%(memo)s'") % figures, ""
    words = {
        "exchange": N_("Help given") if received else N_("Help received"),
        "gift": N_("Hours given to you") if received else N_("Hours you gave"),
        "welcome": N_("Welcome hours"),
        "grant": N_("Hours from the time bank's pool"),
        "donation": N_("Hours given to the time bank's pool"),
        "closure": N_("Account closed"),
    }.get(transfer.code)
    what = _(words) if words else transfer.code.replace("_", " ").capitalize()
    return what, transfer.memo


async def holds_of(member_id: uuid.UUID) -> list[HoldNote]:
    """The member's hours on hold for agreed exchanges in which they are helped."""
    rows = (
        await ExchangeRecipient.select(
            ExchangeRecipient.exchange.id,
            ExchangeRecipient.exchange.description,
            ExchangeRecipient.exchange.minutes,
            ExchangeRecipient.exchange._.provider._.display_name,
            ExchangeRecipient.exchange.hold_expires_at,
        )
        .where(
            (ExchangeRecipient.member == member_id)
            & (ExchangeRecipient.exchange.status == "accepted")
            & ExchangeRecipient.pending_transfer_id.is_not_null()
        )
        .order_by(ExchangeRecipient.exchange.service_date)
        .run()
    )
    return [
        HoldNote(
            exchange_id=row["exchange.id"],
            description=row["exchange.description"],
            minutes=row["exchange.minutes"],
            helper=row["exchange.provider.display_name"],
            until=row["exchange.hold_expires_at"],
        )
        for row in rows
    ]


async def balance_sentence(ledger: Ledger, member_id: uuid.UUID) -> str:
    """The member's balance with its room: "You have 2 hours. You can go down to minus 10
    hours." (the floor is the ledger's, so a member-specific one is shown as it is)."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    account = await ledger.account(account_id=member.hour_account_id)
    return balance_words(account.balance_minor, account.floor_minor)
