"""The Grafana dashboard: its PromQL parses and asks only for what the receiver exports.

promtool has no command to check a bare expression, but `promtool check rules` parses
every rule's: each panel query becomes a recording rule. Metric names are checked
against a live Metrics() registry's exposition, grouping labels against the metrics'
own labels, so a renamed metric or a `by (service)` the receiver never exports fails.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from receiver.evidence.promql import metric_names, tokenize
from receiver.metrics import Metrics
from tests.conftest import REPO
from tests.processes import debian_command

DASHBOARD = REPO / "deploy" / "grafana" / "postmortem-receiver-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# Grafana's own variables, as a query would get them; the dashboard's come from it
BUILT_IN = {"__interval": "1h", "__rate_interval": "2m", "__range": "7d"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
# labels every scraped series has besides its own, and histograms' buckets
TARGET_LABELS = frozenset({"job", "instance"})
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # inside collapsed rows


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query."""
    return [
        (panel["title"], target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]


def substituted(expr: str, dashboard: dict[str, Any]) -> str:
    """The expression as Grafana would send it, with example values for variables."""
    values = dict(BUILT_IN)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "custom":
            values[variable["name"]] = variable["current"]["value"]
        else:
            values[variable["name"]] = variable.get("allValue") or ".+"

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unknown variable ${name} in {expr}"
        return values[name]

    return VARIABLE.sub(replace, expr)


def exported_samples() -> dict[str, frozenset[str]]:
    """Every sample name a Metrics() registry exposes, with the labels it can carry."""
    metrics = Metrics()
    labels = {
        wrapper._name: frozenset(wrapper._labelnames)  # prometheus_client keeps them there
        for wrapper in vars(metrics).values()
        if isinstance(wrapper, MetricWrapperBase)
    }
    exposition = generate_latest(metrics.registry).decode("utf-8")
    samples: dict[str, frozenset[str]] = {}
    for family in text_string_to_metric_families(exposition):
        own = labels.get(family.name, frozenset())
        for suffix in SAMPLE_SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            samples[family.name + suffix] = own | extra | TARGET_LABELS
    return samples


def grouping_labels(expr: str) -> set[str]:
    """The label names in `by (...)`, `without (...)`, `on (...)` and `ignoring (...)`."""
    tokens = tokenize(expr)
    found: set[str] = set()
    for index, token in enumerate(tokens[:-1]):
        keyword = token.kind == "ident" and token.text in ("by", "without", "on", "ignoring")
        if keyword and tokens[index + 1].text == "(":
            for inner in tokens[index + 2 :]:
                if inner.text == ")":
                    break
                if inner.kind == "ident":
                    found.add(inner.text)
    return found


def test_the_dashboard_asks_for_a_prometheus_data_source(dashboard: dict[str, Any]) -> None:
    (source,) = dashboard["__inputs"]
    assert source["name"] == "DS_PROMETHEUS"
    assert (source["type"], source["pluginId"]) == ("datasource", "prometheus")
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE


def test_panels_have_unique_ids_and_do_not_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    taken: dict[tuple[int, int], str] = {}
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_every_query_uses_exported_metrics_and_labels(dashboard: dict[str, Any]) -> None:
    samples = exported_samples()
    used: set[str] = set()
    for title, expr in queries(dashboard):
        query = substituted(expr, dashboard)
        names = metric_names(query)
        assert names, f"{title}: no metric in {expr}"
        unknown = names - samples.keys()
        assert not unknown, f"{title}: {sorted(unknown)} not exported by receiver.metrics"
        known_labels = frozenset().union(*(samples[name] for name in names))
        unknown_labels = grouping_labels(query) - known_labels
        assert not unknown_labels, f"{title}: no such labels {sorted(unknown_labels)}"
        used |= names
    # what the dashboard is for
    for wanted in (
        "postmortem_receiver_incidents_opened_total",
        "postmortem_receiver_incident_duration_seconds_bucket",
        "postmortem_receiver_time_to_acknowledge_seconds_bucket",
        "postmortem_receiver_open_incidents",
        "postmortem_receiver_webhooks_received_total",
    ):
        assert wanted in used


def test_every_query_parses(dashboard: dict[str, Any], tmp_path: Path) -> None:
    promtool = debian_command("promtool", "prometheus")
    rules = [
        {"record": f"dashboard:query_{index}", "expr": substituted(expr, dashboard)}
        for index, (_, expr) in enumerate(queries(dashboard))
    ]
    path = tmp_path / "dashboard-rules.yml"
    # JSON is YAML: no YAML library needed to write the file
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}), "utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def test_a_broken_query_would_fail_the_parse_check(tmp_path: Path) -> None:
    """promtool does reject a bad expression in a recording rule (the check is real)."""
    promtool = debian_command("promtool", "prometheus")
    path = tmp_path / "bad.yml"
    bad = {"record": "dashboard:bad", "expr": "sum by (le (rate(x[5m]))"}
    path.write_text(json.dumps({"groups": [{"name": "bad", "rules": [bad]}]}), "utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode != 0
