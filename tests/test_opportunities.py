"""Sales over HTTP on real PostgreSQL with live workers: the offerings we sell, an
opportunity through every stage to the win (and the target it makes a customer), every
refusal of the stages with its rule, losses to competitors and our record against them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.relationship import Relationship, RelationshipKind
from interface.http.app import create_app
from interface.runtime import Services
from tests.selling import get, offering, opportunity, post, relationship, when
from tests.staffing import enroll
from tests.test_shipment_commands import log_count


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "qian.lin", "Qian Lin 钱琳")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def refused(
    client: TestClient, path: str, body: dict[str, Any], status: int = 409, **headers: str
) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, (path, response.text)
    problem: dict[str, Any] = response.json()
    return problem


# --- offerings ------------------------------------------------------------------------------


def test_offerings_are_launched_revised_retired_reinstated_and_listed(client: TestClient) -> None:
    air = offering(client, "Suzhou", "Chicago", "air", description="Door to door in 5 days")
    sea = offering(client, "Shanghai", "Long Beach", "sea", transit_days=18)
    offering(client, "Tianjin", "Duisburg", "rail", transit_days=16, service_level="port_to_port")

    revised = client.post(
        f"/v1/offerings/{sea}/revise-terms",
        json={"service_level": "port_to_door", "transit_days": 21, "reason": "LA port congestion"},
        headers={"If-Match": '"1"'},
    )
    assert revised.status_code == 200, revised.text
    assert revised.headers["ETag"] == '"2"'
    post(client, f"/v1/offerings/{air}/redescribe", {"name": "Suzhou–Chicago Air Express"})
    retired = post(client, f"/v1/offerings/{sea}/retire", {"reason": "Lane suspended"})

    one = get(client, f"/v1/offerings/{sea}", min_position=retired["position"])
    assert one["label"] == "Shanghai → Long Beach, sea, port to door, 21 days"
    assert (one["status"], one["version"]) == ("retired", 3)
    active = get(client, "/v1/offerings", status="active")["items"]
    assert [o["name"] for o in active] == ["Suzhou–Chicago Air Express", "Tianjin–Duisburg rail"]
    assert [o["offering_id"] for o in get(client, "/v1/offerings", mode="sea")["items"]] == [sea]
    assert len(get(client, "/v1/offerings", origin="shang")["items"]) == 1
    assert len(get(client, "/v1/offerings", destination="CHICAGO")["items"]) == 1
    first = get(client, "/v1/offerings", limit=2)
    second = get(client, "/v1/offerings", limit=2, cursor=first["next_cursor"])
    assert len(first["items"]) == 2
    assert [o["mode"] for o in second["items"]] == ["rail"]
    assert second["next_cursor"] is None

    path = f"/v1/offerings/{sea}"
    assert refused(client, f"{path}/redescribe", {"name": "x"})["rule"] == "offering.retired"
    assert refused(client, f"{path}/retire", {"reason": "x"})["rule"] == "offering.retired"
    post(client, f"{path}/reinstate", {"reason": "Peak season"})
    assert refused(client, f"{path}/reinstate", {"reason": "x"})["rule"] == (
        "offering.already_active"
    )
    same = {"service_level": "port_to_door", "transit_days": 21, "reason": "x"}
    assert refused(client, f"{path}/revise-terms", same)["rule"] == "offering.terms_unchanged"
    lane: dict[str, Any] = {"name": "x", "origin": "Suzhou", "destination": " suzhou "}
    lane |= {"mode": "air", "service_level": "express", "transit_days": 2}
    assert refused(client, "/v1/offerings", lane, 422)["rule"] == "lane.same_ends"
    assert refused(client, "/v1/offerings", {**lane, "transit_days": 121}, 422)
    unknown = "/v1/offerings/00000000-0000-4000-8000-000000000009"
    assert refused(client, f"{unknown}/retire", {"reason": "x"}, 404)
    assert client.get(unknown).status_code == 404


# --- an opportunity through its stages ------------------------------------------------------


def test_an_opportunity_goes_through_every_stage_and_its_target_becomes_a_customer(
    client: TestClient, services: Services
) -> None:
    target = relationship(client, "苏州华芯电子有限公司", "target")
    rival = relationship(client, "上海捷运国际货运代理有限公司", "competitor", "Shanghai")
    newcomer = relationship(client, "Flexport-like Digital Forwarding", "competitor")
    air = offering(client)
    express = offering(client, service_level="express", transit_days=3)

    created = opportunity(client, target, air, competitor_ids=[rival])
    oid = created["aggregate_id"]
    assert created["version"] == 1
    path = f"/v1/opportunities/{oid}"

    def step(command: str, hours: float, version: int, **body: Any) -> dict[str, Any]:
        response = client.post(
            f"{path}/{command}",
            json={**body, "occurred_at": when(hours)},
            headers={"If-Match": f'"{version}"'},
        )
        assert response.status_code == 200, (command, response.text)
        assert response.headers["ETag"] == f'"{version + 1}"'
        result: dict[str, Any] = response.json()
        return result

    step("advance", 24, 1, to_stage="tracking", note="RFQ received: 20 t a month")
    step("revise-value", 30, 2, amount="300000", currency="USD", reason="Volumes confirmed")
    step("advance", 48, 3, to_stage="control")
    step("involve-competitor", 50, 4, competitor_id=newcomer)
    step("step-back", 60, 5, to_stage="tracking", reason="The customer reopened its specs")
    step("advance", 72, 6, to_stage="control")
    step("revise-probability", 80, 7, probability="0.6", reason="Trial shipment agreed")
    step("change-offering", 90, 8, offering_id=express, reason="They need 3 days")
    step("advance", 96, 9, to_stage="implementation", note="Contract signed")
    revised = step("revise-probability", 97, 10, probability="0.9", reason="Contract signed")
    read = get(client, path, min_position=revised["position"])
    assert (read["stage"], read["status"]) == ("implementation", "open")
    assert Decimal(read["weighted_value"]) == Decimal("270000.00")
    assert read["competitor_ids"] == [rival, newcomer]
    assert read["offering_label"] == "Suzhou → Chicago, air, express, 3 days"
    assert (read["relationship_name"], read["branch"]) == ("苏州华芯电子有限公司", "Suzhou")

    won = step("won", 100, 11, note="First shipment next week", correlation_id="deal-2025-001")
    # The target has done business with us: its first business follows the win.
    customer = services.app.relationships.get_relationship(UUID(target))
    assert customer.kind is RelationshipKind.CUSTOMER
    became = [
        e
        for e in services.app.events.get(UUID(target))
        if isinstance(e, Relationship.BecameCustomer)
    ]
    (first_business,) = became
    assert first_business.correlation_id == "deal-2025-001"
    assert first_business.first_business_reference == f"won opportunity {oid}"
    won_event = list(services.app.events.get(UUID(oid)))[-1]
    assert first_business.causation_id == won_event.command_id  # type: ignore[attr-defined]
    account = get(client, f"/v1/relationships/{target}", min_position=won["position"])
    assert account["kind"] == "customer"

    evaluated = step("evaluate", 24 * 40, 12, rating=4, remarks="On time; one late POD")
    read = get(client, path, min_position=evaluated["position"])
    assert (read["stage"], read["status"], read["evaluation_rating"]) == ("evaluation", "won", 4)
    assert Decimal(read["weighted_value"]) == Decimal("300000")
    assert read["decided_at"] is not None
    # A customer wins more business without becoming anything new.
    again = opportunity(client, target, air, occurred_at=when(24 * 41))["aggregate_id"]
    win(client, again, 24 * 41)
    assert services.app.relationships.get_relationship(UUID(target)).version == customer.version


def win(client: TestClient, oid: str, hours: float) -> int:
    """Take the opportunity through its stages, an hour apart, and win it; the position."""
    for index, stage in enumerate(("tracking", "control", "implementation"), 1):
        body = {"to_stage": stage, "occurred_at": when(hours + index)}
        post(client, f"/v1/opportunities/{oid}/advance", body)
    won = post(client, f"/v1/opportunities/{oid}/won", {"occurred_at": when(hours + 4)})
    return int(won["position"])


def test_every_stage_refusal_names_its_rule_and_writes_nothing(
    client: TestClient, services: Services
) -> None:
    prospect = relationship(client, "常熟云帆户外用品有限公司", "prospect")
    partner = relationship(client, "申航国际货运航空有限公司", "partner")
    competitor = relationship(client, "北京华运通国际货运代理有限公司", "competitor")
    air = offering(client)
    retired = offering(client, "Shanghai", "Seattle", "sea")
    post(client, f"/v1/offerings/{retired}/retire", {"reason": "Lane suspended"})
    oid = opportunity(client, prospect, air)["aggregate_id"]
    path = f"/v1/opportunities/{oid}"
    before = log_count(services)

    def rule(command: str, body: dict[str, Any], status: int = 409, **headers: str) -> Any:
        return refused(client, f"{path}/{command}", body, status, **headers).get("rule")

    late = {"occurred_at": when(1)}
    assert rule("advance", {"to_stage": "generation"}) == "stage.unchanged"
    assert rule("advance", {"to_stage": "control"}) == "stage.skipped"
    assert rule("advance", {"to_stage": "evaluation"}) == "stage.evaluation_before_win"
    assert rule("step-back", {"to_stage": "tracking", "reason": "x"}) == "stage.not_backwards"
    assert rule("won", late) == "opportunity.win_before_implementation"
    assert rule("evaluate", {"rating": 5}) == "evaluation.before_win"
    assert rule("advance", {"to_stage": "tracking", "occurred_at": when(-1)}) == (
        "stage.time_backwards"
    )
    assert rule("advance", {"to_stage": "tracking"}, 412, **{"If-Match": '"7"'}) is None
    assert rule("advance", {"to_stage": "closing"}, 422) is None
    assert rule("revise-probability", {"probability": "1.5", "reason": "x"}, 422) is None
    assert rule("revise-probability", {"probability": "0.2", "reason": "x"}) == (
        "probability.unchanged"
    )
    assert rule("revise-value", {"amount": "240000", "currency": "usd", "reason": "x"}) == (
        "expected_value.unchanged"
    )
    assert rule("change-offering", {"offering_id": air, "reason": "x"}) == "offering.unchanged"
    assert rule("change-offering", {"offering_id": retired, "reason": "x"}) == "offering.retired"
    assert rule("involve-competitor", {"competitor_id": partner}) == "competitor.not_competitor"
    unknown = "00000000-0000-4000-8000-000000000009"
    problem = refused(client, f"{path}/involve-competitor", {"competitor_id": unknown}, 422)
    assert problem["errors"][0]["field"] == "competitor_id"
    assert refused(client, f"/v1/opportunities/{unknown}/advance", {"to_stage": "tracking"}, 404)
    assert log_count(services) == before

    for stage, hours in (("tracking", 2), ("control", 3), ("implementation", 4)):
        post(client, f"{path}/advance", {"to_stage": stage, "occurred_at": when(hours)})
    assert rule("advance", {"to_stage": "tracking"}) == "stage.backwards"
    assert rule("step-back", {"to_stage": "tracking", "reason": "x"}) == (
        "stage.back_more_than_one"
    )
    post(client, f"/v1/offerings/{air}/retire", {"reason": "Capacity gone"})
    assert rule("won", {}) == "offering.retired"
    loss = {"reason": "price", "explanation": "Undercut by 12%", "competitor_id": competitor}
    post(client, f"{path}/lost", loss)
    after_loss = log_count(services)
    assert rule("advance", {"to_stage": "evaluation"}) == "opportunity.closed"
    assert rule("lost", {"reason": "price", "explanation": "again"}) == "opportunity.closed"
    assert rule("evaluate", {"rating": 3}) == "evaluation.before_win"
    assert log_count(services) == after_loss

    # Whom and what an opportunity may name.
    live = offering(client, "Suzhou", "Incheon")

    def identify(status: int = 409, **overrides: Any) -> dict[str, Any]:
        body = {"relationship_id": prospect, "title": "x", "offering_id": live}
        body |= {"expected_value": "1000", "currency": "USD", "probability": "0.5"}
        return refused(client, "/v1/opportunities", body | overrides, status)

    after_launch = log_count(services)
    assert identify(offering_id=retired)["rule"] == "offering.retired"
    assert identify(relationship_id=partner)["rule"] == "opportunity.relationship_kind"
    assert identify(competitor_ids=[prospect])["rule"] == "competitor.not_competitor"
    assert identify(competitor_ids=[competitor, competitor], status=422)["rule"] == (
        "competitors.duplicate"
    )
    for field in ("relationship_id", "offering_id"):
        assert identify(status=422, **{field: unknown})["errors"][0]["field"] == field
    assert identify(status=422, competitor_ids=[unknown])["errors"][0]["field"] == (
        "competitor_ids[0]"
    )
    assert log_count(services) == after_launch


# --- losses, competitors and our record -----------------------------------------------------


def test_our_record_against_a_competitor_follows_from_the_opportunities(
    client: TestClient, services: Services
) -> None:
    rival = relationship(client, "上海捷运国际货运代理有限公司", "competitor")
    other = relationship(client, "GlobeLink Forwarding (Shanghai) Ltd.", "competitor")
    customer = relationship(client, "Kessler Automotive Components (Taicang)", "customer")
    air = offering(client)

    started = post(
        client,
        f"/v1/competitors/{rival}/profile",
        {
            "strengths": ["Low sea rates to Europe"],
            "weaknesses": ["No own warehouse in Chicago"],
            "lanes": [{"origin": "Shanghai", "destination": "Hamburg", "mode": "sea"}],
        },
        201,
    )
    assert started["version"] == 1
    profile = f"/v1/competitors/{rival}/profile"
    chicago = {"origin": "Shanghai", "destination": "Chicago", "mode": "air"}
    hamburg = {"origin": "shanghai", "destination": "hamburg", "mode": "sea"}
    post(client, f"{profile}/strengths", {"strength": "Strong with Shanghai automotive"})
    withdrawn = {"weakness": "no own warehouse in CHICAGO", "reason": "Opened one in Elk Grove"}
    post(client, f"{profile}/weaknesses/withdraw", withdrawn)
    post(client, f"{profile}/lanes", chicago)
    post(client, f"{profile}/lanes/drop", {**hamburg, "reason": "Left the trade"})

    def decided(outcome: str, lost_to: str | None = None) -> int:
        oid = opportunity(client, customer, air, competitor_ids=[rival])["aggregate_id"]
        if outcome == "open":
            return 0
        if outcome == "won":
            return win(client, oid, 0)
        body = {"reason": "price", "explanation": "Cheaper", "competitor_id": lost_to}
        return int(post(client, f"/v1/opportunities/{oid}/lost", body)["position"])

    decided("open")
    decided("won")
    decided("lost", rival)
    decided("lost", rival)
    last = decided("lost", other)  # involved by the loss
    seen = get(client, profile, min_position=last)
    assert seen["name"] == "上海捷运国际货运代理有限公司"
    assert seen["strengths"] == ["Low sea rates to Europe", "Strong with Shanghai automotive"]
    assert seen["weaknesses"] == []
    assert seen["lanes"] == [{"origin": "Shanghai", "destination": "Chicago", "mode": "air"}]
    assert seen["record"] == {
        "competing": 1,
        "won_against": 1,
        "lost_to": 2,
        "lost_to_others": 1,
        "head_to_head_win_rate": "0.33",
    }
    assert get(client, f"/v1/competitors/{other}/profile", 404)
    lost_to_other = get(client, "/v1/opportunities", min_position=last, competitor_id=other)[
        "items"
    ]
    assert [(o["status"], o["lost_to"], o["loss_reason"]) for o in lost_to_other] == [
        ("lost", other, "price")
    ]
    assert Decimal(lost_to_other[0]["weighted_value"]) == 0

    assert refused(client, f"/v1/competitors/{customer}/profile", {})["rule"] == (
        "profile.not_competitor"
    )
    assert refused(client, profile, {})["type"].endswith("already-exists")
    noted = refused(client, f"{profile}/strengths", {"strength": "low SEA rates to europe"})
    assert noted["rule"] == "strength.already_noted"
    never = {"strength": "never said", "reason": "x"}
    assert refused(client, f"{profile}/strengths/withdraw", never, 404)["rule"] == (
        "strength.unknown"
    )
    unknown = "00000000-0000-4000-8000-000000000009"
    assert refused(client, f"/v1/competitors/{unknown}/profile", {}, 404)
    missing = refused(client, f"/v1/competitors/{other}/profile/lanes", chicago, 404)
    assert f"competitor profile of relationship with id {other}" in missing["detail"]


def test_opportunities_are_listed_by_relationship_stage_status_and_branch_a_page_at_a_time(
    client: TestClient,
) -> None:
    suzhou = relationship(client, "苏州博睿医疗器械有限公司", "target")
    shanghai = relationship(client, "上海安泰生物制药有限公司", "customer", "Shanghai")
    air = offering(client)
    last = 0
    for rid in (suzhou, suzhou, shanghai):
        last = opportunity(client, rid, air)["position"]
    oid = opportunity(client, shanghai, air)["aggregate_id"]
    tracking = {"to_stage": "tracking", "occurred_at": when(1)}
    last = post(client, f"/v1/opportunities/{oid}/advance", tracking)["position"]

    def ids(**params: Any) -> list[str]:
        page = get(client, "/v1/opportunities", min_position=last, **params)
        return [o["relationship_id"] for o in page["items"]]

    assert ids(relationship_id=suzhou) == [suzhou, suzhou]
    assert ids(branch="Shanghai") == [shanghai, shanghai]
    assert ids(stage="tracking") == [shanghai]
    assert ids(status="open", stage="generation") == [suzhou, suzhou, shanghai]
    assert ids(status="won") == []
    first = get(client, "/v1/opportunities", limit=3)
    rest = get(client, "/v1/opportunities", limit=3, cursor=first["next_cursor"])
    assert len(first["items"]) == 3
    assert [o["opportunity_id"] for o in rest["items"]] == [oid]
    assert client.get("/v1/opportunities", params={"cursor": "nope"}).status_code == 422
