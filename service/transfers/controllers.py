"""JSON API for gifts, pool donations and grants, transfers and statements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.serialization import encode_json
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta

from ledger import Transfer
from service.errors import Invalid
from service.http.access import Access, access
from service.http.deps import CurrentMember, EngineDep, LedgerDep
from service.http.idempotency import (
    KeyedReply,
    idempotency_middleware,
    idempotency_middleware_in_write,
    key_from_scope,
    keyed_reply_from_scope,
)
from service.i18n import _
from service.limits import (
    GIFT_MINUTES_MAX,
    MEMO_CHARS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    REASON_CHARS_MAX,
)
from service.members.schemas import Email
from service.transfers import services as transfers
from service.transfers.schemas import StatementOut, statement_out

Minutes = Annotated[int, Meta(ge=1, le=GIFT_MINUTES_MAX)]
Memo = Annotated[str, Meta(max_length=MEMO_CHARS_MAX)]


class GiftIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Exactly one recipient: a member by id, one of one's own community by email, or the pool."""

    minutes: Minutes
    to_member_id: uuid.UUID | None = None
    to_email: Email | None = None
    to: Literal["pool"] | None = None
    memo: Memo = ""


class GrantIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    member_id: uuid.UUID
    minutes: Minutes
    reason: Annotated[str, Meta(min_length=1, max_length=REASON_CHARS_MAX)]


class PartyOut(msgspec.Struct, kw_only=True):
    kind: str
    member_id: uuid.UUID | None
    display_name: str


class TransferOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    kind: str
    minutes: int
    sender: PartyOut
    receiver: PartyOut
    memo: str
    effective_at: datetime
    recorded_at: datetime


async def transfer_out(transfer: Transfer) -> TransferOut:
    parties = await transfers.parties_of((transfer.debit_account_id, transfer.credit_account_id))
    return transfer_out_with(
        transfer, parties[transfer.debit_account_id], parties[transfer.credit_account_id]
    )


def transfer_out_with(
    transfer: Transfer, sender: transfers.Party, receiver: transfers.Party
) -> TransferOut:
    return TransferOut(
        id=transfer.id,
        code=transfer.code,
        kind=transfer.kind.value,
        minutes=transfer.amount_minor,
        sender=PartyOut(
            kind=sender.kind, member_id=sender.member_id, display_name=sender.display_name
        ),
        receiver=PartyOut(
            kind=receiver.kind, member_id=receiver.member_id, display_name=receiver.display_name
        ),
        memo=transfer.memo,
        effective_at=transfer.effective_at,
        recorded_at=transfer.recorded_at,
    )


def gift_reply(keyed: KeyedReply | None) -> transfers.GiftReply | None:
    """A keyed gift's 201, stored with the gift itself (ADR 0037, 0056)."""
    if keyed is None:
        return None
    return transfers.GiftReply(keyed, HTTP_201_CREATED, encoded_gift_reply)


def encoded_gift_reply(given: transfers.Given) -> bytes:
    return encode_json(transfer_out_with(given.transfer, given.sender, given.receiver))


class TransferController(Controller):
    opt = access(Access.MEMBER, acting=True)
    path = "/api/v1"
    tags = ("transfers",)

    @post("/transfers", status_code=HTTP_201_CREATED, middleware=[idempotency_middleware_in_write])
    async def give(
        self,
        request: Request[Any, Any, Any],
        member: CurrentMember,
        ledger: LedgerDep,
        data: JSONBody[GiftIn],
    ) -> TransferOut:
        # Keyed gifts to a member by bearer token are answered by the gift lane in front
        # of the framework (service/transfers/lane.py, ADR 0058): a rule added here must be
        # added there too, or make the lane decline.
        recipients = (data.to_member_id, data.to_email, data.to)
        if sum(recipient is not None for recipient in recipients) != 1:
            raise Invalid(
                code="validation_failed",
                detail='Give either to_member_id, to_email or to: "pool".',
                extra={
                    "errors": [
                        {
                            "field": "to_member_id",
                            "source": "body",
                            "message": _("exactly one of to_member_id, to_email and to is needed"),
                        }
                    ]
                },
            )
        to_member_id = data.to_member_id
        if data.to_email is not None:
            to_member_id = await transfers.gift_recipient_by_email(
                principal=member, email=data.to_email
            )
        given = await transfers.give(
            ledger=ledger,
            principal=member,
            minutes=data.minutes,
            to_member_id=to_member_id,
            to_pool=data.to == "pool",
            memo=data.memo,
            idempotency_key=key_from_scope(request.scope),
            reply=gift_reply(keyed_reply_from_scope(request.scope)),
        )
        return transfer_out_with(given.transfer, given.sender, given.receiver)

    @get("/transfers/{transfer_id:uuid}")
    async def one(
        self, member: CurrentMember, ledger: LedgerDep, transfer_id: FromPath[uuid.UUID]
    ) -> TransferOut:
        transfer = await transfers.transfer_visible_to(
            ledger=ledger, principal=member, transfer_id=transfer_id
        )
        return await transfer_out(transfer)

    @post(
        "/coordinator/grants",
        status_code=HTTP_201_CREATED,
        middleware=[idempotency_middleware],
        opt=access(Access.COORDINATOR),
    )
    async def grant(
        self,
        request: Request[Any, Any, Any],
        member: CurrentMember,
        engine: EngineDep,
        ledger: LedgerDep,
        data: JSONBody[GrantIn],
    ) -> TransferOut:
        transfer = await transfers.pool_grant(
            engine=engine,
            ledger=ledger,
            principal=member,
            member_id=data.member_id,
            minutes=data.minutes,
            reason=data.reason,
            idempotency_key=key_from_scope(request.scope),
        )
        return await transfer_out(transfer)

    @get("/accounts/me/statement")
    async def statement(
        self,
        member: CurrentMember,
        ledger: LedgerDep,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> StatementOut:
        items, next_cursor = await transfers.statement_page(
            ledger=ledger, principal=member, limit=limit, cursor=cursor
        )
        return statement_out(items, next_cursor)

    @get("/accounts/me/statement.csv", media_type="text/csv")
    async def statement_csv(self, member: CurrentMember, ledger: LedgerDep) -> Response[str]:
        body = await transfers.statement_csv(ledger=ledger, principal=member)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="statement.csv"'},
        )
