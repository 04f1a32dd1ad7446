"""The Shipment aggregate on its own, no database: a chain of links, custody passing from
link to link, incidents, responsibility and claims under full-chain responsibility."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from domain.base import (
    CommandContext,
    CommandRefused,
    DomainError,
    InvalidValue,
    UnknownMember,
    event_classes,
)
from domain.evidence import EvidenceTarget
from domain.liability import (
    TERMS,
    CarriageMoments,
    ClaimKind,
    HolidayCalendar,
    LiabilityRegime,
    TransportMode,
    add_months,
    deadlines,
    liability_limit,
)
from domain.personal import ERASED, DataKind, signer_subject
from domain.relationship import RelationshipKind
from domain.shipment import (
    Cargo,
    Charges,
    ClaimStatus,
    Condition,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    LinkStatus,
    Party,
    ResponsibilityBasis,
    ResponsibilityStatus,
    Shipment,
    ShipmentStatus,
)

#: Monday 3 March 2025, 08:00 in Suzhou.
DAY_ONE = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)

CUSTOMER = UUID("00000000-0000-4000-8000-00000000c001")  # an electronics maker in Suzhou
AIRLINE = UUID("00000000-0000-4000-8000-00000000a001")  # partner airline
AGENT = UUID("00000000-0000-4000-8000-00000000a002")  # overseas agent in Chicago
WAREHOUSE = UUID("00000000-0000-4000-8000-00000000a003")  # partner warehouse in Chicago
PARTNER_KINDS = {
    AIRLINE: RelationshipKind.PARTNER.value,
    AGENT: RelationshipKind.PARTNER.value,
    WAREHOUSE: RelationshipKind.PARTNER.value,
    CUSTOMER: RelationshipKind.CUSTOMER.value,
}

SUZHOU = Party.our_branch("Suzhou")

PICKUP, EXPORT_CUSTOMS, AIR_CARRIAGE, IMPORT_CUSTOMS, WAREHOUSING, DELIVERY = range(1, 7)


def at(hours: float) -> datetime:
    return DAY_ONE + timedelta(hours=hours)


def ctx(hours: float, actor: str = "ops.wang") -> CommandContext:
    when = at(hours)
    return CommandContext.issue(actor=actor, now=when, occurred_at=when)


def plan(
    function: LinkFunction,
    party: Party,
    hours: tuple[float, float],
    mode: TransportMode | None = None,
    regime: LiabilityRegime | None = None,
) -> LinkPlan:
    return LinkPlan(function, party, at(hours[0]), at(hours[1]), mode, regime)


def suzhou_to_chicago() -> list[LinkPlan]:
    """The seed case's six links, one planned day apart."""
    return [
        plan(LinkFunction.PICKUP, SUZHOU, (0, 6), TransportMode.ROAD),
        plan(LinkFunction.EXPORT_CUSTOMS, SUZHOU, (6, 24)),
        plan(LinkFunction.MAIN_CARRIAGE, Party.partner(AIRLINE), (24, 48), TransportMode.AIR),
        plan(LinkFunction.IMPORT_CUSTOMS, Party.partner(AGENT), (48, 72)),
        plan(LinkFunction.WAREHOUSING, Party.partner(WAREHOUSE), (72, 96)),
        plan(LinkFunction.DELIVERY, Party.partner(AGENT), (96, 120), TransportMode.ROAD),
    ]


LAPTOPS = Cargo(
    description="laptop computers, 120 cartons",
    packages=120,
    gross_weight_kg=Decimal("1800"),
    declared_value=Decimal("480000"),
    currency="USD",
)


def book(links: Sequence[LinkPlan] | None = None, cargo: Cargo = LAPTOPS) -> Shipment:
    return Shipment.book(
        ctx(-48, actor="sales.zhou"),
        customer_id=CUSTOMER,
        reference="SZX-ORD-2025-0303",
        origin="Suzhou Industrial Park, CN",
        destination="Chicago, IL, US",
        cargo=cargo,
        links=links if links is not None else suzhou_to_chicago(),
        partner_kinds=PARTNER_KINDS,
    )


def run_links(
    shipment: Shipment, through: int, conditions: dict[int, Condition] | None = None
) -> None:
    """Carry the goods into link ``through``: link k starts at 10·k hours, when the one
    before it completes, and receives the goods an hour later."""
    conditions = conditions or {}
    for sequence in range(1, through + 1):
        hour = 10 * sequence
        if sequence > 1 and shipment.links[sequence - 2].completed_at is None:
            shipment.complete_link(ctx(hour), sequence=sequence - 1)
        if shipment.links[sequence - 1].started_at is None:
            shipment.start_link(ctx(hour), sequence=sequence)
        if shipment.links[sequence - 1].received is None:
            shipment.hand_over(
                ctx(hour + 1),
                to_sequence=sequence,
                condition=conditions.get(sequence, Condition.GOOD),
                signed_by=f"receiver of link {sequence}",
            )


def delivered(conditions: dict[int, Condition] | None = None) -> Shipment:
    shipment = book()
    run_links(shipment, DELIVERY, conditions)
    shipment.deliver(
        ctx(70),
        condition=Condition.GOOD,
        signed_by="J. Miller, receiving",
        proof_of_delivery="POD-1",
    )
    return shipment


@contextmanager
def refused(
    rule: str, kind: type[DomainError] = CommandRefused, unchanged: Shipment | None = None
) -> Iterator[None]:
    """The command in the block is refused by ``rule`` and, on ``unchanged``, records nothing."""
    version = unchanged.version if unchanged is not None else None
    with pytest.raises(kind) as caught:
        yield
    assert caught.value.rule == rule, caught.value.message
    if unchanged is not None:
        assert unchanged.version == version


def rebuild(events: Sequence[object]) -> Shipment:
    """The shipment as its events rebuild it: the first creates it, each next one applies."""
    shipment: Shipment | None = None
    for event in events:
        assert isinstance(event, Shipment.Event)
        shipment = event.mutate(shipment)
    assert isinstance(shipment, Shipment)
    return shipment


def mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


# --- the seed case: laptops from Suzhou to Chicago ------------------------------------------


def test_an_air_export_from_suzhou_to_chicago_damaged_at_import_is_compensated_and_recovered() -> (
    None
):
    # Booked for the electronics customer: six links, each with its party and regime.
    shipment = book()
    assert (shipment.status, shipment.customer_id) == (ShipmentStatus.BOOKED, CUSTOMER)
    assert [link.function for link in shipment.links] == [
        LinkFunction.PICKUP,
        LinkFunction.EXPORT_CUSTOMS,
        LinkFunction.MAIN_CARRIAGE,
        LinkFunction.IMPORT_CUSTOMS,
        LinkFunction.WAREHOUSING,
        LinkFunction.DELIVERY,
    ]
    assert [link.regime for link in shipment.links] == [
        LiabilityRegime.COMPANY_TERMS,
        LiabilityRegime.COMPANY_TERMS,
        LiabilityRegime.MONTREAL,
        LiabilityRegime.COMPANY_TERMS,
        LiabilityRegime.COMPANY_TERMS,
        LiabilityRegime.COMPANY_TERMS,
    ]
    assert shipment.links[AIR_CARRIAGE - 1].party == Party.partner(AIRLINE)
    assert shipment.current_custodian is None

    # Our Suzhou branch picks the cartons up at the factory and clears export customs.
    shipment.start_link(ctx(0), sequence=PICKUP)
    shipment.hand_over(
        ctx(1), to_sequence=PICKUP, condition=Condition.GOOD, signed_by="factory dispatch Chen"
    )
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    shipment.start_link(ctx(4), sequence=EXPORT_CUSTOMS)
    shipment.complete_link(ctx(5), sequence=PICKUP)
    shipment.hand_over(
        ctx(5), to_sequence=EXPORT_CUSTOMS, condition=Condition.GOOD, signed_by="Suzhou CFS Liu"
    )
    # The airline takes the cartons at Shanghai Pudong against its air waybill.
    shipment.start_link(ctx(20), sequence=AIR_CARRIAGE)
    shipment.complete_link(ctx(22), sequence=EXPORT_CUSTOMS)
    shipment.hand_over(
        ctx(23),
        to_sequence=AIR_CARRIAGE,
        condition=Condition.GOOD,
        signed_by="PVG cargo terminal Zhang",
        reference="AWB 999-12345675",
    )
    assert shipment.current_custodian is not None
    assert shipment.current_custodian.party == Party.partner(AIRLINE)
    shipment.report_delay(
        ctx(30), sequence=AIR_CARRIAGE, estimated_end=at(54), reason="flight offloaded at PVG"
    )
    assert shipment.links[AIR_CARRIAGE - 1].estimated_end == at(54)

    # At O'Hare the overseas agent receives them for import customs: six cartons crushed.
    shipment.start_link(ctx(52), sequence=IMPORT_CUSTOMS)
    shipment.complete_link(ctx(54), sequence=AIR_CARRIAGE)
    shipment.hand_over(
        ctx(54),
        to_sequence=IMPORT_CUSTOMS,
        condition=Condition.DAMAGED,
        signed_by="ORD agent Garcia",
        remarks="6 cartons crushed, contents rattling",
    )
    damage = uuid4()
    shipment.report_incident(
        ctx(55, actor="ops.garcia"),
        incident_id=damage,
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="6 cartons of laptops crushed on arrival at ORD",
        packages_affected=6,
        weight_affected_kg=Decimal("90"),
    )
    shipment.record_coordination_action(
        ctx(56), incident_id=damage, action="photos and airline damage report requested"
    )
    shipment.record_coordination_action(
        ctx(57), incident_id=damage, action="customer told, replacements arranged", taken_by="kam"
    )

    # By default the airline answers: it handed the cartons over damaged.
    proposal = shipment.propose_responsibility(damage)
    assert proposal.party == Party.partner(AIRLINE)
    assert proposal.link_sequence == AIR_CARRIAGE
    assert proposal.basis is ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION
    shipment.assign_responsibility(
        ctx(58),
        incident_id=damage,
        link_sequence=proposal.link_sequence,
        basis=proposal.basis,
        explanation=proposal.explanation,
    )

    # The rest of the chain runs; the agent delivers against proof of delivery.
    shipment.start_link(ctx(60), sequence=WAREHOUSING)
    shipment.complete_link(ctx(60), sequence=IMPORT_CUSTOMS)
    shipment.hand_over(
        ctx(61), to_sequence=WAREHOUSING, condition=Condition.DAMAGED, signed_by="WH Kowalski"
    )
    shipment.start_link(ctx(90), sequence=DELIVERY)
    shipment.complete_link(ctx(91), sequence=WAREHOUSING)
    shipment.hand_over(
        ctx(92), to_sequence=DELIVERY, condition=Condition.DAMAGED, signed_by="driver Brown"
    )
    shipment.deliver(
        ctx(100),
        condition=Condition.DAMAGED,
        signed_by="J. Miller, receiving",
        proof_of_delivery="POD-ORD-778",
        remarks="114 cartons good, 6 damaged as noted",
    )
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.delivered_at == at(100)
    assert all(link.status is LinkStatus.COMPLETED for link in shipment.links)
    assert shipment.current_custodian is None

    # The customer claims the six cartons; we pay in full, whoever was at fault.
    claim_id = uuid4()
    shipment.file_claim(
        ctx(120), claim_id=claim_id, incident_id=damage, amount=Decimal("24000"), currency="USD"
    )
    shipment.pay_compensation(
        ctx(150, actor="finance.he"),
        claim_id=claim_id,
        amount=Decimal("24000"),
        payment_reference="PAY-2025-0412",
    )

    # The airline accepts; recovery from it is limited to 26 SDR/kg under Montreal.
    shipment.accept_responsibility(
        ctx(160), incident_id=damage, note="airline letter CL-88 accepts liability"
    )
    shipment.assess_liability_limit(ctx(161), claim_id=claim_id, sdr_rate=Decimal("1.3300"))
    claim = shipment.claims[claim_id]
    assert claim.limit is not None
    assert claim.limit.regime is LiabilityRegime.MONTREAL
    assert claim.limit.sdr == Decimal("2340.00")  # 26 SDR/kg x 90 kg
    assert claim.limit.amount == Decimal("3112.20")  # at 1.33 USD per SDR
    # The customer's deadlines run from the final delivery (Friday 7 March 2025, 04:00)
    # under our company terms: 7 days, 9 months.
    assert claim.assessment is not None
    assert claim.assessment.customer_regime is LiabilityRegime.COMPANY_TERMS
    assert claim.customer_notice_deadline == datetime(2025, 3, 14, 4, 0, tzinfo=UTC)
    assert claim.customer_time_bar == datetime(2025, 12, 7, 4, 0, tzinfo=UTC)
    # Ours against the airline run from its handover to the import agent (Wednesday
    # 5 March 2025, 06:00), not from the final delivery: Montreal's 14 days and 2 years.
    assert claim.recovery_notice_deadline == datetime(2025, 3, 19, 6, 0, tzinfo=UTC)
    assert claim.recovery_time_bar == datetime(2027, 3, 5, 6, 0, tzinfo=UTC)
    # The agent's note of the crushed cartons on that handover is the airline's notice.
    assert shipment.recovery_noticed_at(claim) == at(54)
    assert claim.recoverable == Decimal("3112.20")

    with refused("recovery.exceeds_limit", unchanged=shipment):
        shipment.claim_recovery(ctx(162), claim_id=claim_id, amount=Decimal("3112.21"))
    shipment.claim_recovery(ctx(162), claim_id=claim_id, amount=Decimal("3112.20"))
    shipment.receive_recovery(ctx(400), claim_id=claim_id, amount=Decimal("3112.20"))
    shipment.resolve_incident(ctx(401), incident_id=damage, resolution="settled with the airline")
    shipment.close_claim(ctx(402), claim_id=claim_id, note="compensated and recovered")

    claim = shipment.claims[claim_id]
    assert claim.status is ClaimStatus.CLOSED
    assert claim.compensation_paid == Decimal("24000")
    assert claim.recovery_from == AIRLINE
    assert claim.recovery_received == Decimal("3112.20")
    assert claim.net_cost == Decimal("20887.80")
    incident = shipment.incidents[damage]
    assert incident.is_resolved
    assert incident.responsibility_status is ResponsibilityStatus.ACCEPTED
    assert [action.taken_by for action in incident.actions] == ["ops.wang", "kam"]

    # The customer rates the shipment, delivered within the 120 hours planned.
    shipment.evaluate(ctx(170), rating=3, remarks="fast, but six cartons damaged")
    assert shipment.evaluation is not None
    assert shipment.evaluation.on_time is True
    assert shipment.evaluation.rating == 3


def test_between_pickup_and_delivery_exactly_one_party_holds_the_goods_at_every_moment() -> None:
    shipment = delivered()
    links = shipment.links
    for before, after in pairwise(links):
        assert before.custody_until == after.custody_from  # no gap, no overlap
        assert before.released == after.received  # one handover, one time
    assert links[0].custody_from == at(11)
    assert links[-1].custody_until == at(70)
    moment = at(11)
    while moment < at(70):
        holders = [link for link in links if link.held_custody_at(moment)]
        assert len(holders) == 1
        assert shipment.custodian_at(moment) == holders[0]
        moment += timedelta(minutes=30)
    assert shipment.custodian_at(at(10)) is None  # still with the shipper
    assert shipment.custodian_at(at(70)) is None  # with the consignee


def test_a_link_shows_its_status_and_custody_window() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    pickup, customs, carriage = shipment.links[:3]
    assert (pickup.status, customs.status, carriage.status) == (
        LinkStatus.COMPLETED,
        LinkStatus.COMPLETED,
        LinkStatus.IN_PROGRESS,
    )
    assert shipment.links[IMPORT_CUSTOMS - 1].status is LinkStatus.PLANNED
    assert customs.received is not None
    assert customs.received.signed_by == "receiver of link 2"
    assert customs.received.condition is Condition.GOOD
    assert (customs.custody_from, customs.custody_until) == (at(21), at(31))
    assert carriage.holds_custody
    assert shipment.current_custodian == carriage


def test_a_link_that_has_not_started_is_replanned_and_reassigned() -> None:
    shipment = book()
    other_airline = uuid4()
    shipment.replan_link(
        ctx(-10), sequence=AIR_CARRIAGE, planned_start=at(30), planned_end=at(50), reason="later"
    )
    shipment.reassign_link(
        ctx(-9),
        sequence=AIR_CARRIAGE,
        party=Party.partner(other_airline),
        partner_kinds={other_airline: "partner"},
        reason="better rate",
    )
    carriage = shipment.links[AIR_CARRIAGE - 1]
    assert (carriage.planned_start, carriage.planned_end) == (at(30), at(50))
    assert carriage.party == Party.partner(other_airline)
    shipment.reassign_link(
        ctx(-8),
        sequence=EXPORT_CUSTOMS,
        party=Party.our_branch("Shanghai"),
        partner_kinds={},
        reason="cleared at Shanghai",
    )
    assert shipment.links[EXPORT_CUSTOMS - 1].party == Party.our_branch("Shanghai")


def test_a_shipment_is_cancelled_before_pickup_and_then_only_incidents_and_claims_follow() -> None:
    shipment = book()
    shipment.start_link(ctx(0), sequence=PICKUP)  # the truck is on its way
    shipment.cancel(ctx(0.5), reason="customer postponed the order")
    assert shipment.status is ShipmentStatus.CANCELLED
    with refused("shipment.closed", unchanged=shipment):
        shipment.hand_over(ctx(1), to_sequence=PICKUP, condition=Condition.GOOD, signed_by="x")
    with refused("shipment.closed", unchanged=shipment):
        shipment.cancel(ctx(1), reason="again")
    incident = uuid4()
    shipment.report_incident(
        ctx(2),
        incident_id=incident,
        link_sequence=EXPORT_CUSTOMS,
        kind=IncidentKind.DOCUMENTATION_ERROR,
        description="commercial invoice showed the wrong HS code",
    )
    shipment.file_claim(
        ctx(3), claim_id=uuid4(), incident_id=incident, amount=Decimal("350"), currency="cny"
    )
    assert next(iter(shipment.claims.values())).currency == "CNY"
    with refused("evaluation.before_delivery", unchanged=shipment):
        shipment.evaluate(ctx(4), rating=4)


# --- responsibility -------------------------------------------------------------------------


def report(
    shipment: Shipment,
    hours: float,
    link: int,
    kind: IncidentKind = IncidentKind.DAMAGE,
    packages: int | None = 1,
    weight: Decimal | None = None,
) -> UUID:
    incident_id = uuid4()
    shipment.report_incident(
        ctx(hours),
        incident_id=incident_id,
        link_sequence=link,
        kind=kind,
        description=f"{kind} at link {link}",
        packages_affected=packages,
        weight_affected_kg=weight,
    )
    return incident_id


def test_by_default_the_party_that_held_custody_when_it_was_discovered_answers() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    incident = report(shipment, 35, AIR_CARRIAGE, IncidentKind.CONTAMINATION)
    proposal = shipment.propose_responsibility(incident)
    assert proposal.party == Party.partner(AIRLINE)
    assert proposal.basis is ResponsibilityBasis.HELD_CUSTODY


def test_goods_handed_over_short_point_at_the_link_that_handed_them_over() -> None:
    shipment = book()
    run_links(shipment, IMPORT_CUSTOMS, {IMPORT_CUSTOMS: Condition.SHORT})
    incident = report(shipment, 42, IMPORT_CUSTOMS, IncidentKind.SHORTAGE, packages=2)
    proposal = shipment.propose_responsibility(incident)
    assert (proposal.link_sequence, proposal.basis) == (
        AIR_CARRIAGE,
        ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
    )


def test_delays_documentation_errors_and_unheld_goods_point_at_the_reporting_link() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    paperwork = report(shipment, 35, IMPORT_CUSTOMS, IncidentKind.DOCUMENTATION_ERROR, None)
    delay = report(shipment, 35, AIR_CARRIAGE, IncidentKind.DELAY, None)
    assert shipment.propose_responsibility(paperwork).link_sequence == IMPORT_CUSTOMS
    assert shipment.propose_responsibility(delay).link_sequence == AIR_CARRIAGE
    assert {
        shipment.propose_responsibility(paperwork).basis,
        shipment.propose_responsibility(delay).basis,
    } == {ResponsibilityBasis.LINK_OF_INCIDENT}

    after = delivered()
    concealed = report(after, 80, DELIVERY)  # found by the consignee after delivery
    proposal = after.propose_responsibility(concealed)
    assert (proposal.link_sequence, proposal.basis) == (
        DELIVERY,
        ResponsibilityBasis.LINK_OF_INCIDENT,
    )


def carried_damaged(conditions: dict[int, Condition], at_delivery: Condition) -> Shipment:
    """Carried through every link with the receipts noted in ``conditions``, and delivered
    to the consignee in the condition ``at_delivery``."""
    shipment = book()
    run_links(shipment, DELIVERY, conditions)
    shipment.deliver(
        ctx(70), condition=at_delivery, signed_by="J. Miller", proof_of_delivery="POD-1"
    )
    return shipment


def exceptions_of(shipment: Shipment) -> list[tuple[int | None, int | None, UUID | None]]:
    return [(e.from_sequence, e.to_sequence, e.covered_by) for e in shipment.handover_exceptions()]


def test_damage_reported_travels_with_the_goods_and_covers_the_handovers_after_it() -> None:
    # The seed case: crushed at the airline's handover, noted again at every handover after.
    shipment = carried_damaged(
        {
            IMPORT_CUSTOMS: Condition.DAMAGED,
            WAREHOUSING: Condition.DAMAGED,
            DELIVERY: Condition.DAMAGED,
        },
        Condition.DAMAGED,
    )
    assert exceptions_of(shipment) == [
        (AIR_CARRIAGE, IMPORT_CUSTOMS, None),
        (IMPORT_CUSTOMS, WAREHOUSING, None),
        (WAREHOUSING, DELIVERY, None),
        (DELIVERY, None, None),
    ]
    # Unreported, each is proposed to the link that handed the goods over damaged.
    proposed = [e.responsible for e in shipment.handover_exceptions()]
    assert [(r.link_sequence, r.party) for r in proposed] == [
        (AIR_CARRIAGE, Party.partner(AIRLINE)),
        (IMPORT_CUSTOMS, Party.partner(AGENT)),
        (WAREHOUSING, Party.partner(WAREHOUSE)),
        (DELIVERY, Party.partner(AGENT)),
    ]
    assert {r.basis for r in proposed} == {ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION}

    damage = report(shipment, 75, IMPORT_CUSTOMS, packages=8)
    assert exceptions_of(shipment) == [
        (AIR_CARRIAGE, IMPORT_CUSTOMS, damage),
        (IMPORT_CUSTOMS, WAREHOUSING, damage),
        (WAREHOUSING, DELIVERY, damage),
        (DELIVERY, None, damage),
    ]
    # The proposal for an exception is the one for an incident found at its handover.
    assert shipment.handover_exceptions()[0].responsible == shipment.propose_responsibility(damage)


def test_damage_of_another_kind_or_before_the_report_is_not_covered() -> None:
    shipment = carried_damaged(
        {AIR_CARRIAGE: Condition.DAMAGED, WAREHOUSING: Condition.DAMAGED},
        Condition.SHORT,
    )
    damage = report(shipment, 75, WAREHOUSING, packages=3)
    # Reported at the warehouse: the damaged handover into the airline, upstream, is not
    # covered; the shortage at delivery is another kind, new.
    assert exceptions_of(shipment) == [
        (EXPORT_CUSTOMS, AIR_CARRIAGE, None),
        (IMPORT_CUSTOMS, WAREHOUSING, damage),
        (DELIVERY, None, None),
    ]
    loss = report(shipment, 76, DELIVERY, IncidentKind.LOSS, packages=2)
    contamination = report(shipment, 77, AIR_CARRIAGE, IncidentKind.CONTAMINATION)
    # The earliest report covering each: damaged goods by damage or contamination, short
    # goods by a shortage or loss.
    assert exceptions_of(shipment) == [
        (EXPORT_CUSTOMS, AIR_CARRIAGE, contamination),
        (IMPORT_CUSTOMS, WAREHOUSING, damage),
        (DELIVERY, None, loss),
    ]
    delay = report(shipment, 78, PICKUP, IncidentKind.DELAY, None)
    assert delay not in {e.covered_by for e in shipment.handover_exceptions()}


def test_a_handover_noting_more_than_was_reported_is_new_damage() -> None:
    # 8 of the laptops' cartons reported crushed at import.
    shipment = book()
    run_links(shipment, IMPORT_CUSTOMS, {IMPORT_CUSTOMS: Condition.DAMAGED})
    damage = report(shipment, 42, IMPORT_CUSTOMS, packages=8)
    shipment.complete_link(ctx(50), sequence=IMPORT_CUSTOMS)
    shipment.start_link(ctx(50), sequence=WAREHOUSING)
    shipment.hand_over(
        ctx(51),
        to_sequence=WAREHOUSING,
        condition=Condition.DAMAGED,
        signed_by="warehouse",
        packages_affected=8,  # the same 8 cartons
    )
    shipment.complete_link(ctx(60), sequence=WAREHOUSING)
    shipment.start_link(ctx(60), sequence=DELIVERY)
    shipment.hand_over(
        ctx(61),
        to_sequence=DELIVERY,
        condition=Condition.DAMAGED,
        signed_by="driver",
        packages_affected=11,  # 3 more crushed at the warehouse
    )
    shipment.deliver(
        ctx(70),
        condition=Condition.DAMAGED,
        signed_by="consignee",
        proof_of_delivery="POD-1",
        weight_affected_kg=shipment.cargo.weight_of(8),  # the 8 cartons' weight: no more
    )
    assert exceptions_of(shipment) == [
        (AIR_CARRIAGE, IMPORT_CUSTOMS, damage),
        (IMPORT_CUSTOMS, WAREHOUSING, damage),
        (WAREHOUSING, DELIVERY, None),
        (DELIVERY, None, damage),
    ]
    # New damage at the warehouse's handover: proposed to the warehouse.
    assert shipment.handover_exceptions()[2].responsible.party == Party.partner(WAREHOUSE)
    # Reported, the 3 more cartons cover it with the 8: 11 in all.
    report(shipment, 72, DELIVERY, packages=3)
    assert [e.covered_by for e in shipment.handover_exceptions()] == [damage] * 4


def test_only_a_damaged_or_short_handover_notes_an_extent_within_the_cargo() -> None:
    shipment = book()
    run_links(shipment, PICKUP)
    shipment.start_link(ctx(20), sequence=EXPORT_CUSTOMS)
    with refused("handover.extent_without_exception", InvalidValue, unchanged=shipment):
        shipment.hand_over(
            ctx(21),
            to_sequence=EXPORT_CUSTOMS,
            condition=Condition.GOOD,
            signed_by="customs",
            packages_affected=1,
        )
    with refused("handover.packages_range", InvalidValue, unchanged=shipment):
        shipment.hand_over(
            ctx(21),
            to_sequence=EXPORT_CUSTOMS,
            condition=Condition.SHORT,
            signed_by="customs",
            packages_affected=shipment.cargo.packages + 1,
        )
    with refused("handover.weight_range", InvalidValue, unchanged=shipment):
        shipment.hand_over(
            ctx(21),
            to_sequence=EXPORT_CUSTOMS,
            condition=Condition.DAMAGED,
            signed_by="customs",
            weight_affected_kg=shipment.cargo.gross_weight_kg + 1,
        )


def test_a_stored_v1_handover_and_delivery_load_through_the_upcasters() -> None:
    """v1 handovers and deliveries noted no extent; replayed, they note none."""
    shipment = carried_damaged({IMPORT_CUSTOMS: Condition.DAMAGED}, Condition.DAMAGED)
    m = mapper()
    stored = []
    for record in (m.to_stored_event(event) for event in shipment.collect_events()):
        if record.topic in ("Shipment.CustodyHandedOver", "Shipment.Delivered"):
            state = json.loads(record.state)
            assert state["class_version"] == 3
            for name in ("class_version", "packages_affected", "weight_affected_kg", "observed"):
                del state[name]
            record = replace(record, state=json.dumps(state).encode())
        stored.append(record)
    replayed = rebuild([m.to_domain_event(record) for record in stored])
    assert replayed.links == shipment.links
    assert replayed.proof_of_delivery is not None
    assert replayed.proof_of_delivery.packages_affected is None


def test_goods_the_shipper_handed_over_damaged_are_proposed_to_the_first_link() -> None:
    shipment = carried_damaged({PICKUP: Condition.DAMAGED}, Condition.GOOD)
    (exception,) = shipment.handover_exceptions()
    assert (exception.from_sequence, exception.to_sequence) == (None, PICKUP)
    assert (exception.responsible.link_sequence, exception.responsible.basis) == (
        PICKUP,
        ResponsibilityBasis.HELD_CUSTODY,
    )
    assert carried_damaged({}, Condition.GOOD).handover_exceptions() == []


def test_a_dispute_after_the_days_to_answer_is_refused_and_headquarters_still_arbitrates() -> None:
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    incident = report(shipment, 75, IMPORT_CUSTOMS)
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="handed over damaged",
    )
    two_days = timedelta(days=2)
    # Proposed at hour 76: the days to answer end at hour 76 + 48 = 124.
    assert shipment.answer_deadline(incident, two_days) == at(124)
    assert shipment.answer_deadline(incident) == at(76 + 7 * 24)
    assert not shipment.deemed_accepted(incident, at(124), two_days)
    assert shipment.deemed_accepted(incident, at(124.01), two_days)
    assert not shipment.deemed_accepted(incident, at(124.01))
    with refused("responsibility.answer_overdue", unchanged=shipment):
        shipment.dispute_responsibility(
            ctx(124.01), incident_id=incident, reason="too late", answer_within=two_days
        )
    # Nobody disputed: headquarters cannot arbitrate before the deadline ...
    with refused("arbitration.requires_dispute", unchanged=shipment):
        shipment.arbitrate_responsibility(
            ctx(123, actor="hq.arbiter"),
            incident_id=incident,
            link_sequence=IMPORT_CUSTOMS,
            decision="x",
            answer_within=two_days,
        )
    # ... but may after it, though the responsibility counts as accepted.
    shipment.arbitrate_responsibility(
        ctx(200, actor="hq.arbiter"),
        incident_id=incident,
        link_sequence=IMPORT_CUSTOMS,
        decision="the agent's shed",
        answer_within=two_days,
    )
    settled = shipment.incidents[incident]
    assert settled.responsibility_status is ResponsibilityStatus.ARBITRATED
    assert settled.responsible is not None
    assert settled.responsible.party == Party.partner(AGENT)


def test_a_dispute_on_the_last_moment_to_answer_is_accepted_and_arbitrated_later() -> None:
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    incident = report(shipment, 75, IMPORT_CUSTOMS)
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="handed over damaged",
    )
    shipment.dispute_responsibility(
        ctx(124), incident_id=incident, reason="ULD intact", answer_within=timedelta(days=2)
    )
    assert shipment.incidents[incident].responsibility_status is ResponsibilityStatus.DISPUTED
    # Arbitration of a dispute made in time has no deadline.
    shipment.arbitrate_responsibility(
        ctx(24 * 60, actor="hq.arbiter"),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        decision="upheld",
        answer_within=timedelta(days=2),
    )
    assert shipment.incidents[incident].responsibility_status is ResponsibilityStatus.ARBITRATED


def test_a_disputed_responsibility_is_settled_by_headquarters_arbitration() -> None:
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    incident = report(shipment, 75, IMPORT_CUSTOMS)
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="handed over damaged",
    )
    shipment.dispute_responsibility(
        ctx(77), incident_id=incident, reason="ULD intact at unloading; damage in the agent's shed"
    )
    assert shipment.incidents[incident].responsibility_status is ResponsibilityStatus.DISPUTED
    with refused("responsibility.under_dispute", unchanged=shipment):
        shipment.assign_responsibility(
            ctx(78),
            incident_id=incident,
            link_sequence=IMPORT_CUSTOMS,
            basis=ResponsibilityBasis.INVESTIGATION,
            explanation="changed our mind",
        )
    with refused("incident.responsibility_pending", unchanged=shipment):
        shipment.resolve_incident(ctx(78), incident_id=incident, resolution="done")

    shipment.arbitrate_responsibility(
        ctx(79, actor="hq.arbiter"),
        incident_id=incident,
        link_sequence=IMPORT_CUSTOMS,
        decision="terminal CCTV shows forklift damage in the agent's shed",
    )
    settled = shipment.incidents[incident]
    assert settled.responsibility_status is ResponsibilityStatus.ARBITRATED
    assert settled.responsibility_final
    assert settled.responsible is not None
    assert settled.responsible.party == Party.partner(AGENT)
    assert settled.responsible.basis is ResponsibilityBasis.ARBITRATION
    assert settled.dispute_reason is not None
    with refused("responsibility.final", unchanged=shipment):
        shipment.dispute_responsibility(ctx(80), incident_id=incident, reason="again")
    with refused("responsibility.final", unchanged=shipment):
        shipment.assign_responsibility(
            ctx(80),
            incident_id=incident,
            link_sequence=AIR_CARRIAGE,
            basis=ResponsibilityBasis.INVESTIGATION,
            explanation="x",
        )


def test_responsibility_may_be_reassigned_until_it_is_accepted_or_disputed() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    incident = report(shipment, 35, AIR_CARRIAGE)
    for link in (EXPORT_CUSTOMS, AIR_CARRIAGE):
        shipment.assign_responsibility(
            ctx(36),
            incident_id=incident,
            link_sequence=link,
            basis=ResponsibilityBasis.INVESTIGATION,
            explanation="survey report",
        )
    responsible = shipment.incidents[incident].responsible
    assert responsible is not None
    assert responsible.link_sequence == AIR_CARRIAGE


# --- claims ---------------------------------------------------------------------------------


def claimed(
    conditions: dict[int, Condition] | None = None, responsible: int = AIR_CARRIAGE
) -> tuple[Shipment, UUID, UUID]:
    """A delivered shipment with a damage incident at import whose responsibility the
    party of link ``responsible`` has accepted, and the customer's claim for it."""
    shipment = delivered(conditions)
    incident = report(shipment, 75, IMPORT_CUSTOMS, packages=10)
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=responsible,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="survey",
    )
    claim_id = uuid4()
    shipment.file_claim(
        ctx(80), claim_id=claim_id, incident_id=incident, amount=Decimal("40000"), currency="USD"
    )
    return shipment, incident, claim_id


def test_the_limit_weighs_packages_at_the_average_package_weight() -> None:
    shipment, incident, claim_id = claimed()
    shipment.accept_responsibility(ctx(81), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(82), claim_id=claim_id, sdr_rate=Decimal("1.25"))
    limit = shipment.claims[claim_id].limit
    assert limit is not None
    assert (limit.weight_kg, limit.packages) == (Decimal("150.00"), 10)  # 1800 kg / 120 x 10
    assert limit.sdr == Decimal("3900.00")
    assert limit.amount == Decimal("4875.00")
    assert "26 SDR/kg" in limit.basis


def test_recovery_is_never_claimed_from_our_own_branch() -> None:
    shipment, incident, claim_id = claimed(responsible=EXPORT_CUSTOMS)
    shipment.accept_responsibility(ctx(81), incident_id=incident, note="our fault")
    shipment.assess_liability_limit(ctx(82), claim_id=claim_id, sdr_rate=Decimal("1.25"))
    limit = shipment.claims[claim_id].limit
    assert limit is not None
    assert limit.regime is LiabilityRegime.COMPANY_TERMS
    assert limit.sdr == Decimal("750.00")  # 5 SDR/kg x 150 kg
    with refused("recovery.not_partner", unchanged=shipment):
        shipment.claim_recovery(ctx(83), claim_id=claim_id, amount=Decimal("100"))


def test_recovery_is_capped_by_the_customers_loss_when_the_limit_is_higher() -> None:
    shipment, incident, claim_id = claimed()
    shipment.pay_compensation(
        ctx(81), claim_id=claim_id, amount=Decimal("1000"), payment_reference="PAY-1"
    )
    shipment.accept_responsibility(ctx(82), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(83), claim_id=claim_id, sdr_rate=Decimal("1.25"))
    assert shipment.claims[claim_id].recoverable == Decimal("1000")
    with refused("recovery.exceeds_limit", unchanged=shipment):
        shipment.claim_recovery(ctx(84), claim_id=claim_id, amount=Decimal("1000.01"))


def test_the_limit_may_be_reassessed_at_a_new_rate_until_recovery_is_claimed() -> None:
    shipment, incident, claim_id = claimed()
    shipment.accept_responsibility(ctx(81), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(82), claim_id=claim_id, sdr_rate=Decimal("1.25"))
    shipment.assess_liability_limit(ctx(83), claim_id=claim_id, sdr_rate=Decimal("1.40"))
    limit = shipment.claims[claim_id].limit
    assert limit is not None
    assert limit.amount == Decimal("5460.00")
    shipment.claim_recovery(ctx(84), claim_id=claim_id, amount=Decimal("5000"))
    with refused("claim.recovery_already_claimed", unchanged=shipment):
        shipment.assess_liability_limit(ctx(85), claim_id=claim_id, sdr_rate=Decimal("1.50"))


def test_a_total_loss_runs_from_when_the_goods_were_due() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    lost = report(shipment, 40, AIR_CARRIAGE, IncidentKind.LOSS, packages=120)
    shipment.assign_responsibility(
        ctx(41),
        incident_id=lost,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HELD_CUSTODY,
        explanation="lost in transit",
    )
    shipment.accept_responsibility(ctx(42), incident_id=lost, note="airline traced nothing")
    claim_id = uuid4()
    shipment.file_claim(
        ctx(43), claim_id=claim_id, incident_id=lost, amount=Decimal("480000"), currency="USD"
    )
    shipment.assess_liability_limit(ctx(44), claim_id=claim_id, sdr_rate=Decimal("1.33"))
    claim = shipment.claims[claim_id]
    assert claim.limit is not None
    assert claim.limit.weight_kg == Decimal("1800")
    # No notice for a total loss. The customer's 9 months run from the planned delivery
    # (Saturday 8 March 2025, 00:00); ours against the airline, Montreal's 2 years, from when
    # its aircraft ought to have arrived: its planned end, Wednesday 5 March 2025, 00:00.
    assert (claim.customer_notice_deadline, claim.recovery_notice_deadline) == (None, None)
    assert claim.customer_time_bar == datetime(2025, 12, 8, tzinfo=UTC)
    assert claim.recovery_time_bar == datetime(2027, 3, 5, tzinfo=UTC)
    with refused("recovery.time_barred", unchanged=shipment):
        shipment.claim_recovery(ctx(48 + 24 * 730 + 1), claim_id=claim_id, amount=Decimal("1"))
    shipment.claim_recovery(ctx(48 + 24 * 730), claim_id=claim_id, amount=Decimal("1"))


def test_damage_to_goods_never_handed_on_runs_from_discovery() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    wet = report(shipment, 40, AIR_CARRIAGE, IncidentKind.DAMAGE, packages=2)
    shipment.assign_responsibility(
        ctx(41),
        incident_id=wet,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HELD_CUSTODY,
        explanation="wet in the hold",
    )
    shipment.accept_responsibility(ctx(42), incident_id=wet, note="accepted")
    claim_id = uuid4()
    shipment.file_claim(
        ctx(43), claim_id=claim_id, incident_id=wet, amount=Decimal("8000"), currency="USD"
    )
    shipment.assess_liability_limit(ctx(44), claim_id=claim_id, sdr_rate=Decimal("1.33"))
    claim = shipment.claims[claim_id]
    # Discovered Tuesday 4 March 2025, 16:00: 7 days for the customer, 14 for us.
    assert claim.customer_notice_deadline == datetime(2025, 3, 11, 16, tzinfo=UTC)
    assert claim.recovery_notice_deadline == datetime(2025, 3, 18, 16, tzinfo=UTC)
    assert shipment.recovery_noticed_at(claim) is None


# --- the liability regimes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regime", "weight", "packages", "sdr"),
    [
        (LiabilityRegime.MONTREAL, "100", None, "2600.00"),
        (LiabilityRegime.CMR, "100", None, "833.00"),
        (LiabilityRegime.CIM, "100", None, "1700.00"),
        (LiabilityRegime.COMPANY_TERMS, "100", None, "500.00"),
        # Hague-Visby: the higher of 666.67 SDR per package and 2 SDR/kg.
        (LiabilityRegime.HAGUE_VISBY, "100", 3, "2000.01"),
        (LiabilityRegime.HAGUE_VISBY, "2000", 1, "4000.00"),
        (LiabilityRegime.HAGUE_VISBY, "100", None, "200.00"),
    ],
)
def test_each_regime_limits_liability_per_kilogram_or_package(
    regime: LiabilityRegime, weight: str, packages: int | None, sdr: str
) -> None:
    limit = liability_limit(
        regime, weight_kg=Decimal(weight), packages=packages, sdr_rate=Decimal("1"), currency="XDR"
    )
    assert limit.sdr == Decimal(sdr)
    assert limit.amount == Decimal(sdr)


def test_the_limit_converts_to_the_claim_currency_at_the_sdr_rate() -> None:
    limit = liability_limit(
        LiabilityRegime.CMR,
        weight_kg=Decimal("12.5"),
        packages=2,
        sdr_rate=Decimal("9.6543"),
        currency="CNY",
    )
    assert limit.sdr == Decimal("104.13")  # 104.125 rounds half up
    assert limit.amount == Decimal("1005.30")
    for rule, weight, packages, rate in (
        ("sdr_rate.positive", "1", 1, "0"),
        ("weight.not_negative", "-1", 1, "1"),
        ("packages.not_negative", "1", -1, "1"),
    ):
        with refused(rule, InvalidValue):
            liability_limit(
                LiabilityRegime.CMR,
                weight_kg=Decimal(weight),
                packages=packages,
                sdr_rate=Decimal(rate),
                currency="CNY",
            )


@pytest.mark.parametrize(
    ("regime", "notice", "delay_notice", "time_bar"),
    [
        # From Monday 31 March 2025: 14 days, delay 21, 2 years.
        (LiabilityRegime.MONTREAL, (2025, 4, 14), (2025, 4, 21), (2027, 3, 31)),
        # 7 days but Sunday 6 April: Tuesday 8 April; delay 21 calendar days.
        (LiabilityRegime.CMR, (2025, 4, 8), (2025, 4, 21), (2026, 3, 31)),
        # 3 days; the rules know no delay, which follows the damage notice.
        (LiabilityRegime.HAGUE_VISBY, (2025, 4, 3), (2025, 4, 3), (2026, 3, 31)),
        (LiabilityRegime.CIM, (2025, 4, 7), (2025, 5, 30), (2026, 3, 31)),
        (LiabilityRegime.COMPANY_TERMS, (2025, 4, 7), (2025, 4, 21), (2025, 12, 31)),
    ],
)
def test_each_regime_sets_a_notice_period_and_a_time_bar(
    regime: LiabilityRegime,
    notice: tuple[int, int, int],
    delay_notice: tuple[int, int, int],
    time_bar: tuple[int, int, int],
) -> None:
    moments = CarriageMoments(delivered_at=datetime(2025, 3, 31, tzinfo=UTC))
    damage = deadlines(regime, ClaimKind.DAMAGE, moments)
    delay = deadlines(regime, ClaimKind.DELAY, moments)
    assert damage.notice == datetime(*notice, tzinfo=UTC)
    assert delay.notice == datetime(*delay_notice, tzinfo=UTC)
    assert damage.time_bar == delay.time_bar == datetime(*time_bar, tzinfo=UTC)


def test_a_time_bar_in_a_shorter_month_falls_on_its_last_day() -> None:
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 5, 31, tzinfo=UTC), 9) == datetime(2026, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mode", "regime"),
    [
        (TransportMode.AIR, LiabilityRegime.MONTREAL),
        (TransportMode.ROAD, LiabilityRegime.CMR),
        (TransportMode.SEA, LiabilityRegime.HAGUE_VISBY),
        (TransportMode.RAIL, LiabilityRegime.CIM),
    ],
)
def test_main_carriage_runs_under_its_modes_convention_and_local_links_under_company_terms(
    mode: TransportMode, regime: LiabilityRegime
) -> None:
    shipment = book(
        [
            plan(LinkFunction.PICKUP, SUZHOU, (0, 1), mode),
            plan(LinkFunction.MAIN_CARRIAGE, Party.partner(AIRLINE), (1, 2), mode),
            plan(LinkFunction.DELIVERY, Party.partner(AGENT), (2, 3), mode, regime),
        ]
    )
    assert [link.regime for link in shipment.links] == [
        LiabilityRegime.COMPANY_TERMS,
        regime,
        regime,  # stated in the plan: cross-border delivery under the convention
    ]
    assert TERMS[regime].mode is mode


# --- refusals: booking ----------------------------------------------------------------------


def with_link(index: int, **changes: object) -> list[LinkPlan]:
    links = suzhou_to_chicago()
    links[index] = replace(links[index], **changes)  # type: ignore[arg-type]
    return links


@pytest.mark.parametrize(
    ("links", "rule"),
    [
        ([], "chain.empty"),
        (with_link(0, mode=None), "link.mode_required"),
        (with_link(1, mode=TransportMode.ROAD), "link.mode_not_applicable"),
        (with_link(2, function=LinkFunction.PICKUP), "chain.pickup_not_first"),
        (
            with_link(3, function=LinkFunction.DELIVERY, mode=TransportMode.ROAD),
            "chain.delivery_not_last",
        ),
        (with_link(2, regime=LiabilityRegime.HAGUE_VISBY), "link.regime_mismatch"),
        (with_link(1, regime=LiabilityRegime.CMR), "link.regime_mismatch"),
        (with_link(2, planned_end=at(24)), "link.planned_times"),
        (with_link(3, planned_start=at(23), planned_end=at(30)), "chain.plan_out_of_order"),
        (with_link(0, planned_start=datetime(2025, 3, 3)), "planned_start.timezone"),
    ],
)
def test_a_chain_that_cannot_run_is_not_booked(links: list[LinkPlan], rule: str) -> None:
    with refused(rule, InvalidValue):
        book(links)


@pytest.mark.parametrize(
    ("cargo", "rule"),
    [
        (replace(LAPTOPS, packages=0), "cargo.packages"),
        (replace(LAPTOPS, gross_weight_kg=Decimal(0)), "gross_weight_kg.positive"),
        (replace(LAPTOPS, declared_value=Decimal(-1)), "declared_value.not_negative"),
        (replace(LAPTOPS, currency="dollars"), "currency.format"),
        (replace(LAPTOPS, description="  "), "description.required"),
    ],
)
def test_cargo_that_cannot_be_right_is_not_booked(cargo: Cargo, rule: str) -> None:
    with refused(rule, InvalidValue):
        book(cargo=cargo)


def test_only_a_relationship_of_kind_partner_takes_responsibility_for_a_link() -> None:
    stranger = uuid4()
    for party in (Party.partner(CUSTOMER), Party.partner(stranger)):
        with refused("party.not_partner"):
            book(with_link(2, party=party))
    shipment = book()
    with refused("party.not_partner", unchanged=shipment):
        shipment.reassign_link(
            ctx(0),
            sequence=AIR_CARRIAGE,
            party=Party.partner(CUSTOMER),
            partner_kinds=PARTNER_KINDS,
            reason="x",
        )


def test_a_party_is_a_named_branch_or_a_partner_by_id() -> None:
    with refused("party.branch_by_name", InvalidValue):
        Party(Party.our_branch("Suzhou").kind, branch=None)
    with refused("party.partner_by_id", InvalidValue):
        Party(Party.partner(AIRLINE).kind, branch="Suzhou")
    with refused("branch.required", InvalidValue):
        Party.our_branch(" ")
    assert Party.from_dict(Party.partner(AIRLINE).as_dict()) == Party.partner(AIRLINE)
    assert str(SUZHOU) == "branch Suzhou"


# --- refusals: the chain --------------------------------------------------------------------


def test_replanning_and_reassigning_are_refused_once_a_link_has_started() -> None:
    shipment = book()
    shipment.start_link(ctx(0), sequence=PICKUP)
    with refused("link.already_started", unchanged=shipment):
        shipment.replan_link(
            ctx(0), sequence=PICKUP, planned_start=at(1), planned_end=at(2), reason="x"
        )
    with refused("link.already_started", unchanged=shipment):
        shipment.reassign_link(
            ctx(0), sequence=PICKUP, party=Party.our_branch("Kunshan"), partner_kinds={}, reason="x"
        )


def test_a_replan_must_change_something_and_keep_the_plan_in_order() -> None:
    shipment = book()
    with refused("link.plan_unchanged", unchanged=shipment):
        shipment.replan_link(
            ctx(0), sequence=AIR_CARRIAGE, planned_start=at(24), planned_end=at(48), reason="x"
        )
    with refused("chain.plan_out_of_order", InvalidValue, unchanged=shipment):
        shipment.replan_link(
            ctx(0), sequence=AIR_CARRIAGE, planned_start=at(5), planned_end=at(48), reason="x"
        )
    with refused("link.planned_times", InvalidValue, unchanged=shipment):
        shipment.replan_link(
            ctx(0), sequence=AIR_CARRIAGE, planned_start=at(30), planned_end=at(30), reason="x"
        )
    with refused("link.party_unchanged", unchanged=shipment):
        shipment.reassign_link(ctx(0), sequence=PICKUP, party=SUZHOU, partner_kinds={}, reason="x")
    with refused("link.unknown", UnknownMember, unchanged=shipment):
        shipment.replan_link(ctx(0), sequence=7, planned_start=at(1), planned_end=at(2), reason="x")


def test_links_start_in_order_and_only_once() -> None:
    shipment = book()
    with refused("chain.out_of_order", unchanged=shipment):
        shipment.start_link(ctx(0), sequence=EXPORT_CUSTOMS)
    shipment.start_link(ctx(5), sequence=PICKUP)
    with refused("link.already_started", unchanged=shipment):
        shipment.start_link(ctx(6), sequence=PICKUP)
    with refused("chain.time_backwards", unchanged=shipment):
        shipment.start_link(ctx(4), sequence=EXPORT_CUSTOMS)
    with refused("link.unknown", UnknownMember, unchanged=shipment):
        shipment.start_link(ctx(6), sequence=0)


def test_custody_passes_only_to_the_next_planned_link() -> None:
    shipment = book()
    run_links(shipment, EXPORT_CUSTOMS)
    with refused("custody.receiver_not_started", unchanged=shipment):
        shipment.hand_over(
            ctx(25), to_sequence=AIR_CARRIAGE, condition=Condition.GOOD, signed_by="x"
        )
    shipment.start_link(ctx(25), sequence=AIR_CARRIAGE)
    shipment.start_link(ctx(26), sequence=IMPORT_CUSTOMS)
    with refused("custody.not_next_link", unchanged=shipment):
        shipment.hand_over(
            ctx(27), to_sequence=IMPORT_CUSTOMS, condition=Condition.GOOD, signed_by="x"
        )
    with refused("custody.not_next_link", unchanged=shipment):
        shipment.hand_over(ctx(27), to_sequence=PICKUP, condition=Condition.GOOD, signed_by="x")
    with refused("custody.not_next_link", unchanged=shipment):
        shipment.hand_over(
            ctx(27), to_sequence=EXPORT_CUSTOMS, condition=Condition.GOOD, signed_by="x"
        )
    with refused("link.unknown", UnknownMember, unchanged=shipment):
        shipment.hand_over(ctx(27), to_sequence=9, condition=Condition.GOOD, signed_by="x")


def test_a_link_must_start_before_it_receives_the_goods() -> None:
    shipment = book()
    with refused("custody.receiver_not_started", unchanged=shipment):
        shipment.hand_over(ctx(1), to_sequence=PICKUP, condition=Condition.GOOD, signed_by="x")


def test_handover_times_never_go_backwards() -> None:
    shipment = book()
    run_links(shipment, EXPORT_CUSTOMS)  # link 2 started at hour 20, received at 21
    shipment.start_link(ctx(20), sequence=AIR_CARRIAGE)
    with refused("custody.time_backwards", unchanged=shipment):
        shipment.hand_over(
            ctx(20.5), to_sequence=AIR_CARRIAGE, condition=Condition.GOOD, signed_by="x"
        )
    with refused("custody.time_backwards", unchanged=shipment):
        shipment.hand_over(
            ctx(19), to_sequence=AIR_CARRIAGE, condition=Condition.GOOD, signed_by="x"
        )
    fresh = book()
    fresh.start_link(ctx(5), sequence=PICKUP)
    with refused("custody.time_backwards", unchanged=fresh):
        fresh.hand_over(ctx(4), to_sequence=PICKUP, condition=Condition.GOOD, signed_by="x")


def test_links_complete_in_order_once_started_and_the_last_with_the_delivery() -> None:
    shipment = book()
    with refused("link.not_started", unchanged=shipment):
        shipment.complete_link(ctx(0), sequence=PICKUP)
    run_links(shipment, AIR_CARRIAGE)  # links 1 and 2 completed, 3 started at hour 30
    with refused("link.already_completed", unchanged=shipment):
        shipment.complete_link(ctx(40), sequence=PICKUP)
    with refused("chain.time_backwards", unchanged=shipment):
        shipment.complete_link(ctx(29), sequence=AIR_CARRIAGE)
    shipment.start_link(ctx(40), sequence=IMPORT_CUSTOMS)
    with refused("chain.out_of_order", unchanged=shipment):
        shipment.complete_link(ctx(41), sequence=IMPORT_CUSTOMS)
    shipment.complete_link(ctx(42), sequence=AIR_CARRIAGE)
    with refused("chain.time_backwards", unchanged=shipment):
        shipment.complete_link(ctx(41), sequence=IMPORT_CUSTOMS)
    with refused("link.completes_with_delivery", unchanged=shipment):
        shipment.complete_link(ctx(43), sequence=DELIVERY)


def test_a_delay_gives_a_new_estimate_for_a_link_not_yet_completed() -> None:
    shipment = book()
    run_links(shipment, AIR_CARRIAGE)
    shipment.report_delay(ctx(31), sequence=DELIVERY, estimated_end=at(130), reason="snow")
    assert shipment.estimated_delivery == at(130)
    assert shipment.planned_delivery == at(120)
    with refused("link.already_completed", unchanged=shipment):
        shipment.report_delay(ctx(31), sequence=PICKUP, estimated_end=at(40), reason="x")
    with refused("delay.estimate_in_past", unchanged=shipment):
        shipment.report_delay(ctx(31), sequence=AIR_CARRIAGE, estimated_end=at(30), reason="x")
    with refused("estimated_end.timezone", InvalidValue, unchanged=shipment):
        shipment.report_delay(
            ctx(31),
            sequence=AIR_CARRIAGE,
            estimated_end=datetime(2025, 3, 9),
            reason="x",
        )


def test_only_the_last_link_delivers_once_every_earlier_link_completed() -> None:
    shipment = book()
    run_links(shipment, WAREHOUSING)

    def deliver(hours: float) -> None:
        shipment.deliver(
            ctx(hours), condition=Condition.GOOD, signed_by="consignee", proof_of_delivery="POD"
        )

    with refused("custody.not_with_last_link", unchanged=shipment):
        deliver(60)
    shipment.start_link(ctx(60), sequence=DELIVERY)
    shipment.hand_over(ctx(61), to_sequence=DELIVERY, condition=Condition.GOOD, signed_by="x")
    with refused("chain.out_of_order", unchanged=shipment):
        deliver(62)
    shipment.complete_link(ctx(62), sequence=WAREHOUSING)
    with refused("custody.time_backwards", unchanged=shipment):
        deliver(60.5)
    deliver(63)
    assert shipment.proof_of_delivery is not None
    assert shipment.proof_of_delivery.reference == "POD"


def test_a_shipment_is_cancelled_only_before_pickup() -> None:
    shipment = book()
    run_links(shipment, PICKUP)
    with refused("shipment.cancel_after_pickup", unchanged=shipment):
        shipment.cancel(ctx(12), reason="customer changed mind")


def test_after_delivery_only_incidents_claims_and_the_evaluation_follow() -> None:
    shipment = delivered()
    attempts: list[Callable[[], None]] = [
        lambda: shipment.start_link(ctx(80), sequence=DELIVERY),
        lambda: shipment.complete_link(ctx(80), sequence=WAREHOUSING),
        lambda: shipment.hand_over(
            ctx(80), to_sequence=DELIVERY, condition=Condition.GOOD, signed_by="x"
        ),
        lambda: shipment.deliver(
            ctx(80), condition=Condition.GOOD, signed_by="x", proof_of_delivery="y"
        ),
        lambda: shipment.report_delay(ctx(80), sequence=DELIVERY, estimated_end=at(90), reason="x"),
        lambda: shipment.replan_link(
            ctx(80), sequence=DELIVERY, planned_start=at(90), planned_end=at(91), reason="x"
        ),
        lambda: shipment.reassign_link(
            ctx(80), sequence=DELIVERY, party=SUZHOU, partner_kinds={}, reason="x"
        ),
        lambda: shipment.cancel(ctx(80), reason="x"),
    ]
    for attempt in attempts:
        with refused("shipment.closed", unchanged=shipment):
            attempt()
    incident = report(shipment, 80, DELIVERY)
    shipment.file_claim(
        ctx(81), claim_id=uuid4(), incident_id=incident, amount=Decimal("10"), currency="USD"
    )
    shipment.evaluate(ctx(82), rating=5)


def test_a_shipment_is_evaluated_once_with_a_rating_from_one_to_five() -> None:
    shipment = book()
    with refused("evaluation.before_delivery", unchanged=shipment):
        shipment.evaluate(ctx(1), rating=5)
    shipment = delivered()
    for rating in (0, 6):
        with refused("rating.range", InvalidValue, unchanged=shipment):
            shipment.evaluate(ctx(80), rating=rating)
    shipment.evaluate(ctx(80), rating=4)
    with refused("evaluation.already_recorded", unchanged=shipment):
        shipment.evaluate(ctx(81), rating=5)


def test_a_late_delivery_is_evaluated_as_not_on_time() -> None:
    shipment = book()
    run_links(shipment, DELIVERY)
    shipment.deliver(ctx(121), condition=Condition.GOOD, signed_by="x", proof_of_delivery="P")
    shipment.evaluate(ctx(130), rating=2)
    assert shipment.evaluation is not None
    assert shipment.evaluation.on_time is False


# --- refusals: incidents and responsibility -------------------------------------------------


def test_an_incident_states_its_extent_within_the_shipment() -> None:
    shipment = book()
    incident = report(shipment, 0, PICKUP)
    with refused("incident.duplicate_id", unchanged=shipment):
        shipment.report_incident(
            ctx(1),
            incident_id=incident,
            link_sequence=PICKUP,
            kind=IncidentKind.LOSS,
            description="x",
            packages_affected=1,
        )
    cases: list[tuple[str, int | None, Decimal | None, type[DomainError]]] = [
        ("incident.extent_required", None, None, InvalidValue),
        ("incident.packages_range", 0, None, InvalidValue),
        ("incident.packages_range", 121, None, InvalidValue),
        ("incident.weight_range", None, Decimal("1800.01"), InvalidValue),
        ("weight_affected_kg.positive", None, Decimal(0), InvalidValue),
    ]
    for rule, packages, weight, kind in cases:
        with refused(rule, kind, unchanged=shipment):
            shipment.report_incident(
                ctx(1),
                incident_id=uuid4(),
                link_sequence=PICKUP,
                kind=IncidentKind.DAMAGE,
                description="x",
                packages_affected=packages,
                weight_affected_kg=weight,
            )
    with refused("link.unknown", UnknownMember, unchanged=shipment):
        report(shipment, 1, 7)


def test_responsibility_steps_follow_their_order() -> None:
    shipment = book()
    incident = report(shipment, 0, PICKUP)
    with refused("incident.unknown", UnknownMember, unchanged=shipment):
        shipment.accept_responsibility(ctx(1), incident_id=uuid4(), note="x")
    with refused("responsibility.not_assigned", unchanged=shipment):
        shipment.accept_responsibility(ctx(1), incident_id=incident, note="x")
    with refused("responsibility.not_assigned", unchanged=shipment):
        shipment.dispute_responsibility(ctx(1), incident_id=incident, reason="x")
    with refused("arbitration.requires_dispute", unchanged=shipment):
        shipment.arbitrate_responsibility(
            ctx(1), incident_id=incident, link_sequence=PICKUP, decision="x"
        )
    with refused("responsibility.basis_reserved", InvalidValue, unchanged=shipment):
        shipment.assign_responsibility(
            ctx(1),
            incident_id=incident,
            link_sequence=PICKUP,
            basis=ResponsibilityBasis.ARBITRATION,
            explanation="x",
        )
    shipment.assign_responsibility(
        ctx(1),
        incident_id=incident,
        link_sequence=PICKUP,
        basis=ResponsibilityBasis.HELD_CUSTODY,
        explanation="x",
    )
    with refused("arbitration.requires_dispute", unchanged=shipment):
        shipment.arbitrate_responsibility(
            ctx(2), incident_id=incident, link_sequence=PICKUP, decision="x"
        )
    with refused("incident.responsibility_pending", unchanged=shipment):
        shipment.resolve_incident(ctx(2), incident_id=incident, resolution="x")
    shipment.accept_responsibility(ctx(2), incident_id=incident, note="driver admits")
    with refused("responsibility.final", unchanged=shipment):
        shipment.accept_responsibility(ctx(3), incident_id=incident, note="again")


def test_a_resolved_incident_takes_no_more_actions() -> None:
    shipment = book()
    incident = report(shipment, 0, PICKUP)
    shipment.resolve_incident(ctx(1), incident_id=incident, resolution="carton repacked")
    with refused("incident.resolved", unchanged=shipment):
        shipment.record_coordination_action(ctx(2), incident_id=incident, action="x")
    with refused("incident.resolved", unchanged=shipment):
        shipment.resolve_incident(ctx(2), incident_id=incident, resolution="x")
    with refused("incident.resolved", unchanged=shipment):
        shipment.assign_responsibility(
            ctx(2),
            incident_id=incident,
            link_sequence=PICKUP,
            basis=ResponsibilityBasis.HELD_CUSTODY,
            explanation="x",
        )


# --- refusals: claims -----------------------------------------------------------------------


def test_one_claim_per_incident_with_a_positive_amount() -> None:
    shipment, incident, claim_id = claimed()
    with refused("claim.duplicate_id", unchanged=shipment):
        shipment.file_claim(
            ctx(90), claim_id=claim_id, incident_id=incident, amount=Decimal(1), currency="USD"
        )
    with refused("claim.incident_already_claimed", unchanged=shipment):
        shipment.file_claim(
            ctx(90), claim_id=uuid4(), incident_id=incident, amount=Decimal(1), currency="USD"
        )
    other = report(shipment, 90, DELIVERY)
    for amount, rule in ((Decimal(0), "amount.positive"), (Decimal("NaN"), "amount.number")):
        with refused(rule, InvalidValue, unchanged=shipment):
            shipment.file_claim(
                ctx(90), claim_id=uuid4(), incident_id=other, amount=amount, currency="USD"
            )
    with refused("incident.unknown", UnknownMember, unchanged=shipment):
        shipment.file_claim(
            ctx(90), claim_id=uuid4(), incident_id=uuid4(), amount=Decimal(1), currency="USD"
        )
    with refused("claim.unknown", UnknownMember, unchanged=shipment):
        shipment.close_claim(ctx(90), claim_id=uuid4(), note="x")


def test_compensation_is_paid_once_and_never_more_than_claimed() -> None:
    shipment, _, claim_id = claimed()
    with refused("compensation.exceeds_claim", unchanged=shipment):
        shipment.pay_compensation(
            ctx(90), claim_id=claim_id, amount=Decimal("40000.01"), payment_reference="P"
        )
    shipment.pay_compensation(
        ctx(90), claim_id=claim_id, amount=Decimal("38000"), payment_reference="P"
    )
    with refused("compensation.already_paid", unchanged=shipment):
        shipment.pay_compensation(
            ctx(91), claim_id=claim_id, amount=Decimal(1), payment_reference="P"
        )


def test_the_limit_is_assessed_only_on_final_responsibility() -> None:
    shipment, incident, claim_id = claimed()
    with refused("claim.responsibility_not_final", unchanged=shipment):
        shipment.assess_liability_limit(ctx(90), claim_id=claim_id, sdr_rate=Decimal("1.3"))
    with refused("recovery.limit_not_assessed", unchanged=shipment):
        shipment.claim_recovery(ctx(90), claim_id=claim_id, amount=Decimal(1))
    shipment.accept_responsibility(ctx(90), incident_id=incident, note="accepted")
    with refused("sdr_rate.positive", InvalidValue, unchanged=shipment):
        shipment.assess_liability_limit(ctx(91), claim_id=claim_id, sdr_rate=Decimal("-1"))


def test_recovery_is_claimed_once_and_received_up_to_what_was_claimed() -> None:
    shipment, incident, claim_id = claimed()
    shipment.accept_responsibility(ctx(90), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(91), claim_id=claim_id, sdr_rate=Decimal("1.3"))
    with refused("recovery.not_claimed", unchanged=shipment):
        shipment.receive_recovery(ctx(92), claim_id=claim_id, amount=Decimal(1))
    shipment.claim_recovery(ctx(92), claim_id=claim_id, amount=Decimal("4000"))
    with refused("recovery.already_claimed", unchanged=shipment):
        shipment.claim_recovery(ctx(93), claim_id=claim_id, amount=Decimal("1"))
    with refused("recovery.exceeds_claimed", unchanged=shipment):
        shipment.receive_recovery(ctx(93), claim_id=claim_id, amount=Decimal("4000.01"))
    shipment.receive_recovery(ctx(93), claim_id=claim_id, amount=Decimal("3500"))
    with refused("recovery.already_received", unchanged=shipment):
        shipment.receive_recovery(ctx(94), claim_id=claim_id, amount=Decimal("500"))


def test_recovery_may_be_waived_once_the_customer_is_compensated() -> None:
    shipment, incident, claim_id = claimed()
    with refused("recovery.waive_before_compensation", unchanged=shipment):
        shipment.waive_recovery(ctx(81), claim_id=claim_id, reason="goodwill")
    shipment.pay_compensation(
        ctx(82), claim_id=claim_id, amount=Decimal("1200"), payment_reference="PAY-7"
    )
    with refused("reason.required", InvalidValue, unchanged=shipment):
        shipment.waive_recovery(ctx(83), claim_id=claim_id, reason="  ")
    shipment.waive_recovery(
        ctx(83, actor="finance.he"),
        claim_id=claim_id,
        reason="USD 1,200 is below the cost of pursuing the airline",
    )
    claim = shipment.claims[claim_id]
    assert claim.recovery_waived == "USD 1,200 is below the cost of pursuing the airline"
    assert claim.recovery_waived_at == at(83)
    assert claim.status is ClaimStatus.OPEN
    assert claim.net_cost == Decimal("1200")
    with refused("recovery.already_waived", unchanged=shipment):
        shipment.waive_recovery(ctx(84), claim_id=claim_id, reason="again")

    # The limit may still be assessed (what we gave up), but recovery is never claimed.
    shipment.accept_responsibility(ctx(84), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(85), claim_id=claim_id, sdr_rate=Decimal("1.33"))
    with refused("recovery.waived", unchanged=shipment):
        shipment.claim_recovery(ctx(86), claim_id=claim_id, amount=Decimal("100"))
    shipment.close_claim(ctx(87), claim_id=claim_id, note="compensated; recovery waived")
    with refused("claim.closed", unchanged=shipment):
        shipment.waive_recovery(ctx(88), claim_id=claim_id, reason="x")
    with refused("claim.unknown", UnknownMember, unchanged=shipment):
        shipment.waive_recovery(ctx(88), claim_id=uuid4(), reason="x")


def test_recovery_once_claimed_is_not_waived() -> None:
    shipment, incident, claim_id = claimed()
    shipment.pay_compensation(
        ctx(81), claim_id=claim_id, amount=Decimal("40000"), payment_reference="PAY-8"
    )
    shipment.accept_responsibility(ctx(82), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(83), claim_id=claim_id, sdr_rate=Decimal("1.33"))
    shipment.claim_recovery(ctx(84), claim_id=claim_id, amount=Decimal("5000"))
    with refused("recovery.already_claimed", unchanged=shipment):
        shipment.waive_recovery(ctx(85), claim_id=claim_id, reason="goodwill")
    assert shipment.claims[claim_id].recovery_waived is None


def test_a_closed_claim_takes_no_more_steps() -> None:
    shipment, _, claim_id = claimed()
    shipment.close_claim(ctx(90), claim_id=claim_id, note="customer withdrew")
    assert shipment.claims[claim_id].status is ClaimStatus.CLOSED
    with refused("claim.closed", unchanged=shipment):
        shipment.pay_compensation(
            ctx(91), claim_id=claim_id, amount=Decimal(1), payment_reference="P"
        )
    with refused("claim.closed", unchanged=shipment):
        shipment.close_claim(ctx(91), claim_id=claim_id, note="again")


# --- charges and invoices -------------------------------------------------------------------


def test_charges_are_quoted_with_the_booking_and_requoted_until_delivery() -> None:
    shipment = book()
    assert shipment.quoted_charges is None
    shipment.quote_charges(ctx(-47), amount=Decimal("9450.00"), currency="usd")
    assert shipment.quoted_charges == Charges(Decimal("9450.00"), "USD")
    with refused("charges.unchanged", unchanged=shipment):
        shipment.quote_charges(ctx(-46), amount=Decimal("9450"), currency="USD")
    run_links(shipment, AIR_CARRIAGE)
    # Volumetric weight came out higher at the airline's scale: a new quote replaces the old.
    shipment.quote_charges(ctx(31), amount=Decimal("10120.00"), currency="USD")
    assert shipment.quoted_charges == Charges(Decimal("10120.00"), "USD")
    run_links(shipment, DELIVERY)
    shipment.deliver(
        ctx(70), condition=Condition.GOOD, signed_by="J. Miller", proof_of_delivery="P"
    )
    with refused("charges.shipment_closed", unchanged=shipment):
        shipment.quote_charges(ctx(71), amount=Decimal("1"), currency="USD")


@pytest.mark.parametrize(
    ("amount", "currency", "rule"),
    [
        (Decimal("0"), "USD", "amount.positive"),
        (Decimal("-5"), "USD", "amount.positive"),
        (Decimal("NaN"), "USD", "amount.number"),
        (Decimal("100"), "US", "currency.format"),
        (Decimal("100"), "U$D", "currency.format"),
    ],
)
def test_charges_are_a_positive_amount_in_an_iso_currency(
    amount: Decimal, currency: str, rule: str
) -> None:
    shipment = book()
    with refused(rule, InvalidValue, unchanged=shipment):
        shipment.quote_charges(ctx(-47), amount=amount, currency=currency)
    with refused(rule, InvalidValue, unchanged=shipment):
        shipment.invoice(ctx(-47), invoice_number="INV-1", amount=amount, currency=currency)


def test_a_shipment_is_invoiced_in_parts_each_number_once_after_delivery_too() -> None:
    shipment = book()
    shipment.invoice(
        ctx(-40), invoice_number="SZV-INV-0301", amount=Decimal("8800"), currency="USD"
    )
    shipment = delivered()
    shipment.invoice(ctx(71), invoice_number="SZV-INV-0301", amount=Decimal("8800"), currency="USD")
    shipment.invoice(ctx(72), invoice_number="SZV-INV-0302", amount=Decimal("650"), currency="CNY")
    assert [(i.invoice_number, i.amount, i.currency) for i in shipment.invoices] == [
        ("SZV-INV-0301", Decimal("8800"), "USD"),
        ("SZV-INV-0302", Decimal("650"), "CNY"),
    ]
    assert shipment.invoices[1].invoiced_at == at(72)
    assert shipment.invoices[1].invoiced_by == "ops.wang"
    with refused("invoice.duplicate_number", unchanged=shipment):
        shipment.invoice(
            ctx(73), invoice_number="SZV-INV-0302", amount=Decimal("1"), currency="CNY"
        )
    with refused("invoice_number.required", InvalidValue, unchanged=shipment):
        shipment.invoice(ctx(73), invoice_number="  ", amount=Decimal("1"), currency="CNY")


def test_a_cancelled_shipment_is_not_invoiced() -> None:
    shipment = book()
    shipment.quote_charges(ctx(-47), amount=Decimal("9450"), currency="USD")
    shipment.cancel(ctx(-10), reason="postponed")
    with refused("invoice.shipment_cancelled", unchanged=shipment):
        shipment.invoice(ctx(-9), invoice_number="INV-1", amount=Decimal("300"), currency="USD")
    with refused("charges.shipment_closed", unchanged=shipment):
        shipment.quote_charges(ctx(-9), amount=Decimal("300"), currency="USD")


# --- the stored history ---------------------------------------------------------------------


def full_history() -> Shipment:
    """A shipment that has been through every event there is but a cancellation."""
    shipment = book()
    shipment.quote_charges(ctx(-47), amount=Decimal("9450.00"), currency="USD")
    shipment.plan_link_cost(ctx(-47), sequence=AIR_CARRIAGE, amount=Decimal("4680"), currency="USD")
    shipment.replan_link(
        ctx(-20), sequence=DELIVERY, planned_start=at(97), planned_end=at(121), reason="dock slot"
    )
    shipment.reassign_link(
        ctx(-19), sequence=PICKUP, party=Party.our_branch("Kunshan"), partner_kinds={}, reason="x"
    )
    run_links(shipment, DELIVERY, {IMPORT_CUSTOMS: Condition.DAMAGED})
    shipment.report_delay(ctx(61.5), sequence=DELIVERY, estimated_end=at(130), reason="snow")
    shipment.deliver(ctx(63), condition=Condition.DAMAGED, signed_by="x", proof_of_delivery="P")
    shipment.evaluate(ctx(64), rating=3, remarks="damaged")
    shipment.rate_by_customer(ctx(64), rating=2, comment="damaged on arrival")
    shipment.record_link_invoice(
        ctx(64),
        sequence=AIR_CARRIAGE,
        amount=Decimal("4712"),
        currency="USD",
        invoice_reference="A",
    )
    shipment.invoice(ctx(64.5), invoice_number="INV-1", amount=Decimal("9450"), currency="USD")
    incident = report(shipment, 65, DELIVERY, IncidentKind.DELAY, packages=None)
    shipment.record_coordination_action(ctx(65), incident_id=incident, action="survey ordered")
    shipment.attach_evidence(
        ctx(65),
        target=EvidenceTarget.INCIDENT,
        target_id=str(incident),
        sha256="ab" * 32,
        size=48213,
        media_type="image/jpeg",
        file_name="cartons.jpg",
    )
    shipment.assign_responsibility(
        ctx(66),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="x",
    )
    shipment.dispute_responsibility(ctx(67), incident_id=incident, reason="x")
    shipment.arbitrate_responsibility(
        ctx(68), incident_id=incident, link_sequence=AIR_CARRIAGE, decision="upheld"
    )
    claim_id = uuid4()
    shipment.file_claim(
        ctx(69), claim_id=claim_id, incident_id=incident, amount=Decimal("5000.50"), currency="EUR"
    )
    shipment.pay_compensation(
        ctx(70), claim_id=claim_id, amount=Decimal("5000.50"), payment_reference="P"
    )
    shipment.assess_liability_limit(ctx(71), claim_id=claim_id, sdr_rate=Decimal("1.2012"))
    shipment.claim_recovery(ctx(72), claim_id=claim_id, amount=Decimal("5000.50"))
    shipment.receive_recovery(ctx(73), claim_id=claim_id, amount=Decimal("4000"))
    shipment.close_claim(ctx(74), claim_id=claim_id, note="x")
    shipment.resolve_incident(ctx(75), incident_id=incident, resolution="x")
    scuffed = report(shipment, 76, PICKUP, packages=None, weight=Decimal("12.5"))
    shipment.assign_responsibility(
        ctx(77),
        incident_id=scuffed,
        link_sequence=PICKUP,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="driver's report",
    )
    shipment.accept_responsibility(ctx(78), incident_id=scuffed, note="Kunshan branch agrees")
    goodwill = uuid4()
    shipment.file_claim(
        ctx(79), claim_id=goodwill, incident_id=scuffed, amount=Decimal("80"), currency="USD"
    )
    shipment.pay_compensation(
        ctx(80), claim_id=goodwill, amount=Decimal("80"), payment_reference="P2"
    )
    shipment.waive_recovery(ctx(81), claim_id=goodwill, reason="below the cost of pursuit")
    return shipment


def test_every_event_has_a_stable_stored_name() -> None:
    names = {cls.__name__ for cls in event_classes(Shipment)}
    assert names >= {"Booked", "CustodyHandedOver", "CompensationPaid", "RecoveryClaimed"}
    for cls in event_classes(Shipment):
        assert (cls.__name__, cls.TOPIC) == (cls.__name__, f"Shipment.{cls.__name__}")
    assert Shipment.Created is Shipment.Booked


def test_events_round_trip_through_the_store_and_rebuild_the_same_shipment() -> None:
    shipment = full_history()
    # The consignee's signer asks to be erased: their name leaves every handover.
    shipment.erase_personal_data(
        ctx(70), signer_subject(shipment.id, " X "), [DataKind.SIGNATURE], reason="asked"
    )
    assert shipment.links[-1].released is not None
    assert shipment.links[-1].released.signed_by == ERASED
    events = shipment.collect_events()
    assert {type(e).__name__ for e in events} | {"Cancelled"} == {
        cls.__name__ for cls in event_classes(Shipment)
    }
    m = mapper()
    stored = [m.to_stored_event(event) for event in events]
    for record in stored:
        assert record.topic.startswith("Shipment.")
        json.loads(record.state)  # plain JSON
    restored_events = [m.to_domain_event(record) for record in stored]
    assert restored_events == events

    restored = rebuild(restored_events)
    assert restored == shipment
    assert restored.status is ShipmentStatus.DELIVERED
    assert restored.claims == shipment.claims
    assert restored.incidents == shipment.incidents
    assert restored.links == shipment.links


def test_a_cancelled_shipment_round_trips_too() -> None:
    shipment = book()
    shipment.cancel(ctx(0), reason="postponed")
    events = shipment.collect_events()
    m = mapper()
    restored = rebuild([m.to_domain_event(m.to_stored_event(event)) for event in events])
    assert restored == shipment
    assert restored.status is ShipmentStatus.CANCELLED


def test_a_stored_v1_limit_assessment_loads_through_the_upcaster() -> None:
    """v1 recorded one pair of deadlines, which served the customer's claim and our
    recovery alike; replayed, it is both, and recovery is time-barred by it as before."""
    shipment, incident, claim_id = claimed()
    shipment.accept_responsibility(ctx(81), incident_id=incident, note="accepted")
    shipment.assess_liability_limit(ctx(82), claim_id=claim_id, sdr_rate=Decimal("1.25"))
    m = mapper()
    stored = [m.to_stored_event(event) for event in shipment.collect_events()]
    assert stored[-1].topic == "Shipment.LiabilityLimitAssessed"
    state = json.loads(stored[-1].state)
    assert state["class_version"] == 2
    for name in (
        "class_version",
        "customer_regime",
        "customer_notice_deadline",
        "customer_time_bar",
        "recovery_notice_deadline",
        "recovery_time_bar",
    ):
        del state[name]
    state["notice_deadline"] = {"_type_": "datetime_iso", "_data_": "2025-03-21T04:00:00+00:00"}
    state["time_bar"] = {"_type_": "datetime_iso", "_data_": "2027-03-07T04:00:00+00:00"}
    v1 = replace(stored[-1], state=json.dumps(state).encode())

    replayed = rebuild([m.to_domain_event(record) for record in [*stored[:-1], v1]])
    claim = replayed.claims[claim_id]
    assert claim.assessment is not None
    assert claim.assessment.customer_regime is LiabilityRegime.MONTREAL  # the link's, in v1
    notice, time_bar = datetime(2025, 3, 21, 4, tzinfo=UTC), datetime(2027, 3, 7, 4, tzinfo=UTC)
    assert (claim.customer_notice_deadline, claim.customer_time_bar) == (notice, time_bar)
    assert (claim.recovery_notice_deadline, claim.recovery_time_bar) == (notice, time_bar)
    assert claim.limit == shipment.claims[claim_id].limit

    late = CommandContext.issue(actor="ops.wang", now=time_bar, occurred_at=time_bar)
    replayed.claim_recovery(late, claim_id=claim_id, amount=Decimal("100"))
    again = rebuild([m.to_domain_event(record) for record in [*stored[:-1], v1]])
    too_late = time_bar + timedelta(seconds=1)
    with refused("recovery.time_barred", unchanged=again):
        again.claim_recovery(
            CommandContext.issue(actor="ops.wang", now=too_late, occurred_at=too_late),
            claim_id=claim_id,
            amount=Decimal("100"),
        )


def concealed_damage_on_main_carriage(mode: TransportMode) -> tuple[Shipment, UUID]:
    """Pickup, main carriage by ``mode`` (the agent's), delivery. The carrier hands the
    goods on in good order on Tuesday 4 March 2025 at 07:00; the consignee finds two
    cartons damaged inside on Tuesday 11 March, and the carrier accepts."""
    shipment = book(
        [
            plan(LinkFunction.PICKUP, SUZHOU, (0, 24), TransportMode.ROAD),
            plan(LinkFunction.MAIN_CARRIAGE, Party.partner(AGENT), (24, 48), mode),
            plan(LinkFunction.DELIVERY, Party.partner(WAREHOUSE), (48, 72), TransportMode.ROAD),
        ]
    )
    run_links(shipment, 3)
    assert shipment.links[1].custody_until == datetime(2025, 3, 4, 7, tzinfo=UTC)
    shipment.deliver(
        ctx(200), condition=Condition.GOOD, signed_by="consignee", proof_of_delivery="P"
    )
    damage = report(shipment, 201, 3, IncidentKind.DAMAGE, packages=2)
    shipment.assign_responsibility(
        ctx(202),
        incident_id=damage,
        link_sequence=2,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="survey: forklift damage at the carrier's depot",
    )
    shipment.accept_responsibility(ctx(203), incident_id=damage, note="accepted")
    claim_id = uuid4()
    shipment.file_claim(
        ctx(204), claim_id=claim_id, incident_id=damage, amount=Decimal("8000"), currency="USD"
    )
    return shipment, claim_id


def test_a_cmr_recovery_notice_skips_sundays_and_the_holidays_passed_in() -> None:
    shipment, claim_id = concealed_damage_on_main_carriage(TransportMode.ROAD)
    # From Tuesday 4 March: Wed 5 (1), Thu 6 (2), Fri 7 (3), Sat 8 (4), Sun 9 skipped,
    # Mon 10 (5), Tue 11 (6), Wed 12 (7).
    shipment.assess_liability_limit(ctx(205), claim_id=claim_id, sdr_rate=Decimal("1.33"))
    assert shipment.claims[claim_id].recovery_notice_deadline == datetime(
        2025, 3, 12, 7, tzinfo=UTC
    )
    # Saturday 8 March a holiday too: ... Fri 7 (3), Mon 10 (4), ... Thu 13 (7).
    shipment.assess_liability_limit(
        ctx(206),
        claim_id=claim_id,
        sdr_rate=Decimal("1.33"),
        holidays=HolidayCalendar(frozenset({date(2025, 3, 8)})),
    )
    claim = shipment.claims[claim_id]
    assert claim.recovery_notice_deadline == datetime(2025, 3, 13, 7, tzinfo=UTC)
    assert claim.recovery_time_bar == datetime(2026, 3, 4, 7, tzinfo=UTC)
    # The customer's, under our terms, from the final delivery (Tuesday 11 March, 08:00).
    assert claim.customer_notice_deadline == datetime(2025, 3, 18, 8, tzinfo=UTC)
    assert claim.customer_time_bar == datetime(2025, 12, 11, 8, tzinfo=UTC)


def test_a_hague_visby_recovery_may_follow_three_months_after_we_compensated() -> None:
    shipment, claim_id = concealed_damage_on_main_carriage(TransportMode.SEA)
    shipment.assess_liability_limit(ctx(205), claim_id=claim_id, sdr_rate=Decimal("1.33"))
    claim = shipment.claims[claim_id]
    assert claim.recovery_notice_deadline == datetime(2025, 3, 7, 7, tzinfo=UTC)  # 3 days
    assert claim.recovery_time_bar == datetime(2026, 3, 4, 7, tzinfo=UTC)  # 1 year
    # We pay the customer on Thursday 26 February 2026: the recourse action is allowed
    # until 26 May 2026, after the year.
    shipment.pay_compensation(
        ctx(24 * 360), claim_id=claim_id, amount=Decimal("8000"), payment_reference="PAY-HV"
    )
    assert shipment.claims[claim_id].recovery_time_bar == datetime(2026, 5, 26, tzinfo=UTC)
    with refused("recovery.time_barred", unchanged=shipment):
        shipment.claim_recovery(ctx(24 * (360 + 89) + 1), claim_id=claim_id, amount=Decimal("100"))
    shipment.claim_recovery(ctx(24 * 394), claim_id=claim_id, amount=Decimal("100"))
