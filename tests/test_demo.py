"""The demo data set: what a newcomer sees after `fullchain demo` or `fullchain serve`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, LiteralString
from uuid import UUID

from application.database import Database
from application.tokens import identify
from domain.base import AttributedEvent
from domain.liability import LiabilityRegime, TransportMode
from domain.relationship import Relationship, RelationshipKind
from domain.service_case import CaseKind, Priority
from domain.shipment import (
    Condition,
    IncidentKind,
    LinkFunction,
    PartyKind,
    ResponsibilityBasis,
    ResponsibilityStatus,
    ShipmentStatus,
)
from interface.demo import DEMO_EXPLORER, SEED_CASE_ID, demo_token, has_data, load_demo
from interface.runtime import Services
from tests.conftest import truncate_all


def _rows(services: Services, query: LiteralString) -> list[dict[str, Any]]:
    with services.reads.connection() as conn:
        return conn.execute(query).fetchall()


def _event_count(services: Services) -> int:
    return int(_rows(services, "SELECT count(*) AS n FROM fullchain_events")[0]["n"])


def _log(services: Services) -> list[tuple[Any, ...]]:
    return [
        (r["originator_id"], r["originator_version"], r["topic"])
        for r in _rows(
            services,
            "SELECT originator_id, originator_version, topic FROM fullchain_events "
            "ORDER BY notification_id",
        )
    ]


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_demo_loads_a_believable_year_once(services: Services) -> None:
    assert not has_data(services)

    summary = load_demo(services)

    assert "relationships" in summary
    assert "shipments" in summary
    assert str(SEED_CASE_ID) in summary
    assert has_data(services)
    events = _event_count(services)
    assert 500 < events < 5000

    # A second load writes nothing.
    again = load_demo(services)
    assert "already" in again
    assert _event_count(services) == events

    services.worker(services.projections[0]).catch_up()
    accounts = _rows(services, "SELECT * FROM account_status")
    registered = _rows(
        services,
        "SELECT count(*) AS n FROM fullchain_events WHERE topic = 'Relationship.Registered'",
    )[0]["n"]
    assert len(accounts) == registered
    assert 50 <= len(accounts) <= 65

    kinds = {a["kind"] for a in accounts}
    assert kinds == {k.value for k in RelationshipKind}
    assert len({a["branch"] for a in accounts}) >= 3
    assert len({a["region"] for a in accounts}) >= 3
    names = [a["name"] for a in accounts]
    assert any(_is_chinese(n) for n in names)
    assert any(n.isascii() for n in names)
    assert len(set(names)) == len(names)

    customers = [a for a in accounts if a["kind"] == "customer"]
    assert {c["lifecycle"] for c in customers} >= {"active", "dormant", "lost", "won_back"}
    assert all(a["lifecycle"] == "active" for a in accounts if a["kind"] != "customer")
    assert any(a["key_account"] for a in accounts)
    assert all(a["contact_count"] >= 1 for a in accounts)
    assert all(a["office_rep"] for a in accounts)
    assert all(a["field_rep"] for a in accounts if a["kind"] != "competitor")
    assert sum(a["care_action_count"] for a in customers) >= len(customers)
    assert not any(a["care_action_count"] for a in accounts if a["kind"] == "competitor")

    # The history spans about a year of business time, all of it in the past.
    now = datetime.now(UTC)
    happened = [a["last_interaction_at"] for a in accounts if a["last_interaction_at"]]
    assert len(happened) == len(accounts)
    assert max(happened) < now
    interactions = _rows(
        services, "SELECT min(happened_at) AS first, count(*) AS n FROM account_interaction"
    )[0]
    assert (now - interactions["first"]).days > 300
    assert interactions["n"] > 3 * len(accounts)
    channels = _rows(services, "SELECT DISTINCT channel FROM account_interaction")
    assert {c["channel"] for c in channels} == {
        "visit",
        "call",
        "email",
        "meeting",
        "message",
        "portal",
    }

    # Lost customers name the competitor that won them; events carry the business time.
    competitor_ids = {a["relationship_id"] for a in accounts if a["kind"] == "competitor"}
    lost_to = []
    for account in customers:
        history = [
            e
            for e in services.app.events.get(account["relationship_id"])
            if isinstance(e, AttributedEvent)
        ]
        occurred = [e.occurred_at for e in history]
        assert occurred == sorted(occurred)
        lost_to += [
            e.lost_to_competitor_id for e in history if isinstance(e, Relationship.MarkedLost)
        ]
    assert len(lost_to) >= 3
    assert set(lost_to) <= competitor_ids

    name, first = demo_token(services)
    assert name == DEMO_EXPLORER[1]
    name, token = demo_token(services)  # the next start
    with services.reads.connection() as conn:
        staff = identify(conn, token)
        assert identify(conn, first) is None  # one demo token at a time
    assert staff is not None
    assert staff.staff_id == DEMO_EXPLORER[0]
    assert staff.sees_all_branches
    # The demo's staff are staff members with the roles of their jobs.
    with services.reads.connection() as conn:
        rows = conn.execute("SELECT staff_id, roles FROM staff_access").fetchall()
    roles = {r["staff_id"]: r["roles"] for r in rows}
    assert roles["zhou.hui"] == ["branch_manager"]
    assert roles["li.wei"] == ["field_staff"]
    assert roles["gao.min"] == ["auditor"]


def test_the_same_seed_and_day_give_the_same_log(database: Database) -> None:
    now = datetime.now(UTC)
    logs = []
    for _ in range(2):
        truncate_all(database)
        services = Services.open(database)
        try:
            load_demo(services, now=now)
            logs.append(_log(services))
        finally:
            services.close()
    assert logs[0] == logs[1]


def test_the_demo_books_a_year_of_shipments_and_tells_the_seed_case(services: Services) -> None:
    load_demo(services)
    app = services.app

    # The seed case: an electronics customer's air export from Suzhou to Chicago.
    seed = app.get_shipment(SEED_CASE_ID)
    customer = app.get_relationship(seed.customer_id)
    assert (customer.kind, customer.industry) == (RelationshipKind.CUSTOMER, "electronics")
    assert seed.origin.startswith("Suzhou")
    assert seed.destination.startswith("Chicago")
    assert [link.function for link in seed.links] == [
        LinkFunction.PICKUP,
        LinkFunction.EXPORT_CUSTOMS,
        LinkFunction.MAIN_CARRIAGE,
        LinkFunction.IMPORT_CUSTOMS,
        LinkFunction.WAREHOUSING,
        LinkFunction.DELIVERY,
    ]
    pickup, export, air, import_customs, warehousing, delivery = seed.links
    assert pickup.party == export.party
    assert pickup.party.kind is PartyKind.BRANCH
    assert pickup.party.branch is not None
    assert pickup.party.branch.startswith("Suzhou")
    assert (air.mode, air.regime) == (TransportMode.AIR, LiabilityRegime.MONTREAL)

    def partner(link_party_id: Any) -> Relationship:
        relationship = app.get_relationship(link_party_id)
        assert relationship.kind is RelationshipKind.PARTNER
        return relationship

    airline = partner(air.party.relationship_id)
    agent = partner(import_customs.party.relationship_id)
    warehouse = partner(warehousing.party.relationship_id)
    assert airline.industry == "air cargo"
    assert delivery.party == import_customs.party  # the overseas agent, in Chicago
    assert agent.branch.startswith("Chicago")
    assert warehouse.industry == "warehousing"

    # Cartons found damaged at import; responsibility with the airline, which accepts.
    assert seed.status is ShipmentStatus.DELIVERED
    assert import_customs.received is not None
    assert import_customs.received.condition is Condition.DAMAGED
    (incident,) = seed.incidents.values()
    assert (incident.kind, incident.link_sequence) == (IncidentKind.DAMAGE, 4)
    assert incident.responsible is not None
    assert incident.responsible.party == air.party
    assert incident.responsible.basis is ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION
    assert incident.responsibility_status is ResponsibilityStatus.ACCEPTED
    assert incident.is_resolved

    # We compensate in full; recovery from the airline is limited to 26 SDR/kg.
    (claim,) = seed.claims.values()
    assert claim.compensation_paid == claim.amount
    assert claim.limit is not None
    assert claim.limit.regime is LiabilityRegime.MONTREAL
    assert claim.limit.sdr == 26 * claim.limit.weight_kg
    assert claim.limit.sdr_rate == Decimal("1.33")
    assert claim.recovery_from == air.party.relationship_id
    assert claim.recovery_claimed == claim.recovery_received == claim.limit.amount
    assert claim.limit.amount < claim.amount
    assert claim.closed_at is not None
    assert seed.evaluation is not None

    # Around it, a year of shipments: most delivered and evaluated, some on their way.
    topics = Counter(
        row["topic"]
        for row in _rows(services, "SELECT topic FROM fullchain_events")
        if row["topic"].startswith("Shipment.")
    )
    booked = topics["Shipment.Booked"]
    assert 80 <= booked <= 250
    assert topics["Shipment.Delivered"] > 0.8 * booked
    assert topics["Shipment.Evaluated"] > 0.6 * booked
    assert booked - topics["Shipment.Delivered"] - topics["Shipment.Cancelled"] >= 3
    assert 1 <= topics["Shipment.Cancelled"] <= 2
    assert topics["Shipment.DelayReported"] >= 3
    assert 4 <= topics["Shipment.IncidentReported"] <= 10
    assert topics["Shipment.ResponsibilityDisputed"] >= 2
    assert topics["Shipment.ResponsibilityArbitrated"] >= 1
    assert topics["Shipment.CompensationPaid"] >= 4
    assert topics["Shipment.RecoveryClaimed"] > topics["Shipment.RecoveryReceived"] >= 2
    assert topics["Shipment.RecoveryWaived"] >= 1

    # Each shipment's history runs forward in business time, all of it in the past, and
    # books only for customers.
    now = datetime.now(UTC)
    shipment_ids = [
        row["originator_id"]
        for row in _rows(
            services,
            "SELECT originator_id FROM fullchain_events WHERE topic = 'Shipment.Booked'",
        )
    ]
    customers = set()
    for shipment_id in shipment_ids:
        history = [e for e in app.events.get(shipment_id) if isinstance(e, AttributedEvent)]
        occurred = [e.occurred_at for e in history]
        assert occurred == sorted(occurred)
        assert occurred[-1] < now
        customers.add(app.get_shipment(shipment_id).customer_id)
    assert len(customers) >= 15
    assert all(app.get_relationship(c).is_customer for c in customers)


def test_the_demo_sells_serves_and_bills_a_year(services: Services) -> None:
    load_demo(services)
    app = services.app
    for projection in services.projections:
        if projection.name in ("account_status", "offerings", "opportunities", "service_cases"):
            services.worker(projection).catch_up()
    topics = Counter(row["topic"] for row in _rows(services, "SELECT topic FROM fullchain_events"))

    # A dozen lanes and more, one suspended for the winter and resumed.
    offerings = _rows(services, "SELECT * FROM offering")
    assert len(offerings) >= 12
    assert {o["mode"] for o in offerings} == {"air", "sea", "rail"}
    assert topics["ServiceOffering.Retired"] == topics["ServiceOffering.Reinstated"] == 1
    assert topics["ServiceOffering.TermsRevised"] >= 1

    # A year of opportunities through every stage, won and lost against the competitors.
    opportunities = _rows(services, "SELECT * FROM opportunity")
    assert 30 <= len(opportunities) <= 80
    open_deals = [o for o in opportunities if o["status"] == "open"]
    assert {o["stage"] for o in open_deals} == {
        "generation",
        "tracking",
        "control",
        "implementation",
    }
    for deal in open_deals:
        assert deal["weighted_value"] == (deal["expected_value"] * deal["probability"]).quantize(
            Decimal("0.01")
        )
        assert Decimal("0.05") <= deal["probability"] <= Decimal("0.85")
    won = [o for o in opportunities if o["status"] == "won"]
    assert len(won) >= 8
    assert any(o["stage"] == "evaluation" for o in won)
    lost = [o for o in opportunities if o["status"] == "lost"]
    competitors = {
        row["relationship_id"]
        for row in _rows(
            services, "SELECT relationship_id FROM account_status WHERE kind = 'competitor'"
        )
    }
    assert len({o["lost_to"] for o in lost if o["lost_to"]}) >= 3
    assert {o["lost_to"] for o in lost if o["lost_to"]} <= competitors
    assert {o["loss_reason"] for o in lost} >= {"price", "no_decision"}
    assert all(set(o["competitor_ids"]) <= competitors for o in opportunities)
    for topic in ("SteppedBack", "OfferingChanged", "CompetitorInvolved", "ExpectedValueRevised"):
        assert topics[f"Opportunity.{topic}"] >= 1, topic
    # Prospects and targets become customers by winning: the first business follows the win.
    query = "SELECT originator_id FROM fullchain_events WHERE topic = %s"
    with services.reads.connection() as conn:
        rows = conn.execute(query, ("Relationship.BecameCustomer",)).fetchall()
    firsts = [
        e
        for row in rows
        for e in app.events.get(row["originator_id"])
        if isinstance(e, Relationship.BecameCustomer)
    ]
    by_winning = [e for e in firsts if e.first_business_reference.startswith("won opportunity")]
    assert len(by_winning) >= 4
    for became in by_winning:
        opportunity = app.get_opportunity(UUID(became.first_business_reference.split()[-1]))
        assert opportunity.win is not None
        assert became.occurred_at == opportunity.win.won_at

    # Service cases of every kind and priority, answered, escalated, reopened, rated; some
    # breached their SLA, some still running, a few past due now.
    cases = _rows(services, "SELECT * FROM service_case")
    assert 40 <= len(cases) <= 150
    assert {c["kind"] for c in cases} == {k.value for k in CaseKind}
    assert {c["priority"] for c in cases} == {p.value for p in Priority}
    now = datetime.now(UTC)
    assert sum(1 for c in cases if c["resolution_breach_after"] and c["closed_at"]) >= 5
    assert any(c["status"] == "open" for c in cases)
    assert any(
        c["status"] == "open"
        and min(t for t in (c["first_response_breach_after"], c["resolution_breach_after"]) if t)
        < now
        for c in cases
        if c["first_response_breach_after"] or c["resolution_breach_after"]
    )
    assert sum(c["reopenings"] for c in cases) >= 1
    assert sum(c["escalations"] for c in cases) >= 1
    ratings = [c["satisfaction"] for c in cases if c["satisfaction"]]
    assert len(ratings) >= 10
    assert min(ratings) <= 3 < max(ratings)
    assert sum(1 for c in cases if c["incident_id"]) == topics["Shipment.IncidentReported"]

    # Every competitor profiled, and what was learnt of them during the year.
    assert topics["CompetitorProfile.Started"] == len(competitors)
    for topic in ("StrengthNoted", "WeaknessWithdrawn", "LaneAdded", "LaneDropped"):
        assert topics[f"CompetitorProfile.{topic}"] >= 1, topic

    # Every shipment quoted with its booking; freight invoiced, air at 4–8 a kilogram.
    numbers: list[str] = []
    invoiced = delivered = 0
    for row in _rows(
        services, "SELECT originator_id FROM fullchain_events WHERE topic = 'Shipment.Booked'"
    ):
        shipment = app.get_shipment(row["originator_id"])
        charges = shipment.quoted_charges
        assert charges is not None
        assert charges.currency == shipment.cargo.currency
        numbers += [i.invoice_number for i in shipment.invoices]
        if shipment.status is ShipmentStatus.CANCELLED:
            assert shipment.invoices == ()
        if shipment.status is ShipmentStatus.DELIVERED:
            delivered += 1
            invoiced += bool(shipment.invoices)
        if shipment.invoices:  # the freight in full, perhaps destination charges too
            assert sum(i.amount for i in shipment.invoices) >= charges.amount
        if any(link.mode is TransportMode.AIR for link in shipment.links):
            kg = shipment.cargo.gross_weight_kg
            assert 4 * kg < charges.amount < Decimal("8.96") * kg + 1000
    assert len(numbers) == len(set(numbers))
    assert invoiced >= 0.9 * delivered
