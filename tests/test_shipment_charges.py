"""A shipment's charges over HTTP: quoted with the booking in the same append, quoted again
while the goods travel, invoiced in parts after delivery — the shipment's realised value."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.shipment import Charges, Shipment
from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_shipment_commands import booking, http_parties, log_count, post, when


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "zhang.min", "Zhang Min 张敏")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_charges_quoted_with_the_booking_then_requoted_and_invoiced(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    booked = post(
        client,
        "/v1/shipments",
        booking(p, charges={"amount": "9450.00", "currency": "usd"}),
        201,
    )
    sid = UUID(booked["aggregate_id"])
    # The quote goes with the booking: one append, two events.
    assert booked["version"] == 2
    events = list(services.app.events.get(sid))
    assert [type(e).__name__ for e in events] == ["Booked", "ChargesQuoted"]
    booked_event, quoted = events
    assert isinstance(booked_event, Shipment.Booked)
    assert isinstance(quoted, Shipment.ChargesQuoted)
    assert (quoted.amount, quoted.currency) == (Decimal("9450.00"), "USD")
    assert quoted.occurred_at == booked_event.occurred_at

    requoted = client.post(
        f"/v1/shipments/{sid}/charges",
        json={"amount": 10120, "currency": "USD", "occurred_at": when(-40)},
        headers={"If-Match": '"2"'},
    )
    assert requoted.status_code == 200, requoted.text
    assert requoted.headers["ETag"] == '"3"'
    assert services.app.shipments.get_shipment(sid).quoted_charges == Charges(
        Decimal("10120"), "USD"
    )

    first = {"invoice_number": "SZV-INV-0301", "amount": "8800.00", "currency": "USD"}
    post(client, f"/v1/shipments/{sid}/invoices", {**first, "occurred_at": when(-30)})
    post(
        client,
        f"/v1/shipments/{sid}/invoices",
        {"invoice_number": "SZV-INV-0302", "amount": "1320", "currency": "USD"},
    )
    shipment = services.app.shipments.get_shipment(sid)
    assert [i.invoice_number for i in shipment.invoices] == ["SZV-INV-0301", "SZV-INV-0302"]
    assert sum(i.amount for i in shipment.invoices) == Decimal("10120")
    assert shipment.invoices[0].invoiced_by == "zhang.min"


def test_charge_refusals_name_the_rule_or_the_field_and_write_nothing(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    sid = post(client, "/v1/shipments", booking(p), 201)["aggregate_id"]
    before = log_count(services)

    def refused(path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        response = client.post(f"/v1/shipments/{sid}/{path}", json=body)
        assert response.status_code == status, response.text
        problem: dict[str, Any] = response.json()
        return problem

    assert refused("charges", {"amount": "0", "currency": "USD"}, 422)["errors"][0]["field"] == (
        "amount"
    )
    assert refused("charges", {"amount": "10.005", "currency": "USD"}, 422)
    assert refused("charges", {"amount": "10", "currency": "US"}, 422)["errors"][0]["field"] == (
        "currency"
    )
    assert refused("invoices", {"amount": "10", "currency": "USD"}, 422)["errors"][0]["field"] == (
        "invoice_number"
    )
    invoice = {"invoice_number": "INV-1", "amount": "10", "currency": "USD"}
    post(client, f"/v1/shipments/{sid}/invoices", invoice)
    after_invoice = log_count(services)
    assert after_invoice == before + 1
    assert refused("invoices", invoice, 409)["rule"] == "invoice.duplicate_number"
    post(client, f"/v1/shipments/{sid}/cancel", {"reason": "postponed"})
    assert refused("charges", {"amount": "10", "currency": "USD"}, 409)["rule"] == (
        "charges.shipment_closed"
    )
    assert refused("invoices", {**invoice, "invoice_number": "INV-2"}, 409)["rule"] == (
        "invoice.shipment_cancelled"
    )
    assert log_count(services) == after_invoice + 1  # the cancellation only
    unknown = client.post(
        "/v1/shipments/00000000-0000-4000-8000-000000000009/charges",
        json={"amount": "10", "currency": "USD"},
    )
    assert unknown.status_code == 404
