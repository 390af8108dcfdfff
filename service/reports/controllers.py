"""The reports JSON API and its CSV twin: thin handlers over service/reports/figures.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import QueryParameter

from service.errors import Invalid
from service.http.access import Access, access
from service.http.deps import CurrentMember
from service.i18n import _
from service.limits import REPORT_COMMUNITIES_MAX, SLUG_CHARS_MAX
from service.reports.figures import Breakdown, Report, report_build
from service.reports.impact import ImpactReport, impact_build
from service.reports.impact_schemas import impact_csv, impact_out
from service.reports.period import month_text, period_parse
from service.reports.schemas import FlowsOut, flows_csv, flows_out
from service.reports.source import REPORT_DEPENDENCIES, Freshness, ReportReaderDep

MONTH_QUERY_PATTERN = r"^\d{4}-\d{2}$"
FIGURES_AS_OF_HEADER = "X-Figures-As-Of"
FIGURES_FROM_HEADER = "X-Figures-From"
SLUG_REGEX = re.compile(r"^[a-z0-9][a-z0-9-]*$")

FromMonth = Annotated[
    str | None,
    QueryParameter(
        name="from",
        pattern=MONTH_QUERY_PATTERN,
        description="First month of the period, YYYY-MM (default: 11 months before `to`).",
    ),
]
ToMonth = Annotated[
    str | None,
    QueryParameter(
        pattern=MONTH_QUERY_PATTERN,
        description="Last month of the period, YYYY-MM (default: this month). Months are UTC.",
    ),
]
Communities = Annotated[
    list[str] | None,
    QueryParameter(
        max_items=REPORT_COMMUNITIES_MAX,
        description="Community slugs (repeat the parameter); default: every community you "
        "may see. One out of reach answers 404.",
    ),
]
By = Annotated[
    Breakdown,
    QueryParameter(description="The breakdown: month, category, ward, age_band or community."),
]


def _slugs(community: list[str] | None) -> list[str]:
    slugs = community or []
    if any(len(slug) > SLUG_CHARS_MAX or not SLUG_REGEX.match(slug) for slug in slugs):
        raise Invalid(
            code="validation_failed",
            detail=_("The community is not valid."),
            extra={
                "errors": [{"field": "community", "source": "query", "message": "must be a slug"}]
            },
        )
    return slugs


async def _impact(
    report_reader: ReportReaderDep,
    member: CurrentMember,
    from_month: str | None,
    to_month: str | None,
    community: list[str] | None,
) -> tuple[ImpactReport, Freshness]:
    slugs = _slugs(community)
    period = period_parse(from_month, to_month, now=datetime.now(UTC))
    return await report_reader.read(
        lambda engine: impact_build(
            engine=engine, viewer=member, period=period, community_slugs=slugs
        )
    )


def _freshness_headers(freshness: Freshness) -> dict[str, str]:
    """A CSV keeps its columns; how fresh its figures are rides in headers (ADR 0047)."""
    return {
        FIGURES_AS_OF_HEADER: freshness.as_of.isoformat(),
        FIGURES_FROM_HEADER: freshness.source,
    }


async def _report(
    *,
    report_reader: ReportReaderDep,
    member: CurrentMember,
    from_month: str | None,
    to_month: str | None,
    community: list[str] | None,
    by: Breakdown,
) -> tuple[Report, Freshness]:
    slugs = _slugs(community)
    period = period_parse(from_month, to_month, now=datetime.now(UTC))
    return await report_reader.read(
        lambda engine: report_build(
            engine=engine, viewer=member, period=period, community_slugs=slugs, breakdowns=[by]
        )
    )


class ReportController(Controller):
    opt = access(Access.REPORTS)
    path = "/api/v1/reports"
    tags = ("reports",)
    dependencies = REPORT_DEPENDENCIES

    @get("/flows")
    async def flows(
        self,
        *,
        report_reader: ReportReaderDep,
        member: CurrentMember,
        from_month: FromMonth = None,
        to: ToMonth = None,
        community: Communities = None,
        by: By = "month",
    ) -> FlowsOut:
        """Aggregate flows for council viewers (their area's communities) and admins.

        Any figure resting on fewer than k distinct members (the strictest
        `small_cell_k` of the communities) is suppressed, and so are the
        figures that would let it be worked out from the totals.
        """
        report, freshness = await _report(
            report_reader=report_reader,
            member=member,
            from_month=from_month,
            to_month=to,
            community=community,
            by=by,
        )
        return flows_out(report, report.breakdowns[by], freshness)

    @get("/flows.csv", media_type="text/csv")
    async def flows_csv(
        self,
        *,
        report_reader: ReportReaderDep,
        member: CurrentMember,
        from_month: FromMonth = None,
        to: ToMonth = None,
        community: Communities = None,
        by: By = "month",
    ) -> Response[str]:
        """The same figures as CSV; suppressed cells have empty values and `suppressed` yes."""
        report, freshness = await _report(
            report_reader=report_reader,
            member=member,
            from_month=from_month,
            to_month=to,
            community=community,
            by=by,
        )
        name = (
            f"flows-{by}-{month_text(report.period.first)}-to-{month_text(report.period.last)}.csv"
        )
        return Response(
            flows_csv(report, report.breakdowns[by]),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                **_freshness_headers(freshness),
            },
        )

    @get("/impact")
    async def impact(
        self,
        *,
        report_reader: ReportReaderDep,
        member: CurrentMember,
        from_month: FromMonth = None,
        to: ToMonth = None,
        community: Communities = None,
    ) -> dict[str, Any]:
        """Impact figures for councils, coordinators (own communities) and admins (ADR 0042).

        people_connected, exchanges, hours_minutes, events_held, event_attendances,
        one_to_one_minutes, intergenerational_minutes, new_members and members still
        active after 3 and 6 months, each with its months; suppressed below k like flows.
        """
        report, freshness = await _impact(report_reader, member, from_month, to, community)
        return impact_out(report, freshness)

    @get("/impact.csv", media_type="text/csv")
    async def impact_as_csv(
        self,
        *,
        report_reader: ReportReaderDep,
        member: CurrentMember,
        from_month: FromMonth = None,
        to: ToMonth = None,
        community: Communities = None,
    ) -> Response[str]:
        """The same figures as CSV: a line per figure and month, then each total."""
        report, freshness = await _impact(report_reader, member, from_month, to, community)
        first, last = month_text(report.period.first), month_text(report.period.last)
        return Response(
            impact_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="impact-{first}-to-{last}.csv"',
                **_freshness_headers(freshness),
            },
        )


ROUTERS = [ReportController]
