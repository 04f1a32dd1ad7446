"""Market management: two segments — headquarters' electronics relationships, and the
Suzhou branch manager's customers gone quiet — and a campaign offering the Suzhou–Frankfurt
air service to the electronics segment: planned and started by headquarters, its contacts
logged as interactions tagged with it, one asking for a quote and one not interested, a
prospect registered from it, an opportunity opened from it and won, and money spent.

Ids and times are drawn from a generator of this story's own: the other stories draw
exactly what they drew before."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID

from application.commands import CommandResult
from domain.base import CommandContext
from domain.consent import ConsentChannel, ConsentPurpose
from domain.marketing import Response, SegmentRules
from domain.opportunity import Stage
from domain.relationship import Channel, Direction, Lifecycle
from interface.demo.catalogue import BRANCHES, CHINA, HQ_KEY_ACCOUNTS, Story
from interface.demo.plan import Plan, PlannedRelationship

#: The seed of this story's own generator.
SEED = "marketing"

#: The branch whose manager keeps a segment of their own (its code in the registry).
BRANCH = BRANCHES["SZV"].name


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def tell_all(plan: Plan) -> None:
    rng = random.Random(SEED)
    app, marketing = plan.app, plan.app.marketing
    electronics = [
        rel
        for rel in plan.rels.values()
        if rel.org.story is Story.CUSTOMER
        and rel.org.industry == "electronics"
        and rel.org.move_to is None
    ]
    if not electronics:
        return

    def add(
        days_ago: int, actor: str, run: partial[CommandResult], tally: str, hours: int = 0
    ) -> None:
        """A step ``days_ago`` (steps that depend on each other are three or more days
        apart, or on one day ``hours`` after its first step, 9:00 China time)."""
        minute = 9 * 60 if hours else rng.randint(9 * 60, 17 * 60)
        when = plan.at(CHINA, days_ago, minute) + timedelta(hours=hours)
        plan.add(when, actor, run, f"marketing:{tally}")

    segment, quiet, campaign = _uuid(rng), _uuid(rng), _uuid(rng)
    prospect, opportunity = _uuid(rng), _uuid(rng)
    add(
        55,
        HQ_KEY_ACCOUNTS,
        partial(
            marketing.define_segment,
            name="电子行业客户与潜在客户 Electronics relationships",
            rules=SegmentRules.model_validate(
                {"industries": ["electronics"], "kinds": ["customer", "prospect", "target"]}
            ),
            description="行业大客户营销：电子行业 key accounts by industry",
            segment_id=segment,
        ),
        "segment_defined",
    )

    def in_branch(ctx: CommandContext) -> CommandResult:
        return marketing.define_segment(
            replace(ctx, branch_scope=BRANCH),
            name="苏州沉睡与流失客户 Suzhou customers gone quiet",
            rules=SegmentRules.model_validate(
                {"branches": [BRANCH], "lifecycles": [Lifecycle.DORMANT, Lifecycle.LOST]}
            ),
            description="唤醒计划 win-back calls",
            segment_id=quiet,
        )

    plan.add(
        plan.at(CHINA, 48, rng.randint(9 * 60, 17 * 60)),
        BRANCHES["SZV"].manager,
        in_branch,
        "marketing:segment_defined",
    )
    offering = plan.products["szv_fra"]
    start = plan.now.astimezone(CHINA).date() - timedelta(days=40)
    add(
        45,
        HQ_KEY_ACCOUNTS,
        partial(
            marketing.plan_campaign,
            name="苏州—法兰克福空运推广 Suzhou–Frankfurt air launch",
            segment_id=segment,
            offering_id=offering,
            starts_on=start,
            ends_on=start + timedelta(days=60),
            budget=Decimal("30000.00"),
            currency="CNY",
            campaign_id=campaign,
        ),
        "campaign_planned",
    )
    add(40, HQ_KEY_ACCOUNTS, partial(marketing.start_campaign, cid=campaign), "campaign_started")
    answers = (Response.ASKED_FOR_QUOTE, Response.NOT_INTERESTED)
    for n, rel in enumerate(electronics[:2]):
        _contact(plan, rng, rel, campaign, 36 - n, answers[n])
    first = electronics[0]
    rep = first.field_rep(30)
    add(
        33,
        rep,
        partial(
            marketing.register_prospect,
            cid=campaign,
            name="苏州工业园区晶测半导体有限公司",
            industry="electronics",
            region=first.branch.region,
            branch=first.branch.name,
            prospect_id=prospect,
        ),
        "prospect_registered",
        hours=1,
    )
    # The lead is worked like any prospect: an account team, a contact, a first call.
    relationships = app.relationships
    add(
        33,
        first.branch.manager,
        partial(
            relationships.assign_account_team,
            rid=prospect,
            field_rep=rep,
            office_rep=first.office_rep(33),
        ),
        "prospect_worked",
        hours=2,
    )
    add(
        33,
        rep,
        partial(
            relationships.add_contact, rid=prospect, contact_id="c1", name="顾婷", title="物流经理"
        ),
        "prospect_worked",
        hours=3,
    )
    # Met at the trade fair, she signed up for offers: a campaign may contact her.
    add(33, rep, partial(relationships.give_consent, rid=prospect, contact_id="c1",
        purpose=ConsentPurpose.MARKETING, channel=ConsentChannel.PAPER,
        evidence_ref="trade-fair sign-up form"), "prospect_worked", hours=4)  # fmt: skip
    add(33, rep, partial(relationships.log_interaction, rid=prospect,
        interaction_id=_uuid(rng), channel=Channel.CALL, direction=Direction.OUTBOUND,
        summary="展会后回访：询问法兰克福空运报价", contact_id="c1", campaign_id=campaign),
        "contact_logged", hours=5)  # fmt: skip
    add(
        30,
        rep,
        partial(
            app.sales.identify_opportunity,
            relationship_id=first.rid,
            title="法兰克福空运月度出口 Monthly air exports to Frankfurt",
            offering_id=offering,
            expected_value=Decimal("180000"),
            currency="CNY",
            probability=Decimal("0.4"),
            opportunity_id=opportunity,
            source_campaign_id=campaign,
        ),
        "opportunity_opened",
    )
    for days_ago, stage in ((26, Stage.TRACKING), (22, Stage.CONTROL), (18, Stage.IMPLEMENTATION)):
        add(
            days_ago,
            rep,
            partial(app.sales.advance_opportunity, oid=opportunity, to_stage=stage),
            "opportunity_advanced",
        )
    add(
        15,
        rep,
        partial(app.sales.mark_opportunity_won, oid=opportunity, note="首票月底出运"),
        "opportunity_won",
    )
    add(
        34,
        HQ_KEY_ACCOUNTS,
        partial(marketing.record_spend, cid=campaign, amount=Decimal("12000.00"),
                branch=first.branch.name, note="行业展会展位 trade-fair stand"),
        "spend_recorded",
    )  # fmt: skip
    add(
        20,
        HQ_KEY_ACCOUNTS,
        partial(marketing.record_spend, cid=campaign, amount=Decimal("3000.00"),
                note="行业媒体广告 trade-press advertising"),
        "spend_recorded",
    )  # fmt: skip


def _contact(
    plan: Plan,
    rng: random.Random,
    rel: PlannedRelationship,
    campaign: UUID,
    days_ago: int,
    answer: Response,
) -> None:
    rep = rel.field_rep(days_ago)
    interaction = _uuid(rng)
    called = plan.at(rel.branch.zone, days_ago, rng.randint(9 * 60, 12 * 60))
    plan.add(
        called,
        rep,
        partial(
            plan.app.relationships.log_interaction,
            rid=rel.rid,
            interaction_id=interaction,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            summary="介绍苏州—法兰克福空运新线路"
            if not rel.english
            else "Presented the new Suzhou–Frankfurt air service",
            campaign_id=campaign,
        ),
        "marketing:contact_logged",
    )
    plan.add(
        called + timedelta(hours=3),
        rep,
        partial(
            plan.app.marketing.record_response,
            cid=campaign,
            relationship_id=rel.rid,
            response=answer,
        ),
        "marketing:response_recorded",
    )
