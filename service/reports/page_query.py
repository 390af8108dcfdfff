"""What a report page reads from its address: the period and the communities, the same
for the flows dashboard and the impact page. A page shows a bad month next to its
field (422) and falls back to the last twelve months; the API refuses it instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from litestar.params import QueryParameter

from service.errors import DomainError
from service.i18n import _
from service.limits import REPORT_COMMUNITIES_MAX
from service.principal import Principal
from service.reports.period import Period, period_parse
from service.reports.scope import Scope, scope_for
from service.web.kit import Form

MONTH_FIELD_CHARS_MAX = 20  # "2026-05" and room for a typing slip, never a 400

FromMonthField = Annotated[
    str | None, QueryParameter(name="from", max_length=MONTH_FIELD_CHARS_MAX)
]
ToMonthField = Annotated[str | None, QueryParameter(max_length=MONTH_FIELD_CHARS_MAX)]
CommunitiesField = Annotated[list[str] | None, QueryParameter(max_items=REPORT_COMMUNITIES_MAX)]


@dataclass(frozen=True, slots=True)
class ReportQuery:
    scope: Scope  # what the viewer may see
    form: Form  # the period form as typed, with any errors
    selected: list[str]  # the communities asked for that are in reach
    period: Period


async def report_query(
    viewer: Principal, from_month: str | None, to: str | None, community: list[str] | None
) -> ReportQuery:
    """The period and communities a report page shows (403 for anyone without reports)."""
    scope = await scope_for(viewer, [])
    form = Form(values={"from": from_month or "", "to": to or ""})
    in_reach = {each.slug for each in scope.in_reach}
    selected = [slug for slug in community or [] if slug in in_reach]
    try:
        period = period_parse(from_month or None, to or None, now=datetime.now(UTC))
    except DomainError as problem:
        for error in problem.extra_fields.get("errors") or []:
            label = _("From") if error["field"] == "from" else _("To")
            form.errors.setdefault(str(error["field"]), f"{label}: {error['message']}")
        period = period_parse(None, None, now=datetime.now(UTC))
    return ReportQuery(scope=scope, form=form, selected=selected, period=period)
