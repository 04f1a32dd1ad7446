"""Follow-ups and care plans on their own, no database: scheduled, assigned, rescheduled,
completed with the interaction they produced, cancelled with a reason; a care plan's next
follow-up; what a closed follow-up refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from domain.base import CommandContext, CommandRefused, InvalidValue, event_classes
from domain.follow_up import (
    CarePlan,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    IntervalUnit,
    SubjectKind,
    add_interval,
)
from domain.relationship import Channel

DAY_ONE = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
HUAXIN = UUID("00000000-0000-4000-8000-00000000c001")
SHIPMENT = UUID("00000000-0000-4000-8000-00000000d001")
SHANGHAI = timezone(timedelta(hours=8))


def at(hours: float) -> datetime:
    return DAY_ONE + timedelta(hours=hours)


def ctx(hours: float = 0, actor: str = "li.wei") -> CommandContext:
    return CommandContext.issue(actor=actor, now=at(hours), occurred_at=at(hours))


def scheduled(**overrides: object) -> FollowUp:
    fields: dict[str, object] = {
        "relationship_id": HUAXIN,
        "subject_kind": SubjectKind.SHIPMENT,
        "subject_id": SHIPMENT,
        "kind": FollowUpKind.DOCUMENT_TO_CHASE,
        "due_at": datetime(2026, 1, 7, 9, 30, tzinfo=SHANGHAI),
        "assignee": "zhang.min",
        "note": "the signed POD",
    }
    return FollowUp.schedule(ctx(), **(fields | overrides))  # type: ignore[arg-type]


def test_a_follow_up_is_scheduled_on_a_subject_of_a_relationship() -> None:
    follow_up = scheduled()
    assert follow_up.relationship_id == HUAXIN
    assert (follow_up.subject_kind, follow_up.subject_id) == (SubjectKind.SHIPMENT, SHIPMENT)
    assert follow_up.due_at == datetime(2026, 1, 7, 1, 30, tzinfo=UTC)  # kept in UTC
    assert follow_up.state is FollowUpState.OPEN
    assert follow_up.assignee == "zhang.min"
    assert follow_up.scheduled_by == "li.wei"


def test_the_due_time_carries_its_zone_and_the_assignee_is_a_staff_id() -> None:
    with pytest.raises(InvalidValue) as naive:
        scheduled(due_at=datetime(2026, 1, 7, 9, 30))
    assert naive.value.field == "due_at"
    with pytest.raises(InvalidValue) as bad:
        scheduled(assignee="zhang min")
    assert bad.value.field == "assignee"


def test_assign_and_reschedule_while_open() -> None:
    follow_up = scheduled()
    follow_up.assign(ctx(1), assignee="wu.gang")
    follow_up.reschedule(ctx(2), due_at=at(72), reason="the customer is away")
    assert (follow_up.assignee, follow_up.due_at) == ("wu.gang", at(72))
    with pytest.raises(CommandRefused) as same:
        follow_up.assign(ctx(3), assignee="wu.gang")
    assert same.value.rule == "follow_up.assignee_unchanged"
    with pytest.raises(CommandRefused):
        follow_up.reschedule(ctx(3), due_at=at(72), reason=None)


def test_overdue_is_open_and_past_its_due_time() -> None:
    follow_up = scheduled(due_at=at(24))
    assert not follow_up.is_overdue(at(24))
    assert follow_up.is_overdue(at(24.01))
    follow_up.complete(ctx(25), outcome="received")
    assert not follow_up.is_overdue(at(48))


def test_completion_names_the_interaction_it_produced_once() -> None:
    follow_up = scheduled()
    interaction = follow_up.complete(ctx(5), outcome="POD received by email")
    assert follow_up.state is FollowUpState.DONE
    assert follow_up.interaction_id == interaction == follow_up.interaction_id_to_log
    assert follow_up.outcome == "POD received by email"
    assert (follow_up.closed_at, follow_up.closed_by) == (at(5), "li.wei")
    assert scheduled().interaction_id_to_log != interaction  # one per follow-up


@pytest.mark.parametrize(
    "command",
    [
        lambda f: f.complete(ctx(9), outcome="again"),
        lambda f: f.cancel(ctx(9), reason="again"),
        lambda f: f.assign(ctx(9), assignee="wu.gang"),
        lambda f: f.reschedule(ctx(9), due_at=at(99), reason=None),
    ],
)
@pytest.mark.parametrize("close", ["complete", "cancel"])
def test_a_closed_follow_up_refuses_every_command(command: object, close: str) -> None:
    follow_up = scheduled()
    if close == "complete":
        follow_up.complete(ctx(5), outcome="done")
    else:
        follow_up.cancel(ctx(5), reason="the shipment was cancelled")
    with pytest.raises(CommandRefused) as refused:
        command(follow_up)  # type: ignore[operator]
    assert refused.value.rule == "follow_up.closed"


def test_cancel_needs_a_reason_and_completion_an_outcome() -> None:
    follow_up = scheduled()
    with pytest.raises(InvalidValue) as no_reason:
        follow_up.cancel(ctx(1), reason="  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(InvalidValue) as no_outcome:
        follow_up.complete(ctx(1), outcome="")
    assert no_outcome.value.field == "outcome"
    follow_up.cancel(ctx(2), reason="the customer sent it unasked")
    assert (follow_up.state, follow_up.cancel_reason) == (
        FollowUpState.CANCELLED,
        "the customer sent it unasked",
    )


def test_the_kinds_log_their_channel() -> None:
    assert FollowUpKind.CALL.channel is Channel.CALL
    assert FollowUpKind.VISIT.channel is Channel.VISIT
    assert FollowUpKind.DOCUMENT_TO_CHASE.channel is Channel.EMAIL


def test_months_are_added_on_the_calendar() -> None:
    assert add_interval(datetime(2026, 1, 31, tzinfo=UTC), 1, IntervalUnit.MONTHS) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert add_interval(datetime(2026, 11, 5, tzinfo=UTC), 3, IntervalUnit.MONTHS) == datetime(
        2027, 2, 5, tzinfo=UTC
    )
    assert add_interval(DAY_ONE, 14, IntervalUnit.DAYS) == DAY_ONE + timedelta(days=14)


def start_plan(**overrides: object) -> tuple[CarePlan, FollowUp]:
    fields: dict[str, object] = {
        "relationship_id": HUAXIN,
        "kind": FollowUpKind.VISIT,
        "every": 1,
        "unit": IntervalUnit.MONTHS,
        "assignee": "li.wei",
        "first_due_at": datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        "note": "monthly visit of a key account",
    }
    return CarePlan.start(ctx(), **(fields | overrides))  # type: ignore[arg-type]


def test_a_care_plan_starts_with_its_first_follow_up() -> None:
    plan, first = start_plan()
    assert first.care_plan_id == plan.id
    assert first.id == plan.follow_up_id(1) == plan.open_follow_up_id
    assert (first.kind, first.subject_kind, first.subject_id) == (
        FollowUpKind.VISIT,
        SubjectKind.RELATIONSHIP,
        HUAXIN,
    )
    assert [type(e).__name__ for e in plan.collect_events()] == ["Started", "FollowUpScheduled"]


def test_the_next_follow_up_keeps_the_plans_rhythm() -> None:
    plan, first = start_plan()
    # Visited ten days late: the next visit is still due on the 5th.
    first.complete(ctx(24 * 10), outcome="visited")
    following = plan.next_after(ctx(24 * 10), first)
    assert following is not None
    assert following.due_at == datetime(2026, 2, 5, 10, 0, tzinfo=UTC)
    assert following.id == plan.follow_up_id(2) == plan.open_follow_up_id
    # Only the plan's current follow-up has a next one: asked twice, it gives none.
    assert plan.next_after(ctx(24 * 10), first) is None


def test_a_late_visit_skips_the_dates_already_past() -> None:
    plan, first = start_plan(every=7, unit=IntervalUnit.DAYS)
    first.complete(ctx(24 * 20), outcome="visited at last")
    following = plan.next_after(ctx(24 * 20), first)
    assert following is not None
    assert following.due_at == datetime(2026, 1, 26, 10, 0, tzinfo=UTC)


def test_an_ended_plan_schedules_nothing_and_ends_once() -> None:
    plan, first = start_plan()
    assert plan.end(ctx(1), reason="the account moved to Shanghai") == first.id
    assert not plan.active
    first.cancel(ctx(1), reason="plan ended")
    assert plan.next_after(ctx(1), first) is None
    with pytest.raises(CommandRefused) as again:
        plan.end(ctx(2), reason="again")
    assert again.value.rule == "care_plan.ended"


@pytest.mark.parametrize(("every", "unit"), [(0, "days"), (367, "days"), (25, "months")])
def test_the_interval_is_bounded(every: int, unit: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        start_plan(every=every, unit=IntervalUnit(unit))
    assert refused.value.field == "every"


def test_every_event_has_a_stable_stored_name() -> None:
    for cls in (FollowUp, CarePlan):
        for event in event_classes(cls):
            assert (event.__name__, event.TOPIC) == (
                event.__name__,
                f"{cls.__name__}.{event.__name__}",
            )
