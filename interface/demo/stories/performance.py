"""Staff performance and incentives (员工奖惩): headquarters sets the incentive rules at the
start of last month (in Suzhou's time zone); during that month Suzhou's field rep wins an
air contract with one of the branch's customers, and the office rep answers one service case
within its SLA and a high-priority complaint late; once the month is over, the branch
manager confirms the award for the win, the award for the kept SLA and the penalty for the
breach, each with its reason. The rest of the year's work is measured too, and what the
rules propose for it waits for a manager.

Ids and times are drawn from a generator of this story's own: the other stories draw
exactly what they drew before."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID

from application.commands import CommandResult
from domain.incentive import Decision, Measure, fact_proposal_id
from domain.opportunity import Stage
from domain.service_case import CaseKind, Priority
from interface.demo.catalogue import HQ_KEY_ACCOUNTS, Story
from interface.demo.plan import Plan, PlannedRelationship

#: The seed of this story's own generator.
SEED = "performance"

#: The branch whose month is told.
BRANCH = "Suzhou"

#: The incentive rules headquarters sets: points per measure (a penalty's size).
RULES = {
    "opportunity_won": 50,
    "sla_kept": 5,
    "clean_month": 20,
    "sla_breached": 10,
    "shipment_incident": 15,
}

#: The offering the contract is won on.
PRODUCT = "szv_ord"


def tell_all(plan: Plan) -> None:
    rng = random.Random(SEED)
    rel = next(
        r
        for r in plan.rels.values()
        if r.branch.name == BRANCH and r.org.story is Story.CUSTOMER and r.org.move_to is None
    )
    zone = rel.branch.zone
    this_month = plan.now.astimezone(zone).date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    period = f"{last_month:%Y-%m}"

    weekdays = [d for d in range(1, 29) if last_month.replace(day=d).weekday() < 5]

    def on(weekday: int, minute: int) -> datetime:
        """Last month's ``weekday``-th working day (from 0) at ``minute``."""
        day = last_month.replace(day=weekdays[weekday])
        return datetime.combine(day, time(minute // 60, minute % 60), zone).astimezone(UTC)

    app = plan.app
    field, office = rel.branch.field_reps[0], rel.branch.office_reps[0]
    manager = rel.branch.manager
    conversation = f"incentives:{period}"
    plan.add(
        datetime.combine(last_month, time(9, 0), zone).astimezone(UTC),
        HQ_KEY_ACCOUNTS,
        partial(app.incentives.set_rules, points=RULES, note="员工奖惩办法（试行）"),
        "incentive:rules_set",
        conversation,
    )
    won = _win(plan, rng, rel, field, on)
    kept = _case(plan, rng, rel, office, on(8, 9 * 60), Priority.NORMAL, hours=2, rating=5)
    late = _case(plan, rng, rel, office, on(13, 9 * 60), Priority.HIGH, hours=6, rating=3)
    decided_at = min(
        datetime.combine(this_month + timedelta(days=1), time(10, 0), zone).astimezone(UTC),
        plan.now - timedelta(minutes=5),
    )
    decisions = (
        (Measure.OPPORTUNITY_WON, won, field, f"opportunity {won}", "新签苏州—芝加哥空运月度合同"),
        (Measure.SLA_KEPT, kept, office, f"case {kept}", "两小时内首次响应"),
        (Measure.SLA_BREACHED, late, office, f"case {late}", "高优先级投诉六小时后才首次响应"),
    )
    for n, (measure, subject, staff_id, source, reason) in enumerate(decisions):
        points = RULES[measure.value] * (-1 if measure.is_penalty else 1)
        plan.add(
            decided_at + timedelta(minutes=n),
            manager,
            partial(
                app.incentives.decide,
                proposal_id=fact_proposal_id(measure, subject),
                decision=Decision.CONFIRMED,
                staff_id=staff_id,
                branch=BRANCH,
                measure=measure,
                points=points,
                period=period,
                source=source,
                reason=reason,
            ),
            "incentive:confirmed",
            conversation,
        )


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _win(
    plan: Plan,
    rng: random.Random,
    rel: PlannedRelationship,
    field: str,
    on: Callable[[int, int], datetime],
) -> UUID:
    """An opportunity identified on the month's fourth working day, taken a stage a day,
    won on the eighth."""
    app, oid = plan.app, _uuid(rng)
    conversation = f"opportunity:{oid}"

    def add(when: datetime, run: partial[CommandResult], tally: str) -> None:
        plan.add(when, field, run, f"incentive_story:{tally}", conversation)

    add(
        on(3, 10 * 60),
        partial(
            app.sales.identify_opportunity,
            relationship_id=rel.rid,
            title="苏州—芝加哥空运月度合同" if not rel.english else "Monthly air to Chicago",
            offering_id=plan.products[PRODUCT],
            expected_value=Decimal("180000"),
            currency="CNY",
            probability=Decimal("0.4"),
            opportunity_id=oid,
        ),
        "opportunity_identified",
    )
    for n, stage in enumerate((Stage.TRACKING, Stage.CONTROL, Stage.IMPLEMENTATION), start=1):
        add(
            on(3 + n, 10 * 60 + rng.randint(0, 120)),
            partial(app.sales.advance_opportunity, oid=oid, to_stage=stage),
            "opportunity_advanced",
        )
    add(
        on(7, 16 * 60),
        partial(app.sales.mark_opportunity_won, oid=oid, note="客户签署年度协议"),
        "opportunity_won",
    )
    return oid


def _case(
    plan: Plan,
    rng: random.Random,
    rel: PlannedRelationship,
    office: str,
    opened: datetime,
    priority: Priority,
    *,
    hours: int,
    rating: int,
) -> UUID:
    """A case opened at ``opened``, answered ``hours`` later and resolved with it, rated."""
    app, cid = plan.app, _uuid(rng)
    answered = opened + timedelta(hours=hours)
    conversation = f"case:{cid}"

    def add(when: datetime, run: partial[CommandResult], tally: str) -> None:
        plan.add(when, office, run, f"incentive_story:{tally}", conversation)

    add(
        opened,
        partial(
            app.cases.open_case,
            relationship_id=rel.rid,
            kind=CaseKind.COMPLAINT if priority is Priority.HIGH else CaseKind.INQUIRY,
            priority=priority,
            subject="提单更正" if priority is Priority.NORMAL else "货物延误投诉",
            description=(
                "客户要求更正提单收货人" if priority is Priority.NORMAL else "客户投诉货物晚到两天"
            ),
            case_id=cid,
        ),
        "case_opened",
    )
    add(answered, partial(app.cases.respond_to_case, cid=cid, summary="已回复客户"), "responded")
    add(
        answered + timedelta(minutes=30),
        partial(app.cases.resolve_case, cid=cid, resolution="已处理完毕"),
        "resolved",
    )
    add(
        answered + timedelta(hours=1),
        partial(app.cases.rate_case, cid=cid, rating=rating),
        "rated",
    )
    return cid
