"""The read side: plain SQL over the read models, no domain objects."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import DictRow

from application.schema import TRACKING_TABLE
from projections.value import sla_breached

ReadConnection = psycopg.Connection[DictRow]

#: Interactions younger than this count as recent on the account status.
RECENT_INTERACTIONS_DAYS = 90

#: Account status joins the responsibility audit for the customer's shipments, the
#: customer-value model for its revenue, and the opportunities and service cases, so a read
#: that must include a position waits for all of these read models.
ACCOUNT_READ_MODELS = (
    "account_status",
    "responsibility_audit",
    "customer_value",
    "opportunities",
    "service_cases",
)

#: Service cases with a breached SLA count on the account while open or this many days
#: after their opening.
RECENT_SLA_BREACH_DAYS = 90

_ACCOUNT_SELECT = f"""
    SELECT a.*, (
        SELECT count(*) FROM account_interaction i
        WHERE i.relationship_id = a.relationship_id
          AND i.happened_at > now() - interval '{RECENT_INTERACTIONS_DAYS} days'
    ) AS interactions_last_90_days,
    COALESCE(sh.shipments_in_flight, 0) AS shipments_in_flight,
    COALESCE(sh.open_incidents, 0) AS open_incidents,
    COALESCE(sh.open_claims, 0) AS open_claims,
    COALESCE(paid.by_currency, '{{}}'::jsonb) AS compensation_paid,
    COALESCE(realised.by_currency, '{{}}'::jsonb) AS realised_value,
    COALESCE(pipeline.by_currency, '{{}}'::jsonb) AS potential_value,
    COALESCE(pipeline.open_opportunities, 0) AS open_opportunities,
    COALESCE(cases.open_cases, 0) AS open_cases,
    COALESCE(cases.sla_breaches, 0) AS sla_breaches
    FROM account_status a
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
                   OR c.opened_at > now() - interval '{RECENT_SLA_BREACH_DAYS} days'
               ) AND {sla_breached("now()")}) AS sla_breaches
        FROM service_case c WHERE c.relationship_id = a.relationship_id
    ) cases ON true
"""


class InvalidCursorError(ValueError):
    pass


def encode_cursor(registered_position: int) -> str:
    return base64.urlsafe_b64encode(f"p{registered_position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError("cursor is not one this service issued") from None


@dataclass(frozen=True)
class AccountFilter:
    kind: str | None = None
    lifecycle: str | None = None
    branch: str | None = None
    region: str | None = None
    industry: str | None = None
    key_account: bool | None = None
    team_member: str | None = None


def get_account(conn: ReadConnection, relationship_id: UUID) -> dict[str, Any] | None:
    return conn.execute(
        _ACCOUNT_SELECT + " WHERE a.relationship_id = %s", (relationship_id,)
    ).fetchone()


def list_accounts(
    conn: ReadConnection, where: AccountFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of accounts in registration order, and the cursor of the next page."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("kind", "lifecycle", "branch", "region", "industry", "key_account"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"a.{column} = %s")
            params.append(value)
    if where.team_member is not None:
        clauses.append("(a.field_rep = %s OR a.office_rep = %s)")
        params += [where.team_member, where.team_member]
    if cursor is not None:
        clauses.append("a.registered_position > %s")
        params.append(decode_cursor(cursor))
    sql = _ACCOUNT_SELECT
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY a.registered_position LIMIT %s"
    params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(int(rows[-1]["registered_position"]))
    return rows, next_cursor


def projection_position(conn: ReadConnection, projection_name: str) -> int:
    row = conn.execute(
        f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = %s",
        (projection_name,),
    ).fetchone()
    return int(row["notification_id"]) if row and row["notification_id"] is not None else 0


def wait_for_position(
    conn: ReadConnection,
    projection_names: str | Sequence[str],
    min_position: int,
    *,
    timeout: float,
) -> bool:
    """Wait until the read models have applied ``min_position``; False if not in time.

    Every read model tracks its position in the whole log (it reads every entry and
    applies those it needs), so any position a command returned can be waited for.
    """
    names = [projection_names] if isinstance(projection_names, str) else list(projection_names)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if all(projection_position(conn, name) >= min_position for name in names):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)
