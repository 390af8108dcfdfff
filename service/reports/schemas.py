"""What the reports API returns, and the CSV form of the same figures.

A suppressed figure is marked (`suppressed: true`, and why) and carries no
value: `minutes` and `exchanges` are null. Nothing here names or identifies a
member: rows and columns are months, categories, wards, age bands or communities.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Final, Literal

import msgspec

from service.i18n import N_
from service.reports.figures import Count, Figures, Report
from service.reports.period import month_text
from service.reports.source import Freshness
from service.reports.suppression import Entry

SuppressionReason = Literal["primary", "complementary"]


class FigureOut(msgspec.Struct, kw_only=True):
    minutes: int | None
    exchanges: int | None
    suppressed: bool
    suppression: SuppressionReason | None


class CellOut(FigureOut, kw_only=True):
    row: str
    column: str | None


class LabelOut(msgspec.Struct, kw_only=True):
    key: str
    label: str


class CountOut(msgspec.Struct, kw_only=True):
    value: int | None
    suppressed: bool


class MoneyOut(msgspec.Struct, kw_only=True):
    """Money donated through the website, less refunds; null while fewer than k donors gave."""

    amount_pence: int | None
    suppressed: bool


class CommunityOut(msgspec.Struct, kw_only=True):
    slug: str
    name: str


class FlowsOut(msgspec.Struct, kw_only=True):
    from_: str = msgspec.field(name="from")
    to: str
    by: str
    k: int
    communities: list[CommunityOut]
    total: FigureOut
    active_members: CountOut
    new_members: CountOut
    members_gave_and_received: CountOut
    pool_donations: FigureOut
    pool_grants: FigureOut
    donations: MoneyOut
    rows: list[LabelOut]
    columns: list[LabelOut]
    cells: list[CellOut]
    row_totals: list[CellOut]
    column_totals: list[CellOut]
    # How fresh the figures are (ADR 0047): complete up to `figures_as_of`, read from
    # "replica" (a copy of the database) or "primary" (up to the moment).
    figures_as_of: datetime
    figures_from: Literal["replica", "primary"]


def figure_out(entry: Entry) -> FigureOut:
    hidden = entry.suppressed
    return FigureOut(
        minutes=None if hidden else entry.minutes,
        exchanges=None if hidden else entry.exchanges,
        suppressed=hidden,
        suppression=entry.suppression,
    )


def _cell_out(entry: Entry, row: str, column: str | None) -> CellOut:
    figure = figure_out(entry)
    return CellOut(
        row=row,
        column=column,
        minutes=figure.minutes,
        exchanges=figure.exchanges,
        suppressed=figure.suppressed,
        suppression=figure.suppression,
    )


def _count_out(count: Count) -> CountOut:
    return CountOut(value=count.value, suppressed=count.suppressed)


def flows_out(report: Report, figures: Figures, freshness: Freshness) -> FlowsOut:
    return FlowsOut(
        figures_as_of=freshness.as_of,
        figures_from="replica" if freshness.from_replica else "primary",
        from_=month_text(report.period.first),
        to=month_text(report.period.last),
        by=figures.by,
        k=report.k,
        communities=[CommunityOut(slug=c.slug, name=c.name) for c in report.scope.selected],
        total=figure_out(report.total),
        active_members=_count_out(report.active_members),
        new_members=_count_out(report.new_members),
        members_gave_and_received=_count_out(report.gave_and_received),
        pool_donations=figure_out(report.pool_donations),
        pool_grants=figure_out(report.pool_grants),
        donations=MoneyOut(
            amount_pence=report.donations.amount_pence, suppressed=report.donations.suppressed
        ),
        rows=[LabelOut(key=label.key, label=label.label) for label in figures.rows],
        columns=[LabelOut(key=label.key, label=label.label) for label in figures.columns],
        cells=[_cell_out(entry, row, column) for (row, column), entry in figures.cells.items()],
        row_totals=[_cell_out(entry, row, None) for row, entry in figures.row_totals.items()],
        column_totals=[
            _cell_out(entry, "total", column) for column, entry in figures.column_totals.items()
        ],
    )


CSV_COLUMNS: Final = (
    "from",
    "to",
    "by",
    "row",
    "row_label",
    "column",
    "column_label",
    "minutes",
    "exchanges",
    "suppressed",
)
TOTAL_KEY: Final = "total"
TOTAL_LABEL: Final = N_("Total")


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection); ward
    # names are typed by members.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def flows_csv(report: Report, figures: Figures) -> str:
    """The breakdown as CSV: cells, then row and column totals, then the grand total."""
    rows = {label.key: label.label for label in figures.rows}
    columns = {label.key: label.label for label in figures.columns}
    period = (month_text(report.period.first), month_text(report.period.last), figures.by)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def line(row: str, row_label: str, column: str, column_label: str, entry: Entry) -> None:
        hidden = entry.suppressed
        writer.writerow(
            [
                *period,
                _csv_safe(row),
                _csv_safe(row_label),
                _csv_safe(column),
                _csv_safe(column_label),
                "" if hidden else entry.minutes,
                "" if hidden else entry.exchanges,
                "yes" if hidden else "no",
            ]
        )

    for (row, column), entry in figures.cells.items():
        column_key = column or ""
        line(row, rows[row], column_key, columns.get(column_key, ""), entry)
    for row, entry in figures.row_totals.items():
        line(row, rows[row], TOTAL_KEY, TOTAL_LABEL, entry)
    for column, entry in figures.column_totals.items():
        line(TOTAL_KEY, TOTAL_LABEL, column, columns[column], entry)
    line(TOTAL_KEY, TOTAL_LABEL, TOTAL_KEY if figures.two_way else "", "", report.total)
    return buffer.getvalue()
