"""The summary printed after the demo is loaded: what there is to explore."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from application.commands import NotFound
from domain.opportunity import OpportunityStatus
from domain.relationship import RelationshipKind
from domain.service_case import CaseStatus
from domain.shipment import ShipmentStatus
from interface.demo.catalogue import BRANCHES, PROFILES
from interface.demo.incidents import SEED_CASE_ID
from interface.demo.plan import Plan
from interface.demo.stories.cargo import BROKEN_COLD_CHAIN_ID
from interface.runtime import Services


def summary(services: Services, plan: Plan, tally: Counter[str]) -> str:
    kinds: Counter[str] = Counter()
    lifecycles: Counter[str] = Counter()
    key_accounts = 0
    for rel in plan.rels.values():
        relationship = services.app.relationships.get_relationship(rel.rid)
        kinds[relationship.kind.value] += 1
        if relationship.is_customer:
            lifecycles[relationship.lifecycle.value] += 1
        key_accounts += relationship.key_account
    with services.primary.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM fullchain_events").fetchone()
    events = int(row["n"]) if row else 0

    def total(prefix: str) -> int:
        return sum(n for name, n in tally.items() if name.startswith(prefix))

    order: Sequence[RelationshipKind] = list(RelationshipKind)
    kind_changes = sum(
        tally[name]
        for name in (
            "qualified",
            "first_business",
            "opportunity:won_first_business",
            "returned_to_prospect",
        )
    )
    return "\n".join(
        (
            f"Demo data loaded: {len(plan.rels)} relationships in {len(BRANCHES)} branches "
            f"({', '.join(sorted({b.region for b in BRANCHES.values()}))}).",
            "  "
            + ", ".join(f"{kinds[k.value]} {k.value}s" for k in order)
            + f"; {key_accounts} key accounts.",
            "  customers: "
            + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(lifecycles.items()))
            + ".",
            f"  {total('contact')} contacts, {total('interaction:')} interactions, "
            f"{total('care:')} customer-care actions, "
            f"{kind_changes} kind changes, "
            f"{tally['dormant'] + tally['reactivated'] + tally['lost'] + tally['won_back']} "
            "lifecycle changes.",
            f"  {total('follow_up:scheduled')} follow-ups scheduled "
            f"({tally['follow_up:completed']} done, {tally['follow_up:cancelled']} cancelled), "
            f"{tally['care_plan:started']} care plans "
            f"({tally['care_plan:visited']} visits done).",
            *shipment_summary(services, plan),
            *sales_summary(services, plan),
            f"  {events} events in the log, from {min(s.when for s in plan.steps):%Y-%m-%d} "
            f"to {max(s.when for s in plan.steps):%Y-%m-%d}.",
        )
    )


def money(amounts: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{currency} {amount:,.2f}" for currency, amount in sorted(amounts.items()))


def sales_summary(services: Services, plan: Plan) -> list[str]:
    app, now = services.app, plan.now
    offerings = [app.sales.get_offering(oid) for oid in plan.products.values()]
    opportunities = []
    for oid in plan.opportunity_ids:
        try:
            opportunities.append(app.sales.get_opportunity(oid))
        except NotFound:  # it would have been identified after the time of loading
            continue
    outcomes = Counter(o.status for o in opportunities)
    pipeline: defaultdict[str, Decimal] = defaultdict(Decimal)
    for o in opportunities:
        if o.is_open:
            pipeline[o.currency] += o.weighted_value
    cases = []
    for cid in plan.case_ids:
        try:
            cases.append(app.cases.get_service_case(cid))
        except NotFound:
            continue
    statuses = Counter(c.status for c in cases)
    past_due = sum(
        c.status is CaseStatus.OPEN
        and (c.first_response_breached(now) or c.resolution_breached(now))
        for c in cases
    )
    invoiced: defaultdict[str, Decimal] = defaultdict(Decimal)
    for voyage in plan.voyages:
        try:
            shipment = app.shipments.get_shipment(voyage.sid)
        except NotFound:
            continue
        for invoice in shipment.invoices:
            invoiced[invoice.currency] += invoice.amount
    return [
        f"  {len(offerings)} service offerings "
        f"({sum(not o.is_active for o in offerings)} retired); {len(opportunities)} "
        f"opportunities: {outcomes[OpportunityStatus.WON]} won, "
        f"{outcomes[OpportunityStatus.LOST]} lost, {outcomes[OpportunityStatus.OPEN]} open "
        f"(weighted pipeline {money(pipeline)}); {len(PROFILES)} competitor profiles.",
        f"  {len(cases)} service cases: {statuses[CaseStatus.CLOSED]} closed, "
        f"{statuses[CaseStatus.RESOLVED]} resolved, {statuses[CaseStatus.OPEN]} open "
        f"({past_due} past due), {sum(bool(c.reopenings) for c in cases)} reopened; "
        f"invoiced {money(invoiced)}.",
    ]


def shipment_summary(services: Services, plan: Plan) -> list[str]:
    statuses: Counter[ShipmentStatus] = Counter()
    evaluated = incidents = claims = 0
    compensated: defaultdict[str, Decimal] = defaultdict(Decimal)
    recovered: defaultdict[str, Decimal] = defaultdict(Decimal)
    link_planned: defaultdict[str, Decimal] = defaultdict(Decimal)
    link_invoiced: defaultdict[str, Decimal] = defaultdict(Decimal)
    for voyage in plan.voyages:
        try:
            shipment = services.app.shipments.get_shipment(voyage.sid)
        except NotFound:  # it would have been booked after the time of loading
            continue
        statuses[shipment.status] += 1
        evaluated += shipment.evaluation is not None
        incidents += len(shipment.incidents)
        claims += len(shipment.claims)
        for claim in shipment.claims.values():
            compensated[claim.currency] += claim.compensation_paid or 0
            recovered[claim.currency] += claim.recovery_received or 0
        for cost in shipment.link_costs.values():
            if cost.planned is not None:
                link_planned[cost.planned.currency] += cost.planned.amount
            if cost.actual is not None:
                link_invoiced[cost.actual.currency] += cost.actual.amount

    seed = services.app.shipments.get_shipment(SEED_CASE_ID)
    return [
        f"  {statuses.total()} shipments: {statuses[ShipmentStatus.DELIVERED]} delivered "
        f"({evaluated} evaluated), {statuses[ShipmentStatus.IN_TRANSIT]} in transit, "
        f"{statuses[ShipmentStatus.BOOKED]} booked, {statuses[ShipmentStatus.CANCELLED]} "
        f"cancelled; {incidents} incidents, {claims} claims: compensation paid "
        f"{money(compensated)}, recovered {money(recovered)}.",
        f"  Link costs: planned {money(link_planned)}, invoiced by the parties "
        f"{money(link_invoiced)}.",
        f"  The seed case, {seed.reference} {seed.origin} → {seed.destination} by air in "
        f"{len(seed.links)} links: GET /v1/shipments/{SEED_CASE_ID}/responsibility",
        f"  A cold chain breached in the air and never reported (the audit's one finding): "
        f"GET /v1/shipments/{BROKEN_COLD_CHAIN_ID}/responsibility",
    ]
