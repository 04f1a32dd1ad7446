"""Purchases and their summaries: what the models read of a purchase history."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from domain.base import require


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
        check_history(self.frequency, self.recency, self.age)
        require(
            math.isfinite(self.mean_value) and self.mean_value >= 0,
            "value.mean_value",
            "mean_value must be a finite number >= 0",
            field="mean_value",
        )


def day_of(moment: date) -> date:
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
    end = day_of(observed_until)
    by_day: dict[date, Decimal] = {}
    for purchase in purchases:
        day = day_of(purchase.at)
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
    first = day_of(since) if since is not None else None
    last = day_of(until) if until is not None else None
    total = Decimal(0)
    for purchase in purchases:
        day = day_of(purchase.at)
        if (first is None or day >= first) and (last is None or day <= last):
            total += purchase.value
    return total


def check_history(frequency: int, recency: float, age: float) -> None:
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
