"""Shipment commands through the service and over HTTP, on real PostgreSQL: the seed case
(an air export from Suzhou to Chicago, damaged at import, compensated and recovered) end to
end, and the refusals, which write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.commands import AlreadyExists, NotFound, VersionMismatch
from application.service import Fullchain
from domain.base import CommandContext, CommandRefused, InvalidValue
from domain.liability import LiabilityRegime, TransportMode
from domain.relationship import RelationshipKind
from domain.shipment import (
    Cargo,
    ClaimStatus,
    Condition,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    Party,
    ResponsibilityBasis,
    ResponsibilityStatus,
    ShipmentStatus,
)
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.staffing import enroll

PICKUP, EXPORT_CUSTOMS, AIR_CARRIAGE, IMPORT_CUSTOMS, WAREHOUSING, DELIVERY = range(1, 7)

#: Business times count from here: three weeks before the suite's present, on the hour.
START = NOW - timedelta(days=21)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def log_count(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM fullchain_events").fetchone()
        assert row is not None
        return int(row[0])


@dataclass(frozen=True)
class Parties:
    customer: UUID
    airline: UUID
    agent: UUID
    warehouse: UUID
    competitor: UUID


def register(app: Fullchain, name: str, kind: RelationshipKind, branch: str = "Suzhou") -> UUID:
    return app.relationships.register_relationship(
        app.context("zhang.min", occurred_at=at(-24 * 30)),
        name=name,
        kind=kind,
        industry="electronics" if kind is RelationshipKind.CUSTOMER else "logistics",
        region="East China",
        branch=branch,
    ).aggregate_id


def parties(app: Fullchain) -> Parties:
    return Parties(
        customer=register(app, "苏州华芯电子有限公司", RelationshipKind.CUSTOMER),
        airline=register(app, "申航国际货运航空有限公司", RelationshipKind.PARTNER, "Shanghai"),
        agent=register(app, "Lakeshore Customs & Logistics", RelationshipKind.PARTNER, "Chicago"),
        warehouse=register(app, "O'Hare Bonded Warehouse", RelationshipKind.PARTNER, "Chicago"),
        competitor=register(app, "上海捷运国际货运代理有限公司", RelationshipKind.COMPETITOR),
    )


def links(p: Parties) -> list[LinkPlan]:
    """The seed case's six links, one planned day apart."""
    suzhou = Party.our_branch("Suzhou")
    return [
        LinkPlan(LinkFunction.PICKUP, suzhou, at(0), at(6), TransportMode.ROAD),
        LinkPlan(LinkFunction.EXPORT_CUSTOMS, suzhou, at(6), at(24)),
        LinkPlan(
            LinkFunction.MAIN_CARRIAGE, Party.partner(p.airline), at(24), at(48), TransportMode.AIR
        ),
        LinkPlan(LinkFunction.IMPORT_CUSTOMS, Party.partner(p.agent), at(48), at(72)),
        LinkPlan(LinkFunction.WAREHOUSING, Party.partner(p.warehouse), at(72), at(96)),
        LinkPlan(
            LinkFunction.DELIVERY, Party.partner(p.agent), at(96), at(120), TransportMode.ROAD
        ),
    ]


LAPTOPS = Cargo(
    description="laptop computers, 120 cartons",
    packages=120,
    gross_weight_kg=Decimal("1800"),
    declared_value=Decimal("480000"),
    currency="USD",
)


def book(app: Fullchain, p: Parties, plans: list[LinkPlan] | None = None) -> UUID:
    return app.shipments.book_shipment(
        app.context("li.wei", occurred_at=at(-48)),
        customer_id=p.customer,
        reference="SZV-250303-001",
        origin="Suzhou Industrial Park, CN",
        destination="Chicago, IL, US",
        cargo=LAPTOPS,
        links=plans if plans is not None else links(p),
    ).aggregate_id


# --- through the service --------------------------------------------------------------------


def test_the_seed_case_runs_end_to_end_through_the_service(services: Services) -> None:
    app = services.app
    p = parties(app)

    def ctx(hours: float, actor: str = "zhang.min") -> CommandContext:
        return app.context(actor, occurred_at=at(hours))

    sid = book(app, p)
    positions = []

    def step(hours: float, sequence: int, condition: Condition = Condition.GOOD) -> None:
        if sequence > 1:
            app.shipments.complete_link(ctx(hours), sid, sequence=sequence - 1)
        app.shipments.start_link(ctx(hours), sid, sequence=sequence)
        positions.append(
            app.shipments.hand_over(
                ctx(hours + 1),
                sid,
                to_sequence=sequence,
                condition=condition,
                signed_by=f"receiver of link {sequence}",
            ).position
        )

    step(0, PICKUP)
    step(5, EXPORT_CUSTOMS)
    step(22, AIR_CARRIAGE)
    app.shipments.report_delay(
        ctx(30), sid, sequence=AIR_CARRIAGE, estimated_end=at(54), reason="flight offloaded"
    )
    step(53, IMPORT_CUSTOMS, Condition.DAMAGED)

    damage = uuid4()
    app.shipments.report_incident(
        ctx(55, "emily.johnson"),
        sid,
        incident_id=damage,
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="6 cartons of laptops crushed on arrival at ORD",
        packages_affected=6,
        weight_affected_kg=Decimal("90"),
    )
    app.shipments.record_coordination_action(
        ctx(56), sid, incident_id=damage, action="airline damage report requested"
    )
    # No link named: the custody history points at the airline, which handed over damaged.
    app.shipments.assign_responsibility(ctx(57), sid, incident_id=damage)
    app.shipments.accept_responsibility(
        ctx(58), sid, incident_id=damage, note="airline letter CL-88 accepts liability"
    )

    step(60, WAREHOUSING, Condition.DAMAGED)
    step(90, DELIVERY, Condition.DAMAGED)
    app.shipments.deliver(
        ctx(100),
        sid,
        condition=Condition.DAMAGED,
        signed_by="J. Miller, receiving",
        proof_of_delivery="POD-ORD-778",
        remarks="114 cartons good, 6 damaged as noted",
    )

    claim_id = uuid4()
    app.shipments.file_claim(
        ctx(120),
        sid,
        claim_id=claim_id,
        incident_id=damage,
        amount=Decimal("24000"),
        currency="USD",
    )
    app.shipments.pay_compensation(
        ctx(150, "he.xiaoli"),
        sid,
        claim_id=claim_id,
        amount=Decimal("24000"),
        payment_reference="PAY-2025-0412",
    )
    app.shipments.assess_liability_limit(ctx(151), sid, claim_id=claim_id, sdr_rate=Decimal("1.33"))
    with pytest.raises(CommandRefused) as over:
        app.shipments.claim_recovery(ctx(152), sid, claim_id=claim_id, amount=Decimal("3112.21"))
    assert over.value.rule == "recovery.exceeds_limit"
    app.shipments.claim_recovery(ctx(152), sid, claim_id=claim_id, amount=Decimal("3112.20"))
    app.shipments.receive_recovery(ctx(400), sid, claim_id=claim_id, amount=Decimal("3112.20"))
    app.shipments.resolve_incident(
        ctx(401), sid, incident_id=damage, resolution="settled with the airline"
    )
    app.shipments.close_claim(ctx(402), sid, claim_id=claim_id, note="compensated and recovered")
    last = app.shipments.evaluate_shipment(
        ctx(403), sid, rating=3, remarks="fast, six cartons damaged"
    )

    assert positions == sorted(positions)
    shipment = app.shipments.get_shipment(sid)
    assert shipment.version == last.version
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.customer_id == p.customer
    incident = shipment.incidents[damage]
    assert incident.responsibility_status is ResponsibilityStatus.ACCEPTED
    assert incident.responsible is not None
    assert incident.responsible.party == Party.partner(p.airline)
    assert incident.responsible.basis is ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION
    assert incident.reported_by == "emily.johnson"
    claim = shipment.claims[claim_id]
    assert claim.status is ClaimStatus.CLOSED
    assert claim.limit is not None
    assert claim.limit.regime is LiabilityRegime.MONTREAL
    assert (claim.limit.sdr, claim.limit.amount) == (Decimal("2340.00"), Decimal("3112.20"))
    assert claim.recovery_from == p.airline
    assert claim.net_cost == Decimal("20887.80")
    assert shipment.evaluation is not None
    assert shipment.evaluation.on_time is True
    assert shipment.links[AIR_CARRIAGE - 1].estimated_end == at(54)


def test_a_booking_must_name_partners_for_links_and_a_customer_to_serve(
    services: Services,
) -> None:
    app = services.app
    p = parties(app)
    before = log_count(services)

    competitor_flies = links(p)
    competitor_flies[2] = LinkPlan(
        LinkFunction.MAIN_CARRIAGE,
        Party.partner(p.competitor),
        at(24),
        at(48),
        TransportMode.AIR,
    )
    with pytest.raises(CommandRefused) as not_partner:
        book(app, p, competitor_flies)
    assert not_partner.value.rule == "party.not_partner"

    unknown = links(p)
    unknown[3] = LinkPlan(LinkFunction.IMPORT_CUSTOMS, Party.partner(uuid4()), at(48), at(72))
    with pytest.raises(InvalidValue) as unknown_partner:
        book(app, p, unknown)
    assert (unknown_partner.value.rule, unknown_partner.value.field) == (
        "party.unknown",
        "links[3].party",
    )

    with pytest.raises(InvalidValue) as unknown_customer:
        book(app, Parties(uuid4(), p.airline, p.agent, p.warehouse, p.competitor))
    assert unknown_customer.value.field == "customer_id"

    with pytest.raises(CommandRefused) as partner_books:
        book(app, Parties(p.airline, p.airline, p.agent, p.warehouse, p.competitor))
    assert partner_books.value.rule == "booking.not_a_customer"
    assert log_count(services) == before  # nothing written


def test_a_prospect_books_only_once_its_first_business_is_recorded(services: Services) -> None:
    app = services.app
    p = parties(app)
    prospect = register(app, "苏州新锐光电有限公司", RelationshipKind.PROSPECT)
    walk_in = Parties(prospect, p.airline, p.agent, p.warehouse, p.competitor)
    app.relationships.get_relationship(prospect)  # cached as a prospect
    with pytest.raises(CommandRefused) as refused:
        book(app, walk_in)
    assert refused.value.rule == "booking.first_business_not_recorded"
    # Recorded by another process: the stale cached copy does not refuse the booking.
    other = Fullchain(services.database)
    try:
        other.relationships.record_first_business(
            other.context("zhang.min"), prospect, reference="SZV-1"
        )
    finally:
        other.close()
    assert app.shipments.get_shipment(book(app, walk_in)).customer_id == prospect


def test_shipment_commands_refuse_and_write_nothing(services: Services) -> None:
    app = services.app
    p = parties(app)
    sid = book(app, p)
    ctx = app.context("zhang.min")
    before = log_count(services)

    with pytest.raises(NotFound):
        app.shipments.start_link(ctx, uuid4(), sequence=1)
    with pytest.raises(NotFound):
        app.shipments.start_link(ctx, p.customer, sequence=1)  # a relationship, not a shipment
    with pytest.raises(VersionMismatch):
        app.shipments.start_link(ctx, sid, sequence=PICKUP, expected_version=2)
    with pytest.raises(CommandRefused) as out_of_order:
        app.shipments.start_link(ctx, sid, sequence=AIR_CARRIAGE)
    assert out_of_order.value.rule == "chain.out_of_order"
    with pytest.raises(InvalidValue) as unknown_partner:
        app.shipments.reassign_link(
            ctx, sid, sequence=AIR_CARRIAGE, party=Party.partner(uuid4()), reason="cheaper"
        )
    assert unknown_partner.value.field == "party"
    with pytest.raises(CommandRefused) as competitor:
        app.shipments.reassign_link(
            ctx, sid, sequence=AIR_CARRIAGE, party=Party.partner(p.competitor), reason="cheaper"
        )
    assert competitor.value.rule == "party.not_partner"
    with pytest.raises(AlreadyExists):
        app.shipments.book_shipment(
            ctx,
            customer_id=p.customer,
            reference="again",
            origin="Suzhou",
            destination="Chicago",
            cargo=LAPTOPS,
            links=links(p),
            shipment_id=sid,
        )
    assert log_count(services) == before

    moved = app.shipments.reassign_link(
        ctx, sid, sequence=WAREHOUSING, party=Party.partner(p.agent), reason="agent's own shed"
    )
    assert moved.version == 2
    assert app.shipments.get_shipment(sid).links[WAREHOUSING - 1].party == Party.partner(p.agent)
    cancel = app.context("zhang.min")
    with pytest.raises(VersionMismatch):
        app.shipments.cancel_shipment(cancel, sid, reason="customer postponed", expected_version=1)
    cancelled = app.shipments.cancel_shipment(
        cancel, sid, reason="customer postponed", expected_version=2
    )
    assert cancelled.version == 3
    assert app.shipments.get_shipment(sid).status is ShipmentStatus.CANCELLED


def test_a_disputed_responsibility_is_arbitrated_and_recovery_waived(services: Services) -> None:
    app = services.app
    p = parties(app)
    sid = book(app, p)

    def ctx(hours: float, actor: str = "zhang.min") -> CommandContext:
        return app.context(actor, occurred_at=at(hours))

    app.shipments.start_link(ctx(0), sid, sequence=PICKUP)
    app.shipments.hand_over(
        ctx(1), sid, to_sequence=PICKUP, condition=Condition.GOOD, signed_by="dispatch"
    )
    app.shipments.start_link(ctx(4), sid, sequence=EXPORT_CUSTOMS)
    app.shipments.complete_link(ctx(5), sid, sequence=PICKUP)
    app.shipments.hand_over(
        ctx(5), sid, to_sequence=EXPORT_CUSTOMS, condition=Condition.GOOD, signed_by="CFS"
    )
    paperwork = uuid4()
    app.shipments.report_incident(
        ctx(8),
        sid,
        incident_id=paperwork,
        link_sequence=EXPORT_CUSTOMS,
        kind=IncidentKind.DOCUMENTATION_ERROR,
        description="wrong HS code on the export declaration; held one day",
    )
    with pytest.raises(InvalidValue) as basis_only:
        app.shipments.assign_responsibility(
            ctx(9), sid, incident_id=paperwork, basis=ResponsibilityBasis.INVESTIGATION
        )
    assert basis_only.value.field == "basis"
    with pytest.raises(InvalidValue) as no_basis:
        app.shipments.assign_responsibility(
            ctx(9), sid, incident_id=paperwork, link_sequence=PICKUP, explanation="x"
        )
    assert no_basis.value.field == "basis"
    app.shipments.assign_responsibility(
        ctx(9),
        sid,
        incident_id=paperwork,
        link_sequence=EXPORT_CUSTOMS,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="the declaration was prepared by our Suzhou customs desk",
    )
    app.shipments.dispute_responsibility(
        ctx(10), sid, incident_id=paperwork, reason="the customer's invoice carried the code"
    )
    app.shipments.arbitrate_responsibility(
        ctx(30, "qian.lin"),
        sid,
        incident_id=paperwork,
        link_sequence=EXPORT_CUSTOMS,
        decision="the desk must check codes against the product list; ours",
    )
    claim_id = uuid4()
    app.shipments.file_claim(
        ctx(31),
        sid,
        claim_id=claim_id,
        incident_id=paperwork,
        amount=Decimal("350"),
        currency="usd",
    )
    app.shipments.pay_compensation(
        ctx(32), sid, claim_id=claim_id, amount=Decimal("350"), payment_reference="PAY-9"
    )
    app.shipments.waive_recovery(
        ctx(33), sid, claim_id=claim_id, reason="our own desk; nobody to recover"
    )
    shipment = app.shipments.get_shipment(sid)
    incident = shipment.incidents[paperwork]
    assert incident.responsibility_status is ResponsibilityStatus.ARBITRATED
    assert incident.responsible is not None
    assert incident.responsible.party == Party.our_branch("Suzhou")
    claim = shipment.claims[claim_id]
    assert claim.recovery_waived == "our own desk; nobody to recover"
    assert claim.currency == "USD"
    with pytest.raises(CommandRefused) as waived:
        app.shipments.claim_recovery(ctx(34), sid, claim_id=claim_id, amount=Decimal("1"))
    assert waived.value.rule == "recovery.waived"


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "zhang.min", "Zhang Min 张敏")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def when(hours: float) -> str:
    return at(hours).isoformat()


def post(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == status, (path, response.text)
    return response.json()


def http_relationship(client: TestClient, name: str, kind: str) -> str:
    body = {
        "name": name,
        "kind": kind,
        "industry": "electronics",
        "region": "East China",
        "branch": "Suzhou",
        "occurred_at": when(-24 * 30),
    }
    rid: str = post(client, "/v1/relationships", body, 201)["aggregate_id"]
    return rid


def http_parties(client: TestClient) -> Parties:
    return Parties(
        customer=UUID(http_relationship(client, "苏州华芯电子有限公司", "customer")),
        airline=UUID(http_relationship(client, "申航国际货运航空有限公司", "partner")),
        agent=UUID(http_relationship(client, "Lakeshore Customs & Logistics", "partner")),
        warehouse=UUID(http_relationship(client, "O'Hare Bonded Warehouse", "partner")),
        competitor=UUID(http_relationship(client, "上海捷运国际货运代理有限公司", "competitor")),
    )


def booking(p: Parties, **overrides: Any) -> dict[str, Any]:
    def partner(rid: UUID) -> dict[str, Any]:
        return {"kind": "partner", "relationship_id": str(rid)}

    suzhou = {"kind": "branch", "branch": "Suzhou"}
    links: list[dict[str, Any]] = [
        {"function": "pickup", "party": suzhou, "mode": "road"},
        {"function": "export_customs", "party": suzhou},
        {"function": "main_carriage", "party": partner(p.airline), "mode": "air"},
        {"function": "import_customs", "party": partner(p.agent)},
        {"function": "warehousing", "party": partner(p.warehouse)},
        {"function": "delivery", "party": partner(p.agent), "mode": "road"},
    ]
    for index, link in enumerate(links):
        link["planned_start"] = when(24 * index)
        link["planned_end"] = when(24 * index + 24)
    return {
        "customer_id": str(p.customer),
        "reference": "SZV-250303-001",
        "origin": "Suzhou Industrial Park, CN",
        "destination": "Chicago, IL, US",
        "cargo": {
            "description": "laptop computers, 120 cartons",
            "packages": 120,
            "gross_weight_kg": 1800,
            "declared_value": "480000.00",
            "currency": "USD",
        },
        "links": links,
        "occurred_at": when(-48),
        **overrides,
    }


def test_the_seed_case_over_http(client: TestClient, services: Services) -> None:
    p = http_parties(client)
    response = client.post("/v1/shipments", json=booking(p))
    assert response.status_code == 201, response.text
    sid = response.json()["aggregate_id"]
    assert response.headers["Location"] == f"/v1/shipments/{sid}"
    assert response.headers["ETag"] == '"1"'
    base = f"/v1/shipments/{sid}"

    def run(sequence: int, hours: float, condition: str = "good", **extent: object) -> None:
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
                **extent,
            },
        )

    run(PICKUP, 0)
    run(EXPORT_CUSTOMS, 5)
    run(AIR_CARRIAGE, 22)
    post(
        client,
        f"{base}/links/{AIR_CARRIAGE}/delays",
        {"estimated_end": when(78), "reason": "flight offloaded at PVG", "occurred_at": when(30)},
    )
    run(IMPORT_CUSTOMS, 53, "damaged")
    incident = post(
        client,
        f"{base}/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "damage",
            "description": "6 cartons of laptops crushed on arrival at ORD",
            "packages_affected": 6,
            "weight_affected_kg": "90",
            "occurred_at": when(55),
        },
    )["incident_id"]
    inc = f"{base}/incidents/{incident}"
    post(client, f"{inc}/actions", {"action": "photos requested", "occurred_at": when(56)})
    post(client, f"{inc}/responsibility", {"occurred_at": when(57)})  # the proposal: the airline
    post(client, f"{inc}/accept", {"note": "airline letter CL-88", "occurred_at": when(58)})
    run(WAREHOUSING, 60, "damaged", packages_affected=6)
    run(DELIVERY, 90, "damaged", weight_affected_kg="90")
    post(
        client,
        f"{base}/deliver",
        {
            "condition": "damaged",
            "signed_by": "J. Miller, receiving",
            "proof_of_delivery": "POD-ORD-778",
            "packages_affected": 6,
            "weight_affected_kg": "90",
            "occurred_at": when(100),
        },
    )
    claim = post(
        client,
        f"{base}/claims",
        {"incident_id": incident, "amount": 24000, "currency": "USD", "occurred_at": when(120)},
    )["claim_id"]
    cl = f"{base}/claims/{claim}"
    post(
        client,
        f"{cl}/compensation",
        {"amount": "24000.00", "payment_reference": "PAY-2025-0412", "occurred_at": when(150)},
    )
    for zone in ("Mars/Olympus_Mons", "../etc/passwd"):
        unknown_zone = client.post(
            f"{cl}/limit", json={"sdr_rate": "1.33", "holiday_time_zone": zone}
        )
        assert unknown_zone.status_code == 422, unknown_zone.text
    post(
        client,
        f"{cl}/limit",
        {
            "sdr_rate": "1.33",
            "public_holidays": ["2025-03-10"],
            "holiday_time_zone": "UTC",
            "occurred_at": when(151),
        },
    )
    post(client, f"{cl}/recovery-claims", {"amount": "3112.20", "occurred_at": when(152)})
    post(client, f"{cl}/recovery-receipts", {"amount": 3112.2, "occurred_at": when(400)})
    post(client, f"{inc}/resolve", {"resolution": "settled", "occurred_at": when(401)})
    post(client, f"{cl}/close", {"note": "compensated and recovered", "occurred_at": when(402)})
    response = client.post(f"{base}/evaluate", json={"rating": 3, "occurred_at": when(403)})
    assert response.status_code == 200, response.text

    shipment = services.app.shipments.get_shipment(UUID(sid))
    assert response.headers["ETag"] == f'"{shipment.version}"'
    assert response.json()["version"] == shipment.version
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.links[AIR_CARRIAGE - 1].estimated_end == at(78)
    received = shipment.links[IMPORT_CUSTOMS - 1].received
    assert received is not None
    assert received.condition is Condition.DAMAGED
    pod = shipment.proof_of_delivery
    assert pod is not None
    assert (pod.packages_affected, pod.weight_affected_kg) == (6, Decimal("90"))
    # The same 6 cartons, noted at every handover after import: the damage reported.
    assert [e.covered_by for e in shipment.handover_exceptions()] == [UUID(incident)] * 4
    found = shipment.incidents[UUID(incident)]
    assert found.responsible is not None
    assert found.responsible.party == Party.partner(p.airline)
    assert found.discovered_at == at(55)
    filed = shipment.claims[UUID(claim)]
    assert filed.notified_at == at(120)
    assert filed.limit is not None
    assert filed.limit.amount == Decimal("3112.20")
    # The customer's 7 days from the final delivery; our 14 against the airline from its
    # handover to the import agent (Montreal counts holidays like any day).
    assert filed.customer_notice_deadline == at(100) + timedelta(days=7)
    assert filed.recovery_notice_deadline == at(54) + timedelta(days=14)
    assert (filed.recovery_received, filed.net_cost) == (Decimal("3112.2"), Decimal("20887.80"))
    assert filed.status is ClaimStatus.CLOSED
    assert shipment.evaluation is not None
    assert shipment.evaluation.evaluated_by == "zhang.min"


def test_refusals_over_http_name_the_rule_or_the_field_and_write_nothing(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    prospect = http_relationship(client, "苏州新锐光电有限公司", "prospect")
    sid = post(client, "/v1/shipments", booking(p), 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    before = log_count(services)

    def problem(path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        result: dict[str, Any] = response.json()
        return result

    # 409: the state forbids it, and the rule says why.
    assert problem(f"{base}/links/3/start", {}, 409)["rule"] == "chain.out_of_order"
    assert problem(f"{base}/evaluate", {"rating": 4}, 409)["rule"] == "evaluation.before_delivery"
    competitor = booking(p)
    competitor["links"][2]["party"]["relationship_id"] = str(p.competitor)
    assert problem("/v1/shipments", competitor, 409)["rule"] == "party.not_partner"
    walk_in = booking(p, customer_id=prospect)
    assert problem("/v1/shipments", walk_in, 409)["rule"] == "booking.first_business_not_recorded"

    # 422: the field and the reason.
    def field(path: str, body: dict[str, Any]) -> str:
        errors = problem(path, body, 422)["errors"]
        name: str = errors[0]["field"]
        return name

    unknown = booking(p)
    unknown["links"][3]["party"]["relationship_id"] = str(uuid4())
    assert field("/v1/shipments", unknown) == "links[3].party"
    assert field("/v1/shipments", booking(p, customer_id=str(uuid4()))) == "customer_id"
    both = booking(p)
    both["links"][0]["party"]["relationship_id"] = str(p.agent)
    assert field("/v1/shipments", both) == "links.0.party"
    naive = booking(p)
    naive["links"][1]["planned_start"] = "2025-03-03T08:00:00"
    assert field("/v1/shipments", naive) == "links.1.planned_start"
    assert field("/v1/shipments", booking(p, links=[])) == "links"
    no_mode = booking(p)
    del no_mode["links"][0]["mode"]
    assert field("/v1/shipments", no_mode) == "links[0]"
    assert field(f"{base}/evaluate", {"rating": 6}) == "rating"
    assert field(f"{base}/incidents", {"link_sequence": 1, "kind": "fire", "description": "x"}) == (
        "kind"
    )
    bad_amount = {"incident_id": str(uuid4()), "amount": "10.001", "currency": "USD"}
    assert field(f"{base}/claims", bad_amount) == "amount"
    assert field(f"{base}/claims", {**bad_amount, "amount": "-5"}) == "amount"
    assert field(f"{base}/claims", {**bad_amount, "amount": "5", "currency": "US"}) == "currency"
    assert field(f"{base}/links/1/start", {"surprise": True}) == "surprise"
    assert field(f"{base}/links/0/start", {}) == "sequence"
    assert field("/v1/shipments/not-a-uuid/cancel", {"reason": "x"}) == "shipment_id"

    # 404: no such shipment, link, incident or claim.
    assert problem(f"/v1/shipments/{uuid4()}/cancel", {"reason": "x"}, 404)
    assert problem(f"{base}/links/7/start", {}, 404)["rule"] == "link.unknown"
    assert problem(f"{base}/incidents/{uuid4()}/accept", {"note": "x"}, 404)["rule"] == (
        "incident.unknown"
    )
    assert problem(f"{base}/claims/{uuid4()}/close", {"note": "x"}, 404)["rule"] == (
        "claim.unknown"
    )
    assert log_count(services) == before

    # 412: If-Match names a version that is no longer current.
    started = client.post(f"{base}/links/1/start", json={}, headers={"If-Match": '"1"'})
    assert started.status_code == 200, started.text
    assert started.headers["ETag"] == '"2"'
    stale = client.post(f"{base}/cancel", json={"reason": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert services.app.shipments.get_shipment(UUID(sid)).version == 2


def test_responsibility_over_http_disputed_arbitrated_and_recovery_waived(
    client: TestClient, services: Services
) -> None:
    p = http_parties(client)
    sid = post(client, "/v1/shipments", booking(p), 201)["aggregate_id"]
    base = f"/v1/shipments/{sid}"
    post(client, f"{base}/links/1/start", {"occurred_at": when(0)})
    post(
        client,
        f"{base}/handovers",
        {"to_sequence": 1, "condition": "good", "signed_by": "dispatch", "occurred_at": when(1)},
    )
    incident = post(
        client,
        f"{base}/incidents",
        {
            "link_sequence": 1,
            "kind": "delay",
            "description": "truck late to the factory",
            "occurred_at": when(2),
        },
    )["incident_id"]
    inc = f"{base}/incidents/{incident}"
    assert client.post(f"{inc}/responsibility", json={"basis": "investigation"}).status_code == 422
    assert client.post(
        f"{inc}/responsibility",
        json={"link_sequence": 1, "basis": "arbitration", "explanation": "x"},
    ).json()["rule"] == ("responsibility.basis_reserved")
    post(
        client,
        f"{inc}/responsibility",
        {"link_sequence": 1, "basis": "link_of_incident", "explanation": "our truck"},
    )
    post(client, f"{inc}/dispute", {"reason": "the factory was not ready"})
    arbitrated = post(
        client, f"{inc}/arbitrate", {"link_sequence": 1, "decision": "our dispatch planned late"}
    )
    claim = post(
        client, f"{base}/claims", {"incident_id": incident, "amount": "120", "currency": "usd"}
    )["claim_id"]
    assert claim
    cl = f"{base}/claims/{claim}"
    refused = client.post(f"{cl}/waive-recovery", json={"reason": "goodwill"})
    assert refused.json()["rule"] == "recovery.waive_before_compensation"
    post(client, f"{cl}/compensation", {"amount": 120, "payment_reference": "PAY-1"})
    post(client, f"{cl}/waive-recovery", {"reason": "our own dispatch; nobody to recover from"})
    assert client.post(f"{cl}/recovery-claims", json={"amount": 1}).json()["rule"] == (
        "recovery.waived"
    )

    shipment = services.app.shipments.get_shipment(UUID(sid))
    settled = shipment.incidents[UUID(incident)]
    assert settled.responsibility_status is ResponsibilityStatus.ARBITRATED
    assert shipment.version == arbitrated["version"] + 3
    assert (
        shipment.claims[UUID(claim)].recovery_waived == "our own dispatch; nobody to recover from"
    )
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT convert_from(state, 'UTF8')::json->>'actor' FROM fullchain_events "
            "WHERE topic = 'Shipment.ResponsibilityArbitrated'"
        ).fetchone()
    assert row == ("zhang.min",)


def test_every_shipment_command_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    commands = [
        (path, op["post"])
        for path, op in spec["paths"].items()
        if path.startswith("/v1/shipments/") and "post" in op
    ]
    assert len(commands) == 30  # 27 commands, and evidence attached to 3 kinds of record
    for path, op in commands:
        assert {"200", "401", "404", "409", "412", "422"} <= set(op["responses"]), path
    uploads = [path for path, _ in commands if path.endswith("/attachments")]
    assert len(uploads) == 3
    for path in uploads:
        assert {"413", "415"} <= set(spec["paths"][path]["post"]["responses"]), path
    book = spec["paths"]["/v1/shipments"]["post"]
    assert {"201", "401", "409", "422"} <= set(book["responses"])
    arbitrate = spec["paths"]["/v1/shipments/{shipment_id}/incidents/{incident_id}/arbitrate"]
    assert "headquarters" in arbitrate["post"]["description"]
