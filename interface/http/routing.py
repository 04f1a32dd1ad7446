"""What the routes declare, asked of the routes themselves: the methods a path has, whether a
request reaches an endpoint at all, and the query parameters an endpoint takes."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import inspect
import re
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fastapi
import fastapi.routing
from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from interface.http import solving

UNKNOWN_QUERY_PARAMETER = "unknown query parameter"
_DECLARED_QUERY = "_fullchain_declared_query"


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
    """The query parameters the endpoint takes: its own and its dependencies'. Worked out
    once and kept on the route, with the dependency tree it was worked out from."""
    kept: tuple[Dependant, frozenset[str]] | None = getattr(route, _DECLARED_QUERY, None)
    if kept is not None and kept[0] is route.dependant:
        return kept[1]
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    declared = frozenset(names)
    setattr(route, _DECLARED_QUERY, (route.dependant, declared))
    return declared


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


#: The threads plain endpoints run in: as many as anyio's default thread limiter allows,
#: which starlette's ``run_in_threadpool`` uses for the rest.
ENDPOINT_THREADS = 40
_endpoint_threads = ThreadPoolExecutor(ENDPOINT_THREADS, thread_name_prefix="endpoint")


async def in_thread(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` in a thread, in a copy of the caller's context, as
    starlette's ``run_in_threadpool`` runs it, without its asking on every call which event
    loop library runs it (a hop took 72 µs of CPU that way, 43 µs this way). As with
    ``run_in_threadpool``, a cancelled caller waits for the thread to finish before it is
    cancelled, so nothing the function holds is released under it."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    running = asyncio.get_running_loop().run_in_executor(_endpoint_threads, call)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        while not running.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait((running,))
        raise


def one_thread_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A plain endpoint as a coroutine that runs it in a thread (``in_thread``). FastAPI
    runs a plain endpoint in the thread pool too, but then validates its answer in a second
    trip to the pool; for a coroutine it validates on the event loop. (The signature
    FastAPI reads is the endpoint's own, through ``__wrapped__``.)"""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await in_thread(endpoint, *args, **kwargs)

    return run


def _asks_nothing(dependant: Dependant) -> bool:
    """Whether a dependency and everything it depends on take nothing from the request
    (no path, query, header, cookie or body parameter) and no security scopes: solving it
    can fail only by raising, never with a list of invalid fields."""
    pending = [dependant]
    while pending:
        d = pending.pop()
        if (
            d.path_params
            or d.query_params
            or d.header_params
            or d.cookie_params
            or d.body_params
            or d.own_oauth_scopes
            or d.security_scopes_param_name
        ):
            return False
        pending.extend(d.dependencies)
    return True


def solved_once(dependant: Dependant) -> Dependant:
    """The dependency tree as FastAPI solves it, each shared dependency's subtree solved
    once. FastAPI solves the subtree of every use of a dependency before it finds the value
    cached by the first: ``current_staff``'s, under the roles, the freshness wait and the
    query check of every read, three times a request. A later use of a cached dependency
    that asks nothing of the request keeps its call and loses its subtree: the first use
    has cached its value (or raised, and nothing later runs), so the value is the same."""
    solved: set[Any] = set()

    def walk(d: Dependant) -> Dependant:
        subs = []
        for sub in d.dependencies:
            key = (sub.call, sub.scope)
            cached = sub.use_cache and _asks_nothing(sub)
            if cached and key in solved:
                subs.append(dataclasses.replace(sub, dependencies=[]))
                continue
            subs.append(walk(sub))
            if cached:
                solved.add(key)
        return dataclasses.replace(d, dependencies=subs)

    return walk(dependant)


class OneTripRoute(APIRoute):
    """A route whose plain endpoint costs one trip to the thread pool, not two (see
    ``one_thread_trip``), whose shared dependencies are solved once a request (see
    ``solved_once``), by a plan made once (``interface.http.solving``). Every router of the
    API makes its routes of this class."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = one_thread_trip(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # FastAPI builds the handler of a route included in the app from the route as
        # included (the app's dependencies and the router's with the route's), which it
        # names in a context variable while it builds it (pinned by constraints.txt; the
        # handler is FastAPI's own either way).
        included = getattr(fastapi.routing, "_effective_route_context_var", None)
        context = included.get() if included is not None else None
        route = context if context is not None and context.original_route is self else self
        declared = route.dependant
        route.dependant = solving.plan(solved_once(declared))
        try:
            return super().get_route_handler()
        finally:
            route.dependant = declared  # the document and the role table read the tree


# --- matching a request to its route by the shape of its path ---------------------------------

#: A path segment that is a UUID, or a number: what tells two requests of one route apart.
_UUID_SEGMENT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_AN_ID, _A_NUMBER, _NOWHERE = object(), object(), -1
#: The parameters a route's path may have for the index to answer for it.
_CONVERTORS = ("", ":str", ":int", ":float", ":uuid", ":path")
_PARAMETER = re.compile(
    r"\{[A-Za-z_][A-Za-z0-9_]*(" + "|".join(map(re.escape, _CONVERTORS[1:])) + r")?\}"
)
#: Shapes kept per router, at most (a client sending paths of ever new shapes empties it).
_SHAPES_KEPT = 4096
_SHAPE_KEY = "fullchain.path_shape"


def _segment_shape(segment: str) -> object:
    if len(segment) == 36 and _UUID_SEGMENT.fullmatch(segment):
        return _AN_ID
    if segment.isascii() and segment.isdigit():
        return _A_NUMBER
    return segment


def path_shape(scope: Scope) -> tuple[str, tuple[object, ...]]:
    """The request's method and the shape of its path: the path with every segment that is
    a UUID or a number replaced by a mark of its kind (kept in the scope, for the request's
    other routers and for a copy of its scope with another path)."""
    path = get_route_path(scope)
    kept = scope.get(_SHAPE_KEY)
    if kept is not None and kept[0] == path and kept[1] == scope["method"]:
        return kept[2]  # type: ignore[no-any-return]
    shape = (scope["method"], tuple(map(_segment_shape, path.split("/"))))
    scope[_SHAPE_KEY] = (path, scope["method"], shape)
    return shape


def _answers_by_shape(template: str) -> bool:
    """Whether a route of this path answers every path of a shape alike: each segment of it
    is a parameter on its own, or a word that no UUID or number can be."""
    for segment in template.split("/"):
        if "{" in segment or "}" in segment:
            if not _PARAMETER.fullmatch(segment):
                return False
        elif _segment_shape(segment) is not segment:
            return False
    return True


class IndexedRouter(fastapi.routing._IncludedRouter):
    """A router included in the app that remembers, by the shape of a request's path and
    its method, which of its routes answered (``path_shape``), and asks that route alone
    the next time. Whether a route takes a path depends only on its shape, when every route
    of the router passes ``_answers_by_shape`` (checked, else the router scans as FastAPI
    does): two paths of one shape differ only in segments that are each a whole parameter
    of every route, and a parameter takes every UUID or every number alike. No two routes
    take the same request (tests/test_http_routing.py), so the route remembered is the one
    the scan would find. The scan of FastAPI's own router tried every route before it, and
    ran twice per request (``matches``, then ``handle``): a command on a relationship was
    tried against some 40 routes."""

    _shapes: dict[tuple[str, tuple[object, ...]], tuple[int, Match]] | None
    _shapes_version: int | None

    @classmethod
    def install(cls, app: fastapi.FastAPI) -> None:
        """Index every router included in ``app``."""
        for route in app.router.routes:
            if type(route) is fastapi.routing._IncludedRouter:
                route.__class__ = cls
                assert isinstance(route, IndexedRouter)
                route._shapes, route._shapes_version = None, None

    def _indexed(
        self,
    ) -> tuple[list[Any], dict[tuple[str, tuple[object, ...]], tuple[int, Match]] | None]:
        candidates = self.effective_candidates()
        version = self.original_router._get_routes_version()
        if version != self._shapes_version:
            alike = all(
                isinstance(c, fastapi.routing._EffectiveRouteContext)
                and isinstance(c.original_route, APIRoute)
                and _answers_by_shape(c.path)
                for c in candidates
            )
            self._shapes, self._shapes_version = ({} if alike else None), version
        return candidates, self._shapes

    def _match(self, scope: Scope) -> Any:
        candidates, shapes = self._indexed()
        if shapes is None or scope.get("type") != "http":
            return super()._match(scope)
        shape = path_shape(scope)
        known = shapes.get(shape)
        if known is not None:
            at, kind = known
            if kind is Match.NONE:
                return Match.NONE, {}, None, None
            context = candidates[at]
            # Asked as the scan asks it (``APIRoute.matches`` in its effective context).
            match, child_scope = context.matches(scope)
            if match is kind:
                child_scope["route"] = context.original_route
                return match, child_scope, context.original_route, context
        found = super()._match(scope)
        if len(shapes) >= _SHAPES_KEPT:
            shapes.clear()
        at = next((i for i, c in enumerate(candidates) if c is found[3]), _NOWHERE)
        if found[0] is Match.NONE or at != _NOWHERE:
            shapes[shape] = (at, found[0])
        return found
