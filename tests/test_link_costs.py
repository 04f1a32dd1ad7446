"""Cost per link beside time and quality, and a partner's rewards and penalties (奖惩), over
HTTP and in the read models: the responsibility view, the partner's scorecard, the partner
ranking and the partner's history."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.decisions.partners import partner_ranking
from projections.decisions.scope import Scope
from tests.staffing import enroll
from tests.test_shipment_commands import (
    AIR_CARRIAGE,
    EXPORT_CUSTOMS,
    IMPORT_CUSTOMS,
    PICKUP,
    Parties,
    booking,
    http_parties,
    log_count,
    post,
    when,
)
from tests.waiting import read_fresh


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "chen.hq", "Chen Jie 陈杰")  # headquarters
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def problem(client: TestClient, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, (path, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    result: dict[str, Any] = response.json()
    return result


def field(client: TestClient, path: str, body: dict[str, Any]) -> str:
    name: str = problem(client, path, body, 422)["errors"][0]["field"]
    return name


def costed_booking(p: Parties, air: str, pickup: str | None = None) -> dict[str, Any]:
    body = booking(p)
    body["links"][AIR_CARRIAGE - 1]["cost"] = {"amount": air, "currency": "USD"}
    if pickup is not None:
        body["links"][PICKUP - 1]["cost"] = {"amount": pickup, "currency": "cny"}
    return body


def run(
    client: TestClient, base: str, sequence: int, hours: float, condition: str = "good"
) -> None:
    if sequence > 1:
        post(client, f"{base}/links/{sequence - 1}/complete", {"occurred_at": when(hours)})
    post(client, f"{base}/links/{sequence}/start", {"occurred_at": when(hours)})
    post(
        client,
        f"{base}/handovers",
        {
            "to_sequence": sequence,
            "condition": condition,
            "signed_by": f"receiver of link {sequence}",
            "occurred_at": when(hours + 1),
        },
    )


def damaged_at_import(client: TestClient, p: Parties) -> tuple[str, str, str]:
    """The seed case up to the airline's answer: booked with the air link planned at
    4,500.00 USD and replanned at 4,680.00, cartons crushed at the airline's handover to
    the import agent, responsibility proposed to the airline; the air link invoiced at
    4,712.00 USD. The shipment's path, the incident and the incident's path."""
    sid = post(client, "/v1/shipments", costed_booking(p, "4500.00", "800"), 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    post(
        client,
        f"{base}/links/{AIR_CARRIAGE}/cost",
        {"amount": "4680.00", "currency": "USD", "occurred_at": when(-40)},
    )
    run(client, base, PICKUP, 0)
    run(client, base, EXPORT_CUSTOMS, 5)
    run(client, base, AIR_CARRIAGE, 22)
    assert problem(
        client,
        f"{base}/links/{AIR_CARRIAGE}/invoice",
        {"amount": "4712.00", "currency": "USD", "invoice_reference": "MU-0305"},
        409,
    )["rule"] == ("link_cost.link_not_completed")
    run(client, base, IMPORT_CUSTOMS, 53, "damaged")
    assert problem(
        client,
        f"{base}/links/{AIR_CARRIAGE}/cost",
        {"amount": "4000.00", "currency": "USD"},
        409,
    )["rule"] == ("link_cost.link_completed")
    post(
        client,
        f"{base}/links/{AIR_CARRIAGE}/invoice",
        {
            "amount": "4712.00",
            "currency": "USD",
            "invoice_reference": "MU-0305",
            "occurred_at": when(60),
        },
    )
    incident = post(
        client,
        f"{base}/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "damage",
            "description": "6 cartons of laptops crushed on arrival at ORD",
            "packages_affected": 6,
            "occurred_at": when(55),
        },
    )["incident_id"]
    inc = f"{base}/incidents/{incident}"
    post(client, f"{inc}/responsibility", {"occurred_at": when(57)})  # proposed: the airline
    return base, incident, inc


def test_link_costs_are_planned_invoiced_and_refused_with_the_field_or_the_rule(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    sid = post(client, "/v1/shipments", costed_booking(p, "4500.00", "800"), 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    shipment = services.app.shipments.get_shipment(UUID(sid))
    # Booked, then the two planned costs, in one append: one version.
    assert shipment.version == 3
    assert shipment.link_cost(AIR_CARRIAGE).planned is not None
    assert shipment.link_cost(AIR_CARRIAGE).planned.amount == Decimal("4500.00")  # type: ignore[union-attr]
    assert shipment.link_cost(PICKUP).planned is not None
    assert shipment.link_cost(PICKUP).planned.currency == "CNY"  # type: ignore[union-attr]
    before = log_count(services)

    cost = f"{base}/links/{AIR_CARRIAGE}/cost"
    assert field(client, cost, {"amount": "0", "currency": "USD"}) == "amount"
    assert field(client, cost, {"amount": "10.001", "currency": "USD"}) == "amount"
    assert field(client, cost, {"amount": "10", "currency": "US"}) == "currency"
    assert field(client, cost, {"amount": "10"}) == "currency"
    assert field(
        client, f"{base}/links/{AIR_CARRIAGE}/invoice", {"amount": "1", "currency": "USD"}
    ) == ("invoice_reference")
    assert (
        problem(client, f"{base}/links/7/cost", {"amount": "1", "currency": "USD"}, 404)["rule"]
        == "link.unknown"
    )
    assert problem(client, cost, {"amount": "4500.00", "currency": "USD"}, 409)["rule"] == (
        "link_cost.unchanged"
    )
    assert log_count(services) == before

    # If-Match and Idempotency-Key as for every command.
    stale = client.post(
        cost, json={"amount": "4600", "currency": "USD"}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    key = {"Idempotency-Key": "plan-air-4680"}
    first = client.post(cost, json={"amount": "4680.00", "currency": "USD"}, headers=key)
    again = client.post(cost, json={"amount": "4680.00", "currency": "USD"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.headers["ETag"] == '"4"'
    assert log_count(services) == before + 1

    # Office staff plan costs; field staff do not.
    field_rep = enroll(services, "wu.field", "Wu", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    refused = client.post(
        cost,
        json={"amount": "4690", "currency": "USD"},
        headers={"Authorization": f"Bearer {field_rep}"},
    )
    assert refused.status_code == 403


def test_the_airline_is_charged_back_only_once_found_responsible_and_rewarded_for_a_clean_record(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    base, incident, inc = damaged_at_import(client, p)
    sid = base.rsplit("/", 1)[1]
    # A second shipment, not yet run: its air link planned at 3,900.00 USD.
    post(client, "/v1/shipments", costed_booking(p, "3900.00"), 201)
    airline = f"/v1/relationships/{p.airline}"
    charge = {
        "amount": "3200.00",
        "currency": "USD",
        "reason": "6 cartons crushed at the handover to the import agent",
        "shipment_id": sid,
        "incident_id": incident,
        "occurred_at": when(200),
    }
    before = log_count(services)

    # Proposed, not accepted: the airline has not been found responsible.
    assert problem(client, f"{airline}/charge-backs", charge, 409)["rule"] == (
        "charge_back.not_responsible"
    )
    # Bad input names its field.
    assert field(client, f"{airline}/charge-backs", {**charge, "currency": "DOLLARS"}) == (
        "currency"
    )
    assert field(client, f"{airline}/charge-backs", {**charge, "amount": "-1"}) == "amount"
    assert field(client, f"{airline}/charge-backs", {**charge, "shipment_id": str(uuid4())}) == (
        "shipment_id"
    )
    assert field(client, f"{airline}/charge-backs", {**charge, "incident_id": str(uuid4())}) == (
        "incident_id"
    )
    no_reference = {k: v for k, v in charge.items() if k != "incident_id"}
    assert field(client, f"{airline}/charge-backs", no_reference) == "incident_id"
    assert field(client, f"{airline}/charge-backs", {**charge, "claim_id": str(uuid4())}) == (
        "claim_id"
    )
    assert problem(client, f"/v1/relationships/{uuid4()}/charge-backs", charge, 404)
    assert log_count(services) == before

    post(client, f"{inc}/accept", {"note": "airline letter CL-88", "occurred_at": when(58)})
    # Another partner was not found responsible; a customer is neither charged nor rewarded.
    assert problem(client, f"/v1/relationships/{p.agent}/charge-backs", charge, 409)["rule"] == (
        "charge_back.not_responsible"
    )
    # Only headquarters decides: a branch manager is refused.
    manager = enroll(services, "sun.mgr", "Sun", roles=(Role.BRANCH_MANAGER,), branch="Suzhou")
    as_manager = {"Authorization": f"Bearer {manager}"}
    assert (
        client.post(f"{airline}/charge-backs", json=charge, headers=as_manager).status_code == 403
    )

    stale = client.post(f"{airline}/charge-backs", json=charge, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    key = {"Idempotency-Key": "charge-back-mu-0305"}
    first = client.post(f"{airline}/charge-backs", json=charge, headers=key)
    again = client.post(f"{airline}/charge-backs", json=charge, headers=key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["ETag"] == '"2"'  # registered, charged back

    # A claim of the incident names it too.
    claim = post(
        client,
        f"{base}/claims",
        {"incident_id": incident, "amount": 24000, "currency": "USD", "occurred_at": when(120)},
    )["claim_id"]
    by_claim = {k: v for k, v in charge.items() if k != "incident_id"}
    post(
        client,
        f"{airline}/charge-backs",
        {**by_claim, "claim_id": claim, "amount": "150.50", "reason": "survey fee"},
    )

    bonus = {
        "amount": "500",
        "currency": "USD",
        "reason": "no incident in the first quarter",
        "period_start": when(-24 * 90),
        "period_end": when(-24),
        "occurred_at": when(200),
    }
    assert field(client, f"{airline}/bonuses", {**bonus, "period_end": when(-24 * 100)}) == (
        "period_end"
    )
    assert field(client, f"{airline}/bonuses", {**bonus, "period_end": when(300)}) == ("period_end")
    assert field(client, f"{airline}/bonuses", {**bonus, "period_start": "2025-01-01T00:00"}) == (
        "period_start"
    )
    customer = f"/v1/relationships/{p.customer}/bonuses"
    assert problem(client, customer, bonus, 409)["rule"] == "rewards.only_partners"
    assert client.post(f"{airline}/bonuses", json=bonus, headers=as_manager).status_code == 403
    post(client, f"{airline}/bonuses", bonus)
    last = post(client, f"{airline}/bonuses", {**bonus, "amount": "1000", "currency": "CNY"})

    # The partner's history carries its charge-backs and bonuses, by whom and why.
    history = read_fresh(
        client,
        f"{airline}/history",
        min_position=last["position"],
        event=["Relationship.ChargedBack", "Relationship.BonusAwarded"],
    ).json()["items"]
    assert [(e["event_name"], e["actor"]) for e in history] == [
        ("Relationship.ChargedBack", "chen.hq"),
        ("Relationship.ChargedBack", "chen.hq"),
        ("Relationship.BonusAwarded", "chen.hq"),
        ("Relationship.BonusAwarded", "chen.hq"),
    ]
    assert history[0]["data"]["incident_id"] == incident
    assert history[1]["data"]["claim_id"] == claim

    # The scorecard: cost, on-time share and incidents side by side. By hand: the airline's
    # two air links planned at 4,680.00 and 3,900.00 USD (8,580.00, 4,290.00 a link); one
    # invoiced at 4,712.00 USD, 32.00 above its plan. One link run, completed at hour 53,
    # planned to end at hour 72: on time. One incident attributed. Charged back 3,200.00 and
    # 150.50 USD (3,350.50), rewarded 500 USD and 1,000 CNY: net 2,850.50 USD and
    # -1,000 CNY.
    card = read_fresh(
        client, f"/v1/partners/{p.airline}/scorecard", min_position=last["position"]
    ).json()
    assert (card["links_run"], card["on_time_share"], card["incidents_attributed"]) == (1, 1.0, 1)
    assert decimals(card["costs"]) == [
        {
            "currency": "USD",
            "links_planned": 2,
            "planned_total": Decimal("8580.00"),
            "planned_per_link": Decimal("4290.00"),
            "links_invoiced": 1,
            "actual_total": Decimal("4712.00"),
            "actual_per_link": Decimal("4712.00"),
            "links_compared": 1,
            "variance": Decimal("32.00"),
        }
    ]
    assert decimals(card["rewards"]) == [
        {
            "currency": "CNY",
            "charge_backs": 0,
            "charge_back_total": Decimal("0"),
            "bonuses": 1,
            "bonus_total": Decimal("1000"),
            "net_charged_back": Decimal("-1000"),
        },
        {
            "currency": "USD",
            "charge_backs": 2,
            "charge_back_total": Decimal("3350.50"),
            "bonuses": 1,
            "bonus_total": Decimal("500"),
            "net_charged_back": Decimal("2850.50"),
        },
    ]

    # The ranking shows the same figures beside the airline's rank.
    ranking = read_fresh(client, "/v1/decisions/partners", min_position=last["position"]).json()
    [row] = [r for r in ranking["items"] if r["partner_id"] == str(p.airline)]
    assert decimals(row["costs"]) == decimals(card["costs"])
    assert decimals(row["rewards"]) == decimals(card["rewards"])
    assert (row["links_run"], row["on_time_share"], row["incidents_attributed"]) == (1, 1.0, 1)
    # Scoped to another branch's customers, the airline ran nothing: it is not ranked.
    with services.reads.connection() as conn:
        elsewhere = partner_ranking(conn, Scope(branch="Chicago"))
    assert [r for r in elsewhere if r["partner_id"] == p.airline] == []

    # The responsibility view carries each link's cost.
    view = client.get(f"{base}/responsibility").json()
    assert view["chain"][AIR_CARRIAGE - 1]["cost"] == {
        "planned": {"amount": "4680.00", "currency": "USD"},
        "actual": {"amount": "4712.00", "currency": "USD"},
        "invoice_reference": "MU-0305",
    }
    assert view["chain"][PICKUP - 1]["cost"]["planned"] == {"amount": "800", "currency": "CNY"}
    assert view["chain"][EXPORT_CUSTOMS - 1]["cost"] == {
        "planned": None,
        "actual": None,
        "invoice_reference": None,
    }


def decimals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON has them, with their amounts as numbers to compare."""
    return [
        {k: Decimal(v) if isinstance(v, str) and k != "currency" else v for k, v in row.items()}
        for row in rows
    ]
