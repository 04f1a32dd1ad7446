"""Partners ranked on the in-scope customers' shipments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections.decisions.scope import Scope
from projections.freshness import ReadConnection
from projections.responsibility_audit.queries import (
    cost_figures,
    link_costs,
    link_counts,
    partner_rewards,
    reward_figures,
)


def partner_ranking(conn: ReadConnection, scope: Scope) -> list[dict[str, Any]]:
    """Partners ranked on the in-scope customers' shipments, with the scorecard's figures
    (``projections.responsibility_audit.queries.scorecard``): links run, on-time share, incidents
    attributed, recovery outstanding; its name now (``name``) and the names it went by at
    the time of those links and incidents (``names``, in the order first used); beside them
    the links' costs (per currency, planned and invoiced) and the partner's charge-backs and
    bonuses (charge-backs of the shipments in scope; bonuses, which name no shipment,
    whatever the scope). Costs and rewards are in several currencies and do not rank. Ranked
    by on-time share (highest first, partners with no completed link last), then incidents
    attributed per link run (fewest first), then links run (most first)."""
    rows = conn.execute(
        f"""
        WITH scoped AS (
            SELECT s.shipment_id FROM shipment_audit s
            JOIN account_status a ON a.relationship_id = s.customer_id
            WHERE {scope.sql()}
        ),
        links AS (
            SELECT l.partner_id, {link_counts()}
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
        ),
        named AS (
            SELECT partner_id, array_agg(name ORDER BY first_at, name) AS names FROM (
                SELECT partner_id, name, min(since) AS first_at FROM (
                    SELECT l.partner_id, l.party_name AS name, l.planned_end AS since
                    FROM audit_link l JOIN scoped USING (shipment_id)
                    WHERE l.partner_id IS NOT NULL
                    UNION ALL
                    SELECT i.responsible_partner_id, i.responsible_party_name,
                           COALESCE(i.assigned_at, i.discovered_at)
                    FROM audit_incident i JOIN scoped USING (shipment_id)
                    WHERE i.responsible_partner_id IS NOT NULL
                ) t WHERE name IS NOT NULL GROUP BY partner_id, name
            ) u GROUP BY partner_id
        )
        SELECT p.relationship_id AS partner_id, p.name,
               COALESCE(n.names, ARRAY[]::text[]) AS names,
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
        LEFT JOIN named n ON n.partner_id = p.relationship_id
        WHERE p.kind = 'partner'
          AND (l.partner_id IS NOT NULL OR i.partner_id IS NOT NULL OR r.partner_id IS NOT NULL)
        """,
        scope.params(),
    ).fetchall()
    costs: dict[Any, list[dict[str, Any]]] = {}
    for row in conn.execute(
        link_costs(
            f"""SELECT l.* FROM audit_link l
                JOIN shipment_audit s USING (shipment_id)
                JOIN account_status a ON a.relationship_id = s.customer_id
                WHERE l.partner_id IS NOT NULL AND {scope.sql()}"""
        ),
        scope.params(),
    ).fetchall():
        costs.setdefault(row["partner_id"], []).append(cost_figures(row))
    rewards: dict[Any, list[dict[str, Any]]] = {}
    for row in conn.execute(
        partner_rewards(
            f"""SELECT w.* FROM audit_partner_reward w
                LEFT JOIN shipment_audit s USING (shipment_id)
                LEFT JOIN account_status a ON a.relationship_id = s.customer_id
                WHERE w.kind = 'bonus' OR {scope.sql()}"""
        ),
        scope.params(),
    ).fetchall():
        rewards.setdefault(row["partner_id"], []).append(reward_figures(row))
    ranked = []
    for r in rows:
        run = int(r["links_run"])
        ranked.append(
            {
                **r,
                "on_time_share": int(r["links_on_time"]) / run if run else None,
                "incidents_per_link": int(r["incidents_attributed"]) / run if run else None,
                "recovery_outstanding": {
                    currency: Decimal(amount)
                    for currency, amount in r["recovery_outstanding"].items()
                },
                "costs": costs.get(r["partner_id"], []),
                "rewards": rewards.get(r["partner_id"], []),
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
