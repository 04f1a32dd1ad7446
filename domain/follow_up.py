"""Follow-ups (跟进) and care plans (客户关怀计划): the work staff plan ahead.

A ``FollowUp`` is scheduled on a customer relationship, or on one of its shipments,
opportunities or service cases (the subject, and the relationship it belongs to): a call, a
visit, a care action or a document to chase, due at a moment (with its time zone), assigned
to a staff member, with a note. While it is open it may be assigned to a colleague or
rescheduled; it ends completed — with the interaction it produced, logged on the
relationship by the same command — or cancelled, with a reason. A closed follow-up changes
no more (409).

Whether a follow-up is overdue depends on the time of asking, not on an event: an open one
is overdue once its due time has passed (``is_overdue``).

A ``CarePlan`` is recurring care: a key account visited monthly, say. It names the
relationship, the kind of follow-up, the interval (days or months) and the assignee; it
schedules its first follow-up when it starts, and the next one whenever the current one
completes or is cancelled — each by the same append — until it ends. The next one is due an
interval after the one before, stepped on until it lies after the moment the one before
closed, so a plan keeps its rhythm (the 5th of every month) however late a visit was.
Ending a plan cancels its open follow-up.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, refuse_unless, require
from domain.personal import DataKind, DataSubjectKind, PersonalField, Subject
from domain.relationship import Channel
from domain.values import optional_text, required_text, utc_moment


class FollowUpKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    CARE_ACTION = "care_action"  # 客户关怀
    DOCUMENT_TO_CHASE = "document_to_chase"  # a POD, an invoice, a survey report

    @property
    def channel(self) -> Channel:
        """The channel of the interaction a completed follow-up of this kind logs, unless
        the one completing it says otherwise."""
        return {
            FollowUpKind.CALL: Channel.CALL,
            FollowUpKind.VISIT: Channel.VISIT,
            FollowUpKind.CARE_ACTION: Channel.VISIT,
            FollowUpKind.DOCUMENT_TO_CHASE: Channel.EMAIL,
        }[self]


class SubjectKind(StrEnum):
    RELATIONSHIP = "relationship"
    SHIPMENT = "shipment"
    OPPORTUNITY = "opportunity"
    CASE = "case"


class FollowUpState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class IntervalUnit(StrEnum):
    DAYS = "days"
    MONTHS = "months"


#: The longest interval a care plan may have.
MAX_INTERVAL = {IntervalUnit.DAYS: 366, IntervalUnit.MONTHS: 24}

_NAMESPACE = UUID("3b0f6a52-1c7e-4f3d-8d2b-7a9e0c4d5f61")


def _relationship_notes(state: Any, _originator_id: UUID) -> Subject:
    """A follow-up's or care plan's note names no contact: it is the relationship's notes,
    sealed under the key of the relationship's notes that visits naming no contact use."""
    return Subject(DataSubjectKind.NOTES, UUID(str(state["relationship_id"])), "notes")


#: The note of a follow-up (``FollowUp.Scheduled``) and of a care plan
#: (``CarePlan.Started``): free text about the customer's people.
NOTE_FIELDS = (PersonalField("note", DataKind.NOTES, _relationship_notes),)


def _staff_id(value: str, field: str) -> str:
    text = required_text(value, field, max_length=64)
    require(
        all(c.isascii() and (c.isalnum() or c in "_.:@-") for c in text),
        f"{field}.format",
        f"{field} must be a staff id",
        field=field,
    )
    return text


def add_interval(moment: datetime, every: int, unit: IntervalUnit) -> datetime:
    """``moment`` plus ``every`` days or months; a month's day past the end of the target
    month is its last day (31 January + 1 month = 28 or 29 February)."""
    if unit is IntervalUnit.DAYS:
        return moment + timedelta(days=every)
    months = moment.month - 1 + every
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def care_plan_follow_up_id(care_plan_id: UUID, sequence: int) -> UUID:
    """The id of a care plan's ``sequence``-th follow-up (from 1)."""
    return uuid5(_NAMESPACE, f"{care_plan_id}/{sequence}")


class FollowUp(Aggregate, created_event_name="Scheduled"):
    TOPIC = "FollowUp"

    class Event(AttributedEvent):
        pass

    class Scheduled(Event, Aggregate.Created):
        TOPIC = "FollowUp.Scheduled"
        PERSONAL = NOTE_FIELDS
        relationship_id: UUID
        subject_kind: str
        subject_id: UUID
        kind: str
        due_at: datetime
        assignee: str
        note: str | None
        care_plan_id: UUID | None

    Created = Scheduled

    class Assigned(Event):
        TOPIC = "FollowUp.Assigned"
        assignee: str

        def apply(self, aggregate: FollowUp) -> None:
            aggregate.assignee = self.assignee

    class Rescheduled(Event):
        TOPIC = "FollowUp.Rescheduled"
        due_at: datetime
        reason: str | None

        def apply(self, aggregate: FollowUp) -> None:
            aggregate.due_at = self.due_at

    class Completed(Event):
        TOPIC = "FollowUp.Completed"
        interaction_id: UUID
        outcome: str

        def apply(self, aggregate: FollowUp) -> None:
            aggregate.state = FollowUpState.DONE
            aggregate.closed_at = self.occurred_at
            aggregate.closed_by = self.actor
            aggregate.interaction_id = self.interaction_id
            aggregate.outcome = self.outcome

    class Cancelled(Event):
        TOPIC = "FollowUp.Cancelled"
        reason: str

        def apply(self, aggregate: FollowUp) -> None:
            aggregate.state = FollowUpState.CANCELLED
            aggregate.closed_at = self.occurred_at
            aggregate.closed_by = self.actor
            aggregate.cancel_reason = self.reason

    def __init__(
        self,
        relationship_id: UUID,
        subject_kind: str,
        subject_id: UUID,
        kind: str,
        due_at: datetime,
        assignee: str,
        note: str | None,
        care_plan_id: UUID | None,
        occurred_at: datetime,
        actor: str,
    ) -> None:
        self.relationship_id = relationship_id
        self.subject_kind = SubjectKind(subject_kind)
        self.subject_id = subject_id
        self.kind = FollowUpKind(kind)
        self.due_at = due_at
        self.assignee = assignee
        self.note = note
        self.care_plan_id = care_plan_id
        self.scheduled_at = occurred_at
        self.scheduled_by = actor
        self.state = FollowUpState.OPEN
        self.closed_at: datetime | None = None
        self.closed_by: str | None = None
        self.interaction_id: UUID | None = None
        self.outcome: str | None = None
        self.cancel_reason: str | None = None

    # --- queries -----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state is FollowUpState.OPEN

    def is_overdue(self, now: datetime) -> bool:
        """Open, and its due time has passed at ``now``."""
        return self.is_open and self.due_at < now

    @property
    def interaction_id_to_log(self) -> UUID:
        """The id of the interaction its completion logs: one per follow-up, so it can
        never be logged twice."""
        return uuid5(_NAMESPACE, f"{self.id}/interaction")

    # --- commands ----------------------------------------------------------------------

    @classmethod
    def schedule(
        cls,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        subject_kind: SubjectKind,
        subject_id: UUID,
        kind: FollowUpKind,
        due_at: datetime,
        assignee: str,
        note: str | None = None,
        care_plan_id: UUID | None = None,
        follow_up_id: UUID | None = None,
    ) -> FollowUp:
        """A follow-up on ``subject_id`` (of ``subject_kind``), which belongs to the
        relationship ``relationship_id``: the application layer found both."""
        return cls._create(
            cls.Scheduled,
            id=follow_up_id or uuid4(),
            relationship_id=relationship_id,
            subject_kind=SubjectKind(subject_kind).value,
            subject_id=subject_id,
            kind=FollowUpKind(kind).value,
            due_at=utc_moment(due_at, "due_at"),
            assignee=_staff_id(assignee, "assignee"),
            note=optional_text(note, "note", max_length=2000),
            care_plan_id=care_plan_id,
            **ctx.event_fields(),
        )

    def assign(self, ctx: CommandContext, *, assignee: str) -> None:
        """Hand it to a colleague (the application layer checked they may work it)."""
        who = _staff_id(assignee, "assignee")
        self._require_open()
        refuse_unless(
            who != self.assignee, "follow_up.assignee_unchanged", f"already assigned to {who}"
        )
        self.trigger_event(self.Assigned, assignee=who, **ctx.event_fields())

    def reschedule(self, ctx: CommandContext, *, due_at: datetime, reason: str | None) -> None:
        due = utc_moment(due_at, "due_at")
        why = optional_text(reason, "reason", max_length=2000)
        self._require_open()
        refuse_unless(
            due != self.due_at, "follow_up.due_unchanged", f"already due at {due.isoformat()}"
        )
        self.trigger_event(self.Rescheduled, due_at=due, reason=why, **ctx.event_fields())

    def complete(self, ctx: CommandContext, *, outcome: str) -> UUID:
        """Done; returns the id of the interaction it produced, which the same command logs
        on the relationship."""
        text = required_text(outcome, "outcome", max_length=2000)
        self._require_open()
        interaction_id = self.interaction_id_to_log
        self.trigger_event(
            self.Completed, interaction_id=interaction_id, outcome=text, **ctx.event_fields()
        )
        return interaction_id

    def cancel(self, ctx: CommandContext, *, reason: str) -> None:
        why = required_text(reason, "reason", max_length=2000)
        self._require_open()
        self.trigger_event(self.Cancelled, reason=why, **ctx.event_fields())

    def _require_open(self) -> None:
        refuse_unless(self.is_open, "follow_up.closed", f"the follow-up is {self.state.value}")


class CarePlan(Aggregate, created_event_name="Started"):
    TOPIC = "CarePlan"

    class Event(AttributedEvent):
        pass

    class Started(Event, Aggregate.Created):
        TOPIC = "CarePlan.Started"
        PERSONAL = NOTE_FIELDS
        relationship_id: UUID
        kind: str
        every: int
        unit: str
        assignee: str
        note: str | None

    Created = Started

    class FollowUpScheduled(Event):
        TOPIC = "CarePlan.FollowUpScheduled"
        follow_up_id: UUID
        sequence: int
        due_at: datetime

        def apply(self, aggregate: CarePlan) -> None:
            aggregate.scheduled = self.sequence
            aggregate.open_follow_up_id = self.follow_up_id

    class Ended(Event):
        TOPIC = "CarePlan.Ended"
        reason: str

        def apply(self, aggregate: CarePlan) -> None:
            aggregate.active = False
            aggregate.ended_at = self.occurred_at
            aggregate.open_follow_up_id = None

    def __init__(
        self,
        relationship_id: UUID,
        kind: str,
        every: int,
        unit: str,
        assignee: str,
        note: str | None,
        occurred_at: datetime,
        actor: str,
    ) -> None:
        self.relationship_id = relationship_id
        self.kind = FollowUpKind(kind)
        self.every = every
        self.unit = IntervalUnit(unit)
        self.assignee = assignee
        self.note = note
        self.started_at = occurred_at
        self.active = True
        self.ended_at: datetime | None = None
        self.scheduled = 0
        self.open_follow_up_id: UUID | None = None

    def follow_up_id(self, sequence: int) -> UUID:
        """The id of the plan's ``sequence``-th follow-up (from 1)."""
        return care_plan_follow_up_id(self.id, sequence)

    @classmethod
    def start(
        cls,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        kind: FollowUpKind,
        every: int,
        unit: IntervalUnit,
        assignee: str,
        first_due_at: datetime,
        note: str | None = None,
        care_plan_id: UUID | None = None,
    ) -> tuple[CarePlan, FollowUp]:
        """A care plan of the relationship, and its first follow-up, due ``first_due_at``:
        two aggregates to append together."""
        period = IntervalUnit(unit)
        require(
            isinstance(every, int) and 1 <= every <= MAX_INTERVAL[period],
            "every.range",
            f"every is from 1 to {MAX_INTERVAL[period]} {period.value}",
            field="every",
        )
        due = utc_moment(first_due_at, "first_due_at")
        plan = cls._create(
            cls.Started,
            id=care_plan_id or uuid4(),
            relationship_id=relationship_id,
            kind=FollowUpKind(kind).value,
            every=every,
            unit=period.value,
            assignee=_staff_id(assignee, "assignee"),
            note=optional_text(note, "note", max_length=2000),
            **ctx.event_fields(),
        )
        return plan, plan._schedule(ctx, due)

    def next_after(self, ctx: CommandContext, closed: FollowUp) -> FollowUp | None:
        """The follow-up after ``closed`` (its current one, just completed or cancelled),
        or None: the plan has ended, or ``closed`` is not its current follow-up."""
        if not self.active or closed.id != self.open_follow_up_id:
            return None
        due = add_interval(closed.due_at, self.every, self.unit)
        while due <= ctx.occurred_at:
            due = add_interval(due, self.every, self.unit)
        return self._schedule(ctx, due)

    def end(self, ctx: CommandContext, *, reason: str) -> UUID | None:
        """The plan ends; returns its open follow-up, which the same command cancels."""
        why = required_text(reason, "reason", max_length=2000)
        refuse_unless(self.active, "care_plan.ended", "the care plan has ended already")
        still_open = self.open_follow_up_id
        self.trigger_event(self.Ended, reason=why, **ctx.event_fields())
        return still_open

    def _schedule(self, ctx: CommandContext, due: datetime) -> FollowUp:
        sequence = self.scheduled + 1
        follow_up_id = self.follow_up_id(sequence)
        self.trigger_event(
            self.FollowUpScheduled,
            follow_up_id=follow_up_id,
            sequence=sequence,
            due_at=due,
            **ctx.event_fields(),
        )
        return FollowUp.schedule(
            ctx,
            relationship_id=self.relationship_id,
            subject_kind=SubjectKind.RELATIONSHIP,
            subject_id=self.relationship_id,
            kind=self.kind,
            due_at=due,
            assignee=self.assignee,
            note=self.note,
            care_plan_id=self.id,
            follow_up_id=follow_up_id,
        )
