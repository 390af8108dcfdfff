"""What the impact API returns, and the CSV form of the same figures.

Each figure's total is also a top-level field (`people_connected`, `exchanges`,
`hours_minutes`, ...): null when suppressed, and then named in `suppressed`.
Nothing here names or identifies a member, and no wellbeing answer of anyone
is ever returned: only mean changes over at least k members.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Final

import msgspec

from service.reports.impact import ImpactReport, Series
from service.reports.period import month_text
from service.reports.schemas import CommunityOut, SuppressionReason
from service.reports.source import Freshness
from service.reports.suppression import Entry


class ImpactMonthOut(msgspec.Struct, kw_only=True):
    month: str
    value: int | None
    suppressed: bool
    suppression: SuppressionReason | None


class ImpactFigureOut(msgspec.Struct, kw_only=True):
    name: str
    label: str
    unit: str  # "count" or "minutes"
    value: int | None
    suppressed: bool
    suppression: SuppressionReason | None
    months: list[ImpactMonthOut]


class WellbeingOut(msgspec.Struct, kw_only=True):
    """Members with two or more check-ins; null figures while fewer than k of them."""

    members: int | None
    suppressed: bool
    mean_change: dict[str, float] | None
    loneliness_improved_share: float | None


def _value(entry: Entry) -> int | None:
    return None if entry.suppressed else entry.minutes


def _figure_out(series: Series) -> ImpactFigureOut:
    return ImpactFigureOut(
        name=series.spec.name,
        label=series.spec.label,
        unit=series.spec.unit,
        value=_value(series.total),
        suppressed=series.total.suppressed,
        suppression=series.total.suppression,
        months=[
            ImpactMonthOut(
                month=str(entry.key),
                value=_value(entry),
                suppressed=entry.suppressed,
                suppression=entry.suppression,
            )
            for entry in series.months
        ],
    )


def impact_out(report: ImpactReport, freshness: Freshness) -> dict[str, Any]:
    """The JSON body: a plain dict so each figure's total can be a top-level field.

    `figures_from` (replica or primary) and `figures_as_of` say how fresh it is, as the
    flows report does (ADR 0047).
    """
    totals = {name: _value(series.total) for name, series in report.series.items()}
    return {
        "from": month_text(report.period.first),
        "to": month_text(report.period.last),
        "figures_as_of": freshness.as_of,  # encoded as the flows answer encodes it
        "figures_from": freshness.source,
        "k": report.k,
        "communities": [
            msgspec.to_builtins(CommunityOut(slug=c.slug, name=c.name))
            for c in report.scope.selected
        ],
        **totals,
        "suppressed": [name for name, series in report.series.items() if series.total.suppressed],
        "figures": [msgspec.to_builtins(_figure_out(s)) for s in report.series.values()],
        "wellbeing": msgspec.to_builtins(
            WellbeingOut(
                members=report.wellbeing.members,
                suppressed=report.wellbeing.suppressed,
                mean_change=report.wellbeing.mean_change,
                loneliness_improved_share=report.wellbeing.loneliness_improved_share,
            )
        ),
    }


IMPACT_CSV_COLUMNS: Final = ("from", "to", "figure", "unit", "month", "value", "suppressed")
TOTAL_MONTH: Final = "total"


def impact_csv(report: ImpactReport) -> str:
    """Every figure: a line per month, then its total; then the wellbeing changes."""
    period = (month_text(report.period.first), month_text(report.period.last))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(IMPACT_CSV_COLUMNS)
    for series in report.series.values():
        for entry in [*series.months, series.total]:
            month = TOTAL_MONTH if entry is series.total else str(entry.key)
            hidden = entry.suppressed
            writer.writerow(
                [*period, series.spec.name, series.spec.unit, month,
                 "" if hidden else entry.minutes, "yes" if hidden else "no"]
            )  # fmt: skip
    wellbeing = report.wellbeing
    suppressed = "yes" if wellbeing.suppressed else "no"
    members = "" if wellbeing.members is None else wellbeing.members
    writer.writerow([*period, "wellbeing_members", "count", TOTAL_MONTH, members, suppressed])
    for name, change in (wellbeing.mean_change or {}).items():
        writer.writerow([*period, f"wellbeing_mean_change_{name}", "points", TOTAL_MONTH,
                         change, suppressed])  # fmt: skip
    if wellbeing.loneliness_improved_share is not None:
        writer.writerow([*period, "wellbeing_loneliness_improved_share", "share", TOTAL_MONTH,
                         wellbeing.loneliness_improved_share, suppressed])  # fmt: skip
    return buffer.getvalue()
