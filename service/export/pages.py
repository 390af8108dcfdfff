"""`/profile/export`: the member's data export as a download."""

from __future__ import annotations

import msgspec
from litestar import Response, get

from service import clock
from service.export import services as data_export
from service.http.access import Access, access
from service.http.deps import LedgerDep
from service.web.kit import PageController, Viewer


class ExportPages(PageController):
    opt = access(Access.MEMBER)

    @get("/profile/export")
    async def export(self, viewer: Viewer, ledger: LedgerDep) -> Response[bytes]:
        data = await data_export.member_export(ledger=ledger, principal=viewer)
        day = clock.local_today().isoformat()
        return Response(
            content=msgspec.json.encode(data),
            media_type=EXPORT_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="timebank-my-data-{day}.json"',
                "Cache-Control": "no-store",
            },
        )


PAGE_ROUTERS = [ExportPages]


EXPORT_MEDIA_TYPE = "application/json"
