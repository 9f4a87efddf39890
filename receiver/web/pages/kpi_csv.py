"""The KPI figures as CSV for spreadsheets: one row per month (all services, then each
service) and per quarter. UTF-8 with a byte order mark, which is how Excel knows the
Chinese headers and service names are UTF-8."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from receiver.domain.kpi import KpiReport, MonthFigures, QuarterFigures

BOM = "\ufeff"
_COLUMNS = (
    "csv_kind",
    "csv_period",
    "csv_service",
    "csv_incidents",
    "csv_mttr",
    "csv_mttr_count",
    "csv_mttr_estimated",
    "csv_mttr_met",
    "csv_mtta",
    "csv_mtta_count",
    "csv_mtbf",
    "csv_mtbf_count",
    "csv_mtbf_met",
    "csv_count_met",
    "csv_severe",
    "csv_severe_met",
)


def _number(value: timedelta | None, unit: float) -> str:
    return "" if value is None else f"{value.total_seconds() / unit:.1f}"


def _flag(text: dict[str, str], value: bool | None) -> str:
    return "" if value is None else text["yes"] if value else text["no"]


def _month(text: dict[str, str], row: MonthFigures) -> list[object]:
    return [
        text["month"],
        row.month,
        row.service or text["csv_all"],
        row.incidents,
        _number(row.mttr.value, 60),
        row.mttr.count,
        row.mttr.estimated,
        _flag(text, row.mttr_met),
        _number(row.mtta.value, 60),
        row.mtta.count,
        _number(row.mtbf.value, 3600),
        row.mtbf.count,
        _flag(text, row.mtbf_met),
        _flag(text, row.count_met),
        "",
        "",
    ]


def _quarter(text: dict[str, str], row: QuarterFigures) -> list[object]:
    blank = [""] * 10
    return [
        text["quarter"],
        row.quarter,
        row.service or text["csv_all"],
        row.incidents,
        *blank,
        row.severe,
        _flag(text, row.severe_met),
    ]


def kpi_csv(text: dict[str, str], report: KpiReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([text[column] for column in _COLUMNS])
    for month in report.totals:
        writer.writerow(_month(text, month))
    for month in report.by_service:
        writer.writerow(_month(text, month))
    for quarter in (*report.quarter_totals, *report.quarters_by_service):
        writer.writerow(_quarter(text, quarter))
    return BOM + out.getvalue()
