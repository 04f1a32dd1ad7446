"""Competitor profile (竞争对手管理): what we know of a competitor — its strengths, its
weaknesses and the lanes it serves.

A profile belongs to one relationship of kind ``competitor`` (the kind is the application
layer's to look up); its id is derived from the relationship's id (``id_for``), so each
competitor has exactly one profile. Strengths and weaknesses are short statements, noted
and withdrawn one at a time; lanes are added and dropped. Statements and lanes are told
apart without regard to capitalisation.

Our record against a competitor — won, lost to it — is not kept here: it follows from the
opportunities it competed in (``win_loss_against``), so it can never disagree with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, UnknownMember, refuse_unless, require
from domain.liability import CENT
from domain.offering import Lane
from domain.opportunity import Opportunity, OpportunityStatus
from domain.relationship import RelationshipKind
from domain.values import required_text

_PROFILE_NAMESPACE = UUID("3b8e4f0c-7a2d-4e61-b5c9-0d1f6a9e2c74")


def _statement(value: str, field: str) -> str:
    return required_text(value, field, max_length=200)


def _distinct(statements: Sequence[str], field: str) -> list[str]:
    cleaned = [_statement(statement, field) for statement in statements]
    require(
        len({s.casefold() for s in cleaned}) == len(cleaned),
        f"{field}.duplicate",
        f"each {field} is stated once",
        field=field,
    )
    return cleaned


def _find(statements: Sequence[str], wanted: str) -> str | None:
    return next((s for s in statements if s.casefold() == wanted.casefold()), None)


class CompetitorProfile(Aggregate, created_event_name="Started"):
    TOPIC = "CompetitorProfile"

    class Event(AttributedEvent):
        pass

    class Started(Event, Aggregate.Created):
        TOPIC = "CompetitorProfile.Started"
        relationship_id: UUID
        strengths: list[str]
        weaknesses: list[str]
        lanes: list[dict[str, Any]]

    # The library gives every aggregate a "Created" event; ours is "Started".
    Created = Started

    class StrengthNoted(Event):
        TOPIC = "CompetitorProfile.StrengthNoted"
        strength: str

        def apply(self, aggregate: CompetitorProfile) -> None:
            aggregate.strengths = (*aggregate.strengths, self.strength)

    class StrengthWithdrawn(Event):
        TOPIC = "CompetitorProfile.StrengthWithdrawn"
        strength: str
        reason: str

        def apply(self, aggregate: CompetitorProfile) -> None:
            aggregate.strengths = tuple(s for s in aggregate.strengths if s != self.strength)

    class WeaknessNoted(Event):
        TOPIC = "CompetitorProfile.WeaknessNoted"
        weakness: str

        def apply(self, aggregate: CompetitorProfile) -> None:
            aggregate.weaknesses = (*aggregate.weaknesses, self.weakness)

    class WeaknessWithdrawn(Event):
        TOPIC = "CompetitorProfile.WeaknessWithdrawn"
        weakness: str
        reason: str

        def apply(self, aggregate: CompetitorProfile) -> None:
            aggregate.weaknesses = tuple(w for w in aggregate.weaknesses if w != self.weakness)

    class LaneAdded(Event):
        TOPIC = "CompetitorProfile.LaneAdded"
        lane: dict[str, Any]

        def apply(self, aggregate: CompetitorProfile) -> None:
            aggregate.lanes = (*aggregate.lanes, Lane.from_dict(self.lane))

    class LaneDropped(Event):
        TOPIC = "CompetitorProfile.LaneDropped"
        lane: dict[str, Any]
        reason: str

        def apply(self, aggregate: CompetitorProfile) -> None:
            dropped = Lane.from_dict(self.lane)
            aggregate.lanes = tuple(lane for lane in aggregate.lanes if lane != dropped)

    # --- state -------------------------------------------------------------------------

    def __init__(
        self,
        relationship_id: UUID,
        strengths: list[str],
        weaknesses: list[str],
        lanes: list[dict[str, Any]],
    ) -> None:
        self.relationship_id = relationship_id
        self.strengths: tuple[str, ...] = tuple(strengths)
        self.weaknesses: tuple[str, ...] = tuple(weaknesses)
        self.lanes: tuple[Lane, ...] = tuple(Lane.from_dict(lane) for lane in lanes)

    @staticmethod
    def id_for(relationship_id: UUID) -> UUID:
        """Each competitor has exactly one profile."""
        return uuid5(_PROFILE_NAMESPACE, str(relationship_id))

    def serves(self, lane: Lane) -> bool:
        return any(known.same_as(lane) for known in self.lanes)

    # --- commands ----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        relationship_kind: str | None,
        strengths: Sequence[str] = (),
        weaknesses: Sequence[str] = (),
        lanes: Sequence[Lane] = (),
    ) -> CompetitorProfile:
        """The profile of a competitor; ``relationship_kind`` is the kind the application
        layer found (None: no such relationship)."""
        noted_strengths = _distinct(strengths, "strength")
        noted_weaknesses = _distinct(weaknesses, "weakness")
        served = [Lane.of(lane.origin, lane.destination, lane.mode) for lane in lanes]
        require(
            all(not a.same_as(b) for i, a in enumerate(served) for b in served[i + 1 :]),
            "lane.duplicate",
            "each lane is named once",
            field="lanes",
        )
        refuse_unless(
            relationship_kind == RelationshipKind.COMPETITOR.value,
            "profile.not_competitor",
            f"relationship {relationship_id} "
            + ("is not known" if relationship_kind is None else f"is a {relationship_kind}")
            + "; profiles are kept for competitors",
        )
        return cls._create(
            cls.Started,
            id=cls.id_for(relationship_id),
            relationship_id=relationship_id,
            strengths=noted_strengths,
            weaknesses=noted_weaknesses,
            lanes=[lane.as_dict() for lane in served],
            **ctx.event_fields(),
        )

    def note_strength(self, ctx: CommandContext, *, strength: str) -> None:
        text = _statement(strength, "strength")
        refuse_unless(
            _find(self.strengths, text) is None,
            "strength.already_noted",
            f"{text!r} is already noted as a strength",
        )
        self.trigger_event(self.StrengthNoted, strength=text, **ctx.event_fields())

    def withdraw_strength(self, ctx: CommandContext, *, strength: str, reason: str) -> None:
        noted = _find(self.strengths, strength.strip())
        if noted is None:
            raise UnknownMember("strength.unknown", f"{strength!r} is not noted as a strength")
        self.trigger_event(
            self.StrengthWithdrawn,
            strength=noted,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def note_weakness(self, ctx: CommandContext, *, weakness: str) -> None:
        text = _statement(weakness, "weakness")
        refuse_unless(
            _find(self.weaknesses, text) is None,
            "weakness.already_noted",
            f"{text!r} is already noted as a weakness",
        )
        self.trigger_event(self.WeaknessNoted, weakness=text, **ctx.event_fields())

    def withdraw_weakness(self, ctx: CommandContext, *, weakness: str, reason: str) -> None:
        noted = _find(self.weaknesses, weakness.strip())
        if noted is None:
            raise UnknownMember("weakness.unknown", f"{weakness!r} is not noted as a weakness")
        self.trigger_event(
            self.WeaknessWithdrawn,
            weakness=noted,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def add_lane(self, ctx: CommandContext, *, lane: Lane) -> None:
        served = Lane.of(lane.origin, lane.destination, lane.mode)
        refuse_unless(not self.serves(served), "lane.already_served", f"{served} is already served")
        self.trigger_event(self.LaneAdded, lane=served.as_dict(), **ctx.event_fields())

    def drop_lane(self, ctx: CommandContext, *, lane: Lane, reason: str) -> None:
        known = next((known for known in self.lanes if known.same_as(lane)), None)
        if known is None:
            raise UnknownMember("lane.unknown", f"{lane} is not among the lanes served")
        self.trigger_event(
            self.LaneDropped,
            lane=known.as_dict(),
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )


# --- our record against a competitor --------------------------------------------------------


@dataclass(frozen=True)
class WinLossRecord:
    """Our record against one competitor, over the opportunities it competed in."""

    competitor_id: UUID
    #: Still open, with the competitor involved.
    competing: int
    #: Won by us while the competitor was involved.
    won_against: int
    #: Lost to the competitor: it won the business.
    lost_to: int
    #: Lost while the competitor was involved, but not to it (another competitor, or nobody).
    lost_to_others: int

    @property
    def head_to_head_win_rate(self) -> Decimal | None:
        """Of the opportunities decided between us and the competitor, the share we won
        (to the hundredth); None before any was."""
        decided = self.won_against + self.lost_to
        if decided == 0:
            return None
        return (Decimal(self.won_against) / decided).quantize(CENT, ROUND_HALF_UP)


def win_loss_against(competitor_id: UUID, opportunities: Iterable[Opportunity]) -> WinLossRecord:
    competing = won = lost_to = lost_to_others = 0
    for opportunity in opportunities:
        if competitor_id not in opportunity.competitor_ids:
            continue
        if opportunity.status is OpportunityStatus.OPEN:
            competing += 1
        elif opportunity.status is OpportunityStatus.WON:
            won += 1
        elif opportunity.loss is not None and opportunity.loss.competitor_id == competitor_id:
            lost_to += 1
        else:
            lost_to_others += 1
    return WinLossRecord(competitor_id, competing, won, lost_to, lost_to_others)
