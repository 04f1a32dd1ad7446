"""What the routes declare is what a request gets: a method a path does not have is 405
naming every method it has, whatever Idempotency-Key the request carries; a query
parameter an endpoint does not take is 422 naming it, on every endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID, uuid4

import fastapi.dependencies.utils
import fastapi.routing
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from domain.staff import Role
from interface.http import routing, solving
from interface.http.app import ROUTERS, create_app
from interface.http.deps import _bearer, current_staff
from interface.http.routing import IndexedRouter, solved_once
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_self_service import one_link_shipment

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "qian.lin", "Qian Lin 钱琳", roles=(Role.HQ, Role.ADMIN))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def document(client: TestClient) -> dict[str, Any]:
    served: dict[str, Any] = client.get("/openapi.json").json()
    return served


def url(path: str) -> str:
    """The path with every parameter named: ids nobody has, and plain values."""
    values = {"contact_id": "c1", "sequence": "1", "staff_id": "nobody", "role": "hq"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid4())), path)


def register(client: TestClient, **headers: str) -> Any:
    body = {"name": "苏州华芯电子", "kind": "prospect", "industry": "electronics"}
    body |= {"region": "East China", "branch": "Suzhou"}
    return client.post("/v1/relationships", json=body, headers=headers)


def test_a_method_a_path_lacks_is_405_naming_every_method_it_has(client: TestClient) -> None:
    checked = 0
    for path, item in document(client)["paths"].items():
        has = sorted(m.upper() for m in item if m in METHODS)
        for method in (m for m in METHODS if m not in item):
            response = client.request(method.upper(), url(path), json={})
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["Allow"] == ", ".join(has), (method, path)
            assert response.headers["content-type"] == "application/problem+json"
            assert ", ".join(has) in response.json()["detail"]
            checked += 1
    assert checked > 300
    assert client.put("/v1/relationships", json={}).headers["Allow"] == "GET, POST"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_an_idempotency_key_never_turns_a_wrong_method_into_another_answer(
    client: TestClient, method: str
) -> None:
    created = register(client, **{"Idempotency-Key": "first"})
    assert created.status_code == 201
    rid = created.json()["aggregate_id"]
    rename = f"/v1/relationships/{rid}/rename"
    for key in ("first", "fresh-key", "bad\x7fkey", " "):
        # A key used by another request, a fresh one, one that is not a key at all.
        for path in (rename, "/v1/relationships"):
            response = client.request(
                method, path, json={"name": "x"}, headers={"Idempotency-Key": key}
            )
            assert response.status_code == 405, (key, path, response.text)
            assert "Idempotent-Replayed" not in response.headers
    # A POST to a path that only reads, with a key, is 405 too.
    audit = client.post(
        f"/v1/shipments/{uuid4()}/responsibility", json={}, headers={"Idempotency-Key": "first"}
    )
    assert (audit.status_code, audit.headers["Allow"]) == (405, "GET")
    # Nothing was claimed: the fresh key still makes its first command.
    renamed = client.post(rename, json={"name": "B"}, headers={"Idempotency-Key": "fresh-key"})
    assert renamed.status_code == 200
    assert "Idempotent-Replayed" not in renamed.headers


def test_a_query_parameter_an_endpoint_does_not_take_is_422_naming_it_everywhere(
    client: TestClient, services: Services
) -> None:
    body = {"name": "苏州华芯电子", "kind": "customer", "industry": "electronics"}
    body |= {"region": "East China", "branch": "Suzhou"}
    rid = client.post("/v1/relationships", json=body).json()["aggregate_id"]
    token = enroll(services, "buyer.one", "Buyer", customer_id=UUID(rid))
    customer = {"Authorization": f"Bearer {token}"}
    # A customer user's path names a record of its own: one of another is not found first.
    shipment = str(one_link_shipment(services, UUID(rid), "SZV-1"))
    checked = 0
    for path, item in document(client)["paths"].items():
        for method, operation in item.items():
            assert "422" in operation["responses"], (method, path)
            # ?q= is silently ignored nowhere: refused, except by the search that takes it.
            unknown = "qq" if path == "/v1/search" else "q"
            # Self-service is a customer user's only: asked as one.
            own = path.startswith("/v1/self-service/")
            where = url(path.replace("{shipment_id}", shipment) if own else path)
            response = client.request(
                method.upper(),
                where,
                params={unknown: "x", "path": "y"},
                json={},
                headers=customer if own else {},
            )
            assert response.status_code == 422, (method, path, response.text)
            assert response.json()["errors"] == [
                {"field": unknown, "reason": "unknown query parameter"},
                {"field": "path", "reason": "unknown query parameter"},
            ], (method, path)
            checked += 1
    assert checked == sum(len(item) for item in document(client)["paths"].values()) > 100


def test_declared_query_parameters_pass_and_the_refusal_comes_after_identity(
    client: TestClient, services: Services
) -> None:
    params = {"kind": "prospect", "min_position": 0, "wait": 0, "limit": 5}
    assert client.get("/v1/relationships", params=params).status_code == 200
    # Search is not a filter of this list: refused, not ignored with everything listed.
    register(client)
    searched = client.get("/v1/relationships", params={"q": "nothing like it"})
    assert searched.status_code == 422
    assert searched.json()["errors"][0]["field"] == "q"
    # Who asks, and whether they may, is answered first.
    anonymous = client.get("/v1/relationships", params={"q": "x"}, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    auditor = enroll(services, "gao.min", "Gao Min", roles=(Role.AUDITOR,))
    refused = client.get(
        "/v1/staff", params={"q": "x"}, headers={"Authorization": f"Bearer {auditor}"}
    )
    assert refused.status_code == 403


# --- shared dependencies, solved once -----------------------------------------------------


async def _staff() -> str:
    return "staff"


async def _roles(staff: str = Depends(_staff)) -> str:
    return staff


async def _limit(limit: int = Query(1)) -> int:
    return limit


def _tree(*deps: Any) -> Dependant:
    """An endpoint's dependency tree, depending on ``deps`` in turn."""

    async def endpoint() -> None:
        return None

    uses = [get_dependant(path="/x", call=d, name=None) for d in deps]
    return Dependant(call=endpoint, dependencies=uses)


def _calls(d: Dependant) -> list[Any]:
    """Every call of the tree in the order FastAPI solves it (depth first)."""
    return [c for sub in d.dependencies for c in [*_calls(sub), sub.call]]


def test_a_shared_dependency_is_solved_once_and_one_that_reads_the_request_every_time() -> None:
    tree = _tree(_roles, _roles, _staff, _limit, _limit)
    assert _calls(tree) == [_staff, _roles, _staff, _roles, _staff, _limit, _limit]
    once = solved_once(tree)
    # The later uses of _roles and _staff keep their calls (their cached values) and
    # lose their subtrees; _limit reads a query parameter: solved every time.
    assert _calls(once) == [_staff, _roles, _roles, _staff, _limit, _limit]
    assert [len(d.dependencies) for d in once.dependencies] == [1, 0, 0, 0, 0]
    assert _calls(tree) == [_staff, _roles, _staff, _roles, _staff, _limit, _limit]  # untouched


def test_a_read_solves_each_shared_dependency_once_and_answers_as_before(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = register(client).json()
    rid = registered["aggregate_id"]
    for projection in services.projections:
        services.worker(projection).catch_up()
    solve = solving._solve
    solved: list[Any] = []

    async def counted(node: solving.Plan, request: Any) -> Any:
        solved.extend(step.dependant.call for step in node.steps)
        return await solve(node, request)

    monkeypatch.setattr(solving, "_solve", counted)
    fresh = TestClient(create_app(services))  # its handlers solve through ``counted``
    fresh.headers.update(client.headers)
    answer = fresh.get(f"/v1/relationships/{rid}", params={"min_position": registered["position"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "苏州华芯电子"
    # current_staff is depended on by the query check, the roles and the freshness wait:
    # its subtree (the bearer token) is solved once, its later uses take its value.
    assert solved.count(current_staff) == 3
    assert solved.count(_bearer) == 1
    refused = fresh.get(f"/v1/relationships/{rid}", params={"min_position": -1, "wait": 99})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"min_position", "wait"}


def _could_both_match(a: str, b: str) -> bool:
    """Whether some path matches both templates: a parameter matches any one segment, a
    ``:path`` parameter (last) any rest of the path."""
    first, second = a.strip("/").split("/"), b.strip("/").split("/")

    def rest(parts: list[str]) -> int | None:
        return len(parts) - 1 if parts and parts[-1].endswith(":path}") else None

    def same(x: str, y: str) -> bool:
        return x == y or x.startswith("{") or y.startswith("{")

    for one, other in ((first, second), (second, first)):
        at = rest(one)
        if at is not None:
            return len(other) > at and all(
                same(x, y) for x, y in zip(one[:at], other, strict=False)
            )
    return len(first) == len(second) and all(same(x, y) for x, y in zip(first, second, strict=True))


def test_no_two_routes_answer_the_same_request(client: TestClient) -> None:
    """Which route answers a request never depends on the order of the routes: a route
    shadowed by another would never be reached, and the routers are ordered for speed."""
    routes = [
        (route.path, frozenset(route.methods or ()))
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute | Route)
    ]
    for router in ROUTERS:
        routes += [
            (route.path, frozenset(route.methods or ()))
            for route in router.routes
            if isinstance(route, APIRoute)
        ]
    assert len(routes) > 200
    clashes = [
        (sorted(methods & other_methods), path, other)
        for i, (path, methods) in enumerate(routes)
        for other, other_methods in routes[i + 1 :]
        if methods & other_methods and path != other and _could_both_match(path, other)
    ]
    assert clashes == []


def _scan(router: Any, scope: dict[str, Any]) -> tuple[Any, ...]:
    """What FastAPI's own scan of the router's routes finds."""
    found = fastapi.routing._IncludedRouter._match(router, scope)
    return tuple(found)


def _requests(paths: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Requests of every method on each documented path, with its ids in several forms,
    and paths no route has."""
    ids = [str(uuid4()), str(uuid4()).upper(), "7", "0042", "not-an-id", "٣"]
    for path in [*paths, "/v1/nowhere", "/v1/relationships/x/y/z", "/"]:
        for value in ids:
            concrete = re.sub(r"\{(\w+)\}", value, path)
            for method in (*(m.upper() for m in METHODS), "HEAD"):
                yield {"type": "http", "method": method, "path": concrete, "root_path": ""}


def test_the_routes_index_finds_what_fastapis_scan_finds_every_time(client: TestClient) -> None:
    app = client.app
    routers = [r for r in app.router.routes if isinstance(r, IndexedRouter)]  # type: ignore[attr-defined]
    assert len(routers) == len(ROUTERS) + 1  # and the console's sign-in
    paths = list(document(client)["paths"])
    compared = 0
    for request in _requests(paths):
        for router in routers:
            expected = _scan(router, dict(request))
            for _ in range(2):  # the first asks the routes; the second, the index
                found = tuple(router._match(dict(request)))
                assert found[0] == expected[0], (request, router)
                assert found[2] is expected[2]
                assert found[3] is expected[3]
                assert found[1] == expected[1]
                compared += 1
    assert compared > 10_000


def test_a_request_of_a_known_shape_is_asked_of_one_route(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    plain = fastapi.routing._EffectiveRouteContext.matches

    def counted(self: Any, scope: Any) -> Any:
        asked.append(self.path)
        return plain(self, scope)

    monkeypatch.setattr(fastapi.routing._EffectiveRouteContext, "matches", counted)
    first = client.post(f"/v1/relationships/{uuid4()}/interactions", json={})
    assert first.status_code == 422
    before = len(asked)
    again = client.post(f"/v1/relationships/{uuid4()}/interactions", json={})
    assert again.status_code == 422
    # The request guards' check, the router's match and its handling: its own route each.
    assert asked[before:] == ["/v1/relationships/{relationship_id}/interactions"] * 3
    assert before > 20  # the first scanned the routes of the routers before its own


def test_a_router_whose_routes_shape_cannot_tell_apart_is_scanned() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/v1/files/a{name}")
    def a_file(name: str) -> str:
        return name

    @router.get("/v1/files/{name}/2024")
    def of_a_year(name: str) -> str:
        return name

    app.include_router(router)
    IndexedRouter.install(app)
    (included,) = [r for r in app.router.routes if isinstance(r, IndexedRouter)]
    assert included._indexed()[1] is None
    with TestClient(app) as c:
        assert c.get("/v1/files/abc").json() == "bc"
        assert c.get(f"/v1/files/a{uuid4()}").status_code == 200
        assert c.get(f"/v1/files/b{uuid4()}").status_code == 404


def test_the_index_of_shapes_is_bounded(client: TestClient) -> None:
    (router,) = [
        r
        for r in client.app.router.routes  # type: ignore[attr-defined]
        if isinstance(r, IndexedRouter) and r.original_router is ROUTERS[0]
    ]
    for n in range(routing._SHAPES_KEPT + 10):
        router._match({"type": "http", "method": "GET", "path": f"/v1/x{n}", "root_path": ""})
    assert router._shapes is not None
    assert 0 < len(router._shapes) <= routing._SHAPES_KEPT
