"""The stories of the demo's year, one module per kind: relationships and their lifecycle
(with their interactions and customer care), sales, service cases, shipments run to
delivery, incidents with their claims, compensation and recovery, charges and invoices,
special cargo on chains with every function of logistics (told last: what the others draw
stays the same); what each link costs us, the partners' rewards and penalties, the
changes of contacts (told after the cargo, drawing nothing), and the follow-ups and care
plans of staff's daily work, a month of staff incentives (奖惩) confirmed by a branch
manager, the customer self-service of 苏州华芯电子's buyer and of a prospect's quote
request, the second lanes some customers take up during the year, and the marketing
campaign (each drawn from a generator of its own)."""

from __future__ import annotations

from interface.demo.catalogue import BRANCHES, ORGS
from interface.demo.plan import Plan, PlannedRelationship
from interface.demo.stories import (
    cargo,
    cases,
    contacts,
    follow_ups,
    incidents,
    marketing,
    performance,
    relationships,
    rewards,
    sales,
    second_lanes,
    self_service,
    shipments,
)


def tell_the_year(plan: Plan) -> None:
    """Plan the whole year: every relationship and its story, the catalogue, the shipments,
    the competitors' profiles, each relationship's opportunities and service cases."""
    for org in ORGS:
        plan.rels[org.key] = PlannedRelationship(org, plan.uuid(), BRANCHES[org.branch])
    sales.launch_offerings(plan)
    for org in ORGS:
        relationships.tell(plan, plan.rels[org.key])
    shipments.routine_shipments(plan)
    incidents.tell_all(plan)
    rewards.bonus_for_a_clean_quarter(plan)
    shipments.cancellations(plan)
    sales.competitor_profiles(plan)
    for rel in plan.rels.values():
        sales.pipeline(plan, rel)
        cases.service(plan, rel)
    cargo.tell_all(plan)
    contacts.tell_all(plan)
    follow_ups.tell_all(plan)
    performance.tell_all(plan)
    self_service.tell_all(plan)
    second_lanes.tell_all(plan)
    marketing.tell_all(plan)
