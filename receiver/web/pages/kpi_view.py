"""What the KPI page's template reads: the report's figures as text, its charts, the
filters. Every figure resting on estimated ends is marked as such."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from receiver.domain.kpi import KpiReport, Mean, MonthFigures, QuarterFigures
from receiver.domain.slo_kpi import BudgetMonth, DetectMonth
from receiver.usecases.queries import KpiFigures
from receiver.web.kpi_filters import KpiFilters
from receiver.web.pages.kpi_chart import Bar, Chart, render


def duration_text(text: dict[str, str], value: timedelta | None) -> str:
    """A duration as people read it: seconds, minutes, hours and minutes, or days."""
    if value is None:
        return text["none"]
    seconds = round(value.total_seconds())
    if seconds < 60:
        return text["seconds"].format(n=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return text["minutes"].format(n=minutes)
    if minutes < 48 * 60:
        return text["hours"].format(h=minutes // 60, m=f"{minutes % 60:02d}")
    hours = round(minutes / 60)
    return text["days"].format(d=hours // 24, h=hours % 24)


def _met(text: dict[str, str], met: bool | None) -> str:
    return "" if met is None else text["met"] if met else text["not_met"]


def _mttr(text: dict[str, str], mean: Mean) -> str:
    shown = duration_text(text, mean.value)
    return f"{text['estimated_mark']} {shown}" if mean.estimated and mean.value else shown


def month_row(text: dict[str, str], row: MonthFigures) -> dict[str, Any]:
    return {
        "service": row.service or text["no_service"],
        "month": row.month,
        "incidents": row.incidents,
        "count_met": _met(text, row.count_met),
        "count_ok": row.count_met,
        "mttr": _mttr(text, row.mttr),
        "mttr_met": _met(text, row.mttr_met),
        "mttr_ok": row.mttr_met,
        "estimated": row.mttr.estimated,
        "mttr_count": row.mttr.count,
        "mtta": duration_text(text, row.mtta.value),
        "mtta_count": row.mtta.count,
        "mtbf": duration_text(text, row.mtbf.value),
        "mtbf_met": _met(text, row.mtbf_met),
        "mtbf_ok": row.mtbf_met,
        "mtbf_count": row.mtbf.count,
    }


def quarter_row(text: dict[str, str], row: QuarterFigures) -> dict[str, Any]:
    return {
        "service": row.service or text["no_service"],
        "quarter": row.quarter,
        "incidents": row.incidents,
        "severe": row.severe,
        "severe_met": _met(text, row.severe_met),
        "severe_ok": row.severe_met,
    }


def charts(text: dict[str, str], report: KpiReport) -> list[Any]:
    months = report.totals
    span = f"{months[0].month}–{months[-1].month}" if months else ""
    targets = report.targets
    mttr_target = targets.mttr.total_seconds() / 60
    incidents = Chart(
        "kpi-incidents",
        text["chart_incidents"],
        text["chart_incidents_desc"].format(
            months=span,
            values=text["sep"].join(f"{m.month} {m.incidents}" for m in months),
            target=targets.incidents_per_month,
        ),
        [Bar(m.month, float(m.incidents), str(m.incidents)) for m in months],
        float(targets.incidents_per_month),
        f"{text['target_line']} < {targets.incidents_per_month}",
    )

    def minutes(m: MonthFigures) -> float | None:
        return None if m.mttr.value is None else m.mttr.value.total_seconds() / 60

    mttr = Chart(
        "kpi-mttr",
        text["chart_mttr"],
        text["chart_mttr_desc"].format(
            months=span,
            values=text["sep"].join(f"{m.month} {_mttr(text, m.mttr)}" for m in months),
            target=f"{mttr_target:g}",
        ),
        [
            Bar(
                m.month,
                minutes(m),
                _mttr(text, m.mttr),
                estimated=m.mttr.estimated > 0,
            )
            for m in months
        ],
        mttr_target,
        f"{text['target_line']} < {mttr_target:g}",
    )
    quarters = report.quarter_totals
    severe = Chart(
        "kpi-severe",
        text["chart_severe"],
        text["chart_severe_desc"].format(
            quarters=f"{quarters[0].quarter}–{quarters[-1].quarter}" if quarters else "",
            values=text["sep"].join(f"{q.quarter} {q.severe}" for q in quarters),
            target=targets.severe_per_quarter,
        ),
        [Bar(q.quarter, float(q.severe), str(q.severe)) for q in quarters],
        float(targets.severe_per_quarter),
        f"{text['target_line']} < {targets.severe_per_quarter}",
    )
    return [(chart.title, render(chart)) for chart in (incidents, mttr, severe)]


def budget_row(text: dict[str, str], row: BudgetMonth) -> dict[str, Any]:
    burned = f"{row.burned * 100:.1f}".rstrip("0").rstrip(".") + "%"
    return {
        "service": row.service or text["no_service"],
        "slo": row.slo,
        "month": row.month,
        "burned": f"{text['estimated_mark']} {burned}" if row.estimated else burned,
        "incidents": row.incidents,
        "estimated": text["slo_estimated"].format(n=row.estimated) if row.estimated else "",
    }


def detect_chart(text: dict[str, str], detect: list[DetectMonth]) -> Any:
    """The time-to-detect trend: one bar a month, none where nothing was measured."""
    span = f"{detect[0].month}–{detect[-1].month}" if detect else ""

    def minutes(row: DetectMonth) -> float | None:
        value = row.detect.value
        return None if value is None else value.total_seconds() / 60

    chart = Chart(
        "kpi-detect",
        text["chart_detect"],
        text["chart_detect_desc"].format(
            months=span,
            values=text["sep"].join(
                f"{row.month} {duration_text(text, row.detect.value)}" for row in detect
            ),
        ),
        [Bar(row.month, minutes(row), duration_text(text, row.detect.value)) for row in detect],
    )
    return render(chart)


def kpi_context(text: dict[str, str], filters: KpiFilters, figures: KpiFigures) -> dict[str, Any]:
    shown = filters.shown()
    context: dict[str, Any] = {
        "k": text,
        "filters": shown,
        "services": figures.services,
        "csv_link": "/kpi.csv?" + urlencode({k: v for k, v in shown.items() if v}),
    }
    report = figures.report
    totals = report.totals
    targets = report.targets
    review = report.review
    context.update(
        report=report,
        charts=charts(text, report),
        totals=[month_row(text, row) for row in totals],
        by_service=[month_row(text, row) for row in report.by_service],
        quarters=[quarter_row(text, row) for row in report.quarter_totals],
        quarters_by_service=[quarter_row(text, row) for row in report.quarters_by_service],
        incidents=sum(row.incidents for row in totals),
        estimated=sum(row.mttr.estimated for row in totals),
        ended=sum(row.mttr.count for row in totals),
        gaps=sum(row.mtbf.count for row in totals),
        target_mttr=duration_text(text, targets.mttr),
        target_mtbf=duration_text(text, targets.mtbf),
        approval=text["approval_mean"].format(
            mean=duration_text(text, review.approval.value),
            median=duration_text(text, review.approval_median),
            count=review.approval.count,
        ),
        overdue=report.overdue,
        change_failures=[
            {
                "service": row.service,
                "changes": row.changes,
                "failed": row.failed,
                "rate": f"{row.rate:.0%}",
            }
            for row in figures.change_failures
        ],
        change_window=duration_text(text, figures.change_window),
        action_figures=[
            {
                "row": row,
                "median": "—"
                if row.median_days_to_done is None
                else f"{row.median_days_to_done:g}",
                "share": "—"
                if row.share_done_by_due is None
                else f"{row.share_done_by_due:.0%}（{row.done_by_due}/{row.done_with_due}）",
            }
            for row in figures.actions
        ],
        # the SLOs: budget burned per service and month, and the time-to-detect trend
        budget=[budget_row(text, row) for row in figures.budget],
        detect_chart=detect_chart(text, figures.detect)
        if any(row.detect.count for row in figures.detect)
        else None,
    )
    return context
