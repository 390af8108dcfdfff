"""Charts drawn on the server as inline SVG: no script, no external service.

Each chart is an `<svg role="img">` named by its own title and description and
sized by its viewBox, so it scales with the page (and with 200% zoom). Colours
are SVG presentation attributes, not inline styles, so the strict
Content-Security-Policy holds. Every chart is followed by a table of the same
figures (the accessible form); a hidden figure is drawn as an outline marked
"hidden", never as a value.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape

from markupsafe import Markup

from service.formatting import MINUTES_PER_HOUR

INK: Final = "#1b1b1b"
MUTED: Final = "#4a4a4a"
LINE: Final = "#c8c3b6"
BAR: Final = "#1d5c4d"  # the site's accent; white text on it passes WCAG AA
HIDDEN_FILL: Final = "#ffffff"
# Heat map: light to dark of the accent; cells from index 3 on take white text.
HEAT: Final = ("#f3f8f6", "#cfe5dd", "#9ccabb", "#5f9e8b", "#2f7563", "#1d5c4d", "#12403a")
HEAT_WHITE_TEXT_FROM: Final = 3
FONT: Final = "system-ui, sans-serif"

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    minutes: int | None  # None: hidden (a count, for a chart of counts)


def _count(value: int) -> str:
    return f"{value:,}"


def _scale_top_count(values: Sequence[int]) -> int:
    """A count axis' top: four whole steps (1, 2, 2.5 or 5 times 10^n each), at least 4."""
    largest = max([*values, 0])
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            top = 4 * factor * magnitude
            if top >= largest:
                return top
        magnitude *= 10


def _hours(minutes: int) -> str:
    hours = minutes / MINUTES_PER_HOUR
    return f"{hours:,.0f}" if hours >= 10 else f"{hours:,.1f}".rstrip("0").rstrip(".")  # noqa: PLR2004


def _text(x: float, y: float, text: str, **attributes: str) -> str:
    extra = "".join(
        f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}"{extra}>{escape(text)}</text>'


def _svg(width: int, height: int, title: str, description: str, body: list[str]) -> Markup:
    number = next(_ids)
    title_id, description_id = f"chart-title-{number}", f"chart-desc-{number}"
    return Markup(  # noqa: S704 - every piece of text above went through escape()
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id} {description_id}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{description_id}">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def _scale_top(values: Sequence[int]) -> int:
    """Minutes at the axis' top: four round steps of hours (1, 2, 2.5 or 5 times 10^n)."""
    largest_hours = max([*values, 0]) / MINUTES_PER_HOUR
    magnitude = 1.0
    while True:
        for factor in (0.25, 0.5, 1.0, 1.25, 2.0, 2.5):  # a quarter of the top: nice steps
            top = 4 * factor * magnitude
            if top >= largest_hours:
                return max(round(top * MINUTES_PER_HOUR), MINUTES_PER_HOUR)
        magnitude *= 10


def column_chart(
    bars: Sequence[Bar], *, title: str, description: str, counts: bool = False
) -> Markup:
    """Vertical bars (hours per month, or a count per month with `counts`), with an axis
    and hidden months outlined."""
    width, height, left, bottom, top = 760, 320, 56, 40, 16
    plot_height = height - bottom - top
    slot = (width - left - 8) / max(len(bars), 1)
    values = [bar.minutes or 0 for bar in bars]
    scale_top = _scale_top_count(values) if counts else _scale_top(values)
    axis_text = _count if counts else _hours
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for step in range(5):
        value = scale_top * step / 4
        y = top + plot_height - plot_height * step / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="{LINE}"/>'
        )
        body.append(
            _text(left - 6, y + 5, axis_text(int(value)), text_anchor="end", font_size="14")
        )
    label_every = max(1, len(bars) // 12)
    for index, bar in enumerate(bars):
        x = left + index * slot + slot * 0.15
        bar_width = slot * 0.7
        if bar.minutes is None:
            body.append(
                f'<rect x="{x:.1f}" y="{top + plot_height - 24:.1f}" width="{bar_width:.1f}" '
                f'height="24" fill="{HIDDEN_FILL}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
            )
            body.append(
                _text(
                    x + bar_width / 2,
                    top + plot_height - 30,
                    "hidden",
                    text_anchor="middle",
                    font_size="11",
                    fill=MUTED,
                )
            )
        elif bar.minutes:
            bar_height = plot_height * bar.minutes / scale_top
            body.append(
                f'<rect x="{x:.1f}" y="{top + plot_height - bar_height:.1f}" '
                f'width="{bar_width:.1f}" height="{bar_height:.1f}" fill="{BAR}"/>'
            )
        if index % label_every == 0:
            body.append(
                _text(
                    x + bar_width / 2,
                    height - bottom + 20,
                    bar.label,
                    text_anchor="middle",
                    font_size="12",
                )
            )
    body.append(
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 8}" y2="{top + plot_height}" '
        f'stroke="{INK}"/>'
    )
    return _svg(width, height, title, description, body)


def bar_chart(bars: Sequence[Bar], *, title: str, description: str) -> Markup:
    """Horizontal bars with their labels (categories, wards) and the hours at the end."""
    row, label_width, width, top = 30, 250, 760, 8
    height = top * 2 + row * max(len(bars), 1)
    plot_width = width - label_width - 90
    scale_top = _scale_top([bar.minutes or 0 for bar in bars])
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for index, bar in enumerate(bars):
        y = top + index * row
        label = bar.label if len(bar.label) <= 34 else bar.label[:33] + "…"  # noqa: PLR2004
        body.append(_text(label_width - 8, y + 20, label, text_anchor="end", font_size="14"))
        if bar.minutes is None:
            body.append(
                f'<rect x="{label_width}" y="{y + 5}" width="60" height="{row - 10}" '
                f'fill="{HIDDEN_FILL}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
            )
            body.append(_text(label_width + 68, y + 20, "hidden", font_size="13", fill=MUTED))
            continue
        bar_width = plot_width * bar.minutes / scale_top
        if bar.minutes:
            body.append(
                f'<rect x="{label_width}" y="{y + 5}" width="{bar_width:.1f}" '
                f'height="{row - 10}" fill="{BAR}"/>'
            )
        body.append(
            _text(label_width + bar_width + 6, y + 20, f"{_hours(bar.minutes)} h", font_size="13")
        )
    body.append(
        f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - top}" '
        f'stroke="{INK}"/>'
    )
    return _svg(width, height, title, description, body)


def heat_map(
    rows: Sequence[str],
    columns: Sequence[str],
    minutes: Sequence[Sequence[int | None]],
    *,
    title: str,
    description: str,
    row_heading: str,
    column_heading: str,
) -> Markup:
    """A grid of hours, darker for more; hidden cells are white, dashed and marked."""
    cell_width, cell_height, left, top = 92, 44, 150, 74
    width = left + cell_width * len(columns) + 8
    height = top + cell_height * len(rows) + 8
    largest = max([value or 0 for line in minutes for value in line] + [1])
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    body.append(_text(left, 18, column_heading, font_size="13", fill=MUTED))
    body.append(_text(8, top - 10, row_heading, font_size="13", fill=MUTED))
    for index, column in enumerate(columns):
        body.append(
            _text(
                left + index * cell_width + cell_width / 2,
                top - 12,
                column,
                text_anchor="middle",
                font_size="13",
            )
        )
    for row_index, row in enumerate(rows):
        y = top + row_index * cell_height
        body.append(
            _text(left - 8, y + cell_height / 2 + 5, row, text_anchor="end", font_size="13")
        )
        for column_index, value in enumerate(minutes[row_index]):
            x = left + column_index * cell_width
            body.extend(_heat_cell(_Box(x, y, cell_width, cell_height), value, largest))
    return _svg(width, height, title, description, body)


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    width: float
    height: float


def _rect(box: _Box, fill: str, *, stroke: str | None = None, dashed: bool = False) -> str:
    outline = f' stroke="{stroke}"' if stroke else ""
    dashes = ' stroke-dasharray="4 3"' if dashed else ""
    return (
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" fill="{fill}"{outline}{dashes}/>'
    )


def _heat_cell(box: _Box, value: int | None, largest: int) -> list[str]:
    inner = _Box(box.x + 2, box.y + 2, box.width - 4, box.height - 4)
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2 + 5
    if value is None:
        return [
            _rect(inner, HIDDEN_FILL, stroke=MUTED, dashed=True),
            _text(centre_x, centre_y, "hidden", text_anchor="middle", font_size="12", fill=MUTED),
        ]
    shade = 0 if value == 0 else 1 + round((len(HEAT) - 2) * value / largest)
    ink = "#ffffff" if shade >= HEAT_WHITE_TEXT_FROM else INK
    return [
        _rect(inner, HEAT[shade], stroke=LINE),
        _text(centre_x, centre_y, _hours(value), text_anchor="middle", font_size="14", fill=ink),
    ]


__all__ = ["Bar", "bar_chart", "column_chart", "heat_map"]
