"""GET /api/v1/openapi.json: the API as an OpenAPI 3.1 document, built once at import.

Request bodies come from the pydantic models the handlers validate with, so they cannot
drift; paths are in openapi_paths.py, response bodies in openapi_schemas.py.
"""

from __future__ import annotations

import json
from typing import Final

from aiohttp import web

from receiver import __version__
from receiver.alertmanager.grafana import GrafanaWebhook
from receiver.alertmanager.webhook import Webhook
from receiver.changes.manual import ManualChange
from receiver.domain.review import HumanFields
from receiver.usecases.record_event import ManualEvent
from receiver.web.api.openapi_actions import action_schemas
from receiver.web.api.openapi_changes import change_paths, change_schemas
from receiver.web.api.openapi_kpi import kpi_schemas
from receiver.web.api.openapi_paths import paths
from receiver.web.api.openapi_schemas import (
    Schema,
    fields_patch,
    model_schemas,
    response_schemas,
)


def build() -> Schema:
    """A fresh copy of the document."""
    schemas = model_schemas(Webhook, GrafanaWebhook, ManualEvent, HumanFields, ManualChange)
    written = {**response_schemas(), **kpi_schemas(), **change_schemas(), **action_schemas()}
    assert not schemas.keys() & written.keys(), "a response schema shadows a model's"
    schemas.update(written)
    schemas["FieldsPatch"] = fields_patch(schemas["HumanFields"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "postmortem-receiver",
            "version": __version__,
            "description": "Alertmanager webhooks in, draft postmortems out. Every error "
            "is JSON (`Error`). /api/ needs bearer or basic credentials when either is "
            "configured (a trusted proxy's user header also counts; with none configured "
            "the API is open); `X-Actor` names on whose behalf a credentialed caller acts.",
        },
        "security": [{"bearer": []}, {"basic": []}],
        "paths": {**paths(), **change_paths()},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "RECEIVER_AUTH_TOKEN",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "RECEIVER_BASIC_AUTH_*",
                },
            },
        },
    }


_BODY: Final[bytes] = json.dumps(build(), ensure_ascii=False).encode()


async def document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json", charset="utf-8")
