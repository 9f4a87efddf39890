"""What on-call adds to a draft (the human fields) and the review lifecycle. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from receiver.domain.incident import Incident, IncidentStatus
from receiver.text import ItemText, Line, Paragraphs


class ImprovementArea(StrEnum):
    """The template's 改进措施 subsections."""

    TECH_SHORT = "tech_short"  # 技术改进 · 短期改进 (1-2 周)
    TECH_MID = "tech_mid"  # 技术改进 · 中期改进 (1-3 个月)
    TECH_LONG = "tech_long"  # 技术改进 · 长期改进 (3-6 个月)
    DEV = "dev"  # 流程改进 · 开发流程
    OPS = "ops"  # 流程改进 · 运维流程
    MGMT = "mgmt"  # 流程改进 · 管理流程


class ActionHorizon(StrEnum):
    """The template's 行动计划 subsections."""

    IMMEDIATE = "immediate"  # 立即行动 (1 周内)
    SHORT = "short"  # 短期行动 (1 个月内)
    LONG = "long"  # 长期行动 (3 个月内)


class ItemPriority(StrEnum):
    """An action item's priority, as people set it (issue 21)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# An item's stable id: given when it is first saved, kept through renames and reorders
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{0,32}$")]
# A ticket link: http(s) only, since pages and drafts make it a link
TicketUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^(https?://\S+)?$")
]


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: ItemId = ""
    text: ItemText
    owner: Line = ""
    due: date | None = None
    done: bool = False
    dropped: Line = ""  # why it was dropped; an item with a reason here is not open
    priority: ItemPriority | None = None
    ticket: TicketUrl = ""


class Improvement(_Item):
    area: ImprovementArea = ImprovementArea.TECH_SHORT


class ActionItem(_Item):
    horizon: ActionHorizon = ActionHorizon.IMMEDIATE


class HumanFields(BaseModel):
    """Everything only people know. Stored as data; every draft is rendered from the
    incident plus these, so no re-render loses a word."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    owner: Line = ""  # 负责人
    participants: Line = ""  # 参与人员
    affected_users: Line = ""  # 受影响用户数
    affected_features: Line = ""  # 受影响功能
    business_loss: Line = ""  # 业务损失
    user_feedback: Paragraphs = ""  # 用户反馈
    direct_cause: Paragraphs = ""  # 直接原因
    root_cause_technical: Paragraphs = ""  # 根本原因 · 技术
    root_cause_process: Paragraphs = ""  # · 流程
    root_cause_human: Paragraphs = ""  # · 人为
    root_cause_external: Paragraphs = ""  # · 外部
    impact_chain: Paragraphs = ""  # 影响链
    containment: Paragraphs = ""  # 遏制措施 · 立即遏制
    temporary_fix: Paragraphs = ""  # 遏制措施 · 临时修复
    improvements: Annotated[list[Improvement], Field(max_length=100)] = Field(default_factory=list)
    actions: Annotated[list[ActionItem], Field(max_length=100)] = Field(default_factory=list)
    lessons_success: Paragraphs = ""  # 经验教训 · 成功经验
    lessons_failure: Paragraphs = ""  # · 失败教训
    lessons_suggestions: Paragraphs = ""  # · 改进建议

    def merged(self, patch: dict[str, object]) -> HumanFields:
        """These fields with the patch's fields replaced (lists replace whole)."""
        return HumanFields.model_validate({**self.model_dump(), **patch})

    def changed_fields(self, other: HumanFields) -> list[str]:
        mine, theirs = self.model_dump(), other.model_dump()
        return [name for name in mine if mine[name] != theirs[name]]


MAX_OVERRIDE_REASON = 2000  # characters of the reason to approve with required parts empty


class InvalidTransition(Exception):
    """The review lifecycle does not allow this move."""


class ApprovalIncomplete(InvalidTransition):
    """Approval asked for while required parts are empty and no override reason given."""

    def __init__(self, incident_id: int | None, missing: Sequence[str]) -> None:
        super().__init__(
            f"incident {incident_id} cannot be approved while these are empty: "
            f"{', '.join(missing)}; fill them or approve with an override reason"
        )
        self.missing = list(missing)


class ReviewLocked(Exception):
    """An approved postmortem is not edited; move it back to review first."""


# drafted → in_review → approved, and back to in_review
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.DRAFTED: frozenset({IncidentStatus.IN_REVIEW}),
    IncidentStatus.IN_REVIEW: frozenset({IncidentStatus.APPROVED}),
    IncidentStatus.APPROVED: frozenset({IncidentStatus.IN_REVIEW}),
}


def move(
    incident: Incident,
    target: IncidentStatus,
    actor: str,
    now: datetime,
    *,
    missing: Sequence[str] = (),
    override_reason: str = "",
) -> None:
    """Move along the review lifecycle; an approval records who and when. Approval with
    required parts still `missing` needs an override reason, which it records."""
    allowed = TRANSITIONS.get(incident.status, frozenset())
    if target not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none until it is drafted"
        raise InvalidTransition(
            f"incident {incident.id} is {incident.status.value}; it can move to: {options}"
        )
    if target is IncidentStatus.APPROVED and missing and not override_reason.strip():
        raise ApprovalIncomplete(incident.id, missing)
    incident.status = target
    incident.updated_at = now
    if target is IncidentStatus.APPROVED:
        incident.approved_by, incident.approved_at = actor, now
        incident.approval_override = override_reason.strip() if missing else None


def check_editable(incident: Incident) -> None:
    if incident.status is IncidentStatus.APPROVED:
        raise ReviewLocked(
            f"incident {incident.id} is approved; move it back to in_review to edit it"
        )


_HEADING = re.compile(r"^(\s{0,3})(#{1,6})(?=\s|$)", re.MULTILINE)


def as_markdown_block(text: str) -> str:
    """People's text keeps its Markdown, but cannot add headings to the template's outline."""
    return _HEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text.strip())
