"""Operations: ``/health``, ``/ready``, ``/metrics``, and every request measured and
logged with its id.

The three endpoints are plain routes outside the API document and its bearer token
(like the console's): a load balancer or orchestrator probes ``/health`` and ``/ready``
without a staff member's token, and Prometheus scrapes ``/metrics`` with a token of its
own (``FULLCHAIN_METRICS_TOKEN``) when one is configured.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import anyio.to_thread
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application import metrics, settings
from application.store.schema import applied_migrations
from interface.http.checkout import pool_stats as checkout_stats
from interface.logs import REQUEST_CONTEXT
from interface.runtime import Services, all_migrations
from projections import status

log = logging.getLogger("fullchain.http")

REQUEST_ID_HEADER = b"x-request-id"
#: A client's request id is kept if it is this (printable, short); otherwise one is made.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/@+=-]{1,128}$")
#: The routes a request counts under when it matched none (404).
UNMATCHED = "unmatched"
#: Paths not logged line by line (probes and scrapes come every few seconds).
QUIET = frozenset({"/health", "/ready", "/metrics"})


class _RequestIds:
    """Ids for requests that bring none: 32 hex digits, a random half drawn once per process
    (again in a forked child) and a count. Unique without a system call per request, as
    ``uuid4`` makes one to read the kernel's randomness."""

    def __init__(self) -> None:
        self._renew()
        os.register_at_fork(after_in_child=self._renew)

    def _renew(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_request_ids = _RequestIds()


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            text = str(value.decode("latin-1")).strip()
            if _REQUEST_ID.match(text):
                return text
            break
    return _request_ids.next()


class Observed:
    """Outermost middleware: gives every request an id (``X-Request-ID``, echoed in the
    answer), counts and times it by route template and status, counts a command's outcome,
    and logs one line for it."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes
        self._table: list[tuple[re.Pattern[str], frozenset[str], str]] | None = None

    def template(self, scope: Scope) -> str:
        """The path template of the route that took the request (``/v1/relationships/
        {relationship_id}``), never the raw path: the metrics' labels stay few."""
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path", UNMATCHED))
        # Answered before routing (a replayed command, a body too large): find its route.
        if self._table is None:
            self._table = [
                (r.path_regex, frozenset(r.methods or ()), str(r.path))
                for r in self.routes()
                if isinstance(r, Route | APIRoute)
            ]
        path, method = scope["path"], scope["method"]
        for pattern, methods, template in self._table:
            if method in methods and pattern.match(path):
                return template
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        context = {"request_id": rid}
        token = REQUEST_CONTEXT.set(context)
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "replayed": False}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER
                ]
                answer["status"] = message["status"]
                answer["replayed"] = any(k.lower() == b"idempotent-replayed" for k, _ in headers)
                message["headers"] = [*headers, (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            method, status_code = scope["method"], answer["status"]
            route = self.template(scope)
            code = str(status_code)
            metrics.HTTP_REQUESTS.labels(method, route, code).inc()
            metrics.HTTP_LATENCY.labels(method, route, code).observe(elapsed)
            if method == "POST" and route.startswith("/v1/"):
                outcome = metrics.command_outcome(status_code, answer["replayed"])
                metrics.COMMANDS.labels(route, outcome).inc()
            if scope["path"] not in QUIET:
                log.info(
                    "%s %s %d %.1f ms",
                    method,
                    scope["path"],
                    status_code,
                    elapsed * 1000,
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status_code,
                        "duration_ms": round(elapsed * 1000, 3),
                        **context,
                    },
                )
            REQUEST_CONTEXT.reset(token)


# --- readiness -------------------------------------------------------------------------------


def readiness(services: Services, current: settings.Settings) -> dict[str, Any]:
    """What ``/ready`` answers: ``ready``, and for each check whether it passed and why
    not. The database is asked on a connection of its own, so an exhausted pool does not
    read as an unreachable database, within ``FULLCHAIN_READY_TIMEOUT`` seconds."""
    bound_ms = max(int(current.ready_timeout * 1000), 1)
    checks: dict[str, Any] = {}
    try:
        with psycopg.connect(
            services.database.labelled("ready"),
            autocommit=True,
            connect_timeout=max(int(current.ready_timeout + 0.999), 1),
            options=f"-c statement_timeout={bound_ms}",
        ) as conn:
            checks["database"] = {"ok": True}
            applied = applied_migrations(conn)
            missing = [m.migration_id for m in all_migrations() if m.migration_id not in applied]
            checks["schema"] = {"ok": not missing, "missing": missing}
            state = status.snapshot(conn, [p.name for p in services.projections])
    except psycopg.Error as error:
        checks["database"] = {"ok": False, "reason": f"{type(error).__name__}: {error}".strip()}
        return {"ready": False, "checks": checks, "not_ready": ["database"]}
    lagging = {
        m.name: m.lag_events for m in state.read_models if m.lag_events > current.ready_max_lag
    }
    checks["read_models"] = {
        "ok": not lagging,
        "head": state.head,
        "max_lag": current.ready_max_lag,
        "lagging": lagging,
    }
    not_ready = [name for name, check in checks.items() if not check["ok"]]
    return {"ready": not not_ready, "checks": checks, "not_ready": not_ready}


def pool_stats(services: Services) -> dict[str, dict[str, int]]:
    pools = {"reads": checkout_stats(services.reads)}
    datastore = getattr(getattr(services.app, "recorder", None), "datastore", None)
    write = getattr(datastore, "pool", None)
    if write is not None:
        pools["writes"] = write.get_stats()
    return pools


def install(app: FastAPI, services: Services, routes: Iterable[BaseRoute]) -> None:
    """The middleware and the three endpoints; ``routes``: the API's (the routers'), to
    name the route of a request answered before routing."""
    registry = CollectorRegistry(auto_describe=False)

    def snapshot() -> metrics.Snapshot:
        with services.reads.connection() as conn:
            return status.snapshot(conn, [p.name for p in services.projections])

    registry.register(metrics.ServiceCollector(snapshot, lambda: pool_stats(services)))

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "up"})

    async def ready(_: Request) -> Response:
        current = settings.load()
        answer = await anyio.to_thread.run_sync(readiness, services, current)
        return JSONResponse(answer, status_code=200 if answer["ready"] else 503)

    async def scrape(request: Request) -> Response:
        wanted = settings.load().metrics_token
        if wanted is not None:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {wanted}".encode()):
                return JSONResponse(
                    {"title": "Unauthorized", "status": 401, "detail": "/metrics needs its token"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                    media_type="application/problem+json",
                )

        def text() -> bytes:
            return generate_latest(metrics.REGISTRY) + generate_latest(registry)

        try:
            body = await anyio.to_thread.run_sync(text)
        except psycopg.Error:
            return JSONResponse(
                {"title": "Service unavailable", "status": 503, "detail": "database unreachable"},
                status_code=503,
                headers={"Retry-After": "1"},
                media_type="application/problem+json",
            )
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_route("/health", health, methods=["GET"], include_in_schema=False)
    app.add_route("/ready", ready, methods=["GET"], include_in_schema=False)
    app.add_route("/metrics", scrape, methods=["GET"], include_in_schema=False)
    app.add_middleware(Observed, routes=lambda: [*app.router.routes, *routes])
