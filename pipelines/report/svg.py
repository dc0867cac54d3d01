"""Tiny server-side SVG charts: horizontal bars and lines, no JavaScript, no dependency.

The quality page must open offline (no CDN at run time) and print cleanly, so its
charts are plain inline SVG written here. Every chart is an ``<svg role="img">``
with a ``<title>`` (what a screen reader says), and one element per data item
(``<rect class="bar">`` per bar, ``<path class="line">`` per series) so tests can
count them. Colours come from classes the page's CSS styles; every value is also
written as text next to its mark, so the chart reads in black and white too.
Every string that reaches the SVG goes through :func:`html.escape`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: Pixels per visible character at the label size (12 px Thai/Latin, a little generous).
CHAR_PX = 7.0


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: a Thai label line, an optional English line, a value (None: no data)."""

    label: str
    value: float | None
    sublabel: str = ""
    text: str = ""  # printed after the bar; the formatted value when empty
    css: str = ""  # extra class, e.g. "below" for a bar short of the target


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a name for the legend, one value per x label (None: a gap)."""

    name: str
    values: Sequence[float | None]
    css: str = "s1"


def text_width(text: str, px: float = CHAR_PX) -> float:
    """Rough rendered width: Thai vowel and tone marks (category Mn) take no room of their own."""
    return px * sum(1 for ch in text if unicodedata.category(ch) != "Mn")


def fmt_number(value: float | None, decimals: int = 2) -> str:
    """Thousands separators; a dash for no data (NaN or None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if decimals == 0:
        return f"{round(value):,}"
    return f"{value:,.{decimals}f}"


def _open_svg(chart_id: str, css: str, width: float, height: float, title: str, desc: str) -> str:
    """The ``<svg>`` element with its accessible title and description."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart {escape(css)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}"><title id="{escape(chart_id)}-title">{escape(title)}</title>'
        + (f"<desc>{escape(desc)}</desc>" if desc else "")
    )


def nice_max(value: float) -> float:
    """The smallest 1/2/4/8/10 x 10^n at or above ``value``: its quarters (the ticks) are round numbers."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 8, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _bar_label(bar: Bar, x: float, y: float, row_h: float) -> str:
    """Right-aligned label left of the bar: Thai on top, English smaller below."""
    if not bar.sublabel:
        return (
            f'<text class="label" x="{x:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">{escape(bar.label)}</text>'
        )
    return (
        f'<text class="label" x="{x:.1f}" y="{y + row_h / 2 - 2:.1f}" text-anchor="end">{escape(bar.label)}</text>'
        f'<text class="sublabel" x="{x:.1f}" y="{y + row_h / 2 + 10:.1f}" text-anchor="end" lang="en">'
        f"{escape(bar.sublabel)}</text>"
    )


def _axis(left: float, right: float, top: float, bottom: float, max_value: float, unit: str) -> str:
    """Vertical grid lines with tick labels at 0, 1/4, 1/2, 3/4 and the maximum."""
    parts = []
    for i in range(5):
        value = max_value * i / 4
        x = left + (right - left) * i / 4
        label = fmt_number(value, 0 if value == int(value) else 1) + unit
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{bottom:.1f}"/>'
            f'<text class="tick" x="{x:.1f}" y="{top - 6:.1f}" text-anchor="middle">{escape(label)}</text>'
        )
    return "".join(parts)


def _value_text(text: str, left: float, w: float, span: float, y: float) -> str:
    """The value after the bar; inside its end (light on dark) when the bar nearly fills the plot,
    so it never collides with a target line near 100%."""
    if w > span * 0.8:
        return f'<text class="value inside" x="{left + w - 5:.1f}" y="{y:.1f}" text-anchor="end">{escape(text)}</text>'
    return f'<text class="value" x="{left + w + 5:.1f}" y="{y:.1f}">{escape(text)}</text>'


def _target_marker(x: float, top: float, bottom: float, label: str) -> str:
    """The dashed target line across every bar, labelled below the plot."""
    return (
        f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 2:.1f}" y2="{bottom + 2:.1f}"/>'
        f'<text class="target-label" x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">{escape(label)}</text>'
    )


def hbar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    max_value: float | None = None,
    target: float | None = None,
    target_label: str = "",
    unit: str = "",
    decimals: int = 2,
    width: float = 560,
) -> str:
    """Horizontal bars in the given order, with an optional target line: for comparing areas or reasons."""
    row_h = 30.0 if any(b.sublabel for b in bars) else 22.0
    label_w = min(
        width * 0.45, max([text_width(b.label) for b in bars] + [text_width(b.sublabel, 6.2) for b in bars] + [60])
    )
    value_w = max([text_width(b.text or fmt_number(b.value, decimals) + unit, 6.5) for b in bars] + [30]) + 10
    left, right, top = label_w + 12, width - value_w, 26.0
    bottom = top + row_h * len(bars)
    height = bottom + (26 if target is not None else 8)
    scale_max = max_value or nice_max(max([b.value or 0 for b in bars] + [target or 0]))
    span = right - left
    parts = [_open_svg(chart_id, "hbar", width, height, title, desc), _axis(left, right, top, bottom, scale_max, unit)]
    for i, bar in enumerate(bars):
        y = top + i * row_h
        w = 0.0 if bar.value is None else span * max(0.0, min(bar.value, scale_max)) / scale_max
        value_text = bar.text or fmt_number(bar.value, decimals) + ("" if bar.value is None else unit)
        parts.append(_bar_label(bar, left - 8, y, row_h))
        parts.append(
            f'<rect class="bar {escape(bar.css)}" x="{left:.1f}" y="{y + row_h * 0.18:.1f}" width="{w:.1f}" '
            f'height="{row_h * 0.64:.1f}"><title>{escape(bar.label)} {escape(bar.sublabel)}: '
            f"{escape(value_text)}</title></rect>" + _value_text(value_text, left, w, span, y + row_h / 2 + 4)
        )
    if target is not None:
        parts.append(_target_marker(left + span * min(target, scale_max) / scale_max, top, bottom, target_label))
    parts.append("</svg>")
    return "".join(parts)


def y_range(series: Sequence[Series], target: float | None, ceiling: float = 100.0) -> tuple[float, float]:
    """From a round ten below the lowest value (or target) to the ceiling: small changes near 95% stay visible."""
    values = [v for s in series for v in s.values if v is not None] + ([target] if target is not None else [])
    if not values:
        return 0.0, ceiling
    low = max(0.0, math.floor(min(values) / 10) * 10 - (10 if min(values) % 10 < 2 else 0))
    return (low, ceiling) if low < ceiling else (0.0, ceiling)


def _y_axis(left: float, right: float, top: float, bottom: float, lo: float, hi: float, ticks: int) -> str:
    """Horizontal grid lines with their values on the left."""
    parts = []
    for i in range(ticks + 1):
        value = lo + (hi - lo) * i / ticks
        y = bottom - (bottom - top) * i / ticks
        parts.append(
            f'<line class="grid" x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end">{fmt_number(value, 0)}</text>'
        )
    return "".join(parts)


def _series_path(values: Sequence[float | None], xs: Sequence[float], y_of) -> str:
    """SVG path data; a gap (None) starts a new sub-path instead of drawing across it."""
    commands, pen_down = [], False
    for x, value in zip(xs, values, strict=True):
        if value is None or math.isnan(value):
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y_of(value):.1f}")
        pen_down = True
    return " ".join(commands) or "M0,0"


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    """One swatch and name per series, in a row above the plot."""
    parts = []
    for s in series:
        parts.append(
            f'<line class="swatch {escape(s.css)}" x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="legend" x="{x + 22:.1f}" y="{y + 4:.1f}">{escape(s.name)}</text>'
        )
        x += 32 + text_width(s.name, 6.5)
    return "".join(parts)


def line_chart(
    series: Sequence[Series],
    x_labels: Sequence[str],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    target: float | None = None,
    target_label: str = "",
    width: float = 560,
    height: float = 240,
    compact: bool = False,
    y_domain: tuple[float, float] | None = None,
) -> str:
    """Values per round as lines with points: for trends. ``compact`` drops the legend for small multiples;
    ``y_domain`` fixes the scale (small multiples share one)."""
    lo, hi = y_domain or y_range(series, target)
    left, right = 34.0, width - (14 if compact else 24)
    top, bottom = (8.0 if compact else 30.0), height - (18 if compact else 28)
    n = len(x_labels)
    xs = [left + (right - left) * (i + 0.5) / n for i in range(n)]

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (min(max(value, lo), hi) - lo) / (hi - lo)

    parts = [_open_svg(chart_id, "line-chart" + (" compact" if compact else ""), width, height, title, desc)]
    parts.append(_y_axis(left, right, top, bottom, lo, hi, 2 if compact else 4))
    step = max(1, math.ceil(n / max(1, (right - left) // 60)))
    labelled = set(range(n - 1, -1, -step))  # counted back from the latest round, which is always labelled
    for i, (x, label) in enumerate(zip(xs, x_labels, strict=True)):
        if i in labelled:
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">{escape(label)}</text>'
            )
    if target is not None:
        y = y_of(target)
        parts.append(f'<line class="target" x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>')
        if target_label and not compact:
            parts.append(f'<text class="target-label" x="{right:.1f}" y="{y - 4:.1f}" text-anchor="end">')
            parts.append(f"{escape(target_label)}</text>")
    for s in series:
        parts.append(f'<path class="line {escape(s.css)}" d="{_series_path(s.values, xs, y_of)}"><title>')
        parts.append(f"{escape(s.name)}</title></path>")
        parts += [
            f'<circle class="point {escape(s.css)}" cx="{x:.1f}" cy="{y_of(v):.1f}" r="{2.5 if compact else 3.5}">'
            f"<title>{escape(s.name)} {escape(label)}: {fmt_number(v)}</title></circle>"
            for x, v, label in zip(xs, s.values, x_labels, strict=True)
            if v is not None and not math.isnan(v)
        ]
    if not compact:
        parts.append(_legend(series, left, 12))
    parts.append("</svg>")
    return "".join(parts)
