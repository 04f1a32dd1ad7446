"""Customer value computed when asked: it depends on the day of asking.

What counts
-----------
- **Business** is a delivered shipment, dated by its delivery (a calendar day in UTC).
  Dormancy, retention and loyalty look at business only, charged or not.
- A **purchase** is a delivered shipment's revenue in one currency (``writer``: its
  invoices if any, else its quoted charges). Realised value, RFM and model value are per
  currency: money is never converted, and each currency is a purchase history of its own,
  scored and modelled on its own. A delivered shipment with no known charges is business
  but no purchase.

Realised value 既成价值 is the sum of the purchases; potential value 潜在价值 the weighted
open pipeline (expected value × probability of the open opportunities), per currency.

Model value 模型价值
------------------
The revenue a customer is expected to bring in the next ``MODEL_HORIZON_WEEKS`` weeks,
undiscounted: BG/NBD expected purchases × Gamma-Gamma expected spend per purchase
(``domain.value.model_value``), both fitted per currency over *all* customers' purchase
histories in weeks, whatever view asks. A fit needs enough customers to say anything:

- BG/NBD is fitted over ``MIN_CUSTOMERS_TO_FIT`` customers or more; below that it takes
  the published CDNOW shape (r = 0.243, a = 0.793, b = 2.426; Fader, Hardie & Lee 2005)
  with α scaled so that the mean purchase rate r/α is our own pooled repeat-purchase rate
  Σx / ΣT. With no repeat purchase at all there is no rate to scale to, and no model value.
- Gamma-Gamma is fitted over ``MIN_REPEAT_CUSTOMERS_TO_FIT`` customers with repeat
  purchases or more (and kept only if q > 1, when the mean spend exists); otherwise it takes
  CDNOW's p = 6.25 and q = 3.74 with γ scaled so that the population mean spend pγ/(q-1)
  is our own mean purchase value.

The fits and every customer's figures are cached (``ValueModelCache``) per position of the
purchase histories (the log position of the last event that changed any) and per day.
When the histories have moved on, a cached result younger than ``max_stale_seconds`` is
still answered while a refit runs in the background (from the last fit's parameters), so a
read never waits for a refit that a fit in progress or a recent one can stand in for;
every answer says which position and day it is for.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from domain.base import InvalidValue
from domain.liability import CENT
from domain.value import (
    BgNbdParams,
    CustomerSummary,
    GammaGammaParams,
    Purchase,
    RfmScore,
    bgnbd_probability_alive,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_mean_value,
    model_value,
    rfm_scores,
    rfm_values,
    summarise_purchases,
)
from projections.freshness import ReadConnection

log = logging.getLogger(__name__)

#: Model value looks this many weeks ahead.
MODEL_HORIZON_WEEKS = 52.0
#: Fewer customers with a purchase in a currency than this: BG/NBD takes CDNOW's shape.
MIN_CUSTOMERS_TO_FIT = 30
#: Fewer customers with a repeat purchase than this: Gamma-Gamma takes CDNOW's shape.
MIN_REPEAT_CUSTOMERS_TO_FIT = 20
#: Fader, Hardie & Lee (2005): the CDNOW fits, in weeks and US dollars.
CDNOW_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
CDNOW_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
#: How long a cached result may stand in for one at a newer position, by default.
DEFAULT_MAX_STALE_SECONDS = 600.0


class ModelSource(StrEnum):
    #: Fitted by maximum likelihood over our customers.
    FITTED = "fitted"
    #: The published CDNOW parameters, scaled to our own data (too few customers to fit).
    CDNOW_SCALED = "cdnow_scaled"


@dataclass(frozen=True)
class CurrencyModel:
    """The value models of one currency and what they were fitted from."""

    currency: str
    customers: int
    repeat_customers: int
    purchases_source: ModelSource
    bgnbd: BgNbdParams
    spend_source: ModelSource
    gamma_gamma: GammaGammaParams
    #: Whether every fit that was used converged (True for the scaled CDNOW parameters).
    converged: bool


@dataclass(frozen=True)
class CustomerValue:
    """One customer's figures in one currency, as of a day."""

    customer_id: UUID
    currency: str
    realised: Decimal
    #: Delivered shipments with revenue in this currency.
    purchases: int
    first_purchase: date
    last_purchase: date
    summary: CustomerSummary
    rfm: RfmScore
    #: None when the currency has no model (no repeat purchase anywhere yet).
    model_value: Decimal | None
    expected_purchases: float | None
    probability_alive: float | None


@dataclass(frozen=True)
class ValueModels:
    as_of: date
    #: Log position of the last change to any purchase history that these figures include.
    inputs_position: int
    horizon_weeks: float
    computed_at: datetime
    currencies: Mapping[str, CurrencyModel]
    customers: Mapping[tuple[UUID, str], CustomerValue]
    _by_customer: dict[UUID, list[CustomerValue]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for value in self.customers.values():
            self._by_customer.setdefault(value.customer_id, []).append(value)

    def of_customer(self, customer_id: UUID) -> list[CustomerValue]:
        return self._by_customer.get(customer_id, [])

    def model_value(self, customer_id: UUID) -> dict[str, Decimal]:
        """Model value per currency, for the currencies the customer bought in."""
        return {
            v.currency: v.model_value
            for v in self.of_customer(customer_id)
            if v.model_value is not None
        }


@dataclass(frozen=True)
class PurchaseRow:
    customer_id: UUID
    currency: str
    delivered_on: date
    amount: Decimal


def _money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP)


def _purchases_model(
    summaries: list[CustomerSummary], previous: CurrencyModel | None
) -> tuple[ModelSource, BgNbdParams, bool] | None:
    repeats = sum(s.frequency for s in summaries)
    if repeats == 0:
        return None
    if len(summaries) >= MIN_CUSTOMERS_TO_FIT:
        warm = (
            previous.bgnbd if previous and previous.purchases_source is ModelSource.FITTED else None
        )
        try:
            fit = fit_bgnbd(summaries, initial=warm)
        except InvalidValue:
            log.warning("BG/NBD fit failed; using the scaled CDNOW parameters", exc_info=True)
        else:
            return ModelSource.FITTED, fit.params, fit.converged
    exposure = sum(s.age for s in summaries)
    if exposure <= 0:
        return None
    rate = repeats / exposure  # repeat purchases per customer-week
    c = CDNOW_BGNBD
    return ModelSource.CDNOW_SCALED, BgNbdParams(c.r, c.r / rate, c.a, c.b), True


def _spend_model(
    summaries: list[CustomerSummary], mean_purchase: float, previous: CurrencyModel | None
) -> tuple[ModelSource, GammaGammaParams, bool] | None:
    repeaters = [s for s in summaries if s.frequency > 0]
    if len(repeaters) >= MIN_REPEAT_CUSTOMERS_TO_FIT:
        warm = (
            previous.gamma_gamma
            if previous and previous.spend_source is ModelSource.FITTED
            else None
        )
        try:
            fit = fit_gamma_gamma(repeaters, initial=warm)
        except InvalidValue:
            log.warning("Gamma-Gamma fit failed; using the scaled CDNOW parameters", exc_info=True)
        else:
            if fit.params.q > 1 and all(
                math.isfinite(v) for v in (fit.params.p, fit.params.q, fit.params.gamma)
            ):
                return ModelSource.FITTED, fit.params, fit.converged
    if mean_purchase <= 0:
        return None
    c = CDNOW_GAMMA_GAMMA
    return (
        ModelSource.CDNOW_SCALED,
        GammaGammaParams(c.p, c.q, mean_purchase * (c.q - 1) / c.p),
        True,
    )


def build_models(
    purchases: Iterable[PurchaseRow],
    *,
    as_of: date,
    inputs_position: int,
    horizon_weeks: float = MODEL_HORIZON_WEEKS,
    previous: ValueModels | None = None,
) -> ValueModels:
    """Fit the models of every currency and compute every customer's figures as of a day.
    Purchases after ``as_of`` are left out."""
    histories: dict[str, dict[UUID, list[Purchase]]] = defaultdict(lambda: defaultdict(list))
    for p in purchases:
        if p.delivered_on <= as_of:
            histories[p.currency][p.customer_id].append(Purchase(p.delivered_on, p.amount))
    currencies: dict[str, CurrencyModel] = {}
    customers: dict[tuple[UUID, str], CustomerValue] = {}
    for currency, by_customer in sorted(histories.items()):
        summaries: dict[UUID, CustomerSummary] = {}
        for customer_id, history in by_customer.items():
            summary = summarise_purchases(history, observed_until=as_of)
            assert summary is not None  # every history has a purchase on or before as_of
            summaries[customer_id] = summary
        rfm_inputs = {
            customer_id: rfm_values(history, as_of=as_of)
            for customer_id, history in by_customer.items()
        }
        scores = rfm_scores({k: v for k, v in rfm_inputs.items() if v is not None})
        days = sum(s.frequency + 1 for s in summaries.values())
        total = sum(sum(p.value for p in h) for h in by_customer.values())
        old = previous.currencies.get(currency) if previous else None
        purchases_model = _purchases_model(list(summaries.values()), old)
        spend_model = _spend_model(list(summaries.values()), float(total) / days, old)
        model: CurrencyModel | None = None
        if purchases_model is not None and spend_model is not None:
            model = CurrencyModel(
                currency=currency,
                customers=len(summaries),
                repeat_customers=sum(1 for s in summaries.values() if s.frequency > 0),
                purchases_source=purchases_model[0],
                bgnbd=purchases_model[1],
                spend_source=spend_model[0],
                gamma_gamma=spend_model[1],
                converged=purchases_model[2] and spend_model[2],
            )
            currencies[currency] = model
        for customer_id, history in by_customer.items():
            s = summaries[customer_id]
            value: Decimal | None = None
            expected: float | None = None
            alive: float | None = None
            revenue = (
                model_value(model.bgnbd, model.gamma_gamma, s, horizon_weeks) if model else None
            )
            if model is not None and revenue is not None and math.isfinite(revenue):
                value = _money(revenue)
                # Undiscounted, model value is E[Y(h)] · E[M]: the purchases follow from it
                # without summing the series a second time.
                expected = revenue / gamma_gamma_expected_mean_value(
                    model.gamma_gamma, s.frequency, s.mean_value
                )
                alive = bgnbd_probability_alive(model.bgnbd, s.frequency, s.recency, s.age)
            customers[(customer_id, currency)] = CustomerValue(
                customer_id=customer_id,
                currency=currency,
                realised=sum((p.value for p in history), Decimal(0)),
                purchases=len(history),
                first_purchase=min(p.at for p in history),
                last_purchase=max(p.at for p in history),
                summary=s,
                rfm=scores[customer_id],
                model_value=value,
                expected_purchases=expected,
                probability_alive=alive,
            )
    return ValueModels(
        as_of=as_of,
        inputs_position=inputs_position,
        horizon_weeks=horizon_weeks,
        computed_at=datetime.now(UTC),
        currencies=currencies,
        customers=customers,
    )


def inputs_position(conn: ReadConnection) -> int:
    row = conn.execute("SELECT purchases_position FROM value_inputs").fetchone()
    return int(row["purchases_position"]) if row else 0


def load_purchases(conn: ReadConnection) -> list[PurchaseRow]:
    """Every purchase, one per customer, currency and delivery day (UTC)."""
    rows = conn.execute(
        """
        SELECT customer_id, currency, (delivered_at AT TIME ZONE 'UTC')::date AS delivered_on,
               amount
        FROM value_revenue
        """
    ).fetchall()
    return [
        PurchaseRow(r["customer_id"], r["currency"], r["delivered_on"], Decimal(r["amount"]))
        for r in rows
    ]


class ValueModelCache:
    """The value models of the current purchase histories and day, refitted when either
    changed (see the module doc on staleness). Without a pool nothing runs in the
    background: every refit is done when asked."""

    def __init__(
        self,
        pool: ConnectionPool[Any] | None = None,
        *,
        max_stale_seconds: float = DEFAULT_MAX_STALE_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``clock`` tells the time of asking; the models are fitted as of its day (UTC)."""
        self.pool = pool
        self.max_stale_seconds = max_stale_seconds
        self.clock = clock
        self._current: ValueModels | None = None
        #: Held while fitting: one fit at a time.
        self._lock = threading.Lock()
        #: Held only to start a background refit: never while fitting, so a reader that
        #: asks for a refit while one runs goes on with the models at hand at once.
        self._starting = threading.Lock()
        self._refreshing = False

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    @staticmethod
    def _fits(models: ValueModels | None, position: int, as_of: date) -> bool:
        return models is not None and (models.inputs_position, models.as_of) == (position, as_of)

    def current(self, conn: ReadConnection) -> ValueModels:
        """The models of the histories and the day as they are now; a result of today
        younger than ``max_stale_seconds`` stands in while a refit runs in the background."""
        as_of = self.today()
        position = inputs_position(conn)
        cached = self._current
        if cached is not None and self._fits(cached, position, as_of):
            return cached
        if (
            cached is not None
            and self.pool is not None
            and cached.as_of == as_of
            and time.time() - cached.computed_at.timestamp() < self.max_stale_seconds
        ):
            self._refresh_in_background()
            return cached
        with self._lock:
            cached = self._current
            if cached is not None and self._fits(cached, position, as_of):
                return cached
            return self._build(conn, as_of)

    def latest(self, conn: ReadConnection, *, position: int | None = None) -> ValueModels | None:
        """The models at hand, never waiting for a fit (for reads that must stay fast):
        when they are not current, a refit starts in the background; None until the first
        fit is done. ``position``: the purchase histories' position where the caller
        has read it already (it is read here otherwise)."""
        if self.pool is None:
            return self.current(conn)
        cached = self._current
        if position is None:
            position = inputs_position(conn)
        if not self._fits(cached, position, self.today()):
            self._refresh_in_background()
        return cached

    def _build(self, conn: ReadConnection, as_of: date) -> ValueModels:
        """Fit from the histories as they are now (the position is read with them)."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            position = inputs_position(conn)
            purchases = load_purchases(conn)
        started = time.perf_counter()
        models = build_models(
            purchases, as_of=as_of, inputs_position=position, previous=self._current
        )
        log.info(
            "value models at position %d as of %s fitted in %.2f s",
            position,
            as_of,
            time.perf_counter() - started,
        )
        self._current = models
        return models

    def _refresh_in_background(self) -> None:
        with self._starting:
            if self._refreshing:
                return
            self._refreshing = True
        pool = self.pool
        assert pool is not None

        def refresh() -> None:
            try:
                # The connection first, then the lock: a reader holding a connection
                # and waiting for the lock (``current``) never waits on a refit that is
                # itself waiting for a connection.
                with pool.connection() as conn, self._lock:
                    as_of = self.today()
                    if not self._fits(self._current, inputs_position(conn), as_of):
                        self._build(conn, as_of)
            except Exception:
                log.exception("refitting the value models failed")
            finally:
                with self._starting:
                    self._refreshing = False

        threading.Thread(target=refresh, name="value-models", daemon=True).start()


def read_inputs_position(rows: list[DictRow]) -> int | None:
    """The purchase histories' position an account read carried with its rows (None for no
    rows, and 0 before the first purchase)."""
    return int(rows[0]["value_inputs_position"] or 0) if rows else None


def with_model_value(rows: list[DictRow], models: ValueModels | None) -> list[dict[str, Any]]:
    """Account-status rows with each relationship's model value per currency, and the day
    of the models (none before the first fit)."""
    as_of = models.as_of if models else None
    valued = []
    for row in rows:
        copy = dict(row)  # a copy at C speed, then one key less: not a filtered rebuild
        copy.pop("value_inputs_position", None)
        copy["model_value"] = models.model_value(row["relationship_id"]) if models else {}
        copy["model_value_as_of"] = as_of
        valued.append(copy)
    return valued
