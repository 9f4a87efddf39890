"""GET /api/v1/kpi: the KPI page's figures as JSON (durations in seconds)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from receiver.domain.kpi import KpiReport, Mean, MonthFigures, QuarterFigures
from receiver.web.keys import SERVICE, SETTINGS
from receiver.web.kpi_filters import KpiFilters
from receiver.web.serialize import json_response


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _mean(mean: Mean) -> dict[str, Any]:
    return {"seconds": _seconds(mean.value), "count": mean.count}


def _month(row: MonthFigures) -> dict[str, Any]:
    return {
        "service": row.service,
        "month": row.month,
        "incidents": row.incidents,
        "incidents_target_met": row.count_met,
        # which MTTRs rest on estimated ends (reconciled, reported or from evidence)
        "mttr": {
            **_mean(row.mttr),
            "estimated": row.mttr.estimated,
            "includes_estimates": row.mttr.estimated > 0,
            "target_met": row.mttr_met,
        },
        "mtta": _mean(row.mtta),
        "mtbf": {**_mean(row.mtbf), "target_met": row.mtbf_met},
    }


def _quarter(row: QuarterFigures) -> dict[str, Any]:
    return {
        "service": row.service,
        "quarter": row.quarter,
        "incidents": row.incidents,
        "p0_p1": row.severe,
        "p0_p1_target_met": row.severe_met,
    }


def kpi_json(report: KpiReport, timezone: str, services: list[str]) -> dict[str, Any]:
    targets = report.targets
    review = report.review
    return {
        "timezone": timezone,
        "months": [period.label for period in report.months],
        "services": services,
        "targets": {
            "mttr_seconds": _seconds(targets.mttr),
            "mtbf_seconds": _seconds(targets.mtbf),
            "incidents_per_month": targets.incidents_per_month,
            "p0_p1_per_quarter": targets.severe_per_quarter,
        },
        "totals": [_month(row) for row in report.totals],
        "by_service": [_month(row) for row in report.by_service],
        "quarters": [_quarter(row) for row in report.quarter_totals],
        "quarters_by_service": [_quarter(row) for row in report.quarters_by_service],
        "review": {
            "drafted": review.drafted,
            "in_review": review.in_review,
            "approved": review.approved,
            "approval": {
                **_mean(review.approval),
                "median_seconds": _seconds(review.approval_median),
            },
        },
        "overdue_actions": [
            {
                "incident_id": item.incident_id,
                "service": item.service,
                "text": item.text,
                "owner": item.owner,
                "due": item.due.isoformat(),
            }
            for item in report.overdue
        ],
    }


async def get_kpi(request: web.Request) -> web.Response:
    filters = KpiFilters.of(request)
    figures = await request.app[SERVICE].queries.kpi(
        months=filters.months, until=filters.until, service=filters.service
    )
    timezone = request.app[SETTINGS].timezone
    document = kpi_json(figures.report, timezone, figures.services)
    # issue 21: open, overdue, median days to done and share done by the due date
    document["action_items"] = [
        {
            "service": row.service,
            "open": row.open,
            "overdue": row.overdue,
            "done": row.done,
            "median_days_to_done": row.median_days_to_done,
            "done_with_due": row.done_with_due,
            "done_by_due": row.done_by_due,
            "share_done_by_due": row.share_done_by_due,
        }
        for row in figures.actions
    ]
    return json_response(document)
