"""Second lanes: some customers start shipping a second lane with us during the year — the
business that opportunity mining (``domain/mining.py``) tries to foresee.

Each customer with a route of its own takes up a second lane with a chance of
``TAKE_UP``, on a day drawn across the time it does business with us, and ships on it
every so often (as often as that route is shipped) until it stops doing business, at most
``MAX_SHIPMENTS`` times. Which lane is drawn as business tends to come, not from what the
suggestions look at: half the time a lane another customer of its industry ships, a
quarter of the time a lane from the same origin office or to the same destination as its
own, and a quarter of the time any lane we run for ordinary goods. The lane is one of the
routes our customers ship on (``routes.ROUTES``), with the goods that route carries.

Drawn from a generator of this story's own (the shipments' steps draw from it too), so
that the other stories draw exactly what they drew before.
"""

from __future__ import annotations

import random
from dataclasses import replace

from interface.demo.catalogue import ORGS
from interface.demo.plan import Plan, PlannedRelationship
from interface.demo.routes import FIRST_BOOKING_DAYS_AGO, ROUTES, Route
from interface.demo.stories.shipments import routine_shipment

#: The seed of this story's own generator.
SEED = "second-lanes"

#: The chance that a customer takes up a second lane during the year.
TAKE_UP = 0.6

#: The most shipments a customer books on its second lane.
MAX_SHIPMENTS = 3


def tell_all(plan: Plan) -> None:
    rng = random.Random(SEED)
    kept = plan.rng, plan.sales
    plan.rng = plan.sales = rng
    try:
        for org in ORGS:
            rel = plan.rels[org.key]
            own = ROUTES.get(org.key)
            if own is None or not rel.shipping or rng.random() >= TAKE_UP:
                continue
            second = draw_lane(rng, rel, own)
            if second is not None:
                ship_second_lane(plan, rng, rel, second)
    finally:
        plan.rng, plan.sales = kept


def _lane(route: Route) -> tuple[str, str]:
    return route.origin, route.destination


def draw_lane(rng: random.Random, rel: PlannedRelationship, own: Route) -> Route | None:
    """A lane of another customer's, drawn as the module says; run by the office that runs
    it for that customer."""
    owners = {o.key: o for o in ORGS}
    others = [
        (key, route)
        for key, route in ROUTES.items()
        if key != rel.org.key and _lane(route) != _lane(own)
    ]
    peers = [(k, r) for k, r in others if owners[k].industry == rel.org.industry]
    near = [
        (k, r)
        for k, r in others
        if (r.ops or owners[k].branch) == (own.ops or rel.org.branch)
        or r.destination == own.destination
    ]
    ordinary = [(k, r) for k, r in others if r.goods.conditions is None]
    draw = rng.random()
    pool = peers if draw < 0.5 and peers else near if draw < 0.75 and near else ordinary
    if not pool:
        return None
    key, route = rng.choice(pool)
    return replace(route, ops=route.ops or owners[key].branch)


def ship_second_lane(
    plan: Plan, rng: random.Random, rel: PlannedRelationship, route: Route
) -> None:
    hi, lo = rel.shipping[rng.randrange(len(rel.shipping))]
    hi = min(hi, FIRST_BOOKING_DAYS_AGO)
    if hi - lo < 10:
        return
    day = rng.randint(lo + 5, hi)
    for _ in range(MAX_SHIPMENTS):
        if day < max(lo, 5):
            break
        routine_shipment(plan, rel, route, day)
        day -= max(3, round(route.every * rng.uniform(0.6, 1.4)))
