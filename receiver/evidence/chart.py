"""An SVG chart of the series around an incident, drawn by matplotlib's SVG backend.

Readable on light and dark pages: the background is transparent, text and axes are a
grey and the series colours have mid luminance, each at least 3:1 against both white
and near-black. Text stays text (`svg.fonttype: none`), so the backend escapes labels
from Prometheus like any XML text, and Chinese titles need no font at render time.
The same input gives the same bytes: fixed ids and hash salt, no date in the metadata.
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from matplotlib import dates as mdates
from matplotlib import font_manager, style
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from receiver.evidence.promql import Threshold
from receiver.evidence.series import Series
from receiver.evidence.summary import infer_step, top_by_peak

__all__ = ["DEFAULT_MAX_SERIES", "INK", "PALETTE", "THRESHOLD_COLOUR", "render_chart"]

DEFAULT_MAX_SERIES = 10
# relative luminance 0.18-0.29: 3:1 or more against #ffffff and against #121212
PALETTE = (
    "#2f8ce0", "#e8710a", "#12a150", "#c74bb0", "#8f6bd8",
    "#a6850b", "#0e9aa7", "#a07850", "#6b8299", "#d63f8c",
)  # fmt: skip
INK = "#7d7d7d"  # text, axes and the window's shade: 4.1:1 on white, 4.5:1 on #121212
THRESHOLD_COLOUR = "#e03131"
_WINDOW_ALPHA = 0.18
# longer legend entries and titles are cut with an ellipsis: the SVG would grow wide
_LABEL_CHARS = 90
_TITLE_CHARS = 110
_SECONDS_PER_DAY = 86400.0
_GAP_STEPS = 1.5  # samples further apart than this many steps are not joined by a line
# the preferred fonts that exist here; browsers fall back to their own sans-serif
_FONTS = ("DejaVu Sans", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC")
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "postmortem-receiver-evidence",
    "font.size": 9,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "axes.titlecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "grid.color": INK,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "axes.facecolor": "none",
    "figure.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "legend.frameon": False,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# matplotlib's rcParams are process-wide: one chart at a time may change them
_LOCK = threading.Lock()


def render_chart(
    series: Sequence[Series],
    *,
    window: tuple[datetime, datetime],
    threshold: Threshold | None,
    title: str,
    zone: ZoneInfo,
    truncated: int = 0,
    max_series: int = DEFAULT_MAX_SERIES,
) -> str:
    """An SVG document: the series (the top max_series by peak), the incident window
    shaded, the threshold as a dashed line and a legend. `truncated` counts series the
    query already cut, for the "showing top N of M" note.

    Each series is a `<g id="series-N">` holding one `<path>`; the window is
    `id="incident-window"`, the threshold `id="threshold"`, the note `id="truncation-note"`.
    """
    shown = top_by_peak(series, max_series)
    total = len(series) + truncated
    buffer = io.BytesIO()
    rc = {**_RC, "font.sans-serif": list(_available_fonts())}
    # after_reset: from matplotlib's defaults, so no matplotlibrc here changes the bytes
    with _LOCK, style.context(rc, after_reset=True), warnings.catch_warnings():
        # fonts may lack CJK glyphs; the text stays text and the browser's fonts draw it
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from", UserWarning)
        figure = _draw(shown, total, window, threshold, title, zone)
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            pad_inches=0.05,
            transparent=True,
            metadata={"Date": None, "Creator": None},
        )
    return buffer.getvalue().decode("utf-8")


def _draw(
    shown: list[Series],
    total: int,
    window: tuple[datetime, datetime],
    threshold: Threshold | None,
    title: str,
    zone: ZoneInfo,
) -> Figure:
    figure = Figure(figsize=(8, 3.2))
    axes = figure.add_subplot()
    handles: list[Artist] = []
    labels: list[str] = []

    start, end = window
    axes.axvspan(
        _x(start),
        _x(end),
        color=INK,
        alpha=_WINDOW_ALPHA,
        linewidth=0,
        gid="incident-window",
    )
    handles.append(Patch(color=INK, alpha=_WINDOW_ALPHA, linewidth=0))
    labels.append("incident window")

    step = infer_step(shown)
    for index, one in enumerate(shown):
        xs, ys = _with_gaps(one.points, step)
        (line,) = axes.plot(
            xs, ys, color=PALETTE[index % len(PALETTE)], linewidth=1.4, gid=f"series-{index}"
        )
        handles.append(line)
        labels.append(_plain(_shorten(one.label_text(), _LABEL_CHARS)))

    if threshold is not None:
        axes.axhline(
            threshold.value,
            color=THRESHOLD_COLOUR,
            linewidth=1.2,
            linestyle=(0, (5, 3)),
            zorder=3,  # over the series it is compared with
            gid="threshold",
        )
        handles.append(Line2D([], [], color=THRESHOLD_COLOUR, linestyle=(0, (5, 3))))
        labels.append(f"threshold {threshold}")

    if not shown:
        axes.text(
            0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center", gid="no-data"
        )

    axes.set_xlim(*_x_range(shown, window))
    locator = mdates.AutoDateLocator(tz=zone)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=zone)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    axes.set_xlabel(f"time ({zone.key})")
    axes.grid(True)
    axes.set_title(_plain(_shorten(title, _TITLE_CHARS)), loc="left")

    legend = axes.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(0.0, -0.2), borderaxespad=0.0
    )
    if len(shown) < total:
        legend.set_title(f"showing top {len(shown)} of {total} series by peak")
        legend.get_title().set_gid("truncation-note")
        legend.set_alignment("left")
    return figure


def _with_gaps(
    points: Sequence[tuple[datetime, float]], step: timedelta
) -> tuple[list[float], list[float]]:
    """x (matplotlib dates) and y, with a NaN wherever samples are missing: a gap."""
    xs: list[float] = []
    ys: list[float] = []
    previous: datetime | None = None
    for moment, value in points:
        if previous is not None and step and moment - previous > step * _GAP_STEPS:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(_x(moment))
        ys.append(value)
        previous = moment
    return xs, ys


def _x_range(shown: Sequence[Series], window: tuple[datetime, datetime]) -> tuple[float, float]:
    moments = [moment for one in shown for moment, _ in one.points] + list(window)
    return _x(min(moments)), _x(max(moments))


def _x(moment: datetime) -> float:
    """matplotlib's date number: days since its default epoch, 1970-01-01 UTC."""
    return moment.timestamp() / _SECONDS_PER_DAY


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> str:
    """Text shown as written: `$` would start matplotlib's math notation."""
    return text.replace("$", r"\$")


@cache
def _available_fonts() -> tuple[str, ...]:
    # naming a missing font makes matplotlib log a warning at every chart
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return tuple(name for name in _FONTS if name in installed) or ("DejaVu Sans",)
