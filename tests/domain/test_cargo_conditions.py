"""The seed's other link functions (装卸 loading/unloading, 搬运 handling, 物流信息 logistics
information) and the cargo's conditions (货物特殊性/储存条件) on the Shipment aggregate, no
database."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from domain.base import CommandRefused, InvalidValue
from domain.cargo_conditions import (
    BreachKind,
    CargoConditions,
    CargoObservation,
    DangerousGoods,
    breaches,
)
from domain.liability import LiabilityRegime, TransportMode
from domain.shipment import (
    Condition,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    Party,
    ResponsibilityBasis,
    Shipment,
)
from tests.domain.test_shipment import (
    AGENT,
    AIRLINE,
    LAPTOPS,
    SUZHOU,
    WAREHOUSE,
    book,
    ctx,
    mapper,
    plan,
    rebuild,
    refused,
    report,
)

COLD = CargoConditions.of(temperature_min_c=Decimal(2), temperature_max_c=Decimal(8))
VACCINES = replace(LAPTOPS, description="vaccines, 120 insulated boxes", conditions=COLD)

#: Pickup, loading at the airport, the filing of the air manifest (no goods), the airline,
#: handling at the Chicago warehouse, delivery.
PICKUP, LOADING, MANIFEST, AIR, HANDLING, DELIVERY = range(1, 7)


def chain_with_information() -> list[LinkPlan]:
    return [
        plan(LinkFunction.PICKUP, SUZHOU, (0, 6), TransportMode.ROAD),
        plan(LinkFunction.LOADING_UNLOADING, SUZHOU, (6, 12)),
        plan(LinkFunction.LOGISTICS_INFORMATION, SUZHOU, (12, 24)),
        plan(LinkFunction.MAIN_CARRIAGE, Party.partner(AIRLINE), (24, 48), TransportMode.AIR),
        plan(LinkFunction.HANDLING, Party.partner(WAREHOUSE), (48, 72)),
        plan(LinkFunction.DELIVERY, Party.partner(AGENT), (72, 96), TransportMode.ROAD),
    ]


def carry(
    shipment: Shipment,
    through: int,
    observed: dict[int, CargoObservation] | None = None,
    conditions: dict[int, Condition] | None = None,
) -> None:
    """Link k starts at 10·k hours and, if it holds goods, receives them an hour later;
    the link before it completes as it starts."""
    observed, conditions = observed or {}, conditions or {}
    for sequence in range(1, through + 1):
        hour = 10 * sequence
        if sequence > 1:
            shipment.complete_link(ctx(hour), sequence=sequence - 1)
        shipment.start_link(ctx(hour), sequence=sequence)
        if shipment.links[sequence - 1].takes_custody:
            shipment.hand_over(
                ctx(hour + 1),
                to_sequence=sequence,
                condition=conditions.get(sequence, Condition.GOOD),
                signed_by=f"receiver of link {sequence}",
                observed=observed.get(sequence),
            )


def deliver(shipment: Shipment, observed: CargoObservation | None = None) -> None:
    shipment.deliver(
        ctx(70),
        condition=Condition.GOOD,
        signed_by="consignee",
        proof_of_delivery="POD-1",
        observed=observed,
    )


# --- link functions --------------------------------------------------------------------


def test_loading_handling_and_information_links_move_no_goods_and_run_under_company_terms() -> None:
    shipment = book(chain_with_information())
    assert [(link.function, link.mode, link.regime, link.takes_custody) for link in shipment.links][
        1:5
    ] == [
        (LinkFunction.LOADING_UNLOADING, None, LiabilityRegime.COMPANY_TERMS, True),
        (LinkFunction.LOGISTICS_INFORMATION, None, LiabilityRegime.COMPANY_TERMS, False),
        (LinkFunction.MAIN_CARRIAGE, TransportMode.AIR, LiabilityRegime.MONTREAL, True),
        (LinkFunction.HANDLING, None, LiabilityRegime.COMPANY_TERMS, True),
    ]
    for function in (
        LinkFunction.LOADING_UNLOADING,
        LinkFunction.HANDLING,
        LinkFunction.LOGISTICS_INFORMATION,
    ):
        links = chain_with_information()
        links[1] = plan(function, SUZHOU, (6, 12), TransportMode.ROAD)
        with refused("link.mode_not_applicable", InvalidValue):
            book(links)


def test_custody_passes_over_a_link_of_logistics_information() -> None:
    shipment = book(chain_with_information())
    carry(shipment, LOADING)
    shipment.complete_link(ctx(30), sequence=LOADING)
    shipment.start_link(ctx(30), sequence=MANIFEST)
    with refused("custody.link_holds_no_goods", unchanged=shipment):
        shipment.hand_over(ctx(31), to_sequence=MANIFEST, condition=Condition.GOOD, signed_by="x")
    assert shipment.custody_giver(AIR) is not None
    assert shipment.custody_giver(AIR).sequence == LOADING  # type: ignore[union-attr]
    shipment.start_link(ctx(40), sequence=AIR)
    shipment.hand_over(ctx(41), to_sequence=AIR, condition=Condition.DAMAGED, signed_by="AA")
    # Loading held the goods until the airline took them; the manifest link never did.
    loading, manifest, air = shipment.links[LOADING - 1 : AIR]
    assert (loading.custody_from, loading.custody_until) == (
        ctx(21).occurred_at,
        ctx(41).occurred_at,
    )
    assert (manifest.received, manifest.released) == (None, None)
    assert shipment.current_custodian == air
    # The airline's receipt noted damage: loading handed it over so, not the manifest link.
    (exception,) = shipment.handover_exceptions()
    assert (exception.from_sequence, exception.to_sequence) == (LOADING, AIR)
    assert exception.responsible.link_sequence == LOADING
    # A documentation error of the manifest is its own; damage found while the airline
    # held the goods, reported at the manifest link, is the airline's.
    paperwork = report(shipment, 42, MANIFEST, IncidentKind.DOCUMENTATION_ERROR, None)
    found = report(shipment, 43, MANIFEST, IncidentKind.DAMAGE)
    assert shipment.propose_responsibility(paperwork).link_sequence == MANIFEST
    assert shipment.propose_responsibility(paperwork).basis is ResponsibilityBasis.LINK_OF_INCIDENT
    assert shipment.propose_responsibility(found).link_sequence == AIR
    assert shipment.propose_responsibility(found).basis is ResponsibilityBasis.HELD_CUSTODY
    # The manifest link answers for its own work only, never on a basis of the goods.
    for basis in (
        ResponsibilityBasis.HELD_CUSTODY,
        ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
    ):
        with refused("responsibility.link_holds_no_goods", unchanged=shipment):
            shipment.assign_responsibility(
                ctx(44), incident_id=found, link_sequence=MANIFEST, basis=basis, explanation="x"
            )
    shipment.assign_responsibility(
        ctx(44),
        incident_id=paperwork,
        link_sequence=MANIFEST,
        basis=ResponsibilityBasis.LINK_OF_INCIDENT,
        explanation="the e-AWB named the wrong consignee",
    )
    assert shipment.incidents[paperwork].responsible is not None


def test_the_first_and_last_links_hold_the_goods() -> None:
    for index in (0, 5):
        links = chain_with_information()
        links[index] = plan(
            LinkFunction.LOGISTICS_INFORMATION, SUZHOU, (index * 10, index * 10 + 6)
        )
        with pytest.raises(InvalidValue) as caught:
            book(links)
        assert (caught.value.rule, caught.value.field) == (
            "chain.ends_hold_goods",
            f"links[{index}]",
        )


# --- cargo conditions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("un_number", "hazard_class", "expected"),
    [
        ("3481", "9", ("3481", "9")),
        (" un3481 ", "9", ("3481", "9")),
        ("1203", "3", ("1203", "3")),
        ("0336", "1.4", ("0336", "1.4")),
        ("1075", "2.1", ("1075", "2.1")),
    ],
)
def test_dangerous_goods_are_named_by_a_four_digit_un_number_and_a_class(
    un_number: str, hazard_class: str, expected: tuple[str, str]
) -> None:
    goods = DangerousGoods.of(un_number, hazard_class)
    assert (goods.un_number, goods.hazard_class) == expected


@pytest.mark.parametrize(
    ("un_number", "hazard_class", "field"),
    [
        ("348", "9", "un_number"),
        ("34810", "9", "un_number"),
        ("UN 3481", "9", "un_number"),
        ("0000", "9", "un_number"),
        ("3481", "10", "hazard_class"),
        ("3481", "2", "hazard_class"),  # gases come with a division
        ("3481", "2.4", "hazard_class"),
        ("3481", "1.7", "hazard_class"),
        ("3481", "9.1", "hazard_class"),
    ],
)
def test_a_bad_un_number_or_class_is_refused_naming_its_field(
    un_number: str, hazard_class: str, field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        book(
            cargo=replace(
                LAPTOPS,
                conditions=CargoConditions(None, None, DangerousGoods(un_number, hazard_class)),
            )
        )
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("low", "high", "field"),
    [
        (Decimal(9), Decimal(8), "temperature_max_c"),
        (Decimal("-120"), None, "temperature_min_c"),
        (None, Decimal("101"), "temperature_max_c"),
        (Decimal("2.25"), None, "temperature_min_c"),
    ],
)
def test_a_bad_temperature_range_is_refused_naming_its_field(
    low: Decimal | None, high: Decimal | None, field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        book(cargo=replace(LAPTOPS, conditions=CargoConditions(low, high)))
    assert caught.value.field == field


def test_the_booking_keeps_the_conditions_validated() -> None:
    shipment = book(
        cargo=replace(
            LAPTOPS,
            conditions=CargoConditions(
                Decimal("-18"), None, DangerousGoods("un1845", "9"), True, True
            ),
        )
    )
    assert shipment.cargo.conditions == CargoConditions(
        Decimal("-18.0"), None, DangerousGoods("1845", "9"), True, True
    )
    assert book().cargo.conditions is None


def test_an_observation_records_something_and_in_range() -> None:
    with pytest.raises(InvalidValue) as caught:
        CargoObservation.of()
    assert caught.value.field == "observed"
    with pytest.raises(InvalidValue) as caught:
        CargoObservation.of(min_temperature_c=Decimal(6), max_temperature_c=Decimal(5))
    assert caught.value.field == "max_temperature_c"
    shipment = book(cargo=VACCINES)
    shipment.start_link(ctx(10), sequence=1)
    with refused("temperature_c.range", InvalidValue, unchanged=shipment):
        shipment.hand_over(
            ctx(11),
            to_sequence=1,
            condition=Condition.GOOD,
            signed_by="x",
            observed=CargoObservation(temperature_c=Decimal(400)),
        )


def test_what_breaches_the_conditions() -> None:
    cold = CargoObservation.of(
        temperature_c=Decimal("8.0"),
        min_temperature_c=Decimal("1.5"),
        max_temperature_c=Decimal("9.2"),
    )
    assert breaches(COLD, cold) == [
        (
            BreachKind.TEMPERATURE,
            "1.5 °C lowest logged, 9.2 °C highest logged; the cargo is kept 2.0 to 8.0 °C",
        )
    ]
    # The bounds themselves are within the range; a reading not taken breaches nothing.
    assert breaches(COLD, CargoObservation(Decimal("2.0"), Decimal("2.0"), Decimal("8.0"))) == []
    assert breaches(COLD, CargoObservation(packaging_intact=False, seals_intact=False)) == []
    frozen = CargoConditions.of(temperature_max_c=Decimal(-18))
    assert breaches(frozen, CargoObservation(temperature_c=Decimal("-15.5"))) == [
        (BreachKind.TEMPERATURE, "-15.5 °C at the handover; the cargo is kept at most -18.0 °C")
    ]
    precious = CargoConditions.of(fragile=True, high_value=True)
    assert breaches(precious, CargoObservation(packaging_intact=False, seals_intact=False)) == [
        (BreachKind.PACKAGING, "the packaging of fragile goods was not intact"),
        (BreachKind.SEALS, "the seals of high-value goods were not intact"),
    ]
    batteries = CargoConditions.of(dangerous_goods=DangerousGoods.of("3481", "9"))
    assert breaches(batteries, CargoObservation(packaging_intact=False, seals_intact=False)) == [
        (BreachKind.PACKAGING, "the packaging of dangerous goods was not intact"),
    ]
    assert breaches(None, cold) == []
    assert breaches(COLD, None) == []


def test_a_breach_at_a_handover_is_the_link_that_held_the_goods() -> None:
    """The airline logged 11.4 °C at most while it flew the vaccines; the warehouse's
    receipt records it. Loading's receipt was fine; the shipper handed over at 9 °C."""
    shipment = book(chain_with_information(), cargo=VACCINES)
    carry(
        shipment,
        DELIVERY,
        observed={
            PICKUP: CargoObservation.of(temperature_c=Decimal(9)),
            LOADING: CargoObservation.of(temperature_c=Decimal(5)),
            AIR: CargoObservation.of(min_temperature_c=Decimal(3), max_temperature_c=Decimal(6)),
            HANDLING: CargoObservation.of(
                temperature_c=Decimal("7.9"),
                min_temperature_c=Decimal("4.1"),
                max_temperature_c=Decimal("11.4"),
            ),
        },
    )
    deliver(shipment, CargoObservation.of(temperature_c=Decimal("1.9")))
    found = shipment.condition_breaches()
    assert [
        (b.from_sequence, b.to_sequence, b.kind, b.responsible.link_sequence, b.responsible.basis)
        for b in found
    ] == [
        (None, PICKUP, BreachKind.TEMPERATURE, PICKUP, ResponsibilityBasis.HELD_CUSTODY),
        (
            AIR,
            HANDLING,
            BreachKind.TEMPERATURE,
            AIR,
            ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        ),
        (
            DELIVERY,
            None,
            BreachKind.TEMPERATURE,
            DELIVERY,
            ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        ),
    ]
    assert [b.responsible.party for b in found] == [
        SUZHOU,
        Party.partner(AIRLINE),
        Party.partner(AGENT),
    ]
    assert found[1].detail == "11.4 °C highest logged; the cargo is kept 2.0 to 8.0 °C"
    assert found[0].responsible.explanation == (
        "link 1 received the goods from the shipper at 2025-03-03T11:00:00+00:00 with a"
        " temperature breach: 9.0 °C at the handover; the cargo is kept 2.0 to 8.0 °C"
    )
    assert found[1].responsible.explanation == (
        "link 4 handed the goods over to link 5 at 2025-03-05T03:00:00+00:00 with a"
        " temperature breach: 11.4 °C highest logged; the cargo is kept 2.0 to 8.0 °C"
    )
    assert all(b.covered_by is None for b in found)
    # Reported at the warehouse: the excursion travels with the goods, the airline's breach
    # and the delivery's are covered; the shipper's, before it, is not.
    excursion = report(shipment, 72, HANDLING, IncidentKind.DAMAGE, 120)
    assert [b.covered_by for b in shipment.condition_breaches()] == [None, excursion, excursion]


def test_a_delay_reported_does_not_cover_a_breach() -> None:
    shipment = book(chain_with_information(), cargo=VACCINES)
    carry(
        shipment,
        AIR,
        observed={AIR: CargoObservation.of(max_temperature_c=Decimal("8.1"))},
    )
    report(shipment, 42, AIR, IncidentKind.DELAY, None)
    (breach,) = shipment.condition_breaches()
    assert (breach.responsible.link_sequence, breach.covered_by) == (LOADING, None)


def test_fragile_high_value_goods_breached_at_delivery() -> None:
    conditions = CargoConditions.of(fragile=True, high_value=True)
    shipment = book(cargo=replace(LAPTOPS, conditions=conditions))
    carry(shipment, 6)
    deliver(shipment, CargoObservation.of(packaging_intact=True, seals_intact=False))
    (breach,) = shipment.condition_breaches()
    assert (breach.kind, breach.to_sequence, breach.responsible.link_sequence) == (
        BreachKind.SEALS,
        None,
        6,
    )


def test_stored_v1_bookings_and_v2_handovers_load_through_the_upcasters() -> None:
    """v1 bookings had no conditions; v2 handovers and deliveries observed nothing."""
    shipment = book(chain_with_information(), cargo=VACCINES)
    carry(shipment, DELIVERY, observed={AIR: CargoObservation.of(temperature_c=Decimal(5))})
    deliver(shipment, CargoObservation.of(temperature_c=Decimal(4)))
    m = mapper()
    stored = []
    for record in (m.to_stored_event(event) for event in shipment.collect_events()):
        state = json.loads(record.state)
        if record.topic == "Shipment.Booked":
            assert state["class_version"] == 2
            del state["class_version"]
            del state["cargo"]["conditions"]
        elif record.topic in ("Shipment.CustodyHandedOver", "Shipment.Delivered"):
            assert state["class_version"] == 3
            state["class_version"] = 2
            del state["observed"]
        record = replace(record, state=json.dumps(state).encode())
        stored.append(record)
    replayed = rebuild([m.to_domain_event(record) for record in stored])
    assert replayed.cargo == replace(VACCINES, conditions=None)
    assert all(link.received is None or link.received.observed is None for link in replayed.links)
    assert replayed.proof_of_delivery is not None
    assert replayed.proof_of_delivery.observed is None
    assert replayed.condition_breaches() == []


def test_a_handover_into_a_link_that_is_not_next_is_still_refused() -> None:
    shipment = book(chain_with_information())
    carry(shipment, LOADING)
    shipment.complete_link(ctx(30), sequence=LOADING)
    shipment.start_link(ctx(30), sequence=MANIFEST)
    shipment.complete_link(ctx(31), sequence=MANIFEST)
    shipment.start_link(ctx(40), sequence=AIR)
    shipment.start_link(ctx(40), sequence=HANDLING)
    with pytest.raises(CommandRefused) as caught:
        shipment.hand_over(ctx(41), to_sequence=HANDLING, condition=Condition.GOOD, signed_by="x")
    assert caught.value.rule == "custody.not_next_link"
