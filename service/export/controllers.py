"""`GET /api/v1/me/export`: everything held about the caller, as JSON."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from service.export import services as data_export
from service.http.access import Access, access
from service.http.deps import CurrentMember, LedgerDep


class ExportController(Controller):
    opt = access(Access.MEMBER)
    path = "/api/v1/me"
    tags = ("me",)

    @get("/export")
    async def export(self, member: CurrentMember, ledger: LedgerDep) -> dict[str, Any]:
        return await data_export.member_export(ledger=ledger, principal=member)


ROUTERS = [ExportController]
