"""Fuzzing the API from its own OpenAPI document with schemathesis (issue 8).

A real receiver process, on SQLite and on PostgreSQL, is seeded with the 'group3' captures
(so incident 1 exists and is drafted); schemathesis loads GET /api/v1/openapi.json from it
and sends every operation requests made from the document: its coverage phase (boundary
values, each kind of invalid value, other Content-Types, undeclared methods) and its
fuzzing phase (valid and invalid data). Checked on every answer:

- no status of 500 or more (the failure quotes what the receiver logged for that request,
  its traceback included, found by the X-Request-Id it answers with);
- every status of 400 or more is `application/json` with string `error` and `message`;
- a documented status has the documented body and Content-Type (schemathesis's
  response_schema_conformance and content_type_conformance).

Without credentials every /api/ operation but the document itself answers a JSON 401
(or 429, once made-up credentials from this address failed a few times).

Bounded and reproducible for CI: a fixed seed, a fixed number of examples per operation,
no example database, no shrinking (a failure shows the request as it was sent, with a curl
command that repeats it).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, HookContext, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.conftest import BACKENDS, capture_text, fresh_postgres_database
from tests.inbox import applied_sync
from tests.processes import AUTH, Service, log_events, start_receiver

SEED = 20260801
# generated requests per operation in the fuzzing phase; the coverage phase adds its own
# fixed set, a few dozen to a few hundred per operation
MAX_EXAMPLES = 40
ANONYMOUS_EXAMPLES = 5
REQUEST_TIMEOUT = 10  # seconds; the receiver answers on loopback in milliseconds

# Excluded: nothing. /metrics (text/plain) and postmortem.md (text/markdown) are fuzzed
# too: only errors must be JSON. Without credentials all of /api/ is fuzzed (the
# document included): /healthz, /readyz and /metrics are public probes outside /api/.
API_PATHS = r"^/api/"
# the incidents that exist when the operations on one incident are fuzzed: the seeded
# one (1) and those the fuzzed webhooks and events (fuzzed first) opened
EXISTING_INCIDENTS = st.integers(min_value=1, max_value=5)

CaseTest = Callable[[Case[Any]], None]

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def schema_config(*, max_examples: int, coverage: bool) -> schemathesis.Config:
    """The same bounds for schemathesis as FUZZ_SETTINGS gives Hypothesis, and its seed."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "request-timeout": REQUEST_TIMEOUT,
            # the reproducers as sent: groupKey and idempotency_key would read "[Filtered]",
            # and the token is the tests' own
            "output": {"sanitization": {"enabled": False}},
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,
            },
            "phases": {
                "examples": {"enabled": True},  # the document has none today
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                # linked sequences of calls, unbounded in time; the operations already
                # run in the document's order on one database, each meeting what the
                # earlier ones stored
                "stateful": {"enabled": False},
            },
        }
    )


# -- the receiver ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'r.db'}"
    else:
        yield from fresh_postgres_database()


def post_capture(base_url: str, name: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/alerts",
        data=capture_text(name).encode(),
        headers={**AUTH, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202, f"{name}: HTTP {response.status}"
        body: dict[str, Any] = json.load(response)
    return applied_sync(base_url, body, AUTH)


@pytest.fixture(scope="module")
def receiver(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fuzz_database: str
) -> Service:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    service, _ = start_receiver(
        request,
        workdir,
        database_url=fuzz_database,
        name="fuzzed",
        extra_env={
            # hundreds of events a minute come from this one client: past the default
            # limit (tests/http/test_limits.py tests it) each would be a 429, the handler unfuzzed
            "RECEIVER_EVENT_RATE": "1000000",
            # no reconciler: it would ask the fuzzed webhooks' externalURL, any address
            "RECEIVER_RECONCILE_INTERVAL": "0",
        },
    )
    post_capture(service.base_url, "firing_group_3")
    resolved = post_capture(service.base_url, "resolved_group_3")
    assert (resolved["incident_id"], resolved["incident_status"]) == (1, "drafted")
    return service


def load_schema(receiver: Service, config: schemathesis.Config) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(
        f"{receiver.base_url}/api/v1/openapi.json",
        config=config,
        timeout=REQUEST_TIMEOUT,
        headers=AUTH,
    )


def before_generate_path_parameters(
    context: HookContext, strategy: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Half the time an incident that exists: a random id hardly ever is one, and then
    only the 404 branch of an operation would be fuzzed."""
    operation = context.operation
    if operation is None or "{incident_id}" not in operation.path:
        return strategy
    return st.one_of(strategy, st.fixed_dictionaries({"incident_id": EXISTING_INCIDENTS}))


# -- checks ------------------------------------------------------------------------------


def receiver_log_of(service: Service, response: Response) -> str:
    """What the receiver logged while it answered this request, tracebacks included."""
    request_id = (response.headers.get("x-request-id") or [""])[0]
    if not request_id:
        return "(the answer has no X-Request-Id)"
    lines = []
    for event in log_events(service):
        if event.get("request_id") != request_id or event.get("event") == "request":
            continue
        detail = event.get("exception") or event.get("error") or ""
        lines.append(f"{event.get('level')} {event.get('event')}: {detail}")
    return "\n".join(lines) or f"(nothing logged for request {request_id})"


def media_type(response: Response) -> str:
    return (response.headers.get("content-type") or [""])[0].split(";")[0].strip().lower()


def body_text(response: Response) -> str:
    return response.content[:500].decode("utf-8", errors="replace")


def server_error_check(receiver: Service) -> Callable[[CheckContext, Response, Case[Any]], None]:
    def no_server_error(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        assert response.status_code < 500, (
            f"HTTP {response.status_code}: {body_text(response)!r}\n"
            f"receiver log:\n{receiver_log_of(receiver, response)}"
        )

    return no_server_error


def json_error_body(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
    """Every answer of 400 or more is JSON {"error": str, "message": str, ...}."""
    if response.status_code < 400:
        return
    assert media_type(response) == "application/json", (
        f"HTTP {response.status_code} with Content-Type {media_type(response) or 'none'}: "
        f"{body_text(response)!r}"
    )
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"HTTP {response.status_code}: the body is not JSON: {exc}") from exc
    assert isinstance(body, dict), f"HTTP {response.status_code}: not an object: {body!r}"
    for key in ("error", "message"):
        assert isinstance(body.get(key), str), f"HTTP {response.status_code}: no {key}: {body}"


# -- running schemathesis ----------------------------------------------------------------


def fuzz(schema: schemathesis.BaseSchema, test: CaseTest, hypothesis_settings: settings) -> None:
    """Run `test` on every operation of `schema` with the cases schemathesis makes for it in
    each enabled phase; then fail once, with every operation that failed and why.

    schemathesis's pytest integration (`schemathesis.pytest.from_fixture(...).parametrize`)
    breaks on pytest 9.2 (it sets `Function._nodeid`, which pytest no longer has), so this
    calls the builder it uses, operation by operation.
    """
    failures: list[str] = []
    tested: list[str] = []
    for built in get_all_tests(
        schema=schema, test_func=test, settings=hypothesis_settings, given_kwargs=None
    ):
        if isinstance(built, Err):
            failures.append(f"the document: {built.err()}")
            continue
        operation, hypothesis_test = built.ok()
        tested.append(operation.label)
        try:
            hypothesis_test()
        # schemathesis's FailureGroup is a BaseExceptionGroup; each failing operation is
        # reported (its first failure: Hypothesis stops an operation there)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}:\n{describe(exc)}")
    assert tested, "no operation was fuzzed"
    if failures:
        pytest.fail(
            f"{len(failures)} of {len(tested)} operations failed:\n\n" + "\n\n".join(failures),
            pytrace=False,
        )


def describe(exc: BaseException) -> str:
    """schemathesis's failures say it all (a curl command too); others add their notes."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, FailureGroup):
        return text
    text += "".join(f"\n{note}" for note in getattr(exc, "__notes__", []))
    if isinstance(exc, BaseExceptionGroup):
        text += "".join(f"\n- {describe(inner)}" for inner in exc.exceptions)
    return text


# -- the tests ---------------------------------------------------------------------------


def test_api_answers_no_5xx_and_json_errors(receiver: Service) -> None:
    schema = load_schema(receiver, schema_config(max_examples=MAX_EXAMPLES, coverage=True))
    schema.hook(before_generate_path_parameters)
    checks = [
        server_error_check(receiver),
        json_error_body,
        response_schema_conformance,
        content_type_conformance,
    ]

    def call(case: Case[Any]) -> None:
        if str((case.path_parameters or {}).get("incident_id")) == "0":
            # the document's minimum, which no incident has: the coverage phase sends all
            # of its bodies there, and they would only ever meet the 404
            case.path_parameters = {**(case.path_parameters or {}), "incident_id": 1}
        response = case.call(headers=AUTH, timeout=REQUEST_TIMEOUT)
        case.validate_response(response, checks=checks, headers=AUTH)

    fuzz(schema, call, FUZZ_SETTINGS)


def test_api_needs_credentials(receiver: Service) -> None:
    config = schema_config(max_examples=ANONYMOUS_EXAMPLES, coverage=False)
    schema = load_schema(receiver, config).include(path_regex=API_PATHS)

    def unauthenticated(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        # made-up credentials count as failures: after a few the address gets 429s
        assert response.status_code in (401, 429), (
            f"HTTP {response.status_code} without valid credentials: {body_text(response)!r}\n"
            f"receiver log:\n{receiver_log_of(receiver, response)}"
        )

    checks = [unauthenticated, json_error_body, response_schema_conformance]

    def call(case: Case[Any]) -> None:
        # no Authorization header, or one the generator made up
        response = case.call(timeout=REQUEST_TIMEOUT)
        case.validate_response(response, checks=checks)

    fuzz(schema, call, settings(FUZZ_SETTINGS, max_examples=ANONYMOUS_EXAMPLES))
