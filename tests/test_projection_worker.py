"""One worker for every read model: each batch of the log read once, fed to them all, a
failing read model set aside while the others go on."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing import persistence
from psycopg import pq

from interface.runtime import Services
from projections.account_status.writer import AccountStatusProjection
from projections.engine import (
    BatchProjection,
    Connection,
    ProjectedEvent,
    ProjectionWorker,
    TrackingConflictError,
    advance_trackings,
    rebuild,
    tracking_positions,
)
from projections.freshness import log_head
from projections.history.writer import HistoryProjection
from tests.branches import BRANCH_EVENTS as B
from tests.test_projection import bulk_history, register
from tests.waiting import wait_until


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


class FailingInTheDatabase(AccountStatusProjection):
    """The account status, whose statements the database refuses after it has written
    its rows: in a plain statement, or in a pipeline of them."""

    def __init__(self, pipelined: bool) -> None:
        self.pipelined = pipelined

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        super().apply_batch(conn, events)
        if self.pipelined:
            with conn.cursor() as cursor:
                cursor.executemany("SELECT 1 / %s", [(1,), (0,), (1,)])
        else:
            conn.execute("SELECT 1 / 0")


@pytest.mark.parametrize("pipelined", [False, True], ids=["statement", "pipeline"])
def test_a_read_model_the_database_refuses_is_rolled_back_alone(
    services: Services, pipelined: bool
) -> None:
    total = bulk_history(services, relationships=5, interactions_each=2)
    failing, history = FailingInTheDatabase(pipelined), HistoryProjection()
    worker = ProjectionWorker(
        services.database, [failing, history], services.app.mapper, retry_after=3600.0
    )
    assert worker.catch_up() == B + total
    assert positions(services, [failing, history]) == {failing.name: 0, history.name: B + total}
    assert tables(services, [failing])["account_status"] == []
    assert len(tables(services, [history])["history_index"]) > 0


class Outage(AccountStatusProjection):
    """The account status, meeting a database restart ``outages`` times: the error the
    library's datastore raises when a data key is read through its pool meanwhile."""

    outages = 1

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        if self.outages:
            self.outages -= 1
            raise persistence.OperationalError(
                "terminating connection due to administrator command"
            )
        super().apply_batch(conn, events)


def test_an_outage_met_through_the_library_is_no_read_models_failure(services: Services) -> None:
    bulk_history(services, relationships=5, interactions_each=2)
    outage, history = Outage(), HistoryProjection()
    worker = ProjectionWorker(
        services.database, [outage, history], services.app.mapper, retry_after=3600.0
    )
    with pytest.raises(persistence.OperationalError):
        worker.catch_up()
    # Not set aside as a bug of its own, and nothing of the batch committed.
    assert not worker._set_aside
    assert positions(services, [outage, history]) == {outage.name: 0, history.name: 0}


def follows_to_the_end(services: Services, projection: BatchProjection, log_size: int) -> bool:
    """Whether a worker following the log for ``projection`` alone (so that what it raises
    reaches the worker's loop as it was raised) brings it up to the log's ``log_size``
    entries, its thread alive throughout."""
    worker = ProjectionWorker(
        services.database, [projection], services.app.mapper, poll_interval=0.05
    )
    following = threading.Thread(target=worker.run_forever, name="projections")
    following.start()
    try:
        wait_until(
            lambda: (
                not following.is_alive()
                or positions(services, [projection]) == {projection.name: log_size}
            ),
            what="the read model up to the log",
        )
        return following.is_alive()
    finally:
        worker.stop()
        following.join()


def test_a_worker_following_the_log_reconnects_after_an_outage_met_through_the_library(
    services: Services,
) -> None:
    total = bulk_history(services, relationships=5, interactions_each=2)
    outage = Outage()
    outage.outages = 2
    assert follows_to_the_end(services, outage, B + total), "the thread ended at the outage"
    assert outage.outages == 0


class Flaky(AccountStatusProjection):
    """The account status, failing the first ``failures`` batches it is given."""

    failures = 2

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a bug in this read model, since fixed")
        super().apply_batch(conn, events)


def test_a_worker_following_the_log_outlives_a_failure_of_its_only_read_model(
    services: Services,
) -> None:
    total = bulk_history(services, relationships=5, interactions_each=2)
    flaky = Flaky()
    assert follows_to_the_end(services, flaky, B + total), "the thread ended at the failure"
    assert flaky.failures == 0


class Idle(BatchProjection):
    """A read model that takes none of the log's events."""

    reads_personal_data = False

    def __init__(self, name: str) -> None:
        self.name = name

    def handles(self, topic: str) -> bool:
        return False

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        raise AssertionError("handed events it does not take")


def head(services: Services) -> int:
    with services.database.connect() as conn:
        return log_head(conn)


def round_trips(worker: ProjectionWorker, trace: Path) -> int:
    """How many times the worker's next batch waited on the server: the server's
    ReadyForQuery messages, one for each query or pipeline it answered."""
    with worker.connect() as conn, trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        assert worker.process_batch(conn) > 0
        conn.pgconn.untrace()
    received = [line.split("\t") for line in trace.read_text().splitlines()]
    return sum(1 for fields in received if fields[:1] == ["B"] and "ReadyForQuery" in fields)


def test_a_read_model_with_nothing_in_a_batch_costs_the_batch_no_round_trip(
    services: Services, tmp_path: Path
) -> None:
    account, idle = AccountStatusProjection(), [Idle(f"idle_{n}") for n in range(12)]
    few = ProjectionWorker(services.database, [account, idle[0]], services.app.mapper)
    many = ProjectionWorker(services.database, [account, *idle], services.app.mapper)
    register(services, "First")
    many.catch_up()
    register(services, "Second")
    with_one = round_trips(few, tmp_path / "few")
    register(services, "Third")
    with_twelve = round_trips(many, tmp_path / "many")
    assert with_one >= 6  # begin, lock, positions, batch, rows, positions, commit
    assert with_twelve == with_one
    assert set(positions(services, [account, *idle]).values()) == {head(services)}


class Racing(AccountStatusProjection):
    """The account status, while (once ``racing``) another worker, somehow running too,
    commits ``other`` up to the end of the same batch."""

    racing = False

    def __init__(self, services: Services, other: str) -> None:
        self.services, self.other = services, other

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        if self.racing:
            with self.services.database.connect() as elsewhere:
                advance_trackings(elsewhere, [self.other], events[-1].position)
        super().apply_batch(conn, events)


def test_a_batch_that_would_apply_a_position_twice_commits_nothing(services: Services) -> None:
    idle = Idle("idle")
    racing = Racing(services, idle.name)
    worker = ProjectionWorker(services.database, [racing, idle], services.app.mapper)
    worker.catch_up()
    register(services, "First")
    end = head(services)
    racing.racing = True
    with pytest.raises(TrackingConflictError, match="idle: position"):
        worker.catch_up()
    # Neither the account's row nor its position committed; the other worker's did.
    assert positions(services, [racing, idle]) == {racing.name: end - 1, idle.name: end}
    with services.reads.connection() as conn:
        names = {r["name"] for r in conn.execute("SELECT name FROM account_status").fetchall()}
    assert "First" not in names
