"""Service case (客户服务与支持, CSS): an inquiry, request or complaint from a customer,
prospect or target, with its SLA clocks.

A case is opened for a relationship, and may concern one of its shipments and an incident
on that shipment (that the shipment is the relationship's, and the incident the
shipment's, is checked by the application layer, which looks them up). It is assigned to
an owner, answered (its first response), possibly escalated, resolved, possibly reopened,
and closed; the customer rates the resolution from 1 to 5.

SLA clocks
----------
Two clocks run from the opening: the first response is due within the first-response hours
of the case's priority, its resolution within the resolution hours (``SlaPolicy``; the
application supplies the configured policy, ``DEFAULT_SLA_POLICY`` otherwise). Hours are
wall-clock hours; there is no business-hours calendar and no pausing. The due times are
computed when the command runs and stored in its event, so a later change of policy never
rewrites a case's history.

- **Escalation** raises the priority (one level, or to a named higher one; an urgent case is
  not escalated further) and restarts the clocks of the new priority from the escalation
  time — but never later than they were: an escalation tightens a deadline, it never
  relaxes one. The first-response clock moves only while the case awaits its first
  response.
- **Resolution** without a first response answers the customer too: the case's first
  response is then its first resolution.
- **Reopening** a resolved case restarts the resolution clock from the reopening time, at the
  case's current priority. A closed case is not reopened; the customer's next problem is a
  new case.
- A clock is **breached** when its due time passed before the response or resolution came,
  or, while it still runs, when the due time is past ``now``. A breach stays a breach: a
  resolution that came late counts even if the case is reopened and then resolved in time.

Closing follows a resolution only. The satisfaction rating is given once the case is
resolved (or closed), once per resolution: reopening the case clears it for the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, refuse_unless, require
from domain.relationship import RelationshipKind
from domain.values import optional_text, required_text


class CaseKind(StrEnum):
    INQUIRY = "inquiry"
    REQUEST = "request"
    COMPLAINT = "complaint"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return PRIORITIES.index(self)

    @property
    def next_higher(self) -> Priority | None:
        return PRIORITIES[self.rank + 1] if self is not Priority.URGENT else None


#: The priorities from the least to the most urgent.
PRIORITIES: tuple[Priority, ...] = tuple(Priority)


class CaseStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: The kinds of relationship we serve.
SERVED_KINDS = frozenset(
    {RelationshipKind.PROSPECT, RelationshipKind.TARGET, RelationshipKind.CUSTOMER}
)


# --- SLA policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaTarget:
    """Hours, from the start of the clock, within which the case must be answered and
    resolved."""

    first_response_hours: int
    resolution_hours: int


@dataclass(frozen=True)
class SlaPolicy:
    """An SLA target per priority. A more urgent priority is never given more time."""

    low: SlaTarget
    normal: SlaTarget
    high: SlaTarget
    urgent: SlaTarget

    def __post_init__(self) -> None:
        for priority in PRIORITIES:
            target = self.target(priority)
            for field in fields(SlaTarget):
                hours = getattr(target, field.name)
                require(
                    isinstance(hours, int) and hours >= 1,
                    "sla_policy.hours",
                    f"{priority} {field.name} must be a whole number of hours, at least 1",
                    field="sla_policy",
                )
            require(
                target.first_response_hours <= target.resolution_hours,
                "sla_policy.response_after_resolution",
                f"{priority}: the first response is due no later than the resolution",
                field="sla_policy",
            )
        for lower, higher in pairwise(PRIORITIES):
            slow, fast = self.target(lower), self.target(higher)
            require(
                fast.first_response_hours <= slow.first_response_hours
                and fast.resolution_hours <= slow.resolution_hours,
                "sla_policy.priority_order",
                f"{higher} cases are not given more time than {lower} ones",
                field="sla_policy",
            )

    def target(self, priority: Priority) -> SlaTarget:
        target: SlaTarget = getattr(self, Priority(priority).value)
        return target

    def first_response_due(self, priority: Priority, start: datetime) -> datetime:
        return start + timedelta(hours=self.target(priority).first_response_hours)

    def resolution_due(self, priority: Priority, start: datetime) -> datetime:
        return start + timedelta(hours=self.target(priority).resolution_hours)


#: Our default service levels, in wall-clock hours: an urgent case (goods held at customs,
#: a line stopped for want of parts) is answered within the hour and resolved the same
#: working day; a low one (a document copy) within a day and a week.
DEFAULT_SLA_POLICY = SlaPolicy(
    low=SlaTarget(first_response_hours=24, resolution_hours=168),
    normal=SlaTarget(first_response_hours=8, resolution_hours=72),
    high=SlaTarget(first_response_hours=4, resolution_hours=24),
    urgent=SlaTarget(first_response_hours=1, resolution_hours=8),
)


# --- what happened --------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstResponse:
    summary: str
    responded_at: datetime
    responded_by: str


@dataclass(frozen=True)
class Escalation:
    from_priority: Priority
    to_priority: Priority
    reason: str
    escalated_at: datetime
    escalated_by: str


@dataclass(frozen=True)
class Resolution:
    resolution: str
    resolved_at: datetime
    resolved_by: str
    #: The resolution due time this resolution was measured against.
    due: datetime

    @property
    def breached(self) -> bool:
        return self.resolved_at > self.due


@dataclass(frozen=True)
class Reopening:
    reason: str
    reopened_at: datetime
    reopened_by: str


@dataclass(frozen=True)
class SatisfactionRating:
    rating: int
    comment: str | None
    rated_at: datetime


# --- the aggregate --------------------------------------------------------------------------


def _require_served(relationship_id: UUID, kind: str | None) -> None:
    """``kind`` is the relationship's kind as the application layer found it; None: no such
    relationship."""
    refuse_unless(
        kind in SERVED_KINDS,
        "case.relationship_kind",
        f"relationship {relationship_id} "
        + ("is not known" if kind is None else f"is a {kind}")
        + "; service cases are for customers, prospects and targets",
    )


class ServiceCase(Aggregate, created_event_name="Opened"):
    TOPIC = "ServiceCase"

    class Event(AttributedEvent):
        pass

    class Opened(Event, Aggregate.Created):
        """The case is opened at ``occurred_at``, with its SLA due times."""

        TOPIC = "ServiceCase.Opened"
        relationship_id: UUID
        shipment_id: UUID | None
        incident_id: UUID | None
        case_kind: str
        priority: str
        subject: str
        description: str
        first_response_due: datetime
        resolution_due: datetime

    # The library gives every aggregate a "Created" event; ours is "Opened".
    Created = Opened

    class Assigned(Event):
        TOPIC = "ServiceCase.Assigned"
        owner: str

        def apply(self, aggregate: ServiceCase) -> None:
            aggregate.owner = self.owner

    class FirstResponseGiven(Event):
        TOPIC = "ServiceCase.FirstResponseGiven"
        summary: str

        def apply(self, aggregate: ServiceCase) -> None:
            aggregate.first_response = FirstResponse(self.summary, self.occurred_at, self.actor)

    class Escalated(Event):
        """The priority rises; the due times are the ones the escalation leaves."""

        TOPIC = "ServiceCase.Escalated"
        from_priority: str
        to_priority: str
        reason: str
        first_response_due: datetime
        resolution_due: datetime

        def apply(self, aggregate: ServiceCase) -> None:
            aggregate.priority = Priority(self.to_priority)
            aggregate.first_response_due = self.first_response_due
            aggregate.resolution_due = self.resolution_due
            aggregate.escalations = (
                *aggregate.escalations,
                Escalation(
                    Priority(self.from_priority),
                    Priority(self.to_priority),
                    self.reason,
                    self.occurred_at,
                    self.actor,
                ),
            )

    class Resolved(Event):
        TOPIC = "ServiceCase.Resolved"
        resolution: str

        def apply(self, aggregate: ServiceCase) -> None:
            resolution = Resolution(
                self.resolution, self.occurred_at, self.actor, aggregate.resolution_due
            )
            aggregate.resolution = resolution
            aggregate.resolutions = (*aggregate.resolutions, resolution)

    class Reopened(Event):
        """The resolution did not hold; the resolution clock restarts."""

        TOPIC = "ServiceCase.Reopened"
        reason: str
        resolution_due: datetime

        def apply(self, aggregate: ServiceCase) -> None:
            aggregate.resolution = None
            aggregate.satisfaction = None
            aggregate.resolution_due = self.resolution_due
            aggregate.reopenings = (
                *aggregate.reopenings,
                Reopening(self.reason, self.occurred_at, self.actor),
            )

    class Closed(Event):
        TOPIC = "ServiceCase.Closed"
        note: str | None

        def apply(self, aggregate: ServiceCase) -> None:
            aggregate.closed_at = self.occurred_at
            aggregate.closing_note = self.note

    class SatisfactionRated(Event):
        TOPIC = "ServiceCase.SatisfactionRated"
        rating: int
        comment: str | None

        def apply(self, aggregate: ServiceCase) -> None:
            aggregate.satisfaction = SatisfactionRating(self.rating, self.comment, self.occurred_at)

    # --- state -------------------------------------------------------------------------

    def __init__(
        self,
        relationship_id: UUID,
        shipment_id: UUID | None,
        incident_id: UUID | None,
        case_kind: str,
        priority: str,
        subject: str,
        description: str,
        first_response_due: datetime,
        resolution_due: datetime,
        occurred_at: datetime,
        actor: str,
    ) -> None:
        self.relationship_id = relationship_id
        self.shipment_id = shipment_id
        self.incident_id = incident_id
        self.kind = CaseKind(case_kind)
        self.priority = Priority(priority)
        self.subject = subject
        self.description = description
        self.opened_at = occurred_at
        self.opened_by = actor
        self.first_response_due = first_response_due
        self.resolution_due = resolution_due
        self.owner: str | None = None
        self.first_response: FirstResponse | None = None
        self.escalations: tuple[Escalation, ...] = ()
        #: The resolution standing now; None while the case is open.
        self.resolution: Resolution | None = None
        #: Every resolution the case has had, the standing one last.
        self.resolutions: tuple[Resolution, ...] = ()
        self.reopenings: tuple[Reopening, ...] = ()
        self.closed_at: datetime | None = None
        self.closing_note: str | None = None
        self.satisfaction: SatisfactionRating | None = None

    @property
    def status(self) -> CaseStatus:
        if self.closed_at is not None:
            return CaseStatus.CLOSED
        if self.resolution is not None:
            return CaseStatus.RESOLVED
        return CaseStatus.OPEN

    @property
    def first_responded_at(self) -> datetime | None:
        """When the customer was first answered: by a response, or else by the first
        resolution."""
        if self.first_response is not None:
            return self.first_response.responded_at
        return self.resolutions[0].resolved_at if self.resolutions else None

    def first_response_breached(self, now: datetime) -> bool:
        answered = self.first_responded_at
        if answered is not None:
            return answered > self.first_response_due
        return now > self.first_response_due

    def resolution_breached(self, now: datetime) -> bool:
        if any(resolution.breached for resolution in self.resolutions):
            return True
        return self.status is CaseStatus.OPEN and now > self.resolution_due

    # --- commands ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        relationship_kind: str | None,
        kind: CaseKind,
        priority: Priority,
        subject: str,
        description: str,
        shipment_id: UUID | None = None,
        incident_id: UUID | None = None,
        policy: SlaPolicy = DEFAULT_SLA_POLICY,
        case_id: UUID | None = None,
    ) -> ServiceCase:
        """Open a case at ``ctx.occurred_at``; its clocks follow ``policy``.
        ``relationship_kind`` is the application layer's to look up (None: unknown)."""
        level = Priority(priority)
        require(
            incident_id is None or shipment_id is not None,
            "case.incident_without_shipment",
            "an incident is named with the shipment it happened to",
            field="incident_id",
        )
        subject = required_text(subject, "subject")
        description = required_text(description, "description", max_length=4000)
        _require_served(relationship_id, relationship_kind)
        opened = ctx.occurred_at
        return cls._create(
            cls.Opened,
            id=case_id or cls.create_id(),
            relationship_id=relationship_id,
            shipment_id=shipment_id,
            incident_id=incident_id,
            case_kind=CaseKind(kind).value,
            priority=level.value,
            subject=subject,
            description=description,
            first_response_due=policy.first_response_due(level, opened),
            resolution_due=policy.resolution_due(level, opened),
            **ctx.event_fields(),
        )

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    def assign(self, ctx: CommandContext, *, owner: str) -> None:
        owner = required_text(owner, "owner", max_length=64)
        self._require_open("assigned")
        refuse_unless(owner != self.owner, "case.owner_unchanged", f"{owner} already owns it")
        self._require_not_before(ctx, self.opened_at, "the opening")
        self.trigger_event(self.Assigned, owner=owner, **ctx.event_fields())

    def respond(self, ctx: CommandContext, *, summary: str) -> None:
        """The first response to the customer; later exchanges are interactions."""
        text = required_text(summary, "summary", max_length=2000)
        self._require_open("answered")
        refuse_unless(
            self.first_responded_at is None,
            "response.already_given",
            "the case has had its first response",
        )
        self._require_not_before(ctx, self.opened_at, "the opening")
        self.trigger_event(self.FirstResponseGiven, summary=text, **ctx.event_fields())

    def escalate(
        self,
        ctx: CommandContext,
        *,
        reason: str,
        to_priority: Priority | None = None,
        policy: SlaPolicy = DEFAULT_SLA_POLICY,
    ) -> None:
        """Raise the priority — one level, or to ``to_priority`` — and tighten the clocks
        to the new priority's, counted from now."""
        text = required_text(reason, "reason", max_length=2000)
        self._require_open("escalated")
        higher = self.priority.next_higher
        refuse_unless(higher is not None, "escalation.already_urgent", "the case is already urgent")
        assert higher is not None
        target = Priority(to_priority) if to_priority is not None else higher
        refuse_unless(
            target.rank > self.priority.rank,
            "escalation.not_higher",
            f"an escalation raises the priority above {self.priority}; {target} does not",
        )
        self._require_not_before(ctx, self.opened_at, "the opening")
        at = ctx.occurred_at
        first_response_due = self.first_response_due
        if self.first_responded_at is None:
            first_response_due = min(first_response_due, policy.first_response_due(target, at))
        self.trigger_event(
            self.Escalated,
            from_priority=self.priority.value,
            to_priority=target.value,
            reason=text,
            first_response_due=first_response_due,
            resolution_due=min(self.resolution_due, policy.resolution_due(target, at)),
            **ctx.event_fields(),
        )

    def resolve(self, ctx: CommandContext, *, resolution: str) -> None:
        text = required_text(resolution, "resolution", max_length=4000)
        self._require_open("resolved")
        self._require_not_before(ctx, self._clock_started_at, "the start of the resolution clock")
        if self.first_response is not None:
            self._require_not_before(ctx, self.first_response.responded_at, "the first response")
        self.trigger_event(self.Resolved, resolution=text, **ctx.event_fields())

    def reopen(
        self, ctx: CommandContext, *, reason: str, policy: SlaPolicy = DEFAULT_SLA_POLICY
    ) -> None:
        text = required_text(reason, "reason", max_length=2000)
        resolution = self._standing_resolution("reopened", "case.reopen_unresolved")
        self._require_not_before(ctx, resolution.resolved_at, "the resolution")
        self.trigger_event(
            self.Reopened,
            reason=text,
            resolution_due=policy.resolution_due(self.priority, ctx.occurred_at),
            **ctx.event_fields(),
        )

    def close(self, ctx: CommandContext, *, note: str | None = None) -> None:
        text = optional_text(note, "note", max_length=2000)
        resolution = self._standing_resolution("closed", "case.close_before_resolution")
        self._require_not_before(ctx, resolution.resolved_at, "the resolution")
        self.trigger_event(self.Closed, note=text, **ctx.event_fields())

    def rate_satisfaction(
        self, ctx: CommandContext, *, rating: int, comment: str | None = None
    ) -> None:
        """The customer's rating of the resolution, 1 to 5; closed cases are rated too."""
        require(
            isinstance(rating, int) and 1 <= rating <= 5,
            "rating.range",
            "rating is from 1 to 5",
            field="rating",
        )
        text = optional_text(comment, "comment", max_length=2000)
        resolution = self.resolution
        refuse_unless(
            resolution is not None,
            "rating.before_resolution",
            "the customer rates a resolved case",
        )
        assert resolution is not None
        refuse_unless(
            self.satisfaction is None,
            "rating.already_recorded",
            "this resolution has been rated",
        )
        self._require_not_before(ctx, resolution.resolved_at, "the resolution")
        self.trigger_event(
            self.SatisfactionRated, rating=rating, comment=text, **ctx.event_fields()
        )

    # --- helpers -----------------------------------------------------------------------

    @property
    def _clock_started_at(self) -> datetime:
        """When the running resolution clock started: the opening or the last reopening."""
        return self.reopenings[-1].reopened_at if self.reopenings else self.opened_at

    def _require_open(self, action: str) -> None:
        refuse_unless(
            self.status is CaseStatus.OPEN,
            "case.not_open",
            f"the case is {self.status}; only an open case is {action}",
        )

    def _standing_resolution(self, action: str, rule_if_open: str) -> Resolution:
        refuse_unless(
            self.status is not CaseStatus.CLOSED,
            "case.closed",
            f"the case is closed; it is not {action}",
        )
        resolution = self.resolution
        refuse_unless(
            resolution is not None,
            rule_if_open,
            f"the case is open; only a resolved case is {action}",
        )
        assert resolution is not None
        return resolution

    @staticmethod
    def _require_not_before(ctx: CommandContext, earlier: datetime, what: str) -> None:
        refuse_unless(
            ctx.occurred_at >= earlier,
            "case.time_backwards",
            f"{ctx.occurred_at.isoformat()} is before {what} ({earlier.isoformat()});"
            " times must not go backwards",
        )
