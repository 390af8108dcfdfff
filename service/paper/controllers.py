"""The plain-language statement CSV through the API, beside the machine CSV
(`/api/v1/accounts/me/statement.csv`): the member's own, and a coordinator's member's."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get
from litestar.params import FromPath

from service.http.access import Access, access, on_object
from service.http.deps import CurrentMember, LedgerDep
from service.paper.downloads import FromDay, ToDay, plain_csv_download


class PlainStatementController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1"
    tags = ("accounts",)

    @get("/accounts/me/statement-plain.csv", media_type="text/csv")
    async def own(
        self,
        member: CurrentMember,
        ledger: LedgerDep,
        first_day: FromDay = None,
        last_day: ToDay = None,
    ) -> Response[str]:
        """The statement for a period (`from`, `to`: dates; the last quarter by default) in
        plain words: dates as dates, hours as h:mm, opening and closing balance."""
        return await plain_csv_download(
            member, ledger, member.member_id, first_day, last_day, dated_name=False
        )


class CoordinatorPlainStatementController(Controller):
    opt = access(Access.COORDINATOR)
    path = "/api/v1/coordinator"
    tags = ("coordinator",)

    @get(
        "/members/{member_id:uuid}/statement-plain.csv",
        media_type="text/csv",
        opt=on_object("member", "member_id"),
    )
    async def of_member(
        self,
        member: CurrentMember,
        ledger: LedgerDep,
        member_id: FromPath[uuid.UUID],
        first_day: FromDay = None,
        last_day: ToDay = None,
    ) -> Response[str]:
        """A member of the coordinator's community: the same plain CSV (404 for anyone else)."""
        return await plain_csv_download(
            member, ledger, member_id, first_day, last_day, dated_name=False
        )


ROUTERS = [PlainStatementController, CoordinatorPlainStatementController]
