"""Shipment commands through the service and over HTTP, on real PostgreSQL: the seed case
(an air export from Suzhou to Chicago, damaged at import, compensated and recovered) end to
end, and the refusals, which write nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from application.service import AlreadyExists, Fullchain, NotFound, VersionMismatch
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
from interface.runtime import Services

PICKUP, EXPORT_CUSTOMS, AIR_CARRIAGE, IMPORT_CUSTOMS, WAREHOUSING, DELIVERY = range(1, 7)

#: Business times count from here: three weeks ago, on the hour.
START = (datetime.now(UTC) - timedelta(days=21)).replace(minute=0, second=0, microsecond=0)


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
    return app.register_relationship(
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
    return app.book_shipment(
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
            app.complete_link(ctx(hours), sid, sequence=sequence - 1)
        app.start_link(ctx(hours), sid, sequence=sequence)
        positions.append(
            app.hand_over(
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
    app.report_delay(
        ctx(30), sid, sequence=AIR_CARRIAGE, estimated_end=at(54), reason="flight offloaded"
    )
    step(53, IMPORT_CUSTOMS, Condition.DAMAGED)

    damage = uuid4()
    app.report_incident(
        ctx(55, "emily.johnson"),
        sid,
        incident_id=damage,
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="6 cartons of laptops crushed on arrival at ORD",
        packages_affected=6,
        weight_affected_kg=Decimal("90"),
    )
    app.record_coordination_action(
        ctx(56), sid, incident_id=damage, action="airline damage report requested"
    )
    # No link named: the custody history points at the airline, which handed over damaged.
    app.assign_responsibility(ctx(57), sid, incident_id=damage)
    app.accept_responsibility(
        ctx(58), sid, incident_id=damage, note="airline letter CL-88 accepts liability"
    )

    step(60, WAREHOUSING, Condition.DAMAGED)
    step(90, DELIVERY, Condition.DAMAGED)
    app.deliver(
        ctx(100),
        sid,
        condition=Condition.DAMAGED,
        signed_by="J. Miller, receiving",
        proof_of_delivery="POD-ORD-778",
        remarks="114 cartons good, 6 damaged as noted",
    )

    claim_id = uuid4()
    app.file_claim(
        ctx(120),
        sid,
        claim_id=claim_id,
        incident_id=damage,
        amount=Decimal("24000"),
        currency="USD",
    )
    app.pay_compensation(
        ctx(150, "he.xiaoli"),
        sid,
        claim_id=claim_id,
        amount=Decimal("24000"),
        payment_reference="PAY-2025-0412",
    )
    app.assess_liability_limit(ctx(151), sid, claim_id=claim_id, sdr_rate=Decimal("1.33"))
    with pytest.raises(CommandRefused) as over:
        app.claim_recovery(ctx(152), sid, claim_id=claim_id, amount=Decimal("3112.21"))
    assert over.value.rule == "recovery.exceeds_limit"
    app.claim_recovery(ctx(152), sid, claim_id=claim_id, amount=Decimal("3112.20"))
    app.receive_recovery(ctx(400), sid, claim_id=claim_id, amount=Decimal("3112.20"))
    app.resolve_incident(ctx(401), sid, incident_id=damage, resolution="settled with the airline")
    app.close_claim(ctx(402), sid, claim_id=claim_id, note="compensated and recovered")
    last = app.evaluate_shipment(ctx(403), sid, rating=3, remarks="fast, six cartons damaged")

    assert positions == sorted(positions)
    shipment = app.get_shipment(sid)
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
    app.get_relationship(prospect)  # cached as a prospect
    with pytest.raises(CommandRefused) as refused:
        book(app, walk_in)
    assert refused.value.rule == "booking.first_business_not_recorded"
    # Recorded by another process: the stale cached copy does not refuse the booking.
    other = Fullchain(services.database)
    try:
        other.record_first_business(other.context("zhang.min"), prospect, reference="SZV-1")
    finally:
        other.close()
    assert app.get_shipment(book(app, walk_in)).customer_id == prospect


def test_shipment_commands_refuse_and_write_nothing(services: Services) -> None:
    app = services.app
    p = parties(app)
    sid = book(app, p)
    ctx = app.context("zhang.min")
    before = log_count(services)

    with pytest.raises(NotFound):
        app.start_link(ctx, uuid4(), sequence=1)
    with pytest.raises(NotFound):
        app.start_link(ctx, p.customer, sequence=1)  # a relationship, not a shipment
    with pytest.raises(VersionMismatch):
        app.start_link(ctx, sid, sequence=PICKUP, expected_version=2)
    with pytest.raises(CommandRefused) as out_of_order:
        app.start_link(ctx, sid, sequence=AIR_CARRIAGE)
    assert out_of_order.value.rule == "chain.out_of_order"
    with pytest.raises(InvalidValue) as unknown_partner:
        app.reassign_link(
            ctx, sid, sequence=AIR_CARRIAGE, party=Party.partner(uuid4()), reason="cheaper"
        )
    assert unknown_partner.value.field == "party"
    with pytest.raises(CommandRefused) as competitor:
        app.reassign_link(
            ctx, sid, sequence=AIR_CARRIAGE, party=Party.partner(p.competitor), reason="cheaper"
        )
    assert competitor.value.rule == "party.not_partner"
    with pytest.raises(AlreadyExists):
        app.book_shipment(
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

    moved = app.reassign_link(
        ctx, sid, sequence=WAREHOUSING, party=Party.partner(p.agent), reason="agent's own shed"
    )
    assert moved.version == 2
    assert app.get_shipment(sid).links[WAREHOUSING - 1].party == Party.partner(p.agent)
    with pytest.raises(VersionMismatch):
        app.cancel_shipment(ctx, sid, reason="customer postponed", expected_version=1)
    cancelled = app.cancel_shipment(ctx, sid, reason="customer postponed", expected_version=2)
    assert cancelled.version == 3
    assert app.get_shipment(sid).status is ShipmentStatus.CANCELLED


def test_a_disputed_responsibility_is_arbitrated_and_recovery_waived(services: Services) -> None:
    app = services.app
    p = parties(app)
    sid = book(app, p)

    def ctx(hours: float, actor: str = "zhang.min") -> CommandContext:
        return app.context(actor, occurred_at=at(hours))

    app.start_link(ctx(0), sid, sequence=PICKUP)
    app.hand_over(ctx(1), sid, to_sequence=PICKUP, condition=Condition.GOOD, signed_by="dispatch")
    app.start_link(ctx(4), sid, sequence=EXPORT_CUSTOMS)
    app.complete_link(ctx(5), sid, sequence=PICKUP)
    app.hand_over(
        ctx(5), sid, to_sequence=EXPORT_CUSTOMS, condition=Condition.GOOD, signed_by="CFS"
    )
    paperwork = uuid4()
    app.report_incident(
        ctx(8),
        sid,
        incident_id=paperwork,
        link_sequence=EXPORT_CUSTOMS,
        kind=IncidentKind.DOCUMENTATION_ERROR,
        description="wrong HS code on the export declaration; held one day",
    )
    with pytest.raises(InvalidValue) as basis_only:
        app.assign_responsibility(
            ctx(9), sid, incident_id=paperwork, basis=ResponsibilityBasis.INVESTIGATION
        )
    assert basis_only.value.field == "basis"
    with pytest.raises(InvalidValue) as no_basis:
        app.assign_responsibility(
            ctx(9), sid, incident_id=paperwork, link_sequence=PICKUP, explanation="x"
        )
    assert no_basis.value.field == "basis"
    app.assign_responsibility(
        ctx(9),
        sid,
        incident_id=paperwork,
        link_sequence=EXPORT_CUSTOMS,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="the declaration was prepared by our Suzhou customs desk",
    )
    app.dispute_responsibility(
        ctx(10), sid, incident_id=paperwork, reason="the customer's invoice carried the code"
    )
    app.arbitrate_responsibility(
        ctx(30, "qian.lin"),
        sid,
        incident_id=paperwork,
        link_sequence=EXPORT_CUSTOMS,
        decision="the desk must check codes against the product list; ours",
    )
    claim_id = uuid4()
    app.file_claim(
        ctx(31),
        sid,
        claim_id=claim_id,
        incident_id=paperwork,
        amount=Decimal("350"),
        currency="usd",
    )
    app.pay_compensation(
        ctx(32), sid, claim_id=claim_id, amount=Decimal("350"), payment_reference="PAY-9"
    )
    app.waive_recovery(ctx(33), sid, claim_id=claim_id, reason="our own desk; nobody to recover")
    shipment = app.get_shipment(sid)
    incident = shipment.incidents[paperwork]
    assert incident.responsibility_status is ResponsibilityStatus.ARBITRATED
    assert incident.responsible is not None
    assert incident.responsible.party == Party.our_branch("Suzhou")
    claim = shipment.claims[claim_id]
    assert claim.recovery_waived == "our own desk; nobody to recover"
    assert claim.currency == "USD"
    with pytest.raises(CommandRefused) as waived:
        app.claim_recovery(ctx(34), sid, claim_id=claim_id, amount=Decimal("1"))
    assert waived.value.rule == "recovery.waived"
