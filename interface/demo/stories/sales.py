"""Sales: the catalogue of offerings launched and revised, what we know of the competitors,
and the opportunities of each relationship's year taken stage by stage, won and lost."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from application.commands import CommandResult
from domain.liability import TransportMode
from domain.offering import Lane, ServiceLevel
from domain.opportunity import STAGES, LossReason, OpportunityStatus, Stage
from interface.demo.catalogue import (
    AIR,
    CATALOGUE,
    CHINA,
    HQ_KEY_ACCOUNTS,
    PRODUCT_OF,
    PROFILES,
    RAIL,
    RIVALS,
    SEA,
    Story,
)
from interface.demo.plan import Plan, PlannedRelationship
from interface.demo.wording import DEAL_TITLES, EVALUATION_NOTES, LOSS_EXPLANATIONS, WIN_NOTE

#: An opportunity's expected value, in tens of thousands of its offering's currency a year.
DEAL_SIZES: dict[TransportMode, tuple[int, int]] = {AIR: (15, 90), SEA: (8, 50), RAIL: (20, 60)}

#: The chance of winning as sales estimates it at each open stage.
STAGE_PROBABILITY: dict[Stage, Decimal] = {
    Stage.GENERATION: Decimal("0.10"),
    Stage.TRACKING: Decimal("0.30"),
    Stage.CONTROL: Decimal("0.50"),
    Stage.IMPLEMENTATION: Decimal("0.80"),
}

#: How the customer's confirmed forecast moves the expected value, in percent.
VALUE_REVISIONS = (80, 90, 110, 115, 125)


#: The reasons a competitor takes business from us.
COMPETITIVE_LOSSES = (
    LossReason.PRICE,
    LossReason.TRANSIT_TIME,
    LossReason.SERVICE_QUALITY,
    LossReason.CAPACITY,
    LossReason.RELATIONSHIP,
)


def launch_offerings(plan: Plan) -> None:
    """What we sell, launched by headquarters before the year begins; during the year
    terms are revised, a product renamed, and the dangerous-goods lane suspended for the
    winter and resumed."""
    app = plan.app
    for index, product in enumerate(CATALOGUE):
        oid = plan.sales_uuid()
        plan.products[product.key] = oid
        plan.add(
            plan.at(CHINA, 365, 9 * 60 + 10 * index),
            HQ_KEY_ACCOUNTS,
            partial(
                app.sales.launch_offering,
                name=product.name,
                lane=Lane(product.origin, product.destination, product.mode),
                service_level=product.level,
                transit_days=product.days,
                description=product.description,
                offering_id=oid,
            ),
            "offering:launched",
        )
    changes: list[tuple[int, str, Callable[..., CommandResult], str]] = [
        (200, "szv_ord", partial(
            app.sales.revise_offering_terms, service_level=ServiceLevel.DOOR_TO_DOOR,
            transit_days=4, reason="New daily PVG–ORD freighter: a day faster."),
         "offering:terms_revised"),
        (120, "sha_lgb", partial(
            app.sales.revise_offering_terms, service_level=ServiceLevel.DOOR_TO_PORT,
            transit_days=18, reason="Congestion in San Pedro Bay: two days more."),
         "offering:terms_revised"),
        (90, "sha_lhr", partial(
            app.sales.redescribe_offering,
            name="Shanghai–London E-commerce Air DDP 上海—伦敦跨境电商专线（双清包税）",
            description="Consolidated parcels, duties and VAT paid, last mile by Royal Mail."),
         "offering:redescribed"),
        (250, "sha_pus_dg", partial(
            app.sales.retire_offering,
            reason="The carrier stops accepting IMDG class 3 for the winter."),
         "offering:retired"),
        (150, "sha_pus_dg", partial(
            app.sales.reinstate_offering,
            reason="Dangerous goods accepted again for the spring."),
         "offering:reinstated"),
    ]  # fmt: skip
    for days_ago, key, run, tally in changes:
        oid = plan.products[key]
        plan.add(plan.sales_at(CHINA, days_ago), HQ_KEY_ACCOUNTS, partial(run, oid=oid), tally)


def competitor_profiles(plan: Plan) -> None:
    """What we know of each competitor, noted by its branch's manager soon after it is
    registered, and what we learn of it during the year."""
    app, rng = plan.app, plan.sales
    for key, (strengths, weaknesses, lanes, later) in PROFILES.items():
        rel = plan.rels[key]
        rid, manager, zone = rel.rid, rel.branch.manager, rel.branch.zone
        conversation = f"{key}:profile"
        english = rel.english
        day = rel.registered_days_ago - rng.randint(3, 10)
        plan.add(
            plan.sales_at(zone, day),
            manager,
            partial(
                app.sales.start_competitor_profile,
                relationship_id=rid,
                strengths=strengths,
                weaknesses=weaknesses,
                lanes=[Lane(*lane) for lane in lanes],
            ),
            "profile:started",
            conversation,
        )
        strength, weakness, lane, drop = later
        learnt: list[tuple[Callable[..., CommandResult], str]] = []
        if strength is not None:
            learnt.append((partial(app.sales.note_competitor_strength, strength=strength), "noted"))
        if weakness is not None:
            improved = (
                "Recent visits show this has improved." if english else "近期走访显示已改善。"
            )
            learnt.append(
                (
                    partial(
                        app.sales.withdraw_competitor_weakness,
                        weakness=weakness,
                        reason=improved,
                    ),
                    "withdrawn",
                )
            )
        if lane is not None:
            learnt.append((partial(app.sales.add_competitor_lane, lane=Lane(*lane)), "lane_added"))
        if drop:
            left = "They left this trade." if english else "对方已退出该航线。"
            learnt.append(
                (
                    partial(app.sales.drop_competitor_lane, lane=Lane(*lanes[0]), reason=left),
                    "lane_dropped",
                )
            )
        day = rng.randint(120, 220)
        for run, tally in learnt:
            plan.add(
                plan.sales_at(zone, day),
                manager,
                partial(run, relationship_id=rid),
                f"profile:{tally}",
                conversation,
            )
            day -= rng.randint(10, 40)


def draw_rival(plan: Plan, rel: PlannedRelationship) -> str:
    """A competitor the relationship's branch meets in its tenders."""
    return plan.sales.choice(RIVALS[rel.branch.code])


def pipeline(plan: Plan, rel: PlannedRelationship) -> None:
    """The opportunities of a relationship's year that its lifecycle does not already
    tell (lost and won-back business, dormancy, a first win: see ``stories.relationships``)."""
    if rel.org.key not in PRODUCT_OF:
        return
    draw, story, registered = plan.sales.randint, rel.org.story, rel.registered_days_ago
    open_stages = (Stage.TRACKING, Stage.CONTROL, Stage.IMPLEMENTATION)
    if story is Story.CUSTOMER:
        won = draw(60, 160)
        pursue(
            plan,
            rel,
            "growth",
            start=won + draw(40, 90),
            last=won,
            reach=Stage.IMPLEMENTATION,
            outcome=OpportunityStatus.WON,
            competitors=[draw_rival(plan, rel)],
            step_back=draw(0, 3) == 0,
        )
        # Every third customer's renewal is lost; the others' are open, a stage each in turn.
        turn = len(plan.opportunity_ids) % 3
        if turn == 0:
            loss = plan.sales.choice(COMPETITIVE_LOSSES)
            decided = draw(20, 200)
            rival = draw_rival(plan, rel)
            pursue(
                plan,
                rel,
                "renewal",
                start=decided + draw(30, 60),
                last=decided,
                reach=plan.sales.choice(open_stages),
                outcome=OpportunityStatus.LOST,
                loss=loss,
                lost_to=rival,
                competitors=[rival],
            )
        else:
            pursue(
                plan,
                rel,
                "renewal",
                start=draw(30, 80),
                last=draw(3, 12),
                reach=open_stages[turn],
                competitors=[draw_rival(plan, rel)],
            )
    elif story is Story.PROSPECT and (rel.org.key == "windy_city" or draw(0, 9) < 6):
        windy = rel.org.key == "windy_city"
        pursue(
            plan,
            rel,
            "new",
            start=draw(8, min(60, registered - 3)),
            last=3,
            reach=Stage.TRACKING if windy else Stage.GENERATION,
            change_to="ngb_ord" if windy else None,
        )
    elif story is Story.QUALIFIED:
        pursue(
            plan,
            rel,
            "new",
            start=draw(20, 45),
            last=draw(3, 8),
            reach=plan.sales.choice(open_stages[:2]),
            competitors=[draw_rival(plan, rel)],
        )
    elif story is Story.TARGET:
        step_back = rel.org.key == "lakeshore"
        pursue(
            plan,
            rel,
            "new",
            start=draw(50, 100),
            last=draw(3, 10),
            reach=Stage.CONTROL if step_back else Stage.IMPLEMENTATION,
            competitors=[draw_rival(plan, rel)],
            step_back=step_back,
        )


def pursue(
    plan: Plan,
    rel: PlannedRelationship,
    kind: str,
    *,
    start: int,
    last: int,
    reach: Stage,
    outcome: OpportunityStatus = OpportunityStatus.OPEN,
    loss: LossReason | None = None,
    lost_to: str | None = None,
    competitors: Sequence[str] = (),
    step_back: bool = False,
    change_to: str | None = None,
) -> None:
    """One opportunity: identified ``start`` days ago, taken stage by stage to ``reach``
    (stepping back once from control if ``step_back``) and, ``last`` days ago, won,
    lost or left open; its steps at least three days apart, each new stage's probability
    revised right after it, the value revised in control. A won one is evaluated some
    forty days later."""
    rng, app, zone, en = plan.sales, plan.app, rel.branch.zone, rel.english
    product = next(p for p in CATALOGUE if p.key == PRODUCT_OF[rel.org.key])
    start = min(start, rel.registered_days_ago - 3)
    if product.key == "sha_pus_dg":  # not while the lane is suspended
        start = min(start, 140)
    moves: list[tuple[str, Stage | None]] = []
    for stage in STAGES[1 : reach.position + 1]:
        moves.append(("advance", stage))
        if step_back and stage is Stage.CONTROL:
            moves += [("step_back", Stage.TRACKING), ("advance", Stage.CONTROL)]
    if outcome is not OpportunityStatus.OPEN:
        moves.append((outcome.value, None))
    assert start - last >= 3 * len(moves), (rel.org.key, start, last, moves)
    oid = plan.sales_uuid()
    plan.opportunity_ids.append(oid)
    conversation = f"{rel.org.key}:opportunity:{oid}"

    def step(when: datetime, actor: str, run: Callable[..., CommandResult], tally: str) -> None:
        plan.add(when, actor, partial(run, oid=oid), f"opportunity:{tally}", conversation)

    amount = Decimal(rng.randint(*DEAL_SIZES[product.mode]) * 10_000)
    probability = STAGE_PROBABILITY[Stage.GENERATION]
    plan.add(
        plan.sales_at(zone, start),
        rel.field_rep(start),
        partial(
            app.sales.identify_opportunity,
            relationship_id=rel.rid,
            title=DEAL_TITLES[kind][en].format(lane=rel.org.lane),
            offering_id=plan.products[product.key],
            expected_value=amount,
            currency=product.currency,
            probability=probability,
            competitor_ids=[plan.rels[c].rid for c in competitors],
            opportunity_id=oid,
        ),
        "opportunity:identified",
        conversation,
    )
    revised = False
    for index, (move, to_stage) in enumerate(moves, 1):
        days_ago = start - round(index * (start - last) / len(moves))
        when = plan.sales_at(zone, days_ago)
        field_rep, office = rel.field_rep(days_ago), rel.office_rep(days_ago)
        if move == "advance":
            assert to_stage is not None
            stage = to_stage
            step(
                when,
                field_rep,
                partial(app.sales.advance_opportunity, to_stage=stage),
                "advanced",
            )
            chance = STAGE_PROBABILITY[stage] + rng.choice((-5, 0, 5)) * Decimal("0.01")
            if chance != probability:
                probability = chance
                why = ("进入{stage}阶段，重估成交概率。", "Entered {stage}; chance reassessed.")
                step(
                    when + timedelta(hours=1),
                    office,
                    partial(
                        app.sales.revise_probability,
                        probability=chance,
                        reason=why[en].format(stage=stage.value),
                    ),
                    "probability",
                )
            if stage is Stage.CONTROL and not revised:
                revised = True
                amount = (amount * rng.choice(VALUE_REVISIONS) / 100).quantize(Decimal(1))
                why = ("客户确认年度货量预测。", "The customer confirmed its annual forecast.")
                step(
                    when + timedelta(hours=2),
                    office,
                    partial(
                        app.sales.revise_expected_value,
                        amount=amount,
                        currency=product.currency,
                        reason=why[en],
                    ),
                    "value",
                )
                other = [c for c in RIVALS[rel.branch.code] if c not in competitors]
                if other and rng.random() < 0.4:
                    step(
                        when + timedelta(hours=3),
                        field_rep,
                        partial(
                            app.sales.involve_competitor, competitor_id=plan.rels[other[0]].rid
                        ),
                        "competitor_involved",
                    )
            if stage is Stage.TRACKING and change_to is not None:
                why = (
                    "客户要求送到芝加哥仓库，改报海铁联运门到门。",
                    "They want delivery to their Chicago DC: offered sea and rail door to "
                    "door instead.",
                )
                step(
                    when + timedelta(hours=2),
                    office,
                    partial(
                        app.sales.change_opportunity_offering,
                        offering_id=plan.products[change_to],
                        reason=why[en],
                    ),
                    "offering_changed",
                )
        elif move == "step_back":
            why = (
                "客户重新提出包装和时效要求。",
                "The customer reopened its packaging and transit-time requirements.",
            )
            step(
                when,
                field_rep,
                partial(app.sales.step_back_opportunity, to_stage=Stage.TRACKING, reason=why[en]),
                "stepped_back",
            )
        elif move == OpportunityStatus.WON.value:
            first = rel.org.story in (Story.PROSPECT_TO_CUSTOMER, Story.TARGET_TO_CUSTOMER)
            step(
                when,
                rel.branch.manager,
                partial(app.sales.mark_opportunity_won, note=WIN_NOTE[en]),
                "won_first_business" if first else "won",
            )
            if days_ago - 40 >= 3:
                rating = rng.choice((5, 4, 4, 3))
                step(
                    plan.sales_at(zone, days_ago - 40),
                    office,
                    partial(
                        app.sales.evaluate_opportunity,
                        rating=rating,
                        remarks=EVALUATION_NOTES[rating][en],
                    ),
                    "evaluated",
                )
        else:
            assert loss is not None
            step(
                when,
                rel.branch.manager,
                partial(
                    app.sales.mark_opportunity_lost,
                    reason=loss,
                    explanation=LOSS_EXPLANATIONS[loss][en],
                    competitor_id=plan.rels[lost_to].rid if lost_to else None,
                ),
                "lost",
            )
