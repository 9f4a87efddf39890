"""The incident page's activity list: each audit record as a sentence, in the receiver's
language — who changed which parts of the draft when, who moved it through review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from receiver.store import AuditRecord
from receiver.web.pages.ui_text import FIELD_LABELS, UI


def activity_text(record: AuditRecord, language: str, local_time: Callable[[datetime], str]) -> str:
    text, labels = UI[language], FIELD_LABELS[language]
    words = {"actor": record.actor, "time": local_time(record.at)}
    detail = record.detail
    if record.action == "edit":
        fields = [labels.get(str(name), str(name)) for name in detail.get("fields", [])]
        return text["did_edit"].format(**words, fields=text["list_sep"].join(fields))
    if record.action == "status":
        target, before = str(detail.get("to", "")), str(detail.get("from", ""))
        if target == "approved" and detail.get("override_reason"):
            return text["did_approve_anyway"].format(**words, reason=detail["override_reason"])
        if target == "approved":
            return text["did_approve"].format(**words)
        if target == "in_review":
            move = "did_move_back" if before == "approved" else "did_send_to_review"
            return text[move].format(**words)
    if record.action == "promote":
        return text["did_promote"].format(**words)
    return text["did_other"].format(**words, action=record.action)
