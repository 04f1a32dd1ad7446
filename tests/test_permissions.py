"""Who may do what: the whole permission matrix, generated from its one table; branch
scoping; tokens that stop working the moment they are revoked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from domain.relationship import RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.http.permissions import MATRIX, allowed, markdown
from interface.runtime import Services
from tests.staffing import enroll


@pytest.fixture
def app_client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as c:
        yield c


def routes(client: TestClient) -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    ]


def register(services: Services, name: str, branch: str) -> str:
    return str(
        services.app.register_relationship(
            services.app.context("admin"),
            name=name,
            kind=RelationshipKind.CUSTOMER,
            industry="electronics",
            region="East China",
            branch=branch,
        ).aggregate_id
    )


def test_every_endpoint_is_in_the_matrix(app_client: TestClient) -> None:
    missing = [e for e in routes(app_client) if e not in MATRIX]
    assert missing == []


def test_the_documented_matrix_is_the_one_in_the_code() -> None:
    assert Path("docs/permissions.md").read_text(encoding="utf-8") == markdown()


def test_each_role_reaches_exactly_the_endpoints_the_matrix_gives_it(
    services: Services, app_client: TestClient
) -> None:
    # Every resource lives in the staff's own branch, so only roles decide.
    rid = register(services, "苏州华芯电子", "Suzhou")
    values = {
        "relationship_id": rid,
        "shipment_id": "00000000-0000-4000-8000-000000000001",
        "partner_id": rid,
        "incident_id": "00000000-0000-4000-8000-000000000002",
        "claim_id": "00000000-0000-4000-8000-000000000003",
        "offering_id": "00000000-0000-4000-8000-000000000005",
        "opportunity_id": "00000000-0000-4000-8000-000000000006",
        "case_id": "00000000-0000-4000-8000-000000000007",
        "token_id": "00000000-0000-4000-8000-000000000004",
        "contact_id": "c1",
        "sequence": "1",
        "staff_id": "nobody",
        "role": "hq",
    }
    tokens = {
        role: enroll(services, f"{role.value}.one", role.value, roles=(role,), branch="Suzhou")
        for role in Role
    }
    checked = 0
    for method, path in routes(app_client):
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            response = (
                app_client.get(url, headers=headers, params={"wait": 0})
                if method == "GET"
                else app_client.post(url, headers=headers, json={})
            )
            if role in allowed(method, path):
                assert response.status_code != 403, (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)
            checked += 1
    assert checked == len(routes(app_client)) * len(Role)


def test_branch_staff_work_only_within_their_branch(
    services: Services, app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    ours = register(services, "苏州客户", "Suzhou")
    theirs = register(services, "上海客户", "Shanghai")
    field = {
        "Authorization": "Bearer "
        + enroll(services, "li.wei", "Li Wei", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    }
    hq = {"Authorization": "Bearer " + enroll(services, "qian.lin", "Qian Lin")}

    assert (
        app_client.post(
            f"/v1/relationships/{ours}/rename", json={"name": "A"}, headers=field
        ).status_code
        == 200
    )
    with caplog.at_level(logging.WARNING):
        refused = app_client.post(
            f"/v1/relationships/{theirs}/rename", json={"name": "B"}, headers=field
        )
    assert refused.status_code == 403
    assert "Shanghai" in refused.json()["detail"]
    assert any("refused li.wei" in r.message for r in caplog.records)
    assert app_client.get(f"/v1/relationships/{theirs}", headers=field).status_code == 403
    body: dict[str, Any] = {
        "name": "New",
        "kind": "prospect",
        "industry": "x",
        "region": "x",
        "branch": "Shanghai",
    }
    assert app_client.post("/v1/relationships", json=body, headers=field).status_code == 403
    assert (
        app_client.post(
            "/v1/relationships", json={**body, "branch": "Suzhou"}, headers=field
        ).status_code
        == 201
    )
    listed = app_client.get("/v1/relationships", headers=field).json()["items"]
    assert listed == [] or {i["branch"] for i in listed} == {"Suzhou"}
    assert (
        app_client.get(
            "/v1/relationships", params={"branch": "Shanghai"}, headers=field
        ).status_code
        == 403
    )
    assert (
        app_client.post(
            f"/v1/relationships/{theirs}/rename", json={"name": "C"}, headers=hq
        ).status_code
        == 200
    )


def test_revoked_tokens_and_deactivated_staff_stop_at_once(
    services: Services, app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLCHAIN_ADMIN_TOKEN", "automation-secret-123")
    admin = {"Authorization": "Bearer automation-secret-123"}
    created = app_client.post(
        "/v1/staff",
        headers=admin,
        json={"staff_id": "zhang.min", "name": "张敏", "branch": "Suzhou", "roles": ["hq"]},
    )
    assert created.status_code == 201
    issued = app_client.post("/v1/staff/zhang.min/tokens", headers=admin, json={"label": "phone"})
    assert issued.status_code == 201
    token = {"Authorization": "Bearer " + issued.json()["token"]}
    me = app_client.get("/v1/staff/me", headers=token).json()
    assert (me["staff_id"], me["roles"]) == ("zhang.min", ["hq"])

    token_id = issued.json()["token_id"]
    revoked = app_client.post(
        f"/v1/staff/zhang.min/tokens/{token_id}/revoke", headers=admin, json={}
    )
    assert revoked.status_code == 200
    assert app_client.get("/v1/staff/me", headers=token).status_code == 401

    second = app_client.post("/v1/staff/zhang.min/tokens", headers=admin, json={}).json()
    token = {"Authorization": "Bearer " + second["token"]}
    assert app_client.get("/v1/staff/me", headers=token).status_code == 200
    app_client.post("/v1/staff/zhang.min/roles/hq/revoke", headers=admin, json={})
    assert app_client.get("/v1/relationships", headers=token).status_code == 403
    app_client.post("/v1/staff/zhang.min/deactivate", headers=admin, json={"reason": "left"})
    assert app_client.get("/v1/staff/me", headers=token).status_code == 401
    # Every access change is in the log, attributed.
    history = services.app.get_staff("zhang.min")
    assert not history.active
    assert history.version == 7


def test_auditors_never_write(services: Services, app_client: TestClient) -> None:
    rid = register(services, "Acme", "Suzhou")
    auditor = {
        "Authorization": "Bearer " + enroll(services, "auditor.qian", "Qian", roles=(Role.AUDITOR,))
    }
    services.worker(services.projections[0]).catch_up()
    assert app_client.get(f"/v1/relationships/{rid}", headers=auditor).status_code == 200
    writes = [(m, p) for (m, p) in MATRIX if m == "POST" and Role.AUDITOR in MATRIX[(m, p)]]
    assert sorted(p for _, p in writes) == ["/v1/audit/checkpoints", "/v1/audit/verify"]
