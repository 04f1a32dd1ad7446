"""Commands restore an aggregate that is not in memory from its latest snapshot and the
events after it, and fall back to the whole history when a snapshot cannot be restored."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from application.service import Fullchain
from application.store.database import Database
from application.store.snapshots import AggregateShapes
from application.time_travel import state_of
from domain.relationship import Channel, Direction, RelationshipKind
from interface.runtime import Services
from projections.snapshots.writer import SnapshotProjection


def customer_with_history(services: Services, visits: int) -> UUID:
    app = services.app
    rid = app.relationships.register_relationship(
        app.context("li.wei"),
        name="苏州华芯电子有限公司",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    for i in range(visits):
        visit(app, rid, f"visit {i}")
    return rid


def visit(app: Fullchain, rid: UUID, summary: str) -> Any:
    return app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary=summary,
    )


def restorations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The versions of the snapshots commands restore aggregates from."""
    restored: list[int] = []
    original = AggregateShapes.restore

    def counting(self: AggregateShapes, snapshot: Any, creation: Any) -> Any:
        restored.append(snapshot.originator_version)
        return original(self, snapshot, creation)

    monkeypatch.setattr(AggregateShapes, "restore", counting)
    return restored


def test_a_command_on_an_aggregate_not_in_memory_starts_from_its_snapshot(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = customer_with_history(services, visits=24)  # version 25
    services.worker(SnapshotProjection(services.app.mapper, interval=10)).catch_up()
    restored = restorations(monkeypatch)
    cold = Fullchain(services.database)  # another process: nothing in memory
    try:
        result = visit(cold, rid, "after the snapshot")
        assert restored == [20]  # the latest snapshot, then versions 21..25
        assert result.version == 26
        from_snapshot = cold.relationships.get_relationship(rid)
    finally:
        cold.close()
    replayed = services.app.relationships.get_relationship(rid)
    assert state_of(from_snapshot) == state_of(replayed)


def test_a_snapshot_that_cannot_be_restored_is_passed_over(
    services: Services, superuser_database: Database
) -> None:
    rid = customer_with_history(services, visits=12)
    services.worker(SnapshotProjection(services.app.mapper, interval=10)).catch_up()
    with superuser_database.connect() as conn:
        spoilt = conn.execute(
            "UPDATE fullchain_snapshots SET state = convert_to('{\"spoilt\": true}', 'UTF8') "
            "WHERE originator_id = %s",
            (rid,),
        ).rowcount
        conn.commit()
    assert spoilt == 1
    cold = Fullchain(services.database)
    try:
        assert visit(cold, rid, "despite the snapshot").version == 14
        assert cold.relationships.get_relationship(rid).interaction_count == 13
    finally:
        cold.close()
