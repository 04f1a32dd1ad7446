"""Decision views for managers: pipeline, competitors, customers by value and at risk,
partners, value and retention per period, service levels.

Every view is filtered by the *customer's* branch, region and industry (``Scope``; for
partners: the customers whose shipments the partner carried). Figures that depend on the
day or the moment of asking are computed when asked, from the revenue of
``projections.value``, the opportunities and service cases of ``projections.opportunities``
and ``projections.cases`` and the responsibility audit, with the value models of
``projections.value_queries``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.competitor import WinLossRecord
from domain.opportunity import STAGES
from domain.relationship import Lifecycle
from domain.value import (
    DormancyPolicy,
    RfmSegment,
    active_periods,
    loyalty,
    month_period,
    retention_rates,
)
from projections.queries import ReadConnection
from projections.value import sla_breached
from projections.value_queries import CustomerValue, ValueModels

#: Every decision view reads these read models.
DECISION_READ_MODELS = (
    "account_status",
    "responsibility_audit",
    "customer_value",
    "opportunities",
    "service_cases",
)


@dataclass(frozen=True)
class Scope:
    """Which customers a view covers: by their branch, region and industry."""

    branch: str | None = None
    region: str | None = None
    industry: str | None = None

    def sql(self, alias: str = "a") -> str:
        return (
            f"(%(branch)s::text IS NULL OR {alias}.branch = %(branch)s) "
            f"AND (%(region)s::text IS NULL OR {alias}.region = %(region)s) "
            f"AND (%(industry)s::text IS NULL OR {alias}.industry = %(industry)s)"
        )

    def params(self, **more: Any) -> dict[str, Any]:
        return {"branch": self.branch, "region": self.region, "industry": self.industry, **more}


def _money(value: Any) -> Decimal:
    return Decimal(value)


# --- pipeline -------------------------------------------------------------------------------


def pipeline(conn: ReadConnection, scope: Scope) -> list[dict[str, Any]]:
    """Open opportunities per branch, stage and currency: how many, their expected value and
    their weighted value (the potential value they add)."""
    return conn.execute(
        f"""
        SELECT a.branch, o.stage, o.currency, count(*) AS opportunities,
               sum(o.expected_value) AS expected_value, sum(o.weighted_value) AS weighted_value
        FROM opportunity o JOIN account_status a ON a.relationship_id = o.relationship_id
        WHERE o.status = 'open' AND {scope.sql()}
        GROUP BY a.branch, o.stage, o.currency
        ORDER BY a.branch, array_position(%(stages)s::text[], o.stage), o.currency
        """,
        scope.params(stages=[s.value for s in STAGES]),
    ).fetchall()


# --- competitors ----------------------------------------------------------------------------


def competitor_records(
    conn: ReadConnection, scope: Scope, *, since: date | None = None
) -> list[dict[str, Any]]:
    """Our record against each competitor over the opportunities it competed in (identified
    on or after ``since``), as ``domain.competitor.win_loss_against`` counts it."""
    rows = conn.execute(
        f"""
        SELECT c.competitor_id, comp.name,
               count(*) FILTER (WHERE o.status = 'open') AS competing,
               count(*) FILTER (WHERE o.status = 'won') AS won_against,
               count(*) FILTER (WHERE o.status = 'lost' AND o.lost_to = c.competitor_id)
                   AS lost_to,
               count(*) FILTER (WHERE o.status = 'lost'
                                AND o.lost_to IS DISTINCT FROM c.competitor_id)
                   AS lost_to_others
        FROM opportunity o
        CROSS JOIN LATERAL unnest(o.competitor_ids) AS c(competitor_id)
        JOIN account_status a ON a.relationship_id = o.relationship_id
        LEFT JOIN account_status comp ON comp.relationship_id = c.competitor_id
        WHERE {scope.sql()} AND (%(since)s::date IS NULL OR o.identified_at >= %(since)s)
        GROUP BY c.competitor_id, comp.name
        """,
        scope.params(since=since),
    ).fetchall()
    records = []
    for r in rows:
        record = WinLossRecord(
            r["competitor_id"], r["competing"], r["won_against"], r["lost_to"], r["lost_to_others"]
        )
        records.append({**r, "head_to_head_win_rate": record.head_to_head_win_rate})
    records.sort(
        key=lambda r: (-(r["won_against"] + r["lost_to"]), r["name"] or "", str(r["competitor_id"]))
    )
    return records


# --- customers ------------------------------------------------------------------------------


def customers_in_scope(
    conn: ReadConnection, scope: Scope, *, kind: str | None = None
) -> dict[UUID, dict[str, Any]]:
    rows = conn.execute(
        f"""
        SELECT relationship_id, name, kind, lifecycle, branch, region, industry
        FROM account_status a WHERE {scope.sql()} AND (%(kind)s::text IS NULL OR a.kind = %(kind)s)
        """,
        scope.params(kind=kind),
    ).fetchall()
    return {r["relationship_id"]: dict(r) for r in rows}


def business_days(conn: ReadConnection, scope: Scope) -> dict[UUID, list[date]]:
    """The delivery days (UTC) of each in-scope customer's delivered shipments."""
    rows = conn.execute(
        f"""
        SELECT v.customer_id, (v.delivered_at AT TIME ZONE 'UTC')::date AS day
        FROM value_shipment v JOIN account_status a ON a.relationship_id = v.customer_id
        WHERE v.delivered_at IS NOT NULL AND NOT v.cancelled AND {scope.sql()}
        """,
        scope.params(),
    ).fetchall()
    days: dict[UUID, list[date]] = defaultdict(list)
    for r in rows:
        days[r["customer_id"]].append(r["day"])
    return days


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
    return {(r["relationship_id"], r["currency"]): _money(r["weighted"]) for r in rows}


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


# --- customers at risk ----------------------------------------------------------------------


class RiskKind(StrEnum):
    DORMANT = "dormant"
    LOST = "lost"
    REPEATED_INCIDENTS = "repeated_incidents"
    SLA_BREACHES = "sla_breaches"
    RFM_SLIPPING = "rfm_slipping"


#: RFM segments of good customers going quiet.
SLIPPING_SEGMENTS = frozenset({RfmSegment.AT_RISK, RfmSegment.CANNOT_LOSE})

CASE_BREACHED = sla_breached("%(now)s")


@dataclass(frozen=True)
class RiskPolicy:
    """When a customer is at risk: no business for ``dormancy``'s days; at least
    ``incidents`` incidents on its shipments, or ``sla_breaches`` service cases with a
    breached SLA (opened in the window, or still open), within the last ``window_days``; an
    RFM segment of good customers slipping away (at risk, cannot lose)."""

    dormancy: DormancyPolicy = field(default_factory=DormancyPolicy)
    window_days: int = 180
    incidents: int = 2
    sla_breaches: int = 1


def customers_at_risk(
    conn: ReadConnection,
    scope: Scope,
    models: ValueModels,
    *,
    now: datetime,
    policy: RiskPolicy,
) -> list[dict[str, Any]]:
    """The in-scope customers at risk, each with the reasons why, most reasons first."""
    customers = customers_in_scope(conn, scope, kind="customer")
    days = business_days(conn, scope)
    since = now - timedelta(days=policy.window_days)
    params = scope.params(since=since, now=now)
    incidents: dict[UUID, Counter[str]] = defaultdict(Counter)
    for r in conn.execute(
        f"""
        SELECT s.customer_id, i.kind, count(*) AS n
        FROM audit_incident i
        JOIN shipment_audit s ON s.shipment_id = i.shipment_id
        JOIN account_status a ON a.relationship_id = s.customer_id
        WHERE i.discovered_at >= %(since)s AND {scope.sql()}
        GROUP BY s.customer_id, i.kind
        """,
        params,
    ).fetchall():
        incidents[r["customer_id"]][r["kind"]] = int(r["n"])
    breaches = {
        r["relationship_id"]: (int(r["n"]), int(r["open"]))
        for r in conn.execute(
            f"""
            SELECT c.relationship_id, count(*) AS n, count(*) FILTER (WHERE c.status = 'open')
                   AS open
            FROM service_case c JOIN account_status a ON a.relationship_id = c.relationship_id
            WHERE (c.opened_at >= %(since)s OR c.status = 'open') AND {CASE_BREACHED}
              AND {scope.sql()}
            GROUP BY c.relationship_id
            """,
            params,
        ).fetchall()
    }
    as_of = models.as_of
    window = policy.window_days
    at_risk = []
    for customer_id, customer in customers.items():
        reasons: list[dict[str, str]] = []
        business = days.get(customer_id)
        last = max(business) if business else None
        status = policy.dormancy.status(last, as_of) if last and last <= as_of else None
        if status in (Lifecycle.DORMANT, Lifecycle.LOST):
            assert last is not None
            idle = (as_of - last).days
            threshold = (
                policy.dormancy.lost_after_days
                if status is Lifecycle.LOST
                else policy.dormancy.dormant_after_days
            )
            reasons.append(
                {
                    "kind": RiskKind.LOST if status is Lifecycle.LOST else RiskKind.DORMANT,
                    "detail": f"no delivered shipment for {idle} days (last on {last}); "
                    f"{status} after {threshold}",
                }
            )
        kinds = incidents.get(customer_id, Counter())
        total = sum(kinds.values())
        if total >= policy.incidents:
            listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            reasons.append(
                {
                    "kind": RiskKind.REPEATED_INCIDENTS,
                    "detail": f"{total} incidents on its shipments in the last {window} days "
                    f"({listed})",
                }
            )
        breached, still_open = breaches.get(customer_id, (0, 0))
        if breached >= policy.sla_breaches:
            reasons.append(
                {
                    "kind": RiskKind.SLA_BREACHES,
                    "detail": f"{breached} service case{'s' if breached != 1 else ''} breached "
                    f"the SLA in the last {window} days, {still_open} still open",
                }
            )
        for value in sorted(models.of_customer(customer_id), key=lambda v: v.currency):
            if value.rfm.segment in SLIPPING_SEGMENTS:
                reasons.append(
                    {
                        "kind": RiskKind.RFM_SLIPPING,
                        "detail": f"RFM segment {value.rfm.segment} in {value.currency} "
                        f"(recency {value.rfm.recency}, frequency {value.rfm.frequency}, "
                        f"monetary {value.rfm.monetary}; last purchase {value.last_purchase})",
                    }
                )
        if reasons:
            at_risk.append(
                {
                    "customer_id": customer_id,
                    "name": customer["name"],
                    "branch": customer["branch"],
                    "region": customer["region"],
                    "industry": customer["industry"],
                    "lifecycle": customer["lifecycle"],
                    "last_business": last,
                    "realised_value": {
                        v.currency: v.realised for v in models.of_customer(customer_id)
                    },
                    "reasons": reasons,
                }
            )
    at_risk.sort(key=lambda r: (-len(r["reasons"]), r["name"], str(r["customer_id"])))
    return at_risk


# --- partners -------------------------------------------------------------------------------


def partner_ranking(conn: ReadConnection, scope: Scope) -> list[dict[str, Any]]:
    """Partners ranked on the in-scope customers' shipments, with the scorecard's figures
    (``projections.audit_queries.scorecard``): links run, on-time share, incidents
    attributed, recovery outstanding. Ranked by on-time share (highest first, partners with
    no completed link last), then incidents attributed per link run (fewest first), then
    links run (most first)."""
    rows = conn.execute(
        f"""
        WITH scoped AS (
            SELECT s.shipment_id FROM shipment_audit s
            JOIN account_status a ON a.relationship_id = s.customer_id
            WHERE {scope.sql()}
        ),
        links AS (
            SELECT l.partner_id,
                   count(*) FILTER (WHERE l.status = 'completed') AS links_run,
                   count(*) FILTER (WHERE l.status <> 'completed' AND l.custody_from IS NOT NULL)
                       AS links_in_progress,
                   count(*) FILTER (WHERE l.status = 'completed'
                                    AND l.completed_at <= l.planned_end) AS links_on_time
            FROM audit_link l JOIN scoped USING (shipment_id)
            WHERE l.partner_id IS NOT NULL GROUP BY l.partner_id
        ),
        incidents AS (
            SELECT i.responsible_partner_id AS partner_id, count(*) AS attributed,
                   count(*) FILTER (WHERE i.resolved_at IS NULL) AS open
            FROM audit_incident i JOIN scoped USING (shipment_id)
            WHERE i.responsible_partner_id IS NOT NULL GROUP BY i.responsible_partner_id
        ),
        recovery AS (
            SELECT partner_id, jsonb_object_agg(currency, outstanding::text) AS outstanding FROM (
                SELECT c.recovery_from AS partner_id, c.currency,
                       sum(c.recovery_claimed - COALESCE(c.recovery_received, 0)) AS outstanding
                FROM audit_claim c JOIN scoped USING (shipment_id)
                WHERE c.recovery_claimed IS NOT NULL GROUP BY c.recovery_from, c.currency
            ) t GROUP BY partner_id
        )
        SELECT p.relationship_id AS partner_id, p.name,
               COALESCE(l.links_run, 0) AS links_run,
               COALESCE(l.links_in_progress, 0) AS links_in_progress,
               COALESCE(l.links_on_time, 0) AS links_on_time,
               COALESCE(i.attributed, 0) AS incidents_attributed,
               COALESCE(i.open, 0) AS incidents_open,
               COALESCE(r.outstanding, '{{}}'::jsonb) AS recovery_outstanding
        FROM account_status p
        LEFT JOIN links l ON l.partner_id = p.relationship_id
        LEFT JOIN incidents i ON i.partner_id = p.relationship_id
        LEFT JOIN recovery r ON r.partner_id = p.relationship_id
        WHERE p.kind = 'partner'
          AND (l.partner_id IS NOT NULL OR i.partner_id IS NOT NULL OR r.partner_id IS NOT NULL)
        """,
        scope.params(),
    ).fetchall()
    ranked = []
    for r in rows:
        run = int(r["links_run"])
        ranked.append(
            {
                **r,
                "on_time_share": int(r["links_on_time"]) / run if run else None,
                "incidents_per_link": int(r["incidents_attributed"]) / run if run else None,
                "recovery_outstanding": {
                    currency: _money(amount)
                    for currency, amount in r["recovery_outstanding"].items()
                },
            }
        )

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        share = r["on_time_share"]
        per_link = r["incidents_per_link"]
        return (
            share is None,
            -(share or 0.0),
            per_link if per_link is not None else float(r["incidents_attributed"]),
            -r["links_run"],
            r["name"],
            str(r["partner_id"]),
        )

    ranked.sort(key=key)
    for rank, r in enumerate(ranked, 1):
        r["rank"] = rank
    return ranked


# --- value and retention per period ---------------------------------------------------------


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
        SELECT (v.delivered_at AT TIME ZONE 'UTC')::date AS day, v.currency, v.amount
        FROM value_revenue v JOIN account_status a ON a.relationship_id = v.customer_id
        WHERE v.delivered_at >= %(start)s AND {scope.sql()}
        """,
        scope.params(start=start_of_first),
    ).fetchall():
        if r["day"] <= as_of:
            revenue[period_of(r["day"])][r["currency"]] += _money(r["amount"])
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


# --- service levels -------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def service_levels(
    conn: ReadConnection, scope: Scope, *, now: datetime, since: datetime
) -> list[dict[str, Any]]:
    """Per branch, over the service cases opened since ``since``: SLA compliance of the first
    response and of the resolution (met / (met + breached); clocks still running count in
    neither), cases with any clock breached, and the customers' satisfaction (the mean of
    the standing ratings, 1 to 5)."""
    rows = conn.execute(
        f"""
        SELECT a.branch, count(*) AS cases,
               count(*) FILTER (WHERE c.status = 'open') AS open_cases,
               count(*) FILTER (WHERE c.first_responded_at IS NOT NULL
                                AND c.first_response_breach_after IS NULL)
                   AS first_response_met,
               count(*) FILTER (WHERE c.first_response_breach_after < %(now)s)
                   AS first_response_breached,
               count(*) FILTER (WHERE c.status <> 'open' AND c.resolution_breach_after IS NULL)
                   AS resolution_met,
               count(*) FILTER (WHERE c.resolution_breach_after < %(now)s)
                   AS resolution_breached,
               count(*) FILTER (WHERE {CASE_BREACHED}) AS breached_cases,
               count(c.satisfaction) AS rated,
               avg(c.satisfaction) AS satisfaction
        FROM service_case c JOIN account_status a ON a.relationship_id = c.relationship_id
        WHERE c.opened_at >= %(since)s AND {scope.sql()}
        GROUP BY a.branch ORDER BY a.branch
        """,
        scope.params(now=now, since=since),
    ).fetchall()
    return [
        {
            **r,
            "first_response_compliance": _share(
                r["first_response_met"], r["first_response_met"] + r["first_response_breached"]
            ),
            "resolution_compliance": _share(
                r["resolution_met"], r["resolution_met"] + r["resolution_breached"]
            ),
            "satisfaction": None if r["satisfaction"] is None else float(r["satisfaction"]),
        }
        for r in rows
    ]
