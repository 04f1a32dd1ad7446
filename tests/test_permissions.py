"""Who may do what: the roles every endpoint declares, and the document generated from
them; branch scoping; tokens that stop working the moment they are revoked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from application.tokens import StaffMember
from domain.relationship import RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.http.deps import Allowed, Staff
from interface.http.permissions import EVERYONE
from interface.http.route_table import markdown, table
from interface.runtime import Services
from tests.staffing import enroll

#: Every role our staff may hold: the partner and customer roles are their users' only.
STAFF_ROLES = tuple(role for role in Role if role not in (Role.PARTNER, Role.CUSTOMER))


@pytest.fixture
def app_client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as c:
        yield c


def routes(client: TestClient) -> list[tuple[str, str]]:
    """Every endpoint, as the service documents it: asked of the document, not of
    ``app.routes``, which newer FastAPI fills with the routers included, not their routes."""
    paths: dict[str, dict[str, Any]] = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    endpoints = [(method.upper(), path) for path, item in paths.items() for method in item]
    assert len(endpoints) > 100
    return endpoints


def register(
    services: Services, name: str, branch: str, kind: RelationshipKind = RelationshipKind.CUSTOMER
) -> str:
    return str(
        services.app.relationships.register_relationship(
            services.app.context("admin"),
            name=name,
            kind=kind,
            industry="electronics",
            region="East China",
            branch=branch,
        ).aggregate_id
    )


def declared(client: TestClient) -> dict[tuple[str, str], frozenset[Role]]:
    """The roles each endpoint declares, as its route declares them."""
    return table(client.app.routes)  # type: ignore[attr-defined]


def test_every_endpoint_declares_its_roles(app_client: TestClient) -> None:
    missing = [e for e in routes(app_client) if e not in declared(app_client)]
    assert missing == []


def test_an_endpoint_that_declares_no_roles_or_two_declarations_is_refused_to_everyone(
    services: Services,
) -> None:
    app = create_app(services)

    @app.get("/v1/undeclared")
    def undeclared(staff: Staff) -> str:
        return staff.staff_id

    @app.get("/v1/declared-twice")
    def declared_twice(
        staff: Annotated[StaffMember, Depends(Allowed(EVERYONE))],
        again: Annotated[StaffMember, Depends(Allowed(EVERYONE))],
    ) -> str:
        return staff.staff_id

    everyone = {
        "Authorization": "Bearer " + enroll(services, "all.roles", "All", roles=STAFF_ROLES)
    }
    with TestClient(app) as client:
        assert client.get("/v1/undeclared", headers=everyone).status_code == 403
        assert client.get("/v1/declared-twice", headers=everyone).status_code == 403
        assert client.get("/v1/staff/me", headers=everyone).status_code == 200
    assert ("GET", "/v1/undeclared") not in table(app.routes)
    assert ("GET", "/v1/declared-twice") not in table(app.routes)


def test_the_documented_permissions_are_those_the_endpoints_declare(
    app_client: TestClient,
) -> None:
    document = markdown(declared(app_client))
    assert Path("docs/permissions.md").read_text(encoding="utf-8") == document


def test_each_role_reaches_exactly_the_endpoints_that_declare_it(
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
        "follow_up_id": "00000000-0000-4000-8000-000000000008",
        "care_plan_id": "00000000-0000-4000-8000-000000000009",
        "proposal_id": "00000000-0000-4000-8000-00000000000a",
        "segment_id": "00000000-0000-4000-8000-00000000000c",
        "campaign_id": "00000000-0000-4000-8000-00000000000d",
        "token_id": "00000000-0000-4000-8000-000000000004",
        "contact_id": "c1",
        "sequence": "1",
        "number": "1",
        "interaction_id": "00000000-0000-4000-8000-000000000008",
        "sha256": "0" * 64,
        "staff_id": "nobody",
        "code": "Suzhou",
        "role": "hq",
        "invoice_number": "INV-1",
        "webhook_id": "00000000-0000-4000-8000-00000000000e",
        "hold_id": "00000000-0000-4000-8000-000000000010",
        "purpose": "marketing",
        "subject_id": "00000000-0000-4000-8000-00000000000f",
    }
    partner = UUID(register(services, "申航国际货运航空", "Suzhou", RelationshipKind.PARTNER))
    tokens = {
        role: enroll(
            services,
            f"{role.value}.one",
            role.value,
            roles=(role,),
            branch="Suzhou",
            partner_id=partner if role is Role.PARTNER else None,
            customer_id=UUID(rid) if role is Role.CUSTOMER else None,
        )
        for role in Role
    }
    allowed = declared(app_client)
    checked = 0
    for method, path in routes(app_client):
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            response = (
                app_client.get(url, headers=headers, params={"wait": 0})
                if method == "GET"
                else app_client.request(method, url, headers=headers, json={})
            )
            if role in allowed[(method, path)]:
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
    # Another branch's customer is answered as one that does not exist.
    unknown = app_client.post(
        f"/v1/relationships/{uuid4()}/rename", json={"name": "B"}, headers=field
    )
    hidden = app_client.post(
        f"/v1/relationships/{theirs}/rename", json={"name": "B"}, headers=field
    )
    assert hidden.status_code == unknown.status_code == 404
    assert "Shanghai" not in hidden.text
    assert app_client.get(f"/v1/relationships/{theirs}", headers=field).status_code == 404
    # Another branch's partner is read, and commanded only by its branch (refusal logged).
    partner = register(services, "申航国际货运航空", "Shanghai", RelationshipKind.PARTNER)
    services.worker(services.projections[0]).catch_up()
    assert app_client.get(f"/v1/relationships/{partner}", headers=field).status_code == 200
    with caplog.at_level(logging.WARNING):
        refused = app_client.post(
            f"/v1/relationships/{partner}/rename", json={"name": "B"}, headers=field
        )
    assert refused.status_code == 403
    assert "Shanghai" in refused.json()["detail"]
    assert any("refused li.wei" in r.message for r in caplog.records)
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
    services.worker(services.projections[0]).catch_up()
    listed = app_client.get("/v1/relationships", headers=field).json()["items"]
    assert {(i["name"], i["branch"]) for i in listed} == {
        ("A", "Suzhou"),
        ("New", "Suzhou"),
        ("申航国际货运航空", "Shanghai"),  # the company's partner
    }
    shanghai = app_client.get("/v1/relationships", params={"branch": "Shanghai"}, headers=field)
    assert [i["name"] for i in shanghai.json()["items"]] == ["申航国际货运航空"]
    # Lists of what only a branch owns refuse another branch's name.
    assert (
        app_client.get("/v1/cases", params={"branch": "Shanghai"}, headers=field).status_code == 403
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
    history = services.app.staff.get_staff("zhang.min")
    assert not history.active
    assert history.version == 7


def test_auditors_never_write(services: Services, app_client: TestClient) -> None:
    rid = register(services, "Acme", "Suzhou")
    auditor = {
        "Authorization": "Bearer " + enroll(services, "auditor.qian", "Qian", roles=(Role.AUDITOR,))
    }
    services.worker(services.projections[0]).catch_up()
    assert app_client.get(f"/v1/relationships/{rid}", headers=auditor).status_code == 200
    allowed = declared(app_client)
    writes = [
        (m, p)
        for (m, p) in allowed
        if m == "POST" and Role.AUDITOR in allowed[(m, p)] and not p.startswith("/v1/public/")
    ]
    # Signing what the log holds, checking it, or keeping a witness's countersignature of
    # it writes nothing to the business log. A legal hold only keeps what the log holds
    # (its personal data is not erased while the hold stands): an auditor may place one.
    assert sorted(p for _, p in writes) == [
        "/v1/audit/checkpoints",
        "/v1/audit/cosignatures",
        "/v1/audit/tree-heads",
        "/v1/audit/tree-heads/check",
        "/v1/audit/verify",
        "/v1/relationships/{relationship_id}/legal-holds",
    ]
