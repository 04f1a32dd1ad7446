"""Customer value over a customer's purchase history: pure computations, no I/O.

For us a *purchase* is a delivered shipment and its value is the shipment's charges. The
spec names three kinds of customer value (客户价值) and asks for loyalty and retention:

- realised value 既成价值: revenue actually booked, the sum of the charges
  (``realised_value``);
- model value 模型价值: predicted future revenue, BG/NBD expected purchases × Gamma-Gamma
  expected spend per purchase over a horizon, optionally discounted (``model_value``);
- potential value 潜在价值 (remaining wallet, open pipeline) is not a function of the
  purchase history and is not here;
- RFM: recency, frequency and monetary quintile scores and named segments (``rfm_scores``);
- retention: the share of the customers active in period k that are active in k+1
  (``retention_rates``);
- dormant and lost: no business for D or L days (``DormancyPolicy``);
- loyalty: tenure, share of periods active, streaks (``loyalty``).

The probability models
----------------------

**BG/NBD** — Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An
Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275-284. While active, a
customer buys as a Poisson process of rate λ; after each *repeat* purchase it drops out for
good with probability p. Across customers λ ~ Gamma(r, α) (shape r, rate α) and
p ~ Beta(a, b). A customer's history enters only through (x, t_x, T): ``frequency`` x, the
number of repeat purchases (purchases after the first); ``recency`` t_x, the time of the
last purchase measured from the first (0 when x = 0); ``age`` T, the time from the first
purchase to the end of observation. Beware: this *recency* grows with recent business; RFM's
recency is the opposite (days since the last purchase), named ``days_since_last`` here.

**Gamma-Gamma** — Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-value Curves for
Customer Base Analysis", *Journal of Marketing Research* 42(4), 415-430, and Fader & Hardie
(2013), "The Gamma-Gamma Model of Monetary Value" (note 025). Each purchase's value is
Gamma(p, ν) (shape p, rate ν), ν ~ Gamma(q, γ) across customers; a customer's mean spend is
independent of its purchase count (check that before using it).

Units: the models are indifferent to the time unit; ``summarise_purchases`` measures in
weeks by default (``period_days=7``) as the papers' CDNOW data does, and α, horizons and
discount rates are then per week. Money is ``Decimal`` where it is booked (realised value,
RFM monetary) and ``float`` where it is estimated (the models).

Numerics: the conditional expectation needs Gauss's hypergeometric function
₂F₁(r+x, b+x; a+b+x-1; z). Its series has terms that swell with x (Fader & Hardie's
"#NUM!" note 027); after Euler's transformation ₂F₁(A, B; C; z) = (1-z)^(C-A-B)
₂F₁(C-A, C-B; C; z) its upper parameters a+b-1-r and a-1 no longer depend on x, and the
series is summed here in pure Python with a proven bound on its tail. Fitting maximises the
log-likelihood by Nelder-Mead over the logarithms of the parameters (so they stay
positive), restarted until it no longer improves; standard errors come from the observed
information (a finite-difference Hessian of the log-likelihood). No numpy or scipy needed.

Checked (tests/domain/test_value.py) against the published CDNOW figures: BG/NBD
r = 0.243, α = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4, and the worked example
of the paper's spreadsheet implementation, E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226
(CDNOW's customer 1); Gamma-Gamma p = 6.25, q = 3.74, γ = 15.44.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from domain.base import InvalidValue, require
from domain.relationship import Lifecycle

K = TypeVar("K")

# --------------------------------------------------------------------------------------
# Purchases and their summaries
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    """One purchase: for us a delivered shipment (``at``: its delivery) and its charges."""

    at: date
    value: Decimal


@dataclass(frozen=True)
class CustomerSummary:
    """What the BG/NBD and Gamma-Gamma models need of one customer's history.

    ``frequency`` x: repeat purchases (purchases after the first); ``recency`` t_x: time of
    the last purchase since the first (0 when x = 0); ``age`` T: time from the first
    purchase to the end of observation; ``mean_value`` m̄: mean value of the x repeat
    purchases (0 when x = 0; the first purchase is left out, as in the papers, because a
    first order often differs from the ones that follow).
    """

    frequency: int
    recency: float
    age: float
    mean_value: float = 0.0

    def __post_init__(self) -> None:
        _check_history(self.frequency, self.recency, self.age)
        require(
            math.isfinite(self.mean_value) and self.mean_value >= 0,
            "value.mean_value",
            "mean_value must be a finite number >= 0",
            field="mean_value",
        )


def _day(moment: date) -> date:
    """The calendar day of a date or datetime (a datetime's day in its own time zone)."""
    return moment.date() if isinstance(moment, datetime) else moment


def summarise_purchases(
    purchases: Iterable[Purchase], *, observed_until: date, period_days: float = 7.0
) -> CustomerSummary | None:
    """Summarise one customer's purchases up to ``observed_until`` (inclusive) for the models.

    Purchases are counted by calendar day: several deliveries on one day are one purchase
    occasion whose value is their sum (the models describe occasions; CDNOW is summarised
    the same way). Purchases after ``observed_until`` are left out, so a history can be split
    into a calibration and a holdout period. Times are in periods of ``period_days`` days
    (weeks by default): t_x = (last day - first day) / period_days,
    T = (observed_until - first day) / period_days. None when there is no purchase yet.
    """
    require(period_days > 0, "value.period_days", "period_days must be > 0", field="period_days")
    end = _day(observed_until)
    by_day: dict[date, Decimal] = {}
    for purchase in purchases:
        day = _day(purchase.at)
        if day <= end:
            by_day[day] = by_day.get(day, Decimal(0)) + purchase.value
    if not by_day:
        return None
    days = sorted(by_day)
    repeat = days[1:]
    repeat_total = sum((by_day[day] for day in repeat), Decimal(0))
    return CustomerSummary(
        frequency=len(repeat),
        recency=(days[-1] - days[0]).days / period_days,
        age=(end - days[0]).days / period_days,
        mean_value=float(repeat_total) / len(repeat) if repeat else 0.0,
    )


def realised_value(
    purchases: Iterable[Purchase], *, since: date | None = None, until: date | None = None
) -> Decimal:
    """Realised value 既成价值: the sum of the charges booked from ``since`` through ``until``
    (both inclusive, by calendar day; open ends count everything)."""
    first = _day(since) if since is not None else None
    last = _day(until) if until is not None else None
    total = Decimal(0)
    for purchase in purchases:
        day = _day(purchase.at)
        if (first is None or day >= first) and (last is None or day <= last):
            total += purchase.value
    return total


def _check_history(frequency: int, recency: float, age: float) -> None:
    require(frequency >= 0, "value.frequency", "frequency must be >= 0", field="frequency")
    require(
        math.isfinite(age) and 0 <= recency <= age,
        "value.recency",
        "recency and age must satisfy 0 <= recency <= age",
        field="recency",
    )
    require(
        frequency > 0 or recency == 0,
        "value.recency",
        "recency must be 0 when there is no repeat purchase",
        field="recency",
    )


# --------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: λ ~ Gamma(shape r, rate α); dropout p ~ Beta(a, b). All > 0."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        _check_positive(r=self.r, alpha=self.alpha, a=self.a, b=self.b)


@dataclass(frozen=True)
class BgNbdFit:
    """A maximum-likelihood fit: the estimates, the log-likelihood at them, their standard
    errors (None when the observed information is not positive definite, e.g. at a
    boundary), how many customers, and whether the optimiser converged."""

    params: BgNbdParams
    log_likelihood: float
    standard_errors: BgNbdParams | None
    customers: int
    evaluations: int
    converged: bool


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        require(
            math.isfinite(value) and value > 0,
            "value.parameter_positive",
            f"{name} must be a finite number > 0",
            field=name,
        )


def _softplus(s: float) -> float:
    """ln(1 + e^s) without overflow."""
    return s + math.log1p(math.exp(-s)) if s > 0 else math.log1p(math.exp(s))


def _bgnbd_log_odds_dead(params: BgNbdParams, frequency: int, recency: float, age: float) -> float:
    """s = ln[a/(b+x-1)] + (r+x) ln[(α+T)/(α+t_x)], with 1/P(alive) = 1 + e^s (x > 0)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = frequency
    return (
        math.log(a)
        - math.log(b + x - 1)
        + (r + x) * (math.log(alpha + age) - math.log(alpha + recency))
    )


def bgnbd_log_likelihood(params: BgNbdParams, frequency: int, recency: float, age: float) -> float:
    """ln L(r, α, a, b | x, t_x, T) of one customer (Fader, Hardie & Lee 2005, eq. 6).

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + δ(x>0) · B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    computed as ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x) - ln B(a, b) - (r+x) ln(α+T)
    + ln(1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)), since
    B(a+1, b+x-1)/B(a, b+x) = a/(b+x-1).
    """
    _check_history(frequency, recency, age)
    return _bgnbd_ll(params, frequency, recency, age, _LogGammaCache(params))


class _LogGammaCache:
    """ln Γ terms of the BG/NBD likelihood that depend only on x, cached per x."""

    def __init__(self, params: BgNbdParams) -> None:
        r, alpha, a, b = params.r, params.alpha, params.a, params.b
        self.base = (
            -math.lgamma(r) + r * math.log(alpha) + math.lgamma(a + b) - math.lgamma(b)
        )  # - ln Γ(r) + r ln α - ln B(a, b) + ln Γ(a)
        self.params = params
        self._by_x: dict[int, float] = {}

    def of(self, x: int) -> float:
        """ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x) - ln B(a, b): the part of ln L that
        does not involve t_x or T."""
        cached = self._by_x.get(x)
        if cached is None:
            r, a, b = self.params.r, self.params.a, self.params.b
            cached = self.base + math.lgamma(r + x) + math.lgamma(b + x) - math.lgamma(a + b + x)
            self._by_x[x] = cached
        return cached


def _bgnbd_ll(
    params: BgNbdParams, x: int, recency: float, age: float, cache: _LogGammaCache
) -> float:
    ll = cache.of(x) - (params.r + x) * math.log(params.alpha + age)
    if x > 0:
        ll += _softplus(_bgnbd_log_odds_dead(params, x, recency, age))
    return ll


def bgnbd_total_log_likelihood(params: BgNbdParams, customers: Iterable[CustomerSummary]) -> float:
    """Σ ln L over customers: the objective that ``fit_bgnbd`` maximises."""
    cache = _LogGammaCache(params)
    return sum(_bgnbd_ll(params, c.frequency, c.recency, c.age, cache) for c in customers)


def bgnbd_probability_alive(
    params: BgNbdParams, frequency: int, recency: float, age: float
) -> float:
    """P(alive | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 11):

    P = 1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)).

    A customer with no repeat purchase is alive for sure: BG/NBD lets customers drop out
    only right after a repeat purchase.
    """
    _check_history(frequency, recency, age)
    if frequency == 0:
        return 1.0
    return math.exp(-_softplus(_bgnbd_log_odds_dead(params, frequency, recency, age)))


#: Relative precision to which the hypergeometric series is summed.
_SERIES_PRECISION = 1e-16
#: Longest horizon t, in multiples of α + T: beyond it z = t/(α+T+t) > 1 - 1e-4 and the
#: series needs more than about a million terms. 10⁴ · α is 850 years for CDNOW's α in weeks.
_MAX_HORIZON = 1e4
_SERIES_MAX_TERMS = 2_000_000


def _bgnbd_expected_if_alive(params: BgNbdParams, t: float, x: int, age: float) -> float:
    """E[Y(t) | x, t_x, T] / P(alive): the expected purchases in (T, T+t] of a customer alive
    at T (Fader, Hardie & Lee 2005, eq. 10 without its denominator):

        C/(a-1) · [1 - (1-z)^(r+x) ₂F₁(r+x, b+x; C; z)],  C = a+b+x-1,  z = t/(α+T+t).

    Euler's transformation turns (1-z)^(r+x) ₂F₁(r+x, b+x; C; z) into
    (1-z)^(a-1) ₂F₁(u, a-1; C; z) with u = a+b-1-r. Writing (a-1)_n = (a-1)(a)_(n-1) and
    (C)_n = C (C+1)_(n-1), ₂F₁(u, a-1; C; z) = 1 + (a-1)/C · H with

        H = Σ_{n≥1} (u)_n (a)_(n-1) z^n / ((C+1)_(n-1) n!),

    so the expectation is C · [1 - (1-z)^(a-1)]/(a-1) - (1-z)^(a-1) H, with no division
    by a-1 or C left (at a = 1 the first term is -C ln(1-z)).
    """
    if t == 0:
        return 0.0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if t > _MAX_HORIZON * (alpha + age):
        raise InvalidValue(
            "value.horizon_too_long",
            f"a horizon of t={t} exceeds {_MAX_HORIZON:g} × (α + T); use a shorter one",
            field="t",
        )
    big_c = a + b + x - 1
    z = t / (alpha + age + t)
    log_1mz = -math.log1p(t / (alpha + age))  # ln(1-z), accurate for z near 0 and near 1
    eps = a - 1
    first = -log_1mz if eps == 0 else -math.expm1(eps * log_1mz) / eps
    u = big_c - (r + x)  # = a + b - 1 - r
    term = u * z
    total = term
    n = 1
    while term != 0:
        # Ratio of term n+1 to term n; every later ratio is at most z times the sup over
        # m ≥ n of (m+u)/(m+C) · (m+a-1)/(m+1), each factor monotone in m, so bounded by
        # max(value at n, 1) once all factors are positive.
        term *= (u + n) * (a + n - 1) * z / ((big_c + n) * (n + 1))
        total += term
        n += 1
        if n + u > 0:
            bound = z * max((n + u) / (n + big_c), 1.0) * max((n + a - 1) / (n + 1), 1.0)
            if bound < 1 and abs(term) * bound / (1 - bound) <= _SERIES_PRECISION * abs(total):
                break
        if n > _SERIES_MAX_TERMS:  # not reached within _MAX_HORIZON; a guard all the same
            raise InvalidValue(
                "value.horizon_too_long",
                f"the expectation over t={t} did not converge; use a shorter horizon",
                field="t",
            )
    return big_c * first - math.exp(eps * log_1mz) * total


def bgnbd_expected_purchases(params: BgNbdParams, t: float) -> float:
    """E[X(t)]: purchases a new customer makes in (0, t] after its first (Fader, Hardie &
    Lee 2005, eq. 9):

        E[X(t)] = (a+b-1)/(a-1) · [1 - (α/(α+t))^r ₂F₁(r, b; a+b-1; t/(α+t))].

    It is the conditional expectation at x = 0, T = 0.
    """
    require(math.isfinite(t) and t >= 0, "value.horizon", "t must be >= 0", field="t")
    return _bgnbd_expected_if_alive(params, t, 0, 0.0)


def bgnbd_conditional_expected_purchases(
    params: BgNbdParams, t: float, frequency: int, recency: float, age: float
) -> float:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t periods, (T, T+t], of a customer
    with history (x, t_x, T) (Fader, Hardie & Lee 2005, eq. 10):

        E[Y(t) | x, t_x, T] =
            (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))]
            / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))

    i.e. P(alive | x, t_x, T) times the expectation for a customer alive at T. CDNOW check:
    at r=0.243, α=4.414, a=0.793, b=2.426, E[Y(39) | 2, 30.43, 38.86] = 1.226. Horizons up to
    t = 10⁴ · (α + T) are summed (in well under a second at the limit); longer ones are
    refused.
    """
    require(math.isfinite(t) and t >= 0, "value.horizon", "t must be >= 0", field="t")
    alive = bgnbd_probability_alive(params, frequency, recency, age)
    return alive * _bgnbd_expected_if_alive(params, t, frequency, age)


def fit_bgnbd(
    customers: Iterable[CustomerSummary], *, initial: BgNbdParams | None = None
) -> BgNbdFit:
    """Maximum-likelihood (r, α, a, b) over many customers' (x, t_x, T).

    Maximises Σ ln L (``bgnbd_total_log_likelihood``) by Nelder-Mead over (ln r, ln α,
    ln a, ln b). Identical histories are counted once and weighted. The default start is
    r = a = b = 1 and α = mean T / (mean x + 1), a rate of the data's order of magnitude.
    """
    weights = Counter((c.frequency, c.recency, c.age) for c in customers)
    require(bool(weights), "value.no_customers", "fitting needs at least one customer")
    rows = list(weights.items())
    count = sum(weights.values())
    if initial is None:
        mean_x = sum(x * w for (x, _, _), w in rows) / count
        mean_age = sum(age * w for (_, _, age), w in rows) / count
        initial = BgNbdParams(1.0, max(mean_age, 1e-6) / (mean_x + 1), 1.0, 1.0)

    def total(theta: Sequence[float]) -> float:
        params = BgNbdParams(*(math.exp(v) for v in theta))
        cache = _LogGammaCache(params)
        return sum(w * _bgnbd_ll(params, x, tx, age, cache) for (x, tx, age), w in rows)

    start = [math.log(v) for v in (initial.r, initial.alpha, initial.a, initial.b)]
    theta, best, evaluations, converged = _maximise(total, start, scale=count)
    errors = _standard_errors(total, theta)
    return BgNbdFit(
        params=BgNbdParams(*(math.exp(v) for v in theta)),
        log_likelihood=best,
        standard_errors=BgNbdParams(*errors) if errors else None,
        customers=count,
        evaluations=evaluations,
        converged=converged,
    )


# --------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: purchase value ~ Gamma(shape p, rate ν), ν ~ Gamma(shape q,
    rate γ). All > 0; the population mean spend exists only for q > 1."""

    p: float
    q: float
    gamma: float

    def __post_init__(self) -> None:
        _check_positive(p=self.p, q=self.q, gamma=self.gamma)


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
    theta, best, evaluations, converged = _maximise(total, start, scale=len(rows))
    errors = _standard_errors(total, theta)
    return GammaGammaFit(
        params=GammaGammaParams(*(math.exp(v) for v in theta)),
        log_likelihood=best,
        standard_errors=GammaGammaParams(*errors) if errors else None,
        customers=len(rows),
        evaluations=evaluations,
        converged=converged,
    )


# --------------------------------------------------------------------------------------
# Model value
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RfmValues:
    """A customer's raw RFM values: days since its last purchase, purchases, charges."""

    days_since_last: int
    frequency: int
    monetary: Decimal


def rfm_values(
    purchases: Iterable[Purchase], *, as_of: date, window_days: int | None = None
) -> RfmValues | None:
    """RFM values as of a day, over the purchases on or before it (and, with
    ``window_days``, after ``as_of - window_days``). Unlike the models, frequency counts
    purchases (shipments), not purchase days. None when there is none."""
    require(
        window_days is None or window_days >= 1,
        "value.window_days",
        "window_days must be >= 1",
        field="window_days",
    )
    end = _day(as_of)
    start_after = end.toordinal() - window_days if window_days is not None else None
    last: date | None = None
    count = 0
    total = Decimal(0)
    for purchase in purchases:
        day = _day(purchase.at)
        if day > end or (start_after is not None and day.toordinal() <= start_after):
            continue
        count += 1
        total += purchase.value
        last = day if last is None or day > last else last
    if last is None:
        return None
    return RfmValues(days_since_last=(end - last).days, frequency=count, monetary=total)


def quintile_scores(
    values: Mapping[K, Decimal | float | int], *, higher_is_better: bool = True, bins: int = 5
) -> dict[K, int]:
    """Score each value 1..``bins`` (quintiles by default; ``bins`` is best) by its rank.

    With n values, L of them strictly worse than v and E equal to v (v included), v sits at
    the mean 0-based position P = L + (E-1)/2 of its ties, and its score is
    1 + ⌊bins · P / n⌋ (exact integer arithmetic). Ties therefore share one score, and the
    scores never depend on the order of the input. Ten distinct values score
    1,1,2,2,3,3,4,4,5,5; if every value is equal, all score the middle bin (3).
    """
    require(bins >= 1, "value.bins", "bins must be >= 1", field="bins")
    n = len(values)
    counts = Counter(values.values())
    ordered = sorted(counts, reverse=not higher_is_better)  # worst first
    score_of: dict[Decimal | float | int, int] = {}
    worse = 0
    for value in ordered:
        equal = counts[value]
        score_of[value] = 1 + (bins * (2 * worse + equal - 1)) // (2 * n)
        worse += equal
    return {key: score_of[value] for key, value in values.items()}


class RfmSegment(StrEnum):
    """Named RFM segments over the recency score R and FM = ⌈(F+M)/2⌉ (the mean of the
    frequency and monetary scores, rounded half up), the first rule that matches:

    ==================  ===========  ========  =============================================
    segment             R            FM        reading
    ==================  ===========  ========  =============================================
    champions           4-5          4-5       recent, frequent, big: reward, ask referrals
    loyal               3            4-5       big and frequent, a little less recent
    cannot_lose         1-2          5         were the best, gone quiet: call now
    at_risk             1-2          3-4       good customers slipping away
    new                 5            1         just started: onboard
    promising           4            1         recent, small so far
    potential_loyalist  4-5          2-3       recent, growing: offer more lanes
    need_attention      3            3         middling everywhere
    about_to_sleep      3            1-2       small and fading
    hibernating         2            1-2       small, long quiet
    lost                1            1-2       small, longest quiet
    ==================  ===========  ========  =============================================

    The grid covers all 25 (R, FM) cells. Scores are relative to the population scored
    together; the lifecycle's dormant and lost (``DormancyPolicy``) are absolute day
    thresholds instead, so an RFM-"lost" customer need not be lifecycle-lost.
    """

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    CANNOT_LOSE = "cannot_lose"
    AT_RISK = "at_risk"
    NEW = "new"
    PROMISING = "promising"
    POTENTIAL_LOYALIST = "potential_loyalist"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    HIBERNATING = "hibernating"
    LOST = "lost"


def rfm_segment(recency: int, frequency: int, monetary: int) -> RfmSegment:
    """The segment of one customer's R, F and M scores (each 1..5); see ``RfmSegment``."""
    for name, score in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        require(1 <= score <= 5, "value.rfm_score", f"{name} score must be 1..5", field=name)
    r = recency
    fm = (frequency + monetary + 1) // 2
    if r >= 4 and fm >= 4:
        return RfmSegment.CHAMPIONS
    if r == 3 and fm >= 4:
        return RfmSegment.LOYAL
    if r <= 2 and fm == 5:
        return RfmSegment.CANNOT_LOSE
    if r <= 2 and fm >= 3:
        return RfmSegment.AT_RISK
    if r == 5 and fm == 1:
        return RfmSegment.NEW
    if r == 4 and fm == 1:
        return RfmSegment.PROMISING
    if r >= 4:
        return RfmSegment.POTENTIAL_LOYALIST
    if r == 3:
        return RfmSegment.NEED_ATTENTION if fm == 3 else RfmSegment.ABOUT_TO_SLEEP
    return RfmSegment.HIBERNATING if r == 2 else RfmSegment.LOST


@dataclass(frozen=True)
class RfmScore:
    """A customer's R, F, M quintile scores (5 best) and its segment."""

    recency: int
    frequency: int
    monetary: int
    segment: RfmSegment

    @property
    def code(self) -> str:
        """The usual three-digit cell, e.g. "545"."""
        return f"{self.recency}{self.frequency}{self.monetary}"


def rfm_scores(values: Mapping[K, RfmValues]) -> dict[K, RfmScore]:
    """Score a population: recency by fewest days since the last purchase, frequency by
    most purchases, monetary by most charges, each with ``quintile_scores``; then
    ``rfm_segment``."""
    r = quintile_scores({k: v.days_since_last for k, v in values.items()}, higher_is_better=False)
    f = quintile_scores({k: v.frequency for k, v in values.items()})
    m = quintile_scores({k: v.monetary for k, v in values.items()})
    return {k: RfmScore(r[k], f[k], m[k], rfm_segment(r[k], f[k], m[k])) for k in values}


# --------------------------------------------------------------------------------------
# Retention, dormancy, loyalty
# --------------------------------------------------------------------------------------


def month_period(moment: date) -> int:
    """The calendar month of a day as a period number (year·12 + month - 1): consecutive
    months are consecutive numbers."""
    day = _day(moment)
    return day.year * 12 + day.month - 1


def fixed_period(moment: date, *, origin: date, days: int) -> int:
    """Period number of a day in periods of ``days`` days from ``origin`` (period 0 holds
    origin .. origin + days - 1; days before origin get negative numbers)."""
    require(days >= 1, "value.period_days", "days must be >= 1", field="days")
    return (_day(moment) - _day(origin)).days // days


def active_periods(moments: Iterable[date], period: Callable[[date], int]) -> frozenset[int]:
    """The periods in which a customer did business (had a purchase)."""
    return frozenset(period(moment) for moment in moments)


@dataclass(frozen=True)
class RetentionRate:
    """Of the ``active`` customers of ``period``, how many were active again in the next."""

    period: int
    active: int
    retained: int

    @property
    def rate(self) -> float | None:
        """retained / active; None for a period with no active customer."""
        return self.retained / self.active if self.active else None

    @property
    def churned(self) -> int:
        return self.active - self.retained


def retention_rates(
    activity: Mapping[K, Collection[int]], *, first: int, last: int
) -> list[RetentionRate]:
    """Retention from each period k in first..last-1 to k+1: with A_k the customers active
    in k, rate_k = |A_k ∩ A_(k+1)| / |A_k|. ``activity`` maps each customer to its active
    periods (``active_periods``). The pooled rate over a span is Σ retained / Σ active."""
    require(first <= last, "value.periods", "first must be <= last", field="first")
    rates = []
    for k in range(first, last):
        active = [periods for periods in activity.values() if k in periods]
        rates.append(
            RetentionRate(
                period=k,
                active=len(active),
                retained=sum(1 for periods in active if k + 1 in periods),
            )
        )
    return rates


@dataclass(frozen=True)
class DormancyPolicy:
    """When a customer with no business counts as dormant and when as lost (spec: "dormant
    (no business for a configurable period)", "lost (churned)").

    With d the whole days from the last business day to ``as_of``: lost when
    d ≥ ``lost_after_days``, else dormant when d ≥ ``dormant_after_days``, else active.
    Business on ``as_of`` itself is d = 0. Requires 0 < dormant_after_days < lost_after_days.
    """

    dormant_after_days: int = 90
    lost_after_days: int = 365

    def __post_init__(self) -> None:
        require(
            0 < self.dormant_after_days < self.lost_after_days,
            "value.dormancy_thresholds",
            "need 0 < dormant_after_days < lost_after_days",
            field="dormant_after_days",
        )

    def status(self, last_business: date | None, as_of: date) -> Lifecycle | None:
        """``Lifecycle.ACTIVE``, ``DORMANT`` or ``LOST`` by the days without business; None
        for a customer that has not done business yet. ``WON_BACK`` is a transition (a lost
        customer buying again) that the relationship records; it is never computed here."""
        if last_business is None:
            return None
        idle = days_without_business(last_business, as_of)
        if idle >= self.lost_after_days:
            return Lifecycle.LOST
        if idle >= self.dormant_after_days:
            return Lifecycle.DORMANT
        return Lifecycle.ACTIVE


def days_without_business(last_business: date, as_of: date) -> int:
    """Whole days from the last business day to ``as_of`` (0 on the day itself)."""
    idle = (_day(as_of) - _day(last_business)).days
    require(idle >= 0, "value.as_of", "as_of lies before the last business", field="as_of")
    return idle


@dataclass(frozen=True)
class Loyalty:
    """Loyalty over periods, from a customer's first active period through ``through``:

    ``tenure`` = through - first + 1 periods; ``periods_active`` among them; ``share_active``
    = periods_active / tenure; ``current_streak`` = consecutive active periods ending at
    ``through`` (0 if not active then); ``longest_streak`` = longest run of consecutive
    active periods.
    """

    first_period: int
    tenure: int
    periods_active: int
    share_active: float
    current_streak: int
    longest_streak: int


def loyalty(periods: Collection[int], *, through: int) -> Loyalty | None:
    """Loyalty from the periods a customer was active (``active_periods``), counting those up
    to and including ``through``. None if it was never active by then."""
    active = sorted(k for k in set(periods) if k <= through)
    if not active:
        return None
    longest = run = 0
    previous: int | None = None
    for k in active:
        run = run + 1 if previous is not None and k == previous + 1 else 1
        longest = max(longest, run)
        previous = k
    current = run if active[-1] == through else 0
    tenure = through - active[0] + 1
    return Loyalty(
        first_period=active[0],
        tenure=tenure,
        periods_active=len(active),
        share_active=len(active) / tenure,
        current_streak=current,
        longest_streak=longest,
    )


# --------------------------------------------------------------------------------------
# Optimisation (pure Python)
# --------------------------------------------------------------------------------------


def _maximise(
    objective: Callable[[Sequence[float]], float],
    start: Sequence[float],
    *,
    scale: float,
    max_evaluations: int = 20_000,
) -> tuple[list[float], float, int, bool]:
    """Maximise ``objective`` by Nelder-Mead (Nelder & Mead 1965; coefficients 1, 2, ½, ½),
    restarting from the best vertex with a fresh simplex until a restart gains less than
    1e-9 · ``scale``. Converged when the simplex spans < 1e-9 in every coordinate and
    < 1e-10 · ``scale`` in value. Non-finite values count as -∞."""

    def f(x: Sequence[float]) -> float:
        try:
            value = -objective(x)
        except (ValueError, OverflowError, ZeroDivisionError, InvalidValue):
            return math.inf
        return value if math.isfinite(value) else math.inf

    evaluations = 0
    best_x = list(start)
    best_f = f(best_x)
    evaluations += 1
    converged = False
    step = 0.5
    while evaluations < max_evaluations:
        dims = len(best_x)
        simplex = [list(best_x)]
        for i in range(dims):
            vertex = list(best_x)
            vertex[i] += step
            simplex.append(vertex)
        values = [best_f] + [f(v) for v in simplex[1:]]
        evaluations += dims
        converged = False
        while evaluations < max_evaluations:
            order = sorted(range(dims + 1), key=values.__getitem__)
            simplex = [simplex[i] for i in order]
            values = [values[i] for i in order]
            spread = max(
                abs(c - b) for v in simplex[1:] for c, b in zip(v, simplex[0], strict=True)
            )
            if spread < 1e-9 and values[-1] - values[0] < 1e-10 * scale:
                converged = True
                break
            centroid = [sum(v[i] for v in simplex[:-1]) / dims for i in range(dims)]
            worst = simplex[-1]

            def towards(
                coefficient: float, centroid: list[float] = centroid, worst: list[float] = worst
            ) -> list[float]:
                return [c + coefficient * (c - w) for c, w in zip(centroid, worst, strict=True)]

            reflected = towards(1.0)
            f_reflected = f(reflected)
            evaluations += 1
            if f_reflected < values[0]:
                expanded = towards(2.0)
                f_expanded = f(expanded)
                evaluations += 1
                if f_expanded < f_reflected:
                    simplex[-1], values[-1] = expanded, f_expanded
                else:
                    simplex[-1], values[-1] = reflected, f_reflected
                continue
            if f_reflected < values[-2]:
                simplex[-1], values[-1] = reflected, f_reflected
                continue
            if f_reflected < values[-1]:
                contracted = towards(0.5)  # outside
                f_contracted = f(contracted)
                accept = f_contracted <= f_reflected
            else:
                contracted = towards(-0.5)  # inside
                f_contracted = f(contracted)
                accept = f_contracted < values[-1]
            evaluations += 1
            if accept:
                simplex[-1], values[-1] = contracted, f_contracted
                continue
            for i in range(1, dims + 1):  # shrink towards the best vertex
                simplex[i] = [
                    b + 0.5 * (c - b) for c, b in zip(simplex[i], simplex[0], strict=True)
                ]
                values[i] = f(simplex[i])
            evaluations += dims
        gain = best_f - values[0]
        best_x, best_f = simplex[0], values[0]
        if converged and gain < 1e-9 * scale:
            break
        step = 0.05
    return best_x, -best_f, evaluations, converged


def _standard_errors(
    objective: Callable[[Sequence[float]], float], theta: Sequence[float], h: float = 1e-3
) -> list[float] | None:
    """Standard errors of exp(θ) at the maximum θ of the log-likelihood ``objective`` of
    θ = ln(params): the inverse of the observed information -∇²ℓ(θ) (central differences,
    step h) is the covariance of θ, and the delta method gives se(e^θᵢ) = e^θᵢ · se(θᵢ).
    None when the information is not positive definite."""
    n = len(theta)

    def at(*moves: tuple[int, float]) -> float:
        point = list(theta)
        for i, move in moves:
            point[i] += move
        return objective(point)

    centre = at()
    information = [[0.0] * n for _ in range(n)]
    for i in range(n):
        information[i][i] = -(at((i, h)) - 2 * centre + at((i, -h))) / h**2
        for j in range(i):
            mixed = (
                at((i, h), (j, h))
                - at((i, h), (j, -h))
                - at((i, -h), (j, h))
                + at((i, -h), (j, -h))
            ) / (4 * h**2)
            information[i][j] = information[j][i] = -mixed
    covariance = _invert(information)
    if covariance is None or any(covariance[i][i] <= 0 for i in range(n)):
        return None
    return [math.exp(theta[i]) * math.sqrt(covariance[i][i]) for i in range(n)]


def _invert(matrix: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan inverse with partial pivoting; None when singular."""
    n = len(matrix)
    rows = [list(row) + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda i: abs(rows[i][col]))
        if abs(rows[pivot][col]) < 1e-300:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [v / lead for v in rows[col]]
        for i in range(n):
            if i != col and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [v - factor * w for v, w in zip(rows[i], rows[col], strict=True)]
    return [row[n:] for row in rows]
