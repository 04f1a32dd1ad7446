"""Model value over all customers' purchase histories (projections/customer_value/queries.py)
and the period arithmetic of the decision views: no database."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.value import (
    BgNbdParams,
    CustomerSummary,
    GammaGammaParams,
    Purchase,
    RfmSegment,
    fit_bgnbd,
    model_value,
    summarise_purchases,
)
from projections.customer_value.queries import (
    CDNOW_BGNBD,
    CDNOW_GAMMA_GAMMA,
    MIN_CUSTOMERS_TO_FIT,
    ModelSource,
    PurchaseRow,
    build_models,
)
from projections.decisions.periods import PeriodKind, period_bounds, quarter_period

AS_OF = date(2025, 6, 30)
START = AS_OF - timedelta(days=28)
A = UUID("00000000-0000-4000-8000-00000000c00a")
B = UUID("00000000-0000-4000-8000-00000000c00b")


def row(customer: UUID, day: date, amount: str, currency: str = "USD") -> PurchaseRow:
    return PurchaseRow(customer, currency, day, Decimal(amount))


def test_too_few_customers_take_the_cdnow_shape_scaled_to_our_rate_and_spend() -> None:
    # A bought on days 0, 7 and 14 of four weeks (x = 2, t_x = 2, T = 4 weeks; the repeat
    # purchases average 250); B once, on day 14 (x = 0, T = 2 weeks).
    purchases = [
        row(A, START, "100"),
        row(A, START + timedelta(days=7), "200"),
        row(A, START + timedelta(days=14), "300"),
        row(B, START + timedelta(days=14), "400"),
    ]
    models = build_models(purchases, as_of=AS_OF, inputs_position=17)
    usd = models.currencies["USD"]
    assert (usd.purchases_source, usd.spend_source) == (
        ModelSource.CDNOW_SCALED,
        ModelSource.CDNOW_SCALED,
    )
    # Pooled repeat rate Σx / ΣT = 2 / (4 + 2) = 1/3 a week, so α = r / (1/3) = 0.729.
    assert usd.bgnbd.alpha == pytest.approx(0.243 * 3)
    assert (usd.bgnbd.r, usd.bgnbd.a, usd.bgnbd.b) == (
        CDNOW_BGNBD.r,
        CDNOW_BGNBD.a,
        CDNOW_BGNBD.b,
    )
    # Mean purchase value 1000 / 4 = 250, so γ = 250 · (3.74 - 1) / 6.25 = 109.6.
    assert usd.gamma_gamma.gamma == pytest.approx(109.6)
    assert (usd.gamma_gamma.p, usd.gamma_gamma.q) == (CDNOW_GAMMA_GAMMA.p, CDNOW_GAMMA_GAMMA.q)

    a = models.customers[(A, "USD")]
    assert a.summary == CustomerSummary(frequency=2, recency=2.0, age=4.0, mean_value=250.0)
    assert (a.realised, a.purchases) == (Decimal("600"), 3)
    expected = model_value(
        BgNbdParams(0.243, 0.729, 0.793, 2.426),
        GammaGammaParams(6.25, 3.74, 109.6),
        a.summary,
        52,
    )
    assert a.model_value == Decimal(repr(expected)).quantize(Decimal("0.01"))
    assert models.model_value(A) == {"USD": a.model_value}
    assert models.inputs_position == 17
    # B has not bought again: alive for sure under BG/NBD.
    assert models.customers[(B, "USD")].probability_alive == 1.0


def test_without_any_repeat_purchase_there_is_no_model_value() -> None:
    models = build_models(
        [row(A, START, "100"), row(B, START, "200")], as_of=AS_OF, inputs_position=1
    )
    assert models.currencies == {}
    assert models.customers[(A, "USD")].model_value is None
    assert models.model_value(A) == {}


def test_each_currency_is_a_history_of_its_own() -> None:
    purchases = [
        row(A, START, "100", "USD"),
        row(A, START + timedelta(days=7), "100", "USD"),
        row(A, START + timedelta(days=14), "700", "CNY"),
    ]
    models = build_models(purchases, as_of=AS_OF, inputs_position=1)
    assert models.customers[(A, "USD")].summary.frequency == 1
    assert models.customers[(A, "CNY")].summary.frequency == 0
    assert set(models.currencies) == {"USD"}  # CNY has no repeat purchase yet
    assert models.customers[(A, "CNY")].realised == Decimal("700")


def synthetic(customers: int, seed: int = 7) -> list[PurchaseRow]:
    """Histories as BG/NBD tells them: each customer buys at its own Poisson rate (per
    week, Gamma across customers) and, after each repeat purchase, drops out with its own
    probability (Beta across customers)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(customers):
        customer = uuid4()
        rate = rng.gammavariate(2.0, 1 / 8.0)
        dropout = rng.betavariate(1.0, 3.0)
        day = AS_OF - timedelta(weeks=rng.uniform(20, 52))
        while day <= AS_OF:
            rows.append(row(customer, day, str(rng.randint(500, 5000))))
            day += timedelta(weeks=rng.expovariate(rate))
            if rng.random() < dropout:
                break
    return rows


def test_enough_customers_are_fitted_by_maximum_likelihood() -> None:
    purchases = synthetic(MIN_CUSTOMERS_TO_FIT + 10)
    models = build_models(purchases, as_of=AS_OF, inputs_position=3)
    usd = models.currencies["USD"]
    assert usd.purchases_source is ModelSource.FITTED
    assert usd.customers == MIN_CUSTOMERS_TO_FIT + 10
    histories: dict[UUID, list[Purchase]] = {}
    for p in purchases:
        histories.setdefault(p.customer_id, []).append(Purchase(p.delivered_on, p.amount))
    summaries = [summarise_purchases(h, observed_until=AS_OF) for h in histories.values()]
    direct = fit_bgnbd([s for s in summaries if s is not None])
    assert usd.bgnbd.r == pytest.approx(direct.params.r, rel=1e-3)
    assert usd.bgnbd.alpha == pytest.approx(direct.params.alpha, rel=1e-3)
    # The next fit starts from this one and lands on the same optimum.
    again = build_models(purchases, as_of=AS_OF, inputs_position=4, previous=models)
    assert again.currencies["USD"].bgnbd.r == pytest.approx(usd.bgnbd.r, rel=1e-3)
    assert all(v.model_value is not None for v in models.customers.values())


def test_rfm_segments_are_scored_within_a_currency() -> None:
    # Five customers, each distinct on every measure, so each scores its rank 1..5.
    ids = [uuid4() for _ in range(5)]
    purchases = []
    for rank, customer in enumerate(ids, 1):
        last = AS_OF - timedelta(days=10 * (6 - rank))  # rank 5: most recent
        for k in range(rank):  # rank 5: most purchases
            purchases.append(row(customer, last - timedelta(days=30 * k), str(100 * rank)))
    models = build_models(purchases, as_of=AS_OF, inputs_position=1)
    best = models.customers[(ids[4], "USD")].rfm
    worst = models.customers[(ids[0], "USD")].rfm
    assert (best.code, best.segment) == ("555", RfmSegment.CHAMPIONS)
    assert (worst.code, worst.segment) == ("111", RfmSegment.LOST)


def test_periods_are_numbered_and_bounded() -> None:
    assert quarter_period(date(2025, 3, 31)) + 1 == quarter_period(date(2025, 4, 1))
    assert quarter_period(date(2024, 12, 31)) + 1 == quarter_period(date(2025, 1, 1))
    assert period_bounds(PeriodKind.QUARTER, quarter_period(date(2025, 5, 9))) == (
        date(2025, 4, 1),
        date(2025, 6, 30),
        "2025-Q2",
    )
    assert period_bounds(PeriodKind.MONTH, 2025 * 12 + 1) == (
        date(2025, 2, 1),
        date(2025, 2, 28),
        "2025-02",
    )
    assert period_bounds(PeriodKind.MONTH, 2024 * 12 + 11)[1:] == (date(2024, 12, 31), "2024-12")
