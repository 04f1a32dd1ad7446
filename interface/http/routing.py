"""What the routes declare, asked of the routes themselves: the methods a path has, whether a
request reaches an endpoint at all, and the query parameters an endpoint takes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

UNKNOWN_QUERY_PARAMETER = "unknown query parameter"


#: The methods a path may have.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def methods_at(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method the request's path has, whichever route declares it (for ``Allow``):
    asked of the routes as the router asks them, so routers included in routers count."""
    routes = list(routes)
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def reaches_endpoint(scope: Scope) -> bool:
    """Whether a route takes the request's path and method; if none does, the router
    answers 404 or 405, whatever the request carries."""
    routes: list[BaseRoute] = scope["app"].router.routes
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters the endpoint takes: its own and its dependencies' (a walk of a
    few dozen objects, cheaper than keeping it)."""
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


def refuse_unknown_query(request: Request) -> None:
    """422 for a query parameter the endpoint does not take, naming it: one the client
    misspelt, or a filter the endpoint does not have, would otherwise be ignored and the
    answer hold everything."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = declared_query(route)
    unknown = dict.fromkeys(name for name in request.query_params if name not in known)
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": UNKNOWN_QUERY_PARAMETER, "type": "unknown"}
                for name in unknown
            ]
        )


def one_thread_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A plain endpoint as a coroutine that runs it in the thread pool. FastAPI runs a plain
    endpoint there too, but then validates its answer in a second trip to the pool; for a
    coroutine it validates on the event loop. (The signature FastAPI reads is the
    endpoint's own, through ``__wrapped__``.)"""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class OneTripRoute(APIRoute):
    """A route whose plain endpoint costs one trip to the thread pool, not two (see
    ``one_thread_trip``). Every router of the API makes its routes of this class."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = one_thread_trip(endpoint)
        super().__init__(path, endpoint, **kwargs)
