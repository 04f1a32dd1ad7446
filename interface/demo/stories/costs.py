"""What each link costs us (the seed's UPS example: cost beside time and quality at every
point of the chain): planned with the booking — the main carriage about three fifths of
the budget, the other links sharing the rest — and invoiced by the party that ran the link
a few days after it completed, within a few percent of the plan.

The figures are drawn from a generator of each shipment's own, seeded by its id, so the
costs never change what the year's other generators draw."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID

from domain.costs import Money
from domain.liability import CENT
from domain.shipment import Charges, LinkFunction
from interface.demo.catalogue import BRANCHES
from interface.demo.plan import Plan, Voyage
from interface.demo.routes import Route


def _costs_rng(sid: UUID) -> random.Random:
    return random.Random(f"link costs {sid}")


def planned_costs(sid: UUID, route: Route, charges: Charges) -> dict[int, Money]:
    """Each link's planned cost, by sequence, in the route's currency: 70–85% of what the
    customer is charged, three fifths of it for the main carriage."""
    rng = _costs_rng(sid)
    budget = charges.amount * rng.randint(70, 85) / 100
    legs = route.legs
    others = max(1, sum(1 for leg in legs if leg.function is not LinkFunction.MAIN_CARRIAGE))
    costs: dict[int, Money] = {}
    for sequence, leg in enumerate(legs, 1):
        share = (
            Decimal("0.6")
            if leg.function is LinkFunction.MAIN_CARRIAGE
            else Decimal("0.4") / others
        )
        costs[sequence] = Money((budget * share).quantize(CENT), charges.currency)
    return costs


def invoice_links(plan: Plan, voyage: Voyage) -> None:
    """Each link invoiced by its party 2–12 days after it completed (the last link with
    the delivery), between 2% below and 6% above its plan."""
    assert voyage.delivered_at is not None
    rng = _costs_rng(voyage.sid)
    rng.random()  # the draw of the budget, so the invoices vary apart from it
    completed = [*voyage.received[1:], voyage.delivered_at]
    for sequence, (leg, done) in enumerate(zip(voyage.route.legs, completed, strict=True), 1):
        cost = voyage.link_costs[sequence]
        amount = (cost.amount * (100 + rng.randint(-2, 6)) / 100).quantize(CENT)
        code = BRANCHES[leg.party].code if leg.party in BRANCHES else leg.party.upper()
        plan.ship(
            voyage,
            done + timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 6)),
            voyage.ops.office_reps[0],
            partial(
                plan.app.shipments.record_link_invoice,
                sid=voyage.sid,
                sequence=sequence,
                amount=amount,
                currency=cost.currency,
                invoice_reference=f"{code}-{voyage.reference}-{sequence}",
            ),
            "link_invoiced",
        )
