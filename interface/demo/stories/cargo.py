"""Special cargo (货物特殊性/储存条件) on chains with the seed's other functions of logistics
(装卸 loading/unloading, 搬运 handling, 物流信息 logistics information): a cold chain kept
at 2–8 °C, lithium batteries as dangerous goods, fragile high-value medical devices under
seal — and one deliberately broken story: a cold chain breached in the air, the excursion
recorded at the import agent's receipt and never reported as an incident, which the audit
finds (``cargo_condition_breached``, the airline's).

Told after every other story, so that what they draw stays the same.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.cargo_conditions import CargoObservation
from interface.demo.plan import Plan, PlannedRelationship
from interface.demo.routes import (
    COLD_CHAIN_ROUTE,
    DANGEROUS_GOODS_ROUTE,
    FRAGILE_ROUTE,
    Route,
)
from interface.demo.stories.shipments import book, carry, evaluate

#: The cold chain kept, the dangerous goods, the fragile high-value goods.
COLD_CHAIN_ID = uuid5(NAMESPACE_URL, "https://fullchain.example/demo/shipments/cold-chain")
DANGEROUS_GOODS_ID = uuid5(
    NAMESPACE_URL, "https://fullchain.example/demo/shipments/dangerous-goods"
)
FRAGILE_HIGH_VALUE_ID = uuid5(
    NAMESPACE_URL, "https://fullchain.example/demo/shipments/fragile-high-value"
)
#: The broken story: the cold chain breached in the air and never reported.
BROKEN_COLD_CHAIN_ID = uuid5(
    NAMESPACE_URL, "https://fullchain.example/demo/shipments/broken-cold-chain"
)
#: The link of the broken story that received the goods too warm: import customs at
#: O'Hare, from the airline (link 5), over the Shanghai office's e-AWB link (3).
BROKEN_AT_LINK = 6
#: What the import agent's logger read-out showed of the flight: 12.6 °C at most.
BROKEN_OBSERVATION = CargoObservation(
    temperature_c=Decimal("7.4"),
    min_temperature_c=Decimal("3.8"),
    max_temperature_c=Decimal("12.6"),
)


def tell_all(plan: Plan) -> None:
    """The four special shipments, booked on the customers' business days weeks before
    the time of loading, so that they are delivered and evaluated by then."""
    antai = plan.rels["antai"]
    shipped(plan, antai, COLD_CHAIN_ROUTE, 33, COLD_CHAIN_ID)
    shipped(plan, plan.rels["jiguang"], DANGEROUS_GOODS_ROUTE, 26, DANGEROUS_GOODS_ID)
    shipped(plan, plan.rels["borui"], FRAGILE_ROUTE, 19, FRAGILE_HIGH_VALUE_ID)
    # Delivered in good order, the consignee's QA never saw the loggers of the flight.
    shipped(
        plan,
        antai,
        COLD_CHAIN_ROUTE,
        40,
        BROKEN_COLD_CHAIN_ID,
        observations={BROKEN_AT_LINK: BROKEN_OBSERVATION},
        rating=4,
    )


def shipped(
    plan: Plan,
    rel: PlannedRelationship,
    route: Route,
    days_ago: int,
    shipment_id: UUID,
    *,
    observations: dict[int | None, CargoObservation] | None = None,
    rating: int = 5,
) -> None:
    assert any(lo <= days_ago <= hi for hi, lo in rel.shipping), (rel.org.key, days_ago)
    voyage = book(plan, rel, route, days_ago, shipment_id=shipment_id)
    carry(plan, voyage, observations=observations)
    evaluate(plan, voyage, rating, 2)
