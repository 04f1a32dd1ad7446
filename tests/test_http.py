"""The HTTP interface end to end: FastAPI over real PostgreSQL with a live worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.tokens import ADMIN_TOKEN_VARIABLE
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.staffing import enroll
from tests.waiting import read_fresh


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "li.wei", "Li Wei 李伟")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def register(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "苏州华芯电子有限公司",
        "kind": "prospect",
        "industry": "electronics",
        "region": "East China",
        "branch": "Suzhou",
        **overrides,
    }
    response = client.post("/v1/relationships", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def read(client: TestClient, rid: str, position: int) -> dict[str, Any]:
    response = read_fresh(client, f"/v1/relationships/{rid}", min_position=position)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_register_then_read_your_own_write(client: TestClient) -> None:
    response = client.post(
        "/v1/relationships",
        json={
            "name": "苏州华芯电子有限公司",
            "kind": "prospect",
            "industry": "electronics",
            "region": "East China",
            "branch": "Suzhou",
        },
    )
    assert response.status_code == 201
    accepted = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/relationships/{accepted['aggregate_id']}"
    row = read(client, accepted["aggregate_id"], accepted["position"])
    assert row["name"] == "苏州华芯电子有限公司"  # non-ASCII round-trips
    assert (row["kind"], row["lifecycle"], row["version"]) == ("prospect", "active", 1)


def test_commands_work_the_relationship_and_record_the_actor(
    client: TestClient, services: Services
) -> None:
    rid = register(client)["aggregate_id"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("qualify", {"reason": "20 t/month to the US"}),
        ("first-business", {"reference": "SZX-0001"}),
        ("designate-key-account", {"reason": "top exporter"}),
        ("assign-team", {"field_rep": "zhang.min", "office_rep": "chen.jing"}),
        ("contacts", {"contact_id": "c1", "name": "王芳", "email": "wang@huaxin.cn"}),
        (
            "interactions",
            {
                "channel": "visit",
                "direction": "outbound",
                "summary": "拜访，讨论芝加哥空运方案",
                "occurred_at": (NOW - timedelta(days=2)).isoformat(),
            },
        ),
        ("care-actions", {"care_kind": "satisfaction_call", "note": "满意"}),
        ("contacts/c1/change", {"phone": "+86 512 6666 0000"}),
    ]
    last: dict[str, Any] = {}
    for path, body in steps:
        response = client.post(f"/v1/relationships/{rid}/{path}", json=body)
        assert response.status_code == 200, (path, response.text)
        last = response.json()
    row = read(client, rid, last["position"])
    assert row["kind"] == "customer"
    assert row["key_account"] is True
    assert (row["field_rep"], row["office_rep"]) == ("zhang.min", "chen.jing")
    assert row["contact_count"] == 1
    assert row["last_interaction_channel"] == "visit"
    assert row["interactions_last_90_days"] == 1
    assert row["version"] == last["version"] == len(steps) + 1
    relationship = services.app.relationships.get_relationship(UUID(rid))
    assert relationship.contacts["c1"].phone == "+86 512 6666 0000"
    with services.database.connect() as conn:
        actors = conn.execute(
            "SELECT DISTINCT convert_from(state, 'UTF8')::json->>'actor' FROM fullchain_events "
            "WHERE topic LIKE 'Relationship.%'"
        ).fetchall()
    assert actors == [("li.wei",)]


def test_authentication_is_required(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    anonymous = {"Authorization": ""}
    response = client.get("/v1/relationships", headers=anonymous)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = client.get("/v1/relationships", headers={"Authorization": "Bearer fc_nonsense"})
    assert bad.status_code == 401
    monkeypatch.setenv(ADMIN_TOKEN_VARIABLE, "automation-secret-123")
    admin = {"Authorization": "Bearer automation-secret-123"}
    enrolled = client.post(
        "/v1/staff",
        headers=admin,
        json={
            "staff_id": "wang.fang",
            "name": "王芳",
            "branch": "Suzhou",
            "roles": ["office_staff"],
        },
    )
    assert enrolled.status_code == 201
    # The administrator manages staff; customer work is not theirs.
    assert client.get("/v1/relationships", headers=admin).status_code == 403


def test_refusals_are_problem_details_and_change_nothing(client: TestClient) -> None:
    accepted = register(client, kind="partner")
    rid = accepted["aggregate_id"]

    refused = client.post(f"/v1/relationships/{rid}/first-business", json={"reference": "x"})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["rule"] == "kind.first_business_only_prospect_or_target"
    assert problem["status"] == 409

    unknown = client.post(f"/v1/relationships/{uuid4()}/rename", json={"name": "x"})
    assert unknown.status_code == 404
    unknown_contact = client.post(f"/v1/relationships/{rid}/contacts/nobody/remove", json={})
    assert unknown_contact.status_code == 404

    too_long = client.post(f"/v1/relationships/{rid}/rename", json={"name": "x" * 201})
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "name"

    future = (NOW + timedelta(hours=1)).isoformat()
    in_future = client.post(
        f"/v1/relationships/{rid}/rename", json={"name": "Later", "occurred_at": future}
    )
    assert in_future.status_code == 422
    assert in_future.json()["errors"][0]["field"] == "occurred_at"

    unknown_field = client.post(f"/v1/relationships/{rid}/rename", json={"name": "A", "x": 1})
    assert unknown_field.status_code == 422

    bad_kind = client.post(
        "/v1/relationships",
        json={"name": "A", "kind": "friend", "industry": "x", "region": "x", "branch": "x"},
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["errors"][0]["field"] == "kind"

    row = read(client, rid, accepted["position"])
    assert row["version"] == 1  # none of the refused commands wrote anything


def test_text_with_nul_is_refused_before_it_can_stop_a_read_model(client: TestClient) -> None:
    # PostgreSQL text cannot hold U+0000: accepted into the log, such a name stopped the
    # account-status worker for good; as a list filter it was a 500.
    refused = client.post(
        "/v1/relationships",
        json={"name": "A\x00B", "kind": "prospect", "industry": "x", "region": "x", "branch": "x"},
    )
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"] == [
        {"field": "name", "reason": "text must not contain the NUL character (U+0000)"}
    ]
    nested = client.post(
        "/v1/shipments",
        json={
            "customer_id": str(uuid4()),
            "reference": "R-1",
            "origin": "Suzhou",
            "destination": "Chicago",
            "cargo": {
                "description": "laptops\x00",
                "packages": 1,
                "gross_weight_kg": "10",
                "declared_value": "100",
                "currency": "USD",
            },
            "links": [],
        },
    )
    assert nested.status_code == 422
    assert nested.json()["errors"][0]["field"] == "cargo.description"
    for path, name in [
        ("/v1/relationships", "branch"),
        ("/v1/relationships", "team_member"),
        ("/v1/shipments", "branch"),
        ("/v1/audit/findings", "branch"),
        ("/v1/decisions/pipeline", "region"),
    ]:
        filtered = client.get(path, params={name: "Su\x00zhou"})
        assert filtered.status_code == 422, (path, name)
        assert filtered.json()["errors"][0]["field"] == name
    # The worker kept going: a later write is read back.
    accepted = register(client)
    assert read(client, accepted["aggregate_id"], accepted["position"])["version"] == 1


def test_a_body_that_is_not_utf8_is_invalid_input(client: TestClient) -> None:
    rid = register(client)["aggregate_id"]
    response = client.post(
        f"/v1/relationships/{rid}/rename",
        content=b'{"name": "\xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


def test_if_match_guards_against_lost_updates(client: TestClient) -> None:
    rid = register(client)["aggregate_id"]
    first = client.post(
        f"/v1/relationships/{rid}/rename", json={"name": "First"}, headers={"If-Match": '"1"'}
    )
    assert first.status_code == 200
    assert first.headers["ETag"] == '"2"'
    stale = client.post(
        f"/v1/relationships/{rid}/rename", json={"name": "Stale"}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    # What changed, and where a read shows it: the current version, from this position.
    assert stale.json()["current_version"] == 2
    assert stale.json()["position"] == first.json()["position"]
    garbage = client.post(
        f"/v1/relationships/{rid}/rename", json={"name": "X"}, headers={"If-Match": "abc"}
    )
    assert garbage.status_code == 422
    row = read(client, rid, first.json()["position"])
    assert row["name"] == "First"
    assert client.get(f"/v1/relationships/{rid}").headers["ETag"] == '"2"'


def test_list_filters_and_pages_in_a_stable_order(client: TestClient) -> None:
    created = []
    for i in range(7):
        kind = "customer" if i % 2 else "prospect"
        accepted = register(
            client, name=f"Company {i}", kind=kind, branch=("Suzhou", "Shanghai")[i % 2]
        )
        created.append(accepted)
    last_position = created[-1]["position"]
    assigned = client.post(
        f"/v1/relationships/{created[1]['aggregate_id']}/assign-team",
        json={"field_rep": "zhang.min"},
    ).json()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = read_fresh(client, "/v1/relationships", min_position=last_position, **params).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Company {i}" for i in range(7)]

    customers = client.get("/v1/relationships", params={"kind": "customer"}).json()["items"]
    assert [c["name"] for c in customers] == ["Company 1", "Company 3", "Company 5"]
    both = client.get("/v1/relationships", params={"kind": "prospect", "branch": "Suzhou"}).json()
    assert len(both["items"]) == 4
    rep = read_fresh(
        client, "/v1/relationships", min_position=assigned["position"], team_member="zhang.min"
    )
    assert [r["name"] for r in rep.json()["items"]] == ["Company 1"]
    bad_cursor = client.get("/v1/relationships", params={"cursor": "!!"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"


def test_a_position_beyond_the_log_is_refused_at_once(client: TestClient) -> None:
    response = client.get("/v1/relationships", params={"min_position": 10**9, "wait": 10})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "min_position"
    missing = client.get(f"/v1/relationships/{uuid4()}")
    assert missing.status_code == 404


def test_openapi_documents_every_status(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    commands = [
        (path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method == "post"
        and "201" not in op["responses"]  # creations answer 201
        and path.startswith(("/v1/relationships/", "/v1/shipments/"))  # commands on an aggregate
    ]
    assert len(commands) >= 17
    for path, op in commands:
        assert {"200", "401", "404", "409", "412", "422"} <= set(op["responses"]), path
    get_one = spec["paths"]["/v1/relationships/{relationship_id}"]["get"]
    assert {"200", "401", "404", "503"} <= set(get_one["responses"])
    # Every endpoint checks the bearer token and the permission matrix.
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
