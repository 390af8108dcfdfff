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

from service.formatting import MINUTES_PER_HOUR, minutes_text

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


# Drawn for a phone first (ADR 0044): a viewBox about as wide as a 390 px screen, so
# 15-unit text is 13 px or more there; site.css caps the width on a wide screen. Labels
# wrap onto more lines, never cut; every bar's label sits above it, so a long name
# ("Health and wellbeing (non-clinical)") has the chart's whole width.
WIDTH: Final = 400
FONT_SIZE: Final = 15
SMALL_FONT_SIZE: Final = 14
LINE_HEIGHT: Final = 19
CHAR_WIDTH: Final = 8.2  # a generous average at FONT_SIZE, so wrapped lines fit
BAR_HEIGHT: Final = 22
ROW_GAP: Final = 14
VALUE_ROOM: Final = 165  # "12 hours 30 minutes" after the longest bar
PAD: Final = 8
# Heat map: cells wide enough for "10 hours" over "30 minutes".
CELL_WIDTH: Final = 104
CELL_HEIGHT: Final = 50
ROW_LABEL_WIDTH: Final = 132


def wrap_words(text: str, width_units: float, *, char_width: float = CHAR_WIDTH) -> list[str]:
    """Lines of `text` that fit `width_units`; a word longer than a line is broken."""
    most = max(int(width_units // char_width), 1)
    lines: list[str] = []
    line = ""
    for word in text.split():
        rest = word
        while len(rest) > most:
            if line:
                lines.append(line)
                line = ""
            lines.append(rest[:most])
            rest = rest[most:]
        candidate = f"{line} {rest}" if line else rest
        if len(candidate) <= most:
            line = candidate
        else:
            lines.append(line)
            line = rest
    if line or not lines:
        lines.append(line)
    return lines


def _text(x: float, y: float, text: str, **attributes: str) -> str:
    extra = "".join(
        f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}"{extra}>{escape(text)}</text>'


def _lines(x: float, y: float, lines: Sequence[str], **attributes: str) -> str:
    """Several lines in one <text>, the first with its baseline at `y`."""
    extra = "".join(
        f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items()
    )
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if index == 0 else LINE_HEIGHT}">{escape(line)}</tspan>'
        for index, line in enumerate(lines)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}"{extra}>{spans}</text>'


def _svg(
    width: float, height: float, title: str, description: str, body: list[str], *, kind: str
) -> Markup:
    number = next(_ids)
    title_id, description_id = f"chart-title-{number}", f"chart-desc-{number}"
    # A heat map keeps its drawn size (its figure scrolls on a narrow screen): its
    # width attribute says so; bar charts scale with the page.
    size = f' width="{width:.0f}" height="{height:.0f}"' if kind == "heat" else ""
    return Markup(  # noqa: S704 - every piece of text above went through escape()
        f'<svg class="chart chart-{kind}" viewBox="0 0 {width:.0f} {height:.0f}"{size} '
        f'role="img" aria-labelledby="{title_id} {description_id}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{description_id}">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def _scale_top(values: Sequence[int]) -> int:
    """Minutes at the bars' full length: the largest bar, at least an hour."""
    return max([*values, MINUTES_PER_HOUR])


def bar_chart(bars: Sequence[Bar], *, title: str, description: str, counts: bool = False) -> Markup:
    """Horizontal bars, each under its own label (wrapped, never cut) with its hours
    after it, in the same words as the table that follows ("7 hours 30 minutes"); with
    `counts`, each bar is a number of things ("1,204")."""
    plot_width = WIDTH - 2 * PAD - VALUE_ROOM
    values = [bar.minutes or 0 for bar in bars]
    scale_top = max([*values, 1]) if counts else _scale_top(values)
    body: list[str] = []
    y = PAD
    for bar in bars:
        label = wrap_words(bar.label, WIDTH - 2 * PAD)
        body.append(_lines(PAD, y + FONT_SIZE, label, font_size=str(FONT_SIZE), fill=INK))
        y += len(label) * LINE_HEIGHT + 4
        if bar.minutes is None:
            body.append(
                f'<rect x="{PAD}" y="{y}" width="60" height="{BAR_HEIGHT}" '
                f'fill="{HIDDEN_FILL}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
            )
            value, value_x = "hidden", PAD + 68.0
        else:
            bar_width = plot_width * bar.minutes / scale_top
            if bar.minutes:
                body.append(
                    f'<rect x="{PAD}" y="{y}" width="{bar_width:.1f}" height="{BAR_HEIGHT}" '
                    f'fill="{BAR}"/>'
                )
            words = f"{bar.minutes:,}" if counts else minutes_text(bar.minutes)
            value, value_x = words, PAD + bar_width + 6
        body.append(_text(value_x, y + 16, value, font_size=str(SMALL_FONT_SIZE), fill=INK))
        y += BAR_HEIGHT + ROW_GAP
    body.insert(0, f'<rect x="0" y="0" width="{WIDTH}" height="{y}" fill="#ffffff"/>')
    return _svg(WIDTH, y, title, description, body, kind="bars")


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
    left = ROW_LABEL_WIDTH + PAD
    column_labels = [wrap_words(column, CELL_WIDTH - 6) for column in columns]
    header_lines = max([len(lines) for lines in column_labels] + [1])
    top = PAD + LINE_HEIGHT + 6 + header_lines * LINE_HEIGHT + 4
    row_labels = [wrap_words(row, ROW_LABEL_WIDTH - 4) for row in rows]
    row_height = [max(CELL_HEIGHT, len(lines) * LINE_HEIGHT + 10) for lines in row_labels]
    width = left + CELL_WIDTH * len(columns) + PAD
    height = top + sum(row_height) + PAD
    largest = max([value or 0 for line in minutes for value in line] + [1])
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    body.append(
        _text(left, PAD + FONT_SIZE, column_heading, font_size=str(SMALL_FONT_SIZE), fill=MUTED)
    )
    body.append(_text(PAD, top - 8, row_heading, font_size=str(SMALL_FONT_SIZE), fill=MUTED))
    for index, lines in enumerate(column_labels):
        body.append(
            _lines(
                left + index * CELL_WIDTH + CELL_WIDTH / 2,
                PAD + LINE_HEIGHT + 6 + FONT_SIZE,
                lines,
                text_anchor="middle",
                font_size=str(SMALL_FONT_SIZE),
            )
        )
    y = top
    for row_index, lines in enumerate(row_labels):
        body.append(_lines(PAD, y + FONT_SIZE + 4, lines, font_size=str(SMALL_FONT_SIZE)))
        for column_index, value in enumerate(minutes[row_index]):
            x = left + column_index * CELL_WIDTH
            body.extend(_heat_cell(_Box(x, y, CELL_WIDTH, row_height[row_index]), value, largest))
        y += row_height[row_index]
    return _svg(width, height, title, description, body, kind="heat")


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
    centre_x = box.x + box.width / 2
    if value is None:
        return [
            _rect(inner, HIDDEN_FILL, stroke=MUTED, dashed=True),
            _text(
                centre_x,
                box.y + box.height / 2 + 5,
                "hidden",
                text_anchor="middle",
                font_size=str(SMALL_FONT_SIZE),
                fill=MUTED,
            ),
        ]
    shade = 0 if value == 0 else 1 + round((len(HEAT) - 2) * value / largest)
    ink = "#ffffff" if shade >= HEAT_WHITE_TEXT_FROM else INK
    # The table's words, a part to a line: "7 hours" over "30 minutes".
    words = minutes_text(value)
    parts = words.split(" ", 2) if " minute" in words and " hour" in words else [words]
    lines = [" ".join(parts[:2]), parts[2]] if len(parts) == 3 else parts  # noqa: PLR2004
    first_y = box.y + box.height / 2 + 5 - (len(lines) - 1) * LINE_HEIGHT / 2
    return [
        _rect(inner, HEAT[shade], stroke=LINE),
        _lines(
            centre_x,
            first_y,
            lines,
            text_anchor="middle",
            font_size=str(SMALL_FONT_SIZE),
            fill=ink,
        ),
    ]


__all__ = ["Bar", "bar_chart", "heat_map", "wrap_words"]
