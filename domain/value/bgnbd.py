"""BG/NBD: how many purchases a customer will make (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.base import InvalidValue, require
from domain.value.optimise import maximise, standard_errors
from domain.value.purchases import CustomerSummary, check_history


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: λ ~ Gamma(shape r, rate α); dropout p ~ Beta(a, b). All > 0."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        check_positive(r=self.r, alpha=self.alpha, a=self.a, b=self.b)


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


def check_positive(**values: float) -> None:
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
    check_history(frequency, recency, age)
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
    check_history(frequency, recency, age)
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
    theta, best, evaluations, converged = maximise(total, start, scale=count)
    errors = standard_errors(total, theta)
    return BgNbdFit(
        params=BgNbdParams(*(math.exp(v) for v in theta)),
        log_likelihood=best,
        standard_errors=BgNbdParams(*errors) if errors else None,
        customers=count,
        evaluations=evaluations,
        converged=converged,
    )
