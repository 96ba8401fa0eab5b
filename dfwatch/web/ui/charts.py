"""SVG charts drawn on the server: no chart script, nothing from a CDN, nothing that runs.

Three shapes, each returned as `Markup` built only from numbers and `Markup.format`, which
escapes every argument, so a crawled label (a title, an entity, a source name) can never
become markup:

- `bar_chart`: one bar per bucket; a bar with an `href` is an SVG `<a>` (clicking it filters);
- `point_chart`: a figure series, one point per period, each with its sources in a `<title>`
  tooltip; a conflict point is a larger diamond with a "conflict" label (not colour alone),
  and the disagreeing versions are hollow rings at their own values, labelled on the left;
- `sparkline`: a row of tiny bars for a table cell (entity trends).

Every chart is `role="img"` with a `<title>` and `<desc>` (its accessible name and description)
and scales with its container (`viewBox`, CSS width 100 %). Links inside a chart are left out of
the tab order (`tabindex="-1"`): the page lists the same links in a table beside each chart,
which is the keyboard and screen-reader path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count

from markupsafe import Markup

WIDTH, HEIGHT = 640, 220  # viewBox units; the SVG itself is as wide as its container
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 18, 34  # plot margins (axis labels live there)
CHAR = 9.0  # width of a label character in viewBox units at the largest font size (timeline.css)
_ids = count(1)


@dataclass(frozen=True)
class Bar:
    label: str  # x-axis label, e.g. "2024-08"
    value: float
    title: str  # the bar's tooltip and accessible text, e.g. "August 2024: 5 articles"
    href: str | None = None  # where clicking the bar goes


@dataclass(frozen=True)
class Point:
    label: str  # x-axis label: the period
    value: float
    title: str  # tooltip: period, value, sources
    conflict: bool = False
    others: tuple[tuple[float, str], ...] = field(default=())  # disagreeing versions: (value, tooltip)


def nice_max(value: float) -> float:
    """The scale's top: the smallest 1, 2, 4, 6 or 8 × 10^k at or above `value` (2 for 1 or less than
    a whole 1), so the ticks at 0, half and top read as round numbers (counts stay whole)."""
    if value <= 0 or not math.isfinite(value):
        return 2.0
    power = 10.0 ** math.floor(math.log10(value))
    top = next(step * power for step in (1, 2, 4, 6, 8, 10) if step * power >= value)
    return 2.0 if top == 1 else top


def number(value: float) -> str:
    """A value as a label: integers without decimals, thousands separated."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def _frame(title: str, desc: str, body: Markup, width: int = WIDTH, height: int = HEIGHT,
           css: str = "chart") -> Markup:
    uid = f"chart-{next(_ids)}"
    return Markup(
        '<svg class="{css}" viewBox="0 0 {w} {h}" preserveAspectRatio="xMidYMid meet" role="img" '
        'aria-labelledby="{uid}-t {uid}-d" focusable="false" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{uid}-t">{title}</title><desc id="{uid}-d">{desc}</desc>{body}</svg>'
    ).format(css=css, w=width, h=height, uid=uid, title=title, desc=desc, body=body)


def _y_axis(top: float) -> Markup:
    """Gridlines and labels at 0, half and the top of the scale."""
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for frac in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - frac)
        parts.append(Markup('<line class="axis" x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}"/>'
                            '<text x="{tx}" y="{ty:.1f}" text-anchor="end">{label}</text>').format(
            x1=LEFT, x2=WIDTH - RIGHT, y=y, tx=LEFT - 6, ty=y + 4, label=number(top * frac)))
    return Markup("").join(parts)


def _label_step(labels: Sequence[str]) -> int:
    """Show every k-th x label so that none overlap, even at the phone font size."""
    widest = max((len(label) for label in labels), default=0) * CHAR + 8
    return max(1, math.ceil(len(labels) * widest / (WIDTH - LEFT - RIGHT)))


def _x_label(i: int, step: int, x: float, label: str) -> Markup:
    if i % step:
        return Markup("")
    return Markup('<text x="{x:.1f}" y="{y}" text-anchor="middle">{label}</text>').format(
        x=x, y=HEIGHT - BOTTOM + 16, label=label)


def bar_chart(bars: Sequence[Bar], title: str, desc: str) -> Markup:
    """Bars over a zero-based scale; each bar with an href is a link (out of the tab order)."""
    if not bars:
        return _frame(title, desc, Markup('<text x="{x}" y="{y}" text-anchor="middle">No data</text>').format(
            x=WIDTH // 2, y=HEIGHT // 2))
    top = nice_max(max(b.value for b in bars))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(bars)
    gap = min(slot * 0.2, 8)
    parts = [_y_axis(top)]
    step = _label_step([b.label for b in bars])
    for i, b in enumerate(bars):
        h = plot_h * max(b.value, 0) / top
        x, y = LEFT + i * slot + gap / 2, TOP + plot_h - h
        rect = Markup('<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}">'
                      '<title>{title}</title></rect>').format(x=x, y=y, w=slot - gap, h=h, title=b.title)
        if b.href:  # a clickable area as tall as the plot, so short bars are easy to hit
            hit = Markup('<rect class="hit" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h}" fill="transparent">'
                         '<title>{title}</title></rect>').format(x=x, y=TOP, w=slot - gap, h=plot_h - h,
                                                                 title=b.title)
            rect = Markup('<a href="{href}" tabindex="-1" aria-label="{title}">{hit}{rect}</a>').format(
                href=b.href, title=b.title, hit=hit, rect=rect)
        value = Markup('<text class="value" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{v}</text>').format(
            x=x + (slot - gap) / 2, y=y - 4, v=number(b.value)) if len(bars) <= 24 and b.value else Markup("")
        parts += [rect, value, _x_label(i, step, LEFT + (i + 0.5) * slot, b.label)]
    return _frame(title, desc, Markup("").join(parts))


def point_chart(points: Sequence[Point], title: str, desc: str) -> Markup:
    """Points (joined by a line) over a zero-based scale, evenly spaced by period; conflicts marked."""
    if not points:
        return _frame(title, desc, Markup('<text x="{x}" y="{y}" text-anchor="middle">No data</text>').format(
            x=WIDTH // 2, y=HEIGHT // 2))
    top = nice_max(max([p.value for p in points] + [v for p in points for v, _ in p.others]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(points)

    def xy(i: int, value: float) -> tuple[float, float]:
        return LEFT + (i + 0.5) * slot, TOP + plot_h * (1 - max(value, 0) / top)

    coords = [xy(i, p.value) for i, p in enumerate(points)]
    parts = [_y_axis(top)]
    step = _label_step([p.label for p in points])
    if len(coords) > 1:
        parts.append(Markup('<polyline class="line" points="{pts}"/>').format(
            pts=" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)))
    for i, (p, (x, y)) in enumerate(zip(points, coords, strict=True)):
        for value, tip in p.others:
            ox, oy = xy(i, value)
            parts.append(Markup('<circle class="point other" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="none" '
                                'stroke-width="2"><title>{tip}</title></circle><text class="value other" '
                                'x="{tx:.1f}" y="{ty:.1f}" text-anchor="end">{v}</text>').format(
                x=ox, y=oy, tip=tip, tx=ox - 9, ty=oy + 4, v=number(value)))
        if p.conflict:
            parts.append(Markup(
                '<path class="point conflict" d="M{x:.1f} {t:.1f}L{r:.1f} {y:.1f}L{x:.1f} {b:.1f}L{l:.1f} {y:.1f}Z">'
                '<title>{tip}</title></path><text class="flag" x="{x:.1f}" y="{ty:.1f}" text-anchor="middle">'
                'conflict</text>').format(x=x, y=y, t=y - 8, b=y + 8, l=x - 8, r=x + 8, ty=max(y - 12, 10),
                                          tip=p.title))
        else:
            parts.append(Markup('<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="5"><title>{tip}</title>'
                                '</circle>').format(x=x, y=y, tip=p.title))
        parts.append(Markup('<text class="value" x="{x:.1f}" y="{y:.1f}" text-anchor="start">{v}</text>').format(
            x=x + 10, y=y + 4, v=number(p.value)))
        parts.append(_x_label(i, step, x, p.label))
    return _frame(title, desc, Markup("").join(parts))


def sparkline(values: Sequence[float], title: str, width: int = 120, height: int = 24) -> Markup:
    """Tiny bars for a table cell; its title (and the table's own numbers) carry the values."""
    top = max([*values, 0]) or 1
    slot = width / max(len(values), 1)
    bars = [Markup('<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}"/>').format(
        x=i * slot + 1, y=height - height * v / top, w=max(slot - 2, 1), h=height * v / top)
        for i, v in enumerate(values)]
    return _frame(title, title, Markup("").join(bars), width=width, height=height, css="chart spark")
