"""Shipments run to delivery: booked on the customer's route, carried link by link (one in
eight late on a link), delivered, mostly evaluated; two cancelled."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID

from domain.cargo_conditions import CargoObservation
from domain.shipment import CUSTODY_FREE_FUNCTIONS, Cargo, Condition, LinkFunction, LinkPlan, Party
from interface.demo.catalogue import (
    AIR,
    BRANCHES,
    FIRST_NAMES,
    GIVEN_NAMES,
    LAST_NAMES,
    ORGS,
    SEA,
    SURNAMES,
    Branch,
)
from interface.demo.plan import Plan, PlannedRelationship, Voyage
from interface.demo.routes import FIRST_BOOKING_DAYS_AGO, ROUTES, Delay, Leg, Route
from interface.demo.stories.charges import bill, price, requote
from interface.demo.stories.costs import invoice_links, planned_costs
from interface.demo.wording import DELAY_REASONS, EVALUATION_REMARKS


def routine_shipments(plan: Plan) -> None:
    """Every customer books on its route while it does business with us."""
    rng = plan.rng
    for org in ORGS:
        route = ROUTES.get(org.key)
        if route is None:
            continue
        rel = plan.rels[org.key]
        for hi, lo in rel.shipping:
            day = min(hi, FIRST_BOOKING_DAYS_AGO) - rng.randint(0, route.every // 2)
            while day >= lo:
                routine_shipment(plan, rel, route, day)
                day -= max(3, round(route.every * rng.uniform(0.6, 1.4)))
            if lo <= 2 and rng.random() < 0.5:  # booked in the last days: on its way
                routine_shipment(plan, rel, route, rng.randint(1, 4))


def cancellations(plan: Plan) -> None:
    """Two bookings cancelled the evening they are made."""
    cancelled(
        plan,
        plan.rels["kessler"],
        120,
        "Production at the plant slipped a week; the customer withdrew this booking.",
    )
    cancelled(plan, plan.rels["huaxin"], 60, "客户的美国买家推迟订单，本票取消。")


def routine_shipment(plan: Plan, rel: PlannedRelationship, route: Route, days_ago: int) -> None:
    """Booked, carried — one in eight runs late on a link — delivered, mostly evaluated."""
    rng = plan.rng
    voyage = book(plan, rel, route, days_ago)
    delay = None
    if rng.random() < 0.125:
        sequence = rng.choice([k for k, leg in enumerate(route.legs, 1) if leg.hours >= 8])
        delay = Delay(sequence, rng.choice((12, 24, 36, 48)))
    carry(plan, voyage, delay=delay)
    if voyage.delivered_at is not None and rng.random() < 0.9:
        late = voyage.delivered_at > voyage.plans[-1].planned_end
        evaluate(plan, voyage, rng.choice((2, 3) if late else (4, 5, 5)), rng.randint(1, 6))


def book(
    plan: Plan,
    rel: PlannedRelationship,
    route: Route,
    days_ago: int,
    *,
    shipment_id: UUID | None = None,
    cargo: Cargo | None = None,
) -> Voyage:
    rng = plan.rng
    when = plan.at(rel.branch.zone, days_ago)
    if cargo is None:
        goods = route.goods
        packages = rng.randint(*goods.packages)
        weight = packages * rng.randint(*goods.kg_per_package)
        cargo = Cargo(
            description=f"{goods.en}, {packages} {goods.unit_en}"
            if rel.english
            else f"{goods.zh}，{packages}{goods.unit_zh}",
            packages=packages,
            gross_weight_kg=Decimal(weight),
            declared_value=Decimal(round(weight * rng.randint(*goods.value_per_kg), -2)),
            currency=route.currency,
            conditions=goods.conditions,
        )
    charges = price(plan, route, cargo)
    start = when + timedelta(hours=rng.randint(16, 40))
    plans = []
    for leg in route.legs:
        end = start + timedelta(hours=leg.hours)
        plans.append(LinkPlan(leg.function, party(plan, leg.party), start, end, leg.mode))
        start = end
    voyage = Voyage(
        sid=shipment_id or plan.uuid(),
        rel=rel,
        route=route,
        reference=f"{rel.branch.code}-{when.astimezone(rel.branch.zone):%y%m%d}-"
        f"{rng.randint(100, 999)}",
        ops=BRANCHES[route.ops] if route.ops else rel.branch,
        plans=plans,
        charges=charges,
        booked_at=when,
        conditions=cargo.conditions,
    )
    voyage.link_costs = planned_costs(voyage.sid, route, charges)
    plan.voyages.append(voyage)
    plan.ship(
        voyage,
        when,
        rel.office_rep(days_ago),
        partial(
            plan.app.shipments.book_shipment,
            customer_id=rel.rid,
            reference=voyage.reference,
            origin=route.origin,
            destination=route.destination,
            cargo=cargo,
            links=plans,
            charges=charges,
            shipment_id=voyage.sid,
            link_costs=voyage.link_costs,
        ),
        "booked",
    )
    return voyage


def party(plan: Plan, key: str) -> Party:
    if key in BRANCHES:
        return Party.our_branch(BRANCHES[key].name)
    return Party.partner(plan.rels[key].rid)


def person(plan: Plan, english: bool) -> str:
    if english:
        return f"{plan.rng.choice(FIRST_NAMES)} {plan.rng.choice(LAST_NAMES)}"
    return plan.rng.choice(SURNAMES)[0] + plan.rng.choice(GIVEN_NAMES)[0]


def signatory(plan: Plan, key: str) -> str:
    """Who signs for the goods at a party: its name and a person's."""
    if key in BRANCHES:
        branch = BRANCHES[key]
        return f"{branch.name} · {person(plan, branch.english)}"
    org = plan.rels[key].org
    return f"{org.name} · {person(plan, org.english)}"


def recording_office(plan: Plan, voyage: Voyage, sequence: int) -> Branch:
    """The office that records what happens on a link: the branch that performs it; for
    a partner, our Chicago office on the American side, else the office of the origin."""
    key = voyage.route.legs[sequence - 1].party
    if key in BRANCHES:
        return BRANCHES[key]
    return BRANCHES["CHI"] if plan.rels[key].branch.code == "CHI" else voyage.ops


def carry(
    plan: Plan,
    voyage: Voyage,
    *,
    conditions: Mapping[int, Condition] | None = None,
    packages_affected: Mapping[int, int] | None = None,
    remarks: Mapping[int, str] | None = None,
    delay: Delay | None = None,
    delivered: tuple[Condition, str | None] = (Condition.GOOD, None),
    delivered_packages_affected: int | None = None,
    observations: Mapping[int | None, CargoObservation] | None = None,
) -> None:
    """Run the chain. Link k starts, receives the goods from link k-1 (the shipper, for
    the pickup) in its condition (damaged or short: noting the packages affected), which
    then completes; the last link delivers. A link of logistics information only starts,
    and completes when the next link receives the goods: custody passes over it. A delay on
    a link is reported while it runs, and every later link runs that much later. Goods with
    conditions are observed at every handover as kept (``kept``), unless ``observations``
    says otherwise (by the receiving link; None: the delivery)."""
    rng, app, sid = plan.rng, plan.app, voyage.sid
    conditions, remarks = conditions or {}, remarks or {}
    affected, observations = packages_affected or {}, observations or {}
    drift = -timedelta(minutes=rng.randint(0, 180))
    started: datetime | None = None
    unfinished: list[int] = []
    for sequence, (planned, leg) in enumerate(zip(voyage.plans, voyage.route.legs, strict=True), 1):
        received = planned.planned_start + drift + timedelta(minutes=rng.randint(0, 90))
        if voyage.received:
            received = max(received, voyage.received[-1] + timedelta(hours=1))
        start = received - timedelta(minutes=rng.randint(20, 90))
        started = start if started is None else max(start, started)
        desk = recording_office(plan, voyage, sequence)
        plan.ship(
            voyage,
            started,
            desk.office_reps[0],
            partial(app.shipments.start_link, sid=sid, sequence=sequence),
            "link_started",
        )
        if leg.function in CUSTODY_FREE_FUNCTIONS:
            voyage.received.append(started)
            unfinished.append(sequence)
            continue
        condition = conditions.get(sequence, Condition.GOOD)
        plan.ship(
            voyage,
            received,
            desk.office_reps[0],
            partial(
                app.shipments.hand_over,
                sid=sid,
                to_sequence=sequence,
                condition=condition,
                signed_by=signatory(plan, leg.party),
                reference=transport_document(plan, leg),
                remarks=remarks.get(sequence),
                packages_affected=affected.get(sequence),
                observed=observations.get(sequence) or kept(voyage, sequence, condition),
            ),
            "handover",
        )
        for done in unfinished:
            plan.ship(
                voyage,
                received,
                recording_office(plan, voyage, done).office_reps[0],
                partial(app.shipments.complete_link, sid=sid, sequence=done),
                "link_completed",
            )
        unfinished = [sequence]
        voyage.received.append(received)
        if leg.function is LinkFunction.MAIN_CARRIAGE and plan.sales.random() < 0.12:
            requote(plan, voyage, received + timedelta(hours=plan.sales.randint(1, 3)))
        if delay is not None and delay.sequence == sequence:
            drift += timedelta(hours=delay.hours)
            zh, en = rng.choice(DELAY_REASONS[leg.mode])
            plan.ship(
                voyage,
                received + timedelta(hours=rng.randint(2, 5)),
                desk.office_reps[0],
                partial(
                    app.shipments.report_delay,
                    sid=sid,
                    sequence=sequence,
                    estimated_end=planned.planned_end + drift,
                    reason=delay.reason or (en if desk.english else zh),
                ),
                "delay",
            )
    at = voyage.plans[-1].planned_end + drift - timedelta(minutes=rng.randint(0, 120))
    at = max(at, voyage.received[-1] + timedelta(hours=1))
    condition, note = delivered
    last = recording_office(plan, voyage, len(voyage.plans))
    plan.ship(
        voyage,
        at,
        last.office_reps[0],
        partial(
            app.shipments.deliver,
            sid=sid,
            condition=condition,
            signed_by=f"{voyage.route.destination.split(',')[0]} consignee · {person(plan, True)}",
            proof_of_delivery=f"POD-{voyage.reference}",
            remarks=note,
            packages_affected=delivered_packages_affected,
            observed=observations.get(None) or kept(voyage, None, condition),
        ),
        "delivered",
    )
    voyage.delivered_at = at
    bill(plan, voyage)
    invoice_links(plan, voyage)


def kept(voyage: Voyage, sequence: int | None, condition: Condition) -> CargoObservation | None:
    """What a handover into link ``sequence`` (None: the delivery) observes of goods kept as
    their conditions ask: temperatures inside the range, half a degree from its bounds (the
    lowest and highest logged while the link handing over held them, and the reading at
    the handover; from the shipper, the reading only), packaging and seals intact when the
    goods came in good condition (else not looked at). Drawn by a generator of the
    handover's own, so that the rest of the demo draws the same whatever is observed."""
    wanted = voyage.conditions
    if wanted is None or not wanted.any:
        return None
    draw = random.Random(f"{voyage.sid}/{sequence}")
    low = high = reading = None
    if wanted.temperature_controlled:
        top = wanted.temperature_max_c
        bottom = wanted.temperature_min_c
        hi = int((top if top is not None else (bottom or Decimal(0)) + 20) * 10) - 5
        lo = int((bottom if bottom is not None else (top or Decimal(0)) - 20) * 10) + 5
        lo, hi = min(lo, hi), max(lo, hi)
        tenths = sorted(draw.randint(lo, hi) for _ in range(3))
        low, reading, high = (Decimal(t).scaleb(-1) for t in tenths)
        if sequence == 1:
            low = high = None
    intact = True if condition is Condition.GOOD else None
    return CargoObservation(
        temperature_c=reading,
        min_temperature_c=low,
        max_temperature_c=high,
        packaging_intact=intact if wanted.fragile or wanted.dangerous_goods else None,
        seals_intact=intact if wanted.high_value else None,
    )


def transport_document(plan: Plan, leg: Leg) -> str | None:
    if leg.function is not LinkFunction.MAIN_CARRIAGE:
        return None
    number = plan.rng.randint(10_000_000, 99_999_999)
    if leg.mode is AIR:
        return f"AWB 999-{number}"
    return f"B/L MRDL{number}" if leg.mode is SEA else f"CIM {number}"


def evaluate(
    plan: Plan,
    voyage: Voyage,
    rating: int,
    days_after: int,
    remarks: tuple[str, str] | None = None,
) -> None:
    assert voyage.delivered_at is not None
    when = voyage.delivered_at + timedelta(days=days_after, hours=plan.rng.randint(0, 6))
    zh, en = remarks or EVALUATION_REMARKS[rating]
    plan.ship(
        voyage,
        when,
        voyage.rel.office_rep((plan.now - when).days),
        partial(
            plan.app.shipments.evaluate_shipment,
            sid=voyage.sid,
            rating=rating,
            remarks=en if voyage.rel.english else zh,
        ),
        "evaluated",
    )


def cancelled(plan: Plan, rel: PlannedRelationship, days_ago: int, reason: str) -> None:
    """Booked, and cancelled that evening (at least half an hour after the booking,
    which may come as late as 17:45)."""
    route = ROUTES[rel.org.key]
    voyage = book(plan, rel, route, days_ago)
    assert voyage.booked_at is not None
    evening = plan.at(rel.branch.zone, days_ago, 17 * 60 + 30)
    plan.ship(
        voyage,
        max(evening, voyage.booked_at + timedelta(minutes=30)),
        rel.office_rep(days_ago),
        partial(plan.app.shipments.cancel_shipment, sid=voyage.sid, reason=reason),
        "cancelled",
    )
