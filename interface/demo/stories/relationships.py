"""Relationships and their year: registered with an account team and contacts, pursued,
qualified, won, marked dormant, lost to a competitor and won back, designated key
accounts, renamed, moved to another branch, handed over to another rep."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial

from application.commands import CommandResult
from application.relationships import RelationshipService
from domain.opportunity import LossReason, OpportunityStatus, Stage
from domain.relationship import CareActionKind
from interface.demo.catalogue import (
    BRANCHES,
    FIRST_NAMES,
    GIVEN_NAMES,
    HQ_KEY_ACCOUNTS,
    INDUSTRY_ZH,
    LAST_NAMES,
    MOBILE_PREFIXES,
    REGISTERED_KIND,
    SURNAMES,
    TITLES,
    Branch,
    KeyAccount,
    Story,
)
from interface.demo.plan import Contact, Plan, PlannedRelationship
from interface.demo.stories.interactions import (
    care,
    customer_care,
    greetings,
    log_interaction,
    window,
)
from interface.demo.stories.sales import pursue
from interface.demo.wording import (
    ACCOUNT,
    AFTER_LOSS,
    COMPETITOR,
    DORMANT_CHECK,
    LOSS_NOTICE,
    PARTNER,
    PURSUIT,
    REACTIVATION,
    REASONS,
    WIN_BACK_REVIEW,
    WIN_BACK_TRIAL,
    Interaction,
)


def tell(plan: Plan, rel: PlannedRelationship) -> None:
    """A relationship's year as its ``Story`` goes: registered, then (days ago drawn for
    each turn) its interactions, customer care and changes of kind and lifecycle."""
    org, draw = rel.org, plan.rng.randint
    key = org.key_account is not KeyAccount.NO
    story = org.story
    if story is Story.CUSTOMER:
        registered = setup(plan, rel, draw(330, 364))
        rel.shipping.append((registered - 3, 2))
        window(plan, rel, registered - 3, 2, draw(9, 13) if key else draw(4, 9), ACCOUNT)
        designated = None
        if org.key_account is KeyAccount.DESIGNATED:
            designated = draw(150, 260)
            designate_key_account(plan, rel, designated)
        customer_care(plan, rel, registered - 3, 2, key_from=designated)
    elif story is Story.DORMANT:
        registered = setup(plan, rel, draw(320, 364))
        dormant = draw(80, 110)
        rel.shipping.append((registered - 3, dormant + 95))
        window(plan, rel, registered - 3, draw(190, 230), draw(3, 5), ACCOUNT)
        customer_care(plan, rel, registered - 3, dormant + 20)
        record_change(plan, rel, dormant, DORMANT)
        care(plan, rel, draw(10, dormant - 10), CareActionKind.SATISFACTION_CALL)
    elif story is Story.DORMANT_REACTIVATED:
        registered = setup(plan, rel, draw(320, 364))
        dormant, react = draw(160, 190), draw(50, 80)
        rel.shipping += [(registered - 3, dormant + 95), (react - 3, 2)]
        window(plan, rel, registered - 3, 225, draw(3, 5), ACCOUNT)
        record_change(plan, rel, dormant, DORMANT)
        record_change(plan, rel, react, REACTIVATED)
        window(plan, rel, react - 3, 2, draw(2, 4), ACCOUNT)
        customer_care(plan, rel, react - 3, 2)
    elif story is Story.LOST:
        registered = setup(plan, rel, draw(320, 364))
        lost = draw(100, 135)
        rel.shipping.append((registered - 3, lost + 3))
        window(plan, rel, registered - 3, 150, draw(4, 7), ACCOUNT)
        customer_care(plan, rel, registered - 3, 150)
        record_change(plan, rel, lost, LOST_TO_COMPETITOR)
        log_interaction(plan, rel, draw(20, lost - 20), AFTER_LOSS[rel.english])
    elif story is Story.LOST_WON_BACK:
        registered = setup(plan, rel, draw(320, 364))
        lost, won = draw(205, 240), draw(80, 120)
        rel.shipping += [(registered - 3, lost + 3), (won - 3, 2)]
        window(plan, rel, registered - 3, 260, draw(4, 6), ACCOUNT)
        record_change(plan, rel, lost, LOST_TO_COMPETITOR)
        win_back(plan, rel, lost, won)
        window(plan, rel, won - 3, 2, draw(2, 4), ACCOUNT)
        customer_care(plan, rel, won - 3, 2)
    elif story is Story.WALK_IN:
        registered = setup(plan, rel, draw(120, 250), walk_in=True)
        rel.shipping.append((registered - 3, 2))
        window(plan, rel, registered - 3, 2, draw(3, 5), ACCOUNT)
        customer_care(plan, rel, registered - 3, 2)
    elif story is Story.PROSPECT:
        registered = setup(plan, rel, draw(20, 220))
        window(plan, rel, registered - 3, 2, draw(1, 3), PURSUIT)
    elif story is Story.QUALIFIED:
        registered = setup(plan, rel, draw(150, 300))
        qualified = draw(40, registered - 45)
        window(plan, rel, registered - 3, qualified + 3, draw(2, 3), PURSUIT)
        qualify(plan, rel, qualified)
        window(plan, rel, qualified - 3, 2, draw(1, 3), PURSUIT)
    elif story is Story.PROSPECT_TO_CUSTOMER:
        registered = setup(plan, rel, draw(260, 330))
        qualified = registered - draw(30, 60)
        first = qualified - draw(40, 90)
        rel.shipping.append((first - 3, 2))
        window(plan, rel, registered - 3, qualified + 3, draw(1, 2), PURSUIT)
        qualify(plan, rel, qualified)
        window(plan, rel, qualified - 3, first + 3, draw(2, 3), PURSUIT)
        won_first_business(plan, rel, first)
        window(plan, rel, first - 3, 2, draw(3, 6), ACCOUNT)
        customer_care(plan, rel, first - 3, 2)
    elif story is Story.TARGET:
        registered = setup(plan, rel, draw(100, 300))
        window(plan, rel, registered - 3, 2, draw(2, 5), PURSUIT)
        greetings(plan, rel, registered - 3, 2)
    elif story is Story.TARGET_TO_CUSTOMER:
        registered = setup(plan, rel, draw(220, 340))
        first = draw(60, registered - 40)
        rel.shipping.append((first - 3, 2))
        window(plan, rel, registered - 3, first + 3, draw(2, 4), PURSUIT)
        won_first_business(plan, rel, first)
        window(plan, rel, first - 3, 2, draw(3, 6), ACCOUNT)
        designated = None
        if key:
            designated = draw(20, first - 20)
            designate_key_account(plan, rel, designated)
        customer_care(plan, rel, first - 3, 2, key_from=designated)
    elif story is Story.TARGET_COLD:
        registered = setup(plan, rel, draw(200, 320))
        cold = draw(40, 120)
        window(plan, rel, registered - 3, cold + 5, draw(2, 3), PURSUIT)
        record_change(plan, rel, cold, RETURNED_TO_PROSPECT)
    elif story is Story.PARTNER:
        registered = setup(plan, rel, draw(340, 364))
        window(plan, rel, registered - 3, 2, draw(4, 8), PARTNER)
        greetings(plan, rel, registered - 3, 2, only_first=True)
    elif story is Story.COMPETITOR:
        registered = setup(plan, rel, draw(355, 364))
        window(plan, rel, registered - 3, 2, draw(1, 3), COMPETITOR)


# --- set-up --------------------------------------------------------------------------


def setup(plan: Plan, rel: PlannedRelationship, days_ago: int, *, walk_in: bool = False) -> int:
    """Register, assign the account team and add the contacts, one morning."""
    org, branch, rng, app, rid = rel.org, rel.branch, plan.rng, plan.app, rel.rid
    rel.registered_days_ago = days_ago
    conversation = f"{org.key}:setup"
    minute = rng.randint(9 * 60, 10 * 60 + 30)
    office = rng.choice(branch.office_reps)
    field_rep = None if org.story is Story.COMPETITOR else rng.choice(branch.field_reps)
    rel.teams.append((days_ago, field_rep, office))
    kind = REGISTERED_KIND[org.story]
    plan.add(
        plan.at(branch.zone, days_ago, minute),
        office,
        lambda ctx: app.relationships.register_relationship(
            ctx,
            name=org.name,
            kind=kind,
            industry=org.industry,
            region=branch.region,
            branch=branch.name,
            key_account=org.key_account is KeyAccount.FROM_START,
            relationship_id=rid,
        ),
        f"registered:{kind.value}",
        conversation,
    )
    minute += rng.randint(5, 25)
    plan.add(
        plan.at(branch.zone, days_ago, minute),
        branch.manager,
        lambda ctx: app.relationships.assign_account_team(
            ctx, rid, field_rep=field_rep, office_rep=office
        ),
        "team",
        conversation,
    )
    for index in range(org.contacts):
        minute += rng.randint(3, 12)
        contact(plan, rel, index, plan.at(branch.zone, days_ago, minute), office, conversation)
    if walk_in:
        minute += rng.randint(20, 45)
        first_business(plan, rel, days_ago, minute=minute, conversation=conversation)
    # Changes of team and name are planned first: interactions go to the team of their day.
    if org.rename_to is not None:
        rename(plan, rel, plan.between(days_ago - 60, 100), org.rename_to)
    if org.move_to is not None:
        move(plan, rel, plan.between(days_ago - 60, 120), BRANCHES[org.move_to])
    if org.handover:
        handover(plan, rel, plan.between(days_ago - 60, 60))
    return days_ago


def contact(
    plan: Plan, rel: PlannedRelationship, index: int, when: datetime, actor: str, conversation: str
) -> None:
    org, rng, app, rid = rel.org, plan.rng, plan.app, rel.rid
    english = org.english and (rel.branch.english or index == 0)
    taken = {c.first for c in rel.contacts}
    while True:
        if english:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name = latin = f"{first} {last}"
            contact_id = f"{first}.{last}".lower()
            email = f"{first[0]}{last}@{org.domain}".lower()
        else:
            (surname, surname_py), (given, given_py) = (
                rng.choice(SURNAMES),
                rng.choice(GIVEN_NAMES),
            )
            name = surname + given
            latin = f"{surname_py.title()} {given_py.title()}"
            contact_id = f"{surname_py}.{given_py}"
            email = rng.choice(
                (
                    f"{surname_py}.{given_py}@{org.domain}",
                    f"{given_py}.{surname_py}@{org.domain}",
                    f"{surname_py}{given_py}@{org.domain}",
                )
            )
            first = given
        if first not in taken:
            break
    role = (
        "competitor"
        if org.story is Story.COMPETITOR
        else "partner"
        if org.story is Story.PARTNER
        else "customer"
    )
    titles = TITLES[(role, english)]
    used = {c.title for c in rel.contacts}
    title = titles[0] if index == 0 else rng.choice([t for t in titles[1:] if t not in used])
    if rel.branch.english:
        phone: str | None = f"+1 312 555 01{rng.randint(0, 99):02d}"
    elif english or rng.random() < 0.4:
        phone = f"{rel.branch.phone_prefix} {rng.randint(5000, 6999)} {rng.randint(1000, 9999)}"
    else:
        mobile = rng.choice(MOBILE_PREFIXES)
        phone = f"+86 {mobile} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    if org.story is Story.COMPETITOR:
        phone, email_or_none = None, None
    else:
        email_or_none = None if rng.random() < 0.1 else email
    contact = Contact(contact_id, name, latin, first, title)
    rel.contacts.append(contact)
    plan.add(
        when,
        actor,
        lambda ctx: app.relationships.add_contact(
            ctx,
            rid,
            contact_id=contact_id,
            name=name,
            title=title,
            phone=phone,
            email=email_or_none,
        ),
        "contact",
        conversation,
    )


class Decider(Enum):
    """Who decides a change of a relationship's kind or lifecycle."""

    FIELD_REP = "its field rep that day"
    OFFICE_REP = "its office rep that day"
    BRANCH_MANAGER = "the manager of its branch"
    KEY_ACCOUNTS = "headquarters key-account management"


@dataclass(frozen=True)
class Pursuit:
    """The opportunity that goes with a change: of ``kind`` (see ``DEAL_TITLES``),
    identified ``start`` and decided ``last`` days before the change, taken to ``reach``,
    with its outcome; ``against_competitor``: the competitor the relationship is lost to
    is in the running (and takes it, if it is lost)."""

    kind: str
    start: int
    last: int
    reach: Stage
    outcome: OpportunityStatus
    loss: LossReason | None = None
    against_competitor: bool = False


@dataclass(frozen=True)
class Change:
    """A change of a relationship's kind or lifecycle: the command that records it (a
    method of the relationships service), who decides it and the reason given (a key of
    ``REASONS``); what the customer says first, some days before it (drawn between
    ``notice_days_before``), in the same conversation; the opportunity that goes with it.
    ``names_competitor``: the command names the competitor the relationship is lost to."""

    command: Callable[..., CommandResult]
    tally: str
    decided_by: Decider
    reason: str
    conversation: str | None = None
    notice: Mapping[bool, Interaction] | None = None
    notice_days_before: tuple[int, int] = (0, 0)
    pursuit: Pursuit | None = None
    names_competitor: bool = False


LOST, WON = OpportunityStatus.LOST, OpportunityStatus.WON

QUALIFIED = Change(RelationshipService.qualify_as_target, "qualified", Decider.FIELD_REP, "qualify")
RETURNED_TO_PROSPECT = Change(
    RelationshipService.return_to_prospect,
    "returned_to_prospect",
    Decider.FIELD_REP,
    "cold",
    pursuit=Pursuit("new", 50, 3, Stage.CONTROL, LOST, LossReason.NO_DECISION),
)
DORMANT = Change(
    RelationshipService.mark_dormant,
    "dormant",
    Decider.OFFICE_REP,
    "dormant",
    "dormant",
    DORMANT_CHECK,
    (4, 10),
    Pursuit("renewal", 60, 10, Stage.TRACKING, LOST, LossReason.NO_DECISION),
)
REACTIVATED = Change(
    RelationshipService.reactivate,
    "reactivated",
    Decider.FIELD_REP,
    "reactivate",
    "reactivation",
    REACTIVATION,
    (3, 5),
    Pursuit("resume", 30, 2, Stage.IMPLEMENTATION, WON),
)
LOST_TO_COMPETITOR = Change(
    RelationshipService.mark_lost,
    "lost",
    Decider.BRANCH_MANAGER,
    "lost",
    "lost",
    LOSS_NOTICE,
    (3, 6),
    Pursuit("renewal", 70, 4, Stage.CONTROL, LOST, LossReason.PRICE, against_competitor=True),
    names_competitor=True,
)
WON_BACK = Change(
    RelationshipService.win_back,
    "won_back",
    Decider.BRANCH_MANAGER,
    "won_back",
    "win_back",
    WIN_BACK_REVIEW,
    (3, 8),
    Pursuit("win_back", 45, 1, Stage.IMPLEMENTATION, WON, against_competitor=True),
)
KEY_ACCOUNT = Change(
    RelationshipService.designate_key_account,
    "key_account",
    Decider.KEY_ACCOUNTS,
    "key_account",
)


def record_change(
    plan: Plan, rel: PlannedRelationship, days_ago: int, change: Change, **reason: object
) -> None:
    """A change of kind or lifecycle ``days_ago``, as ``change`` tells it; ``reason``: the
    values its reason names besides the lane and the competitor."""
    org = rel.org
    conversation = f"{org.key}:{change.conversation}" if change.conversation else None
    if change.notice is not None:
        earliest, latest = change.notice_days_before
        said = change.notice[rel.english]
        days_before = plan.rng.randint(earliest, latest)
        log_interaction(plan, rel, days_ago + days_before, said, conversation=conversation)
    competitor = plan.rels[org.lost_to] if org.lost_to else None
    named = {"competitor": competitor.org.name} if competitor else {}
    text = REASONS[change.reason][rel.english].format(lane=org.lane, **named, **reason)
    arguments: dict[str, object] = {"rid": rel.rid, "reason": text}
    if change.names_competitor:
        assert competitor is not None, f"{org.key} is lost to no competitor"
        arguments["lost_to_competitor_id"] = competitor.rid
    decider = {
        Decider.FIELD_REP: rel.field_rep(days_ago),
        Decider.OFFICE_REP: rel.office_rep(days_ago),
        Decider.BRANCH_MANAGER: rel.branch.manager,
        Decider.KEY_ACCOUNTS: HQ_KEY_ACCOUNTS,
    }[change.decided_by]
    plan.add(
        plan.at(rel.branch.zone, days_ago),
        decider,
        partial(change.command, plan.app.relationships, **arguments),
        change.tally,
        conversation,
    )
    if change.pursuit is not None:
        pursuit, rivals = change.pursuit, [org.lost_to] if org.lost_to else []
        against = pursuit.against_competitor
        assert rivals or not against, f"{org.key} is lost to no competitor"
        pursue(
            plan,
            rel,
            pursuit.kind,
            start=days_ago + pursuit.start,
            last=days_ago + pursuit.last,
            reach=pursuit.reach,
            outcome=pursuit.outcome,
            loss=pursuit.loss,
            lost_to=org.lost_to if against and pursuit.outcome is LOST else None,
            competitors=rivals if against else [],
        )


def qualify(plan: Plan, rel: PlannedRelationship, days_ago: int) -> None:
    record_change(plan, rel, days_ago, QUALIFIED, tons=plan.rng.randrange(50, 800, 10))


def win_back(plan: Plan, rel: PlannedRelationship, lost_days_ago: int, days_ago: int) -> None:
    """A trial shipment some time after the loss, its review, and the customer won back."""
    trial = plan.rng.randint(days_ago + 30, lost_days_ago - 20)
    said = WIN_BACK_TRIAL[rel.english]
    log_interaction(plan, rel, trial, said, conversation=f"{rel.org.key}:win_back")
    record_change(plan, rel, days_ago, WON_BACK)


def designate_key_account(plan: Plan, rel: PlannedRelationship, days_ago: int) -> None:
    amount = plan.rng.choice((300, 500, 800))  # 万元 (ten thousands of CNY)
    industry = rel.org.industry
    record_change(
        plan,
        rel,
        days_ago,
        KEY_ACCOUNT,
        amount=amount,
        millions=amount // 100,
        industry=industry,
        industry_zh=INDUSTRY_ZH.get(industry, industry),
    )


def first_business(
    plan: Plan,
    rel: PlannedRelationship,
    days_ago: int,
    *,
    minute: int | None = None,
    conversation: str | None = None,
) -> None:
    app, rid = plan.app, rel.rid
    when = plan.at(rel.branch.zone, days_ago, minute)
    day = when.astimezone(rel.branch.zone)
    reference = f"{rel.branch.code}-{day:%y%m%d}-{plan.rng.randint(1, 999):03d}"
    plan.add(
        when,
        rel.office_rep(days_ago),
        lambda ctx: app.relationships.record_first_business(ctx, rid, reference=reference),
        "first_business",
        conversation,
    )


def won_first_business(plan: Plan, rel: PlannedRelationship, days_ago: int) -> None:
    """A prospect or target wins its first opportunity; the service records its first
    business right after the win, and it becomes a customer."""
    pursue(
        plan,
        rel,
        "new",
        start=days_ago + plan.sales.randint(24, 40),
        last=days_ago,
        reach=Stage.IMPLEMENTATION,
        outcome=OpportunityStatus.WON,
    )


# --- other changes -----------------------------------------------------------------


def rename(plan: Plan, rel: PlannedRelationship, days_ago: int, name: str) -> None:
    app, rid = plan.app, rel.rid
    plan.add(
        plan.at(rel.branch.zone, days_ago),
        rel.office_rep(days_ago),
        lambda ctx: app.relationships.rename_relationship(ctx, rid, name=name),
        "renamed",
    )


def move(plan: Plan, rel: PlannedRelationship, days_ago: int, branch: Branch) -> None:
    """Production moves: the relationship goes to another branch and its team."""
    app, rid = plan.app, rel.rid
    conversation = f"{rel.org.key}:move"
    plan.add(
        plan.at(rel.branch.zone, days_ago),
        HQ_KEY_ACCOUNTS,
        lambda ctx: app.relationships.move_to_branch(
            ctx, rid, region=branch.region, branch=branch.name
        ),
        "moved",
        conversation,
    )
    field_rep, office_rep = branch.field_reps[0], branch.office_reps[0]
    rel.teams.append((days_ago - 3, field_rep, office_rep))
    plan.add(
        plan.at(branch.zone, days_ago - 3),
        branch.manager,
        lambda ctx: app.relationships.assign_account_team(
            ctx, rid, field_rep=field_rep, office_rep=office_rep
        ),
        "team",
        conversation,
    )


def handover(plan: Plan, rel: PlannedRelationship, days_ago: int) -> None:
    """The field rep hands the account over to a colleague of the same branch."""
    app, rid = plan.app, rel.rid
    current, office_rep = rel.team(days_ago)
    field_rep = next(rep for rep in rel.branch.field_reps if rep != current)
    rel.teams.append((days_ago, field_rep, office_rep))
    plan.add(
        plan.at(rel.branch.zone, days_ago),
        rel.branch.manager,
        lambda ctx: app.relationships.assign_account_team(
            ctx, rid, field_rep=field_rep, office_rep=office_rep
        ),
        "team",
    )
