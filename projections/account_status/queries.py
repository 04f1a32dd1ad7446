"""Reading account status: plain SQL over the read models, no domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.follow_ups.queries import overdue_follow_ups_sql
from projections.freshness import ReadConnection, decode_cursor, page
from projections.service_cases.queries import sla_breached

#: Interactions younger than this count as recent on the account status.
RECENT_INTERACTIONS_DAYS = 90

#: Interactions after this moment are recent. They are counted in two parts, so that the
#: count reads at most a row per day however many interactions an account has had: the
#: days (UTC) after the one the moment falls on, from each day's count
#: (``account_interaction_day``); and that boundary day's interactions after the moment,
#: row by row.
_RECENT_SINCE = f"(%(now)s - interval '{RECENT_INTERACTIONS_DAYS} days')"
_BOUNDARY_DAY = f"({_RECENT_SINCE} AT TIME ZONE 'UTC')::date"

#: Account status joins the responsibility audit for the customer's shipments, the
#: customer-value model for its revenue, and the opportunities and service cases, so a read
#: that must include a position waits for all of these read models (and the follow-ups,
#: for the overdue ones).
ACCOUNT_READ_MODELS = (
    "account_status",
    "responsibility_audit",
    "customer_value",
    "opportunities",
    "service_cases",
    "follow_ups",
)

#: Service cases with a breached SLA count on the account while open or this many days
#: after their opening.
RECENT_SLA_BREACH_DAYS = 90


def _account_select(source: str = "account_status") -> str:
    """Account status with what it joins from the other read models, for the rows of
    ``source`` (the table, or a page of it cut first); and the position of the purchase
    histories the value models are fitted to, so that a read learns in the same trip
    whether the models at hand are current (``ValueModelCache.latest``)."""
    return f"""
    SELECT a.*, (
        SELECT COALESCE(sum(d.interactions), 0) FROM account_interaction_day d
        WHERE d.relationship_id = a.relationship_id AND d.day > {_BOUNDARY_DAY}
    ) + (
        SELECT count(*) FROM account_interaction i
        WHERE i.relationship_id = a.relationship_id
          AND i.happened_at > {_RECENT_SINCE}
          AND i.happened_at < ({_BOUNDARY_DAY} + 1)::timestamp AT TIME ZONE 'UTC'
    ) AS interactions_last_90_days,
    COALESCE(sh.shipments_in_flight, 0) AS shipments_in_flight,
    COALESCE(sh.open_incidents, 0) AS open_incidents,
    COALESCE(sh.open_claims, 0) AS open_claims,
    COALESCE(paid.by_currency, '{{}}'::jsonb) AS compensation_paid,
    COALESCE(realised.by_currency, '{{}}'::jsonb) AS realised_value,
    COALESCE(pipeline.by_currency, '{{}}'::jsonb) AS potential_value,
    COALESCE(pipeline.open_opportunities, 0) AS open_opportunities,
    COALESCE(cases.open_cases, 0) AS open_cases,
    COALESCE(cases.sla_breaches, 0) AS sla_breaches,
    {overdue_follow_ups_sql("%(now)s", "a.relationship_id")} AS overdue_follow_ups,
    (SELECT v.purchases_position FROM value_inputs v) AS value_inputs_position
    FROM {source} a
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.status IN ('booked', 'in_transit'))
                   AS shipments_in_flight,
               sum(s.open_incidents) AS open_incidents,
               sum(s.open_claims) AS open_claims
        FROM shipment_audit s WHERE s.customer_id = a.relationship_id
    ) sh ON true
    LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(t.currency, t.total::text) AS by_currency FROM (
            SELECT c.currency, sum(c.compensation_paid) AS total
            FROM audit_claim c JOIN shipment_audit s ON s.shipment_id = c.shipment_id
            WHERE s.customer_id = a.relationship_id AND c.compensation_paid IS NOT NULL
            GROUP BY c.currency
        ) t
    ) paid ON true
    LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(t.currency, t.total::text) AS by_currency FROM (
            SELECT r.currency, sum(r.amount) AS total FROM value_revenue r
            WHERE r.customer_id = a.relationship_id GROUP BY r.currency
        ) t
    ) realised ON true
    LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(t.currency, t.weighted::text) AS by_currency,
               sum(t.n)::bigint AS open_opportunities FROM (
            SELECT o.currency, sum(o.weighted_value) AS weighted, count(*) AS n
            FROM opportunity o
            WHERE o.relationship_id = a.relationship_id AND o.status = 'open'
            GROUP BY o.currency
        ) t
    ) pipeline ON true
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE c.status = 'open') AS open_cases,
               count(*) FILTER (WHERE (
                   c.status = 'open'
                   OR c.opened_at > %(now)s - interval '{RECENT_SLA_BREACH_DAYS} days'
               ) AND {sla_breached("%(now)s")}) AS sla_breaches
        FROM service_case c WHERE c.relationship_id = a.relationship_id
    ) cases ON true
"""


@dataclass(frozen=True)
class AccountFilter:
    kind: str | None = None
    lifecycle: str | None = None
    branch: str | None = None
    region: str | None = None
    industry: str | None = None
    key_account: bool | None = None
    team_member: str | None = None
    #: Only the accounts of this branch and those of these kinds (whatever their branch).
    branch_or_kinds: tuple[str, frozenset[str]] | None = None


def get_account(
    conn: ReadConnection, relationship_id: UUID, *, now: datetime
) -> dict[str, Any] | None:
    """The account status of one relationship, its recent interactions and breached SLAs
    counted as at ``now``."""
    return conn.execute(
        _account_select() + " WHERE a.relationship_id = %(id)s",
        {"now": now, "id": relationship_id},
    ).fetchone()


def list_accounts(
    conn: ReadConnection, where: AccountFilter, *, now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of accounts in registration order, and the cursor of the next page; recent
    interactions and breached SLAs counted as at ``now``."""
    clauses: list[str] = []
    params: dict[str, Any] = {"now": now}
    for column in ("kind", "lifecycle", "branch", "region", "industry", "key_account"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"a.{column} = %({column})s")
            params[column] = value
    if where.team_member is not None:
        clauses.append("(a.field_rep = %(team_member)s OR a.office_rep = %(team_member)s)")
        params["team_member"] = where.team_member
    if where.branch_or_kinds is not None:
        branch, kinds = where.branch_or_kinds
        clauses.append("(a.branch = %(branch_of_list)s OR a.kind = ANY(%(kinds_of_list)s))")
        params["branch_of_list"] = branch
        params["kinds_of_list"] = sorted(kinds)
    if cursor is not None:
        clauses.append("a.registered_position > %(after)s")
        params["after"] = decode_cursor(cursor)
    # The page is cut first, and only its rows are joined with the other read models: the
    # cost of a page does not grow with how many accounts match.
    where_sql = " WHERE " + " AND ".join(clauses) if clauses else ""
    sql = (
        f"WITH listed AS (SELECT * FROM account_status a{where_sql} "
        "ORDER BY a.registered_position LIMIT %(limit)s) "
        + _account_select("listed")
        + " ORDER BY a.registered_position"
    )
    params["limit"] = limit + 1
    rows = conn.execute(sql, params).fetchall()  # type: ignore[call-overload]
    return page(rows, limit, "registered_position")
