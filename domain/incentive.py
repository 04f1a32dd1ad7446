"""Staff incentives (员工奖惩): the rules headquarters sets, and each award or penalty a
manager decides.

``IncentiveRules`` is one aggregate for the company: the points a staff member earns for a
won opportunity, a first response within its SLA and a clean month, and the points a
breached first response or an incident on a shipment they booked costs them. Every setting
is an event with its actor; the rules in force for a measured fact are the latest set
before it in the log.

The performance read model measures what staff did and applies the rules: each fact a rule
gives points for is a *proposed* award or penalty (``proposed_points``), and a month
without a breach or an incident, once it has ended, a proposed clean-month award
(``is_clean_month``). An ``Incentive`` is a manager's decision on one proposal, under the
proposal's id: confirmed or rejected, with the reason, the staff member, their branch, the
measure, the points and the month they count for. A proposal is decided once (409).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, require
from domain.values import required_text


class Measure(StrEnum):
    """What a rule gives points for (awards) or takes them for (penalties)."""

    OPPORTUNITY_WON = "opportunity_won"
    SLA_KEPT = "sla_kept"
    CLEAN_MONTH = "clean_month"
    SLA_BREACHED = "sla_breached"
    SHIPMENT_INCIDENT = "shipment_incident"

    @property
    def is_penalty(self) -> bool:
        return self in (Measure.SLA_BREACHED, Measure.SHIPMENT_INCIDENT)


class Decision(StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


#: The most points one rule may give or take.
MAX_POINTS = 10_000

_NAMESPACE = UUID("8c4e2d17-5b3a-4f60-9e18-2a7d6c0b4f95")
RULES_ID = uuid5(_NAMESPACE, "incentive-rules")


def rule_points(points: Mapping[str, Any]) -> dict[str, int]:
    """The rules as kept: each measure's points, a whole number from 0 to ``MAX_POINTS``
    (a penalty's as its size); a measure left out is worth nothing."""
    kept: dict[str, int] = {}
    for name, value in points.items():
        require(
            name in Measure.__members__.values(),
            "points.measure",
            f"{name!r} is no measure ({', '.join(m.value for m in Measure)})",
            field="points",
        )
        require(
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POINTS,
            "points.range",
            f"{name}: points are a whole number from 0 to {MAX_POINTS}",
            field="points",
        )
        kept[name] = value
    return {m.value: kept.get(m.value, 0) for m in Measure}


def proposed_points(rules: Mapping[str, int] | None, measure: Measure) -> int | None:
    """The points the rules propose for one fact of ``measure``: positive for an award,
    negative for a penalty; None when no rules are set or the measure is worth nothing."""
    if rules is None:
        return None
    size = int(rules.get(Measure(measure).value, 0))
    if size == 0:
        return None
    return -size if Measure(measure).is_penalty else size


def is_clean_month(*, facts: int, breaches: int, incidents: int) -> bool:
    """A month the staff member worked (at least one measured fact) without a breached
    first response or an incident on a shipment they booked."""
    return facts > 0 and breaches == 0 and incidents == 0


def fact_proposal_id(measure: Measure, subject_id: UUID) -> UUID:
    """The id of the proposal a fact of ``measure`` makes about its subject: a won
    opportunity, a case's first response, an incident — each happens once."""
    return uuid5(_NAMESPACE, f"{Measure(measure).value}/{subject_id}")


def clean_month_proposal_id(staff_id: str, month: str) -> UUID:
    """The id of the clean-month proposal of ``staff_id`` for ``month`` (YYYY-MM)."""
    return uuid5(_NAMESPACE, f"clean-month/{staff_id}/{month}")


class IncentiveRules(Aggregate, created_event_name="Set"):
    """The company's incentive rules, one aggregate (``RULES_ID``)."""

    TOPIC = "IncentiveRules"

    class Event(AttributedEvent):
        pass

    class Set(Event, Aggregate.Created):
        TOPIC = "IncentiveRules.Set"
        points: dict[str, int]
        note: str | None

    Created = Set

    class Changed(Event):
        TOPIC = "IncentiveRules.Changed"
        points: dict[str, int]
        note: str | None

        def apply(self, aggregate: IncentiveRules) -> None:
            aggregate.points = dict(self.points)
            aggregate.note = self.note

    def __init__(self, points: dict[str, int], note: str | None) -> None:
        self.points = dict(points)
        self.note = note

    @classmethod
    def set(
        cls, ctx: CommandContext, *, points: Mapping[str, Any], note: str | None = None
    ) -> IncentiveRules:
        return cls._create(
            cls.Set,
            id=RULES_ID,
            points=rule_points(points),
            note=_note(note),
            **ctx.event_fields(),
        )

    def change(
        self, ctx: CommandContext, *, points: Mapping[str, Any], note: str | None = None
    ) -> None:
        self.trigger_event(
            self.Changed, points=rule_points(points), note=_note(note), **ctx.event_fields()
        )


def _note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    return required_text(note, "note", max_length=2000)


def month_text(value: str) -> str:
    """A calendar month, YYYY-MM."""
    text = value.strip()
    ok = len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit()
    require(
        ok and 1 <= int(text[5:]) <= 12,
        "period.format",
        "a month is YYYY-MM",
        field="period",
    )
    return text


class Incentive(Aggregate):
    """A manager's decision on one proposed award or penalty, under the proposal's id."""

    TOPIC = "Incentive"

    class Event(AttributedEvent):
        pass

    class Confirmed(Event, Aggregate.Created):
        TOPIC = "Incentive.Confirmed"
        staff_id: str
        branch: str
        measure: str
        points: int
        period: str
        source: str
        reason: str

        def apply(self, aggregate: Incentive) -> None:
            aggregate.decision = Decision.CONFIRMED

    class Rejected(Event, Aggregate.Created):
        TOPIC = "Incentive.Rejected"
        staff_id: str
        branch: str
        measure: str
        points: int
        period: str
        source: str
        reason: str

        def apply(self, aggregate: Incentive) -> None:
            aggregate.decision = Decision.REJECTED

    Created = Confirmed

    def __init__(
        self,
        staff_id: str,
        branch: str,
        measure: str,
        points: int,
        period: str,
        source: str,
        reason: str,
    ) -> None:
        self.staff_id = staff_id
        self.branch = branch
        self.measure = Measure(measure)
        self.points = points
        self.period = period
        self.source = source
        self.reason = reason
        self.decision = Decision.CONFIRMED

    @classmethod
    def decide(
        cls,
        ctx: CommandContext,
        *,
        proposal_id: UUID,
        decision: Decision,
        staff_id: str,
        branch: str,
        measure: Measure,
        points: int,
        period: str,
        source: str,
        reason: str,
    ) -> Incentive:
        """The decision on the proposal ``proposal_id``: what it awards or takes, as
        proposed, and why it was confirmed or rejected."""
        kind = Measure(measure)
        require(
            isinstance(points, int) and points != 0 and (points < 0) == kind.is_penalty,
            "points.sign",
            "an award's points are positive, a penalty's negative",
            field="points",
        )
        event = cls.Confirmed if Decision(decision) is Decision.CONFIRMED else cls.Rejected
        return cls._create(
            event,
            id=proposal_id,
            staff_id=staff_id,
            branch=branch,
            measure=kind.value,
            points=points,
            period=month_text(period),
            source=required_text(source, "source", max_length=200),
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    @property
    def confirmed(self) -> bool:
        return self.decision is Decision.CONFIRMED
