"""The service layer on real PostgreSQL: load, decide, save; concurrency; results."""

from __future__ import annotations

import threading
from uuid import UUID, uuid4

import pytest

from application.commands import (
    MAX_ATTEMPTS,
    AlreadyExists,
    ConcurrencyConflict,
    NotFound,
    VersionMismatch,
)
from application.service import Fullchain
from domain.base import CommandRefused
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from interface.runtime import Services


def register(app: Fullchain, kind: RelationshipKind = RelationshipKind.PROSPECT) -> UUID:
    return app.relationships.register_relationship(
        app.context("li.wei"),
        name="苏州华芯电子",
        kind=kind,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id


def log_count(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM fullchain_events").fetchone()
        assert row is not None
        return int(row[0])


def test_commands_return_id_version_and_log_position(services: Services) -> None:
    app = services.app
    first = app.relationships.register_relationship(
        app.context("li.wei"),
        name="Acme",
        kind=RelationshipKind.PROSPECT,
        industry="apparel",
        region="South China",
        branch="Shenzhen",
    )
    assert first.version == 1
    second = app.relationships.qualify_as_target(
        app.context("li.wei"), first.aggregate_id, reason="volume"
    )
    assert second.aggregate_id == first.aggregate_id
    assert second.version == 2
    assert second.position > first.position
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT originator_version, topic FROM fullchain_events WHERE notification_id = %s",
            (second.position,),
        ).fetchone()
    assert row == (2, "Relationship.QualifiedAsTarget")


def test_a_refused_command_writes_nothing(services: Services) -> None:
    rid = register(services.app, RelationshipKind.PARTNER)
    before = log_count(services)
    with pytest.raises(CommandRefused):
        services.app.relationships.record_first_business(
            services.app.context("li.wei"), rid, reference="x"
        )
    assert log_count(services) == before


def test_unknown_ids_and_duplicates(services: Services) -> None:
    with pytest.raises(NotFound):
        services.app.relationships.rename_relationship(services.app.context("a"), uuid4(), name="x")
    rid = register(services.app)
    with pytest.raises(AlreadyExists):
        services.app.relationships.register_relationship(
            services.app.context("a"),
            name="again",
            kind=RelationshipKind.PROSPECT,
            industry="x",
            region="x",
            branch="Suzhou",
            relationship_id=rid,
        )


def test_an_expected_version_that_is_no_longer_current_fails(services: Services) -> None:
    app = services.app
    rid = register(app)
    app.relationships.rename_relationship(
        app.context("a"), rid, name="Renamed once", expected_version=1
    )
    before = log_count(services)
    with pytest.raises(VersionMismatch):
        app.relationships.rename_relationship(
            app.context("b"), rid, name="Stale rename", expected_version=1
        )
    assert log_count(services) == before


def test_a_stale_expected_version_loses_the_race_even_from_another_process(
    services: Services,
) -> None:
    # Two service instances with their own caches stand for two API processes.
    other = Fullchain(services.database)
    try:
        rid = register(services.app)
        services.app.relationships.get_relationship(rid)  # cached at version 1 here
        other.relationships.rename_relationship(other.context("b"), rid, name="Changed elsewhere")
        with pytest.raises(VersionMismatch):
            services.app.relationships.rename_relationship(
                services.app.context("a"), rid, name="Mine", expected_version=1
            )
        # The version the other process produced is accepted here although the
        # cached copy is behind.
        result = services.app.relationships.rename_relationship(
            services.app.context("a"), rid, name="Mine", expected_version=2
        )
        assert result.version == 3
    finally:
        other.close()


def test_a_command_without_expected_version_is_retried_after_losing_a_race(
    services: Services,
) -> None:
    other = Fullchain(services.database)
    try:
        rid = register(services.app)
        services.app.relationships.get_relationship(rid)
        other.relationships.add_contact(other.context("b"), rid, contact_id="c1", name="王芳")
        # Decided first on the stale cached copy (no contact c1), then again on the log.
        result = services.app.relationships.remove_contact(
            services.app.context("a"), rid, contact_id="c1"
        )
        assert result.version == 3
        assert services.app.relationships.get_relationship(rid).contacts == {}
    finally:
        other.close()


def test_retries_are_bounded(services: Services) -> None:
    other = Fullchain(services.database)
    try:
        rid = register(services.app)
        attempts = 0

        def decide_while_someone_else_writes(r: Relationship) -> None:
            nonlocal attempts
            attempts += 1
            other.relationships.rename_relationship(
                other.context("b"), rid, name=f"competing {attempts}"
            )
            r.rename(services.app.context("a"), name=f"mine {attempts}")

        with pytest.raises(ConcurrencyConflict):
            services.app.commands.execute(
                services.app.context("a"), Relationship, rid, decide_while_someone_else_writes, None
            )
        assert attempts == MAX_ATTEMPTS
    finally:
        other.close()


def test_concurrent_commands_on_one_relationship_all_land_once(services: Services) -> None:
    # Threads in two service instances: in-process turns plus cross-process retries.
    other = Fullchain(services.database)
    apps = [services.app, other]
    rid = register(services.app)
    errors: list[BaseException] = []

    def log_visit(i: int) -> None:
        app = apps[i % 2]
        try:
            app.relationships.log_interaction(
                app.context(f"staff{i}"),
                rid,
                interaction_id=uuid4(),
                channel=Channel.CALL,
                direction=Direction.OUTBOUND,
                summary=f"call {i}",
            )
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=log_visit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    relationship = services.app.relationships.get_relationship(rid)
    assert relationship.interaction_count == 8
    assert relationship.version == 9
