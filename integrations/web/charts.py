"""Server-rendered SVG charts: bars (grouped or stacked) and lines with axes. Pure and static.

No script and no external resource: each chart is an inline ``<svg role="img">`` named by its
``<title>`` and ``<desc>``; every bar and point has a ``<title>`` with its value, and every
text is escaped. Colours come from classes (``s0`` … ``s7``, styled in the page's stylesheet,
with a dark-mode variant); lines also differ by marker shape, so colour is never the only
cue. The page puts a table with the same numbers beside each chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from integrations.web.layout import esc

WIDTH = 640
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 44
PALETTE = 8
# At most this many x labels are written; the rest are skipped evenly (the table has them all).
MAX_X_LABELS = 13
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values (None: no value, drawn as a gap)."""

    name: str
    values: Sequence[float | None]


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Ticks from 0 to at least ``top``, about ``count`` steps of 1, 2, 2.5 or 5 x 10^n."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def number(value: float) -> str:
    """A tick or value label: whole numbers without decimals, else up to one decimal."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):d}"
    return f"{value:.1f}"


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    stacked: bool = False,
    fmt: Callable[[float], str] = number,
) -> str:
    """Bars per label, one per series side by side (or stacked)."""
    if stacked:
        tops = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    else:
        tops = [v or 0 for s in series for v in s.values]
    ticks = nice_ticks(max(tops, default=0))
    plot = _Plot(len(labels), ticks)
    parts = [_axes(plot, labels, ticks, unit)]
    slot = plot.slot
    inner = slot * 0.8
    width = inner if stacked else inner / max(len(series), 1)
    for i, label in enumerate(labels):
        base = 0.0
        for n, s in enumerate(series):
            value = s.values[i]
            if value is None or value <= 0:
                continue
            x = plot.x0 + i * slot + slot * 0.1 + (0 if stacked else n * width)
            y_top, y_bottom = plot.y(base + value), plot.y(base)
            tip = f"{label}, {s.name}: {fmt(value)}{_suffix(unit)}"
            parts.append(
                f'<rect class="bar s{n % PALETTE}" x="{x:.1f}" y="{y_top:.1f}" '
                f'width="{max(width - 1, 1):.1f}" height="{max(y_bottom - y_top, 0.5):.1f}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            if stacked:
                base += value
    return _svg(chart_id, title, description, "".join(parts))


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    fmt: Callable[[float], str] = number,
) -> str:
    """One line per series over the labels; a missing value breaks the line."""
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(max(values, default=0))
    plot = _Plot(len(labels), ticks)
    parts = [_axes(plot, labels, ticks, unit)]
    for n, s in enumerate(series):
        cls = f"s{n % PALETTE}"
        runs: list[list[tuple[float, float]]] = [[]]
        marks = []
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = plot.x_mid(i), plot.y(value)
            runs[-1].append((x, y))
            tip = f"{labels[i]}, {s.name}: {fmt(value)}{_suffix(unit)}"
            marks.append(f"{_marker(n, x, y, cls)}<title>{esc(tip)}</title></g>")
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline class="line {cls}" points="{points}"/>')
        parts.extend(marks)
    return _svg(chart_id, title, description, "".join(parts))


def legend(series: Sequence[Series], *, lines: bool = False) -> str:
    """The key under a chart, as an HTML list (swatch classes match the chart's)."""
    shape = " line" if lines else ""
    items = "".join(
        f'<li><span class="swatch{shape} s{n % PALETTE}" aria-hidden="true"></span>'
        f"{esc(s.name)}</li>"
        for n, s in enumerate(series)
    )
    return f'<ul class="legend">{items}</ul>'


# -- pieces ----------------------------------------------------------------------------------


class _Plot:
    """Where things go: the plot area inside the margins, scaled to the ticks."""

    def __init__(self, slots: int, ticks: Sequence[float]) -> None:
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = HEIGHT - BOTTOM, TOP
        self.slot = (self.x1 - self.x0) / max(slots, 1)
        self.top = ticks[-1] or 1.0

    def y(self, value: float) -> float:
        return self.y0 - (self.y0 - self.y1) * min(max(value, 0.0), self.top) / self.top

    def x_mid(self, i: int) -> float:
        return self.x0 + (i + 0.5) * self.slot


def _axes(plot: _Plot, labels: Sequence[str], ticks: Sequence[float], unit: str) -> str:
    out = []
    for t in ticks:
        y = plot.y(t)
        out.append(
            f'<line class="grid" x1="{plot.x0}" y1="{y:.1f}" x2="{plot.x1}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{plot.x0 - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{esc(number(t))}</text>"
        )
    if unit:
        out.append(f'<text class="unit" x="4" y="{TOP - 2}">{esc(unit)}</text>')
    out.append(
        f'<line class="axis" x1="{plot.x0}" y1="{plot.y0}" x2="{plot.x1}" y2="{plot.y0}"/>'
        f'<line class="axis" x1="{plot.x0}" y1="{plot.y0}" x2="{plot.x0}" y2="{plot.y1}"/>'
    )
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    shown = [i for i in range(len(labels)) if i % every == 0 or i == len(labels) - 1]
    for n, i in enumerate(reversed(shown)):
        # Every other label (counting back from the latest) is "minor": a narrow screen's
        # stylesheet hides those so the rest stay readable.
        cls = "tick minor" if n % 2 and len(shown) > 6 else "tick"
        out.append(
            f'<text class="{cls}" x="{plot.x_mid(i):.1f}" y="{plot.y0 + 16}" '
            f'text-anchor="middle">{esc(_short(labels[i]))}</text>'
        )
    return "".join(out)


def _marker(n: int, x: float, y: float, cls: str) -> str:
    """A point marker whose shape differs per series (circle, square, diamond, triangle)."""
    shape = n % 4
    if shape == 0:
        mark = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
    elif shape == 1:
        mark = f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8"/>'
    else:
        corners = [(0, -5), (5, 0), (0, 5), (-5, 0)] if shape == 2 else [(0, -5), (5, 4), (-5, 4)]
        points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in corners)
        mark = f'<polygon points="{points}"/>'
    return f'<g class="point {cls}">{mark}'


def _svg(chart_id: str, title: str, description: str, body: str) -> str:
    cid = esc(chart_id)
    return (
        f'<svg xmlns="{SVG_NS}" class="chart" id="{cid}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" focusable="false">'
        f'<title id="{cid}-title">{esc(title)}</title>'
        f'<desc id="{cid}-desc">{esc(description)}</desc>{body}</svg>'
    )


def _suffix(unit: str) -> str:
    return "%" if unit == "%" else (f" {unit}" if unit else "")


def _short(label: str) -> str:
    # "2026-W48" reads "W48" under the axis; the table and tooltips keep the year.
    return label.split("-")[-1] if "-W" in label else label
