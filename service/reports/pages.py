"""The council dashboard: headline figures, charts (inline SVG) with their tables, CSV links.

Thin like the other pages: read the GET form (period and communities), call
`report_build` once for every breakdown, and shape what the template shows.
Council viewers see their areas' communities, admins every community; anyone
else gets the 403 page. The form is a plain GET form: it works without script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import get
from litestar.response import Template
from markupsafe import Markup

from service.formatting import minutes_text, money_text
from service.http.access import Access, access
from service.i18n import N_, _
from service.reports import charts
from service.reports.figures import BREAKDOWNS, Breakdown, Figures, Money, Report, report_build
from service.reports.page_query import (
    CommunitiesField,
    FromMonthField,
    ToMonthField,
    report_query,
)
from service.reports.period import Period, month_label, month_text
from service.reports.source import REPORT_DEPENDENCIES, ReportReaderDep
from service.reports.suppression import Entry
from service.web.kit import PAGE_DEPENDENCIES, PageController, Viewer, render

HIDDEN = N_("hidden")
CSV_PATH = "/api/v1/reports/flows.csv"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a one-way table."""

    label: str
    hours: str
    exchanges: str


@dataclass(frozen=True, slots=True)
class Grid:
    """A two-way table: column labels, then (row label, cells, row total) lines."""

    columns: list[str]
    lines: list[tuple[str, list[str], str]]
    totals: list[str]
    total: str


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    heading: str
    intro: str
    chart: Markup
    caption: str
    rows: list[Row] | None
    grid: Grid | None
    csv_url: str


def _hours(entry: Entry) -> str:
    return _(HIDDEN) if entry.suppressed else minutes_text(entry.minutes)


def _exchanges(entry: Entry) -> str:
    return _(HIDDEN) if entry.suppressed else f"{entry.exchanges:,}"


def _minutes(entry: Entry) -> int | None:
    return None if entry.suppressed else entry.minutes


def _rows(figures: Figures) -> list[Row]:
    return [
        Row(_(label.label), _hours(entry), _exchanges(entry))
        for label in figures.rows
        for entry in [figures.cells[(label.key, None)]]
    ]


def _bars(figures: Figures) -> list[charts.Bar]:
    return [
        charts.Bar(_(label.label), _minutes(figures.cells[(label.key, None)]))
        for label in figures.rows
    ]


def _grid(figures: Figures) -> Grid:
    # The same words as the heat map's cells and every other table (ADR 0044): a
    # phone shows the grid as cards, so "7 hours 30 minutes" fits.
    hours = _hours
    return Grid(
        columns=[_(label.label) for label in figures.columns],
        lines=[
            (
                _(row.label),
                [hours(figures.cells[(row.key, column.key)]) for column in figures.columns],
                hours(figures.row_totals[row.key]),
            )
            for row in figures.rows
        ],
        totals=[hours(figures.column_totals[column.key]) for column in figures.columns],
        total=hours(figures.total),
    )


def _heat(figures: Figures, *, title: str, description: str, rows: str, columns: str) -> Markup:
    return charts.heat_map(
        [_(label.label) for label in figures.rows],
        [_(label.label) for label in figures.columns],
        [
            [_minutes(figures.cells[(row.key, column.key)]) for column in figures.columns]
            for row in figures.rows
        ],
        title=title,
        description=description,
        row_heading=rows,
        column_heading=columns,
    )


def _csv_url(report: Report, by: str, selected: list[str]) -> str:
    query: list[tuple[str, str]] = [
        ("by", by),
        ("from", month_text(report.period.first)),
        ("to", month_text(report.period.last)),
        *(("community", slug) for slug in selected),
    ]
    return f"{CSV_PATH}?{urlencode(query)}"


@dataclass(frozen=True, slots=True)
class _GridWords:
    """The words of a two-way breakdown: its heat map, and the grid's caption."""

    title: str
    description: str
    rows: str
    columns: str
    caption: str


def _breakdown_section(
    report: Report,
    selected: list[str],
    by: Breakdown,
    *,
    anchor: str,
    heading: str,
    intro: str,
    shown: str | _GridWords,
) -> Section:
    """A breakdown's section: one-way (`shown` names what each bar is) as a bar chart and
    a table of hours and exchanges; two-way (`shown` is its words) as a heat map and a
    grid of hours."""
    figures = report.breakdowns[by]
    if isinstance(shown, _GridWords):
        chart = _heat(
            figures,
            title=shown.title,
            description=shown.description,
            rows=shown.rows,
            columns=shown.columns,
        )
        caption, rows, grid = shown.caption, None, _grid(figures)
    else:
        chart = charts.bar_chart(
            _bars(figures),
            title=heading,
            description=_one_way_words(shown)[0],
        )
        caption = _one_way_words(shown)[1]
        rows, grid = _rows(figures), None
    return Section(
        id=anchor,
        heading=heading,
        intro=intro,
        chart=chart,
        caption=caption,
        rows=rows,
        grid=grid,
        csv_url=_csv_url(report, by, selected),
    )


def _one_way_words(shown: str) -> tuple[str, str]:
    """A one-way breakdown's chart description and table caption, by what each bar is."""
    if shown == "category":
        return (
            _("A bar for each category; the table after it has the figures."),
            _("Hours and exchanges by kind of help"),
        )
    return (
        _("A bar for each ward; the table after it has the figures."),
        _("Hours and exchanges by ward of the person helped"),
    )


def _sections(report: Report, selected: list[str]) -> list[Section]:
    months = report.breakdowns["month"]
    return [
        Section(
            id="months",
            heading=_("Hours exchanged each month"),
            intro=_("Hours of help given and received in each month of the period."),
            chart=charts.bar_chart(
                [
                    charts.Bar(_(label.label), _minutes(months.cells[(label.key, None)]))
                    for label in months.rows
                ],
                title=_("Hours exchanged each month"),
                description=_("A bar for each month; the table after it has the figures."),
            ),
            caption=_("Hours and exchanges each month"),
            rows=_rows(months),
            grid=None,
            csv_url=_csv_url(report, "month", selected),
        ),
        _breakdown_section(
            report,
            selected,
            "age_band",
            anchor="ages",
            heading=_("Who helps whom, by age"),
            intro=_(
                "Hours from each age group of the people helping (rows) to each age group "
                "of the people helped (columns): help between generations."
            ),
            shown=_GridWords(
                title=_("Hours between age groups"),
                description=_(
                    "A grid of hours, darker for more: helpers' age groups down the "
                    "side, age groups of those helped across the top."
                ),
                rows=_("Age of helper"),
                columns=_("Age of person helped"),
                caption=_(
                    "Hours between age groups (helper's age down, helped person's age across)"
                ),
            ),
        ),
        _breakdown_section(
            report,
            selected,
            "category",
            anchor="categories",
            heading=_("Hours by kind of help"),
            intro=_("The category of the listing an exchange came from."),
            shown="category",
        ),
        _breakdown_section(
            report,
            selected,
            "ward",
            anchor="wards",
            heading=_("Hours by ward of the person helped"),
            intro=_("Wards with fewer people than the privacy threshold are counted together."),
            shown="ward",
        ),
        _breakdown_section(
            report,
            selected,
            "community",
            anchor="communities",
            heading=_("Between communities"),
            intro=_(
                "Hours from members of each community (rows) to members of each "
                "community (columns)."
            ),
            shown=_GridWords(
                title=_("Hours between communities"),
                description=_(
                    "A grid of hours, darker for more: the helpers' communities down "
                    "the side, the communities of those helped across the top."
                ),
                rows=_("Helper's community"),
                columns=_("Community of person helped"),
                caption=_("Hours between communities (helpers down, people helped across)"),
            ),
        ),
    ]


def _headline(report: Report) -> list[tuple[str, str]]:
    def count(value: int | None) -> str:
        return _(HIDDEN) if value is None else f"{value:,}"

    return [
        (_("Hours exchanged"), _hours(report.total)),
        (_("Exchanges"), _exchanges(report.total)),
        (_("Active members (at least one exchange)"), count(report.active_members.value)),
        (_("Members who both gave and received help"), count(report.gave_and_received.value)),
        (_("New members"), count(report.new_members.value)),
        (_("Hours donated to community pools"), _hours(report.pool_donations)),
        (_("Hours granted from community pools"), _hours(report.pool_grants)),
        (_("Money donated"), _money(report.donations)),
    ]


def _money(donations: Money) -> str:
    amount = donations.amount_pence
    return _(HIDDEN) if amount is None else money_text(amount)


def _period_words(period: Period) -> str:
    first, last = month_label(period.first), month_label(period.last)
    return first if first == last else _("%(first)s to %(last)s") % {"first": first, "last": last}


REPORT_PAGE_DEPENDENCIES = {**PAGE_DEPENDENCIES, **REPORT_DEPENDENCIES}


class ReportPages(PageController):
    opt = access(Access.REPORTS)
    path = "/reports"
    dependencies = REPORT_PAGE_DEPENDENCIES

    @get("/")
    async def dashboard(
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
            lambda engine: report_build(
                engine=engine,
                viewer=viewer,
                period=period,
                community_slugs=selected,
                breakdowns=list(BREAKDOWNS),
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
            "headline": _headline(report),
            "sections": _sections(report, selected),
        }
        return render(
            "reports/dashboard.html",
            viewer=viewer,
            title=_("Council reports"),
            current="reports",
            status=422 if form.failed else 200,
            **context,
        )


PAGE_ROUTERS = [ReportPages]
