"""The alert's PromQL expression: where to find it, and its threshold when it has one.

A tokenizer, not a parser: it knows strings, comments, brackets and operators well enough
to tell whether a comparison stands at the top of the expression, and to leave one inside
a label matcher (`{path=~"a>b"}`), a function call or an `and` alone. Anything it cannot
read with certainty counts as "no threshold": the chart is then drawn without the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "COMPARISON_OPERATORS",
    "PromQLSyntaxError",
    "Threshold",
    "Token",
    "expression_from_generator_url",
    "is_selector",
    "metric_names",
    "split_comparison",
    "tokenize",
]

COMPARISON_OPERATORS = frozenset({">", ">=", "<", "<=", "==", "!="})
# `0.05 < x` means `x > 0.05`
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
# below comparisons in PromQL's precedence: one of these at the top means the comparison
# is an operand, not the whole expression
_SET_OPERATORS = frozenset({"and", "or", "unless"})
# their parentheses hold label names, not expressions
_LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = _SET_OPERATORS | _LABEL_LIST_KEYWORDS | {"bool", "offset", "atan2"}
_AGGREGATORS = frozenset(
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
        "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    }
)  # fmt: skip
_PAIRS = {"(": ")", "[": "]", "{": "}"}

TokenKind = Literal["string", "number", "duration", "ident", "op", "open", "close", "comma"]

_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?"
)
_DURATION_TAIL = re.compile(r"[a-zA-Z][0-9a-zA-Z]*")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SPACE = re.compile(r"\s+")
_TWO_CHAR_OPS = ("==", "!=", ">=", "<=", "=~", "!~")
_ONE_CHAR_OPS = "=<>+-*/%^@:"


class PromQLSyntaxError(ValueError):
    """The text is not something this tokenizer can read (it may still be PromQL)."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    start: int  # offsets into the expression: the query half is cut out of the original
    end: int


@dataclass(frozen=True)
class Threshold:
    """`value op threshold`, e.g. `> 0.05`: what the alert compares its query with."""

    op: str
    value: float

    def holds(self, value: float) -> bool:
        """Whether `value` satisfies the comparison: the alert's condition is met."""
        match self.op:
            case ">":
                return value > self.value
            case ">=":
                return value >= self.value
            case "<":
                return value < self.value
            case "<=":
                return value <= self.value
            case "==":
                return value == self.value
            case "!=":
                return value != self.value
        raise ValueError(f"not a comparison operator: {self.op!r}")

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def expression_from_generator_url(url: str) -> str | None:
    """The `g0.expr` query parameter of an alert's generatorURL, or None without one."""
    try:
        query = urlsplit(url).query
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    values = parse_qs(query).get("g0.expr")
    if not values:
        return None
    expr = values[0].strip()
    return expr or None


def split_comparison(expr: str) -> tuple[str, Threshold | None]:
    """The query to chart and the threshold, for `query OP number` or `number OP query`.

    Only a single comparison at the top level against a number literal counts (with or
    without `bool`); for anything else the expression comes back whole with no threshold.
    """
    try:
        tokens = tokenize(expr)
    except PromQLSyntaxError:
        return expr, None
    comparisons: list[int] = []
    depth = 0
    for index, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and token.kind == "op" and token.text in COMPARISON_OPERATORS:
            comparisons.append(index)
        elif depth == 0 and token.kind == "ident" and token.text.lower() in _SET_OPERATORS:
            return expr, None
    if len(comparisons) != 1:  # none, or a chain whose meaning is not a threshold
        return expr, None
    at = comparisons[0]
    op = tokens[at].text
    left = tokens[:at]
    right = tokens[at + 1 :]
    if right and right[0].kind == "ident" and right[0].text.lower() == "bool":
        right = right[1:]
    if not left or not right:
        return expr, None
    right_number = _number(right)
    left_number = _number(left)
    if right_number is not None and left_number is None:
        return _source(expr, left), Threshold(op, right_number)
    if left_number is not None and right_number is None:
        return _source(expr, right), Threshold(_FLIPPED[op], left_number)
    return expr, None


def metric_names(expr: str) -> set[str]:
    """The metric names the expression selects (`name{...}`, `{__name__="name"}`).

    Raises PromQLSyntaxError for text the tokenizer cannot read.
    """
    tokens = tokenize(expr)
    names: set[str] = set()
    stack: list[str] = []  # "(" "[" "{" or "labels" for `by (...)` and its kin
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index > 0 else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.kind == "open":
            label_list = (
                token.text == "("
                and previous is not None
                and previous.kind == "ident"
                and previous.text.lower() in _LABEL_LIST_KEYWORDS
            )
            stack.append("labels" if label_list else token.text)
        elif token.kind == "close":
            stack.pop()
        elif token.kind == "string" and stack and stack[-1] == "{":
            if _is_name_matcher(tokens, index):
                names.add(_unquote(token.text))
        elif (
            token.kind == "ident"
            and not (stack and stack[-1] in ("{", "labels"))
            and _is_metric(token, following)
        ):
            names.add(token.text)
    return names


def is_selector(expr: str) -> bool:
    """Whether the text is one instant-vector selector and nothing else: `name`,
    `name{matchers}` or `{matchers}` (what `increase(…[30d])` can take)."""
    try:
        tokens = tokenize(expr)
    except PromQLSyntaxError:
        return False
    rest = tokens
    if rest and rest[0].kind == "ident":
        if rest[0].text.lower() in _KEYWORDS or rest[0].text.lower() in ("inf", "nan"):
            return False
        rest = rest[1:]
    if not rest:
        return bool(tokens)
    if rest[0].text != "{" or rest[-1].text != "}":
        return False
    return all(token.kind != "open" and token.kind != "close" for token in rest[1:-1])


def tokenize(expr: str) -> list[Token]:
    """PromQL's tokens, without spaces and comments; brackets must balance."""
    tokens: list[Token] = []
    closers: list[str] = []
    i = 0
    while i < len(expr):
        char = expr[i]
        if match := _SPACE.match(expr, i):
            i = match.end()
            continue
        if char == "#":  # a comment runs to the end of the line
            newline = expr.find("\n", i)
            i = len(expr) if newline < 0 else newline + 1
            continue
        if char in "\"'`":
            end = _string_end(expr, i)
            tokens.append(Token("string", expr[i:end], i, end))
            i = end
            continue
        if char in _PAIRS:
            closers.append(_PAIRS[char])
            tokens.append(Token("open", char, i, i + 1))
            i += 1
            continue
        if char in ")]}":
            if not closers or closers.pop() != char:
                raise PromQLSyntaxError(f"unbalanced {char!r} at offset {i}")
            tokens.append(Token("close", char, i, i + 1))
            i += 1
            continue
        if char == ",":
            tokens.append(Token("comma", char, i, i + 1))
            i += 1
            continue
        if expr.startswith(_TWO_CHAR_OPS, i):
            tokens.append(Token("op", expr[i : i + 2], i, i + 2))
            i += 2
            continue
        if match := _NUMBER.match(expr, i):
            end = match.end()
            if tail := _DURATION_TAIL.match(expr, end):  # 5m, 1h30m: not a number
                tokens.append(Token("duration", expr[i : tail.end()], i, tail.end()))
                i = tail.end()
            else:
                tokens.append(Token("number", expr[i:end], i, end))
                i = end
            continue
        if match := _IDENT.match(expr, i):
            tokens.append(Token("ident", match.group(), i, match.end()))
            i = match.end()
            continue
        if char in _ONE_CHAR_OPS:
            tokens.append(Token("op", char, i, i + 1))
            i += 1
            continue
        raise PromQLSyntaxError(f"unexpected {char!r} at offset {i}")
    if closers:
        raise PromQLSyntaxError(f"missing {closers[-1]!r} at the end")
    return tokens


def _string_end(expr: str, start: int) -> int:
    """The offset just past the string literal that starts at `start`."""
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        char = expr[i]
        if char == "\\" and quote != "`":  # backquoted strings have no escapes
            i += 2
            continue
        if char == quote:
            return i + 1
        i += 1
    raise PromQLSyntaxError(f"unterminated string at offset {start}")


def _number(tokens: Sequence[Token]) -> float | None:
    """The finite value of `[+|-] literal`, or None if the tokens are anything else."""
    sign = 1.0
    if len(tokens) == 2 and tokens[0].kind == "op" and tokens[0].text in ("+", "-"):
        sign = -1.0 if tokens[0].text == "-" else 1.0
        tokens = tokens[1:]
    if len(tokens) != 1:
        return None
    token = tokens[0]
    if token.kind != "number":  # Inf and NaN are literals too, but not thresholds
        return None
    text = token.text.replace("_", "")
    value = float(int(text, 16)) if text[:2].lower() == "0x" else float(text)
    value *= sign
    return value if math.isfinite(value) else None


def _source(expr: str, tokens: Sequence[Token]) -> str:
    return expr[tokens[0].start : tokens[-1].end]


def _is_metric(token: Token, following: Token | None) -> bool:
    if following is not None and following.kind == "open" and following.text in ("{", "["):
        return True  # `name{...}`, `name[5m]`: a selector whatever the name
    name = token.text.lower()
    if name in _KEYWORDS or name in ("inf", "nan"):
        return False
    if following is not None and following.kind == "open" and following.text == "(":
        return False  # a function or an aggregation
    if name in _AGGREGATORS and following is not None and following.kind == "ident":
        return following.text.lower() not in ("by", "without")
    return True


def _is_name_matcher(tokens: Sequence[Token], index: int) -> bool:
    """Whether tokens[index] is the string of `__name__="..."` inside braces."""
    return (
        index >= 2
        and tokens[index - 1].kind == "op"
        and tokens[index - 1].text == "="
        and tokens[index - 2].kind == "ident"
        and tokens[index - 2].text == "__name__"
    )


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    if literal[0] == "`":
        return body
    # metric names have no characters that need escapes; keep escapes as written
    return body.replace('\\"', '"').replace("\\'", "'")
