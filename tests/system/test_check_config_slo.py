"""`check-config` and `serve` with SLOs: event counters that are not selectors refuse to
start, a query a real Prometheus refuses is a problem, an unreachable Prometheus only a
note; each problem named where it was set."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client import Counter

from receiver.config import load_settings
from receiver.evidence.slo_check import query_problems
from tests.cli_processes import run
from tests.conftest import REPO
from tests.processes import debian_command, free_port
from tests.prometheus_process import start_exporter, start_prometheus

GOOD = 'checkout_requests_total{code="200"}'
TOTAL = "checkout_requests_total"


def config_file(tmp_path: Path, prometheus_url: str, *slos: str) -> Path:
    path = tmp_path / "receiver.toml"
    path.write_text(
        f'prometheus_url = "{prometheus_url}"\n' + "".join(slos),
        encoding="utf-8",
    )
    return path


def slo(name: str, **queries: str) -> str:
    lines = "".join(f"{key} = '{value}'\n" for key, value in queries.items())
    return f'[[slos.checkout]]\nname = "{name}"\nobjective = 99.9\n{lines}'


def problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("{")]


def test_a_counter_that_is_not_a_selector_stops_the_start(tmp_path: Path) -> None:
    config = config_file(
        tmp_path,
        f"http://127.0.0.1:{free_port()}",
        slo("availability", good=GOOD, total="sum(rate(checkout_requests_total[5m]))"),
    )
    for command in ("check-config", "serve"):
        done = run(tmp_path, "--config", str(config), command)
        assert done.returncode == 2, done.stderr
        assert problems(done.stderr) == [
            f"问题：设置 slos.checkout[0].total（在 {config} 中）：值无效（an event counter as "
            'it is, a selector such as http_requests_total{job="checkout"} (no rate, no sum)）'
            "；改正这个值"
        ]


def test_a_query_prometheus_refuses_is_a_problem(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    exporter = start_exporter(request)
    Counter("checkout_requests", "requests", ["code"], registry=exporter.registry)
    prometheus = start_prometheus(request, tmp_path, [exporter.address])
    config = config_file(
        tmp_path,
        prometheus.base_url,
        slo("availability", good=GOOD, total=TOTAL),
        slo("errors", error_ratio="rate(checkout_requests_total)"),  # needs a range
    )
    done = run(tmp_path, "--config", str(config), "check-config", "--offline")
    assert done.returncode == 0, done.stderr  # offline: Prometheus is not asked
    done = run(
        tmp_path, "--config", str(config), "check-config", RECEIVER_DATABASE_URL="sqlite:///x.db"
    )
    assert done.returncode == 1, done.stderr
    [problem] = problems(done.stderr)
    assert problem.startswith(
        f"问题：设置 slos.checkout[1].error_ratio（在 {config} 中）：值无效（query error: bad_data:"
    )
    assert "range vector" in problem


def test_an_unreachable_prometheus_is_a_note_not_a_problem(tmp_path: Path) -> None:
    config = config_file(
        tmp_path, f"http://127.0.0.1:{free_port()}", slo("availability", good=GOOD, total=TOTAL)
    )
    done = run(tmp_path, "--config", str(config), "check-config", RECEIVER_LANGUAGE="en")
    assert done.returncode == 0, done.stderr
    [note] = problems(done.stderr)
    assert note.startswith(
        "note: Prometheus did not answer, the SLO queries were not checked against it "
        "(cannot connect to"
    )


def test_slos_without_a_prometheus_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "receiver.toml"
    path.write_text(slo("availability", good=GOOD, total=TOTAL), encoding="utf-8")
    done = run(tmp_path, "--config", str(path), "check-config")
    assert done.returncode == 2, done.stderr
    assert problems(done.stderr) == [
        "问题：设置有误：值无效（SLOs ([slos.<service>]) need RECEIVER_PROMETHEUS_URL to ask）"
    ]


def test_the_deploy_example_is_valid_settings_and_valid_rules() -> None:
    """deploy/slo: the receiver reads its settings without a problem, and promtool
    accepts the Sloth recording rules the error-ratio SLO reads."""
    example = REPO / "deploy" / "slo"
    settings = load_settings(example / "receiver-slos.toml")
    assert [slo.name for slo in settings.slos["payments"]] == [
        "availability",
        "requests-availability",
        "latency",
    ]
    assert query_problems(settings) == []
    promtool = debian_command("promtool", "prometheus")
    done = subprocess.run(
        [promtool, "check", "rules", str(example / "sloth-payments-rules.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = settings.slos["payments"][1].error_ratio or ""
    assert recorded.startswith("slo:sli_error:ratio_rate5m{")
    assert "record: slo:sli_error:ratio_rate5m" in (example / "sloth-payments-rules.yml").read_text(
        encoding="utf-8"
    )
