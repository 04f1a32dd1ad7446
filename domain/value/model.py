"""Model value 模型价值: expected purchases × expected spend over a horizon."""

from __future__ import annotations

import math

from domain.base import require
from domain.value.bgnbd import BgNbdParams, bgnbd_conditional_expected_purchases
from domain.value.gamma_gamma import GammaGammaParams, gamma_gamma_expected_mean_value
from domain.value.purchases import CustomerSummary


def model_value(
    purchases: BgNbdParams,
    spend: GammaGammaParams,
    customer: CustomerSummary,
    horizon: float,
    *,
    discount_rate: float = 0.0,
    steps: int | None = None,
) -> float:
    """Model value 模型价值: the revenue a customer is expected to bring in the next
    ``horizon`` periods.

    Undiscounted: E[Y(h) | x, t_x, T] · E[M | x, m̄] (BG/NBD purchases times Gamma-Gamma
    spend per purchase; the models are independent by assumption). With a
    ``discount_rate`` d per period the horizon is cut into ``steps`` equal steps (default:
    one per whole period, ⌈h⌉) and each step's expected purchases are discounted from its
    end, as in Fader, Hardie & Lee (2005, JMR) and the "lifetimes" package:

        Σ_{k=1..n} E[M] · (E[Y(t_k)] - E[Y(t_(k-1))]) / (1+d)^(t_k),   t_k = k·h/n,

    which telescopes to the undiscounted value at d = 0. Revenue, not profit: multiply by a
    margin for the latter.
    """
    require(math.isfinite(horizon) and horizon >= 0, "value.horizon", "horizon must be >= 0")
    require(discount_rate >= 0, "value.discount_rate", "discount_rate must be >= 0")
    per_purchase = gamma_gamma_expected_mean_value(spend, customer.frequency, customer.mean_value)

    def expected(t: float) -> float:
        return bgnbd_conditional_expected_purchases(
            purchases, t, customer.frequency, customer.recency, customer.age
        )

    if discount_rate == 0:
        return expected(horizon) * per_purchase
    n = steps if steps is not None else max(1, math.ceil(horizon))
    require(n >= 1, "value.steps", "steps must be >= 1", field="steps")
    value = 0.0
    previous = 0.0
    for k in range(1, n + 1):
        t_k = horizon * k / n
        current = expected(t_k)
        value += (current - previous) / (1 + discount_rate) ** t_k
        previous = current
    return value * per_purchase
