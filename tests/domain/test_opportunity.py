"""The Opportunity aggregate on its own, no database: a piece of business moving through
generation, tracking, control and implementation, won or lost, and the won business
evaluated."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from domain.base import CommandContext, CommandRefused, DomainError, InvalidValue, event_classes
from domain.opportunity import (
    STAGES,
    LossReason,
    Opportunity,
    OpportunityStatus,
    Stage,
)
from domain.relationship import RelationshipKind

DAY_ONE = datetime(2025, 3, 3, tzinfo=UTC)

HUAXIN = UUID("00000000-0000-4000-8000-00000000c001")  # an electronics maker in Suzhou
AIR_OFFERING = UUID("00000000-0000-4000-8000-0000000f0001")  # Suzhou → Chicago, air
SEA_OFFERING = UUID("00000000-0000-4000-8000-0000000f0002")  # Shanghai → Long Beach, sea
RIVAL = UUID("00000000-0000-4000-8000-00000000e001")  # the incumbent forwarder
NEWCOMER = UUID("00000000-0000-4000-8000-00000000e002")  # a digital forwarder
CARRIER = UUID("00000000-0000-4000-8000-00000000a001")  # a partner airline
KINDS = {
    RIVAL: RelationshipKind.COMPETITOR.value,
    NEWCOMER: RelationshipKind.COMPETITOR.value,
    CARRIER: RelationshipKind.PARTNER.value,
    HUAXIN: RelationshipKind.TARGET.value,
}

OPEN_STAGES = (Stage.GENERATION, Stage.TRACKING, Stage.CONTROL, Stage.IMPLEMENTATION)


def at(hours: float) -> datetime:
    return DAY_ONE + timedelta(hours=hours)


def ctx(hours: float = 0, actor: str = "sales.zhou") -> CommandContext:
    return CommandContext.issue(actor=actor, now=at(hours), occurred_at=at(hours))


def identify(
    *,
    kind: str | None = RelationshipKind.TARGET.value,
    competitors: Sequence[UUID] = (RIVAL,),
    offering_active: bool = True,
    expected_value: Decimal = Decimal("240000"),
    probability: Decimal = Decimal("0.2"),
    currency: str = "USD",
) -> Opportunity:
    return Opportunity.identify(
        ctx(),
        relationship_id=HUAXIN,
        relationship_kind=kind,
        title="Monthly laptop exports to Chicago by air",
        offering_id=AIR_OFFERING,
        offering_active=offering_active,
        expected_value=expected_value,
        currency=currency,
        probability=probability,
        competitor_ids=competitors,
        competitor_kinds=KINDS,
    )


def at_stage(stage: Stage) -> Opportunity:
    """An open opportunity advanced to ``stage``, one stage a day."""
    opportunity = identify()
    for day, next_stage in enumerate(STAGES[1 : stage.position + 1], 1):
        opportunity.advance(ctx(24 * day), to_stage=next_stage)
    assert opportunity.stage is stage
    return opportunity


def won() -> Opportunity:
    opportunity = at_stage(Stage.IMPLEMENTATION)
    opportunity.mark_won(ctx(100), offering_active=True, note="contract SZX-2025-017 signed")
    return opportunity


def lost() -> Opportunity:
    opportunity = at_stage(Stage.CONTROL)
    opportunity.mark_lost(
        ctx(100), reason=LossReason.PRICE, explanation="8% under our rate", competitor_id=RIVAL
    )
    return opportunity


@contextmanager
def refused(
    rule: str, kind: type[DomainError] = CommandRefused, unchanged: Opportunity | None = None
) -> Iterator[None]:
    """The command in the block is refused by ``rule`` and, on ``unchanged``, records nothing."""
    version = unchanged.version if unchanged is not None else None
    with pytest.raises(kind) as caught:
        yield
    assert caught.value.rule == rule, caught.value.message
    if unchanged is not None:
        assert unchanged.version == version


def mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


def rebuild(events: Sequence[object]) -> Opportunity:
    opportunity: Opportunity | None = None
    for event in events:
        assert isinstance(event, Opportunity.Event)
        opportunity = event.mutate(opportunity)
    assert isinstance(opportunity, Opportunity)
    return opportunity


# --- the story: a target's air exports, won and evaluated ------------------------------------


def test_a_targets_air_exports_are_tracked_controlled_implemented_won_and_evaluated() -> None:
    # 业务产生: the field rep finds the need on a visit; the incumbent forwarder competes.
    opportunity = identify()
    assert (opportunity.stage, opportunity.status) == (Stage.GENERATION, OpportunityStatus.OPEN)
    assert opportunity.relationship_id == HUAXIN
    assert opportunity.competitor_ids == (RIVAL,)
    assert opportunity.weighted_value == Decimal("48000.00")
    assert not opportunity.can_book

    # 业务跟踪: the office rep follows up; the customer's volumes firm up.
    opportunity.advance(ctx(24, "office.chen"), to_stage=Stage.TRACKING, note="RFQ received")
    opportunity.revise_probability(ctx(25), probability=Decimal("0.4"), reason="RFQ received")
    opportunity.revise_expected_value(
        ctx(26), amount=Decimal("300000"), currency="usd", reason="20 t a month, not 16"
    )
    assert opportunity.weighted_value == Decimal("120000.00")
    assert opportunity.currency == "USD"

    # 业务控制: a digital forwarder joins the tender; we move to the sea offering and back.
    opportunity.advance(ctx(48), to_stage=Stage.CONTROL)
    opportunity.involve_competitor(ctx(49), competitor_id=NEWCOMER, competitor_kinds=KINDS)
    assert opportunity.competitor_ids == (RIVAL, NEWCOMER)
    opportunity.change_offering(
        ctx(50), offering_id=SEA_OFFERING, offering_active=True, reason="price"
    )
    opportunity.change_offering(
        ctx(51), offering_id=AIR_OFFERING, offering_active=True, reason="lead time"
    )
    assert opportunity.offering_id == AIR_OFFERING

    # 业务落实: the contract is signed; the business is ours and shipments may be booked.
    opportunity.advance(ctx(72), to_stage=Stage.IMPLEMENTATION, note="trial shipment booked")
    opportunity.mark_won(ctx(96, "manager.sun"), offering_active=True, note="contract signed")
    assert opportunity.status is OpportunityStatus.WON
    assert opportunity.can_book
    assert opportunity.weighted_value == Decimal("300000.00")
    assert opportunity.win is not None
    assert (opportunity.win.won_at, opportunity.win.won_by) == (at(96), "manager.sun")

    # 业务评价: a quarter later the business is reviewed; it is done.
    opportunity.evaluate(ctx(2000), rating=4, remarks="on time, one damaged carton")
    assert opportunity.stage is Stage.EVALUATION
    assert not opportunity.can_book
    assert opportunity.evaluation is not None
    assert opportunity.evaluation.rating == 4

    # Every stage change is on record: when and by whom.
    assert [(e.stage, e.entered_at, e.entered_by) for e in opportunity.stage_history] == [
        (Stage.GENERATION, at(0), "sales.zhou"),
        (Stage.TRACKING, at(24), "office.chen"),
        (Stage.CONTROL, at(48), "sales.zhou"),
        (Stage.IMPLEMENTATION, at(72), "sales.zhou"),
        (Stage.EVALUATION, at(2000), "sales.zhou"),
    ]


@pytest.mark.parametrize(("before", "after"), list(pairwise(OPEN_STAGES)))
def test_an_open_opportunity_advances_one_stage(before: Stage, after: Stage) -> None:
    opportunity = at_stage(before)
    opportunity.advance(ctx(200), to_stage=after, note="on we go")
    assert opportunity.stage is after
    assert opportunity.stage_entered_at == at(200)
    event = opportunity.collect_events()[-1]
    assert isinstance(event, Opportunity.StageAdvanced)
    assert (event.from_stage, event.to_stage, event.actor) == (before, after, "sales.zhou")


@pytest.mark.parametrize(("before", "after"), list(pairwise(OPEN_STAGES)))
def test_an_open_opportunity_steps_back_one_stage_with_a_reason(
    before: Stage, after: Stage
) -> None:
    opportunity = at_stage(after)
    opportunity.step_back(ctx(200), to_stage=before, reason="the customer reopened its specs")
    assert opportunity.stage is before
    event = opportunity.collect_events()[-1]
    assert isinstance(event, Opportunity.SteppedBack)
    assert (event.from_stage, event.to_stage) == (after, before)
    assert event.reason == "the customer reopened its specs"
    # It then moves on again the usual way.
    opportunity.advance(ctx(201), to_stage=after)
    assert opportunity.stage is after


def test_an_opportunity_may_be_lost_at_any_open_stage_and_keeps_it() -> None:
    for stage in OPEN_STAGES:
        opportunity = at_stage(stage)
        opportunity.mark_lost(ctx(200), reason=LossReason.NO_DECISION, explanation="shelved")
        assert (opportunity.status, opportunity.stage) == (OpportunityStatus.LOST, stage)
        assert opportunity.weighted_value == Decimal("0.00")
        assert opportunity.probability == Decimal("0.2")  # the last estimate stays
        assert not opportunity.can_book


# --- refused stage changes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "to_stage", "rule"),
    [
        (Stage.GENERATION, Stage.GENERATION, "stage.unchanged"),
        (Stage.GENERATION, Stage.CONTROL, "stage.skipped"),
        (Stage.GENERATION, Stage.IMPLEMENTATION, "stage.skipped"),
        (Stage.TRACKING, Stage.IMPLEMENTATION, "stage.skipped"),
        (Stage.CONTROL, Stage.TRACKING, "stage.backwards"),
        (Stage.IMPLEMENTATION, Stage.GENERATION, "stage.backwards"),
        (Stage.CONTROL, Stage.EVALUATION, "stage.evaluation_before_win"),
        (Stage.IMPLEMENTATION, Stage.EVALUATION, "stage.evaluation_before_win"),
    ],
)
def test_stages_are_taken_in_order_without_skipping_or_going_back(
    stage: Stage, to_stage: Stage, rule: str
) -> None:
    opportunity = at_stage(stage)
    with refused(rule, unchanged=opportunity):
        opportunity.advance(ctx(200), to_stage=to_stage)


@pytest.mark.parametrize(
    ("stage", "to_stage", "rule"),
    [
        (Stage.GENERATION, Stage.GENERATION, "stage.unchanged"),
        (Stage.TRACKING, Stage.CONTROL, "stage.not_backwards"),
        (Stage.CONTROL, Stage.GENERATION, "stage.back_more_than_one"),
        (Stage.IMPLEMENTATION, Stage.TRACKING, "stage.back_more_than_one"),
    ],
)
def test_stepping_back_goes_one_stage_back_only(stage: Stage, to_stage: Stage, rule: str) -> None:
    opportunity = at_stage(stage)
    with refused(rule, unchanged=opportunity):
        opportunity.step_back(ctx(200), to_stage=to_stage, reason="x")


def test_stepping_back_says_why() -> None:
    opportunity = at_stage(Stage.TRACKING)
    with refused("reason.required", InvalidValue, unchanged=opportunity):
        opportunity.step_back(ctx(200), to_stage=Stage.GENERATION, reason=" ")


def test_stage_changes_and_decisions_do_not_go_back_in_time() -> None:
    opportunity = at_stage(Stage.IMPLEMENTATION)  # entered at hour 72
    with refused("stage.time_backwards", unchanged=opportunity):
        opportunity.step_back(ctx(71), to_stage=Stage.CONTROL, reason="x")
    with refused("stage.time_backwards", unchanged=opportunity):
        opportunity.mark_won(ctx(71), offering_active=True)
    with refused("stage.time_backwards", unchanged=opportunity):
        opportunity.mark_lost(ctx(71), reason=LossReason.PRICE, explanation="x")
    control = at_stage(Stage.CONTROL)  # entered at hour 48
    with refused("stage.time_backwards", unchanged=control):
        control.advance(ctx(47), to_stage=Stage.IMPLEMENTATION)
    done = won()  # won at hour 100
    with refused("stage.time_backwards", unchanged=done):
        done.evaluate(ctx(99), rating=5)


# --- winning and losing ---------------------------------------------------------------------


@pytest.mark.parametrize("stage", [Stage.GENERATION, Stage.TRACKING, Stage.CONTROL])
def test_an_opportunity_is_not_won_before_implementation(stage: Stage) -> None:
    opportunity = at_stage(stage)
    with refused("opportunity.win_before_implementation", unchanged=opportunity):
        opportunity.mark_won(ctx(200), offering_active=True)


def test_business_on_a_retired_offering_is_not_won() -> None:
    opportunity = at_stage(Stage.IMPLEMENTATION)
    with refused("offering.retired", unchanged=opportunity):
        opportunity.mark_won(ctx(200), offering_active=False)


def test_lost_to_an_involved_competitor() -> None:
    opportunity = lost()
    assert opportunity.status is OpportunityStatus.LOST
    assert opportunity.loss is not None
    assert (opportunity.loss.reason, opportunity.loss.competitor_id) == (LossReason.PRICE, RIVAL)
    assert opportunity.loss.explanation == "8% under our rate"
    assert [type(e).__name__ for e in opportunity.collect_events()][-1] == "Lost"


def test_lost_to_a_competitor_not_yet_involved_involves_it_by_the_same_command() -> None:
    opportunity = at_stage(Stage.TRACKING)
    opportunity.mark_lost(
        ctx(200),
        reason=LossReason.TRANSIT_TIME,
        explanation="they fly direct, we connect in ICN",
        competitor_id=NEWCOMER,
        competitor_kinds=KINDS,
    )
    assert opportunity.competitor_ids == (RIVAL, NEWCOMER)
    assert opportunity.loss is not None
    assert opportunity.loss.competitor_id == NEWCOMER
    assert [type(e).__name__ for e in opportunity.collect_events()][-2:] == [
        "CompetitorInvolved",
        "Lost",
    ]


def test_lost_to_nobody_in_particular() -> None:
    opportunity = at_stage(Stage.GENERATION)
    opportunity.mark_lost(ctx(1), reason=LossReason.NO_DECISION, explanation="kept in house")
    assert opportunity.loss is not None
    assert opportunity.loss.competitor_id is None


@pytest.mark.parametrize(
    ("competitor_id", "kinds"),
    [(CARRIER, KINDS), (NEWCOMER, {}), (HUAXIN, KINDS)],
    ids=["a partner", "unknown", "the customer itself"],
)
def test_only_a_competitor_wins_business_from_us(
    competitor_id: UUID, kinds: dict[UUID, str]
) -> None:
    opportunity = at_stage(Stage.CONTROL)
    with refused("competitor.not_competitor", unchanged=opportunity):
        opportunity.mark_lost(
            ctx(200),
            reason=LossReason.PRICE,
            explanation="x",
            competitor_id=competitor_id,
            competitor_kinds=kinds,
        )
    assert opportunity.is_open
    assert opportunity.competitor_ids == (RIVAL,)


def test_a_loss_is_explained() -> None:
    opportunity = at_stage(Stage.CONTROL)
    with refused("explanation.required", InvalidValue, unchanged=opportunity):
        opportunity.mark_lost(ctx(200), reason=LossReason.PRICE, explanation="")


def closing_commands(opportunity: Opportunity) -> dict[str, Callable[[], None]]:
    """Every command that changes an open opportunity."""
    return {
        "advance": lambda: opportunity.advance(ctx(300), to_stage=Stage.EVALUATION),
        "step_back": lambda: opportunity.step_back(ctx(300), to_stage=Stage.TRACKING, reason="x"),
        "revise_expected_value": lambda: opportunity.revise_expected_value(
            ctx(300), amount=Decimal(1), currency="USD", reason="x"
        ),
        "revise_probability": lambda: opportunity.revise_probability(
            ctx(300), probability=Decimal("0.9"), reason="x"
        ),
        "change_offering": lambda: opportunity.change_offering(
            ctx(300), offering_id=SEA_OFFERING, offering_active=True, reason="x"
        ),
        "involve_competitor": lambda: opportunity.involve_competitor(
            ctx(300), competitor_id=NEWCOMER, competitor_kinds=KINDS
        ),
        "mark_won": lambda: opportunity.mark_won(ctx(300), offering_active=True),
        "mark_lost": lambda: opportunity.mark_lost(
            ctx(300), reason=LossReason.OTHER, explanation="x"
        ),
    }


@pytest.mark.parametrize("command", list(closing_commands(identify())))
@pytest.mark.parametrize("decided", [won, lost], ids=["won", "lost"])
def test_a_decided_opportunity_does_not_change(
    decided: Callable[[], Opportunity], command: str
) -> None:
    opportunity = decided()
    with refused("opportunity.closed", unchanged=opportunity):
        closing_commands(opportunity)[command]()


def test_only_won_business_is_evaluated_and_only_once() -> None:
    with refused("evaluation.before_win"):
        at_stage(Stage.IMPLEMENTATION).evaluate(ctx(200), rating=3)
    with refused("evaluation.before_win"):
        lost().evaluate(ctx(200), rating=3)
    opportunity = won()
    with refused("rating.range", InvalidValue, unchanged=opportunity):
        opportunity.evaluate(ctx(200), rating=6)
    with refused("rating.range", InvalidValue, unchanged=opportunity):
        opportunity.evaluate(ctx(200), rating=0)
    opportunity.evaluate(ctx(200), rating=5)
    with refused("evaluation.already_recorded", unchanged=opportunity):
        opportunity.evaluate(ctx(201), rating=4)
    with refused("opportunity.closed", unchanged=opportunity):
        opportunity.mark_won(ctx(201), offering_active=True)


# --- identification -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [RelationshipKind.PROSPECT, RelationshipKind.CUSTOMER])
def test_opportunities_are_with_prospects_targets_and_customers(kind: RelationshipKind) -> None:
    assert identify(kind=kind.value).is_open


@pytest.mark.parametrize(
    "kind", [RelationshipKind.PARTNER.value, RelationshipKind.COMPETITOR.value, None]
)
def test_no_opportunity_with_a_partner_a_competitor_or_a_stranger(kind: str | None) -> None:
    with refused("opportunity.relationship_kind"):
        identify(kind=kind)


def test_no_opportunity_for_a_retired_offering() -> None:
    with refused("offering.retired"):
        identify(offering_active=False)


@pytest.mark.parametrize(
    ("competitors", "rule", "error"),
    [
        ((RIVAL, RIVAL), "competitors.duplicate", InvalidValue),
        ((RIVAL, CARRIER), "competitor.not_competitor", CommandRefused),
        ((UUID(int=7),), "competitor.not_competitor", CommandRefused),
    ],
)
def test_the_competitors_named_are_distinct_competitors(
    competitors: tuple[UUID, ...], rule: str, error: type[DomainError]
) -> None:
    with refused(rule, error):
        identify(competitors=competitors)


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"expected_value": Decimal(0)}, "expected_value.positive"),
        ({"expected_value": Decimal("NaN")}, "expected_value.number"),
        ({"probability": Decimal("1.01")}, "probability.range"),
        ({"probability": Decimal("-0.1")}, "probability.range"),
        ({"currency": "dollars"}, "currency.format"),
    ],
)
def test_money_that_cannot_be_right_is_refused(values: dict[str, object], rule: str) -> None:
    with refused(rule, InvalidValue):
        identify(**values)  # type: ignore[arg-type]


def test_probability_runs_from_zero_to_one_inclusive() -> None:
    assert identify(probability=Decimal(0)).weighted_value == Decimal("0.00")
    assert identify(probability=Decimal(1)).weighted_value == Decimal("240000.00")
    assert identify(
        expected_value=Decimal("1000.05"), probability=Decimal("0.5")
    ).weighted_value == Decimal("500.03")


# --- revisions while open -------------------------------------------------------------------


def test_revisions_must_change_something() -> None:
    opportunity = identify()
    with refused("expected_value.unchanged", unchanged=opportunity):
        opportunity.revise_expected_value(
            ctx(1), amount=Decimal("240000.00"), currency="USD", reason="x"
        )
    with refused("probability.unchanged", unchanged=opportunity):
        opportunity.revise_probability(ctx(1), probability=Decimal("0.20"), reason="x")
    with refused("offering.unchanged", unchanged=opportunity):
        opportunity.change_offering(
            ctx(1), offering_id=AIR_OFFERING, offering_active=True, reason="x"
        )
    with refused("competitor.already_involved", unchanged=opportunity):
        opportunity.involve_competitor(ctx(1), competitor_id=RIVAL, competitor_kinds=KINDS)


def test_revisions_are_valid_values_with_a_reason() -> None:
    opportunity = identify()
    with refused("probability.range", InvalidValue, unchanged=opportunity):
        opportunity.revise_probability(ctx(1), probability=Decimal(2), reason="x")
    with refused("amount.positive", InvalidValue, unchanged=opportunity):
        opportunity.revise_expected_value(ctx(1), amount=Decimal(-5), currency="USD", reason="x")
    with refused("reason.required", InvalidValue, unchanged=opportunity):
        opportunity.revise_probability(ctx(1), probability=Decimal("0.3"), reason="")
    opportunity.revise_expected_value(ctx(1), amount=Decimal("240000"), currency="EUR", reason="x")
    assert (opportunity.expected_value, opportunity.currency) == (Decimal(240000), "EUR")


def test_the_offering_changes_only_to_an_active_one() -> None:
    opportunity = identify()
    with refused("offering.retired", unchanged=opportunity):
        opportunity.change_offering(
            ctx(1), offering_id=SEA_OFFERING, offering_active=False, reason="x"
        )


def test_only_competitors_are_involved() -> None:
    opportunity = identify()
    with refused("competitor.not_competitor", unchanged=opportunity):
        opportunity.involve_competitor(ctx(1), competitor_id=CARRIER, competitor_kinds=KINDS)


# --- the stored history ---------------------------------------------------------------------


def test_every_event_has_a_stable_stored_name() -> None:
    for cls in event_classes(Opportunity):
        assert cls.TOPIC.split(".") == ["Opportunity", cls.__name__]
    assert Opportunity.Created is Opportunity.Identified


def test_events_round_trip_through_the_store_and_rebuild_the_same_opportunity() -> None:
    opportunity = at_stage(Stage.IMPLEMENTATION)
    opportunity.step_back(ctx(80), to_stage=Stage.CONTROL, reason="new volumes")
    opportunity.revise_expected_value(
        ctx(81), amount=Decimal("310000.50"), currency="USD", reason="x"
    )
    opportunity.revise_probability(ctx(82), probability=Decimal("0.65"), reason="x")
    opportunity.change_offering(ctx(83), offering_id=SEA_OFFERING, offering_active=True, reason="x")
    opportunity.involve_competitor(ctx(84), competitor_id=NEWCOMER, competitor_kinds=KINDS)
    opportunity.advance(ctx(85), to_stage=Stage.IMPLEMENTATION)
    opportunity.mark_won(ctx(86), offering_active=True, note=None)
    opportunity.evaluate(ctx(900), rating=4, remarks="good first quarter")
    events = list(opportunity.collect_events())
    other = at_stage(Stage.TRACKING)
    other.mark_lost(ctx(90), reason=LossReason.PRICE, explanation="x", competitor_id=RIVAL)
    other_events = list(other.collect_events())
    assert {type(e).__name__ for e in events + other_events} == {
        cls.__name__ for cls in event_classes(Opportunity)
    }
    m = mapper()
    for history, original in ((events, opportunity), (other_events, other)):
        stored = [m.to_stored_event(event) for event in history]
        for record in stored:
            assert record.topic.startswith("Opportunity.")
            json.loads(record.state)
        restored_events = [m.to_domain_event(record) for record in stored]
        assert restored_events == history
        restored = rebuild(restored_events)
        assert restored == original
        assert restored.weighted_value == original.weighted_value
