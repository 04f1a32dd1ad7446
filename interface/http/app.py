"""The HTTP interface: translates requests into service calls and read-model queries."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from application import idempotency
from interface.http import (
    audit,
    cases,
    competitors,
    decisions,
    errors,
    history,
    offerings,
    opportunities,
    relationships,
    shipment_reads,
    shipments,
    staff,
)
from interface.http.middleware import RequestGuards
from interface.runtime import Services

DESCRIPTION = """
Fullchain CRM: customer relationships of a logistics company as an append-only event log.

* **Commands** are `POST` endpoints. Each answers with the aggregate's new `version`
  (also the `ETag`) and the log `position` of its last event. Send `If-Match: "<version>"`
  to refuse the command if someone changed the aggregate meanwhile (412).
* **Reads** come from read models that a projection worker keeps current. Pass
  `min_position=<position>` to wait (bounded) until your own write is visible; if it is
  not in time the answer is 503 with `Retry-After`.
* **Errors** are RFC 9457 problem details (`application/problem+json`).
* Every request needs `Authorization: Bearer <token>`; the staff member it identifies is
  recorded as the actor on every event.
"""


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Fullchain CRM",
        version="0.1.0",
        description=DESCRIPTION,
    )
    app.state.services = services
    errors.install(app)

    def find_key(scope: bytes, key: str) -> idempotency.Outcome | None:
        with services.reads.connection() as conn:
            return idempotency.find(conn, scope, key)

    def keep_response(
        claim: idempotency.Claim, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        secret = isinstance(answer, dict) and "token" in answer  # shown once, never again
        with services.reads.connection() as conn:
            idempotency.keep_response(conn, claim, status, body, headers, withheld=secret)

    app.add_middleware(RequestGuards, find=find_key, keep=keep_response)
    app.include_router(relationships.router)
    app.include_router(shipment_reads.router)
    app.include_router(audit.router)
    app.include_router(staff.router)
    app.include_router(shipments.router)
    app.include_router(history.router)
    app.include_router(offerings.router)
    app.include_router(opportunities.router)
    app.include_router(cases.router)
    app.include_router(competitors.router)
    app.include_router(decisions.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            document_request_guards(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def document_request_guards(schema: dict[str, Any]) -> None:
    """What the request guards add to every POST: ``Idempotency-Key`` and its 422, 413."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in schema.get("paths", {}).values():
        operation = item.get("post")
        if operation is None:
            continue
        operation.setdefault("parameters", []).append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes retries safe: the same key and request answer the "
                "original response and write nothing new; the same key with another request "
                "is refused (422).",
                "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
            }
        )
        responses = operation.setdefault("responses", {})
        responses.setdefault(
            "413", {"description": "The request body is larger than 256 KiB", "content": problem}
        )
        responses.setdefault(
            "422", {"description": "Invalid input: the field and the reason", "content": problem}
        )
