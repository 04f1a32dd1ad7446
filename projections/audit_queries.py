"""Read side of the responsibility audit: shipments, findings and partner scorecards.

Findings are computed when asked, because most depend on the time of asking (a deadline
passes without any event). Each names the shipment, the customer's branch and the
partner concerned, so an auditor can filter by either.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from projections.queries import InvalidCursorError, ReadConnection


class FindingKind(StrEnum):
    CUSTODY_GAP = "custody_gap"
    CUSTODY_OVERLAP = "custody_overlap"
    DAMAGED_HANDOVER_WITHOUT_INCIDENT = "damaged_handover_without_incident"
    INCIDENT_UNASSIGNED = "incident_unassigned"
    CLAIM_PAST_NOTICE_DEADLINE = "claim_past_notice_deadline"
    RECOVERY_TIME_BARRED = "recovery_time_barred"
    COMPENSATION_WITHOUT_RECOVERY_DECISION = "compensation_without_recovery_decision"


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"s{position}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("s"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError("cursor is not one this service issued") from None


@dataclass(frozen=True)
class ShipmentFilter:
    customer_id: UUID | None = None
    status: str | None = None
    party: str | None = None  # "branch:<name>" or "partner:<id>"
    mode: str | None = None
    customer_branch: str | None = None


_SHIPMENT_COLUMNS = (
    "shipment_id, customer_id, reference, origin, destination, status, modes, parties, "
    "current_holder, booked_at, delivered_at, open_incidents, open_claims, compensation_paid, "
    "version, position, updated_at, booked_position"
)


def list_shipments(
    conn: ReadConnection, where: ShipmentFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.customer_id is not None:
        clauses.append("customer_id = %s")
        params.append(where.customer_id)
    if where.status is not None:
        clauses.append("status = %s")
        params.append(where.status)
    if where.party is not None:
        clauses.append("parties @> ARRAY[%s]::text[]")
        params.append(where.party)
    if where.mode is not None:
        clauses.append("modes @> ARRAY[%s]::text[]")
        params.append(where.mode)
    if where.customer_branch is not None:
        clauses.append(
            "customer_id IN (SELECT relationship_id FROM account_status WHERE branch = %s)"
        )
        params.append(where.customer_branch)
    if cursor is not None:
        clauses.append("booked_position > %s")
        params.append(_decode(cursor))
    sql = f"SELECT {_SHIPMENT_COLUMNS} FROM shipment_audit"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY booked_position LIMIT %s"
    params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode(int(rows[-1]["booked_position"]))
    return rows, next_cursor


def get_responsibility(conn: ReadConnection, shipment_id: UUID) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT view, position, updated_at FROM shipment_audit WHERE shipment_id = %s",
        (shipment_id,),
    ).fetchone()
    if row is None:
        return None
    view: dict[str, Any] = row["view"]
    view["position"] = row["position"]
    view["updated_at"] = row["updated_at"]
    return view


_FINDINGS = """
WITH link_pairs AS (
    SELECT l1.shipment_id, l1.sequence AS from_sequence, l2.sequence AS to_sequence,
           l1.custody_until, l2.custody_from, l2.partner_id
    FROM audit_link l1
    JOIN audit_link l2 ON l2.shipment_id = l1.shipment_id AND l2.sequence = l1.sequence + 1
),
found AS (
    SELECT 'custody_gap' AS kind, p.shipment_id, p.to_sequence AS link_sequence,
           NULL::uuid AS incident_id, NULL::uuid AS claim_id, p.partner_id,
           COALESCE(p.custody_until, p.custody_from) AS since,
           'nobody held the goods between link ' || p.from_sequence || ' releasing them at '
           || COALESCE(p.custody_until::text, '?') || ' and link ' || p.to_sequence
           || ' receiving them at ' || COALESCE(p.custody_from::text, 'no time') AS detail
    FROM link_pairs p
    WHERE (p.custody_until IS NOT NULL AND p.custody_from IS NOT NULL
           AND p.custody_from > p.custody_until)
       OR (p.custody_until IS NOT NULL AND p.custody_from IS NULL)
    UNION ALL
    SELECT 'custody_overlap', p.shipment_id, p.to_sequence, NULL, NULL, p.partner_id,
           p.custody_from,
           'link ' || p.to_sequence || ' received the goods at ' || p.custody_from
           || ' while link ' || p.from_sequence || ' held them until '
           || COALESCE(p.custody_until::text, 'now')
    FROM link_pairs p
    WHERE p.custody_from IS NOT NULL
      AND (p.custody_until IS NULL OR p.custody_from < p.custody_until)
    UNION ALL
    SELECT 'damaged_handover_without_incident', l.shipment_id, l.sequence, NULL, NULL,
           l.partner_id, l.custody_from,
           'link ' || l.sequence || ' received the goods in ' || l.received_condition
           || ' condition and no incident was reported'
    FROM audit_link l
    WHERE l.received_condition IN ('damaged', 'short')
      AND NOT EXISTS (
          SELECT 1 FROM audit_incident i
          WHERE i.shipment_id = l.shipment_id AND i.link_sequence IN (l.sequence, l.sequence - 1))
    UNION ALL
    SELECT 'damaged_handover_without_incident', l.shipment_id, l.sequence, NULL, NULL,
           l.partner_id, l.custody_until,
           'delivered to the consignee in ' || l.released_condition
           || ' condition and no incident was reported'
    FROM audit_link l
    WHERE l.released_condition IN ('damaged', 'short')
      AND NOT EXISTS (SELECT 1 FROM audit_link n
                      WHERE n.shipment_id = l.shipment_id AND n.sequence = l.sequence + 1)
      AND NOT EXISTS (SELECT 1 FROM audit_incident i
                      WHERE i.shipment_id = l.shipment_id AND i.link_sequence = l.sequence)
    UNION ALL
    SELECT 'incident_unassigned', i.shipment_id, i.link_sequence, i.incident_id, NULL,
           l.partner_id, i.discovered_at,
           i.kind || ' discovered at ' || i.discovered_at
           || ' has no responsible party assigned'
    FROM audit_incident i
    JOIN audit_link l ON l.shipment_id = i.shipment_id AND l.sequence = i.link_sequence
    WHERE i.responsibility_status = 'unassigned' AND i.discovered_at < %(unassigned_before)s
    UNION ALL
    SELECT 'claim_past_notice_deadline', c.shipment_id, NULL, c.incident_id, c.claim_id,
           c.responsible_partner_id, c.notice_deadline,
           'the notice deadline ' || c.notice_deadline
           || ' passed without a recovery claim against the party at fault'
    FROM audit_claim c
    WHERE c.notice_deadline < %(now)s AND c.recovery_claimed IS NULL
      AND NOT c.recovery_waived AND c.closed_at IS NULL
      AND c.responsible_partner_id IS NOT NULL
    UNION ALL
    SELECT 'recovery_time_barred', c.shipment_id, NULL, c.incident_id, c.claim_id,
           c.responsible_partner_id, c.time_bar,
           'the time bar ' || c.time_bar || ' passed and no recovery was claimed'
    FROM audit_claim c
    WHERE c.time_bar < %(now)s AND c.recovery_claimed IS NULL AND NOT c.recovery_waived
      AND c.responsible_partner_id IS NOT NULL
    UNION ALL
    SELECT 'compensation_without_recovery_decision', c.shipment_id, NULL, c.incident_id,
           c.claim_id, c.responsible_partner_id, c.compensated_at,
           'compensation of ' || c.compensation_paid || ' ' || c.currency
           || ' paid, and recovery neither claimed nor waived'
    FROM audit_claim c
    WHERE c.compensation_paid IS NOT NULL AND c.recovery_claimed IS NULL
      AND NOT c.recovery_waived
      AND (c.responsible_party IS NULL OR c.responsible_partner_id IS NOT NULL)
)
SELECT f.kind, f.shipment_id, s.reference, s.customer_id, a.branch, f.partner_id,
       f.link_sequence, f.incident_id, f.claim_id, f.since, f.detail
FROM found f
JOIN shipment_audit s ON s.shipment_id = f.shipment_id
LEFT JOIN account_status a ON a.relationship_id = s.customer_id
WHERE (%(kind)s::text IS NULL OR f.kind = %(kind)s)
  AND (%(branch)s::text IS NULL OR a.branch = %(branch)s)
  AND (%(partner)s::uuid IS NULL OR f.partner_id = %(partner)s)
ORDER BY f.since NULLS LAST, s.booked_position, f.kind
LIMIT %(limit)s
"""


def findings(
    conn: ReadConnection,
    *,
    now: datetime,
    unassigned_after: timedelta,
    kind: FindingKind | None = None,
    branch: str | None = None,
    partner_id: UUID | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    return conn.execute(
        _FINDINGS,
        {
            "now": now,
            "unassigned_before": now - unassigned_after,
            "kind": kind.value if kind else None,
            "branch": branch,
            "partner": partner_id,
            "limit": limit,
        },
    ).fetchall()


def scorecard(conn: ReadConnection, partner_id: UUID) -> dict[str, Any]:
    """Links run, on-time share, incidents attributed and recovery outstanding."""
    links = conn.execute(
        """
        SELECT count(*) FILTER (WHERE status = 'completed') AS links_run,
               count(*) FILTER (WHERE status <> 'completed' AND custody_from IS NOT NULL)
                   AS links_in_progress,
               count(*) FILTER (WHERE status = 'completed' AND completed_at <= planned_end)
                   AS links_on_time
        FROM audit_link WHERE partner_id = %s
        """,
        (partner_id,),
    ).fetchone()
    incidents = conn.execute(
        """
        SELECT count(*) AS attributed,
               count(*) FILTER (WHERE responsibility_status = 'disputed') AS disputed,
               count(*) FILTER (WHERE resolved_at IS NULL) AS open
        FROM audit_incident WHERE responsible_partner_id = %s
        """,
        (partner_id,),
    ).fetchone()
    recovery = conn.execute(
        """
        SELECT currency,
               sum(recovery_claimed) AS claimed,
               sum(COALESCE(recovery_received, 0)) AS received,
               sum(recovery_claimed - COALESCE(recovery_received, 0)) AS outstanding
        FROM audit_claim WHERE recovery_from = %s AND recovery_claimed IS NOT NULL
        GROUP BY currency ORDER BY currency
        """,
        (partner_id,),
    ).fetchall()
    assert links is not None
    assert incidents is not None
    run = int(links["links_run"])
    return {
        "partner_id": partner_id,
        "links_run": run,
        "links_in_progress": int(links["links_in_progress"]),
        "links_on_time": int(links["links_on_time"]),
        "on_time_share": (int(links["links_on_time"]) / run) if run else None,
        "incidents_attributed": int(incidents["attributed"]),
        "incidents_disputed": int(incidents["disputed"]),
        "incidents_open": int(incidents["open"]),
        "recovery": [dict(r) for r in recovery],
    }
