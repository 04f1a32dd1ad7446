"""One worker for every read model: each batch of the log read once, fed to them all, a
failing read model set aside while the others go on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from interface.runtime import Services
from projections.account_status.writer import AccountStatusProjection
from projections.engine import (
    BatchProjection,
    Connection,
    ProjectedEvent,
    ProjectionWorker,
    rebuild,
    tracking_positions,
)
from projections.history.writer import HistoryProjection
from tests.branches import BRANCH_EVENTS as B
from tests.test_projection import bulk_history


def tables(services: Services, projections: Sequence[BatchProjection]) -> dict[str, Any]:
    with services.reads.connection() as conn:
        return {
            table: sorted(
                str(r["row"])
                for r in conn.execute(f"SELECT to_jsonb(t) AS row FROM {table} t").fetchall()
            )
            for p in projections
            for table in p.tables
        }


def positions(services: Services, projections: Sequence[BatchProjection]) -> dict[str, int]:
    with services.database.connect() as conn:
        return tracking_positions(conn, [p.name for p in projections])


def test_one_worker_feeds_every_read_model_as_their_own_workers_would(
    services: Services,
) -> None:
    total = bulk_history(services, relationships=60, interactions_each=5)
    together = ProjectionWorker(
        services.database, services.projections, services.app.mapper, batch_size=37
    )
    assert together.catch_up() == B + total
    assert set(positions(services, services.projections).values()) == {B + total}
    combined = tables(services, services.projections)
    for projection in services.projections:
        rebuild(services.worker(projection, batch_size=1000))
    assert tables(services, services.projections) == combined


class Failing(AccountStatusProjection):
    """The account status, failing while ``broken``."""

    broken = True

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        if self.broken:
            raise RuntimeError("a bug in this read model")
        super().apply_batch(conn, events)


def test_a_failing_read_model_is_set_aside_and_the_others_go_on(services: Services) -> None:
    total = bulk_history(services, relationships=20, interactions_each=3)
    failing, history = Failing(), HistoryProjection()
    worker = ProjectionWorker(
        services.database, [failing, history], services.app.mapper, retry_after=3600.0
    )
    assert worker.catch_up() == B + total
    assert positions(services, [failing, history]) == {failing.name: 0, history.name: B + total}

    failing.broken = False  # fixed, and its time set aside is over
    worker._set_aside.clear()
    assert worker.catch_up() == B + total  # it reads from its own position
    assert positions(services, [failing, history]) == {
        failing.name: B + total,
        history.name: B + total,
    }
