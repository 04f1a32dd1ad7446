"""The seed's other link functions and the cargo's conditions over HTTP, on real PostgreSQL:
a cold chain booked with its conditions and a manifest link that never holds the goods,
the airline's excursion found at the warehouse, the finding and the audit view, the
incident that covers it; bad conditions and observations refused with their field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_audit_http import last_position
from tests.test_shipment_commands import (
    Parties,
    at,
    booking,
    http_parties,
    log_count,
    post,
    when,
)
from tests.waiting import read_fresh

PICKUP, LOADING, MANIFEST, AIR, HANDLING, DELIVERY = range(1, 7)

COLD_CHAIN = {
    "temperature_min_c": "2.0",
    "temperature_max_c": "8.0",
    "dangerous_goods": {"un_number": "UN3373", "hazard_class": "6.2"},
    "fragile": True,
    "high_value": True,
}


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "zhang.min", "Zhang Min 张敏")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def cold_chain(p: Parties, **conditions: Any) -> dict[str, Any]:
    """Pickup, loading at the airport (装卸), the air manifest (物流信息, no goods), the
    airline, handling at the warehouse (搬运), delivery: one planned day apart."""

    def partner(rid: UUID) -> dict[str, Any]:
        return {"kind": "partner", "relationship_id": str(rid)}

    suzhou = {"kind": "branch", "branch": "Suzhou"}
    body = booking(p)
    links: list[dict[str, Any]] = [
        {"function": "pickup", "party": suzhou, "mode": "road"},
        {"function": "loading_unloading", "party": suzhou},
        {"function": "logistics_information", "party": suzhou},
        {"function": "main_carriage", "party": partner(p.airline), "mode": "air"},
        {"function": "handling", "party": partner(p.warehouse)},
        {"function": "delivery", "party": partner(p.agent), "mode": "road"},
    ]
    for index, link in enumerate(links):
        link["planned_start"] = when(24 * index)
        link["planned_end"] = when(24 * index + 24)
    body["links"] = links
    body["cargo"] = {
        **body["cargo"],
        "description": "clinical samples, 120 insulated boxes",
        "conditions": {**COLD_CHAIN, **conditions},
    }
    return body


def hand_over(client: TestClient, base: str, to: int, hours: float, **observed: Any) -> Any:
    body: dict[str, Any] = {
        "to_sequence": to,
        "condition": "good",
        "signed_by": f"receiver of link {to}",
        "occurred_at": when(hours),
    }
    if observed:
        body["observed"] = observed
    return post(client, f"{base}/handovers", body)


def step(client: TestClient, base: str, sequence: int, hours: float) -> None:
    if sequence > 1:
        post(client, f"{base}/links/{sequence - 1}/complete", {"occurred_at": when(hours)})
    post(client, f"{base}/links/{sequence}/start", {"occurred_at": when(hours)})


def test_a_cold_chain_breached_in_the_air_is_found_and_covered_by_its_incident(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    sid = post(client, "/v1/shipments", cold_chain(p), 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    step(client, base, PICKUP, 0)
    hand_over(client, base, PICKUP, 1, temperature_c="5.0", packaging_intact=True)
    step(client, base, LOADING, 10)
    hand_over(client, base, LOADING, 11, temperature_c="4.5")
    step(client, base, MANIFEST, 20)
    # The manifest link never holds the goods: the airline receives them from loading.
    refused = client.post(
        f"{base}/handovers",
        json={"to_sequence": MANIFEST, "condition": "good", "signed_by": "x"},
    )
    assert (refused.status_code, refused.json()["rule"]) == (409, "custody.link_holds_no_goods")
    step(client, base, AIR, 30)
    hand_over(client, base, AIR, 31, min_temperature_c="3.5", max_temperature_c="6.0")
    step(client, base, HANDLING, 50)
    # The warehouse's receipt: the logger shows 11.4 °C at most during the flight.
    hand_over(
        client,
        base,
        HANDLING,
        51,
        temperature_c="7.2",
        min_temperature_c="3.9",
        max_temperature_c="11.4",
        packaging_intact=True,
        seals_intact=True,
    )
    position = last_position(services)

    found = read_fresh(client, "/v1/audit/findings", min_position=position).json()["items"]
    assert [(f["kind"], f["link_sequence"], f["party"], f["partner_id"]) for f in found] == [
        ("cargo_condition_breached", HANDLING, f"partner:{p.airline}", str(p.airline))
    ]
    assert datetime.fromisoformat(found[0]["since"]) == at(51)
    assert found[0]["detail"] == (
        "link 5 received the goods with a temperature breach of the cargo's conditions "
        "(11.4 °C highest logged; the cargo is kept 2.0 to 8.0 °C) and no incident was "
        "reported there or before; held by: 申航国际货运航空有限公司 "
        f"(partner:{p.airline}) (link 4)"
    )
    assert found[0]["party_name"] == "申航国际货运航空有限公司"  # as named when it happened

    view = read_fresh(client, f"{base}/responsibility", min_position=position).json()
    assert view["cargo"]["conditions"] == {
        "temperature_min_c": "2.0",
        "temperature_max_c": "8.0",
        "dangerous_goods": {"un_number": "3373", "hazard_class": "6.2"},
        "fragile": True,
        "high_value": True,
    }
    assert [link["function"] for link in view["chain"]] == [
        "pickup",
        "loading_unloading",
        "logistics_information",
        "main_carriage",
        "handling",
        "delivery",
    ]
    assert [link["holds_goods"] for link in view["chain"]] == [True, True, False, True, True, True]
    assert [link["regime"] for link in view["chain"]][1:5] == [
        "company_terms",
        "company_terms",
        "montreal",
        "company_terms",
    ]
    manifest = view["chain"][MANIFEST - 1]
    assert (manifest["custody_from"], manifest["handover_in"]) == (None, None)
    assert view["chain"][HANDLING - 1]["handover_in"]["observed"] == {
        "temperature_c": "7.2",
        "min_temperature_c": "3.9",
        "max_temperature_c": "11.4",
        "packaging_intact": True,
        "seals_intact": True,
    }
    (breach,) = view["condition_breaches"]
    assert (breach["from_sequence"], breach["to_sequence"], breach["kind"]) == (
        AIR,
        HANDLING,
        "temperature",
    )
    assert breach["covered_by"] is None
    assert breach["responsible"]["link_sequence"] == AIR
    assert breach["responsible"]["party"]["relationship_id"] == str(p.airline)
    assert breach["responsible"]["basis"] == "handed_over_with_exception"

    # Reported at the warehouse, the excursion is the harm already reported: no finding.
    incident = post(
        client,
        f"{base}/incidents",
        {
            "link_sequence": HANDLING,
            "kind": "damage",
            "description": "temperature excursion to 11.4 °C during the flight",
            "packages_affected": 120,
            "occurred_at": when(52),
        },
    )["incident_id"]
    post(client, f"{base}/incidents/{incident}/responsibility", {"occurred_at": when(53)})
    post(client, f"{base}/incidents/{incident}/accept", {"note": "logger data agreed"})
    position = last_position(services)
    found = read_fresh(
        client, "/v1/audit/findings", min_position=position, kind="cargo_condition_breached"
    ).json()["items"]
    assert found == []
    view = read_fresh(client, f"{base}/responsibility", min_position=position).json()
    assert view["condition_breaches"][0]["covered_by"] == incident
    # Custody passed over the manifest link: no gap, no overlap.
    assert [
        f["kind"]
        for f in read_fresh(client, "/v1/audit/findings", min_position=position).json()["items"]
    ] == []


def test_bad_conditions_and_observations_are_422_with_their_field_and_write_nothing(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    sid = post(client, "/v1/shipments", cold_chain(p), 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    step(client, base, PICKUP, 0)
    before = log_count(services)

    def field(path: str, body: dict[str, Any]) -> tuple[str, str | None]:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        error = response.json()["errors"][0]
        return error["field"], response.json().get("rule")

    def dangerous(un_number: str, hazard_class: str) -> dict[str, Any]:
        return cold_chain(p, dangerous_goods={"un_number": un_number, "hazard_class": hazard_class})

    assert field("/v1/shipments", dangerous("348", "9")) == (
        "un_number",
        "dangerous_goods.un_number",
    )
    assert field("/v1/shipments", dangerous("3481", "2")) == (
        "hazard_class",
        "dangerous_goods.hazard_class",
    )
    assert field("/v1/shipments", dangerous("3481", "10")) == (
        "hazard_class",
        "dangerous_goods.hazard_class",
    )
    assert field("/v1/shipments", cold_chain(p, temperature_min_c="9")) == (
        "temperature_max_c",
        "conditions.temperature_range",
    )
    assert field("/v1/shipments", cold_chain(p, temperature_min_c="-150"))[0] == (
        "cargo.conditions.temperature_min_c"
    )
    assert field("/v1/shipments", cold_chain(p, temperature_max_c="2.25"))[0] == (
        "cargo.conditions.temperature_max_c"
    )
    assert field("/v1/shipments", cold_chain(p, frozen=True))[0] == "cargo.conditions.frozen"
    information_last = cold_chain(p)
    information_last["links"][5] = {**information_last["links"][2]}
    information_last["links"][5]["planned_start"] = when(120)
    information_last["links"][5]["planned_end"] = when(144)
    assert field("/v1/shipments", information_last) == ("links[5]", "chain.ends_hold_goods")
    handover = {"to_sequence": PICKUP, "condition": "good", "signed_by": "x"}
    assert field(f"{base}/handovers", {**handover, "observed": {}}) == (
        "observed",
        "observation.empty",
    )
    assert field(
        f"{base}/handovers",
        {**handover, "observed": {"min_temperature_c": "6", "max_temperature_c": "5"}},
    ) == ("max_temperature_c", "observation.temperature_range")
    assert field(f"{base}/handovers", {**handover, "observed": {"temperature_c": "300"}})[0] == (
        "observed.temperature_c"
    )
    assert log_count(services) == before


def test_the_airline_signs_for_the_goods_over_the_manifest_link_and_reads_the_conditions(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    body = cold_chain(p)
    # The import agent files the manifest (and delivers): it never holds the goods there.
    body["links"][MANIFEST - 1]["party"] = {"kind": "partner", "relationship_id": str(p.agent)}
    sid = post(client, "/v1/shipments", body, 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    for sequence, hours in ((PICKUP, 0), (LOADING, 10)):
        step(client, base, sequence, hours)
        hand_over(client, base, sequence, hours + 1, temperature_c="5.0")
    step(client, base, MANIFEST, 20)
    step(client, base, AIR, 30)
    airline = {
        "Authorization": "Bearer "
        + enroll(services, "cargo.desk@sh-air", "PVG cargo desk", partner_id=p.airline)
    }
    agent = {
        "Authorization": "Bearer "
        + enroll(services, "desk@lakeshore", "Lakeshore desk", partner_id=p.agent)
    }
    signed = {
        "to_sequence": AIR,
        "condition": "good",
        "signed_by": "PVG cargo desk",
        "occurred_at": when(31),
        "observed": {"temperature_c": "4.8", "packaging_intact": True},
    }
    # The handover into the airline's link is the loading link's and the airline's, not the
    # manifest link's: custody passes from link 2 over link 3, which the agent runs.
    stranger = client.post(f"{base}/handovers", json=signed, headers=agent)
    assert stranger.status_code == 403, stranger.text
    assert "not link(s) 2, 4" in stranger.json()["detail"]
    signed_by_airline = client.post(f"{base}/handovers", json=signed, headers=airline)
    assert signed_by_airline.status_code == 200, signed_by_airline.text

    seen = client.get(f"{base}/links", headers=airline).json()
    assert seen["cargo_conditions"] == {
        "temperature_min_c": "2.0",
        "temperature_max_c": "8.0",
        "dangerous_goods": {"un_number": "3373", "hazard_class": "6.2"},
        "fragile": True,
        "high_value": True,
    }
    (link,) = seen["links"]
    assert (link["sequence"], link["function"], link["holds_goods"]) == (
        AIR,
        "main_carriage",
        True,
    )
    assert link["received"]["observed"] == {
        "temperature_c": "4.8",
        "min_temperature_c": None,
        "max_temperature_c": None,
        "packaging_intact": True,
        "seals_intact": None,
    }
    everything = client.get(f"{base}/links").json()["links"]
    assert [(x["function"], x["holds_goods"]) for x in everything][1:3] == [
        ("loading_unloading", True),
        ("logistics_information", False),
    ]
    shipment = services.app.shipments.get_shipment(UUID(sid))
    assert shipment.links[LOADING - 1].custody_until == at(31)
    # In the chain of custody, the airline took the goods from the loading link.
    events = client.get(f"{base}/epcis").json()["epcisBody"]["eventList"]
    assert [e["fc:linkSequence"] for e in events] == [PICKUP, LOADING, AIR]
    loading_event, air_event = events[1], events[2]
    handed_by = loading_event["destinationList"][0]["destination"]
    assert air_event["sourceList"][0]["source"] == handed_by
    assert str(p.agent) not in air_event["sourceList"][0]["source"]
