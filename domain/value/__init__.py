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

from domain.value.bgnbd import (
    BgNbdFit,
    BgNbdParams,
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_probability_alive,
    bgnbd_total_log_likelihood,
    fit_bgnbd,
)
from domain.value.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    fit_gamma_gamma,
    gamma_gamma_expected_mean_value,
    gamma_gamma_log_likelihood,
    gamma_gamma_population_mean,
)
from domain.value.model import model_value
from domain.value.purchases import CustomerSummary, Purchase, realised_value, summarise_purchases
from domain.value.retention import (
    DormancyPolicy,
    Loyalty,
    RetentionRate,
    active_periods,
    days_without_business,
    fixed_period,
    loyalty,
    month_period,
    retention_rates,
)
from domain.value.rfm import (
    RfmScore,
    RfmSegment,
    RfmValues,
    quintile_scores,
    rfm_scores,
    rfm_segment,
    rfm_values,
)

__all__ = [
    "BgNbdFit",
    "BgNbdParams",
    "CustomerSummary",
    "DormancyPolicy",
    "GammaGammaFit",
    "GammaGammaParams",
    "Loyalty",
    "Purchase",
    "RetentionRate",
    "RfmScore",
    "RfmSegment",
    "RfmValues",
    "active_periods",
    "bgnbd_conditional_expected_purchases",
    "bgnbd_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_probability_alive",
    "bgnbd_total_log_likelihood",
    "days_without_business",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fixed_period",
    "gamma_gamma_expected_mean_value",
    "gamma_gamma_log_likelihood",
    "gamma_gamma_population_mean",
    "loyalty",
    "model_value",
    "month_period",
    "quintile_scores",
    "realised_value",
    "retention_rates",
    "rfm_scores",
    "rfm_segment",
    "rfm_values",
    "summarise_purchases",
]
