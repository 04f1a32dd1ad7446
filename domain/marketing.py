"""Market management and one-to-one marketing (市场管理, 一对一营销).

A ``Segment`` is a set of relationships defined by rules over what we know of them — kind,
industry, region, branch, lifecycle, key account, RFM segment, lanes shipped, realised
value (``SegmentRules``) — evaluated live against the read models, never stored as a list.
Branch managers and headquarters define, change and retire segments; a segment defined by
a branch manager belongs to that branch (``owner_branch``), one defined by headquarters to
none.

A ``Campaign`` offers a service offering to a segment over a period, with a budget. It is
planned, then running, then closed; while it runs, each contact made in it (an interaction
logged on the relationship, tagged with the campaign) is recorded on it too, with the
relationship's response, the prospects registered from it, and the money spent (of the
budget, per branch). Opportunities opened from it name it as their source
(``Opportunity.source_campaign_id``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.base import AttributedEvent, CommandContext, InvalidValue, refuse_unless, require
from domain.relationship import Lifecycle, RelationshipKind
from domain.value import RfmSegment
from domain.values import currency_code, exact_decimal, optional_text, required_text


def _distinct(values: list[Any] | None, field: str) -> list[Any] | None:
    if values is None:
        return None
    if not values:
        raise ValueError(f"{field} must name at least one value, or be left out")
    if len(set(values)) != len(values):
        raise ValueError(f"{field} names a value twice")
    return values


class LaneRule(BaseModel):
    """A lane shipped: a shipment of the relationship from ``origin`` to ``destination``
    (compared without regard to case)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: str = Field(min_length=1, max_length=200)
    destination: str = Field(min_length=1, max_length=200)


class MinimumValue(BaseModel):
    """Realised value (revenue delivered) of at least ``amount`` in ``currency``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class SegmentRules(BaseModel):
    """Who belongs to a segment: every rule given holds (AND); within a rule, any of its
    values (OR). No rule: every relationship."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[RelationshipKind] | None = Field(default=None, max_length=5)
    industries: list[str] | None = Field(default=None, max_length=50)
    regions: list[str] | None = Field(default=None, max_length=50)
    branches: list[str] | None = Field(default=None, max_length=50)
    lifecycles: list[Lifecycle] | None = Field(default=None, max_length=4)
    key_account: bool | None = None
    rfm_segments: list[RfmSegment] | None = Field(
        default=None, max_length=11, description="RFM segments of customer value (any currency)"
    )
    lanes_shipped: list[LaneRule] | None = Field(
        default=None, max_length=50, description="Has shipped on one of these lanes"
    )
    min_realised_value: MinimumValue | None = None

    @field_validator(
        "kinds", "industries", "regions", "branches", "lifecycles", "rfm_segments", "lanes_shipped"
    )
    @classmethod
    def _listed(cls, values: list[Any] | None, info: Any) -> list[Any] | None:
        return _distinct(values, info.field_name)

    @field_validator("industries", "regions", "branches")
    @classmethod
    def _texts(cls, values: list[str] | None, info: Any) -> list[str] | None:
        if values is None:
            return None
        stripped = [v.strip() for v in values]
        if any(not v or len(v) > 200 or "\x00" in v for v in stripped):
            raise ValueError(f"each of {info.field_name} is a text of 1 to 200 characters")
        return stripped

    @classmethod
    def parse(cls, rules: dict[str, Any]) -> SegmentRules:
        """Rules from their stored or submitted form; invalid input names the field."""
        try:
            return cls.model_validate(rules)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in ("rules", *first["loc"]))
            raise InvalidValue("rules.invalid", f"{where}: {first['msg']}", field=where) from None

    def stored(self) -> dict[str, Any]:
        """The rules as an event stores them: JSON values, rules not given left out."""
        return self.model_dump(mode="json", exclude_none=True)


class SegmentState(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Segment(Aggregate, created_event_name="Defined"):
    TOPIC = "Segment"

    class Event(AttributedEvent):
        pass

    class Defined(Event, Aggregate.Created):
        TOPIC = "Segment.Defined"
        name: str
        description: str | None
        rules: dict[str, Any]
        owner_branch: str | None

    Created = Defined

    class Changed(Event):
        TOPIC = "Segment.Changed"
        name: str
        description: str | None
        rules: dict[str, Any]

        def apply(self, aggregate: Segment) -> None:
            aggregate.name = self.name
            aggregate.description = self.description
            aggregate.rules = self.rules

    class Retired(Event):
        TOPIC = "Segment.Retired"
        reason: str

        def apply(self, aggregate: Segment) -> None:
            aggregate.state = SegmentState.RETIRED

    def __init__(
        self,
        name: str,
        description: str | None,
        rules: dict[str, Any],
        owner_branch: str | None,
        occurred_at: Any,
        actor: str,
    ) -> None:
        self.name = name
        self.description = description
        self.rules = rules
        self.owner_branch = owner_branch
        self.defined_by = actor
        self.defined_at = occurred_at
        self.state = SegmentState.ACTIVE

    @property
    def parsed_rules(self) -> SegmentRules:
        return SegmentRules.parse(self.rules)

    @classmethod
    def define(
        cls,
        ctx: CommandContext,
        *,
        name: str,
        rules: SegmentRules,
        owner_branch: str | None,
        description: str | None = None,
        segment_id: UUID | None = None,
    ) -> Segment:
        """A segment of ``owner_branch`` (None: the company's); the application layer
        checked the rules name no branch the definer may not see."""
        return cls._create(
            cls.Defined,
            id=segment_id or uuid4(),
            name=required_text(name, "name", max_length=200),
            description=optional_text(description, "description", max_length=2000),
            rules=rules.stored(),
            owner_branch=owner_branch,
            **ctx.event_fields(),
        )

    def change(
        self,
        ctx: CommandContext,
        *,
        name: str,
        rules: SegmentRules,
        description: str | None = None,
    ) -> None:
        text = required_text(name, "name", max_length=200)
        about = optional_text(description, "description", max_length=2000)
        stored = rules.stored()
        refuse_unless(
            self.state is SegmentState.ACTIVE, "segment.retired", "the segment is retired"
        )
        refuse_unless(
            (text, about, stored) != (self.name, self.description, self.rules),
            "segment.unchanged",
            "the segment has that name, description and rules already",
        )
        self.trigger_event(
            self.Changed, name=text, description=about, rules=stored, **ctx.event_fields()
        )

    def retire(self, ctx: CommandContext, *, reason: str) -> None:
        why = required_text(reason, "reason", max_length=2000)
        refuse_unless(
            self.state is SegmentState.ACTIVE, "segment.retired", "the segment is retired already"
        )
        self.trigger_event(self.Retired, reason=why, **ctx.event_fields())


class CampaignState(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    CLOSED = "closed"


class Response(StrEnum):
    """What a relationship answered to a campaign's offer."""

    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    ASKED_FOR_QUOTE = "asked_for_quote"


class Campaign(Aggregate, created_event_name="Planned"):
    TOPIC = "Campaign"

    class Event(AttributedEvent):
        pass

    class Planned(Event, Aggregate.Created):
        TOPIC = "Campaign.Planned"
        name: str
        segment_id: UUID
        offering_id: UUID
        #: ISO dates (the first and last day of the campaign's period).
        starts_on: str
        ends_on: str
        budget: Decimal
        currency: str
        owner_branch: str | None

    Created = Planned

    class Started(Event):
        TOPIC = "Campaign.Started"

        def apply(self, aggregate: Campaign) -> None:
            aggregate.state = CampaignState.RUNNING

    class Closed(Event):
        TOPIC = "Campaign.Closed"
        reason: str | None

        def apply(self, aggregate: Campaign) -> None:
            aggregate.state = CampaignState.CLOSED

    class ContactLogged(Event):
        """A contact made in the campaign: the interaction logged on the relationship."""

        TOPIC = "Campaign.ContactLogged"
        relationship_id: UUID
        interaction_id: UUID

        def apply(self, aggregate: Campaign) -> None:
            aggregate.contacted = aggregate.contacted | {self.relationship_id}

    class ResponseRecorded(Event):
        TOPIC = "Campaign.ResponseRecorded"
        relationship_id: UUID
        response: str
        note: str | None

        def apply(self, aggregate: Campaign) -> None:
            aggregate.responses = {**aggregate.responses, self.relationship_id: self.response}

    class ProspectRegistered(Event):
        """A lead: a new prospect registered from the campaign, in the same append."""

        TOPIC = "Campaign.ProspectRegistered"
        relationship_id: UUID
        branch: str

    class SpendRecorded(Event):
        TOPIC = "Campaign.SpendRecorded"
        amount: Decimal
        branch: str | None
        note: str | None

        def apply(self, aggregate: Campaign) -> None:
            aggregate.spent += self.amount

    def __init__(
        self,
        name: str,
        segment_id: UUID,
        offering_id: UUID,
        starts_on: str,
        ends_on: str,
        budget: Decimal,
        currency: str,
        owner_branch: str | None,
        occurred_at: Any,
        actor: str,
    ) -> None:
        self.name = name
        self.segment_id = segment_id
        self.offering_id = offering_id
        self.starts_on = date.fromisoformat(starts_on)
        self.ends_on = date.fromisoformat(ends_on)
        self.budget = budget
        self.currency = currency
        self.owner_branch = owner_branch
        self.planned_by = actor
        self.planned_at = occurred_at
        self.state = CampaignState.PLANNED
        self.contacted: frozenset[UUID] = frozenset()
        self.responses: dict[UUID, str] = {}
        self.spent = Decimal(0)

    @classmethod
    def plan(
        cls,
        ctx: CommandContext,
        *,
        name: str,
        segment_id: UUID,
        segment_active: bool,
        offering_id: UUID,
        offering_active: bool,
        starts_on: date,
        ends_on: date,
        budget: Decimal,
        currency: str,
        owner_branch: str | None,
        campaign_id: UUID | None = None,
    ) -> Campaign:
        """A campaign offering ``offering_id`` to ``segment_id`` (both looked up by the
        application layer) from ``starts_on`` to ``ends_on``, with a budget."""
        text = required_text(name, "name", max_length=200)
        require(
            ends_on >= starts_on,
            "ends_on.before_start",
            "ends_on precedes starts_on",
            field="ends_on",
        )
        amount = exact_decimal(budget, "budget", positive=False)
        require(
            amount == amount.quantize(Decimal("0.01")),
            "budget.cents",
            "budget is given to the cent",
            field="budget",
        )
        code = currency_code(currency)
        refuse_unless(segment_active, "campaign.segment_retired", "the segment is retired")
        refuse_unless(offering_active, "campaign.offering_retired", "the offering is retired")
        return cls._create(
            cls.Planned,
            id=campaign_id or uuid4(),
            name=text,
            segment_id=segment_id,
            offering_id=offering_id,
            starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(),
            budget=amount,
            currency=code,
            owner_branch=owner_branch,
            **ctx.event_fields(),
        )

    @property
    def is_running(self) -> bool:
        return self.state is CampaignState.RUNNING

    def start(self, ctx: CommandContext) -> None:
        refuse_unless(
            self.state is CampaignState.PLANNED,
            "campaign.not_planned",
            f"only a planned campaign starts; it is {self.state.value}",
        )
        refuse_unless(
            ctx.occurred_at.date() <= self.ends_on,
            "campaign.period_over",
            f"the campaign's period ended on {self.ends_on.isoformat()}",
        )
        self.trigger_event(self.Started, **ctx.event_fields())

    def close(self, ctx: CommandContext, *, reason: str | None = None) -> None:
        why = optional_text(reason, "reason", max_length=2000)
        refuse_unless(
            self.state is CampaignState.RUNNING,
            "campaign.not_running",
            f"only a running campaign closes; it is {self.state.value}",
        )
        self.trigger_event(self.Closed, reason=why, **ctx.event_fields())

    def require_running(self) -> None:
        refuse_unless(
            self.is_running,
            "campaign.not_running",
            f"the campaign is {self.state.value}, not running",
        )

    def log_contact(
        self, ctx: CommandContext, *, relationship_id: UUID, interaction_id: UUID
    ) -> None:
        self.require_running()
        self.trigger_event(
            self.ContactLogged,
            relationship_id=relationship_id,
            interaction_id=interaction_id,
            **ctx.event_fields(),
        )

    def record_response(
        self, ctx: CommandContext, *, relationship_id: UUID, response: Response, note: str | None
    ) -> None:
        answer = Response(response)
        text = optional_text(note, "note", max_length=2000)
        self.require_running()
        refuse_unless(
            relationship_id in self.contacted,
            "campaign.not_contacted",
            f"relationship {relationship_id} was not contacted in this campaign",
        )
        refuse_unless(
            self.responses.get(relationship_id) != answer.value,
            "campaign.response_unchanged",
            f"the relationship's response is {answer.value} already",
        )
        self.trigger_event(
            self.ResponseRecorded,
            relationship_id=relationship_id,
            response=answer.value,
            note=text,
            **ctx.event_fields(),
        )

    def register_prospect(self, ctx: CommandContext, *, relationship_id: UUID, branch: str) -> None:
        self.require_running()
        self.trigger_event(
            self.ProspectRegistered,
            relationship_id=relationship_id,
            branch=branch,
            **ctx.event_fields(),
        )

    def record_spend(
        self, ctx: CommandContext, *, amount: Decimal, branch: str | None, note: str | None
    ) -> None:
        spend = exact_decimal(amount, "amount")
        require(
            spend == spend.quantize(Decimal("0.01")),
            "amount.cents",
            "amount is given to the cent",
            field="amount",
        )
        text = optional_text(note, "note", max_length=2000)
        refuse_unless(
            self.state is not CampaignState.PLANNED,
            "campaign.not_started",
            "money is spent on a campaign once it runs",
        )
        refuse_unless(
            self.spent + spend <= self.budget,
            "campaign.over_budget",
            f"{self.spent + spend} {self.currency} would exceed the budget of "
            f"{self.budget} {self.currency}",
        )
        self.trigger_event(
            self.SpendRecorded, amount=spend, branch=branch, note=text, **ctx.event_fields()
        )
