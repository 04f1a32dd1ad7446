"""``Fullchain.save`` takes what the library's ``save`` takes and records the same."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.application import Application

from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from interface.runtime import Services


def _customer(services: Services, name: str) -> Relationship:
    return Relationship.register(
        services.app.context("li.wei"),
        name=name,
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )


def test_aggregates_events_and_nothing_are_recorded_as_the_library_records_them(
    services: Services,
) -> None:
    app = services.app
    first, second = _customer(services, "Suzhou Precision"), _customer(services, "Kunshan Parts")
    # The second customer's event is passed as an event, not as its aggregate.
    (registered,) = second.collect_events()
    recordings = app.save(first, None, registered)
    assert [
        (r.domain_event.originator_id, r.domain_event.originator_version) for r in recordings
    ] == [
        (first.id, 1),
        (registered.originator_id, 1),
    ]
    positions = [r.notification.id for r in recordings]
    assert positions[0] < positions[1]
    # An aggregate passed is cached, as the library caches it.
    assert app.repository.cache is not None
    assert app.repository.cache.get(first.id) is first
    assert app.repository.get(second.id).version == 1
    # The library's own save, on the same application, records the same way.
    first.log_interaction(
        app.context("li.wei"),
        interaction_id=uuid4(),
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        summary="Confirmed the weekly allocation",
    )
    (library,) = Application.save(app, first)
    assert (library.domain_event.originator_version, library.notification.id) == (
        2,
        positions[-1] + 1,
    )
    assert app.save() == []
