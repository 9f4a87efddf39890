"""The action items as CSV for spreadsheets. UTF-8 with a byte order mark, which is how
Excel knows the Chinese headers and texts are UTF-8 (as the KPI export does)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

from receiver.domain.action_items import is_overdue
from receiver.store.action_items import ItemRow
from receiver.web.pages.kpi_csv import BOM

_COLUMNS = ("incident", "service", "item_source", "text", "owner", "due", "item_priority", "status")
_MORE = ("overdue", "drop_reason", "ticket")


def actions_csv(
    text: dict[str, str], labels: dict[str, str], rows: Sequence[ItemRow], today: date
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ID", *(text[c] for c in _COLUMNS), *(text[c] for c in _MORE)])
    for row in rows:
        item = row.item
        writer.writerow(
            [
                item.id,
                f"#{item.incident_id}",
                row.service,
                f"{labels[item.list_name]} · {labels.get(item.kind, item.kind)}",
                _cell(item.text),
                _cell(item.owner),
                item.due.isoformat() if item.due else "",
                text[f"priority_{item.priority}"] if item.priority else "",
                text[f"item_{item.status.value}"],
                text["overdue"] if is_overdue(item.due, item.status, today) else "",
                _cell(item.reason),
                _cell(item.ticket),
            ]
        )
    return BOM + out.getvalue()


def _cell(value: str) -> str:
    """People's text, never read by a spreadsheet as a formula (=, +, -, @ lead one)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
