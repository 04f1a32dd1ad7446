"""Customers by value: the top customers by realised or model value, and how many each RFM
segment holds."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.value import DormancyPolicy, RfmSegment, active_periods, loyalty, month_period
from projections.customer_value.queries import CustomerValue, ValueModels
from projections.decisions.periods import PeriodKind, period_bounds
from projections.decisions.scope import Scope, business_days, customers_in_scope
from projections.freshness import ReadConnection


def potential_values(conn: ReadConnection, scope: Scope) -> dict[tuple[UUID, str], Decimal]:
    """The weighted open pipeline of each in-scope relationship, per currency."""
    rows = conn.execute(
        f"""
        SELECT o.relationship_id, o.currency, sum(o.weighted_value) AS weighted
        FROM opportunity o JOIN account_status a ON a.relationship_id = o.relationship_id
        WHERE o.status = 'open' AND {scope.sql()}
        GROUP BY o.relationship_id, o.currency
        """,
        scope.params(),
    ).fetchall()
    return {(r["relationship_id"], r["currency"]): Decimal(r["weighted"]) for r in rows}


class RankBy(StrEnum):
    REALISED = "realised"
    MODEL = "model"


def _customer_entry(
    value: CustomerValue,
    customer: Mapping[str, Any],
    *,
    potential: Decimal,
    days: list[date],
    as_of: date,
    policy: DormancyPolicy,
) -> dict[str, Any]:
    last = max(days) if days else None
    loyal = loyalty(active_periods(days, month_period), through=month_period(as_of))
    return {
        "customer_id": value.customer_id,
        "name": customer["name"],
        "branch": customer["branch"],
        "region": customer["region"],
        "industry": customer["industry"],
        "currency": value.currency,
        "realised_value": value.realised,
        "potential_value": potential,
        "model_value": value.model_value,
        "expected_purchases": value.expected_purchases,
        "probability_alive": value.probability_alive,
        "purchases": value.purchases,
        "first_purchase": value.first_purchase,
        "last_purchase": value.last_purchase,
        "rfm": {
            "recency": value.rfm.recency,
            "frequency": value.rfm.frequency,
            "monetary": value.rfm.monetary,
            "code": value.rfm.code,
            "segment": value.rfm.segment,
        },
        "status": policy.status(last, as_of) if last and last <= as_of else None,
        "last_business": last,
        "loyalty": None
        if loyal is None
        else vars(loyal) | {"first_month": period_bounds(PeriodKind.MONTH, loyal.first_period)[2]},
    }


def top_customers(
    conn: ReadConnection,
    scope: Scope,
    models: ValueModels,
    *,
    by: RankBy,
    limit: int,
    policy: DormancyPolicy,
) -> dict[str, list[dict[str, Any]]]:
    """Per currency, the in-scope customers with the highest realised or model value."""
    customers = customers_in_scope(conn, scope)
    days = business_days(conn, scope)
    potential = potential_values(conn, scope)
    ranked: dict[str, list[CustomerValue]] = defaultdict(list)
    for (customer_id, currency), value in models.customers.items():
        if customer_id in customers and (by is RankBy.REALISED or value.model_value is not None):
            ranked[currency].append(value)

    def key(v: CustomerValue) -> tuple[Decimal, str]:
        figure = v.realised if by is RankBy.REALISED else v.model_value
        assert figure is not None
        return -figure, str(v.customer_id)

    return {
        currency: [
            _customer_entry(
                v,
                customers[v.customer_id],
                potential=potential.get((v.customer_id, currency), Decimal(0)),
                days=days.get(v.customer_id, []),
                as_of=models.as_of,
                policy=policy,
            )
            for v in sorted(values, key=key)[:limit]
        ]
        for currency, values in sorted(ranked.items())
    }


def segments(
    conn: ReadConnection, scope: Scope, models: ValueModels
) -> dict[str, list[dict[str, Any]]]:
    """Per currency, how many in-scope customers each RFM segment holds and their realised
    value, in the order of ``RfmSegment``."""
    customers = customers_in_scope(conn, scope)
    counts: dict[str, Counter[RfmSegment]] = defaultdict(Counter)
    totals: dict[str, dict[RfmSegment, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (customer_id, currency), value in models.customers.items():
        if customer_id in customers:
            counts[currency][value.rfm.segment] += 1
            totals[currency][value.rfm.segment] += value.realised
    return {
        currency: [
            {"segment": s, "customers": counts[currency][s], "realised_value": totals[currency][s]}
            for s in RfmSegment
            if counts[currency][s]
        ]
        for currency in sorted(counts)
    }
