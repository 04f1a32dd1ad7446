"""Value and retention per month or quarter."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.value import active_periods, month_period, retention_rates
from projections.decisions.scope import LOCAL_ZONE, Scope, business_days
from projections.freshness import ReadConnection


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


def quarter_period(moment: date) -> int:
    """The calendar quarter of a day as a period number (year·4 + quarter - 1), as
    ``domain.value.month_period`` numbers months."""
    return moment.year * 4 + (moment.month - 1) // 3


_PERIOD_OF: Mapping[PeriodKind, Callable[[date], int]] = {
    PeriodKind.MONTH: month_period,
    PeriodKind.QUARTER: quarter_period,
}


def period_bounds(kind: PeriodKind, period: int) -> tuple[date, date, str]:
    """First and last day of a period, and its label ("2025-03", "2025-Q1")."""
    months = 1 if kind is PeriodKind.MONTH else 3
    first_month = period * months
    start = date(first_month // 12, first_month % 12 + 1, 1)
    after = first_month + months
    end = date(after // 12, after % 12 + 1, 1) - timedelta(days=1)
    label = (
        f"{start.year}-{start.month:02d}"
        if kind is PeriodKind.MONTH
        else f"{start.year}-Q{period % 4 + 1}"
    )
    return start, end, label


def value_by_period(
    conn: ReadConnection, scope: Scope, *, kind: PeriodKind, periods: int, as_of: date
) -> list[dict[str, Any]]:
    """The last ``periods`` periods through the one holding ``as_of``: customers active
    (with business), new (first business ever), retained from the period before and the
    retention rate (``domain.value.retention_rates``: of the customers active in the period
    before, the share active again in this one), and the realised value per currency."""
    period_of = _PERIOD_OF[kind]
    current = period_of(as_of)
    first = current - periods + 1
    days = business_days(conn, scope)
    activity = {
        c: active_periods((d for d in ds if d <= as_of), period_of) for c, ds in days.items()
    }
    firsts = Counter(min(periods_) for periods_ in activity.values() if periods_)
    rates = {r.period + 1: r for r in retention_rates(activity, first=first - 1, last=current)}
    start_of_first = period_bounds(kind, first)[0]
    revenue: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in conn.execute(
        f"""
        SELECT (v.delivered_at AT TIME ZONE {LOCAL_ZONE})::date AS day, v.currency, v.amount
        FROM value_revenue v JOIN account_status a ON a.relationship_id = v.customer_id
        LEFT JOIN branch b ON b.code = a.branch
        WHERE v.delivered_at >= %(start)s::date - 1 AND {scope.sql()}
        """,
        scope.params(start=start_of_first),
    ).fetchall():
        if r["day"] <= as_of:
            revenue[period_of(r["day"])][r["currency"]] += Decimal(r["amount"])
    result = []
    for k in range(first, current + 1):
        start, end, label = period_bounds(kind, k)
        rate = rates[k]
        result.append(
            {
                "period": label,
                "start": start,
                "end": end,
                "complete": end < as_of,
                "active_customers": sum(1 for periods_ in activity.values() if k in periods_),
                "new_customers": firsts.get(k, 0),
                "previously_active": rate.active,
                "retained": rate.retained,
                "retention_rate": rate.rate,
                "realised_value": dict(sorted(revenue[k].items())),
            }
        )
    return result
