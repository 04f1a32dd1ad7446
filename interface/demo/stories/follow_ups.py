"""Follow-ups and care plans: each branch's work planned ahead for two of its customers — a
call due later today, a document to chase that is overdue, a visit done (its interaction
logged), a follow-up cancelled, a visit coming up in three days — and the key accounts'
monthly visits (客户关怀计划): the first done, the next open, overdue for every other one.

"Today" is the company's day (``application.follow_ups.company_time_zone``) at ``now``, so
whatever the time of loading the call is still due today. Ids and times are drawn from a
generator of this story's own: the other stories draw exactly what they drew before."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from functools import partial
from uuid import UUID

from application.commands import CommandResult
from application.follow_ups import company_time_zone
from domain.follow_up import FollowUpKind, IntervalUnit, SubjectKind, care_plan_follow_up_id
from interface.demo.catalogue import KeyAccount, Story
from interface.demo.plan import Plan, PlannedRelationship

#: The seed of this story's own generator.
SEED = "follow-ups"

#: Customers per branch whose follow-ups are planned.
PER_BRANCH = 2


def tell_all(plan: Plan) -> None:
    rng = random.Random(SEED)
    by_branch: dict[str, list[PlannedRelationship]] = {}
    for rel in plan.rels.values():
        if rel.org.story is Story.CUSTOMER and rel.org.move_to is None:
            by_branch.setdefault(rel.branch.code, []).append(rel)
    for rels in by_branch.values():
        for n, rel in enumerate(rels[:PER_BRANCH]):
            reps = rel.branch.field_reps or (rel.branch.manager,)
            daily_work(plan, rng, rel, reps[n % len(reps)])
        key_accounts = [r for r in rels if r.org.key_account is not KeyAccount.NO]
        for n, rel in enumerate(key_accounts):
            care_plan(plan, rng, rel, overdue=n % 2 == 0)


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _at(plan: Plan, rng: random.Random, rel: PlannedRelationship, days_ago: int) -> datetime:
    """A time in office hours ``days_ago`` in the relationship's branch (``Plan.at``, its
    minute drawn here)."""
    return plan.at(rel.branch.zone, days_ago, rng.randint(8 * 60 + 30, 17 * 60 + 30))


def _schedule(
    plan: Plan,
    rel: PlannedRelationship,
    fid: UUID,
    kind: FollowUpKind,
    due: datetime,
    assignee: str,
    note: str,
    subject: tuple[SubjectKind, UUID] | None = None,
) -> partial[CommandResult]:
    subject_kind, subject_id = subject or (SubjectKind.RELATIONSHIP, rel.rid)
    return partial(
        plan.app.follow_ups.schedule_follow_up,
        subject_kind=subject_kind,
        subject_id=subject_id,
        kind=kind,
        due_at=due,
        assignee=assignee,
        note=note,
        follow_up_id=fid,
    )


def daily_work(plan: Plan, rng: random.Random, rel: PlannedRelationship, rep: str) -> None:
    """The office (内勤) plans the field rep's (外勤) work with the customer."""
    app, office = plan.app, (rel.branch.office_reps or (rel.branch.manager,))[0]
    company = company_time_zone()
    today = plan.now.astimezone(company).date()
    end_of_today = datetime.combine(today + timedelta(days=1), time(), tzinfo=company)

    def add(when: datetime, actor: str, run: partial[CommandResult], tally: str) -> None:
        plan.add(when, actor, run, f"follow_up:{tally}", f"follow-up:{rel.rid}")

    call = _uuid(rng)
    add(
        _at(plan, rng, rel, 2),
        office,
        _schedule(
            plan,
            rel,
            call,
            FollowUpKind.CALL,
            plan.now + (end_of_today - plan.now) / 2,
            rep,
            "确认下周出货计划" if not rel.english else "confirm next week's bookings",
        ),
        "scheduled",
    )
    shipped = [
        v
        for v in plan.voyages
        if v.rel is rel and v.booked_at is not None and v.booked_at < plan.now - timedelta(days=8)
    ]
    chase = _uuid(rng)
    subject = (SubjectKind.SHIPMENT, shipped[-1].sid) if shipped else None
    add(
        _at(plan, rng, rel, 6),
        office,
        _schedule(
            plan,
            rel,
            chase,
            FollowUpKind.DOCUMENT_TO_CHASE,
            _at(plan, rng, rel, 3),
            rep,
            "催收签收单 (POD)" if not rel.english else "chase the signed proof of delivery",
            subject,
        ),
        "scheduled",
    )
    visit = _uuid(rng)
    add(
        _at(plan, rng, rel, 12),
        office,
        _schedule(
            plan,
            rel,
            visit,
            FollowUpKind.VISIT,
            _at(plan, rng, rel, 5),
            rep,
            "季度业务回顾" if not rel.english else "quarterly business review",
        ),
        "scheduled",
    )
    done_at = _at(plan, rng, rel, 5)
    add(
        done_at,
        rep,
        partial(
            app.follow_ups.complete_follow_up,
            fid=visit,
            outcome="拜访完成：客户对时效满意，计划增加运量"
            if not rel.english
            else "Visited: the customer is pleased with transit times and plans more volume",
        ),
        "completed",
    )
    dropped = _uuid(rng)
    add(
        _at(plan, rng, rel, 10),
        office,
        _schedule(
            plan,
            rel,
            dropped,
            FollowUpKind.CARE_ACTION,
            _at(plan, rng, rel, 4),
            rep,
            "节日问候" if not rel.english else "holiday greetings",
        ),
        "scheduled",
    )
    add(
        _at(plan, rng, rel, 7),
        office,
        partial(
            app.follow_ups.cancel_follow_up,
            fid=dropped,
            reason="客户工厂放假" if not rel.english else "the customer's plant is closed",
        ),
        "cancelled",
    )
    coming = _uuid(rng)
    local = plan.now.astimezone(rel.branch.zone).date() + timedelta(days=3)
    add(
        _at(plan, rng, rel, 1),
        office,
        _schedule(
            plan,
            rel,
            coming,
            FollowUpKind.VISIT,
            datetime.combine(local, time(10, 0), tzinfo=rel.branch.zone),
            rep,
            "现场查看新仓库" if not rel.english else "see the new warehouse on site",
        ),
        "scheduled",
    )


def care_plan(plan: Plan, rng: random.Random, rel: PlannedRelationship, *, overdue: bool) -> None:
    """A monthly visit of a key account, started seven weeks ago; its first visit done, the
    next one open (``overdue``: past due, else its next one done too)."""
    app, rep = plan.app, rel.field_rep(0)
    pid = _uuid(rng)
    conversation = f"care-plan:{pid}"

    def add(when: datetime, run: partial[CommandResult], tally: str) -> None:
        plan.add(when, rep, run, f"care_plan:{tally}", conversation)

    add(
        _at(plan, rng, rel, 50),
        partial(
            app.follow_ups.start_care_plan,
            relationship_id=rel.rid,
            kind=FollowUpKind.VISIT,
            every=1,
            unit=IntervalUnit.MONTHS,
            assignee=rep,
            first_due_at=plan.at(rel.branch.zone, 40, 10 * 60),
            note="重点客户每月拜访" if not rel.english else "monthly visit of a key account",
            care_plan_id=pid,
        ),
        "started",
    )
    visits = 1 if overdue else 2
    for sequence, days_ago in zip(range(1, visits + 1), (39, 8), strict=False):
        add(
            _at(plan, rng, rel, days_ago),
            partial(
                app.follow_ups.complete_follow_up,
                fid=care_plan_follow_up_id(pid, sequence),
                outcome="月度拜访完成" if not rel.english else "monthly visit done",
            ),
            "visited",
        )
