"""Gamma-Gamma: what a customer's purchases are worth (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.base import require
from domain.value.bgnbd import check_positive
from domain.value.optimise import maximise, standard_errors
from domain.value.purchases import CustomerSummary


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: purchase value ~ Gamma(shape p, rate ν), ν ~ Gamma(shape q,
    rate γ). All > 0; the population mean spend exists only for q > 1."""

    p: float
    q: float
    gamma: float

    def __post_init__(self) -> None:
        check_positive(p=self.p, q=self.q, gamma=self.gamma)


@dataclass(frozen=True)
class GammaGammaFit:
    """A maximum-likelihood fit; fields as ``BgNbdFit``'s. ``customers`` counts those with
    at least one repeat purchase, the only ones the model learns from."""

    params: GammaGammaParams
    log_likelihood: float
    standard_errors: GammaGammaParams | None
    customers: int
    evaluations: int
    converged: bool


def gamma_gamma_population_mean(params: GammaGammaParams) -> float:
    """E[M] = pγ/(q-1): the mean spend per purchase across the population (q > 1).
    CDNOW: 6.25 · 15.44 / 2.74 = 35.22."""
    require(params.q > 1, "value.gamma_gamma_q", "the mean spend needs q > 1", field="q")
    return params.p * params.gamma / (params.q - 1)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: int, mean_value: float
) -> float:
    """ln f(m̄ | p, q, γ, x) of a customer whose x ≥ 1 purchases average m̄ > 0 (Fader &
    Hardie 2013, note 025, eq. 3):

        f = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px-1) x^(px) / (γ + m̄x)^(px+q).
    """
    require(frequency >= 1, "value.frequency", "the spend model needs x >= 1", field="frequency")
    require(mean_value > 0, "value.mean_value", "the spend model needs m̄ > 0", field="mean_value")
    return _gamma_gamma_ll(params, frequency, mean_value)


def _gamma_gamma_ll(params: GammaGammaParams, x: int, m: float) -> float:
    p, q, gamma = params.p, params.q, params.gamma
    px = p * x
    return (
        math.lgamma(px + q)
        - math.lgamma(px)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (px - 1) * math.log(m)
        + px * math.log(x)
        - (px + q) * math.log(gamma + m * x)
    )


def gamma_gamma_expected_mean_value(
    params: GammaGammaParams, frequency: int, mean_value: float
) -> float:
    """E[M | x, m̄]: a customer's expected spend per future purchase (Fader, Hardie & Lee
    2005, JMR, eq. 3; note 025, eq. 5):

        E[M | x, m̄] = (pγ + p x m̄) / (p x + q - 1)
                    = (q-1)/(px+q-1) · pγ/(q-1) + px/(px+q-1) · m̄,

    a weighted mean of the population mean and the customer's own, trusting the customer's
    more the more it has bought. With x = 0 it is the population mean pγ/(q-1).
    """
    require(frequency >= 0, "value.frequency", "frequency must be >= 0", field="frequency")
    require(mean_value >= 0, "value.mean_value", "mean_value must be >= 0", field="mean_value")
    gamma_gamma_population_mean(params)  # checks q > 1
    p, q, gamma, x = params.p, params.q, params.gamma, frequency
    return (p * gamma + p * x * mean_value) / (p * x + q - 1)


def fit_gamma_gamma(
    customers: Iterable[CustomerSummary], *, initial: GammaGammaParams | None = None
) -> GammaGammaFit:
    """Maximum-likelihood (p, q, γ) over the customers with x ≥ 1 repeat purchases (the
    others carry no spend observation and are skipped); their m̄ must be > 0.

    Maximises Σ ln f (``gamma_gamma_log_likelihood``) by Nelder-Mead over (ln p, ln q, ln γ),
    by default from p = 1, q = 2, γ = the mean of m̄ (so that pγ/(q-1) starts at it). The
    start matters: the likelihood also rises slowly along a ridge towards p → ∞, γ → 0
    (every customer spending the same each time), where an optimiser started far from the
    data's scale can wander off.
    """
    rows = [(c.frequency, c.mean_value) for c in customers if c.frequency > 0]
    require(bool(rows), "value.no_customers", "fitting needs a customer with x >= 1")
    require(
        all(m > 0 for _, m in rows),
        "value.mean_value",
        "every customer with x >= 1 needs mean_value > 0",
        field="mean_value",
    )
    if initial is None:
        initial = GammaGammaParams(1.0, 2.0, sum(m for _, m in rows) / len(rows))

    def total(theta: Sequence[float]) -> float:
        params = GammaGammaParams(*(math.exp(v) for v in theta))
        return sum(_gamma_gamma_ll(params, x, m) for x, m in rows)

    start = [math.log(v) for v in (initial.p, initial.q, initial.gamma)]
    theta, best, evaluations, converged = maximise(total, start, scale=len(rows))
    errors = standard_errors(total, theta)
    return GammaGammaFit(
        params=GammaGammaParams(*(math.exp(v) for v in theta)),
        log_likelihood=best,
        standard_errors=GammaGammaParams(*errors) if errors else None,
        customers=len(rows),
        evaluations=evaluations,
        converged=converged,
    )
