"""GET /kpi (the team's KPIs with charts) and GET /kpi.csv (the same numbers)."""

from __future__ import annotations

from aiohttp import web

from receiver.web.keys import SERVICE, SETTINGS
from receiver.web.kpi_filters import KpiFilters
from receiver.web.pages.kpi_csv import kpi_csv
from receiver.web.pages.kpi_text import KPI_TEXT
from receiver.web.pages.kpi_view import kpi_context
from receiver.web.pages.render import render_page


async def kpi_page(request: web.Request) -> web.Response:
    # a bad filter is a 422 like every bad query (JSON, in the receiver's language); the
    # form's inputs already refuse such values in the browser
    filters = KpiFilters.of(request)
    figures = await request.app[SERVICE].queries.kpi(
        months=filters.months, until=filters.until, service=filters.service
    )
    settings = request.app[SETTINGS]
    context = kpi_context(KPI_TEXT[settings.language], filters, figures)
    return render_page(request, "kpi.html", zone=settings.timezone, **context)


async def kpi_csv_file(request: web.Request) -> web.Response:
    filters = KpiFilters.of(request)
    figures = await request.app[SERVICE].queries.kpi(
        months=filters.months, until=filters.until, service=filters.service
    )
    language = request.app[SETTINGS].language
    months = figures.report.months
    name = f"kpi-{months[0].label}-{months[-1].label}.csv"
    return web.Response(
        text=kpi_csv(KPI_TEXT[language], figures.report),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
