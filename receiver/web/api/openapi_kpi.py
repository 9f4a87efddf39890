"""The OpenAPI document's part for GET /api/v1/kpi: its path and response schemas."""

from __future__ import annotations

from receiver.web import params
from receiver.web.api.openapi_schemas import (
    BOOLEAN,
    INTEGER,
    STRING,
    Schema,
    errors,
    json_body,
    nullable,
    obj,
    ref,
)

_SECONDS = nullable({"type": "number", "description": "seconds; null when there is none"})
_MET = nullable({**BOOLEAN, "description": "null when there is nothing to compare"})


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def kpi_path() -> Schema:
    return {
        "get": {
            "operationId": "getKpi",
            "tags": ["kpi"],
            "summary": "The template's KPIs per service and month (MTTR, MTTA, MTBF, counts), "
            "P0/P1 per quarter, the review's progress and overdue action items",
            "description": "Months and quarters are calendar ones in RECEIVER_TIMEZONE. An "
            "MTTR uses the end the drafts state; `mttr.estimated` counts the incidents whose "
            "end is an estimate (reconciliation's upper bound, a person's report, Prometheus' "
            "evidence) rather than Alertmanager's endsAt.",
            "parameters": [
                _query("service", STRING, "only this service's incidents"),
                _query("months", params.MONTHS.schema(default=6), "how many months"),
                _query(
                    "until",
                    {**STRING, "pattern": r"^\d{4}-\d{2}$"},
                    "the last month shown, yyyy-mm (default: this month)",
                ),
            ],
            "responses": {
                "200": json_body(ref("Kpi"), "The figures."),
                **errors((401, 422, 503), notes={422: "A bad query value (`invalid_query`)."}),
            },
        }
    }


def kpi_schemas() -> dict[str, Schema]:
    mean = {"seconds": _SECONDS, "count": INTEGER}
    return {
        "KpiMonth": obj(
            service={**STRING, "description": 'the service; "" sums up all shown'},
            month={**STRING, "description": "yyyy-mm"},
            incidents=INTEGER,
            incidents_target_met=BOOLEAN,
            mttr=obj(
                **mean,
                estimated={**INTEGER, "description": "of `count`, ends that are estimates"},
                includes_estimates=BOOLEAN,
                target_met=_MET,
            ),
            mtta=obj(**mean),
            mtbf=obj(**mean, target_met=_MET),
        ),
        "KpiQuarter": obj(
            service=STRING,
            quarter={**STRING, "description": "yyyy-Qn"},
            incidents=INTEGER,
            p0_p1=INTEGER,
            p0_p1_target_met=BOOLEAN,
        ),
        "Kpi": obj(
            timezone=STRING,
            months={"type": "array", "items": STRING},
            services={"type": "array", "items": STRING},
            targets=obj(
                mttr_seconds={"type": "number"},
                mtbf_seconds={"type": "number"},
                incidents_per_month=INTEGER,
                p0_p1_per_quarter=INTEGER,
            ),
            totals={"type": "array", "items": ref("KpiMonth")},
            by_service={"type": "array", "items": ref("KpiMonth")},
            quarters={"type": "array", "items": ref("KpiQuarter")},
            quarters_by_service={"type": "array", "items": ref("KpiQuarter")},
            review=obj(
                drafted=INTEGER,
                in_review=INTEGER,
                approved=INTEGER,
                approval=obj(**mean, median_seconds=_SECONDS),
            ),
            overdue_actions={
                "type": "array",
                "items": obj(
                    incident_id=INTEGER,
                    service=STRING,
                    text=STRING,
                    owner=STRING,
                    due={**STRING, "format": "date"},
                ),
            },
            # issue 21: the action items' follow-through, all services ("") then each
            action_items={
                "type": "array",
                "items": obj(
                    service=STRING,
                    open=INTEGER,
                    overdue=INTEGER,
                    done=INTEGER,
                    median_days_to_done=nullable({"type": "number"}),
                    done_with_due=INTEGER,
                    done_by_due=INTEGER,
                    share_done_by_due=nullable({"type": "number"}),
                ),
            },
        ),
    }
