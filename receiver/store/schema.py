"""Tables. Every change here needs an Alembic migration in receiver/migrations/versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite keeps no zone, so store naive UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # SQLite keeps SQLAlchemy's text ("2026-12-07 05:01:02.000003"): the same text, written
    # and read by datetime's own C code instead of SQLAlchemy's string formatting and
    # regular expression (a tenth of the applier's time went there)
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _utc_to_sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _utc_from_sqlite_text
        return super().result_processor(dialect, coltype)


def _utc_to_sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is UTC:  # nearly always: the text less its "+00:00"
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass UTC")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_from_sqlite_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, index=True),
    # equals `key` while the incident is firing, NULL otherwise: the unique constraint
    # is what keeps one open incident per key, even across replicas
    sa.Column("open_key", sa.String(64), nullable=True, unique=True),
    sa.Column("receiver", sa.Text, nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("group_labels", sa.JSON, nullable=False),
    sa.Column("common_labels", sa.JSON, nullable=False),
    sa.Column("common_annotations", sa.JSON, nullable=False),
    sa.Column("external_url", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("priority", sa.String(2), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("service", sa.Text, nullable=False, index=True),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # the last webhook for this incident, duplicates included: silence for too long,
    # with Alertmanager unreachable, marks an incident stale
    sa.Column("last_delivery_at", UTCDateTime, nullable=True),
    sa.Column("approved_by", sa.Text, nullable=True),
    sa.Column("approved_at", UTCDateTime, nullable=True),
    sa.Column("approval_override", sa.Text, nullable=True),
)

episodes = sa.Table(
    "episodes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=True),
    sa.Column("resolved", sa.Boolean, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
    sa.Column("generator_url", sa.Text, nullable=False),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("fingerprint", "starts_at", name="uq_episodes_fingerprint_starts_at"),
)

timeline = sa.Table(
    "timeline",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("phase", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text, nullable=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("incident_id", "dedup_key", name="uq_timeline_incident_dedup"),
)

drafts = sa.Table(
    "drafts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("markdown", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # who caused this revision: NULL for the system (recovery), else the person who saved
    sa.Column("created_by", sa.Text, nullable=True),
    # not yet written to RECEIVER_DRAFTS_DIR (or the write failed): retried by the pass
    sa.Column("export_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("incident_id", "revision", name="uq_drafts_incident_revision"),
)

# What people wrote into the draft, as data (receiver.domain.review.HumanFields).
human_fields = sa.Table(
    "human_fields",
    metadata,
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
)

# Every edit and status change, with its actor.
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

# The raw body of every accepted webhook and event (issue 18): appended before the answer,
# applied behind it in id order; kept afterwards for replay and audit.
inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", UTCDateTime, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("incident_id", sa.Integer, nullable=True, index=True),
    sa.Column("body", sa.Text, nullable=False),
    # tells which deliveries carried the same bytes (retries), for audit; not indexed:
    # nothing looks entries up by it, and every append would pay for the index
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("body_bytes", sa.Integer, nullable=False, server_default="0"),
    # which credential posted it (receiver.web.identity), for audit
    sa.Column("credential", sa.String(64), nullable=True),
    # TRUE until applied or quarantined, then NULL: the applier's scan reads only what is
    # still to do. Cleared in the transaction that stores the entry's effects, so this is
    # the applier's watermark and a crash replays exactly the unapplied tail.
    sa.Column("pending", sa.Boolean, nullable=True, index=True),
    sa.Column("applied_at", UTCDateTime, nullable=True),
    # created, changed, unchanged; or why it was refused (no_open_incident, not_found)
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("draft_revision", sa.Integer, nullable=True),
    # failed applications so far, the last error, and when it may be tried again
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("quarantined_at", UTCDateTime, nullable=True, index=True),
)

# SQLite: the accept path's own file (spool.py), the inbox's columns an append writes, in
# a metadata of its own (no migration: the file holds nothing for long). Its ids are the
# entries' ids: AUTOINCREMENT never reuses one.
SPOOLED_COLUMNS = ("received_at", "kind", "body", "body_sha256", "body_bytes", "credential")
spool_metadata = sa.MetaData()
inbox_spool = sa.Table(
    "inbox_spool",
    spool_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *(
        sa.Column(column.name, column.type, nullable=column.nullable)
        for column in inbox.c
        if column.name in SPOOLED_COLUMNS
    ),
    sqlite_autoincrement=True,
)

# Chat messages to send (issue 9): written in the transaction of the change that causes
# them, sent after commit by whichever replica claims them first.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.Integer, nullable=True, index=True),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("message", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # a replica's lease on the row while it sends; an expired lease may be taken over
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("failed_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # NULL once sent or given up: the sender's scan reads only what is still to do
    sa.Column("pending", sa.Boolean, nullable=True, index=True),
)

# What Prometheus showed during an incident (issue 10), frozen when first fetched: the
# record is JSON (charts as SVG text, figures, and what was missing and why).
evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("incident_id", sa.Integer, primary_key=True, autoincrement=False),
    # pending: not fetched yet; partial: something was missing, retried; complete
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("record", sa.JSON, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Page sessions (issue 15): the cookie carries a signed random id, the row says whose it
# is. Logout deletes the row, so a saved cookie opens nothing on any replica.
sessions = sa.Table(
    "sessions",
    metadata,
    # SHA-256 of the cookie's id: a copy of the table logs nobody in
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    # what the login proved (receiver.web.session.Proof), keyed: a session whose token,
    # user or password is no longer configured opens nothing
    sa.Column("credential", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False, index=True),
)

# Failed logins and wrong API credentials per client address and per login name
# (receiver.throttle), shared by the replicas.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", UTCDateTime, nullable=False),
    sa.Column("blocked_until", UTCDateTime, nullable=True, index=True),
)

# Which replica applies the inbox (issue 18, PostgreSQL): one row, leased for a few
# seconds and renewed by every batch of its holder; once it lapses (the holder died)
# another replica takes it. SQLite has one writer and no lease.
inbox_applier = sa.Table(
    "inbox_applier",
    metadata,
    sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
)

# Changes to services (issue 20): deploys, config changes, rollbacks and scaling, as Flux,
# Argo CD, GitHub, GitLab, Kubernetes events or a person told us; once per source's own id.
changes = sa.Table(
    "changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(16), nullable=False),
    # the source's own id of the change: a replayed delivery finds its row by it
    sa.Column("source_id", sa.String(200), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("service", sa.Text, nullable=False, index=True),
    sa.Column("namespace", sa.Text, nullable=True),
    sa.Column("cluster", sa.Text, nullable=True),
    sa.Column("object_kind", sa.Text, nullable=True),
    sa.Column("object_name", sa.Text, nullable=True),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("from_version", sa.Text, nullable=True),
    sa.Column("to_version", sa.Text, nullable=True),
    sa.Column("actor", sa.Text, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("link", sa.Text, nullable=True),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    # the inbox entry it was applied from, when it came through the inbox
    sa.Column("inbox_id", sa.Integer, nullable=True),
    sa.UniqueConstraint("source", "source_id", name="uq_changes_source_source_id"),
)

# What a person said of a change for one incident (issue 20): "cause" or "unrelated";
# one verdict per (incident, change), the latest standing.
change_verdicts = sa.Table(
    "change_verdicts",
    metadata,
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("change_id", sa.ForeignKey("changes.id"), primary_key=True),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

# Action items (issue 21): the 行动计划 / 改进措施 entries with an owner, as rows to list,
# filter and remind about. The human fields stay the source; every save of them (and a
# status change from the actions page, which is one) rewrites these rows in its
# transaction. The id is the item's stable id in the human fields.
action_items = sa.Table(
    "action_items",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("incident_id", sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("list_name", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False, index=True),
    sa.Column("due", sa.Date, nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ticket", sa.Text, nullable=False),
    sa.Column("priority", sa.String(8), nullable=True),  # high, medium, low; NULL unset
    # the draft revision the edit that created it drew (NULL: saved while still firing)
    sa.Column("created_revision", sa.Integer, nullable=True),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=True),
)

# Reminders and digests already queued (issue 21): one row per (item, day) or (channel,
# week); the primary key is what makes two replicas queue each once.
action_reminders = sa.Table(
    "action_reminders",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("queued_at", UTCDateTime, nullable=False),
)

# The postmortem policy's verdict per incident (issue 22), for services with SLOs:
# evaluated with every draft written (at recovery, again when the SLI figures arrive).
# A person's promotion sticks: it is the verdict from then on.
postmortem_policy = sa.Table(
    "postmortem_policy",
    metadata,
    sa.Column("incident_id", sa.Integer, primary_key=True, autoincrement=False),
    # required | not_needed | pending (no trigger met yet, SLI figures still missing)
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("trigger", sa.String(16), nullable=False),  # budget | impact | … | none
    sa.Column("detail", sa.Text, nullable=False),  # the figure that met it
    sa.Column("slo", sa.Text, nullable=False),  # the SLO whose figure it was
    sa.Column("promoted_by", sa.Text, nullable=True),
    sa.Column("promoted_at", UTCDateTime, nullable=True),
    sa.Column("evaluated_at", UTCDateTime, nullable=False),
)
