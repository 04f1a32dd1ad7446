"""The ServiceCase aggregate on its own, no database: inquiries, requests and complaints,
their owner, and the SLA clocks for the first response and the resolution — kept, breached,
tightened by escalation and restarted by a reopening."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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
from domain.relationship import RelationshipKind
from domain.service_case import (
    DEFAULT_SLA_POLICY,
    CaseKind,
    CaseStatus,
    Priority,
    ServiceCase,
    SlaPolicy,
    SlaTarget,
)

DAY_ONE = datetime(2025, 3, 10, tzinfo=UTC)

HUAXIN = UUID("00000000-0000-4000-8000-00000000c001")  # an electronics maker in Suzhou
SHIPMENT = UUID("00000000-0000-4000-8000-0000000d0001")  # its laptops to Chicago
INCIDENT = UUID("00000000-0000-4000-8000-0000000d1001")  # cartons damaged at import


def at(hours: float) -> datetime:
    return DAY_ONE + timedelta(hours=hours)


def ctx(hours: float = 0, actor: str = "css.wu") -> CommandContext:
    return CommandContext.issue(actor=actor, now=at(hours), occurred_at=at(hours))


def open_case(
    priority: Priority = Priority.NORMAL,
    *,
    kind: CaseKind = CaseKind.COMPLAINT,
    relationship_kind: str | None = RelationshipKind.CUSTOMER.value,
    shipment_id: UUID | None = SHIPMENT,
    incident_id: UUID | None = INCIDENT,
    policy: SlaPolicy = DEFAULT_SLA_POLICY,
) -> ServiceCase:
    return ServiceCase.open(
        ctx(0, "css.li"),
        relationship_id=HUAXIN,
        relationship_kind=relationship_kind,
        kind=kind,
        priority=priority,
        subject="12 cartons of laptops arrived crushed in Chicago",
        description="The consignee refused 12 of 120 cartons; the customer wants them replaced.",
        shipment_id=shipment_id,
        incident_id=incident_id,
        policy=policy,
    )


def resolved(at_hour: float = 20) -> ServiceCase:
    case = open_case()
    case.respond(ctx(1), summary="we are on it; survey ordered")
    case.resolve(ctx(at_hour), resolution="replacement cartons flown on the next freighter")
    return case


@contextmanager
def refused(
    rule: str, kind: type[DomainError] = CommandRefused, unchanged: ServiceCase | None = None
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


def rebuild(events: Sequence[object]) -> ServiceCase:
    case: ServiceCase | None = None
    for event in events:
        assert isinstance(event, ServiceCase.Event)
        case = event.mutate(case)
    assert isinstance(case, ServiceCase)
    return case


# --- the story: a complaint answered in time and resolved late ------------------------------


def test_a_complaint_answered_in_time_but_resolved_late_breaches_only_its_resolution() -> None:
    # Opened on Monday at midnight: a normal case is answered within 8 h, resolved in 72 h.
    case = open_case()
    assert (case.kind, case.priority, case.status) == (
        CaseKind.COMPLAINT,
        Priority.NORMAL,
        CaseStatus.OPEN,
    )
    assert (case.shipment_id, case.incident_id) == (SHIPMENT, INCIDENT)
    assert (case.first_response_due, case.resolution_due) == (at(8), at(72))

    case.assign(ctx(0.5, "manager.sun"), owner="css.wu")
    assert case.owner == "css.wu"
    assert not case.first_response_breached(at(7))
    assert case.first_response_breached(at(9))  # nobody answered yet: it would be late

    case.respond(ctx(2), summary="survey ordered at the Chicago warehouse")
    assert case.first_responded_at == at(2)
    assert not case.first_response_breached(at(1000))  # answered in time, for good

    assert not case.resolution_breached(at(71))
    assert case.resolution_breached(at(73))  # still open past its due time

    case.resolve(ctx(80), resolution="12 cartons replaced; claim filed for the damage")
    assert case.status is CaseStatus.RESOLVED
    assert case.resolution is not None
    assert (case.resolution.resolved_at, case.resolution.due) == (at(80), at(72))
    assert case.resolution_breached(at(80))
    assert case.resolution_breached(at(10_000))
    assert not case.first_response_breached(at(10_000))

    case.rate_satisfaction(ctx(90), rating=2, comment="took too long")
    case.close(ctx(91), note="claim handled on the shipment")
    assert case.status is CaseStatus.CLOSED
    assert case.satisfaction is not None
    assert case.satisfaction.rating == 2


def test_a_case_resolved_in_time_breaches_nothing() -> None:
    case = resolved(at_hour=20)
    assert not case.first_response_breached(at(500))
    assert not case.resolution_breached(at(500))


# --- escalation -----------------------------------------------------------------------------


def test_escalation_raises_the_priority_and_restarts_its_clocks_from_the_escalation() -> None:
    case = open_case(Priority.NORMAL)  # due: first response 8 h, resolution 72 h
    case.escalate(ctx(2, "manager.sun"), reason="the customer's line stops on Friday")
    assert case.priority is Priority.HIGH  # one level up
    assert (case.first_response_due, case.resolution_due) == (at(6), at(26))  # 2 + 4, 2 + 24

    case.escalate(ctx(3), reason="VP called", to_priority=Priority.URGENT)
    assert case.priority is Priority.URGENT
    assert (case.first_response_due, case.resolution_due) == (at(4), at(11))  # 3 + 1, 3 + 8
    assert [(e.from_priority, e.to_priority) for e in case.escalations] == [
        (Priority.NORMAL, Priority.HIGH),
        (Priority.HIGH, Priority.URGENT),
    ]

    case.respond(ctx(3.5), summary="replacement stock located")
    case.resolve(ctx(12), resolution="replacements delivered")
    assert not case.first_response_breached(at(12))
    assert case.resolution_breached(at(12))  # due at 11 since the escalation


def test_an_escalation_never_relaxes_a_deadline() -> None:
    case = open_case(Priority.NORMAL)  # due: first response 8 h, resolution 72 h
    case.respond(ctx(1), summary="looking into it")
    case.escalate(ctx(60), reason="customer impatient")  # high: 60 + 24 = 84 > 72
    assert case.priority is Priority.HIGH
    assert (case.first_response_due, case.resolution_due) == (at(8), at(72))


def test_the_first_response_clock_moves_only_while_the_case_awaits_its_answer() -> None:
    case = open_case(Priority.LOW)  # due: first response 24 h, resolution 168 h
    case.respond(ctx(1), summary="noted")
    case.escalate(ctx(2), reason="x", to_priority=Priority.URGENT)
    assert (case.first_response_due, case.resolution_due) == (at(24), at(10))


def test_an_urgent_case_is_not_escalated_and_an_escalation_goes_up() -> None:
    urgent = open_case(Priority.URGENT)
    with refused("escalation.already_urgent", unchanged=urgent):
        urgent.escalate(ctx(1), reason="x")
    high = open_case(Priority.HIGH)
    with refused("escalation.not_higher", unchanged=high):
        high.escalate(ctx(1), reason="x", to_priority=Priority.HIGH)
    with refused("escalation.not_higher", unchanged=high):
        high.escalate(ctx(1), reason="x", to_priority=Priority.LOW)
    with refused("reason.required", InvalidValue, unchanged=high):
        high.escalate(ctx(1), reason=" ")


def test_escalation_follows_the_policy_it_is_given() -> None:
    tight = SlaPolicy(
        low=SlaTarget(8, 48),
        normal=SlaTarget(4, 24),
        high=SlaTarget(2, 8),
        urgent=SlaTarget(1, 4),
    )
    case = open_case(Priority.NORMAL, policy=tight)
    assert (case.first_response_due, case.resolution_due) == (at(4), at(24))
    case.escalate(ctx(1), reason="x", policy=tight)
    assert (case.first_response_due, case.resolution_due) == (at(3), at(9))


# --- reopening ------------------------------------------------------------------------------


def test_a_reopened_case_restarts_its_resolution_clock_and_may_be_rated_again() -> None:
    case = resolved(at_hour=20)  # in time
    case.rate_satisfaction(ctx(21), rating=5)
    case.reopen(ctx(30), reason="three more cartons found crushed")
    assert case.status is CaseStatus.OPEN
    assert case.resolution is None
    assert case.satisfaction is None
    assert case.resolution_due == at(102)  # 30 + 72 at normal priority
    assert not case.resolution_breached(at(101))
    assert case.resolution_breached(at(103))
    case.resolve(ctx(50), resolution="three more replaced")
    assert not case.resolution_breached(at(1000))
    assert [r.resolved_at for r in case.resolutions] == [at(20), at(50)]
    case.rate_satisfaction(ctx(51), rating=4)
    assert case.satisfaction is not None
    assert case.satisfaction.rating == 4


def test_a_late_resolution_stays_a_breach_after_a_reopening() -> None:
    case = resolved(at_hour=80)  # due at 72: late
    case.reopen(ctx(90), reason="not fixed")
    case.resolve(ctx(100), resolution="fixed now")  # due at 162: in time
    assert [r.breached for r in case.resolutions] == [True, False]
    assert case.resolution_breached(at(100))


def test_a_reopened_case_follows_its_escalated_priority() -> None:
    case = open_case(Priority.NORMAL)
    case.escalate(ctx(1), reason="x", to_priority=Priority.HIGH)
    case.resolve(ctx(5), resolution="done")
    case.reopen(ctx(10), reason="not done")
    assert case.resolution_due == at(34)  # 10 + 24 at high


def test_a_resolution_without_a_response_is_the_first_response() -> None:
    quick = open_case(Priority.NORMAL, kind=CaseKind.INQUIRY, shipment_id=None, incident_id=None)
    quick.resolve(ctx(5), resolution="transit time to Chicago is 5 days door to door")
    assert quick.first_responded_at == at(5)
    assert not quick.first_response_breached(at(100))
    quick.reopen(ctx(6), reason="asked about sea too")
    with refused("response.already_given", unchanged=quick):
        quick.respond(ctx(7), summary="x")

    slow = open_case(Priority.NORMAL, kind=CaseKind.REQUEST)
    slow.resolve(ctx(10), resolution="copy of the airway bill sent")
    assert slow.first_response_breached(at(10))  # due at 8


# --- refusals -------------------------------------------------------------------------------


def commands(case: ServiceCase) -> dict[str, Callable[[], None]]:
    return {
        "assign": lambda: case.assign(ctx(200), owner="css.zhao"),
        "respond": lambda: case.respond(ctx(200), summary="x"),
        "escalate": lambda: case.escalate(ctx(200), reason="x"),
        "resolve": lambda: case.resolve(ctx(200), resolution="x"),
    }


@pytest.mark.parametrize("command", list(commands(open_case())))
def test_only_an_open_case_is_assigned_answered_escalated_or_resolved(command: str) -> None:
    case = open_case()
    case.resolve(ctx(20), resolution="done")
    with refused("case.not_open", unchanged=case):
        commands(case)[command]()
    case.close(ctx(21))
    with refused("case.not_open", unchanged=case):
        commands(case)[command]()


def test_a_case_is_closed_and_reopened_only_once_resolved_and_a_closed_case_stays_closed() -> None:
    case = open_case()
    with refused("case.close_before_resolution", unchanged=case):
        case.close(ctx(1))
    with refused("case.reopen_unresolved", unchanged=case):
        case.reopen(ctx(1), reason="x")
    case.resolve(ctx(2), resolution="done")
    case.close(ctx(3))
    with refused("case.closed", unchanged=case):
        case.close(ctx(4))
    with refused("case.closed", unchanged=case):
        case.reopen(ctx(4), reason="the customer is unhappy after all")


def test_the_customer_rates_a_resolved_case_once_from_one_to_five() -> None:
    case = open_case()
    with refused("rating.before_resolution", unchanged=case):
        case.rate_satisfaction(ctx(1), rating=3)
    case.resolve(ctx(2), resolution="done")
    case.close(ctx(3))
    for rating in (0, 6):
        with refused("rating.range", InvalidValue, unchanged=case):
            case.rate_satisfaction(ctx(4), rating=rating)
    case.rate_satisfaction(ctx(4), rating=3)  # a closed case is rated too
    with refused("rating.already_recorded", unchanged=case):
        case.rate_satisfaction(ctx(5), rating=4)


def test_a_case_is_answered_once_and_reassigned_only_to_someone_else() -> None:
    case = open_case()
    case.assign(ctx(1), owner="css.wu")
    with refused("case.owner_unchanged", unchanged=case):
        case.assign(ctx(1), owner=" css.wu ")
    case.assign(ctx(2), owner="css.zhao")
    assert case.owner == "css.zhao"
    case.respond(ctx(3), summary="x")
    with refused("response.already_given", unchanged=case):
        case.respond(ctx(4), summary="again")


def test_times_never_go_backwards() -> None:
    case = open_case()
    before_opening: list[Callable[[], None]] = [
        lambda: case.assign(ctx(-1), owner="css.wu"),
        lambda: case.respond(ctx(-1), summary="x"),
        lambda: case.escalate(ctx(-1), reason="x"),
        lambda: case.resolve(ctx(-1), resolution="x"),
    ]
    for command in before_opening:
        with refused("case.time_backwards", unchanged=case):
            command()
    case.respond(ctx(5), summary="x")
    with refused("case.time_backwards", unchanged=case):
        case.resolve(ctx(4), resolution="before the response")
    case.resolve(ctx(10), resolution="done")
    before_resolution: list[Callable[[], None]] = [
        lambda: case.reopen(ctx(9), reason="x"),
        lambda: case.close(ctx(9)),
        lambda: case.rate_satisfaction(ctx(9), rating=3),
    ]
    for command in before_resolution:
        with refused("case.time_backwards", unchanged=case):
            command()
    case.reopen(ctx(20), reason="x")
    with refused("case.time_backwards", unchanged=case):
        case.resolve(ctx(19), resolution="before the reopening")


@pytest.mark.parametrize(
    "kind", [RelationshipKind.PARTNER.value, RelationshipKind.COMPETITOR.value, None]
)
def test_cases_are_for_customers_prospects_and_targets(kind: str | None) -> None:
    with refused("case.relationship_kind"):
        open_case(relationship_kind=kind)
    for served in (RelationshipKind.PROSPECT, RelationshipKind.TARGET):
        assert open_case(relationship_kind=served.value).status is CaseStatus.OPEN


def test_an_incident_is_named_with_its_shipment() -> None:
    with refused("case.incident_without_shipment", InvalidValue):
        open_case(shipment_id=None, incident_id=INCIDENT)
    with refused("subject.required", InvalidValue):
        ServiceCase.open(
            ctx(),
            relationship_id=HUAXIN,
            relationship_kind=RelationshipKind.CUSTOMER.value,
            kind=CaseKind.INQUIRY,
            priority=Priority.LOW,
            subject=" ",
            description="x",
        )


# --- the SLA policy -------------------------------------------------------------------------


def test_the_default_policy_gives_more_urgent_cases_less_time() -> None:
    hours = [
        (
            DEFAULT_SLA_POLICY.target(p).first_response_hours,
            DEFAULT_SLA_POLICY.target(p).resolution_hours,
        )
        for p in Priority
    ]
    assert hours == [(24, 168), (8, 72), (4, 24), (1, 8)]
    assert [p.next_higher for p in Priority] == [
        Priority.NORMAL,
        Priority.HIGH,
        Priority.URGENT,
        None,
    ]


@pytest.mark.parametrize(
    ("urgent", "rule"),
    [
        (SlaTarget(0, 8), "sla_policy.hours"),
        (SlaTarget(1, -8), "sla_policy.hours"),
        (SlaTarget(9, 8), "sla_policy.response_after_resolution"),
        (SlaTarget(1, 48), "sla_policy.priority_order"),
        (SlaTarget(6, 8), "sla_policy.priority_order"),
    ],
)
def test_a_policy_that_cannot_be_right_is_refused(urgent: SlaTarget, rule: str) -> None:
    with refused(rule, InvalidValue):
        SlaPolicy(
            low=SlaTarget(24, 168),
            normal=SlaTarget(8, 72),
            high=SlaTarget(4, 24),
            urgent=urgent,
        )


# --- the stored history ---------------------------------------------------------------------


def test_every_event_has_a_stable_stored_name() -> None:
    for cls in event_classes(ServiceCase):
        assert cls.TOPIC.split(".") == ["ServiceCase", cls.__name__]
    assert ServiceCase.Created is ServiceCase.Opened


def test_events_round_trip_through_the_store_and_rebuild_the_same_case() -> None:
    case = open_case()
    case.assign(ctx(1), owner="css.wu")
    case.escalate(ctx(2), reason="line stop")
    case.respond(ctx(3), summary="on it")
    case.resolve(ctx(80), resolution="replaced")
    case.reopen(ctx(81), reason="more damage")
    case.resolve(ctx(90), resolution="replaced again")
    case.rate_satisfaction(ctx(91), rating=3, comment="fine in the end")
    case.close(ctx(92), note=None)
    events = case.collect_events()
    assert {type(e).__name__ for e in events} == {
        cls.__name__ for cls in event_classes(ServiceCase)
    }
    m = mapper()
    stored = [m.to_stored_event(event) for event in events]
    for record in stored:
        assert record.topic.startswith("ServiceCase.")
        json.loads(record.state)
    restored_events = [m.to_domain_event(record) for record in stored]
    assert restored_events == events
    restored = rebuild(restored_events)
    assert restored == case
    assert restored.resolution_breached(at(100)) == case.resolution_breached(at(100)) is True
