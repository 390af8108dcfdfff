"""`GET /api/v1/accounts/me`: the caller's hour account."""

from __future__ import annotations

from litestar import Controller, get

from service.accounts import selectors
from service.http.access import Access, access
from service.http.deps import CurrentMember, LedgerDep
from service.members.schemas import AccountOut


class AccountsController(Controller):
    opt = access(Access.MEMBER, acting=True)
    path = "/api/v1"
    tags = ("members",)

    @get("/accounts/me")
    async def my_account(self, member: CurrentMember, ledger: LedgerDep) -> AccountOut:
        # A member's own read with a bearer token is answered by service/accounts/lane.py
        # (ADR 0062) in the same way: a change here must be made there too.
        summary = await selectors.account_of(ledger=ledger, principal=member)
        return AccountOut(**summary)


ROUTERS = [AccountsController]
