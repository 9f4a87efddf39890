"""The alert's expression: from its generatorURL, and split into query and threshold."""

from __future__ import annotations

import pytest

from receiver.evidence.promql import (
    PromQLSyntaxError,
    Threshold,
    expression_from_generator_url,
    metric_names,
    split_comparison,
    tokenize,
)
from tests.processes import GENERATOR_URL

# -- generatorURL ------------------------------------------------------------------------


def test_expression_from_alertmanagers_generator_url() -> None:
    assert expression_from_generator_url(GENERATOR_URL) == (
        'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket{job="payments-api"}'
        "[5m])) > 1"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1", "up == 0"),
        ("http://prom:9090/graph?g0.tab=1&g0.expr=%20rate%28x%5B5m%5D%29%20", "rate(x[5m])"),
        ("http://prom:9090/graph?g0.tab=1", None),
        ("http://prom:9090/graph?g0.expr=", None),
        ("", None),
        ("not a url at all", None),
        ("http://[::1/graph?g0.expr=up", None),  # urlsplit refuses the host
    ],
)
def test_expression_from_generator_url(url: str, expected: str | None) -> None:
    assert expression_from_generator_url(url) == expected


# -- split_comparison --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "query", "threshold"),
    [
        ("rate(errors_total[5m]) > 0.05", "rate(errors_total[5m])", Threshold(">", 0.05)),
        ("up == 0", "up", Threshold("==", 0)),
        ("x != 1", "x", Threshold("!=", 1)),
        ("x >= 10", "x", Threshold(">=", 10)),
        ("x<=-3", "x", Threshold("<=", -3)),
        ("x < +2.5", "x", Threshold("<", 2.5)),
        ("x > bool 0.9", "x", Threshold(">", 0.9)),
        ("x > BOOL 0.9", "x", Threshold(">", 0.9)),
        # the number on the left: the operator turns round
        ("0.05 < rate(x[5m])", "rate(x[5m])", Threshold(">", 0.05)),
        ("10 >= free_bytes", "free_bytes", Threshold("<=", 10)),
        ("3 == bool x", "x", Threshold("==", 3)),
        # number syntax
        ("x > 1e-3", "x", Threshold(">", 0.001)),
        ("x > 2.5E+2", "x", Threshold(">", 250)),
        ("x > .5", "x", Threshold(">", 0.5)),
        ("x > 0x1F", "x", Threshold(">", 31)),
        ("x > 1_000", "x", Threshold(">", 1000)),
        # arithmetic binds tighter than a comparison: the whole left side is the query
        ("sum(rate(a[5m])) / sum(rate(b[5m])) > 0.01", "sum(rate(a[5m])) / sum(rate(b[5m]))",
         Threshold(">", 0.01)),
        ("a + b > 5", "a + b", Threshold(">", 5)),
        ("(a + b) > 5", "(a + b)", Threshold(">", 5)),
        # label matchers, strings, aggregations, modifiers and subqueries stay in the query
        ('rate(http{path=~"a>b",code!="500"}[5m]) > 1', 'rate(http{path=~"a>b",code!="500"}[5m])',
         Threshold(">", 1)),
        ("x{a='<=3'} < 3", "x{a='<=3'}", Threshold("<", 3)),
        ("x{a=`>\\`} > 2", "x{a=`>\\`}", Threshold(">", 2)),
        ('x{a="\\">"} > 2', 'x{a="\\">"}', Threshold(">", 2)),
        ("sum by (job) (rate(x[5m])) > 3", "sum by (job) (rate(x[5m]))", Threshold(">", 3)),
        ("sum(rate(x[5m])) by (job) > 3", "sum(rate(x[5m])) by (job)", Threshold(">", 3)),
        ("x offset 5m > 3", "x offset 5m", Threshold(">", 3)),
        ("max_over_time(x[10m:1m]) > 3", "max_over_time(x[10m:1m])", Threshold(">", 3)),
        ("job:errors:rate5m > 0.1", "job:errors:rate5m", Threshold(">", 0.1)),
        ("x # a comment: y > 1\n > 4", "x", Threshold(">", 4)),
        ("  \n  max(b)\n  > 1\n", "max(b)", Threshold(">", 1)),
    ],
)  # fmt: skip
def test_a_top_level_comparison_against_a_number(
    expr: str, query: str, threshold: Threshold
) -> None:
    assert split_comparison(expr) == (query, threshold)


@pytest.mark.parametrize(
    "expr",
    [
        "rate(x[5m])",
        "up",
        # nested: the comparison is an operand of something else
        "(x > 5)",
        "count(x > 5)",
        "x > 5 and y",
        "x > 5 AND y",
        "x > 5 or y < 3",
        "x > 5 unless y",
        "y unless x > 5",
        "sum(x > bool 5) > 2 > 1",  # a chain
        # not against a number
        "x > y",
        "x > on(job) group_left y",
        "rate(a[5m]) > rate(b[5m]) * 2",
        "x > 5 + 1",
        "x > (5)",
        "x > Inf",
        "x > NaN",
        "x > -Inf",
        "1 > bool 0",
        "> 5",
        "x >",
        "x > bool",
        # operators only inside strings and matchers
        '{path=~"a>b"}',
        'rate(http{path=~"a>b"}[5m])',
        'label_replace(x, "d", "$1 > 2", "s", "(.*)")',
        # not readable: unbalanced, unterminated, foreign characters
        "rate(x[5m] > 1",
        "rate(x[5m])) > 1",
        'x{a="b} > 1',
        "x{a='b\\'} > 1",
        "x > $threshold",
        "",
    ],
)
def test_anything_else_has_no_threshold(expr: str) -> None:
    assert split_comparison(expr) == (expr, None)


def test_threshold_holds_for_each_operator() -> None:
    assert Threshold(">", 1).holds(2)
    assert not Threshold(">", 1).holds(1)
    assert Threshold(">=", 1).holds(1)
    assert not Threshold(">=", 1).holds(0.5)
    assert Threshold("<", 1).holds(0)
    assert not Threshold("<", 1).holds(1)
    assert Threshold("<=", 1).holds(1)
    assert not Threshold("<=", 1).holds(2)
    assert Threshold("==", 1).holds(1)
    assert not Threshold("==", 1).holds(2)
    assert Threshold("!=", 1).holds(2)
    assert not Threshold("!=", 1).holds(1)
    with pytest.raises(ValueError, match="not a comparison"):
        Threshold("=~", 1).holds(1)
    assert str(Threshold(">", 0.05)) == "> 0.05"
    assert str(Threshold("<=", 1e-7)) == "<= 1e-07"


# -- tokens and metric names -------------------------------------------------------------


def test_tokens_keep_offsets_into_the_expression() -> None:
    expr = 'sum by (job) (rate(x{a=~"b"}[5m])) >= 1e3'
    tokens = tokenize(expr)
    assert [token.text for token in tokens] == [
        "sum", "by", "(", "job", ")", "(", "rate", "(", "x", "{", "a", "=~", '"b"', "}",
        "[", "5m", "]", ")", ")", ">=", "1e3",
    ]  # fmt: skip
    assert all(expr[token.start : token.end] == token.text for token in tokens)
    assert {token.kind for token in tokens if token.text in ("5m", "1e3", '"b"')} == {
        "duration",
        "number",
        "string",
    }


@pytest.mark.parametrize("expr", ["(x", "x)", "x[5m)", '"open', "x ! y", "$x"])
def test_tokenize_refuses_what_it_cannot_read(expr: str) -> None:
    with pytest.raises(PromQLSyntaxError):
        tokenize(expr)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('sum by (job, le) (rate(http_bucket{job="a", le!=""}[5m]))', {"http_bucket"}),
        ("sum without (instance) (a) / on (job) group_left (team) b", {"a", "b"}),
        ("histogram_quantile(0.9, sum by (le) (rate(d_bucket[1d])))", {"d_bucket"}),
        ('{__name__="via_matcher", job="x"}', {"via_matcher"}),
        ("max(a offset 5m) and ignoring (x) count(b) > bool 3", {"a", "b"}),
        ("topk(5, x) or absent(y)", {"x", "y"}),
        ("sum(x) by (sum)", {"x"}),
        ("time() - vector(1)", set()),
        ("x > Inf", {"x"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
