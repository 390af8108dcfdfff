"""The impact page: one printable page of the impact figures, a chart per figure over
months with its table, the wellbeing change, and the method in plain words (ADR 0042).

Thin like the dashboard: read the GET form (period and communities), call
`impact_build` once, shape what the template shows. Council viewers,
coordinators (their own communities) and admins; anyone else gets the 403 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from litestar import get
from litestar.response import Template
from markupsafe import Markup

from service.formatting import minutes_text
from service.http.access import Access, access
from service.i18n import N_, _
from service.limits import (
    IMPACT_OLDER_AGE_FROM,
    IMPACT_RETENTION_MONTHS,
    IMPACT_YOUNGER_AGE_BELOW,
)
from service.reports import charts
from service.reports.impact import ImpactReport, Series, impact_build
from service.reports.page_query import (
    CommunitiesField,
    FromMonthField,
    ToMonthField,
    report_query,
)
from service.reports.period import Period, month_label, month_short_label, month_text
from service.reports.source import REPORT_DEPENDENCIES, ReportReaderDep
from service.reports.suppression import Entry
from service.web.kit import PAGE_DEPENDENCIES, PageController, Viewer, render

HIDDEN: Final = N_("hidden")
CSV_PATH: Final = "/api/v1/reports/impact.csv"
MEASURE_WORDS: Final = {
    "life_satisfaction": N_("Life satisfaction (0 to 10)"),
    "worthwhile": N_("Feeling that what you do is worthwhile (0 to 10)"),
    "happy_yesterday": N_("Happiness yesterday (0 to 10)"),
    "anxious_yesterday": N_("Anxiety yesterday (0 to 10; lower is better)"),
    "lack_companionship": N_("Lacking companionship (1 to 3; lower is better)"),
    "left_out": N_("Feeling left out (1 to 3; lower is better)"),
    "isolated": N_("Feeling isolated (1 to 3; lower is better)"),
    "loneliness": N_("Loneliness score (3 to 9; lower is better)"),
}


@dataclass(frozen=True, slots=True)
class FigureSection:
    id: str
    heading: str
    value: str
    chart: Markup
    rows: list[tuple[str, str]]


def _text(series: Series, entry: Entry) -> str:
    if entry.suppressed:
        return _(HIDDEN)
    return minutes_text(entry.minutes) if series.spec.unit == "minutes" else f"{entry.minutes:,}"


def _short_month(key: str) -> str:
    year, number = key.split("-")
    return month_short_label(int(year) * 100 + int(number))


def _section(series: Series) -> FigureSection:
    spec = series.spec
    bars = [
        charts.Bar(_short_month(str(e.key)), None if e.suppressed else e.minutes)
        for e in series.months
    ]
    label = spec.words()
    return FigureSection(
        id=spec.name.replace("_", "-"),
        heading=label,
        value=_text(series, series.total),
        chart=charts.bar_chart(
            bars,
            title=_("%(figure)s each month") % {"figure": label},
            description=_("A bar for each month showing hours; the table after it has the figures.")
            if spec.unit == "minutes"
            else _("A bar for each month showing the number; the table after it has the figures."),
            counts=spec.unit == "count",
        ),
        rows=[
            (month_label(int(str(e.key).replace("-", ""))), _text(series, e)) for e in series.months
        ],
    )


def _period_words(period: Period) -> str:
    first, last = month_label(period.first), month_label(period.last)
    return first if first == last else _("%(first)s to %(last)s") % {"first": first, "last": last}


def _csv_url(report: ImpactReport, selected: list[str]) -> str:
    query = [
        ("from", month_text(report.period.first)),
        ("to", month_text(report.period.last)),
        *(("community", slug) for slug in selected),
    ]
    return f"{CSV_PATH}?{urlencode(query)}"


def _wellbeing_rows(report: ImpactReport) -> list[tuple[str, str]]:
    change = report.wellbeing.mean_change or {}
    return [(_(MEASURE_WORDS[name]), f"{value:+.2f}") for name, value in change.items()]


IMPACT_PAGE_DEPENDENCIES = {**PAGE_DEPENDENCIES, **REPORT_DEPENDENCIES}


class ImpactPages(PageController):
    opt = access(Access.REPORTS)
    path = "/reports/impact"
    dependencies = IMPACT_PAGE_DEPENDENCIES

    @get("/")
    async def impact_page(
        self,
        *,
        viewer: Viewer,
        report_reader: ReportReaderDep,
        from_month: FromMonthField = None,
        to: ToMonthField = None,
        community: CommunitiesField = None,
    ) -> Template:
        query = await report_query(viewer, from_month, to, community)
        scope, form, selected, period = query.scope, query.form, query.selected, query.period
        report, freshness = await report_reader.read(
            lambda engine: impact_build(
                engine=engine, viewer=viewer, period=period, community_slugs=selected
            )
        )
        context: dict[str, Any] = {
            "freshness_words": freshness.words,
            "form": form,
            "report": report,
            "period_words": _period_words(report.period),
            "from_value": form.values["from"] or month_text(report.period.first),
            "to_value": form.values["to"] or month_text(report.period.last),
            "communities": [(each, each.slug in selected) for each in scope.in_reach],
            "sections": [_section(series) for series in report.series.values()],
            "csv_url": _csv_url(report, selected),
            "wellbeing_rows": _wellbeing_rows(report),
            "younger_below": IMPACT_YOUNGER_AGE_BELOW,
            "older_from": IMPACT_OLDER_AGE_FROM,
            "retention_months": IMPACT_RETENTION_MONTHS,
        }
        return render(
            "reports/impact.html",
            viewer=viewer,
            title=_("Impact report"),
            current="reports",
            status=422 if form.failed else 200,
            **context,
        )


PAGE_ROUTERS = [ImpactPages]
