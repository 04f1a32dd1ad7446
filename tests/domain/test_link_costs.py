"""What a link costs us (planned, then invoiced by its party) and a partner's rewards and
penalties (奖惩: charge-backs and bonuses), on the aggregates alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.base import CommandContext, CommandRefused, InvalidValue, UnknownMember
from domain.costs import LinkCost, Money
from domain.relationship import Relationship, RelationshipKind
from domain.shipment import Condition, ResponsibilityBasis, Shipment
from tests.domain.test_shipment import (
    AIR_CARRIAGE,
    AIRLINE,
    DELIVERY,
    IMPORT_CUSTOMS,
    PICKUP,
    book,
    ctx,
    delivered,
    mapper,
    rebuild,
    refused,
    report,
    run_links,
)

# --- link costs ----------------------------------------------------------------------------


def test_a_link_is_planned_at_a_cost_and_invoiced_once_it_has_completed() -> None:
    shipment = book()
    shipment.plan_link_cost(
        ctx(-47), sequence=AIR_CARRIAGE, amount=Decimal("4500.00"), currency="usd"
    )
    # Replanned before the link completes: the new rate replaces the old.
    shipment.plan_link_cost(
        ctx(-46), sequence=AIR_CARRIAGE, amount=Decimal("4680.00"), currency="USD"
    )
    assert shipment.link_cost(AIR_CARRIAGE) == LinkCost(
        AIR_CARRIAGE, planned=Money(Decimal("4680.00"), "USD")
    )
    with refused("link_cost.link_not_completed", unchanged=shipment):
        shipment.record_link_invoice(
            ctx(-45),
            sequence=AIR_CARRIAGE,
            amount=Decimal("4700.00"),
            currency="USD",
            invoice_reference="CA-INV-1",
        )
    run_links(shipment, IMPORT_CUSTOMS)  # link 3 completes at hour 40
    with refused("link_cost.link_completed", unchanged=shipment):
        shipment.plan_link_cost(
            ctx(41), sequence=AIR_CARRIAGE, amount=Decimal("4000"), currency="USD"
        )
    shipment.record_link_invoice(
        ctx(50),
        sequence=AIR_CARRIAGE,
        amount=Decimal("4725.50"),
        currency="USD",
        invoice_reference="CA-INV-1",
    )
    # A corrected invoice replaces the one before; the same one again is refused.
    shipment.record_link_invoice(
        ctx(51),
        sequence=AIR_CARRIAGE,
        amount=Decimal("4712.00"),
        currency="USD",
        invoice_reference="CA-INV-1-C",
    )
    with refused("link_cost.unchanged", unchanged=shipment):
        shipment.record_link_invoice(
            ctx(52),
            sequence=AIR_CARRIAGE,
            amount=Decimal("4712.00"),
            currency="USD",
            invoice_reference="CA-INV-1-C",
        )
    cost = shipment.link_cost(AIR_CARRIAGE)
    assert cost.planned == Money(Decimal("4680.00"), "USD")
    assert cost.actual == Money(Decimal("4712.00"), "USD")
    assert cost.invoice_reference == "CA-INV-1-C"
    assert shipment.link_cost(PICKUP) == LinkCost(PICKUP)

    events = shipment.collect_events()
    assert [type(e).__name__ for e in events].count("LinkCostPlanned") == 2
    assert [type(e).__name__ for e in events].count("LinkCostInvoiced") == 2
    stored = [mapper().to_stored_event(e) for e in events]
    assert "Shipment.LinkCostInvoiced" in {s.topic for s in stored}
    replayed = rebuild([mapper().to_domain_event(s) for s in stored])
    assert replayed.link_costs == shipment.link_costs


def test_the_last_link_is_invoiced_after_the_delivery_and_costs_are_kept_apart_by_currency() -> (
    None
):
    shipment = delivered()
    shipment.record_link_invoice(
        ctx(80),
        sequence=DELIVERY,
        amount=Decimal("650"),
        currency="EUR",
        invoice_reference="TRK-77",
    )
    assert shipment.link_cost(DELIVERY).actual == Money(Decimal("650"), "EUR")
    with refused("shipment.closed", unchanged=shipment):
        shipment.plan_link_cost(ctx(81), sequence=PICKUP, amount=Decimal("10"), currency="CNY")


@pytest.mark.parametrize(
    ("amount", "currency", "rule"),
    [
        (Decimal("0"), "USD", "amount.positive"),
        (Decimal("-5"), "USD", "amount.positive"),
        (Decimal("NaN"), "USD", "amount.number"),
        (Decimal("10"), "US", "currency.format"),
        (Decimal("10"), "U5D", "currency.format"),
    ],
)
def test_a_cost_is_a_positive_amount_in_a_three_letter_currency(
    amount: Decimal, currency: str, rule: str
) -> None:
    shipment = book()
    with refused(rule, InvalidValue, unchanged=shipment):
        shipment.plan_link_cost(ctx(-47), sequence=PICKUP, amount=amount, currency=currency)


def test_a_cost_names_a_link_of_the_chain() -> None:
    shipment = book()
    with refused("link.unknown", UnknownMember, unchanged=shipment):
        shipment.plan_link_cost(ctx(-47), sequence=7, amount=Decimal("1"), currency="USD")


# --- rewards and penalties ---------------------------------------------------------------

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def hq(when: datetime = NOW) -> CommandContext:
    return CommandContext.issue(actor="hq.chen", now=when, occurred_at=when)


def airline() -> Relationship:
    partner = Relationship.register(
        hq(NOW - timedelta(days=400)),
        name="Pacific Air Cargo",
        kind=RelationshipKind.PARTNER,
        industry="air cargo",
        region="East China",
        branch="Suzhou",
        relationship_id=AIRLINE,
    )
    partner.collect_events()
    return partner


def damaged_in_the_air(*, accepted: bool) -> tuple[Shipment, UUID]:
    """The seed case: cartons crushed at the airline's handover, responsibility proposed
    to the airline, which accepts it (or has not answered yet)."""
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    incident = report(shipment, 75, IMPORT_CUSTOMS)
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="the agent signed for crushed cartons",
    )
    if accepted:
        shipment.accept_responsibility(ctx(77), incident_id=incident, note="ULD damaged")
    return shipment, incident


def test_a_partner_found_responsible_is_charged_back_and_the_charge_back_is_in_its_history() -> (
    None
):
    shipment, incident = damaged_in_the_air(accepted=True)
    assert shipment.found_responsible(incident) == AIRLINE
    partner = airline()
    charge_back_id = uuid4()
    partner.charge_back(
        hq(),
        charge_back_id=charge_back_id,
        amount=Decimal("3200.00"),
        currency="usd",
        reason="crushed cartons at the import handover",
        shipment_id=shipment.id,
        incident_id=incident,
        claim_id=None,
        found_responsible=shipment.found_responsible(incident),
    )
    [event] = partner.collect_events()
    assert isinstance(event, Relationship.ChargedBack)
    assert (event.charge_back_id, event.amount, event.currency) == (
        charge_back_id,
        Decimal("3200.00"),
        "USD",
    )
    assert (event.shipment_id, event.incident_id, event.claim_id) == (shipment.id, incident, None)
    assert event.actor == "hq.chen"
    stored = mapper().to_stored_event(event)
    assert stored.topic == "Relationship.ChargedBack"
    again = mapper().to_domain_event(stored)
    assert isinstance(again, Relationship.ChargedBack)
    assert again.amount == Decimal("3200.00")


def test_a_partner_not_found_responsible_is_not_charged_back() -> None:
    shipment, incident = damaged_in_the_air(accepted=False)
    # Only proposed, not accepted: no partner is found responsible yet.
    assert shipment.found_responsible(incident) is None
    partner = airline()
    with pytest.raises(CommandRefused) as caught:
        partner.charge_back(
            hq(),
            charge_back_id=uuid4(),
            amount=Decimal("3200.00"),
            currency="USD",
            reason="crushed cartons",
            shipment_id=shipment.id,
            incident_id=incident,
            claim_id=None,
            found_responsible=shipment.found_responsible(incident),
        )
    assert caught.value.rule == "charge_back.not_responsible"
    assert partner.collect_events() == []

    # Arbitrated to another partner: still not this one.
    shipment.dispute_responsibility(ctx(78), incident_id=incident, reason="damage in the shed")
    shipment.arbitrate_responsibility(
        ctx(79), incident_id=incident, link_sequence=IMPORT_CUSTOMS, decision="CCTV: forklift"
    )
    assert shipment.found_responsible(incident) != AIRLINE
    with pytest.raises(CommandRefused) as caught:
        partner.charge_back(
            hq(),
            charge_back_id=uuid4(),
            amount=Decimal("3200.00"),
            currency="USD",
            reason="crushed cartons",
            shipment_id=shipment.id,
            incident_id=incident,
            claim_id=None,
            found_responsible=shipment.found_responsible(incident),
        )
    assert caught.value.rule == "charge_back.not_responsible"


def test_a_clean_record_is_rewarded_for_a_period_that_has_ended() -> None:
    partner = airline()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2025, 3, 1, tzinfo=UTC)
    bonus_id = uuid4()
    partner.award_bonus(
        hq(),
        bonus_id=bonus_id,
        amount=Decimal("500"),
        currency="USD",
        reason="no incident in two months",
        period_start=start,
        period_end=end,
    )
    [event] = partner.collect_events()
    assert isinstance(event, Relationship.BonusAwarded)
    assert (event.bonus_id, event.amount, event.period_start, event.period_end) == (
        bonus_id,
        Decimal("500"),
        start,
        end,
    )
    with pytest.raises(InvalidValue) as wrong_way:
        partner.award_bonus(
            hq(), bonus_id=uuid4(), amount=Decimal("500"), currency="USD", reason="x",
            period_start=end, period_end=start,
        )  # fmt: skip
    assert (wrong_way.value.rule, wrong_way.value.field) == ("period.order", "period_end")
    with pytest.raises(InvalidValue) as unfinished:
        partner.award_bonus(
            hq(), bonus_id=uuid4(), amount=Decimal("500"), currency="USD", reason="x",
            period_start=start, period_end=NOW + timedelta(days=1),
        )  # fmt: skip
    assert unfinished.value.rule == "period.not_ended"
    assert partner.collect_events() == []


def test_only_a_partner_is_rewarded_or_charged_back() -> None:
    customer = Relationship.register(
        hq(NOW - timedelta(days=400)),
        name="苏州华芯电子有限公司",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )
    customer.collect_events()
    with pytest.raises(CommandRefused) as caught:
        customer.award_bonus(
            hq(), bonus_id=uuid4(), amount=Decimal("1"), currency="USD", reason="x",
            period_start=NOW - timedelta(days=30), period_end=NOW,
        )  # fmt: skip
    assert caught.value.rule == "rewards.only_partners"
    with pytest.raises(CommandRefused) as charged:
        customer.charge_back(
            hq(), charge_back_id=uuid4(), amount=Decimal("1"), currency="USD", reason="x",
            shipment_id=uuid4(), incident_id=uuid4(), claim_id=None, found_responsible=customer.id,
        )  # fmt: skip
    assert charged.value.rule == "rewards.only_partners"
    assert customer.collect_events() == []
