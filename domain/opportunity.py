"""Opportunity (销售机会): a piece of business with a customer, prospect or target, moving
through the business-process stages (业务进程管理) until it is won or lost.

Stages
------
==============  ========  ==========================================================
stage           中文       what happens
==============  ========  ==========================================================
generation      业务产生   the need is found (a visit, an inquiry, a tender)
tracking        业务跟踪   we follow it up: requirements, quotes, the customer's people
control         业务控制   we steer it: pricing, capacity, partners, the competitors
implementation  业务落实   the deal is put in place: contract, trial shipment
evaluation      业务评价   after the win, the business is reviewed and rated
==============  ========  ==========================================================

An opportunity advances one stage at a time; skipping a stage is refused. It may step back
exactly one stage, with a reason — a customer who reopens its requirements during control
sends the deal back to tracking — but never more than one at a time, so each regression is
explained. Stage changes are events of their own, attributed to the staff member.

An open opportunity is either won or lost. It is won only at implementation, and only while
its offering is still active (the offering's status is the application's to supply, as
the relationship's kind is). A won opportunity can book shipments until it is evaluated
(``can_book``); the evaluation closes the business, and later business is a new
opportunity. It may be lost at any open stage, for a reason and possibly to a competitor,
which must be among the competitors involved or is involved at that moment. After the win
or the loss nothing changes but the won opportunity's evaluation; a lost one keeps the
stage it was lost at, for the funnel.

Money
-----
The expected value (an amount and its currency) and the probability (0 to 1) are revised
while the opportunity is open. The weighted value is expected value × probability while
open; once decided the probability is settled — a won opportunity weighs its whole expected
value, a lost one nothing — while ``probability`` keeps the last estimate for forecast
accuracy.

Who competes and who won is recorded here; a competitor's win/loss record is derived from
opportunities (``domain.competitor.win_loss_against``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, refuse_unless, require
from domain.liability import CENT
from domain.relationship import RelationshipKind
from domain.values import currency_code, exact_decimal, optional_text, required_text


class Stage(StrEnum):
    GENERATION = "generation"  # 业务产生
    TRACKING = "tracking"  # 业务跟踪
    CONTROL = "control"  # 业务控制
    IMPLEMENTATION = "implementation"  # 业务落实
    EVALUATION = "evaluation"  # 业务评价

    @property
    def position(self) -> int:
        return STAGES.index(self)


#: The stages in their order.
STAGES: tuple[Stage, ...] = tuple(Stage)


class OpportunityStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class LossReason(StrEnum):
    PRICE = "price"
    TRANSIT_TIME = "transit_time"
    SERVICE_QUALITY = "service_quality"
    CAPACITY = "capacity"
    RELATIONSHIP = "relationship"  # the incumbent's relationship won out
    NO_DECISION = "no_decision"  # the customer did nothing, or kept it in house
    OTHER = "other"


#: The kinds of relationship we sell to.
SELLING_KINDS = frozenset(
    {RelationshipKind.PROSPECT, RelationshipKind.TARGET, RelationshipKind.CUSTOMER}
)

_NO_KINDS: Mapping[UUID, str] = MappingProxyType({})


@dataclass(frozen=True)
class StageEntry:
    stage: Stage
    entered_at: datetime
    entered_by: str


@dataclass(frozen=True)
class Win:
    won_at: datetime
    won_by: str
    note: str | None


@dataclass(frozen=True)
class Loss:
    reason: LossReason
    explanation: str
    #: The competitor that won the business; None: nobody did (or we do not know who).
    competitor_id: UUID | None
    lost_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class OpportunityEvaluation:
    rating: int
    remarks: str | None
    evaluated_at: datetime
    evaluated_by: str


# --- validation -----------------------------------------------------------------------------


def _probability(value: Decimal | int) -> Decimal:
    number = Decimal(str(value))
    require(
        number.is_finite() and 0 <= number <= 1,
        "probability.range",
        "probability is from 0 to 1",
        field="probability",
    )
    return number


def _require_selling_kind(relationship_id: UUID, kind: str | None) -> None:
    """``kind`` is the relationship's kind as the application layer found it; None: no such
    relationship."""
    refuse_unless(
        kind in SELLING_KINDS,
        "opportunity.relationship_kind",
        f"relationship {relationship_id} "
        + ("is not known" if kind is None else f"is a {kind}")
        + "; opportunities are with customers, prospects and targets",
    )


def _require_competitor(competitor_id: UUID, competitor_kinds: Mapping[UUID, str]) -> None:
    """``competitor_kinds`` holds the kind of each relationship named as a competitor, as the
    application layer found it; a missing id is a relationship that does not exist."""
    kind = competitor_kinds.get(competitor_id)
    refuse_unless(
        kind == RelationshipKind.COMPETITOR.value,
        "competitor.not_competitor",
        f"relationship {competitor_id} "
        + ("is not known" if kind is None else f"is a {kind}, not a competitor"),
    )


def _require_offering_active(offering_id: UUID, active: bool) -> None:
    refuse_unless(
        active,
        "offering.retired",
        f"offering {offering_id} is retired and is not offered",
    )


# --- the aggregate --------------------------------------------------------------------------


class Opportunity(Aggregate, created_event_name="Identified"):
    TOPIC = "Opportunity"

    class Event(AttributedEvent):
        pass

    class Identified(Event, Aggregate.Created):
        """The opportunity is found; it enters the generation stage."""

        TOPIC = "Opportunity.Identified"
        # v1 had no source; v2 names the campaign it was opened from (see upcast_v1_v2).
        class_version = 2

        relationship_id: UUID
        title: str
        offering_id: UUID
        expected_value: Decimal
        currency: str
        probability: Decimal
        competitor_ids: list[UUID]
        source_campaign_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["source_campaign_id"] = None

    # The library gives every aggregate a "Created" event; ours is "Identified".
    Created = Identified

    class StageAdvanced(Event):
        TOPIC = "Opportunity.StageAdvanced"
        from_stage: str
        to_stage: str
        note: str | None

        def apply(self, aggregate: Opportunity) -> None:
            aggregate._enter(Stage(self.to_stage), self.occurred_at, self.actor)

    class SteppedBack(Event):
        TOPIC = "Opportunity.SteppedBack"
        from_stage: str
        to_stage: str
        reason: str

        def apply(self, aggregate: Opportunity) -> None:
            aggregate._enter(Stage(self.to_stage), self.occurred_at, self.actor)

    class ExpectedValueRevised(Event):
        TOPIC = "Opportunity.ExpectedValueRevised"
        amount: Decimal
        currency: str
        reason: str

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.expected_value = self.amount
            aggregate.currency = self.currency

    class ProbabilityRevised(Event):
        TOPIC = "Opportunity.ProbabilityRevised"
        probability: Decimal
        reason: str

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.probability = self.probability

    class OfferingChanged(Event):
        TOPIC = "Opportunity.OfferingChanged"
        offering_id: UUID
        reason: str

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.offering_id = self.offering_id

    class CompetitorInvolved(Event):
        TOPIC = "Opportunity.CompetitorInvolved"
        competitor_id: UUID

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.competitor_ids = (*aggregate.competitor_ids, self.competitor_id)

    class Won(Event):
        TOPIC = "Opportunity.Won"
        note: str | None

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.win = Win(self.occurred_at, self.actor, self.note)

    class Lost(Event):
        TOPIC = "Opportunity.Lost"
        reason: str
        explanation: str
        competitor_id: UUID | None

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.loss = Loss(
                LossReason(self.reason),
                self.explanation,
                self.competitor_id,
                self.occurred_at,
                self.actor,
            )

    class Evaluated(Event):
        """The won business is reviewed: the evaluation stage (业务评价)."""

        TOPIC = "Opportunity.Evaluated"
        rating: int
        remarks: str | None

        def apply(self, aggregate: Opportunity) -> None:
            aggregate._enter(Stage.EVALUATION, self.occurred_at, self.actor)
            aggregate.evaluation = OpportunityEvaluation(
                self.rating, self.remarks, self.occurred_at, self.actor
            )

    # --- state -------------------------------------------------------------------------

    def __init__(
        self,
        relationship_id: UUID,
        title: str,
        offering_id: UUID,
        expected_value: Decimal,
        currency: str,
        probability: Decimal,
        competitor_ids: list[UUID],
        occurred_at: datetime,
        actor: str,
        source_campaign_id: UUID | None = None,
    ) -> None:
        self.relationship_id = relationship_id
        #: The campaign the opportunity was opened from (a lead of it), if any.
        self.source_campaign_id = source_campaign_id
        self.title = title
        self.offering_id = offering_id
        self.expected_value = expected_value
        self.currency = currency
        self.probability = probability
        self.competitor_ids: tuple[UUID, ...] = tuple(competitor_ids)
        self.identified_at = occurred_at
        self.identified_by = actor
        self.stage_history: tuple[StageEntry, ...] = (
            StageEntry(Stage.GENERATION, occurred_at, actor),
        )
        self.win: Win | None = None
        self.loss: Loss | None = None
        self.evaluation: OpportunityEvaluation | None = None

    @property
    def stage(self) -> Stage:
        return self.stage_history[-1].stage

    @property
    def stage_entered_at(self) -> datetime:
        return self.stage_history[-1].entered_at

    @property
    def status(self) -> OpportunityStatus:
        if self.win is not None:
            return OpportunityStatus.WON
        if self.loss is not None:
            return OpportunityStatus.LOST
        return OpportunityStatus.OPEN

    @property
    def is_open(self) -> bool:
        return self.status is OpportunityStatus.OPEN

    @property
    def can_book(self) -> bool:
        """Shipments may be booked against it: won, and not yet evaluated."""
        return self.status is OpportunityStatus.WON and self.evaluation is None

    @property
    def weighted_value(self) -> Decimal:
        """Expected value × probability while open; the whole value once won, nothing once
        lost; to the cent, in ``currency``."""
        settled = {
            OpportunityStatus.OPEN: self.probability,
            OpportunityStatus.WON: Decimal(1),
            OpportunityStatus.LOST: Decimal(0),
        }[self.status]
        return (self.expected_value * settled).quantize(CENT, ROUND_HALF_UP)

    # --- commands ----------------------------------------------------------------------

    @classmethod
    def identify(
        cls,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        relationship_kind: str | None,
        title: str,
        offering_id: UUID,
        offering_active: bool,
        expected_value: Decimal,
        currency: str,
        probability: Decimal,
        competitor_ids: Sequence[UUID] = (),
        competitor_kinds: Mapping[UUID, str] = _NO_KINDS,
        opportunity_id: UUID | None = None,
        source_campaign_id: UUID | None = None,
    ) -> Opportunity:
        """An opportunity with a customer, prospect or target, in the generation stage.
        ``relationship_kind`` (None: no such relationship), ``offering_active`` and
        ``competitor_kinds`` (the kind of each of ``competitor_ids``) are the application
        layer's to look up."""
        require(
            len(set(competitor_ids)) == len(competitor_ids),
            "competitors.duplicate",
            "each competitor is named once",
            field="competitor_ids",
        )
        amount = exact_decimal(expected_value, "expected_value")
        code = currency_code(currency)
        chance = _probability(probability)
        text = required_text(title, "title")
        _require_selling_kind(relationship_id, relationship_kind)
        _require_offering_active(offering_id, offering_active)
        for competitor_id in competitor_ids:
            _require_competitor(competitor_id, competitor_kinds)
        return cls._create(
            cls.Identified,
            id=opportunity_id or cls.create_id(),
            relationship_id=relationship_id,
            title=text,
            offering_id=offering_id,
            expected_value=amount,
            currency=code,
            probability=chance,
            competitor_ids=list(competitor_ids),
            source_campaign_id=source_campaign_id,
            **ctx.event_fields(),
        )

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    def advance(self, ctx: CommandContext, *, to_stage: Stage, note: str | None = None) -> None:
        """Move on to the next stage, up to implementation; the evaluation stage follows
        the win (``evaluate``)."""
        self._require_open()
        target = Stage(to_stage)
        refuse_unless(target is not self.stage, "stage.unchanged", f"already in {target}")
        refuse_unless(
            target.position > self.stage.position,
            "stage.backwards",
            f"{target} comes before {self.stage}; step back one stage, with a reason",
        )
        refuse_unless(
            target is not Stage.EVALUATION,
            "stage.evaluation_before_win",
            "the business is evaluated once it is won",
        )
        refuse_unless(
            target.position == self.stage.position + 1,
            "stage.skipped",
            f"{target} skips {STAGES[self.stage.position + 1]}; stages are taken in order",
        )
        self._require_after_stage_entry(ctx)
        self.trigger_event(
            self.StageAdvanced,
            from_stage=self.stage.value,
            to_stage=target.value,
            note=optional_text(note, "note", max_length=2000),
            **ctx.event_fields(),
        )

    def step_back(self, ctx: CommandContext, *, to_stage: Stage, reason: str) -> None:
        """Return to the stage before this one, saying why."""
        self._require_open()
        target = Stage(to_stage)
        refuse_unless(target is not self.stage, "stage.unchanged", f"already in {target}")
        refuse_unless(
            target.position < self.stage.position,
            "stage.not_backwards",
            f"{target} comes after {self.stage}; advance to it",
        )
        refuse_unless(
            target.position == self.stage.position - 1,
            "stage.back_more_than_one",
            f"an opportunity steps back one stage at a time, from {self.stage} to"
            f" {STAGES[self.stage.position - 1]}",
        )
        self._require_after_stage_entry(ctx)
        self.trigger_event(
            self.SteppedBack,
            from_stage=self.stage.value,
            to_stage=target.value,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def revise_expected_value(
        self, ctx: CommandContext, *, amount: Decimal, currency: str, reason: str
    ) -> None:
        value = exact_decimal(amount, "amount")
        code = currency_code(currency)
        self._require_open()
        refuse_unless(
            (value, code) != (self.expected_value, self.currency),
            "expected_value.unchanged",
            f"the expected value is already {value} {code}",
        )
        self.trigger_event(
            self.ExpectedValueRevised,
            amount=value,
            currency=code,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def revise_probability(self, ctx: CommandContext, *, probability: Decimal, reason: str) -> None:
        chance = _probability(probability)
        self._require_open()
        refuse_unless(
            chance != self.probability,
            "probability.unchanged",
            f"the probability is already {chance}",
        )
        self.trigger_event(
            self.ProbabilityRevised,
            probability=chance,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def change_offering(
        self, ctx: CommandContext, *, offering_id: UUID, offering_active: bool, reason: str
    ) -> None:
        """The customer is offered another service (sea instead of air, say)."""
        self._require_open()
        refuse_unless(
            offering_id != self.offering_id,
            "offering.unchanged",
            "the opportunity is already for this offering",
        )
        _require_offering_active(offering_id, offering_active)
        self.trigger_event(
            self.OfferingChanged,
            offering_id=offering_id,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def involve_competitor(
        self, ctx: CommandContext, *, competitor_id: UUID, competitor_kinds: Mapping[UUID, str]
    ) -> None:
        self._require_open()
        refuse_unless(
            competitor_id not in self.competitor_ids,
            "competitor.already_involved",
            f"competitor {competitor_id} is already involved",
        )
        _require_competitor(competitor_id, competitor_kinds)
        self.trigger_event(
            self.CompetitorInvolved, competitor_id=competitor_id, **ctx.event_fields()
        )

    def mark_won(
        self, ctx: CommandContext, *, offering_active: bool, note: str | None = None
    ) -> None:
        """The deal is ours: only at implementation, with the offering still active."""
        self._require_open()
        refuse_unless(
            self.stage is Stage.IMPLEMENTATION,
            "opportunity.win_before_implementation",
            f"an opportunity is won at implementation; it is at {self.stage}",
        )
        _require_offering_active(self.offering_id, offering_active)
        self._require_after_stage_entry(ctx)
        self.trigger_event(
            self.Won, note=optional_text(note, "note", max_length=2000), **ctx.event_fields()
        )

    def mark_lost(
        self,
        ctx: CommandContext,
        *,
        reason: LossReason,
        explanation: str,
        competitor_id: UUID | None = None,
        competitor_kinds: Mapping[UUID, str] = _NO_KINDS,
    ) -> None:
        """The deal is lost, possibly to ``competitor_id``; a competitor not yet involved is
        involved by the same command (``competitor_kinds`` gives its kind)."""
        why = LossReason(reason)
        text = required_text(explanation, "explanation", max_length=2000)
        self._require_open()
        self._require_after_stage_entry(ctx)
        newly_involved = competitor_id is not None and competitor_id not in self.competitor_ids
        if newly_involved:
            assert competitor_id is not None
            _require_competitor(competitor_id, competitor_kinds)
            self.trigger_event(
                self.CompetitorInvolved, competitor_id=competitor_id, **ctx.event_fields()
            )
        self.trigger_event(
            self.Lost,
            reason=why.value,
            explanation=text,
            competitor_id=competitor_id,
            **ctx.event_fields(),
        )

    def evaluate(self, ctx: CommandContext, *, rating: int, remarks: str | None = None) -> None:
        """Review the won business (业务评价), rated 1 to 5; it closes the opportunity."""
        require(
            isinstance(rating, int) and 1 <= rating <= 5,
            "rating.range",
            "rating is from 1 to 5",
            field="rating",
        )
        refuse_unless(
            self.status is OpportunityStatus.WON,
            "evaluation.before_win",
            f"only won business is evaluated; the opportunity is {self.status}",
        )
        refuse_unless(
            self.evaluation is None,
            "evaluation.already_recorded",
            "the opportunity has already been evaluated",
        )
        assert self.win is not None
        self._require_not_before(ctx, self.win.won_at, "the win")
        self.trigger_event(
            self.Evaluated,
            rating=rating,
            remarks=optional_text(remarks, "remarks", max_length=2000),
            **ctx.event_fields(),
        )

    # --- helpers -----------------------------------------------------------------------

    def _enter(self, stage: Stage, at: datetime, by: str) -> None:
        self.stage_history = (*self.stage_history, StageEntry(stage, at, by))

    def _require_open(self) -> None:
        refuse_unless(
            self.is_open,
            "opportunity.closed",
            f"the opportunity is {self.status}"
            + ("; only its evaluation follows" if self.status is OpportunityStatus.WON else ""),
        )

    def _require_after_stage_entry(self, ctx: CommandContext) -> None:
        self._require_not_before(ctx, self.stage_entered_at, f"its entry into {self.stage}")

    @staticmethod
    def _require_not_before(ctx: CommandContext, earlier: datetime, what: str) -> None:
        refuse_unless(
            ctx.occurred_at >= earlier,
            "stage.time_backwards",
            f"{ctx.occurred_at.isoformat()} is before {what} ({earlier.isoformat()});"
            " times must not go backwards",
        )
