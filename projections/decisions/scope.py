"""What every decision view shares: the customers it covers (``Scope``, by their branch,
region and industry), and the read models it reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from projections.freshness import ReadConnection

#: Every decision view reads these read models.
DECISION_READ_MODELS = (
    "account_status",
    "responsibility_audit",
    "customer_value",
    "opportunities",
    "service_cases",
    "follow_ups",
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


#: The time zone a customer's days and months are counted in: its branch's, from the branch
#: registry (``b``, joined on the customer's branch); UTC for a branch the registry does not
#: hold (a record from before branches were registered).
LOCAL_ZONE = "coalesce(b.time_zone, 'UTC')"


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
    """The delivery days of each in-scope customer's delivered shipments, in the time zone
    of the customer's branch (``LOCAL_ZONE``)."""
    rows = conn.execute(
        f"""
        SELECT v.customer_id, (v.delivered_at AT TIME ZONE {LOCAL_ZONE})::date AS day
        FROM value_shipment v JOIN account_status a ON a.relationship_id = v.customer_id
        LEFT JOIN branch b ON b.code = a.branch
        WHERE v.delivered_at IS NOT NULL AND NOT v.cancelled AND {scope.sql()}
        """,
        scope.params(),
    ).fetchall()
    days: dict[UUID, list[date]] = defaultdict(list)
    for r in rows:
        days[r["customer_id"]].append(r["day"])
    return days
