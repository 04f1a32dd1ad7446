"""The HTTP interface: translates requests into service calls and read-model queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi

from application.store import command_log
from interface import console
from interface.http import (
    activity,
    audit,
    branches,
    cases,
    competitors,
    console_session,
    data_requests,
    decisions,
    errors,
    evidence,
    follow_ups,
    history,
    imports,
    integrations,
    marketing,
    offerings,
    operations,
    opportunities,
    people,
    performance,
    relationship_reads,
    relationship_rewards,
    relationships,
    retention,
    search,
    self_service,
    shipment_charges,
    shipment_claims,
    shipment_costs,
    shipment_incidents,
    shipment_reads,
    shipments,
    solving,
    staff,
    suggestions,
)
from interface.http.deps import Staff
from interface.http.middleware import RequestGuards
from interface.http.openapi import document_examples, document_headers, operation_id
from interface.http.routing import UNKNOWN_QUERY_PARAMETER, IndexedRouter, refuse_unknown_query
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
  recorded as the actor on every event. (The console signs in at `/console/session` and
  sends a session cookie with `X-CSRF-Token` instead.)
"""


#: Every router of the service, in the order the API document lists their endpoints.
#: The routers in the order a request is matched against their routes. No two routes
#: answer the same request (tests/test_http_routing.py), so the order decides only how
#: soon a request finds its route: the reads staff and clients make most come first.
ROUTERS: tuple[APIRouter, ...] = (
    relationship_reads.router,
    history.router,
    relationships.router,
    relationship_rewards.router,
    shipment_reads.router,
    audit.router,
    staff.router,
    shipments.router,
    shipment_charges.router,
    shipment_costs.router,
    shipment_incidents.router,
    shipment_claims.router,
    offerings.router,
    opportunities.router,
    cases.router,
    competitors.router,
    decisions.router,
    imports.router,
    activity.router,
    people.router,
    evidence.router,
    search.router,
    branches.router,
    follow_ups.router,
    performance.router,
    self_service.router,
    suggestions.router,
    marketing.router,
    integrations.router,
    retention.router,
    data_requests.router,
)


async def known_query_only(request: Request, _: Staff) -> None:
    """Every endpoint refuses a query parameter it does not take (422), once the bearer
    token and the roles the endpoint declares have let the request in."""
    refuse_unknown_query(request)


def create_app(
    services: Services,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """The HTTP app on ``services``; ``lifespan`` (``interface.asgi``) runs around the
    server's serving, e.g. to close the services the app's process opened."""
    app = FastAPI(
        lifespan=lifespan,
        title="Fullchain CRM",
        version="0.1.0",
        description=DESCRIPTION,
        dependencies=[Depends(known_query_only)],
        # /docs is served by ``console.install`` from local files; no ReDoc (a CDN's).
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        # One schema per model, not an -Input and an -Output of the same title.
        separate_input_output_schemas=False,
    )
    app.state.services = services
    solving.install()
    errors.install(app)

    def find_command(command_id: str) -> command_log.Outcome | None:
        with services.primary.connection() as conn:
            return command_log.find(conn, command_id)

    def keep_response(command_id: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        # A token or a secret is shown once, never again.
        secret = isinstance(answer, dict) and ("token" in answer or "secret" in answer)
        with services.primary.connection() as conn:
            command_log.keep_response(conn, command_id, status, body, headers, withheld=secret)

    app.add_middleware(RequestGuards, find=find_command, keep=keep_response)
    # Outermost: every refusal, the request guards' too, in the language asked for.
    app.add_middleware(errors.ProblemLanguage)
    for included in ROUTERS:
        app.include_router(included)
    app.include_router(console_session.router)  # the console's sign-in, outside the document
    IndexedRouter.install(app)
    console.install(app)
    operations.install(
        app, services, [r for router in ROUTERS for r in router.routes]
    )  # outermost: every request measured and logged

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            document_request_guards(schema)
            document_unknown_query(schema)
            document_headers(schema)
            document_examples(schema)
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


def document_unknown_query(schema: dict[str, Any]) -> None:
    """Every operation answers 422 for a query parameter it does not take."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            operation.setdefault("responses", {}).setdefault(
                "422",
                {
                    "description": "Invalid input: the field and the reason; a query "
                    f"parameter the endpoint does not take is named ({UNKNOWN_QUERY_PARAMETER})",
                    "content": problem,
                },
            )
