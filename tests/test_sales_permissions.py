"""Who may sell, serve and manage what we sell: the roles of the new endpoints and their
branch scoping — an opportunity or a service case belongs to its relationship's branch, and
another branch's is answered as one that does not exist; so is the relationship a new one
names; offerings belong to no branch; competitors are read by every branch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.selling import get, offering, opportunity, relationship, when
from tests.staffing import enroll


@pytest.fixture
def hq(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "qian.lin", "Qian Lin 钱琳")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def bearer(services: Services, staff_id: str, role: Role, branch: str = "Suzhou") -> dict[str, str]:
    token = enroll(services, staff_id, staff_id, roles=(role,), branch=branch)
    return {"Authorization": f"Bearer {token}"}


def status(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    return int(client.post(path, json=body, headers=headers).status_code)


def test_sales_and_service_are_scoped_to_the_relationships_branch(
    services: Services, hq: TestClient
) -> None:
    ours = relationship(hq, "苏州博睿医疗器械有限公司", "target", "Suzhou")
    theirs = relationship(hq, "上海安泰生物制药有限公司", "customer", "Shanghai")
    air = offering(hq)
    our_deal = opportunity(hq, ours, air)["aggregate_id"]
    their_deal = opportunity(hq, theirs, air)["aggregate_id"]
    field = bearer(services, "li.wei", Role.FIELD_STAFF)
    office = bearer(services, "zhang.min", Role.OFFICE_STAFF)

    deal = {"title": "x", "offering_id": air, "expected_value": "1000", "currency": "USD"}
    deal |= {"probability": "0.5", "occurred_at": when(0)}
    assert status(hq, "/v1/opportunities", {**deal, "relationship_id": ours}, field) == 201
    assert status(hq, "/v1/opportunities", {**deal, "relationship_id": theirs}, field) == 422
    tracking = {"to_stage": "tracking", "occurred_at": when(1)}
    advanced = hq.post(f"/v1/opportunities/{our_deal}/advance", json=tracking, headers=field)
    assert advanced.status_code == 200
    assert status(hq, f"/v1/opportunities/{their_deal}/advance", tracking, field) == 404
    assert hq.get(f"/v1/opportunities/{their_deal}", headers=field).status_code == 404
    seen = get(hq, "/v1/opportunities", min_position=advanced.json()["position"], headers=field)
    assert {o["branch"] for o in seen["items"]} == {"Suzhou"}
    refused = hq.get("/v1/opportunities", params={"branch": "Shanghai"}, headers=field)
    assert refused.status_code == 403

    case = {"kind": "inquiry", "subject": "Rates to Frankfurt?", "description": "2–8 °C"}
    opened = hq.post("/v1/cases", json={**case, "relationship_id": ours}, headers=field)
    assert opened.status_code == 201
    cid = opened.json()["aggregate_id"]
    assert status(hq, "/v1/cases", {**case, "relationship_id": theirs}, field) == 422
    # Field staff open cases and answer them; the office works them.
    assert status(hq, f"/v1/cases/{cid}/respond", {"summary": "Quote follows"}, field) == 200
    assert status(hq, f"/v1/cases/{cid}/assign", {"owner": "zhang.min"}, field) == 403
    assert status(hq, f"/v1/cases/{cid}/assign", {"owner": "zhang.min"}, office) == 200
    their_case = hq.post("/v1/cases", json={**case, "relationship_id": theirs})
    their_cid = their_case.json()["aggregate_id"]
    assert status(hq, f"/v1/cases/{their_cid}/resolve", {"resolution": "x"}, office) == 404
    assert hq.get(f"/v1/cases/{their_cid}", headers=office).status_code == 404
    # Listed once both cases are in the read model: the office sees its branch's only.
    everything = their_case.json()["position"]
    listed = get(hq, "/v1/cases", min_position=everything, headers=office)["items"]
    assert [c["case_id"] for c in listed] == [cid]


def test_offerings_and_competitor_profiles_are_managed_by_managers_and_read_by_all(
    services: Services, hq: TestClient
) -> None:
    rival = relationship(hq, "上海捷运国际货运代理有限公司", "competitor", "Suzhou")
    far = relationship(hq, "北京华运通国际货运代理有限公司", "competitor", "Beijing")
    manager = bearer(services, "zhou.hui", Role.BRANCH_MANAGER)
    field = bearer(services, "li.wei", Role.FIELD_STAFF)
    auditor = bearer(services, "gao.min", Role.AUDITOR, "Headquarters")

    launch: dict[str, Any] = {"name": "x", "origin": "Suzhou", "destination": "Seoul"}
    launch |= {"mode": "air", "service_level": "express", "transit_days": 2}
    assert status(hq, "/v1/offerings", launch, field) == 403
    launched = hq.post("/v1/offerings", json=launch, headers=manager)
    assert launched.status_code == 201
    oid, position = launched.json()["aggregate_id"], launched.json()["position"]
    assert status(hq, f"/v1/offerings/{oid}/retire", {"reason": "x"}, field) == 403
    assert status(hq, f"/v1/offerings/{oid}/retire", {"reason": "x"}, auditor) == 403
    for reader in (field, auditor):
        one = get(hq, f"/v1/offerings/{oid}", min_position=position, headers=reader)
        assert one["offering_id"] == oid
        listed = get(hq, "/v1/offerings", min_position=position, headers=reader)["items"]
        assert [o["offering_id"] for o in listed] == [oid]

    profile = {"strengths": ["Cheap"]}
    assert status(hq, f"/v1/competitors/{rival}/profile", profile, field) == 403
    assert status(hq, f"/v1/competitors/{rival}/profile", profile, manager) == 201
    assert status(hq, f"/v1/competitors/{far}/profile", profile, manager) == 403
    assert status(hq, f"/v1/competitors/{far}/profile", profile, {}) == 201  # hq
    # A profile is read from the competitor itself: no read model to wait for.
    assert get_as(hq, f"/v1/competitors/{rival}/profile", field) == 200
    assert get_as(hq, f"/v1/competitors/{far}/profile", field) == 200  # the company's
    assert get_as(hq, f"/v1/competitors/{far}/profile", auditor) == 200
    assert get(hq, f"/v1/competitors/{far}/profile")["strengths"] == ["Cheap"]


def get_as(client: TestClient, path: str, headers: dict[str, str]) -> int:
    return int(client.get(path, headers=headers).status_code)
