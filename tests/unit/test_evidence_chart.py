"""The SVG chart: well-formed, one path per series, escaped labels, the same bytes twice."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from receiver.evidence.chart import INK, PALETTE, THRESHOLD_COLOUR, render_chart
from receiver.evidence.promql import Threshold
from receiver.evidence.series import Series

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
WINDOW = (T0 + timedelta(minutes=30), T0 + timedelta(minutes=70))
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE = '</text><script>alert(1)</script><!-- --> & "quoted" $x$'


def bump(index: int, *, skip: range = range(0)) -> Series:
    """A series that rises around minute 45, each index a little higher."""
    points = [
        (T0 + timedelta(minutes=m), 0.03 + 0.01 * index + 0.05 * math.exp(-(((m - 45) / 10) ** 2)))
        for m in range(90)
        if m not in skip
    ]
    return Series({"__name__": "errors_ratio", "instance": f"10.0.0.{index}:9100"}, points)


def render(series: list[Series], **overrides: object) -> str:
    arguments: dict[str, object] = {
        "window": WINDOW,
        "threshold": Threshold(">", 0.05),
        "title": "payments 错误率 rate(errors[5m]) > 0.05",
        "zone": SHANGHAI,
    }
    arguments.update(overrides)
    return render_chart(series, **arguments)  # type: ignore[arg-type]


def groups(root: ET.Element, prefix: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith(prefix)]


def texts(root: ET.Element) -> list[str]:
    return ["".join(text.itertext()) for text in root.iter(f"{SVG}text")]


def test_one_path_per_series_the_window_and_the_threshold() -> None:
    root = ET.fromstring(render([bump(i) for i in range(4)]))
    assert root.tag == f"{SVG}svg"
    series = groups(root, "series-")
    assert len(series) == 4
    assert all(len(list(g.iter(f"{SVG}path"))) == 1 for g in series)
    assert len(list(groups(root, "incident-window")[0].iter(f"{SVG}path"))) == 1
    assert len(list(groups(root, "threshold")[0].iter(f"{SVG}path"))) == 1
    shown = texts(root)
    assert "payments 错误率 rate(errors[5m]) > 0.05" in shown
    assert "incident window" in shown
    assert "threshold > 0.05" in shown
    assert 'errors_ratio{instance="10.0.0.3:9100"}' in shown
    assert "time (Asia/Shanghai)" in shown
    assert "18:30" in shown  # 10:30 UTC, in the zone given
    assert not groups(root, "truncation-note")


def test_without_a_threshold_there_is_no_line() -> None:
    svg = render([bump(0)], threshold=None)
    root = ET.fromstring(svg)
    assert not groups(root, "threshold")
    assert not any(text.startswith("threshold") for text in texts(root))
    assert THRESHOLD_COLOUR not in svg


def test_a_hostile_label_value_is_only_text() -> None:
    hostile = Series({"__name__": "x", "job": HOSTILE}, bump(0).points)
    svg = render([hostile], title=f"title {HOSTILE}")
    assert "<script" not in svg
    assert "</text><script>" not in svg
    assert "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = ET.fromstring(svg)
    assert not [element for element in root.iter() if element.tag.endswith("script")]
    shown = texts(root)
    # quoted as PromQL quotes it, and `$x$` stays as written, not math notation
    assert any(HOSTILE.replace('"', '\\"') in text for text in shown)
    assert f"title {HOSTILE}" in shown


def test_many_series_are_cut_to_the_top_by_peak_with_a_note() -> None:
    root = ET.fromstring(render([bump(i) for i in range(15)], max_series=10))
    assert len(groups(root, "series-")) == 10
    (note,) = groups(root, "truncation-note")
    assert "".join(note.itertext()).strip() == "showing top 10 of 15 series by peak"
    shown = texts(root)
    assert 'errors_ratio{instance="10.0.0.14:9100"}' in shown  # the highest peaks
    assert 'errors_ratio{instance="10.0.0.4:9100"}' not in shown


def test_series_the_query_already_cut_count_in_the_note() -> None:
    root = ET.fromstring(render([bump(i) for i in range(3)], truncated=5))
    assert len(groups(root, "series-")) == 3
    assert "showing top 3 of 8 series by peak" in texts(root)


def test_the_same_input_gives_the_same_bytes() -> None:
    series = [bump(i) for i in range(3)]
    first = render(series)
    assert render(series) == first
    assert "<dc:date>" not in first
    assert "Matplotlib v" not in first  # no version in the metadata either


def test_missing_samples_break_the_line() -> None:
    root = ET.fromstring(render([bump(0, skip=range(60, 65))]))
    (path,) = groups(root, "series-0")[0].iter(f"{SVG}path")
    assert path.get("d", "").count("M") == 2


def test_no_series_says_no_data() -> None:
    root = ET.fromstring(render([]))
    assert not groups(root, "series-")
    assert "no data" in texts(root)
    assert groups(root, "incident-window")


def test_a_label_starting_with_an_underscore_is_still_in_the_legend() -> None:
    hidden = Series({"__name__": "_private_metric"}, bump(0).points)
    assert "_private_metric" in texts(ET.fromstring(render([hidden])))


def test_long_labels_and_titles_are_cut() -> None:
    long = Series({"__name__": "x", "path": "/a" * 200}, bump(0).points)
    shown = texts(ET.fromstring(render([long], title="t" * 300)))
    assert "t" * 109 + "…" in shown
    label = next(text for text in shown if text.startswith("x{"))
    assert len(label) == 90
    assert label.endswith("…")


def luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("colour", [*PALETTE, INK, THRESHOLD_COLOUR])
def test_colours_read_on_light_and_dark_pages(colour: str) -> None:
    assert contrast(colour, "#ffffff") >= 3
    assert contrast(colour, "#121212") >= 3


def test_the_background_is_transparent_and_only_known_colours_are_used() -> None:
    svg = render([bump(i) for i in range(12)])
    used = {colour.lower() for colour in re.findall(r"(?:fill|stroke): (#[0-9a-fA-F]{6})", svg)}
    assert used <= {*PALETTE, INK, THRESHOLD_COLOUR}
    assert "#ffffff" not in svg.lower()
    assert "#000000" not in svg
