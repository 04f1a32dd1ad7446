"""Reading the responsibility audit: shipments, findings and partner scorecards.

Findings are computed when asked, because most depend on the time of asking (a deadline
passes without any event). Each names the shipment, the customer's branch and the
partner concerned, so an auditor can filter by either.

A damaged or short handover is a finding when no incident covers it, and its partner is
the party the responsibility rules propose for it: both are the domain's
(``Shipment.handover_exceptions``), stored by the writer, never restated here; so is a
handover that breached the cargo's conditions (``Shipment.condition_breaches``), answered
for by the link that held the goods. Custody gaps and overlaps compare each link that holds
goods with the next one that does (custody passes over logistics information). An
unassigned incident names the party the rules propose for it too
(``Shipment.propose_responsibility``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from projections.freshness import ReadConnection, decode_cursor, page


class FindingKind(StrEnum):
    CUSTODY_GAP = "custody_gap"
    CUSTODY_OVERLAP = "custody_overlap"
    DAMAGED_HANDOVER_WITHOUT_INCIDENT = "damaged_handover_without_incident"
    #: A handover recorded a breach of the cargo's conditions and no incident covers it.
    CARGO_CONDITION_BREACHED = "cargo_condition_breached"
    INCIDENT_UNASSIGNED = "incident_unassigned"
    #: A partner did not answer the responsibility proposed to it in time: it counts as
    #: accepted.
    RESPONSIBILITY_DEEMED_ACCEPTED = "responsibility_deemed_accepted"
    #: The recovery notice deadline passed and the party at fault has had no notice.
    CLAIM_PAST_NOTICE_DEADLINE = "claim_past_notice_deadline"
    #: The party at fault had notice only after the recovery notice deadline.
    RECOVERY_NOTICE_LATE = "recovery_notice_late"
    #: The recovery time bar passed and no recovery was claimed.
    RECOVERY_TIME_BARRED = "recovery_time_barred"
    COMPENSATION_WITHOUT_RECOVERY_DECISION = "compensation_without_recovery_decision"


#: The tag of the shipment list's cursors.
SHIPMENT_CURSOR = "s"


@dataclass(frozen=True)
class ShipmentFilter:
    customer_id: UUID | None = None
    status: str | None = None
    party: str | None = None  # "branch:<name>" or "partner:<id>"
    mode: str | None = None
    #: The shipments of the customers of this branch ...
    customer_branch: str | None = None
    #: ... and those one of whose links this party ("branch:<name>" or "partner:<id>")
    #: runs, each with the sequences of its links (``links_run``).
    runner: str | None = None


_SHIPMENT_COLUMNS = (
    "shipment_id, customer_id, reference, origin, destination, status, modes, parties, "
    "current_holder, booked_at, delivered_at, open_incidents, open_claims, compensation_paid, "
    "version, position, updated_at, booked_position"
)


def list_shipments(
    conn: ReadConnection, where: ShipmentFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Shipments in booking order: all, or those of ``customer_branch``'s customers and
    those ``runner`` runs a link of (either, when both are given), each with the branch that
    booked it (its customer's) and the sequences of the links ``runner`` runs."""
    clauses: list[str] = []
    params: list[Any] = [where.runner]
    seen: list[str] = []
    if where.customer_branch is not None:
        seen.append("customer_id IN (SELECT relationship_id FROM account_status WHERE branch = %s)")
        params.append(where.customer_branch)
    if where.runner is not None:
        seen.append("parties @> ARRAY[%s]::text[]")
        params.append(where.runner)
    if seen:
        clauses.append("(" + " OR ".join(seen) + ")")
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
    if cursor is not None:
        clauses.append("booked_position > %s")
        params.append(decode_cursor(cursor, SHIPMENT_CURSOR))
    sql = (
        f"SELECT {_SHIPMENT_COLUMNS}, "
        "(SELECT a.branch FROM account_status a WHERE a.relationship_id = s.customer_id) "
        "AS booking_branch, "
        "ARRAY(SELECT l.sequence FROM audit_link l WHERE l.shipment_id = s.shipment_id "
        "AND l.party = %s ORDER BY l.sequence) AS links_run "
        "FROM shipment_audit s"
    )
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY booked_position LIMIT %s"
    params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
    return page(rows, limit, "booked_position", SHIPMENT_CURSOR)


def get_responsibility(conn: ReadConnection, shipment_id: UUID) -> dict[str, Any] | None:
    """The auditor's view of a shipment: every party with its name as of the event that
    named it (``name``) and, for a partner, its name now (``current_name``)."""
    row = conn.execute(
        "SELECT view, position, updated_at FROM shipment_audit WHERE shipment_id = %s",
        (shipment_id,),
    ).fetchone()
    if row is None:
        return None
    view: dict[str, Any] = row["view"]
    parties = list(_partner_parties(view))
    current = current_names(conn, sorted({p["key"] for p in parties}))
    for party in parties:
        party["current_name"] = current.get(party["key"])
    _with_attachments(view, attachments(conn, shipment_id))
    view["position"] = row["position"]
    view["updated_at"] = row["updated_at"]
    return view


def attachments(conn: ReadConnection, aggregate_id: UUID) -> list[dict[str, Any]]:
    """The files attached to a shipment's incidents, claims and handovers, or to a
    relationship's interactions, in the order they were attached (a file once per record
    it is attached to)."""
    return [
        dict(row)
        for row in conn.execute(
            "SELECT target, target_id, sha256, size, media_type, file_name, attached_by, "
            "attached_at, position FROM audit_evidence WHERE aggregate_id = %s "
            "ORDER BY position, target, target_id, sha256",
            (aggregate_id,),
        ).fetchall()
    ]


def attached_file(conn: ReadConnection, aggregate_id: UUID, sha256: str) -> str | None:
    """The media type of a file attached to the shipment or relationship; None: no such
    file is attached to it."""
    row = conn.execute(
        "SELECT media_type FROM audit_evidence WHERE aggregate_id = %s AND sha256 = %s LIMIT 1",
        (aggregate_id, sha256),
    ).fetchone()
    return None if row is None else str(row["media_type"])


def _with_attachments(view: dict[str, Any], files: list[dict[str, Any]]) -> None:
    """Each incident, claim and handover of the view with the files attached to it, and
    the view with all of them (``attachments``)."""

    def of(target: str, target_id: object) -> list[dict[str, Any]]:
        return [f for f in files if f["target"] == target and f["target_id"] == str(target_id)]

    view["attachments"] = files
    for incident in view.get("incidents", []):
        incident["attachments"] = of("incident", incident["incident_id"])
    for claim in view.get("claims", []):
        claim["attachments"] = of("claim", claim["claim_id"])
    links = view.get("chain", [])
    for link in links:
        if link.get("handover_in") is not None:
            link["handover_in"]["attachments"] = of("handover", link["sequence"])
    if links and links[-1].get("handover_out") is not None:
        links[-1]["handover_out"]["attachments"] = of("handover", len(links) + 1)


def _partner_parties(value: Any) -> Any:
    """Every partner party (a dict with ``key`` and ``kind`` partner) within a view."""
    if isinstance(value, dict):
        if value.get("kind") == "partner" and "key" in value:
            yield value
        for item in value.values():
            yield from _partner_parties(item)
    elif isinstance(value, list):
        for item in value:
            yield from _partner_parties(item)


def current_names(conn: ReadConnection, parties: list[str]) -> dict[str, str]:
    """The latest name of each party (``partner:<id>``, ``staff:<id>``) the audit knows."""
    if not parties:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (party) party, name FROM audit_party_name WHERE party = ANY(%s) "
        "ORDER BY party, position DESC",
        (parties,),
    ).fetchall()
    return {r["party"]: r["name"] for r in rows}


_FINDINGS = """
WITH custody_links AS (
    SELECT l.*, lead(l.sequence) OVER chain AS next_sequence
    FROM audit_link l
    WHERE l.takes_custody
    WINDOW chain AS (PARTITION BY l.shipment_id ORDER BY l.sequence)
),
link_pairs AS (
    SELECT l1.shipment_id, l1.sequence AS from_sequence, l2.sequence AS to_sequence,
           l1.custody_until, l2.custody_from, l2.party, l2.partner_id, l2.party_name
    FROM custody_links l1
    JOIN custody_links l2 ON l2.shipment_id = l1.shipment_id
                         AND l2.sequence = l1.next_sequence
),
found AS (
    SELECT 'custody_gap' AS kind, p.shipment_id, p.to_sequence AS link_sequence,
           NULL::uuid AS incident_id, NULL::uuid AS claim_id, p.party, p.partner_id,
           p.party_name, COALESCE(p.custody_until, p.custody_from) AS since,
           'nobody held the goods between link ' || p.from_sequence || ' releasing them at '
           || COALESCE(p.custody_until::text, '?') || ' and link ' || p.to_sequence
           || ' receiving them at ' || COALESCE(p.custody_from::text, 'no time') AS detail
    FROM link_pairs p
    WHERE (p.custody_until IS NOT NULL AND p.custody_from IS NOT NULL
           AND p.custody_from > p.custody_until)
       OR (p.custody_until IS NOT NULL AND p.custody_from IS NULL)
    UNION ALL
    SELECT 'custody_overlap', p.shipment_id, p.to_sequence, NULL, NULL, p.party, p.partner_id,
           p.party_name, p.custody_from,
           'link ' || p.to_sequence || ' received the goods at ' || p.custody_from
           || ' while link ' || p.from_sequence || ' held them until '
           || COALESCE(p.custody_until::text, 'now')
    FROM link_pairs p
    WHERE p.custody_from IS NOT NULL
      AND (p.custody_until IS NULL OR p.custody_from < p.custody_until)
    UNION ALL
    SELECT 'damaged_handover_without_incident', e.shipment_id, e.link_sequence, NULL, NULL,
           e.responsible_party, e.responsible_partner_id, e.responsible_party_name,
           e.handed_over_at,
           CASE WHEN e.to_consignee
                THEN 'delivered to the consignee in ' || e.condition || ' condition'
                ELSE 'link ' || e.link_sequence || ' received the goods in ' || e.condition
                     || ' condition'
           END || ' and no incident of that kind was reported there or before; proposed: '
           || COALESCE(e.responsible_party_name || ' (' || e.responsible_party || ')',
                       e.responsible_party) || ' (link ' || e.responsible_link_sequence || ')'
    FROM audit_handover_exception e
    WHERE e.covered_by IS NULL
    UNION ALL
    SELECT 'cargo_condition_breached', b.shipment_id, b.link_sequence, NULL, NULL,
           b.responsible_party, b.responsible_partner_id, b.responsible_party_name,
           b.handed_over_at,
           CASE WHEN b.to_consignee
                THEN 'delivered to the consignee'
                ELSE 'link ' || b.link_sequence || ' received the goods'
           END || ' with a ' || b.kind || ' breach of the cargo''s conditions (' || b.detail
           || ') and no incident was reported there or before; held by: '
           || COALESCE(b.responsible_party_name || ' (' || b.responsible_party || ')',
                       b.responsible_party) || ' (link ' || b.responsible_link_sequence || ')'
    FROM audit_condition_breach b
    WHERE b.covered_by IS NULL
    UNION ALL
    SELECT 'incident_unassigned', i.shipment_id, i.link_sequence, i.incident_id, NULL,
           i.proposed_party, i.proposed_partner_id, i.proposed_party_name, i.discovered_at,
           i.kind || ' discovered at ' || i.discovered_at
           || ' has no responsible party assigned; proposed: '
           || COALESCE(i.proposed_party_name || ' (' || i.proposed_party || ')', i.proposed_party)
    FROM audit_incident i
    WHERE i.responsibility_status = 'unassigned' AND i.discovered_at < %(unassigned_before)s
    UNION ALL
    SELECT 'responsibility_deemed_accepted', i.shipment_id, i.link_sequence, i.incident_id,
           NULL, i.responsible_party, i.responsible_partner_id, i.responsible_party_name,
           i.assigned_at,
           'responsibility proposed to '
           || COALESCE(i.responsible_party_name || ' (' || i.responsible_party || ')',
                       i.responsible_party) || ' at ' || i.assigned_at
           || ' was neither accepted nor disputed in time; it counts as accepted'
    FROM audit_incident i
    WHERE i.responsibility_status = 'assigned' AND i.responsible_partner_id IS NOT NULL
      AND i.resolved_at IS NULL AND i.assigned_at < %(answer_before)s
    UNION ALL
    SELECT 'claim_past_notice_deadline', c.shipment_id, NULL, c.incident_id, c.claim_id,
           c.responsible_party, c.responsible_partner_id, c.responsible_party_name,
           c.recovery_notice_deadline,
           'the recovery notice deadline ' || c.recovery_notice_deadline
           || ' passed without notice to the party at fault'
    FROM audit_claim c
    WHERE c.recovery_notice_deadline < %(now)s AND c.recovery_noticed_at IS NULL
      AND c.recovery_claimed IS NULL
      AND NOT c.recovery_waived AND c.closed_at IS NULL
      AND c.responsible_partner_id IS NOT NULL
    UNION ALL
    SELECT 'recovery_notice_late', c.shipment_id, NULL, c.incident_id, c.claim_id,
           c.responsible_party, c.responsible_partner_id, c.responsible_party_name,
           c.recovery_noticed_at,
           'the party at fault had notice at ' || c.recovery_noticed_at
           || ', after the recovery notice deadline ' || c.recovery_notice_deadline
    FROM audit_claim c
    WHERE c.recovery_noticed_at > c.recovery_notice_deadline
      AND c.responsible_partner_id IS NOT NULL
    UNION ALL
    SELECT 'recovery_time_barred', c.shipment_id, NULL, c.incident_id, c.claim_id,
           c.responsible_party, c.responsible_partner_id, c.responsible_party_name,
           c.recovery_time_bar,
           'the recovery time bar ' || c.recovery_time_bar || ' passed and no recovery was claimed'
    FROM audit_claim c
    WHERE c.recovery_time_bar < %(now)s AND c.recovery_claimed IS NULL
      AND NOT c.recovery_waived AND c.responsible_partner_id IS NOT NULL
    UNION ALL
    SELECT 'compensation_without_recovery_decision', c.shipment_id, NULL, c.incident_id,
           c.claim_id, c.responsible_party, c.responsible_partner_id, c.responsible_party_name,
           c.compensated_at,
           'compensation of ' || c.compensation_paid || ' ' || c.currency
           || ' paid, and recovery neither claimed nor waived'
    FROM audit_claim c
    WHERE c.compensation_paid IS NOT NULL AND c.recovery_claimed IS NULL
      AND NOT c.recovery_waived
      AND (c.responsible_party IS NULL OR c.responsible_partner_id IS NOT NULL)
)
SELECT f.kind, f.shipment_id, s.reference, s.customer_id, a.branch, f.party, f.partner_id,
       f.party_name,
       CASE WHEN f.party LIKE 'branch:%%' THEN f.party_name ELSE cur.name END
           AS party_current_name,
       f.link_sequence, f.incident_id, f.claim_id, f.since, f.detail
FROM found f
JOIN shipment_audit s ON s.shipment_id = f.shipment_id
LEFT JOIN account_status a ON a.relationship_id = s.customer_id
LEFT JOIN LATERAL (
    SELECT n.name FROM audit_party_name n WHERE n.party = f.party
    ORDER BY n.position DESC LIMIT 1
) cur ON true
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
    answer_within: timedelta = timedelta(days=7),
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
            "answer_before": now - answer_within,
            "kind": kind.value if kind else None,
            "branch": branch,
            "partner": partner_id,
            "limit": limit,
        },
    ).fetchall()


def link_counts(link: str = "l") -> str:
    """SQL: a partner's ``audit_link`` rows ``link`` as its scorecard counts them — run
    (completed), in progress (the goods received, not completed), on time (completed by
    the planned end). Three aggregates, named so."""
    return f"""
        count(*) FILTER (WHERE {link}.status = 'completed') AS links_run,
        count(*) FILTER (WHERE {link}.status <> 'completed' AND {link}.custody_from IS NOT NULL)
            AS links_in_progress,
        count(*) FILTER (WHERE {link}.status = 'completed'
                         AND {link}.completed_at <= {link}.planned_end) AS links_on_time"""


def link_costs(links: str) -> str:
    """SQL: the cost of the ``audit_link`` rows ``links`` (a relation with their columns),
    per partner and currency — links with a planned cost and its total, links invoiced
    and their total, and, of the links invoiced in the currency they were planned in, how
    many and by how much the invoices exceeded the plan (negative: below it)."""
    return f"""
        WITH costed AS ({links}),
        planned AS (
            SELECT partner_id, planned_currency AS currency, count(*) AS n,
                   sum(planned_cost) AS total
            FROM costed WHERE planned_cost IS NOT NULL GROUP BY 1, 2
        ),
        invoiced AS (
            SELECT partner_id, actual_currency AS currency, count(*) AS n,
                   sum(actual_cost) AS total
            FROM costed WHERE actual_cost IS NOT NULL GROUP BY 1, 2
        ),
        compared AS (
            SELECT partner_id, actual_currency AS currency, count(*) AS n,
                   sum(actual_cost - planned_cost) AS variance
            FROM costed WHERE actual_cost IS NOT NULL AND planned_currency = actual_currency
            GROUP BY 1, 2
        )
        SELECT partner_id, currency,
               COALESCE(p.n, 0) AS links_planned, p.total AS planned_total,
               COALESCE(i.n, 0) AS links_invoiced, i.total AS actual_total,
               COALESCE(c.n, 0) AS links_compared, c.variance
        FROM planned p
        FULL JOIN invoiced i USING (partner_id, currency)
        FULL JOIN compared c USING (partner_id, currency)
        ORDER BY partner_id, currency"""


def partner_rewards(rewards: str) -> str:
    """SQL: the ``audit_partner_reward`` rows ``rewards`` per partner and currency —
    charge-backs and bonuses, their totals, and the net charged back (charge-backs less
    bonuses: what the partner owes us net)."""
    return f"""
        SELECT partner_id, currency,
               count(*) FILTER (WHERE kind = 'charge_back') AS charge_backs,
               COALESCE(sum(amount) FILTER (WHERE kind = 'charge_back'), 0)
                   AS charge_back_total,
               count(*) FILTER (WHERE kind = 'bonus') AS bonuses,
               COALESCE(sum(amount) FILTER (WHERE kind = 'bonus'), 0) AS bonus_total
        FROM ({rewards}) r
        GROUP BY partner_id, currency ORDER BY partner_id, currency"""


_CENT = Decimal("0.01")


def _per_link(total: Decimal | None, links: int) -> Decimal | None:
    return (total / links).quantize(_CENT, ROUND_HALF_UP) if total is not None and links else None


def cost_figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """One currency's line of a partner's link costs, with the cost per link planned and
    invoiced (to the cent, half up)."""
    return {
        "currency": row["currency"],
        "links_planned": int(row["links_planned"]),
        "planned_total": row["planned_total"],
        "planned_per_link": _per_link(row["planned_total"], int(row["links_planned"])),
        "links_invoiced": int(row["links_invoiced"]),
        "actual_total": row["actual_total"],
        "actual_per_link": _per_link(row["actual_total"], int(row["links_invoiced"])),
        "links_compared": int(row["links_compared"]),
        "variance": row["variance"],
    }


def reward_figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """One currency's line of a partner's rewards and penalties, with the net."""
    return {
        "currency": row["currency"],
        "charge_backs": int(row["charge_backs"]),
        "charge_back_total": row["charge_back_total"],
        "bonuses": int(row["bonuses"]),
        "bonus_total": row["bonus_total"],
        "net_charged_back": row["charge_back_total"] - row["bonus_total"],
    }


def scorecard(conn: ReadConnection, partner_id: UUID) -> dict[str, Any]:
    """Links run, on-time share, incidents attributed and recovery outstanding; the
    partner's name now and, per name it went by at the time of its links (when they were
    planned or reassigned) and incidents (when responsibility was assigned), how many;
    beside them what the partner's links cost (per currency, planned and invoiced) and its
    rewards and penalties (charge-backs and bonuses per currency, and the net)."""
    links = conn.execute(
        f"SELECT {link_counts()} FROM audit_link l WHERE l.partner_id = %s", (partner_id,)
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
    names = conn.execute(
        """
        SELECT name, sum(links) AS links, sum(incidents) AS incidents_attributed,
               min(since) AS first_at
        FROM (
            SELECT party_name AS name, 1 AS links, 0 AS incidents, planned_end AS since
            FROM audit_link WHERE partner_id = %(partner)s
            UNION ALL
            SELECT responsible_party_name, 0, 1, COALESCE(assigned_at, discovered_at)
            FROM audit_incident WHERE responsible_partner_id = %(partner)s
        ) named
        WHERE name IS NOT NULL
        GROUP BY name ORDER BY first_at, name
        """,
        {"partner": partner_id},
    ).fetchall()
    costs = conn.execute(
        link_costs("SELECT * FROM audit_link WHERE partner_id = %(partner)s"),
        {"partner": partner_id},
    ).fetchall()
    rewards = conn.execute(
        partner_rewards("SELECT * FROM audit_partner_reward WHERE partner_id = %(partner)s"),
        {"partner": partner_id},
    ).fetchall()
    assert links is not None
    assert incidents is not None
    run = int(links["links_run"])
    return {
        "partner_id": partner_id,
        "name": current_names(conn, [f"partner:{partner_id}"]).get(f"partner:{partner_id}"),
        "names": [
            {
                "name": r["name"],
                "links": int(r["links"]),
                "incidents_attributed": int(r["incidents_attributed"]),
            }
            for r in names
        ],
        "links_run": run,
        "links_in_progress": int(links["links_in_progress"]),
        "links_on_time": int(links["links_on_time"]),
        "on_time_share": (int(links["links_on_time"]) / run) if run else None,
        "incidents_attributed": int(incidents["attributed"]),
        "incidents_disputed": int(incidents["disputed"]),
        "incidents_open": int(incidents["open"]),
        "recovery": [dict(r) for r in recovery],
        "costs": [cost_figures(r) for r in costs],
        "rewards": [reward_figures(r) for r in rewards],
    }
