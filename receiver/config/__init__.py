"""Settings: RECEIVER_* environment variables over an optional TOML file, validated at start."""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from receiver.config.links import LinksSettings
from receiver.config.notify import NotifySettings
from receiver.config.slo import PolicySettings, SloMap, check_slo_names
from receiver.domain.completeness import CHECKS, DEFAULT_REQUIRED
from receiver.domain.suspects import DEFAULT_LABEL_MAP, DEFAULT_WINDOW, RankingRules
from receiver.units import parse_duration, parse_size

PRIORITIES = ("P0", "P1", "P2", "P3")
BusinessFigureName = Literal["availability", "latency_p95", "error_rate"]
DEFAULT_SEVERITY_MAP = {"critical": "P1", "warning": "P2", "info": "P3"}
# a page session ends this long after its login, however busy
SESSION_MAX_AGE = timedelta(hours=12)
MIN_SESSION_IDLE = timedelta(minutes=1)
# Alertmanager gives a webhook 10 s: a slow database answers 503 (it retries) well before
DATABASE_STATEMENT_TIMEOUT = timedelta(seconds=5)
DATABASE_POOL_TIMEOUT = timedelta(seconds=3)
# the longest any of the three may be set to (PostgreSQL's own limit is about 24 days)
_LONGEST_TIMEOUT = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the settings, named as the person wrote it: the key in the
    config file (`notify.channels[0].url`) or the RECEIVER_* variable."""

    name: str
    # "file" (the TOML file), "environment" (RECEIVER_* or a keyword override), "" (the
    # settings as a whole, e.g. two that exclude each other)
    source: str
    # pydantic's error type, or "unknown_key", "unreadable_file", "invalid_toml",
    # "unparsable_variable"
    kind: str
    detail: str  # what is wrong, in English (pydantic's or a validator's words)
    context: dict[str, Any] = field(default_factory=dict)  # e.g. "expected", "suggestions"
    file: str = ""  # the config file, for a problem found there

    def line(self) -> str:
        hint = self.context.get("suggestions")
        tail = f" (did you mean {' or '.join(hint)}?)" if hint else ""
        return f"{self.name}: {self.detail}{tail}" if self.name else self.detail + tail


class ConfigError(Exception):
    """The settings are invalid; `problems` lists every one, and so does the message."""

    def __init__(self, problems: list[ConfigProblem], config_file: Path | None = None) -> None:
        self.problems = problems
        self.config_file = config_file
        lines = [
            f"config file {config_file}: {p.line()}" if p.source == "file" else p.line()
            for p in problems
        ]
        super().__init__("invalid settings:\n  " + "\n  ".join(lines))


def _parse_mapping(value: Any) -> Any:
    """Accept JSON (``{"critical": "P1"}``) or ``critical=P1,warning=P2``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("{"):
        return json.loads(text)
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError("use name=value pairs separated by commas, or a JSON object")
    return {name.strip(): level.strip() for name, level in pairs}


def _parse_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the receiver; see the README for each one."""

    model_config = SettingsConfigDict(env_prefix="RECEIVER_", frozen=True, extra="forbid")

    listen: str = "127.0.0.1:8080"
    database_url: str = "sqlite:///./data/receiver.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_statement_timeout: timedelta = DATABASE_STATEMENT_TIMEOUT
    database_pool_timeout: timedelta = DATABASE_POOL_TIMEOUT
    database_password: SecretStr | None = None
    database_password_file: Path | None = None
    auto_migrate: bool = True
    drafts_dir: Path | None = Path("./drafts")
    auth_token: SecretStr | None = None
    basic_auth_user: str | None = None
    basic_auth_password: SecretStr | None = None
    metrics_public: bool = True  # scrapers rarely carry the webhook token
    session_secret: SecretStr | None = None
    # a page session unused this long is over (besides SESSION_MAX_AGE since the login)
    session_idle_timeout: timedelta = timedelta(hours=2)
    trusted_proxy_header: str | None = None
    template_dir: Path | None = None
    language: Literal["zh", "en"] = "zh"
    timezone: str = "UTC"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    reopen_window: timedelta = timedelta(minutes=30)
    max_body: int = 8 * 1024 * 1024
    body_read_timeout: timedelta = timedelta(seconds=10)
    max_alerts: int = Field(default=10_000, ge=1)
    max_labels: int = Field(default=200, ge=1)
    max_value_length: int = Field(default=16_384, ge=16)
    event_rate: int = Field(default=60, ge=1)  # manual events per client per minute
    shutdown_grace: timedelta = timedelta(seconds=25)
    alertmanager_url: str | None = None
    alertmanager_token: SecretStr | None = None
    # Grafana-managed alerts: the contact point's HMAC signature, and a service-account
    # token for Grafana's built-in Alertmanager API (silences, alerts)
    grafana_signature_secret: SecretStr | None = None
    grafana_signature_header: str = Field(default="X-Grafana-Alerting-Signature", min_length=1)
    grafana_timestamp_header: str | None = None
    grafana_token: SecretStr | None = None
    # changes to services (issue 20): each feed's own secret; a feed without one is refused
    changes_flux_secret: SecretStr | None = None  # the Flux Provider's generic-hmac token
    changes_argocd_token: SecretStr | None = None  # bearer token of Argo CD's webhook
    changes_github_secret: SecretStr | None = None  # the GitHub webhook's secret
    changes_gitlab_token: SecretStr | None = None  # the GitLab webhook's secret token
    changes_kubernetes_token: SecretStr | None = None  # kubernetes-event-exporter's bearer
    reconcile_interval: timedelta = timedelta(minutes=1)
    # Alertmanager keeps alerts in memory only; after its restart Prometheus re-sends the
    # firing ones within its resend delay (1m by default): until then absence means nothing
    alertmanager_restart_grace: timedelta = timedelta(minutes=5)
    stale_after: timedelta = timedelta(hours=4)
    event_window: timedelta = timedelta(hours=24)
    inbox_retention: timedelta = timedelta(days=30)  # 0 keeps every stored body
    # failed applications of one inbox entry before it is quarantined
    inbox_max_attempts: int = Field(default=4, ge=1, le=100)
    # past either bound of accepted, not yet applied input, webhooks get 503 + Retry-After
    inbox_max_backlog: int = Field(default=100_000, ge=1)
    inbox_max_backlog_bytes: int = 1024 * 1024 * 1024
    # how long POST /api/v1/events waits for its own entry to be applied before a 202
    event_apply_wait: timedelta = timedelta(seconds=5)
    public_url: str | None = None
    severity_map: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_MAP)
    )
    default_priority: str = "P3"
    incident_key_labels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    large_incident_rows: int = Field(default=50, ge=5)
    # what must be filled before approval (an override with a reason approves anyway)
    approval_required: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REQUIRED)
    )
    # evidence from Prometheus in drafts
    prometheus_url: str | None = None
    prometheus_token: SecretStr | None = None
    # with no prometheus_url: ask the Prometheus each alert's generatorURL names (off by
    # default: those hosts are often only reachable inside the cluster)
    evidence_from_generator_url: bool = False
    evidence_before: timedelta = timedelta(minutes=30)
    evidence_after: timedelta = timedelta(minutes=15)
    evidence_timeout: timedelta = timedelta(seconds=10)
    evidence_max_series: int = Field(default=10, ge=1, le=50)
    evidence_max_expressions: int = Field(default=5, ge=1, le=20)
    # service → {"availability" | "latency_p95" | "error_rate": PromQL}; a TOML table
    business_queries: dict[str, dict[BusinessFigureName, str]] = Field(default_factory=dict)
    # service → its SLOs, `[[slos.checkout]]` tables in the file: the impact, the
    # budget burned and the postmortem policy's figures come from them
    slos: SloMap = Field(default_factory=dict)
    postmortem_policy: PolicySettings = Field(default_factory=PolicySettings)
    # chat channels and routes; a [notify] table in the config file (or JSON here)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    # the appendix's documents, scripts, tools and contacts; a [links] table in the file
    links: LinksSettings = Field(default_factory=LinksSettings)
    # the KPI section's targets (the template's, unless the team sets its own)
    target_mttr: timedelta = timedelta(hours=1)
    target_mtbf: timedelta = timedelta(hours=720)
    target_incidents_per_month: int = Field(default=1, ge=1, le=1000)  # fewer than this
    target_severe_per_quarter: int = Field(default=1, ge=1, le=1000)  # P0/P1, fewer than this
    # changes in the draft: how long before the first alert a change counts, which alert
    # label matches which change field (service, namespace, cluster) or change label, and
    # which alert labels name other services whose changes count as related
    change_window: timedelta = DEFAULT_WINDOW
    change_label_map: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_LABEL_MAP)
    )
    change_related_labels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # action item reminders (issue 21): remind of items due within this many days (and
    # of overdue ones) once a day; look every interval (0 turns reminders and digests off)
    action_reminder_days: int = Field(default=2, ge=0, le=90)
    action_reminder_interval: timedelta = timedelta(minutes=15)
    # the weekly digest's day, 1 = Monday … 7 = Sunday; 0: no digest
    action_digest_weekday: int = Field(default=1, ge=0, le=7)

    @field_validator("slos")
    @classmethod
    def _check_slos(cls, value: SloMap) -> SloMap:
        return check_slo_names(value)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("use HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("use sqlite:///path/to/file.db or postgresql://user@host:5432/db")
        return value

    @field_validator("drafts_dir", "template_dir", "database_password_file", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator(
        "auth_token",
        "basic_auth_password",
        "alertmanager_url",
        "public_url",
        "prometheus_url",
        "prometheus_token",
        "basic_auth_user",
        "grafana_signature_secret",
        "grafana_timestamp_header",
        "grafana_token",
        "changes_flux_secret",
        "changes_argocd_token",
        "changes_github_secret",
        "changes_gitlab_token",
        "changes_kubernetes_token",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC"
            ) from exc
        return value

    @field_validator(
        "reopen_window",
        "reconcile_interval",
        "alertmanager_restart_grace",
        "stale_after",
        "event_window",
        "inbox_retention",
        "event_apply_wait",
        "shutdown_grace",
        "evidence_before",
        "evidence_after",
        "evidence_timeout",
        "database_statement_timeout",
        "database_pool_timeout",
        "body_read_timeout",
        "session_idle_timeout",
        "target_mttr",
        "target_mtbf",
        "change_window",
        "action_reminder_interval",
        mode="before",
    )
    @classmethod
    def _parse_window(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("session_idle_timeout")
    @classmethod
    def _check_session_idle_timeout(cls, value: timedelta) -> timedelta:
        if not MIN_SESSION_IDLE <= value <= SESSION_MAX_AGE:
            raise ValueError("use a duration from 1m to 12h, e.g. 30m or 2h")
        return value

    @field_validator("event_apply_wait")
    @classmethod
    def _check_event_apply_wait(cls, value: timedelta) -> timedelta:
        if not timedelta(0) <= value <= timedelta(minutes=1):
            raise ValueError("must be between 0s and 1m, e.g. 5s")
        return value

    @field_validator("database_statement_timeout", "database_pool_timeout", "body_read_timeout")
    @classmethod
    def _check_timeout(cls, value: timedelta) -> timedelta:
        # zero would mean "wait for ever" to PostgreSQL and "never wait" to SQLite
        if not timedelta(milliseconds=1) <= value <= _LONGEST_TIMEOUT:
            raise ValueError("must be between 1ms and 1h, e.g. 5s")
        return value

    @field_validator("max_body", "inbox_max_backlog_bytes", mode="before")
    @classmethod
    def _parse_max_body(cls, value: Any) -> int:
        return parse_size(value)

    @field_validator("severity_map", mode="before")
    @classmethod
    def _parse_severity_map(cls, value: Any) -> Any:
        return _parse_mapping(value)

    @field_validator("severity_map")
    @classmethod
    def _check_severity_map(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {name: level for name, level in value.items() if level.upper() not in PRIORITIES}
        if bad:
            raise ValueError(f"priorities must be one of {', '.join(PRIORITIES)}, got {bad}")
        return {name.lower(): level.upper() for name, level in value.items()}

    @field_validator("default_priority")
    @classmethod
    def _check_default_priority(cls, value: str) -> str:
        if value.upper() not in PRIORITIES:
            raise ValueError(f"must be one of {', '.join(PRIORITIES)}")
        return value.upper()

    @field_validator("approval_required", mode="before")
    @classmethod
    def _parse_approval_required(cls, value: Any) -> Any:
        return _parse_list(value)

    @field_validator("approval_required")
    @classmethod
    def _check_approval_required(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in CHECKS]
        if unknown:
            raise ValueError(f"unknown parts {unknown}; choose from {', '.join(CHECKS)}")
        return value

    @field_validator("change_window")
    @classmethod
    def _check_change_window(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value <= timedelta(days=7):
            raise ValueError("use a duration from 1s to 7d, e.g. 2h")
        return value

    @field_validator("change_label_map", mode="before")
    @classmethod
    def _parse_change_label_map(cls, value: Any) -> Any:
        return _parse_mapping(value)

    @field_validator("change_label_map")
    @classmethod
    def _check_change_label_map(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("map at least one alert label, e.g. service=service")
        if any(not name or not target for name, target in value.items()):
            raise ValueError("neither an alert label nor a change field may be empty")
        return value

    @field_validator("change_related_labels", mode="before")
    @classmethod
    def _parse_change_related_labels(cls, value: Any) -> Any:
        return _parse_list(value)

    @field_validator("incident_key_labels", mode="before")
    @classmethod
    def _parse_key_labels(cls, value: Any) -> Any:
        return _parse_list(value)

    @model_validator(mode="after")
    def _check_slos_have_prometheus(self) -> Settings:
        # an SLO is measured from its queries: the alerts' own Prometheus is not enough
        if self.slos and self.prometheus_url is None:
            raise ValueError("SLOs ([slos.<service>]) need RECEIVER_PROMETHEUS_URL to ask")
        return self

    @model_validator(mode="after")
    def _check_basic_auth_pair(self) -> Settings:
        if (self.basic_auth_user is None) != (self.basic_auth_password is None):
            raise ValueError("set both RECEIVER_BASIC_AUTH_USER and RECEIVER_BASIC_AUTH_PASSWORD")
        return self

    @model_validator(mode="after")
    def _check_password_source(self) -> Settings:
        if self.database_password is not None and self.database_password_file is not None:
            raise ValueError(
                "set RECEIVER_DATABASE_PASSWORD or RECEIVER_DATABASE_PASSWORD_FILE, not both"
            )
        if self.database_password_file is not None and not self.database_password_file.is_file():
            raise ValueError(
                f"RECEIVER_DATABASE_PASSWORD_FILE {self.database_password_file} "
                "is not a readable file"
            )
        return self

    def database_secret(self) -> str | None:
        """The database password from the setting or its file (a mounted secret)."""
        if self.database_password is not None:
            return self.database_password.get_secret_value()
        if self.database_password_file is not None:
            return self.database_password_file.read_text(encoding="utf-8").strip()
        return None

    def api_tokens(self) -> list[bytes]:
        """Every accepted bearer token: RECEIVER_AUTH_TOKEN may list several, separated by
        commas, so a new token can be rolled out before the old one is removed."""
        if self.auth_token is None:
            return []
        return [
            t.strip().encode() for t in self.auth_token.get_secret_value().split(",") if t.strip()
        ]

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def ranking_rules(self) -> RankingRules:
        """How changes are matched to an incident's alerts and ranked as suspects."""
        return RankingRules(
            self.change_window, dict(self.change_label_map), tuple(self.change_related_labels)
        )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: overrides, then RECEIVER_* variables, then the TOML file.

    Raises ConfigError naming every problem at once: unknown keys in the file (with the
    known names they are closest to) and every bad value, each by the name it was
    given under.
    """
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            file_values = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except OSError as exc:
            problem = ConfigProblem(
                str(config_file),
                "",
                "unreadable_file",
                exc.strerror or str(exc),
                {"errno": exc.errno},
            )
            raise ConfigError([problem]) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problem = ConfigProblem(str(config_file), "", "invalid_toml", str(exc))
            raise ConfigError([problem]) from exc
    problems = [
        ConfigProblem(
            name,
            "file",
            "unknown_key",
            "not a setting",
            {"suggestions": _closest(name, Settings.model_fields)},
        )
        for name in sorted(set(file_values) - set(Settings.model_fields))
    ]
    # Init values beat the environment in pydantic-settings, so pass on only the file's
    # keys that no RECEIVER_* variable sets.
    from_file = {
        name: value
        for name, value in file_values.items()
        if name in Settings.model_fields and f"RECEIVER_{name.upper()}" not in os.environ
    }
    try:
        settings = Settings(**{**from_file, **overrides})
    except ValidationError as exc:
        problems += [_problem(error, from_file.keys() - overrides.keys()) for error in exc.errors()]
    except SettingsError as exc:  # a RECEIVER_* variable that is not the JSON it must be
        problems.append(ConfigProblem("", "environment", "unparsable_variable", str(exc)))
    if problems:
        raise ConfigError(
            [replace(p, file=str(config_file)) if p.source == "file" else p for p in problems],
            config_file,
        )
    return settings


def unknown_variables(environ: Mapping[str, str]) -> list[ConfigProblem]:
    """RECEIVER_* variables that are no setting but look like a misspelt one: they would
    be ignored silently. (Others, such as a platform's own RECEIVER_SERVICE_HOST, are
    not the receiver's business.)"""
    known = [f"RECEIVER_{name.upper()}" for name in Settings.model_fields]
    problems = []
    for name in sorted(environ):
        if not name.startswith("RECEIVER_") or name in known:
            continue
        suggestions = _closest(name, known)
        if suggestions:
            problems.append(
                ConfigProblem(
                    name,
                    "environment",
                    "unknown_key",
                    "not a setting",
                    {"suggestions": suggestions},
                )
            )
    return problems


def _closest(name: str, known: Any) -> list[str]:
    return difflib.get_close_matches(name, list(known), n=2, cutoff=0.75)


def _problem(error: Any, file_keys: Any) -> ConfigProblem:
    loc = tuple(error["loc"])
    source = "" if not loc else "file" if loc[0] in file_keys else "environment"
    context: dict[str, Any] = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    detail = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        context["suggestions"] = _closest(str(loc[-1]), _fields_at(Settings, loc[:-1]))
    if source == "file":
        name = str(loc[0]) + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:]
        )
    elif loc:
        name = f"RECEIVER_{str(loc[0]).upper()}" + "".join(f".{part}" for part in loc[1:])
    else:
        name = ""
    return ConfigProblem(name, source, error["type"], detail, context)


def _fields_at(model: Any, path: tuple[Any, ...]) -> list[str]:
    """The field names of the model at `path` inside `model` (through lists and dicts),
    to suggest a known key for an unknown one; none when the path leads elsewhere."""
    annotation: Any = model
    for part in path:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return []
            annotation = info.annotation
        else:  # a list or dict: the item's type
            arguments = get_args(annotation)
            if not arguments:
                return []
            annotation = arguments[-1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []
