"""What the paper pages and the paper API share: the period query parameters, the
statement for a period, and the plain CSV as a download."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Response
from litestar.params import QueryParameter

from ledger import Ledger
from service import clock
from service.paper import services as paper
from service.principal import Principal

FromDay = Annotated[date | None, QueryParameter(name="from")]
ToDay = Annotated[date | None, QueryParameter(name="to")]


async def statement_for_period(
    actor: Principal,
    ledger: Ledger,
    member_id: uuid.UUID,
    first_day: date | None,
    last_day: date | None,
) -> tuple[paper.Period, paper.PaperStatement]:
    """The period asked for (the last quarter by default) and the statement over it."""
    period = paper.period_of(first_day, last_day, today=clock.local_today())
    statement = await paper.paper_statement(
        ledger=ledger, actor=actor, member_id=member_id, period=period
    )
    return period, statement


async def plain_csv_download(
    actor: Principal,
    ledger: Ledger,
    member_id: uuid.UUID,
    first_day: date | None,
    last_day: date | None,
    *,
    dated_name: bool,
) -> Response[str]:
    """The plain CSV as an attachment; the pages name the file after its period."""
    period, statement = await statement_for_period(actor, ledger, member_id, first_day, last_day)
    name = "statement-plain.csv"
    if dated_name:
        name = f"statement-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv"
    return Response(
        content=paper.plain_csv(statement),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
