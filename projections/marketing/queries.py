"""Reading market management: segments, their members evaluated live, campaigns and their
results.

A segment's rules are compiled to one SQL condition over the read models
(``member_condition``): account status (kind, industry, region, branch, lifecycle, key
account), the full-chain audit's shipments (lanes shipped, cancelled shipments left out),
customer value's revenue (realised value per currency) and — for RFM segments, which are
scored over the whole population by the value models — the ids of the customers the models
place in them, passed in as a parameter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from domain.marketing import SegmentRules
from projections.freshness import ReadConnection, decode_cursor, page
from projections.marketing.writer import NO_BRANCH

#: Members are evaluated over these read models.
MEMBER_READ_MODELS = ("account_status", "responsibility_audit", "customer_value")
#: Campaign results join account status for each relationship's branch.
RESULT_READ_MODELS = ("marketing", "account_status")

CENT = Decimal("0.01")


def member_condition(
    rules: SegmentRules, rfm_members: Collection[UUID] | None
) -> tuple[str, dict[str, Any]]:
    """SQL over ``account_status a`` that holds for the segment's members, and its
    parameters; ``rfm_members``: the customers in the rules' RFM segments (needed when the
    rules name any)."""
    clauses: list[str] = []
    params: dict[str, Any] = {}

    def any_of(column: str, name: str, values: list[str], *, fold: bool = False) -> None:
        if fold:
            clauses.append(f"lower({column}) = ANY(%({name})s)")
            params[name] = [v.lower() for v in values]
        else:
            clauses.append(f"{column} = ANY(%({name})s)")
            params[name] = values

    if rules.kinds is not None:
        any_of("a.kind", "r_kinds", [k.value for k in rules.kinds])
    if rules.industries is not None:
        any_of("a.industry", "r_industries", rules.industries, fold=True)
    if rules.regions is not None:
        any_of("a.region", "r_regions", rules.regions, fold=True)
    if rules.branches is not None:
        any_of("a.branch", "r_branches", rules.branches)
    if rules.lifecycles is not None:
        any_of("a.lifecycle", "r_lifecycles", [v.value for v in rules.lifecycles])
    if rules.key_account is not None:
        clauses.append("a.key_account = %(r_key_account)s")
        params["r_key_account"] = rules.key_account
    if rules.rfm_segments is not None:
        clauses.append("a.relationship_id = ANY(%(r_rfm)s)")
        params["r_rfm"] = list(rfm_members or ())
    if rules.lanes_shipped is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM shipment_audit s "
            "JOIN unnest(%(r_origins)s::text[], %(r_destinations)s::text[]) AS l(o, d) "
            "ON lower(s.origin) = l.o AND lower(s.destination) = l.d "
            "WHERE s.customer_id = a.relationship_id AND s.status <> 'cancelled')"
        )
        params["r_origins"] = [lane.origin.strip().lower() for lane in rules.lanes_shipped]
        params["r_destinations"] = [
            lane.destination.strip().lower() for lane in rules.lanes_shipped
        ]
    if rules.min_realised_value is not None:
        clauses.append(
            "(SELECT COALESCE(sum(v.amount), 0) FROM value_revenue v "
            "WHERE v.customer_id = a.relationship_id AND v.currency = %(r_currency)s) "
            ">= %(r_min_value)s"
        )
        params["r_currency"] = rules.min_realised_value.currency
        params["r_min_value"] = rules.min_realised_value.amount
    return (" AND ".join(clauses) or "true"), params


def segment_members(
    conn: ReadConnection,
    rules: SegmentRules,
    *,
    rfm_members: Collection[UUID] | None,
    branch: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[int, list[dict[str, Any]], str | None]:
    """How many relationships the rules hold for (of ``branch`` only, if given), and a page
    of them in the order they were registered."""
    condition, params = member_condition(rules, rfm_members)
    if branch is not None:
        condition += " AND a.branch = %(scope)s"
        params["scope"] = branch
    count = conn.execute(
        f"SELECT count(*) AS n FROM account_status a WHERE {condition}",  # type: ignore[arg-type]
        params,
    ).fetchone()
    assert count is not None
    after = "" if cursor is None else " AND a.registered_position > %(after)s"
    if cursor is not None:
        params["after"] = decode_cursor(cursor)
    rows = conn.execute(  # type: ignore[call-overload]
        "SELECT a.relationship_id, a.name, a.kind, a.lifecycle, a.industry, a.region, "
        "a.branch, a.key_account, a.registered_position FROM account_status a "
        f"WHERE {condition}{after} ORDER BY a.registered_position LIMIT %(limit)s",
        params | {"limit": limit + 1},
    ).fetchall()
    items, next_cursor = page(rows, limit, "registered_position")
    return int(count["n"]), items, next_cursor


def _visible(scope: str | None, alias: str) -> str:
    """SQL: a segment or campaign staff of ``scope`` see (theirs, or the company's)."""
    return (
        "true"
        if scope is None
        else f"({alias}.owner_branch IS NULL OR {alias}.owner_branch = %(scope)s)"
    )


def get_segment(
    conn: ReadConnection, segment_id: UUID, *, scope: str | None
) -> dict[str, Any] | None:
    return conn.execute(  # type: ignore[call-overload]
        f"SELECT * FROM marketing_segment g WHERE g.segment_id = %(id)s AND {_visible(scope, 'g')}",
        {"id": segment_id, "scope": scope},
    ).fetchone()


def list_segments(
    conn: ReadConnection, *, scope: str | None, state: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    clauses = [_visible(scope, "g")]
    params: dict[str, Any] = {"scope": scope, "limit": limit + 1}
    if state is not None:
        clauses.append("g.state = %(state)s")
        params["state"] = state
    if cursor is not None:
        clauses.append("g.defined_position > %(after)s")
        params["after"] = decode_cursor(cursor)
    rows = conn.execute(  # type: ignore[call-overload]
        f"SELECT * FROM marketing_segment g WHERE {' AND '.join(clauses)} "
        "ORDER BY g.defined_position LIMIT %(limit)s",
        params,
    ).fetchall()
    return page(rows, limit, "defined_position")


def get_campaign(
    conn: ReadConnection, campaign_id: UUID, *, scope: str | None
) -> dict[str, Any] | None:
    return conn.execute(  # type: ignore[call-overload]
        "SELECT * FROM marketing_campaign c "
        f"WHERE c.campaign_id = %(id)s AND {_visible(scope, 'c')}",
        {"id": campaign_id, "scope": scope},
    ).fetchone()


def list_campaigns(
    conn: ReadConnection,
    *,
    scope: str | None,
    state: str | None,
    segment_id: UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    clauses = [_visible(scope, "c")]
    params: dict[str, Any] = {"scope": scope, "limit": limit + 1}
    if state is not None:
        clauses.append("c.state = %(state)s")
        params["state"] = state
    if segment_id is not None:
        clauses.append("c.segment_id = %(segment_id)s")
        params["segment_id"] = segment_id
    if cursor is not None:
        clauses.append("c.planned_position > %(after)s")
        params["after"] = decode_cursor(cursor)
    rows = conn.execute(  # type: ignore[call-overload]
        f"SELECT * FROM marketing_campaign c WHERE {' AND '.join(clauses)} "
        "ORDER BY c.planned_position LIMIT %(limit)s",
        params,
    ).fetchall()
    return page(rows, limit, "planned_position")


def _figures() -> dict[str, Any]:
    return {
        "reached": 0,
        "responded": 0,
        "responses": {"interested": 0, "not_interested": 0, "asked_for_quote": 0},
        "prospects_registered": 0,
        "opportunities_opened": 0,
        "opportunities_won": 0,
        "customers_won": 0,
        "won_value": defaultdict(Decimal),
        "spent": Decimal(0),
    }


def _settled(figures: dict[str, Any]) -> dict[str, Any]:
    won = figures["customers_won"]
    spent: Decimal = figures["spent"]
    return figures | {
        "won_value": [
            {"currency": currency, "amount": amount}
            for currency, amount in sorted(figures["won_value"].items())
        ],
        "cost_per_won_customer": (spent / won).quantize(CENT, ROUND_HALF_UP) if won else None,
    }


def campaign_results(
    conn: ReadConnection, campaign_id: UUID, *, branch: str | None
) -> dict[str, Any]:
    """The campaign's figures per branch (the relationship's branch now) and in total:
    reached (distinct relationships contacted), responded (and each response), prospects
    registered, opportunities opened and won, customers won (distinct relationships with a
    won opportunity), won value per currency, money spent and cost per won customer (spent
    / customers won; the total counts spend given no branch too). ``branch``: that
    branch's figures only, the total being theirs."""
    scope = {"id": campaign_id, "branch": branch}
    mine = "" if branch is None else " AND a.branch = %(branch)s"
    rows: dict[str, dict[str, Any]] = defaultdict(_figures)
    for r in conn.execute(  # type: ignore[call-overload]
        "SELECT a.branch, count(*) AS reached, count(c.response) AS responded, "
        "count(*) FILTER (WHERE c.response = 'interested') AS interested, "
        "count(*) FILTER (WHERE c.response = 'not_interested') AS not_interested, "
        "count(*) FILTER (WHERE c.response = 'asked_for_quote') AS asked_for_quote "
        "FROM marketing_contact c JOIN account_status a USING (relationship_id) "
        f"WHERE c.campaign_id = %(id)s{mine} GROUP BY a.branch",
        scope,
    ).fetchall():
        row = rows[r["branch"]]
        row["reached"], row["responded"] = r["reached"], r["responded"]
        row["responses"] = {k: r[k] for k in ("interested", "not_interested", "asked_for_quote")}
    for r in conn.execute(  # type: ignore[call-overload]
        "SELECT a.branch, count(*) AS n FROM marketing_prospect p "
        f"JOIN account_status a USING (relationship_id) WHERE p.campaign_id = %(id)s{mine} "
        "GROUP BY a.branch",
        scope,
    ).fetchall():
        rows[r["branch"]]["prospects_registered"] = r["n"]
    for r in conn.execute(  # type: ignore[call-overload]
        "SELECT a.branch, count(*) AS opened, count(*) FILTER (WHERE o.status = 'won') AS won, "
        "count(DISTINCT o.relationship_id) FILTER (WHERE o.status = 'won') AS customers "
        "FROM marketing_opportunity o JOIN account_status a USING (relationship_id) "
        f"WHERE o.campaign_id = %(id)s{mine} GROUP BY a.branch",
        scope,
    ).fetchall():
        row = rows[r["branch"]]
        row["opportunities_opened"] = r["opened"]
        row["opportunities_won"] = r["won"]
        row["customers_won"] = r["customers"]
    for r in conn.execute(  # type: ignore[call-overload]
        "SELECT a.branch, o.currency, sum(o.expected_value) AS amount "
        "FROM marketing_opportunity o JOIN account_status a USING (relationship_id) "
        f"WHERE o.campaign_id = %(id)s AND o.status = 'won'{mine} GROUP BY a.branch, o.currency",
        scope,
    ).fetchall():
        rows[r["branch"]]["won_value"][r["currency"]] += Decimal(r["amount"])
    unallocated = Decimal(0)
    for r in conn.execute(  # type: ignore[call-overload]
        "SELECT s.branch, s.amount FROM marketing_spend s WHERE s.campaign_id = %(id)s"
        + ("" if branch is None else " AND s.branch = %(branch)s"),
        scope,
    ).fetchall():
        if r["branch"] == NO_BRANCH:
            unallocated += Decimal(r["amount"])
        else:
            rows[r["branch"]]["spent"] = Decimal(r["amount"])
    total = _figures()
    for row in rows.values():
        for key in ("reached", "responded", "prospects_registered", "opportunities_opened",
                    "opportunities_won", "customers_won", "spent"):  # fmt: skip
            total[key] += row[key]
        for key, n in row["responses"].items():
            total["responses"][key] += n
        for currency, amount in row["won_value"].items():
            total["won_value"][currency] += amount
    total["spent"] += unallocated
    return {
        "branches": [{"branch": b} | _settled(rows[b]) for b in sorted(rows)],
        "total": _settled(total),
    }
