"""Branches as records over HTTP: the registry kept by administrators and headquarters, and
every branch a relationship, a staff member, a link or an imported row names checked
against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.waiting import read_fresh


@dataclass
class Clients:
    admin: TestClient
    hq: TestClient
    field: TestClient
    auditor: TestClient


@pytest.fixture
def clients(services: Services) -> Iterator[Clients]:
    services.start_workers()
    tokens = {
        "admin": enroll(services, "ops.admin", "Ops Admin", roles=(Role.ADMIN,)),
        "hq": enroll(services, "li.wei", "Li Wei 李伟"),
        "field": enroll(services, "wu.gang", "Wu Gang", roles=(Role.FIELD_STAFF,), branch="Suzhou"),
        "auditor": enroll(services, "gao.min", "Gao Min", roles=(Role.AUDITOR,)),
    }
    app = create_app(services)
    made = {}
    with (
        TestClient(app) as a,
        TestClient(app) as h,
        TestClient(app) as f,
        TestClient(app) as u,
    ):
        for name, client in zip(tokens, (a, h, f, u), strict=True):
            client.headers["Authorization"] = f"Bearer {tokens[name]}"
            made[name] = client
        yield Clients(**made)


WUXI = {
    "code": "Wuxi",
    "name_zh": "无锡分公司",
    "name_en": "Wuxi Branch",
    "region": "East China",
    "time_zone": "Asia/Shanghai",
    "currency": "CNY",
}


def customer(branch: str) -> dict[str, Any]:
    return {
        "name": "无锡精工",
        "kind": "customer",
        "industry": "machinery",
        "region": "East China",
        "branch": branch,
    }


def refused(response: Any, status: int, rule: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["rule"] == rule, problem
    if field is not None:
        assert problem["errors"][0]["field"] == field, problem


def test_administrators_keep_the_registry_and_everyone_reads_it(clients: Clients) -> None:
    refused_to_field = clients.field.post("/v1/branches", json=WUXI)
    assert refused_to_field.status_code == 403
    registered = clients.admin.post("/v1/branches", json=WUXI)
    assert registered.status_code == 201, registered.text
    assert registered.headers["Location"] == "/v1/branches/Wuxi"
    position = registered.json()["position"]

    wuxi = read_fresh(clients.field, "/v1/branches/Wuxi", min_position=position).json()
    assert {k: wuxi[k] for k in WUXI} == WUXI
    assert wuxi["open"] is True
    listed = read_fresh(clients.auditor, "/v1/branches", min_position=position).json()["items"]
    assert "Wuxi" in [b["code"] for b in listed]
    assert [b["code"] for b in listed] == sorted(b["code"] for b in listed)
    assert clients.hq.get("/v1/branches/Nowhere").status_code == 404

    again = clients.hq.post("/v1/branches", json=WUXI | {"name_en": "Wuxi Office"})
    assert again.status_code == 409
    bad_zone = clients.admin.post(
        "/v1/branches", json=WUXI | {"code": "Jiangyin", "time_zone": "Asia/Jiangyin"}
    )
    refused(bad_zone, 422, "time_zone.unknown", "time_zone")
    spaced = clients.admin.post("/v1/branches", json=WUXI | {"code": "Wuxi 无锡"})
    assert spaced.status_code == 422


def test_a_typo_in_a_branch_is_refused_not_a_new_branch(clients: Clients) -> None:
    typo = clients.hq.post("/v1/relationships", json=customer("Suzhuo"))
    refused(typo, 422, "branch.unknown", "branch")
    described = clients.hq.post("/v1/relationships", json=customer("Suzhou 苏州分公司"))
    refused(described, 422, "branch.format", "branch")
    ok = clients.hq.post("/v1/relationships", json=customer("Suzhou"))
    assert ok.status_code == 201, ok.text
    rid = ok.json()["aggregate_id"]

    moved = clients.hq.post(
        f"/v1/relationships/{rid}/move-to-branch", json={"region": "East China", "branch": "Wux"}
    )
    refused(moved, 422, "branch.unknown", "branch")
    staff = clients.admin.post(
        "/v1/staff",
        json={
            "staff_id": "new.rep",
            "name": "New Rep",
            "branch": "Shangai",
            "roles": ["field_staff"],
        },
    )
    refused(staff, 422, "branch.unknown", "branch")
    known = [s["staff_id"] for s in clients.admin.get("/v1/staff").json()]
    assert "wu.gang" in known
    assert "new.rep" not in known


def test_a_closed_branch_takes_nothing_new_until_it_reopens(clients: Clients) -> None:
    registered = clients.admin.post("/v1/branches", json=WUXI)
    assert registered.status_code == 201
    stale = clients.admin.post(
        "/v1/branches/Wuxi/close", json={"reason": "merged"}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    closed = clients.admin.post(
        "/v1/branches/Wuxi/close",
        json={"reason": "merged into Suzhou"},
        headers={"If-Match": '"1"'},
    )
    assert closed.status_code == 200, closed.text
    refused(clients.hq.post("/v1/relationships", json=customer("Wuxi")), 409, "branch.closed")
    listed = read_fresh(clients.hq, "/v1/branches", min_position=closed.json()["position"])
    assert "Wuxi" not in [b["code"] for b in listed.json()["items"]]
    every = clients.hq.get("/v1/branches", params={"include_closed": "true"}).json()["items"]
    assert [b["open"] for b in every if b["code"] == "Wuxi"] == [False]

    reopened = clients.hq.post("/v1/branches/Wuxi/reopen", json={})
    assert reopened.status_code == 200, reopened.text
    assert clients.hq.post("/v1/relationships", json=customer("Wuxi")).status_code == 201
    assert clients.hq.post("/v1/branches/Nowhere/reopen", json={}).status_code == 404


def test_a_branch_changes_its_names_zone_and_currency_never_its_code(clients: Clients) -> None:
    clients.admin.post("/v1/branches", json=WUXI)
    changed = clients.admin.post(
        "/v1/branches/Wuxi/change", json={"name_en": "Wuxi Office", "currency": "USD"}
    )
    assert changed.status_code == 200, changed.text
    wuxi = read_fresh(clients.hq, "/v1/branches/Wuxi", min_position=changed.json()["position"])
    assert (wuxi.json()["name_en"], wuxi.json()["currency"], wuxi.json()["code"]) == (
        "Wuxi Office",
        "USD",
        "Wuxi",
    )
    same = clients.admin.post("/v1/branches/Wuxi/change", json={"name_en": "Wuxi Office"})
    refused(same, 409, "branch.unchanged")
    code = clients.admin.post("/v1/branches/Wuxi/change", json={"code": "Wx"})
    assert code.status_code == 422


def test_imported_rows_name_registered_branches(clients: Clients) -> None:
    data = (
        "name,kind,industry,region,branch\n"
        "甲公司,customer,x,East China,Suzhou\n"
        "乙公司,customer,x,East China,Suzhou-North\n"
    )
    report = clients.hq.post(
        "/v1/imports/relationships",
        files={"file": ("rows.csv", data.encode(), "text/csv")},
        params={"dry_run": "true"},
    )
    assert report.status_code == 200, report.text
    rows = report.json()["rows"]
    assert rows[0]["outcome"] != "invalid", rows[0]
    assert rows[1]["outcome"] == "invalid"
    assert rows[1]["errors"][0]["field"] == "branch"
