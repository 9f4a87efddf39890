"""The statements of the webhook and draft paths, built once with bound parameters."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from receiver.store.direct import direct
from receiver.store.schema import (
    UTCDateTime,
    drafts,
    episodes,
    human_fields,
    inbox,
    incidents,
    timeline,
)

# The statements of the webhook path, built once with bound parameters: SQLAlchemy then
# finds their compiled form by a cache key computed once, instead of building the
# statement and its key again on every call.
SERIES = (
    sa.select(
        episodes.c.incident_id,
        episodes.c.fingerprint,
        episodes.c.starts_at,
        episodes.c.resolved,
        incidents.c.open_key.is_not(None).label("incident_open"),
    )
    .join(incidents, incidents.c.id == episodes.c.incident_id)
    .where(episodes.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)))
)
LATEST_BY_KEY = (
    sa.select(incidents)
    .where(incidents.c.key == sa.bindparam("key"))
    .order_by(incidents.c.id.desc())
    .limit(1)
)
# a batch's keys at once: the latest incident of each
LATEST_BY_KEYS = sa.select(incidents).where(
    incidents.c.id.in_(
        sa.select(sa.func.max(incidents.c.id))
        .where(incidents.c.key.in_(sa.bindparam("keys", expanding=True)))
        .group_by(incidents.c.key)
    )
)
# and locked, in id order (PostgreSQL): a batch holds them until it commits, so what it
# read stays true without reading each again to change it
LATEST_BY_KEYS_LOCKED = LATEST_BY_KEYS.order_by(incidents.c.id).with_for_update()
INCIDENT = sa.select(incidents).where(incidents.c.id == sa.bindparam("incident_id"))
# PostgreSQL: writers of one incident queue here instead of racing
INCIDENT_LOCKED = INCIDENT.with_for_update()
EPISODES_OF = sa.select(episodes).where(episodes.c.incident_id == sa.bindparam("incident_id"))
ENTRY_KEYS = sa.select(timeline.c.dedup_key, timeline.c.kind).where(
    timeline.c.incident_id == sa.bindparam("incident_id")
)
# the same for many incidents at once (a batch's read-ahead)
EPISODES_OF_MANY = sa.select(episodes).where(
    episodes.c.incident_id.in_(sa.bindparam("incident_ids", expanding=True))
)
ENTRY_KEYS_OF_MANY = sa.select(timeline.c.incident_id, timeline.c.dedup_key, timeline.c.kind).where(
    timeline.c.incident_id.in_(sa.bindparam("incident_ids", expanding=True))
)
TIMELINE_OF = (
    sa.select(timeline)
    .where(timeline.c.incident_id == sa.bindparam("incident_id"))
    .order_by(timeline.c.at, timeline.c.id)
)
INSERT_INCIDENT = sa.insert(incidents).returning(incidents.c.id)
# with an id drawn ahead (RESERVE_INCIDENT_IDS): nothing to wait for, so it can be held
INSERT_INCIDENT_WITH_ID = sa.insert(incidents)
# PostgreSQL: ids for the incidents a batch may open, drawn in one round trip
RESERVE_INCIDENT_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, :count)"
)
UPDATE_INCIDENT = sa.update(incidents).where(incidents.c.id == sa.bindparam("b_id"))
INSERT_EPISODES = sa.insert(episodes)
UPDATE_EPISODES = (
    sa.update(episodes)
    .where(
        episodes.c.incident_id == sa.bindparam("b_incident_id"),
        episodes.c.fingerprint == sa.bindparam("b_fingerprint"),
        episodes.c.starts_at == sa.bindparam("b_starts_at", type_=UTCDateTime),
    )
    .values(
        resolved=sa.bindparam("b_resolved"),
        ends_at=sa.bindparam("b_ends_at", type_=UTCDateTime),
    )
)
INSERT_ENTRIES = sa.insert(timeline)
INSERT_INBOX = sa.insert(inbox)
_count = sa.func.count(incidents.c.id)
SEVERE = ("P0", "P1")
# the incident itself is counted from memory: its stored row may be older than the draft
_other_of_service = sa.and_(
    incidents.c.service == sa.bindparam("service"),
    incidents.c.id != sa.bindparam("incident_id"),
)
# counts run up to this incident ("本月第 N 次"), so a later re-render of its draft does
# not count the incidents that came after it; ties on the start go by id
_started = sa.bindparam("started_at", type_=UTCDateTime)
_before_this = sa.or_(
    incidents.c.started_at < _started,
    sa.and_(incidents.c.started_at == _started, incidents.c.id < sa.bindparam("incident_id")),
)
_latest_revision = (
    sa.select(sa.func.max(drafts.c.revision))
    .where(drafts.c.incident_id == sa.bindparam("incident_id"))
    .scalar_subquery()
)


def _of_latest_draft(column: sa.Column[Any]) -> sa.ScalarSelect[Any]:
    return (
        sa.select(column)
        .where(
            drafts.c.incident_id == sa.bindparam("incident_id"),
            drafts.c.revision == _latest_revision,
        )
        .scalar_subquery()
    )


# One round trip for all of it: on PostgreSQL each statement is one, and a resolve
# renders a draft before its answer.
DRAFT_CONTEXT = sa.select(
    sa.select(sa.func.max(incidents.c.ended_at))
    .where(
        incidents.c.key == sa.bindparam("key"),
        incidents.c.id < sa.bindparam("incident_id"),
        incidents.c.ended_at.is_not(None),
    )
    .scalar_subquery()
    .label("previous_end"),
    sa.select(_count)
    .where(
        _other_of_service,
        _before_this,
        incidents.c.started_at >= sa.bindparam("month_start", type_=UTCDateTime),
        incidents.c.started_at < sa.bindparam("month_end", type_=UTCDateTime),
    )
    .scalar_subquery()
    .label("in_month"),
    sa.select(_count)
    .where(
        _other_of_service,
        _before_this,
        # equalities, not IN: an IN list is expanded at execution (not on PostgreSQL's
        # direct path)
        sa.or_(*(incidents.c.priority == severity for severity in SEVERE)),
        incidents.c.started_at >= sa.bindparam("quarter_start", type_=UTCDateTime),
        incidents.c.started_at < sa.bindparam("quarter_end", type_=UTCDateTime),
    )
    .scalar_subquery()
    .label("severe_in_quarter"),
    _latest_revision.label("latest_revision"),
    _of_latest_draft(drafts.c.created_at).label("latest_created_at"),
    _of_latest_draft(drafts.c.created_by).label("latest_created_by"),
    _of_latest_draft(drafts.c.file_name).label("latest_file_name"),
    sa.select(human_fields.c.data)
    .where(human_fields.c.incident_id == sa.bindparam("incident_id"))
    .scalar_subquery()
    .label("human"),
)
LATEST_DRAFT = (
    sa.select(drafts)
    .where(drafts.c.incident_id == sa.bindparam("incident_id"))
    .order_by(drafts.c.revision.desc())
    .limit(1)
)
INSERT_DRAFT = sa.insert(drafts)
UPDATE_DRAFT = sa.update(drafts).where(
    drafts.c.incident_id == sa.bindparam("b_incident_id"),
    drafts.c.revision == sa.bindparam("b_revision"),
)
MARK_EXPORTED = (
    sa.update(drafts)
    .where(
        drafts.c.incident_id == sa.bindparam("b_incident_id"),
        drafts.c.revision <= sa.bindparam("b_revision"),
        drafts.c.updated_at <= sa.bindparam("b_updated_at", type_=UTCDateTime),
    )
    .values(export_pending=False)
)
HUMAN_FIELDS_OF = sa.select(human_fields.c.data).where(
    human_fields.c.incident_id == sa.bindparam("incident_id")
)

# the webhook and draft paths run these straight on SQLite's driver (direct.py)
for _hot in (
    SERIES,
    LATEST_BY_KEY,
    LATEST_BY_KEYS,
    LATEST_BY_KEYS_LOCKED,
    INCIDENT,
    INCIDENT_LOCKED,
    EPISODES_OF,
    ENTRY_KEYS,
    EPISODES_OF_MANY,
    ENTRY_KEYS_OF_MANY,
    TIMELINE_OF,
    INSERT_INCIDENT,
    INSERT_INCIDENT_WITH_ID,
    UPDATE_INCIDENT,
    INSERT_EPISODES,
    UPDATE_EPISODES,
    INSERT_ENTRIES,
    DRAFT_CONTEXT,
    LATEST_DRAFT,
    INSERT_DRAFT,
    UPDATE_DRAFT,
    MARK_EXPORTED,
    HUMAN_FIELDS_OF,
):
    direct(_hot)
