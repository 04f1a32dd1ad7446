"""Interactions with a relationship's contacts, and customer care: satisfaction calls,
follow-ups after incidents, gifts, review meetings, holiday greetings."""

from __future__ import annotations

from datetime import date

from domain.relationship import CareActionKind, Channel, Direction
from interface.demo.catalogue import KeyAccount
from interface.demo.plan import Contact, Plan, PlannedRelationship
from interface.demo.wording import (
    CARE,
    GREETINGS,
    THANKSGIVING,
    Interaction,
    Pools,
)


def window(
    plan: Plan, rel: PlannedRelationship, hi: int, lo: int, count: int, pools: Pools
) -> None:
    """``count`` interactions between ``hi`` and ``lo`` days ago."""
    if hi < lo or count <= 0:
        return
    pool = pools[rel.english]
    chosen = plan.rng.sample(pool, count) if count <= len(pool) else plan.rng.choices(pool, k=count)
    for template in chosen:
        log_interaction(plan, rel, plan.rng.randint(lo, hi), template)


def log_interaction(
    plan: Plan,
    rel: PlannedRelationship,
    days_ago: int,
    template: Interaction,
    *,
    conversation: str | None = None,
) -> None:
    app, rid = plan.app, rel.rid
    staff = (
        rel.field_rep(days_ago)
        if template.channel in (Channel.VISIT, Channel.MEETING)
        else rel.office_rep(days_ago)
    )
    weekend = template.direction is Direction.INBOUND and template.channel in (
        Channel.PORTAL,
        Channel.MESSAGE,
    )
    when = plan.at(rel.branch.zone, days_ago, weekend=weekend)
    contact = plan.rng.choice(rel.contacts) if "{contact}" in template.text else None
    competitor = plan.rels[rel.org.lost_to].org.name if rel.org.lost_to else ""
    summary = template.text.format(
        contact=(contact.latin if rel.english else contact.name) if contact else "",
        lane=rel.org.lane,
        competitor=competitor,
    )
    interaction_id = plan.uuid()
    contact_id = contact.contact_id if contact else None
    if template.incident:
        conversation = f"{rel.org.key}:incident:{interaction_id}"
    plan.add(
        when,
        staff,
        lambda ctx: app.relationships.log_interaction(
            ctx,
            rid,
            interaction_id=interaction_id,
            channel=template.channel,
            direction=template.direction,
            summary=summary,
            staff=staff,
            contact_id=contact_id,
        ),
        f"interaction:{template.channel.value}",
        conversation,
    )
    if template.incident and days_ago > 3:
        follow_up = days_ago - plan.rng.randint(3, min(6, days_ago - 1))
        care(
            plan,
            rel,
            follow_up,
            CareActionKind.FOLLOW_UP_AFTER_INCIDENT,
            staff=rel.branch.manager
            if rel.org.key_account is not KeyAccount.NO
            else rel.office_rep(follow_up),
            contact=contact,
            conversation=conversation,
        )


def care(
    plan: Plan,
    rel: PlannedRelationship,
    days_ago: int,
    kind: CareActionKind,
    *,
    text: str | None = None,
    staff: str | None = None,
    contact: Contact | None = None,
    conversation: str | None = None,
) -> None:
    app, rid = plan.app, rel.rid
    contact = contact or plan.rng.choice(rel.contacts)
    note = (text or plan.rng.choice(CARE[kind][rel.english])).format(
        contact=contact.latin if rel.english else contact.name,
        score=plan.rng.choice((3, 4, 4, 4, 5, 5)),
    )
    who = staff or (
        rel.field_rep(days_ago)
        if kind in (CareActionKind.GIFT, CareActionKind.REVIEW_MEETING)
        else rel.office_rep(days_ago)
    )
    care_id = plan.uuid()
    plan.add(
        plan.at(rel.branch.zone, days_ago),
        who,
        lambda ctx: app.relationships.record_customer_care(
            ctx, rid, care_id=care_id, care_kind=kind, note=note, staff=who
        ),
        f"care:{kind.value}",
        conversation,
    )


def customer_care(
    plan: Plan, rel: PlannedRelationship, hi: int, lo: int, *, key_from: int | None = None
) -> None:
    """Satisfaction calls and greetings between ``hi`` and ``lo`` days ago; a key account
    (from ``key_from`` days ago, else from the start) also gets a second satisfaction
    call, sometimes a gift and, after a year as a customer, an annual review meeting with
    the branch manager."""
    if hi < lo:
        return
    draw = plan.rng.randint
    key = rel.org.key_account is not KeyAccount.NO
    key_hi = min(hi, key_from - 3) if key_from is not None else hi
    if key and key_hi - lo >= 60:
        middle = (key_hi + lo) // 2
        for day in (draw(middle + 20, key_hi), draw(lo, middle - 20)):
            care(plan, rel, day, CareActionKind.SATISFACTION_CALL)
        if hi - lo >= 180:  # a customer for the year: the annual review
            care(
                plan,
                rel,
                draw(lo, min(key_hi, 60)),
                CareActionKind.REVIEW_MEETING,
                staff=rel.branch.manager,
            )
        if plan.rng.random() < 0.6:
            care(plan, rel, draw(lo, key_hi), CareActionKind.GIFT)
    else:
        care(plan, rel, draw(lo, hi), CareActionKind.SATISFACTION_CALL)
    greetings(plan, rel, hi, lo)


def greetings(
    plan: Plan, rel: PlannedRelationship, hi: int, lo: int, *, only_first: bool = False
) -> None:
    holidays = list(GREETINGS[rel.english])
    if rel.branch.english:
        holidays.append(THANKSGIVING)
    if only_first:
        holidays = holidays[:1]
    today = plan.now.astimezone(rel.branch.zone).date()
    for (month, day), text in holidays:
        holiday = date(today.year, month, day)
        if holiday >= today:
            holiday = date(today.year - 1, month, day)
        days_ago = (today - holiday).days
        if lo <= days_ago <= hi:
            care(plan, rel, days_ago, CareActionKind.GREETING, text=text)
