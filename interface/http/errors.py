"""One error format for every refusal: RFC 9457 problem details.

``type`` is a stable URI per kind of problem, ``rule`` names the domain rule for domain
refusals, ``errors`` lists field and reason for invalid input.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.commands import (
    AlreadyExists,
    ConcurrencyConflict,
    DatabaseUnavailable,
    NotFound,
    VersionMismatch,
)
from application.store.command_log import KeyReplayed, KeyReused
from domain.base import CommandRefused, DomainError, InvalidValue, UnknownMember
from interface.http.replies import PROBLEM_JSON, replay
from interface.http.routing import methods_at
from projections.freshness import InvalidCursorError

log = logging.getLogger(__name__)


#: What a 503 tells clients to wait before retrying.
RETRY_AFTER_SECONDS = 1


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    rule: str | None = None
    errors: list[FieldError] | None = None


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str,
    rule: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"https://fullchain.example/problems/{kind}",
        title=title,
        status=status,
        detail=detail,
        rule=rule,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """The field an error is about: its location without where in the request it is (a
    query parameter named ``path`` is still ``path``)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint can answer: ``statuses``, and 401
    and 403, which every endpoint answers (bearer token, permission matrix, branch)."""
    described = {
        401: "No bearer token, or one that identifies no staff member",
        403: "The staff member may not do this",
        404: "No such resource",
        409: "The current state forbids this command (the rule is named)",
        412: "If-Match names a version that is no longer current",
        413: "The request body (or an uploaded file) is larger than the limit",
        415: "The uploaded file is of a type the endpoint does not take",
        422: "Invalid input: the field and the reason (a query parameter the endpoint does "
        "not take is refused, named)",
        429: "Too many requests from the client address; retry after Retry-After",
        503: "The database cannot be reached just now, or the read model has not reached "
        "min_position in time; retry after Retry-After",
    }
    return {
        s: {
            "description": described[s],
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in sorted({401, 403, *statuses})
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=_field_of(e.get("loc", ())), reason=str(e.get("msg", "invalid")))
            for e in exc.errors()
        ]
        return problem(422, "Invalid input", kind="invalid-input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (not UTF-8): invalid input,
            # like a body that is not JSON.
            reason = "the body must be JSON in UTF-8"
            return problem(
                422,
                "Invalid input",
                reason,
                kind="invalid-input",
                errors=[FieldError(field="body", reason=reason)],
            )
        headers = dict(exc.headers) if exc.headers else None
        detail = str(exc.detail)
        if exc.status_code == 405:
            # The router names the methods of the one route it tried; the path has more.
            methods = ", ".join(methods_at(request.app.router.routes, request.scope))
            headers = {**(headers or {}), "Allow": methods}
            detail = f"{request.method} is not allowed here; the path takes {methods}"
        return problem(
            exc.status_code,
            HTTPStatus(exc.status_code).phrase,
            detail,
            kind=f"http-{exc.status_code}",
            headers=headers,
        )

    @app.exception_handler(InvalidValue)
    async def invalid_value(_: Request, exc: InvalidValue) -> JSONResponse:
        errors = [FieldError(field=exc.field, reason=exc.message)] if exc.field else None
        return problem(
            422, "Invalid input", exc.message, kind="invalid-input", rule=exc.rule, errors=errors
        )

    @app.exception_handler(UnknownMember)
    async def unknown_member(_: Request, exc: UnknownMember) -> JSONResponse:
        return problem(404, "Not found", exc.message, kind="not-found", rule=exc.rule)

    @app.exception_handler(CommandRefused)
    async def refused(_: Request, exc: CommandRefused) -> JSONResponse:
        return problem(
            409, "Command refused by a business rule", exc.message, kind="refused", rule=exc.rule
        )

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return problem(
            409, "Command refused by a business rule", exc.message, kind="refused", rule=exc.rule
        )

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc), kind="not-found")

    @app.exception_handler(AlreadyExists)
    async def already_exists(_: Request, exc: AlreadyExists) -> JSONResponse:
        return problem(409, "Already exists", str(exc), kind="already-exists")

    @app.exception_handler(VersionMismatch)
    async def version_mismatch(_: Request, exc: VersionMismatch) -> JSONResponse:
        return problem(412, "Precondition failed", str(exc), kind="version-mismatch")

    @app.exception_handler(ConcurrencyConflict)
    async def conflict(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return problem(
            409,
            "Concurrent changes",
            str(exc),
            kind="concurrency",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(InvalidCursorError)
    async def invalid_cursor(_: Request, exc: InvalidCursorError) -> JSONResponse:
        return problem(
            422,
            "Invalid input",
            kind="invalid-input",
            errors=[FieldError(field="cursor", reason=str(exc))],
        )

    @app.exception_handler(KeyReplayed)
    async def key_replayed(request: Request, exc: KeyReplayed) -> Response:
        status, body, headers = replay(exc.outcome, request.url.path)
        kept = {k.decode(): v.decode() for k, v in headers}
        media_type = kept.pop("content-type", "application/json")
        return Response(body, status_code=status, media_type=media_type, headers=kept)

    @app.exception_handler(KeyReused)
    async def key_reused(_: Request, exc: KeyReused) -> JSONResponse:
        return problem(
            422,
            "Idempotency key reused",
            str(exc),
            kind="idempotency-key-reused",
            errors=[FieldError(field="Idempotency-Key", reason="used for another request")],
        )

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return problem(
            503,
            "Service unavailable",
            "the database cannot be reached just now; retry after Retry-After",
            kind="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    # The database down, restarting, or every pooled connection taken for longer than the
    # pool's wait (psycopg_pool's PoolTimeout is an OperationalError): the request is
    # answered at once, the service recovers when the database is back.
    for unreachable in (
        DatabaseUnavailable,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        OperationalError,
        InterfaceError,
    ):
        app.add_exception_handler(unreachable, unavailable)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", kind="internal")
