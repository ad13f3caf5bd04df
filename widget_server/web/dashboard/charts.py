"""Small server-rendered SVG charts: bars, lines over days, and a week of hours.

Every chart names its values in text on the chart itself (bar values, a legend with
line patterns and marker shapes, hatching for missed calls), so none depends on colour
alone; each comes with a table of the same figures. Colours come from the page's CSS
(classes), so dark mode and contrast follow the dashboard's palette. With `rtl` the
charts mirror, as the page around them does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360  # about a phone's width, so text stays readable at 1:1; wider screens scale up
BAR_ROW = 46
SERIES_CLASSES = ("s0", "s1", "s2", "s3")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str = ""  # shown after the value, e.g. a conversion rate


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]


def _x(x: float, rtl: bool, span: float = 0) -> float:
    return WIDTH - x - span if rtl else x


def _svg(label_id: str, height: int, body: str, width: int = WIDTH) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{escape(label_id)}" preserveAspectRatio="xMinYMin meet">{body}</svg>'
    )


def bars(label_id: str, rows: Sequence[Bar], rtl: bool = False) -> Markup:
    """Horizontal bars, each with its label above and its value at its end."""
    top = max((row.value for row in rows), default=0) or 1
    room = WIDTH - 110  # what the longest bar leaves for its value
    anchor = "end" if rtl else "start"
    parts = []
    for index, row in enumerate(rows):
        y = index * BAR_ROW
        span = max(2.0, room * row.value / top) if row.value else 0.0
        value = f"{row.value}" + (f" · {row.note}" if row.note else "")
        parts.append(
            f'<text class="label" x="{_x(0, rtl):.1f}" y="{y + 14}" '
            f'text-anchor="{anchor}">{escape(row.label)}</text>'
            f'<rect class="bar" x="{_x(0, rtl, span):.1f}" y="{y + 20}" '
            f'width="{span:.1f}" height="16" rx="2"/>'
            f'<text class="value" x="{_x(span + 6, rtl):.1f}" y="{y + 33}" '
            f'text-anchor="{anchor}">{escape(value)}</text>'
        )
    return _svg(label_id, max(1, len(rows)) * BAR_ROW, "".join(parts))


MARKERS = (
    "M-3,-3h6v6h-6z",  # square
    "M0,-4L4,0L0,4L-4,0z",  # diamond
    "M0,-4L4,3.5H-4z",  # triangle
    "M-3.5,0a3.5,3.5 0 1,0 7,0a3.5,3.5 0 1,0 -7,0",  # circle
)
DASHES = ("", "6 3", "2 3", "8 3 2 3")


def marker(index: int) -> Markup:
    """The legend's sample of a series: its line pattern and marker shape."""
    return Markup(
        f'<svg class="key {SERIES_CLASSES[index]}" viewBox="-12 -6 24 12" aria-hidden="true">'
        f'<line x1="-11" y1="0" x2="11" y2="0" stroke-dasharray="{DASHES[index]}"/>'
        f'<path d="{MARKERS[index]}"/></svg>'
    )


def lines(
    label_id: str, first: str, last: str, series: Sequence[Series], rtl: bool = False
) -> Markup:
    """Counts per day, one line per series (its own dashes and marker), 0 and the top named."""
    height, left, bottom, top_pad = 190, 34, 22, 10
    plot_w, plot_h = WIDTH - left - 8, height - bottom - top_pad
    days = max((len(s.values) for s in series), default=0)
    top = max((max(s.values, default=0) for s in series), default=0) or 1
    step = plot_w / max(1, days - 1)

    def point(day: int, value: int) -> tuple[float, float]:
        x = _x(left + day * step, rtl)
        return x, top_pad + plot_h - plot_h * value / top

    axis_x = _x(left, rtl)
    end_x = _x(left + plot_w, rtl)
    label_x = _x(left - 4, rtl)
    label_anchor = "start" if rtl else "end"
    parts = [
        f'<line class="grid" x1="{axis_x:.1f}" y1="{top_pad + plot_h}" x2="{end_x:.1f}" '
        f'y2="{top_pad + plot_h}"/>',
        f'<line class="grid" x1="{axis_x:.1f}" y1="{top_pad}" x2="{end_x:.1f}" y2="{top_pad}" '
        'stroke-dasharray="2 4"/>',
        f'<text class="tick" x="{label_x:.1f}" y="{top_pad + plot_h + 4}" '
        f'text-anchor="{label_anchor}">0</text>',
        f'<text class="tick" x="{label_x:.1f}" y="{top_pad + 4}" '
        f'text-anchor="{label_anchor}">{top}</text>',
        f'<text class="tick" x="{axis_x:.1f}" y="{height - 4}" '
        f'text-anchor="{"end" if rtl else "start"}">{escape(first)}</text>',
        f'<text class="tick" x="{end_x:.1f}" y="{height - 4}" '
        f'text-anchor="{"start" if rtl else "end"}">{escape(last)}</text>',
    ]
    for index, one in enumerate(series[: len(SERIES_CLASSES)]):
        points = [point(day, value) for day, value in enumerate(one.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        marks = "".join(
            f'<path transform="translate({x:.1f},{y:.1f})" d="{MARKERS[index]}"/>'
            for (x, y), value in zip(points, one.values, strict=False)
            if value or days <= 31
        )
        parts.append(
            f'<g class="{SERIES_CLASSES[index]}"><polyline points="{path}" '
            f'stroke-dasharray="{DASHES[index]}"/>{marks}</g>'
        )
    return _svg(label_id, height, "".join(parts))


CELL = 14
GRID_LEFT = 44
GRID_TOP = 16


def cell_class(answered: int, missed: int) -> str:
    """How a cell of the week is drawn: nothing, all answered, some or mostly missed."""
    if not answered and not missed:
        return "none"
    if not missed:
        return "answered"
    return "mostly-missed" if missed * 2 >= answered + missed else "some-missed"


PATTERNS = (
    '<svg class="patterns" width="0" height="0" aria-hidden="true" focusable="false"><defs>'
    '<pattern id="hatch-some" width="5" height="5" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect class="missed-bg" width="5" height="5"/>'
    '<line class="missed-line" x1="0" y1="0" x2="0" y2="5"/></pattern>'
    '<pattern id="hatch-most" width="4" height="4" patternUnits="userSpaceOnUse">'
    '<rect class="missed-bg" width="4" height="4"/>'
    '<path class="missed-line" d="M0,0L4,4M4,0L0,4"/></pattern></defs></svg>'
)


def patterns() -> Markup:
    """The hatchings the week and its legend use, once per page."""
    return Markup(PATTERNS)


def week(
    label_id: str,
    hours: Sequence[Sequence[tuple[int, int]]],
    day_names: Sequence[str],
    cell_titles: Sequence[Sequence[str]],
    rtl: bool = False,
) -> Markup:
    """Seven rows of 24 hours: answered calls solid, missed ones hatched (denser: most)."""
    width = GRID_LEFT + 24 * CELL + 4
    height = GRID_TOP + 7 * CELL + 2

    def x_of(column: float, span: float = 0) -> float:
        x = GRID_LEFT + column
        return width - x - span if rtl else x

    parts = []
    for hour in (0, 6, 12, 18):
        parts.append(
            f'<text class="tick" x="{x_of(hour * CELL):.1f}" y="11" '
            f'text-anchor="{"end" if rtl else "start"}">{hour:02d}</text>'
        )
    for weekday, row in enumerate(hours):
        y = GRID_TOP + weekday * CELL
        name_x = width - 2 if rtl else 2
        parts.append(
            f'<text class="tick" x="{name_x}" y="{y + 11}" '
            f'text-anchor="{"end" if rtl else "start"}">{escape(day_names[weekday])}</text>'
        )
        for hour, (answered, missed) in enumerate(row):
            kind = cell_class(answered, missed)
            parts.append(
                f'<rect class="cell {kind}" x="{x_of(hour * CELL, CELL - 2):.1f}" y="{y}" '
                f'width="{CELL - 2}" height="{CELL - 2}" rx="2">'
                f"<title>{escape(cell_titles[weekday][hour])}</title></rect>"
            )
    return _svg(label_id, height, "".join(parts), width)


def swatch(kind: str) -> Markup:
    """The legend's sample of a week cell."""
    return Markup(
        f'<svg class="key" viewBox="0 0 14 14" aria-hidden="true">'
        f'<rect class="cell {escape(kind)}" width="12" height="12" x="1" y="1" rx="2"/></svg>'
    )
