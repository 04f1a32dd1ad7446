"""Service cases and their SLA clocks: opened, assigned, answered, escalated, resolved,
reopened, rated and closed; a customer's complaint about an incident."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from application.commands import CommandResult
from domain.service_case import DEFAULT_SLA_POLICY, CaseKind, Priority
from interface.demo.catalogue import Story
from interface.demo.plan import SHIPMENT_CUTOFF, Plan, PlannedRelationship, Voyage
from interface.demo.routes import FIRST_BOOKING_DAYS_AGO
from interface.demo.wording import (
    CASES,
    FIRST_RESPONSES,
    REOPEN_REASONS,
    CaseTemplate,
)


def service(plan: Plan, rel: PlannedRelationship) -> None:
    """The year's service cases of a relationship: a few for every customer while it
    ships with us, some of them this week; an inquiry now and then from a prospect or
    target."""
    if rel.org.story in (Story.PARTNER, Story.COMPETITOR):
        return
    rng = plan.sales
    if not rel.shipping:
        if rng.random() < 0.5:
            inquiries = [template for template in CASES if template.kind is CaseKind.INQUIRY]
            day = rng.randint(3, max(3, rel.registered_days_ago - 5))
            case(plan, rel, rng.choice(inquiries), plan.sales_at(rel.branch.zone, day))
        return
    for hi, lo in rel.shipping:
        hi = min(hi, FIRST_BOOKING_DAYS_AGO)
        for _ in range(max(1, (hi - lo) // 110) + rng.randint(0, 1)):
            day = rng.randint(max(lo, 5), max(hi, 5))
            case(plan, rel, rng.choice(CASES), plan.sales_at(rel.branch.zone, day))
        if lo <= 2 and rng.random() < 0.4:  # this week's: some past due, some running
            day = rng.randint(1, 4)
            opened = plan.sales_at(rel.branch.zone, day)
            case(plan, rel, rng.choice(CASES), opened, ongoing=True)


def complaint(
    plan: Plan,
    voyage: Voyage,
    incident: UUID,
    found: datetime,
    template: CaseTemplate,
    *,
    ongoing: bool = False,
) -> None:
    """The customer complains about an incident soon after it is found; resolving it
    takes longer than the SLA allows (``ongoing``: it is not resolved yet)."""
    opened = found + timedelta(minutes=plan.sales.randint(30, 120))
    case(
        plan,
        voyage.rel,
        template,
        opened,
        shipment=voyage.sid,
        incident=incident,
        late=True,
        ongoing=ongoing,
    )


def case(
    plan: Plan,
    rel: PlannedRelationship,
    template: CaseTemplate,
    opened: datetime,
    *,
    shipment: UUID | None = None,
    incident: UUID | None = None,
    late: bool | None = None,
    ongoing: bool = False,
) -> None:
    """A case through its life: opened, assigned, answered (mostly within its first-
    response hours), perhaps escalated, resolved (late if ``late``, else now and then),
    perhaps reopened and resolved again, rated, closed. What would come after the time
    of loading has not happened yet: the case is still open, and may be past due. An
    ``ongoing`` case is still being worked at the time of loading, whatever the weekday:
    its resolution, and all that follows it, comes later."""
    rng, app, en = plan.sales, plan.app, rel.english
    cid = plan.sales_uuid()
    plan.case_ids.append(cid)
    days_ago = (plan.now - opened).days
    office, manager = rel.office_rep(days_ago), rel.branch.manager
    if shipment is None and template.about_shipment:
        shipment = shipment_before(plan, rel, opened)
    target = DEFAULT_SLA_POLICY.target(template.priority)
    answer_late = rng.random() < 0.15
    late = rng.random() < 0.2 if late is None else late
    answer_within = (1.2, 2.5) if answer_late else (0.1, 0.8)
    answered = opened + timedelta(hours=target.first_response_hours * rng.uniform(*answer_within))
    resolve_within = (1.1, 2.0) if late else (0.3, 0.9)
    resolved = opened + timedelta(hours=target.resolution_hours * rng.uniform(*resolve_within))
    resolved = max(resolved, answered + timedelta(minutes=30))
    if ongoing:
        resolved = max(resolved, plan.now + timedelta(hours=1))
    conversation = f"case:{cid}"

    def step(when: datetime, actor: str, run: Callable[..., CommandResult], tally: str) -> None:
        if when <= plan.now - SHIPMENT_CUTOFF:
            plan.add(when, actor, run, f"case:{tally}", conversation)

    step(
        opened,
        rel.field_rep(days_ago) if template.kind is CaseKind.INQUIRY else office,
        partial(
            app.cases.open_case,
            relationship_id=rel.rid,
            kind=template.kind,
            priority=template.priority,
            subject=template.subject[en],
            description=template.description[en],
            shipment_id=shipment,
            incident_id=incident,
            case_id=cid,
        ),
        "opened",
    )
    step(
        opened + timedelta(minutes=rng.randint(5, 25)),
        manager,
        partial(app.cases.assign_case, cid=cid, owner=office),
        "assigned",
    )
    step(
        answered,
        office,
        partial(app.cases.respond_to_case, cid=cid, summary=rng.choice(FIRST_RESPONSES)[en]),
        "answered",
    )
    if template.priority is not Priority.URGENT and rng.random() < 0.12:
        escalated = answered + timedelta(minutes=20)
        if escalated + timedelta(minutes=20) < resolved:
            why = ("客户升级投诉至管理层。", "The customer escalated to our management.")
            step(
                escalated,
                manager,
                partial(app.cases.escalate_case, cid=cid, reason=why[en]),
                "escalated",
            )
    step(
        resolved,
        office,
        partial(app.cases.resolve_case, cid=cid, resolution=template.resolution[en]),
        "resolved",
    )
    if rng.random() < 0.12:
        reopened = resolved + timedelta(days=rng.randint(1, 2), hours=rng.randint(0, 4))
        step(
            reopened,
            office,
            partial(app.cases.reopen_case, cid=cid, reason=REOPEN_REASONS[en]),
            "reopened",
        )
        resolved = reopened + timedelta(hours=target.resolution_hours * rng.uniform(0.2, 0.8))
        step(
            resolved,
            office,
            partial(app.cases.resolve_case, cid=cid, resolution=template.resolution[en]),
            "resolved",
        )
    if rng.random() < 0.75:
        rating = rng.choice((2, 3) if late or answer_late else (4, 5, 5))
        step(
            resolved + timedelta(days=rng.randint(1, 3)),
            office,
            partial(app.cases.rate_case, cid=cid, rating=rating),
            "rated",
        )
    step(
        resolved + timedelta(days=rng.randint(4, 8)),
        office,
        partial(app.cases.close_case, cid=cid),
        "closed",
    )


def shipment_before(plan: Plan, rel: PlannedRelationship, moment: datetime) -> UUID | None:
    """The relationship's latest shipment under way before ``moment``."""
    booked = [
        voyage
        for voyage in plan.voyages
        if voyage.rel is rel and voyage.plans[0].planned_start < moment
    ]
    return max(booked, key=lambda voyage: voyage.plans[0].planned_start).sid if booked else None
