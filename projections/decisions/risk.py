"""Customers at risk, and why: no business for long, repeated incidents, SLA breaches, an
RFM segment of good customers slipping away, a key account's follow-ups overdue."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.relationship import Lifecycle
from domain.value import DormancyPolicy, RfmSegment
from projections.customer_value.queries import ValueModels
from projections.decisions.scope import Scope, business_days, customers_in_scope
from projections.follow_ups.queries import overdue
from projections.freshness import ReadConnection
from projections.service_cases.queries import sla_breached


class RiskKind(StrEnum):
    DORMANT = "dormant"
    LOST = "lost"
    REPEATED_INCIDENTS = "repeated_incidents"
    SLA_BREACHES = "sla_breaches"
    RFM_SLIPPING = "rfm_slipping"
    FOLLOW_UPS_OVERDUE = "follow_ups_overdue"


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
    late_care = {
        r["relationship_id"]: (int(r["n"]), r["oldest"])
        for r in conn.execute(
            f"""
            SELECT f.relationship_id, count(*) AS n, min(f.due_at) AS oldest
            FROM follow_up f JOIN account_status a ON a.relationship_id = f.relationship_id
            WHERE a.key_account AND {overdue("%(now)s")} AND {scope.sql()}
            GROUP BY f.relationship_id
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
        late, oldest = late_care.get(customer_id, (0, None))
        if late:
            reasons.append(
                {
                    "kind": RiskKind.FOLLOW_UPS_OVERDUE,
                    "detail": f"a key account with {late} follow-up{'s' if late != 1 else ''} "
                    f"overdue, the oldest due {oldest.isoformat()}",
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
