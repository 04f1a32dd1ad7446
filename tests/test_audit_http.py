"""The responsibility audit over HTTP: shipments, the audit view, findings, scorecards."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import AIRLINE, CUSTOMER, book, run_links
from tests.epcis_schema import errors, schema_or_skip
from tests.staffing import enroll
from tests.test_responsibility import register_parties, seed_case
from tests.waiting import read_fresh


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def last_position(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
    assert row is not None
    return int(row[0])


def test_an_auditor_reads_the_chain_findings_and_the_airlines_scorecard(
    client: TestClient, services: Services
) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    in_flight = book()
    run_links(in_flight, 3)
    services.app.save(in_flight)
    position = last_position(services)

    page = read_fresh(client, "/v1/shipments", min_position=position, limit=1).json()
    assert len(page["items"]) == 1
    second = client.get("/v1/shipments", params={"limit": 1, "cursor": page["next_cursor"]})
    assert second.json()["next_cursor"] is None
    by_partner = client.get("/v1/shipments", params={"partner_id": str(AIRLINE)}).json()
    assert len(by_partner["items"]) == 2
    in_transit = client.get("/v1/shipments", params={"status": "in_transit"}).json()["items"]
    assert [s["shipment_id"] for s in in_transit] == [str(in_flight.id)]
    assert in_transit[0]["current_holder"] == f"partner:{AIRLINE}"
    by_mode = client.get("/v1/shipments", params={"mode": "air", "customer_id": str(CUSTOMER)})
    assert len(by_mode.json()["items"]) == 2
    assert client.get("/v1/shipments", params={"mode": "teleport"}).status_code == 422

    view = client.get(f"/v1/shipments/{shipment.id}/responsibility")
    assert view.status_code == 200
    assert view.headers["ETag"] == f'"{shipment.version}"'
    body = view.json()
    assert body["claims"][0]["liability_limit"]["regime"] == "montreal"
    assert body["incidents"][0]["responsible"]["party"]["relationship_id"] == str(AIRLINE)
    # The customer's deadlines from the final delivery under our terms, ours from the
    # airline's handover under Montreal.
    assert body["claims"][0]["customer_deadlines"]["regime"] == "company_terms"
    assert body["claims"][0]["customer_deadlines"]["notice_deadline"] == (
        "2025-03-12T22:00:00+00:00"
    )
    assert body["claims"][0]["recovery_deadlines"]["regime"] == "montreal"
    assert body["claims"][0]["recovery_deadlines"]["notice_deadline"] == (
        "2025-03-18T17:00:00+00:00"
    )

    # Findings and scorecards join account status too: wait for both read models. The
    # airline had notice at its handover, which noted the damage.
    found = read_fresh(
        client, "/v1/audit/findings", min_position=position, partner_id=str(AIRLINE)
    ).json()
    assert {f["kind"] for f in found["items"]} == {"compensation_without_recovery_decision"}
    assert {f["party"] for f in found["items"]} == {f"partner:{AIRLINE}"}
    late = client.get("/v1/audit/findings", params={"kind": "recovery_notice_late"})
    assert (late.status_code, late.json()["items"]) == (200, [])
    assert all(f["branch"] == "Suzhou" for f in found["items"])
    only = client.get("/v1/audit/findings", params={"kind": "custody_gap"}).json()
    assert only["items"] == []
    assert client.get("/v1/audit/findings", params={"kind": "nonsense"}).status_code == 422

    card = read_fresh(client, f"/v1/partners/{AIRLINE}/scorecard", min_position=position).json()
    assert card["links_run"] == 1
    assert card["incidents_attributed"] == 1
    assert card["on_time_share"] == 1.0


def test_unknown_shipments_and_partners_are_404(client: TestClient, services: Services) -> None:
    register_parties(services)
    position = last_position(services)
    assert read_fresh(client, "/v1/shipments", min_position=position).status_code == 200
    assert client.get(f"/v1/shipments/{uuid4()}/responsibility").status_code == 404
    assert client.get(f"/v1/partners/{uuid4()}/scorecard").status_code == 404
    # A customer is not a partner.
    assert client.get(f"/v1/partners/{CUSTOMER}/scorecard").status_code == 404


def test_the_chain_of_custody_exports_as_epcis(client: TestClient, services: Services) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    response = client.get(f"/v1/shipments/{shipment.id}/epcis")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    document = response.json()
    assert (document["type"], document["schemaVersion"]) == ("EPCISDocument", "2.0")
    assert document["@context"][0] == (
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    )
    # Made now, by the application's clock (pinned to NOW: a Wednesday, 10:00 UTC).
    assert document["creationDate"].startswith("2026-03-04T10:00:")
    events = document["epcisBody"]["eventList"]
    assert len(events) == 7
    assert [e["eventTimeZoneOffset"] for e in events] == ["+08:00"] * 3 + ["-06:00"] * 4
    assert errors(schema_or_skip(), document) == []
    assert client.get(f"/v1/shipments/{uuid4()}/epcis").status_code == 404
