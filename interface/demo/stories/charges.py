"""Charges and invoices: each shipment quoted with its booking, requoted now and then while
the goods travel, and invoiced."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from domain.liability import CENT
from domain.shipment import Cargo, Charges, LinkFunction
from interface.demo.catalogue import AIR, RAIL
from interface.demo.plan import Plan, Voyage
from interface.demo.routes import Route


def price(plan: Plan, route: Route, cargo: Cargo) -> Charges:
    """What the customer pays: air freight by the kilogram (4–8 a kg), sea and rail by
    the 40' container (consolidated cargo by the cubic metre, inland delivery on top),
    plus origin fees and, where we clear at destination, destination fees."""
    rng, legs = plan.sales, route.legs
    main = next(leg for leg in legs if leg.function is LinkFunction.MAIN_CARRIAGE)
    kg = cargo.gross_weight_kg
    if main.mode is AIR:
        freight = kg * rng.randint(400, 800) / 100
    elif any(leg.function is LinkFunction.WAREHOUSING for leg in legs[: legs.index(main)]):
        freight = max(Decimal(1), kg / 250) * rng.randint(60, 95)  # by the cubic metre
    else:
        low, high = (
            (6000, 8000) if main.mode is RAIL
            else (600, 1100) if main.hours <= 240  # within Asia
            else (1800, 3200) if main.hours <= 500  # across the Pacific
            else (1500, 2900)  # to Europe
        )  # fmt: skip
        per_box = rng.randint(low, high)
        if legs[-1].function is LinkFunction.DELIVERY:
            per_box += rng.randint(1500, 2500)  # by rail or truck inland
        freight = Decimal(math.ceil(kg / 18_000) * per_box)
    fees = rng.randint(120, 380)
    if any(leg.function is LinkFunction.IMPORT_CUSTOMS for leg in legs):
        fees += rng.randint(250, 600)
    return Charges((freight + fees).quantize(CENT), route.currency)


def requote(plan: Plan, voyage: Voyage, when: datetime) -> None:
    """The quote changes while the goods travel: the airline's scale finds more
    chargeable weight, or the line adds a peak-season surcharge."""
    assert voyage.charges is not None
    amount = voyage.charges.amount * (100 + plan.sales.randint(3, 12)) / 100
    voyage.charges = Charges(amount.quantize(CENT), voyage.charges.currency)
    plan.ship(
        voyage,
        when,
        voyage.ops.office_reps[0],
        partial(
            plan.app.shipments.quote_charges,
            sid=voyage.sid,
            amount=voyage.charges.amount,
            currency=voyage.charges.currency,
        ),
        "charges_requoted",
    )


def bill(plan: Plan, voyage: Voyage) -> None:
    """The invoices: sea and rail freight the day the goods leave, air freight after
    delivery; now and then destination charges (storage, duties advanced) after it."""
    assert voyage.charges is not None
    assert voyage.delivered_at is not None
    rng = plan.sales
    main = next(
        k for k, leg in enumerate(voyage.route.legs) if leg.function is LinkFunction.MAIN_CARRIAGE
    )
    if voyage.route.legs[main].mode is AIR:
        freight_at = voyage.delivered_at + timedelta(
            days=rng.randint(1, 3), hours=rng.randint(0, 6)
        )
    else:
        freight_at = voyage.received[main] + timedelta(days=1, hours=rng.randint(0, 4))
    invoice(plan, voyage, freight_at, voyage.charges.amount)
    if rng.random() < 0.25:
        extra = Decimal(rng.randint(80, 900))
        invoice(plan, voyage, voyage.delivered_at + timedelta(days=rng.randint(4, 12)), extra)


def invoice(plan: Plan, voyage: Voyage, when: datetime, amount: Decimal) -> None:
    assert voyage.charges is not None
    plan.invoice_count += 1
    number = (
        f"{voyage.ops.code}-INV-{when.astimezone(voyage.ops.zone):%y%m}-{plan.invoice_count:05d}"
    )
    plan.ship(
        voyage,
        when,
        voyage.ops.office_reps[0],
        partial(
            plan.app.shipments.invoice_shipment,
            sid=voyage.sid,
            invoice_number=number,
            amount=amount,
            currency=voyage.charges.currency,
        ),
        "invoiced",
    )
