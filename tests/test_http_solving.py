"""A route's dependencies solved by its plan (``interface.http.solving``) answer exactly as
FastAPI's own solver does: the same values, the same errors in the same order, the same
dependencies entered and exited in the same order, the same headers and background tasks.
Each request is sent twice, once through each solver, to the same routes."""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any
from uuid import uuid4

import fastapi.routing
import pytest
from fastapi import (
    APIRouter,
    BackgroundTasks,
    Body,
    Cookie,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    Security,
)
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from fastapi.testclient import TestClient
from pydantic import AfterValidator, BaseModel, Field

from domain.staff import Role
from interface.http import relationship_reads, solving
from interface.http.app import ROUTERS, create_app
from interface.http.routing import OneTripRoute, in_thread
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_http_routing import client as api_client  # noqa: F401  (a fixture)
from tests.test_http_routing import url

#: What the dependencies of the app below did, in order.
EVENTS: list[str] = []


class Filter(BaseModel):
    """Query parameters as a model."""

    colour: str = Field(max_length=5)
    size: int = 1


class Parcel(BaseModel):
    weight: float = Field(gt=0)
    note: str | None = None


def plain(level: Annotated[int, Query(ge=0, le=9)] = 1) -> int:
    EVENTS.append(f"plain {level}")
    return level


async def coroutine(x_trace: Annotated[str | None, Header(max_length=8)] = None) -> str:
    EVENTS.append(f"coroutine {x_trace}")
    return x_trace or "-"


def generator(level: Annotated[int, Depends(plain)]) -> Iterator[str]:
    EVENTS.append("generator enter")
    try:
        yield f"g{level}"
    finally:
        EVENTS.append("generator exit")


async def function_scoped() -> AsyncIterator[str]:
    EVENTS.append("function scope enter")
    try:
        yield "f"
    finally:
        EVENTS.append("function scope exit")


async def request_scoped(trace: Annotated[str, Depends(coroutine)]) -> AsyncIterator[str]:
    EVENTS.append("request scope enter")
    try:
        yield f"r{trace}"
    finally:
        EVENTS.append("request scope exit")


def uncached(tags: Annotated[list[str], Query()] = []) -> list[str]:  # noqa: B006
    EVENTS.append(f"uncached {tags}")
    return tags


def session(sid: Annotated[str | None, Cookie(max_length=6)] = None) -> str | None:
    EVENTS.append(f"session {sid}")
    return sid


_bearer = HTTPBearer(auto_error=False)


async def scoped(
    security: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    EVENTS.append(f"scoped {security.scope_str}")
    return f"{security.scope_str}:{credentials.credentials if credentials else None}"


async def refusing(refuse: bool = False) -> None:
    EVENTS.append(f"refusing {refuse}")
    if refuse:
        raise HTTPException(409, "refused as asked")


def tasks_and_headers(tasks: BackgroundTasks, response: Response, request: Request) -> str:
    tasks.add_task(EVENTS.append, "background task")
    response.headers["X-Solved"] = "yes"
    return request.method


router = APIRouter(route_class=OneTripRoute, dependencies=[Depends(refusing)])


@router.get("/things/{thing_id}")
def read_thing(
    thing_id: int,
    level: Annotated[int, Depends(plain)],
    again: Annotated[int, Depends(plain)],
    trace: Annotated[str, Depends(coroutine)],
    held: Annotated[str, Depends(generator)],
    function: Annotated[str, Depends(function_scoped, scope="function")],
    request: Annotated[str, Depends(request_scoped)],
    tags: Annotated[list[str], Depends(uncached, use_cache=False)],
    tags_again: Annotated[list[str], Depends(uncached, use_cache=False)],
    sid: Annotated[str | None, Depends(session)],
    who: Annotated[str, Security(scoped, scopes=["things:read"])],
    filter: Annotated[Filter, Query()],
    method: Annotated[str, Depends(tasks_and_headers)],
    x_count: Annotated[int, Header(ge=0)] = 0,
    marks: Annotated[list[int] | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    # A default that validation changes: absent, it is "KG", not "kg".
    unit: Annotated[str, Query(validate_default=True), AfterValidator(str.upper)] = "kg",
) -> dict[str, Any]:
    EVENTS.append("endpoint")
    return dict(locals())


@router.post("/things")
async def make_thing(
    parcel: Parcel,
    label: Annotated[str, Body(min_length=2)],
    level: Annotated[int, Depends(plain)],
    who: Annotated[str, Security(scoped, scopes=["things:write"])],
) -> dict[str, Any]:
    EVENTS.append("endpoint")
    return {"parcel": parcel.model_dump(), "label": label, "level": level, "who": who}


@router.post("/parcels")
def make_parcel(parcel: Parcel, held: Annotated[str, Depends(generator)]) -> dict[str, Any]:
    EVENTS.append("endpoint")
    return {"parcel": parcel.model_dump(), "held": held}


def synthetic() -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    solving.install()
    return app


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/things/7", {"params": {"colour": "red"}}),
    (
        "GET",
        "/things/7",
        {
            "params": [
                ("colour", "blue"),
                ("size", "3"),
                ("level", "4"),
                ("tags", "a"),
                ("tags", "b"),
                ("page", "2"),
                ("unit", "lb"),
            ],
            "headers": {"X-Trace": "t1", "X-Count": "2", "Authorization": "Bearer tok"},
            "cookies": {"sid": "abc"},
        },
    ),
    # Errors from every source at once, in FastAPI's order.
    (
        "GET",
        "/things/seven",
        {
            "params": {"colour": "turquoise", "size": "big", "level": "12", "page": "0"},
            "headers": {"X-Trace": "far-too-long", "X-Count": "-1"},
            "cookies": {"sid": "much-too-long"},
        },
    ),
    ("GET", "/things/7", {}),  # the query model missing
    ("GET", "/things/7", {"params": {"colour": "red", "refuse": "true"}}),
    ("GET", "/things/7", {"params": {"colour": "red", "refuse": "maybe"}}),
    ("POST", "/things", {"json": {"parcel": {"weight": 2.5}, "label": "box"}}),
    ("POST", "/things", {"json": {"parcel": {"weight": -1}, "label": "b"}}),
    ("POST", "/things", {"json": {"label": "box"}, "params": {"level": "x"}}),
    ("POST", "/things", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/parcels", {"json": {"weight": 1, "note": "fragile"}}),
    ("POST", "/parcels", {"json": [1, 2]}),
    ("POST", "/parcels", {"params": {"level": "3"}}),
]


def _answer(client: TestClient, method: str, path: str, kwargs: dict[str, Any]) -> Any:
    EVENTS.clear()
    for name, value in kwargs.get("cookies", {}).items():
        client.cookies.set(name, value)
    sent = {k: v for k, v in kwargs.items() if k != "cookies"}
    response = client.request(method, path, **sent)
    client.cookies.clear()
    headers = {k: v for k, v in response.headers.items() if k != "date"}
    return response.status_code, response.text, headers, list(EVENTS)


def _both(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, **kwargs: Any
) -> tuple[Any, Any]:
    planned = _answer(client, method, path, kwargs)
    with monkeypatch.context() as m:
        m.setattr(fastapi.routing, "solve_dependencies", solving._fastapi_solve)
        own = _answer(client, method, path, kwargs)
    return planned, own


def test_every_route_of_the_app_is_planned() -> None:
    app = synthetic()
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 3
    for route in routes:
        assert type(route.dependant) is not solving.Planned  # the tree the document reads
    # The handlers solve a planned tree: a request reaches ``_solve``.
    reached: list[solving.Plan] = []
    solve = solving._solve

    async def counted(node: solving.Plan, request: Any) -> Any:
        reached.append(node)
        return await solve(node, request)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(solving, "_solve", counted)
        assert TestClient(app).get("/things/1", params={"colour": "red"}).status_code == 200
    assert reached


def test_the_planned_solver_answers_as_fastapis_own(monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(synthetic())
    statuses = set()
    for method, path, kwargs in REQUESTS:
        planned, own = _both(client, monkeypatch, method, path, **kwargs)
        assert planned == own, (method, path, kwargs)
        statuses.add(planned[0])
    # The requests reach answers, refusals by a dependency and validation errors alike.
    assert statuses == {200, 409, 422}


def test_its_order_of_entering_and_leaving_dependencies_is_fastapis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = TestClient(synthetic())
    planned, own = _both(
        client, monkeypatch, "GET", "/things/7", params={"colour": "red", "tags": "t"}
    )
    assert planned == own
    status, body, headers, events = planned
    assert status == 200
    assert headers["x-solved"] == "yes"
    # Cached dependencies run once, uncached ones each time, in the order declared; the
    # function-scoped generator exits as the endpoint returns; the background task runs
    # with the answer sent; the request-scoped generators exit last, latest entered first.
    assert events == [
        "refusing False",
        "plain 1",
        "coroutine None",
        "generator enter",
        "function scope enter",
        "request scope enter",
        "uncached ['t']",
        "uncached ['t']",
        "session None",
        "scoped things:read",
        "endpoint",
        "function scope exit",
        "background task",
        "request scope exit",
        "generator exit",
    ]
    assert '"who":"things:read:None"' in body


# --- the API's own routes -----------------------------------------------------------------


def _without_request_ids(answer: Any) -> Any:
    status, text, headers, events = answer
    text = re.sub(r'"(instance|request_id)":"[^"]*"', r'"\1":""', text)
    headers = {k: v for k, v in headers.items() if k not in ("x-request-id", "server-timing")}
    return status, text, headers, events


def test_every_read_of_the_api_refuses_bad_input_as_fastapis_own_solver_would(
    api_client: TestClient,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every GET of the API, with each query parameter it takes given a value few
    parameters take (a word where a number goes, a number out of range), with a bad path
    id, and with an unknown token: the same status from both solvers, and the same
    refusal word for word."""
    compared = refused = 0
    for route in (r for included in ROUTERS for r in included.routes):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        query = {f.alias for f in _query_fields(route)}
        asks = [
            (url(route.path), {"params": dict.fromkeys(query, "-1x")}),
            (url(route.path), {"params": dict.fromkeys(query, "-5")}),
            (re.sub(r"\{\w+\}", "not-an-id", route.path), {}),
            (url(route.path), {"headers": {"Authorization": "Bearer nobody's"}}),
        ]
        for path, kwargs in asks:
            planned, own = _both(api_client, monkeypatch, "GET", path, **kwargs)
            assert planned[0] == own[0], (path, kwargs, planned, own)
            assert planned[0] < 500, (path, kwargs, planned)
            if planned[0] >= 400:  # a refusal: word for word (an answer tells the time)
                assert _without_request_ids(planned) == _without_request_ids(own), path
                refused += 1
            compared += 1
    assert compared > 200
    assert refused > compared / 2


def _query_fields(route: APIRoute) -> list[Any]:
    fields, pending = [], [route.dependant]
    while pending:
        d = pending.pop()
        fields.extend(d.query_params)
        pending.extend(d.dependencies)
    return fields


# --- the endpoint's thread and its read connection -----------------------------------------

_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


def test_an_endpoint_runs_in_a_thread_in_its_callers_context_and_raises_as_it_does() -> None:
    def who(suffix: str) -> str:
        return _caller.get() + suffix

    def fails() -> None:
        raise LookupError("as raised in the thread")

    async def scenario() -> None:
        _caller.set("qian.lin")
        assert await in_thread(who, "!") == "qian.lin!"
        with pytest.raises(LookupError, match="as raised in the thread"):
            await in_thread(fails)

    asyncio.run(scenario())


def test_a_cancelled_caller_is_cancelled_only_once_its_endpoint_has_returned() -> None:
    """A client that goes away mid-read cancels its request; the endpoint's thread still
    holds the read's connection, so the request must not end (and give the connection
    back) before the thread does."""
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def endpoint() -> str:
        started.set()
        release.wait(timeout=30)
        finished.append("returned")
        return "answer"

    async def scenario() -> None:
        request = asyncio.create_task(in_thread(endpoint))
        await asyncio.to_thread(started.wait, 30)
        request.cancel()
        for _ in range(20):  # the loop runs on: the request still waits for its thread
            await asyncio.sleep(0)
        assert not request.done()
        assert finished == []
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await request
        assert finished == ["returned"]

    asyncio.run(scenario())


def test_a_read_that_fails_gives_its_connection_back(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = enroll(services, "qian.lin", "Qian Lin 钱琳", roles=(Role.HQ,))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the query failed")

    monkeypatch.setattr(relationship_reads, "get_account", broken)
    most = services.reads.get_stats()["pool_max"]
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for _ in range(2 * most):
            failed = client.get(f"/v1/relationships/{uuid4()}")
            assert failed.status_code == 500
        stats = services.reads.get_stats()
        assert stats["pool_size"] == stats.get("pool_available", 0), stats
        monkeypatch.undo()
        assert client.get("/v1/relationships").status_code == 200
