"""The HTTP interface: translates requests into service calls and read-model queries."""

from __future__ import annotations

from fastapi import FastAPI

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

    app.add_middleware(RequestGuards, find=find_key)
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
    return app
