"""Service cases over HTTP on real PostgreSQL with live workers: SLA clocks that run, are met
and are breached — read at the time of asking —, escalations that tighten them, reopenings
that restart them, the configured SLA policy, the refusals; and a customer's history that
holds its opportunities and cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.cases import SLA_POLICY_VARIABLE, parse_sla_policy
from domain.service_case import DEFAULT_SLA_POLICY, Priority, SlaTarget
from domain.shipment import IncidentKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.selling import get, offering, opportunity, post, relationship
from tests.staffing import enroll
from tests.test_shipment_commands import book, log_count, parties
from tests.waiting import read_fresh


def ago(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).isoformat()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "wang.fang", "Wang Fang 王芳")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def open_case(client: TestClient, rid: str, hours_ago: float, **overrides: Any) -> str:
    body = {
        "relationship_id": rid,
        "kind": "complaint",
        "priority": "normal",
        "subject": "Cartons crushed on arrival",
        "description": "8 of 96 cartons crushed; the consignee refused them.",
        "occurred_at": ago(hours_ago),
        **overrides,
    }
    cid: str = post(client, "/v1/cases", body, 201)["aggregate_id"]
    return cid


def test_sla_clocks_run_are_met_and_are_breached_as_at_the_time_of_asking(
    client: TestClient,
) -> None:
    customer = relationship(client, "苏州华芯电子有限公司", "customer")
    # Opened 30 hours ago at high priority: answered after 4 hours, resolved after 24 — late.
    late = open_case(client, customer, 30, priority="high")
    # Opened 2 hours ago: both clocks still run, neither is breached.
    running = open_case(client, customer, 2, kind="inquiry", subject="Where is my AWB copy?")
    # Urgent, answered and resolved in time, rated, reopened: its clock restarts.
    met = open_case(client, customer, 10, priority="urgent", kind="request", subject="Customs")
    post(client, f"/v1/cases/{met}/assign", {"owner": "wang.fang", "occurred_at": ago(9.9)})
    post(client, f"/v1/cases/{met}/respond", {"summary": "On it", "occurred_at": ago(9.5)})
    post(client, f"/v1/cases/{met}/resolve", {"resolution": "Released", "occurred_at": ago(8)})
    post(client, f"/v1/cases/{met}/rate", {"rating": 5, "occurred_at": ago(7)})
    again = {"reason": "Held again at inspection", "occurred_at": ago(1)}
    reopened = post(client, f"/v1/cases/{met}/reopen", again)

    page = get(client, "/v1/cases", min_position=reopened["position"])
    cases = {c["case_id"]: c for c in page["items"]}
    assert moment(page["as_of"]) >= NOW
    assert (cases[late]["first_response_breached"], cases[late]["resolution_breached"]) == (
        True,
        True,
    )
    assert moment(cases[late]["first_response_due"]) == NOW - timedelta(hours=26)
    assert moment(cases[late]["resolution_due"]) == NOW - timedelta(hours=6)
    assert not cases[running]["breached"]
    assert moment(cases[running]["first_response_due"]) == NOW + timedelta(hours=6)
    restarted = cases[met]
    assert (restarted["status"], restarted["reopenings"], restarted["satisfaction"]) == (
        "open",
        1,
        None,
    )
    assert moment(restarted["resolution_due"]) == NOW + timedelta(hours=7)
    assert not restarted["breached"]
    assert [c["case_id"] for c in get(client, "/v1/cases", breached=True)["items"]] == [late]
    assert {c["case_id"] for c in get(client, "/v1/cases", breached=False)["items"]} == {
        running,
        met,
    }

    # Answered and resolved now: too late, and a breach stays a breach.
    post(client, f"/v1/cases/{late}/respond", {"summary": "We are sorry; surveying"})
    resolved = post(client, f"/v1/cases/{late}/resolve", {"resolution": "Compensated in full"})
    one = get(client, f"/v1/cases/{late}", min_position=resolved["position"])
    assert (one["status"], one["first_response_breached"], one["resolution_breached"]) == (
        "resolved",
        True,
        True,
    )
    reopened = post(client, f"/v1/cases/{late}/reopen", {"reason": "Payment bounced"})
    resolved = post(client, f"/v1/cases/{late}/resolve", {"resolution": "Paid again"})
    closed = post(client, f"/v1/cases/{late}/close", {"note": "Customer confirmed receipt"})
    one = get(client, f"/v1/cases/{late}", min_position=closed["position"])
    assert (one["status"], one["resolution_breached"], one["reopenings"]) == ("closed", True, 1)
    rated = post(client, f"/v1/cases/{late}/rate", {"rating": 3, "comment": "Slow but fair"})
    assert get(client, f"/v1/cases/{late}", min_position=rated["position"])["satisfaction"] == 3

    # The open inquiry's first-response clock runs out with no event at all.
    assert get(client, "/v1/cases", breached=True, status="open")["items"] == []
    urgent = {"reason": "The buyer is waiting", "to_priority": "urgent", "occurred_at": ago(0)}
    escalated = post(client, f"/v1/cases/{running}/escalate", urgent)
    one = get(client, f"/v1/cases/{running}", min_position=escalated["position"])
    assert one["priority"] == "urgent"
    assert one["escalations"] == 1
    # Tightened to the urgent hours (1/8) from the escalation, now, where they were due in
    # 6 and 70 hours.
    assert moment(one["first_response_due"]) == NOW + timedelta(hours=1)
    assert moment(one["resolution_due"]) == NOW + timedelta(hours=8)


def test_the_sla_policy_is_configured_by_hours_per_priority(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = relationship(client, "上海安泰生物制药有限公司", "customer")
    monkeypatch.setenv(SLA_POLICY_VARIABLE, " urgent=1/4, high = 2/12 ,normal=3/24")
    cid = open_case(client, customer, 5)
    answered = post(client, f"/v1/cases/{cid}/assign", {"owner": "wang.fang"})
    one = get(client, f"/v1/cases/{cid}", min_position=answered["position"])
    assert moment(one["first_response_due"]) == NOW - timedelta(hours=2)
    assert moment(one["resolution_due"]) == NOW + timedelta(hours=19)
    assert one["first_response_breached"]

    policy = parse_sla_policy("urgent=1/4")
    assert policy.target(Priority.URGENT) == SlaTarget(1, 4)
    assert policy.target(Priority.HIGH) == DEFAULT_SLA_POLICY.target(Priority.HIGH)
    for wrong in ("normal=2", "fast=1/2", "normal=2/10", "urgent=8/1", "high=x/y", "low=0/9"):
        with pytest.raises(ValueError, match=SLA_POLICY_VARIABLE):
            parse_sla_policy(wrong)


def test_case_refusals_name_the_rule_or_the_field_and_write_nothing(
    client: TestClient, services: Services
) -> None:
    app = services.app
    p = parties(app)
    sid = book(app, p)
    incident = uuid4()
    app.shipments.report_incident(
        app.context("zhang.min"),
        sid,
        incident_id=incident,
        link_sequence=1,
        kind=IncidentKind.DELAY,
        description="Truck held at a checkpoint",
    )
    customer, airline = str(p.customer), str(p.airline)
    other = relationship(client, "Prairie Electronics Distribution, Inc.", "customer")
    cid = open_case(client, customer, 5, shipment_id=str(sid), incident_id=str(incident))
    before = log_count(services)

    def problem(path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code == status, (path, response.text)
        found: dict[str, Any] = response.json()
        return found

    opening = {"kind": "inquiry", "subject": "x", "description": "x"}
    unknown = "00000000-0000-4000-8000-000000000009"
    theirs = {"relationship_id": customer, "shipment_id": str(sid)}
    for body, field in (
        ({**theirs, "relationship_id": other}, "shipment_id"),
        ({**theirs, "incident_id": unknown}, "incident_id"),
        ({**theirs, "shipment_id": unknown}, "shipment_id"),
        ({"relationship_id": unknown}, "relationship_id"),
    ):
        found = problem("/v1/cases", {**opening, **body}, 422)
        assert found["errors"][0]["field"] == field, found
    lone = {**opening, "relationship_id": customer, "incident_id": str(incident)}
    assert problem("/v1/cases", lone, 422)["rule"] == "case.incident_without_shipment"
    partner = {**opening, "relationship_id": airline}
    assert problem("/v1/cases", partner, 409)["rule"] == "case.relationship_kind"

    path = f"/v1/cases/{cid}"
    assert problem(f"{path}/assign", {"owner": "nobody.here"}, 422)["errors"][0]["field"] == (
        "owner"
    )
    assert problem(f"{path}/close", {}, 409)["rule"] == "case.close_before_resolution"
    assert problem(f"{path}/rate", {"rating": 4}, 409)["rule"] == "rating.before_resolution"
    assert problem(f"{path}/reopen", {"reason": "x"}, 409)["rule"] == "case.reopen_unresolved"
    early = {"summary": "x", "occurred_at": ago(6)}
    assert problem(f"{path}/respond", early, 409)["rule"] == "case.time_backwards"
    assert problem(f"{path}/escalate", {"reason": "x", "to_priority": "low"}, 409)["rule"] == (
        "escalation.not_higher"
    )
    assert problem(f"{path}/rate", {"rating": 6}, 422)["errors"][0]["field"] == "rating"
    assert problem(f"/v1/cases/{unknown}/respond", {"summary": "x"}, 404)
    assert log_count(services) == before

    post(client, f"{path}/respond", {"summary": "Rebooked on the next truck"})
    assert problem(f"{path}/respond", {"summary": "x"}, 409)["rule"] == "response.already_given"
    post(client, f"{path}/escalate", {"reason": "Line stop", "to_priority": "urgent"})
    assert problem(f"{path}/escalate", {"reason": "x"}, 409)["rule"] == (
        "escalation.already_urgent"
    )
    post(client, f"{path}/resolve", {"resolution": "Delivered"})
    post(client, f"{path}/close", {})
    assert problem(f"{path}/reopen", {"reason": "x"}, 409)["rule"] == "case.closed"
    stale = client.post(f"{path}/rate", json={"rating": 5}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412


def test_a_customers_history_holds_its_opportunities_and_cases(
    client: TestClient, services: Services
) -> None:
    customer = relationship(client, "深圳宏讯通信设备有限公司", "customer")
    other = relationship(client, "深圳极光智能科技有限公司", "customer")
    air = offering(client)
    oid = opportunity(client, customer, air)["aggregate_id"]
    opportunity(client, other, air)
    cid = open_case(client, customer, 1, kind="inquiry")
    last = post(client, f"/v1/cases/{cid}/respond", {"summary": "Here is your AWB"})["position"]

    auditor = enroll(services, "gao.min", "Gao Min", roles=(Role.AUDITOR,))
    response = read_fresh(
        client,
        f"/v1/relationships/{customer}/history",
        min_position=last,
        headers={"Authorization": f"Bearer {auditor}"},
    )
    assert response.status_code == 200, response.text
    entries = response.json()["items"]
    assert [(e["aggregate_type"], e["event_name"]) for e in entries] == [
        ("Relationship", "Relationship.Registered"),
        ("Opportunity", "Opportunity.Identified"),
        ("ServiceCase", "ServiceCase.Opened"),
        ("ServiceCase", "ServiceCase.FirstResponseGiven"),
    ]
    assert {UUID(e["aggregate_id"]) for e in entries[1:]} == {UUID(oid), UUID(cid)}
