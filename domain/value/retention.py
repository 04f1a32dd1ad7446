"""Retention, dormancy and loyalty over the periods a customer was active."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from domain.base import require
from domain.relationship import Lifecycle
from domain.value.purchases import day_of

K = TypeVar("K")


def month_period(moment: date) -> int:
    """The calendar month of a day as a period number (year·12 + month - 1): consecutive
    months are consecutive numbers."""
    day = day_of(moment)
    return day.year * 12 + day.month - 1


def fixed_period(moment: date, *, origin: date, days: int) -> int:
    """Period number of a day in periods of ``days`` days from ``origin`` (period 0 holds
    origin .. origin + days - 1; days before origin get negative numbers)."""
    require(days >= 1, "value.period_days", "days must be >= 1", field="days")
    return (day_of(moment) - day_of(origin)).days // days


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
    idle = (day_of(as_of) - day_of(last_business)).days
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
