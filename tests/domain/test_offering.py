"""The ServiceOffering aggregate on its own, no database: what we sell, on which lane, how
fast; revised while active, retired and reinstated."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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
from domain.liability import TransportMode
from domain.offering import (
    MAX_TRANSIT_DAYS,
    Lane,
    OfferingStatus,
    ServiceLevel,
    ServiceOffering,
)

DAY_ONE = datetime(2025, 3, 3, tzinfo=UTC)
SUZHOU_CHICAGO_AIR = Lane("Suzhou", "Chicago", TransportMode.AIR)


def ctx(hours: float = 0, actor: str = "product.liu") -> CommandContext:
    when = DAY_ONE + timedelta(hours=hours)
    return CommandContext.issue(actor=actor, now=when, occurred_at=when)


def launch(
    lane: Lane = SUZHOU_CHICAGO_AIR,
    level: ServiceLevel = ServiceLevel.DOOR_TO_DOOR,
    days: int = 5,
) -> ServiceOffering:
    return ServiceOffering.launch(
        ctx(),
        name="Suzhou–Chicago air express for electronics",
        lane=lane,
        service_level=level,
        transit_days=days,
        description="factory pickup in SIP, PVG–ORD, delivery to the door",
    )


@contextmanager
def refused(
    rule: str, kind: type[DomainError] = CommandRefused, unchanged: ServiceOffering | None = None
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


def rebuild(events: Sequence[object]) -> ServiceOffering:
    offering: ServiceOffering | None = None
    for event in events:
        assert isinstance(event, ServiceOffering.Event)
        offering = event.mutate(offering)
    assert isinstance(offering, ServiceOffering)
    return offering


# --- the product's life ---------------------------------------------------------------------


def test_an_offering_is_launched_on_a_lane_and_reads_as_sales_would_say_it() -> None:
    offering = launch()
    assert offering.lane == SUZHOU_CHICAGO_AIR
    assert (offering.service_level, offering.transit_days) == (ServiceLevel.DOOR_TO_DOOR, 5)
    assert offering.status is OfferingStatus.ACTIVE
    assert offering.is_active
    assert offering.label == "Suzhou → Chicago, air, door to door, 5 days"


def test_its_terms_name_and_description_are_revised_while_it_is_active() -> None:
    offering = launch()
    offering.revise_terms(
        ctx(1), service_level=ServiceLevel.EXPRESS, transit_days=3, reason="daily B777F slot"
    )
    assert (offering.service_level, offering.transit_days) == (ServiceLevel.EXPRESS, 3)
    offering.redescribe(ctx(2), name="SIP–ORD express", description=None)
    assert (offering.name, offering.description) == ("SIP–ORD express", None)
    assert offering.label == "Suzhou → Chicago, air, express, 3 days"


def test_a_retired_offering_is_not_changed_until_it_is_reinstated() -> None:
    offering = launch()
    offering.retire(ctx(1), reason="the airline dropped the ORD freighter")
    assert offering.status is OfferingStatus.RETIRED
    assert not offering.is_active
    with refused("offering.retired", unchanged=offering):
        offering.revise_terms(
            ctx(2), service_level=ServiceLevel.EXPRESS, transit_days=3, reason="x"
        )
    with refused("offering.retired", unchanged=offering):
        offering.redescribe(ctx(2), name="new name", description=None)
    with refused("offering.retired", unchanged=offering):
        offering.retire(ctx(2), reason="again")

    offering.reinstate(ctx(3), reason="freighter back for the peak season")
    assert offering.is_active
    with refused("offering.already_active", unchanged=offering):
        offering.reinstate(ctx(4), reason="again")
    offering.revise_terms(
        ctx(5), service_level=ServiceLevel.DOOR_TO_DOOR, transit_days=6, reason="x"
    )
    assert offering.transit_days == 6


def test_a_revision_must_change_something() -> None:
    offering = launch()
    with refused("offering.terms_unchanged", unchanged=offering):
        offering.revise_terms(
            ctx(1), service_level=ServiceLevel.DOOR_TO_DOOR, transit_days=5, reason="x"
        )
    with refused("offering.description_unchanged", unchanged=offering):
        offering.redescribe(ctx(1), name=f"  {offering.name} ", description=offering.description)


def test_every_service_level_reads_in_words() -> None:
    assert [level.label for level in ServiceLevel] == [
        "door to door",
        "door to port",
        "port to door",
        "port to port",
        "express",
        "consolidated",
    ]
    sea = launch(Lane("Shanghai", "Rotterdam", TransportMode.SEA), ServiceLevel.CONSOLIDATED, 1)
    assert sea.label == "Shanghai → Rotterdam, sea, consolidated, 1 day"


# --- values that can never be right ---------------------------------------------------------


@pytest.mark.parametrize(
    ("lane", "days", "rule"),
    [
        (Lane("Suzhou", "suzhou ", TransportMode.ROAD), 1, "lane.same_ends"),
        (Lane(" ", "Chicago", TransportMode.AIR), 5, "origin.required"),
        (Lane("Suzhou", "", TransportMode.AIR), 5, "destination.required"),
        (SUZHOU_CHICAGO_AIR, 0, "transit_days.range"),
        (SUZHOU_CHICAGO_AIR, MAX_TRANSIT_DAYS + 1, "transit_days.range"),
        (SUZHOU_CHICAGO_AIR, True, "transit_days.range"),
    ],
)
def test_an_offering_that_cannot_be_right_is_not_launched(lane: Lane, days: int, rule: str) -> None:
    with refused(rule, InvalidValue):
        launch(lane, days=days)


def test_a_revision_with_an_impossible_transit_time_is_refused() -> None:
    offering = launch()
    with refused("transit_days.range", InvalidValue, unchanged=offering):
        offering.revise_terms(
            ctx(1), service_level=ServiceLevel.EXPRESS, transit_days=0, reason="x"
        )
    with refused("reason.required", InvalidValue, unchanged=offering):
        offering.revise_terms(
            ctx(1), service_level=ServiceLevel.EXPRESS, transit_days=3, reason=" "
        )


def test_a_lanes_ends_are_trimmed_and_compared_without_regard_to_case() -> None:
    lane = Lane.of(" Suzhou ", "Chicago", TransportMode.AIR)
    assert lane == SUZHOU_CHICAGO_AIR
    assert lane.same_as(Lane("SUZHOU", "chicago", TransportMode.AIR))
    assert not lane.same_as(Lane("Suzhou", "Chicago", TransportMode.SEA))
    assert Lane.from_dict(lane.as_dict()) == lane


# --- the stored history ---------------------------------------------------------------------


def test_every_event_has_a_stable_stored_name() -> None:
    for cls in event_classes(ServiceOffering):
        assert cls.TOPIC.split(".") == ["ServiceOffering", cls.__name__]
    assert ServiceOffering.Created is ServiceOffering.Launched


def test_events_round_trip_through_the_store_and_rebuild_the_same_offering() -> None:
    offering = launch()
    offering.revise_terms(ctx(1), service_level=ServiceLevel.EXPRESS, transit_days=3, reason="x")
    offering.redescribe(ctx(2), name="SIP–ORD express", description="priority boarding")
    offering.retire(ctx(3), reason="seasonal")
    offering.reinstate(ctx(4), reason="season again")
    events = offering.collect_events()
    assert {type(e).__name__ for e in events} == {
        cls.__name__ for cls in event_classes(ServiceOffering)
    }
    m = mapper()
    stored = [m.to_stored_event(event) for event in events]
    for record in stored:
        assert record.topic.startswith("ServiceOffering.")
        json.loads(record.state)
    restored_events = [m.to_domain_event(record) for record in stored]
    assert restored_events == events
    assert rebuild(restored_events) == offering
