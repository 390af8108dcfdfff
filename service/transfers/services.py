"""Gifts, pool donations, pool grants and statements: hours moved outside exchanges."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.engine.base import Engine

from ledger import (
    AfterWrite,
    ExceedsFloor,
    Ledger,
    LedgerError,
    NewTransfer,
    StatementLine,
    Transfer,
    Unit,
    WriteTransaction,
    run_write,
)
from ledger.errors import TransferNotFound
from ledger.sql import as_optional_uuid, as_uuid
from service import database
from service.blocks.selectors import (
    blocked_between_columns_sql,
    blocked_between_sql,
    blocked_problem,
)
from service.errors import Conflict, Invalid
from service.http.idempotency import KeyedReply, derived_id, stored_with_write
from service.http.principal_cache import KeptRows
from service.i18n import N_, _
from service.members.audit import audit_member_change
from service.members.services import hour_account_of, hour_account_of_member, normalise_email
from service.members.tables import Community, Member
from service.principal import Principal, not_found, require_active, require_coordinator_of
from service.rollups.services import record_pool_flow
from service.shared_reads import SharedReads


@dataclass(frozen=True, slots=True)
class Party:
    """One side of a transfer as a member sees it: a person or a community account."""

    kind: str  # "member" or a community account purpose ("pool", "issuance", ...)
    member_id: uuid.UUID | None
    display_name: str


async def _member_by_account(account_id: uuid.UUID) -> Member | None:
    return await Member.objects().where(Member.hour_account_id == account_id).first().run()


_PURPOSE_NAMES = {
    "pool": N_("Community pool"),
    "issuance": N_("Welcome credit"),
}


async def party_of(account_id: uuid.UUID) -> Party:
    """One side of a transfer: a member, a community's account, or the timebank."""
    return (await parties_of((account_id,)))[account_id]


def other_side(line: StatementLine, account_id: uuid.UUID) -> uuid.UUID:
    """The account on the other side of a statement line's transfer."""
    transfer = line.transfer
    if transfer.debit_account_id == account_id:
        return transfer.credit_account_id
    return transfer.debit_account_id


async def parties_of(account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Party]:
    """Several sides at once, in two statements (a statement page names every other
    side of its lines): a member's account first, then a community's pool, then its
    welcome account; any other account is the timebank's own."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    async with database.point_read() as connection:
        in_wanted, wanted_args = connection.id_list(wanted, 1)
        members = await connection.fetch(_PARTY_MEMBERS_SQL % in_wanted, *wanted_args)
        # Two lists: on SQLite each needs its own numbered parameters.
        in_again, again_args = connection.id_list(wanted, 1 + len(wanted_args))
        communities = await connection.fetch(
            _PARTY_COMMUNITIES_SQL % (in_wanted, in_again), *wanted_args, *again_args
        )
    found: dict[uuid.UUID, Party] = {}
    for purpose, label in reversed(_PURPOSE_NAMES.items()):  # the first purpose wins
        for row in communities:
            account_id = as_optional_uuid(row[f"{purpose}_account_id"])
            if account_id is not None:
                found[account_id] = Party(purpose, None, f"{label} ({row['name']})")
    for row in members:  # a member's account wins over any community's
        found[as_uuid(row["hour_account_id"])] = Party(
            "member", as_uuid(row["id"]), row["display_name"]
        )
    return {
        account_id: found.get(account_id, Party("system", None, "Timebank"))
        for account_id in wanted
    }


_PARTY_MEMBERS_SQL = (
    "SELECT id, display_name, hour_account_id FROM member_member WHERE hour_account_id %s"
)
_PARTY_COMMUNITIES_SQL = (
    "SELECT name, pool_account_id, issuance_account_id FROM member_community "
    "WHERE pool_account_id %s OR issuance_account_id %s"
)


@dataclass(frozen=True, slots=True)
class Given:
    """A gift as written, with both parties as the reply shows them (no re-read)."""

    transfer: Transfer
    sender: Party
    receiver: Party


@dataclass(frozen=True, slots=True)
class GiftReply:
    """A keyed request's reply to a new gift: made from the gift as written and stored
    with it (ADR 0037), in one statement with its batch's other replies (ADR 0056)."""

    keyed: KeyedReply
    status: int
    render: Callable[[Given], bytes]


def _after(reply: GiftReply | None, sender: Party, receiver: Party) -> AfterWrite | None:
    if reply is None:
        return None

    def render(written: Sequence[Transfer]) -> bytes:
        return reply.render(Given(written[0], sender, receiver))

    return stored_with_write(reply.keyed, reply.status, render)


async def gift(
    *,
    ledger: Ledger,
    principal: Principal,
    minutes: int,
    to_member_id: uuid.UUID | None,
    to_pool: bool,
    memo: str,
    idempotency_key: str | None,
) -> Transfer:
    """A member gives hours to another member, or donates them to their community's pool."""
    given = await give(
        ledger=ledger,
        principal=principal,
        minutes=minutes,
        to_member_id=to_member_id,
        to_pool=to_pool,
        memo=memo,
        idempotency_key=idempotency_key,
    )
    return given.transfer


async def give(
    *,
    ledger: Ledger,
    principal: Principal,
    minutes: int,
    to_member_id: uuid.UUID | None,
    to_pool: bool,
    memo: str,
    idempotency_key: str | None,
    reply: GiftReply | None = None,
) -> Given:
    """`gift`, answering with the parties too: what the API's reply needs.

    `reply`, if given, is stored inside the write's transaction when the transfer
    is new, so a keyed request's reply commits with it.
    """
    require_active(principal)
    debit_account = await hour_account_of(principal)
    sender = Party("member", principal.member_id, principal.display_name)
    if to_pool:
        return await _donate(
            ledger, principal, debit_account, minutes, memo, idempotency_key, reply
        )
    recipient = await _gift_recipient(principal, to_member_id)
    receiver = Party("member", recipient["id"], recipient["display_name"])
    # Outside any transaction of ours, so concurrent gifts share commits
    # (ledger group commit); the ledger retries transient failures itself.
    transfer = await _hours_from_member(
        ledger,
        principal,
        "gift",
        GivenHours(debit_account, recipient["hour_account_id"], minutes, memo, idempotency_key),
        after=_after(reply, sender, receiver),
    )
    return Given(transfer, sender, receiver)


@dataclass(frozen=True, slots=True)
class GivenHours:
    """Hours a member gives from their account: where to, how many, their note, their key."""

    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    minutes: int
    memo: str
    idempotency_key: str | None


async def _hours_from_member(
    ledger: Ledger,
    principal: Principal,
    kind: str,
    hours: GivenHours,
    *,
    after: AfterWrite | None = None,
) -> Transfer:
    """Post hours a member gives (a gift or a donation); the kind names the transfer's
    code and the purpose its id is derived from, so a retried request posts once.
    `after` runs inside the write's transaction for a new transfer (ADR 0037)."""
    return await ledger.transfer(
        id=derived_id(caller_id=principal.member_id, key=hours.idempotency_key, purpose=kind),
        debit_account_id=hours.debit_account_id,
        credit_account_id=hours.credit_account_id,
        amount_minor=hours.minutes,
        unit=Unit.HOUR,
        code=kind,
        actor=principal.label,
        memo=hours.memo,
        after=after,
    )


async def _donate(  # noqa: PLR0917 - the gift's own arguments, passed on
    ledger: Ledger,
    principal: Principal,
    debit_account: uuid.UUID,
    minutes: int,
    memo: str,
    idempotency_key: str | None,
    reply: GiftReply | None,
) -> Given:
    community = (
        await Community.select(Community.pool_account_id, Community.name)
        .where(Community.id == principal.community_id)
        .first()
    )
    assert community is not None  # noqa: S101 - members always have a community
    sender = Party("member", principal.member_id, principal.display_name)
    receiver = Party("pool", None, f"{_PURPOSE_NAMES['pool']} ({community['name']})")
    after = _after(reply, sender, receiver)

    async def post(_transaction: WriteTransaction) -> Transfer:
        transfer = await _hours_from_member(
            ledger,
            principal,
            "donation",
            GivenHours(debit_account, community["pool_account_id"], minutes, memo, idempotency_key),
            after=after,
        )
        # Council figures count donations, in the same transaction.
        await record_pool_flow(
            transfer_id=transfer.id,
            kind="donation",
            community_id=principal.community_id,
            member_id=principal.member_id,
            minutes=transfer.amount_minor,
            at=transfer.effective_at,
        )
        return transfer

    transfer = await run_write(database.active_engine(), post)
    return Given(transfer, sender, receiver)


async def gift_recipient_by_email(*, principal: Principal, email: str) -> uuid.UUID:
    """The active member of the giver's own community with this email.

    Anyone else (no such email, another community, pending, suspended, closed)
    gets one and the same 404, so the answer never says whether an address
    belongs to a member (ADR 0020). The lookup is one indexed query either way.
    """
    found = (
        await Member.select(Member.id)
        .where(
            (Member.email == normalise_email(email))
            & (Member.community == principal.community_id)
            & (Member.status == "active")
        )
        .first()
        .run()
    )
    if found is None:
        raise not_found("That member")
    return uuid.UUID(str(found["id"]))


async def _gift_recipient(sender: Principal, to_member_id: uuid.UUID | None) -> dict[str, Any]:
    if to_member_id == sender.member_id:
        raise Invalid(code="gift_to_self", detail=_("You cannot give hours to yourself."))
    if to_member_id is None:
        raise not_found("That member")
    recipient = await _recipient_row(to_member_id, sender)
    if recipient is None or recipient["status"] != "active":
        raise not_found("That member")
    if recipient["blocked"]:
        raise blocked_problem()
    return {
        "id": as_uuid(recipient["id"]),
        "display_name": recipient["display_name"],
        "hour_account_id": as_uuid(recipient["hour_account_id"]),
    }


async def _recipient_row(recipient_id: uuid.UUID, sender: Principal) -> Any:
    """The recipient with the block check between the two, in one statement. Hand-written:
    on every gift, and Piccolo's query building costs more than the read. On PostgreSQL,
    gifts asking at once share one statement (ADR 0056), and a row found is kept under the
    principal version the sender was read under (ADR 0067); on SQLite the read is
    in-process."""
    if not database.point_reads_shared():
        async with database.point_read() as connection:
            return await connection.fetchrow(_GIFT_RECIPIENT_SQL, recipient_id, sender.member_id)
    pair = (recipient_id, sender.member_id)
    version = sender.read_under_version
    if version is None:
        return await _recipients.read(pair)
    # Kept per loop and engine: a test's database never answers from another's rows.
    owner = (asyncio.get_running_loop(), database.active_engine())
    row = _kept_recipients.get(pair, version=version, owner=owner)
    if row is None:
        row = await _recipients.read(pair)
        # Only rows found: an id that names no member yet is asked again next time.
        if row is not None:
            _kept_recipients.put(pair, row, version=version, owner=owner)
    return row


_GIFT_RECIPIENT_SQL = (
    "SELECT id, display_name, status, hour_account_id, "
    f"{blocked_between_sql(1, 2)} AS blocked FROM member_member WHERE id = $1"
)
# One index probe per asked pair whatever the statistics say (a prepared statement
# keeps the plan it made while member_member was small; see ledger/posting.py's
# earlier-attempts read). `OFFSET 0` keeps the LATERAL subquery a probe.
_GIFT_RECIPIENTS_POSTGRES = (
    "SELECT asked.recipient, asked.sender, m.id, m.display_name, m.status, m.hour_account_id, "
    f"{blocked_between_columns_sql('asked.recipient', 'asked.sender')} AS blocked "
    "FROM unnest($1::uuid[], $2::uuid[]) AS asked(recipient, sender) "
    "JOIN LATERAL (SELECT id, display_name, status, hour_account_id FROM member_member "
    "WHERE id = asked.recipient OFFSET 0) AS m ON true"
)


async def _read_recipients(
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
) -> dict[tuple[uuid.UUID, uuid.UUID], Any]:
    async with database.point_read() as connection:
        rows = await connection.fetch(
            _GIFT_RECIPIENTS_POSTGRES,
            [recipient for recipient, _sender in pairs],
            [sender for _recipient, sender in pairs],
        )
    return {(as_uuid(row["recipient"]), as_uuid(row["sender"])): row for row in rows}


_recipients: SharedReads[tuple[uuid.UUID, uuid.UUID], Any] = SharedReads(_read_recipients)
# Recipients found, kept under the sender's principal version: every write that changes
# what the read returns (a member's status or name, a block) calls principals_changed().
_kept_recipients: KeptRows[Any] = KeptRows()


async def pool_grant(
    *,
    engine: Engine[Any],
    ledger: Ledger,
    principal: Principal,
    member_id: uuid.UUID,
    minutes: int,
    reason: str,
    idempotency_key: str | None,
) -> Transfer:
    """A coordinator grants hours from the community pool to a member in need (audited)."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None:
        raise not_found("That member")
    require_coordinator_of(principal, member.community)
    if member.status != "active":
        raise Conflict(code="member_not_active", detail=_("That member is not active."))
    community = await Community.objects().where(Community.id == member.community).first().run()
    assert community is not None  # noqa: S101 - foreign key
    transfer_id = derived_id(caller_id=principal.member_id, key=idempotency_key, purpose="grant")

    async def grant(_transaction: WriteTransaction) -> Transfer:
        try:
            applied = await ledger.apply(
                operation=NewTransfer(
                    id=transfer_id,
                    debit_account_id=community.pool_account_id,
                    credit_account_id=member.hour_account_id,
                    amount_minor=minutes,
                    unit=Unit.HOUR,
                    code="grant",
                    actor=principal.label,
                    memo=reason,
                )
            )
        except LedgerError as error:
            if isinstance(error, ExceedsFloor) and error.data.get("account_id") == str(
                community.pool_account_id
            ):
                raise Conflict(
                    code="pool_insufficient",
                    detail=_("The pool has only %(n)s minutes.")
                    % {"n": error.data.get("available_minor")},
                    extra={"available_minutes": error.data.get("available_minor")},
                ) from error
            raise
        transfer = applied.transfer
        if applied.replayed:
            # A repeat of the same keyed grant (a double submit, a retried request, a
            # concurrent twin) found the transfer made the first time: the ledger says
            # so under its locks, so the grant is audited and counted exactly once.
            return transfer
        await record_pool_flow(
            transfer_id=transfer.id,
            kind="grant",
            community_id=community.id,
            member_id=member.id,
            minutes=transfer.amount_minor,
            at=transfer.effective_at,
        )
        await audit_member_change(
            principal,
            action="pool.grant",
            member_id=member.id,
            community_id=community.id,
            reason=reason,
            after={"minutes": minutes, "transfer_id": str(transfer.id)},
        )
        return transfer

    return await run_write(engine, grant)


@dataclass(frozen=True, slots=True)
class PoolFigure:
    community_name: str
    available_minutes: int


async def pool_figures(*, ledger: Ledger, principal: Principal) -> list[PoolFigure]:
    """What each pool the coordinator grants from holds (every pool for an admin), by name."""
    query = Community.select(Community.name, Community.pool_account_id).order_by(Community.name)
    if not principal.is_admin:
        coordinated = sorted(principal.coordinated_communities)
        if not coordinated:
            return []
        query = query.where(Community.id.is_in(coordinated))
    figures = []
    for row in await query.run():
        account = await ledger.account(account_id=row["pool_account_id"])
        figures.append(PoolFigure(row["name"], account.available_minor))
    return figures


async def transfer_visible_to(
    *, ledger: Ledger, principal: Principal, transfer_id: uuid.UUID
) -> Transfer:
    """A transfer, for its parties, their communities' coordinators and admins; else 404."""
    try:
        transfer = await ledger.get_transfer(transfer_id=transfer_id)
    except TransferNotFound:
        raise not_found("That transfer") from None
    if principal.is_admin:
        return transfer
    for account_id in (transfer.debit_account_id, transfer.credit_account_id):
        member = await _member_by_account(account_id)
        if member is not None and (
            member.id == principal.member_id or principal.coordinates(member.community)
        ):
            return transfer
    raise not_found("That transfer")


@dataclass(frozen=True, slots=True)
class StatementItem:
    transfer_id: uuid.UUID
    code: str
    counterparty: str
    minutes: int
    balance_after_minutes: int
    memo: str
    effective_at: datetime
    recorded_at: datetime
    on_hold: bool


async def statement_page(
    *, ledger: Ledger, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[StatementItem], str | None]:
    """The caller's own statement: their hours account is known from the request's own
    lookup (or the member they act for), so no query for it."""
    account_id = await hour_account_of(principal)
    return await _statement_of(ledger, account_id, limit=limit, cursor=cursor)


async def member_statement_page(
    *, ledger: Ledger, member_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[StatementItem], str | None]:
    """A member's statement, newest first; the caller has checked who may read it."""
    account_id = await hour_account_of_member(member_id)
    return await _statement_of(ledger, account_id, limit=limit, cursor=cursor)


async def _statement_of(
    ledger: Ledger, account_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[StatementItem], str | None]:
    page = await ledger.statement(account_id=account_id, limit=limit, cursor=cursor)
    parties = await parties_of(other_side(line, account_id) for line in page.lines)
    items = []
    for line in page.lines:
        transfer = line.transfer
        other = other_side(line, account_id)
        items.append(
            StatementItem(
                transfer_id=transfer.id,
                code=transfer.code,
                counterparty=parties[other].display_name,
                minutes=line.change_minor,
                balance_after_minutes=line.balance_after_minor,
                memo=transfer.memo,
                effective_at=transfer.effective_at,
                recorded_at=line.recorded_at,
                on_hold=transfer.kind.value == "pending",
            )
        )
    return items, page.next_cursor


STATEMENT_CSV_COLUMNS = (
    "recorded_at",
    "effective_at",
    "code",
    "counterparty",
    "minutes",
    "balance_after_minutes",
    "memo",
    "transfer_id",
)


async def statement_csv(*, ledger: Ledger, principal: Principal) -> str:
    """The whole statement, newest first, as CSV (cells that look like formulas are quoted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(STATEMENT_CSV_COLUMNS)
    cursor: str | None = None
    while True:
        items, cursor = await statement_page(
            ledger=ledger, principal=principal, limit=500, cursor=cursor
        )
        for item in items:
            writer.writerow(
                [
                    item.recorded_at.isoformat(),
                    item.effective_at.isoformat(),
                    item.code,
                    _csv_safe(item.counterparty),
                    item.minutes,
                    item.balance_after_minutes,
                    _csv_safe(item.memo),
                    str(item.transfer_id),
                ]
            )
        if cursor is None:
            return buffer.getvalue()


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
