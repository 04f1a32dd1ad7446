"""Opportunity mining over the read models: each relationship's suggested next offerings
(``domain.mining``), from the shipments of the responsibility audit (their lane, main
carriage and weight), their charges (customer value), the opportunities won, the
relationships' industry and region (account status) and the catalogue (offerings), as all
of it stood at ``as_of``.

A relationship's suggestions compare it with its industry peers of every branch (only
their counts show in a reason); the managers' view lists the suggestions of the customers
in scope, best first, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.mining import (
    BookedShipment,
    BuyerProfile,
    CatalogueOffering,
    Market,
    MiningPolicy,
    OfferingWon,
    Suggestion,
)
from projections.decisions.scope import Scope
from projections.freshness import ReadConnection

#: The read models the suggestions read.
SUGGESTION_READ_MODELS = (
    "account_status",
    "responsibility_audit",
    "customer_value",
    "opportunities",
    "offerings",
)

#: The kinds of relationship that buy from us, whose suggestions are listed.
BUYERS = ("customer", "target", "prospect")


def load_market(
    conn: ReadConnection, *, as_of: datetime, policy: MiningPolicy | None = None
) -> Market:
    """Every relationship's history up to ``as_of``, read from the read models."""
    accounts = [
        BuyerProfile(r["relationship_id"], r["kind"], r["industry"], r["region"], r["branch"])
        for r in conn.execute(
            "SELECT relationship_id, kind, industry, region, branch FROM account_status"
        ).fetchall()
    ]
    bookings = [
        BookedShipment(
            r["shipment_id"],
            r["customer_id"],
            r["booked_at"],
            r["origin"],
            r["destination"],
            r["mode"],
            Decimal(r["weight"]) if r["weight"] is not None else None,
            {c: Decimal(a) for c, a in (r["quoted"] or {}).items()},
        )
        for r in conn.execute(
            """
            SELECT s.shipment_id, s.customer_id, s.booked_at, s.origin, s.destination,
                   (SELECT l.mode FROM audit_link l
                    WHERE l.shipment_id = s.shipment_id AND l.function = 'main_carriage'
                    ORDER BY l.sequence LIMIT 1) AS mode,
                   s.view -> 'cargo' ->> 'gross_weight_kg' AS weight,
                   v.quoted
            FROM shipment_audit s LEFT JOIN value_shipment v USING (shipment_id)
            WHERE s.status <> 'cancelled' AND s.booked_at <= %s
            """,
            (as_of,),
        ).fetchall()
    ]
    wins = [
        OfferingWon(r["relationship_id"], r["offering_id"], r["decided_at"])
        for r in conn.execute(
            "SELECT relationship_id, offering_id, decided_at FROM opportunity "
            "WHERE status = 'won' AND decided_at <= %s",
            (as_of,),
        ).fetchall()
    ]
    offerings = [
        CatalogueOffering(
            r["offering_id"],
            r["name"],
            r["origin"],
            r["destination"],
            r["mode"],
            r["service_level"],
            r["transit_days"],
            r["status"] == "active",
            r["launched_at"],
        )
        for r in conn.execute(
            "SELECT offering_id, name, origin, destination, mode, service_level, "
            "transit_days, status, launched_at FROM offering WHERE launched_at <= %s",
            (as_of,),
        ).fetchall()
    ]
    return Market(
        accounts=accounts,
        bookings=bookings,
        wins=wins,
        offerings=offerings,
        as_of=as_of,
        policy=policy,
    )


def relationship_suggestions(
    conn: ReadConnection, relationship_id: UUID, *, as_of: datetime
) -> list[Suggestion] | None:
    """The relationship's suggestions; None if there is no such relationship."""
    market = load_market(conn, as_of=as_of)
    if relationship_id not in market.accounts:
        return None
    return market.suggestions(relationship_id)


@dataclass(frozen=True)
class RankedSuggestion:
    suggestion: Suggestion
    name: str
    branch: str


def suggestions_in_scope(
    conn: ReadConnection, scope: Scope, *, as_of: datetime
) -> list[RankedSuggestion]:
    """The suggestions of every buyer in scope, best first: score, then the customer's
    name, then the offering's."""
    rows = conn.execute(
        f"""
        SELECT relationship_id, name, branch FROM account_status a
        WHERE {scope.sql()} AND a.kind = ANY(%(kinds)s)
        """,
        scope.params(kinds=list(BUYERS)),
    ).fetchall()
    market = load_market(conn, as_of=as_of)
    ranked: list[RankedSuggestion] = []
    for r in rows:
        for s in market.suggestions(r["relationship_id"]):
            ranked.append(RankedSuggestion(s, r["name"], r["branch"]))
    ranked.sort(key=_rank)
    return ranked


def _rank(item: RankedSuggestion) -> tuple[Any, ...]:
    s = item.suggestion
    return (-s.score, item.name, str(s.relationship_id), s.offering_name or "", str(s.offering_id))
