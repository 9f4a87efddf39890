"""The KPI page's bar charts as inline SVG, drawn here: no script, no charting library.

Colours come from the page's stylesheet by class (the CSP allows no inline style), so
the charts follow its light and dark schemes. Each chart has a title and a description
that says every value, and the page shows the same numbers in a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 420, 220  # about the size it is shown at: text stays legible
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 10, 22, 30  # room for the axes' labels
_MAX_LABELS = 7  # month labels beyond this many are thinned out


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the bar: the month or quarter
    value: float | None  # None: nothing to draw (no incident ended that month)
    text: str  # above the bar and in its tooltip
    estimated: bool = False  # drawn paler and dashed: the value rests on estimated ends


@dataclass(frozen=True, slots=True)
class Chart:
    ident: str  # unique on the page: the ids of its title and description
    title: str
    desc: str
    bars: Sequence[Bar]
    target: float | None = None
    target_label: str = ""


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _scale_top(values: Sequence[float]) -> float:
    """A round top for the y axis, above every value and the target."""
    top = max(values, default=0.0)
    if top <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= top:
            return float(step * magnitude)
    return float(10 * magnitude)


def render(chart: Chart) -> Markup:
    values = [b.value for b in chart.bars if b.value is not None]
    top = _scale_top([*values, *([chart.target] if chart.target is not None else [])])
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h

    def y(value: float) -> float:
        return base - plot_h * value / top

    slot = plot_w / max(len(chart.bars), 1)
    every = max(1, math.ceil(len(chart.bars) / _MAX_LABELS))
    title_id, desc_id = f"{chart.ident}-title", f"{chart.ident}-desc"
    parts = [
        f'<svg class="kpi-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(chart.desc)}</desc>',
    ]
    for tick in (0.0, top / 2, top):
        parts.append(
            f'<line class="kpi-grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" '
            f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="kpi-axis" x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
    for index, bar in enumerate(chart.bars):
        middle = _LEFT + slot * (index + 0.5)
        width = max(2.0, min(40.0, slot * 0.6))
        if bar.value is not None:
            height = base - y(bar.value)
            kind = "kpi-bar estimated" if bar.estimated else "kpi-bar"
            parts.append(
                f'<g class="kpi-datum" data-label="{escape(bar.label)}" '
                f'data-value="{_fmt(bar.value)}">'
                f"<title>{escape(bar.label)}: {escape(bar.text)}</title>"
                f'<rect class="{kind}" x="{middle - width / 2:.1f}" '
                f'y="{base - height:.1f}" width="{width:.1f}" height="{height:.1f}"/>'
                f'<text class="kpi-value" x="{middle:.1f}" y="{base - height - 4:.1f}" '
                f'text-anchor="middle">{escape(bar.text)}</text></g>'
            )
        if index % every == 0:
            parts.append(
                f'<text class="kpi-axis" x="{middle:.1f}" y="{base + 16}" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
    parts.append(
        f'<line class="kpi-baseline" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{base}" y2="{base}"/>'
    )
    if chart.target is not None:
        at = y(chart.target)
        parts.append(
            f'<line class="kpi-target" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" '
            f'y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="kpi-target-label" x="{_LEFT + 4}" y="{at - 4:.1f}" '
            f'text-anchor="start">{escape(chart.target_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
