"""The account-status projection and its worker on real PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from application.store.database import DATABASE_URL_VARIABLE, Database
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from interface.runtime import Services, init_database
from projections.account_status.migration import INTERACTION_DAYS_MIGRATION
from projections.account_status.queries import get_account
from projections.engine import (
    ProjectionWorker,
    TrackingConflictError,
    advance_tracking,
    rebuild,
    tracking_position,
)
from projections.freshness import projection_position, wait_for_position
from tests.branches import BRANCH_EVENTS as B
from tests.waiting import wait_until


@pytest.fixture
def worker(services: Services) -> ProjectionWorker:
    return services.worker(services.projections[0], batch_size=100)


def register(services: Services, name: str = "Acme", **kwargs: Any) -> UUID:
    app = services.app
    return app.relationships.register_relationship(
        app.context("li.wei"),
        name=name,
        kind=kwargs.pop("kind", RelationshipKind.PROSPECT),
        industry=kwargs.pop("industry", "electronics"),
        region="East China",
        branch=kwargs.pop("branch", "Suzhou"),
    ).aggregate_id


def read_model(services: Services) -> list[dict[str, Any]]:
    with services.reads.connection() as conn:
        accounts = conn.execute("SELECT * FROM account_status ORDER BY relationship_id").fetchall()
        interactions = conn.execute(
            "SELECT * FROM account_interaction ORDER BY relationship_id, interaction_id"
        ).fetchall()
        days = conn.execute(
            "SELECT * FROM account_interaction_day ORDER BY relationship_id, day"
        ).fetchall()
    return [*accounts, *interactions, *days]


def bulk_history(services: Services, relationships: int, interactions_each: int) -> int:
    """Write a long history quickly: many aggregates' events in one append."""
    app = services.app
    ctx = app.context("bulk.loader")
    aggregates: list[Aggregate] = []
    for i in range(relationships):
        r = Relationship.register(
            ctx,
            name=f"Customer {i} 客户",
            kind=RelationshipKind.PROSPECT,
            industry="electronics",
            region="East China",
            branch=("Suzhou", "Shanghai", "Beijing")[i % 3],
        )
        r.add_contact(ctx, contact_id="c1", name="王芳")
        for j in range(interactions_each):
            r.log_interaction(
                app.context("bulk.loader", occurred_at=app.clock() - timedelta(days=j * 7)),
                interaction_id=uuid4(),
                channel=list(Channel)[j % len(Channel)],
                direction=Direction.OUTBOUND,
                summary=f"interaction {j}",
            )
        aggregates.append(r)
        if len(aggregates) == 20:
            app.save(*aggregates)
            aggregates.clear()
    app.save(*aggregates)
    return relationships * (2 + interactions_each)


def test_account_status_row_follows_the_relationship(
    services: Services, worker: ProjectionWorker
) -> None:
    app = services.app
    rid = register(services, "苏州华芯电子有限公司")
    app.relationships.record_first_business(app.context("li.wei"), rid, reference="ORD-1")
    app.relationships.designate_key_account(app.context("li.wei"), rid, reason="top exporter")
    app.relationships.assign_account_team(
        app.context("li.wei"), rid, field_rep="zhang.min", office_rep="chen.jing"
    )
    app.relationships.add_contact(app.context("li.wei"), rid, contact_id="c1", name="王芳")
    app.relationships.add_contact(app.context("li.wei"), rid, contact_id="c2", name="Tom Lee")
    app.relationships.remove_contact(app.context("li.wei"), rid, contact_id="c2")
    now = app.clock()
    for days, channel in ((100, Channel.MEETING), (30, Channel.VISIT), (3, Channel.EMAIL)):
        app.relationships.log_interaction(
            app.context("zhang.min", occurred_at=now - timedelta(days=days)),
            rid,
            interaction_id=uuid4(),
            channel=channel,
            direction=Direction.OUTBOUND,
            summary="拜访",
        )
    last = app.relationships.mark_dormant(app.context("li.wei"), rid, reason="quiet")
    worker.catch_up()
    with services.reads.connection() as conn:
        row = get_account(conn, rid, now=app.clock())
    assert row is not None
    assert row["name"] == "苏州华芯电子有限公司"
    assert (row["kind"], row["lifecycle"], row["key_account"]) == ("customer", "dormant", True)
    assert (row["field_rep"], row["office_rep"]) == ("zhang.min", "chen.jing")
    assert row["contact_count"] == 1
    assert row["last_interaction_channel"] == "email"
    assert row["interactions_last_90_days"] == 2
    assert (row["version"], row["position"]) == (last.version, last.position)


def test_recent_interactions_count_every_interaction_after_the_boundary_to_the_second(
    services: Services, worker: ProjectionWorker
) -> None:
    """The count reads whole days from the day counts and the boundary day row by row; it
    must equal counting every interaction, for any moment of asking, whatever the time
    zone the interactions were logged in or the session's, and however the interactions
    fall into batches (a day's count grows across batches)."""
    app = services.app
    rid = register(services)
    start = app.clock() - timedelta(days=120)
    zones = (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)))
    times = [
        (start + timedelta(hours=7 * n, minutes=13 * n)).astimezone(zones[n % 3])
        for n in range(360)
    ]
    relationship: Relationship = app.repository.get(rid)
    for n, at in enumerate(times):
        relationship.log_interaction(
            app.context("zhang.min", occurred_at=at),
            interaction_id=uuid4(),
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            summary=f"call {n}",
        )
        if n % 45 == 44:
            app.save(relationship)
    app.save(relationship)
    small = services.worker(services.projections[0], batch_size=40)
    small.catch_up()
    boundary = times[200] + timedelta(days=90)  # an interaction exactly 90 days before
    asked = [
        boundary,  # the interaction at the boundary itself is not recent
        boundary - timedelta(microseconds=1),  # ... and a microsecond earlier it is
        boundary.replace(hour=0, minute=0, second=0, microsecond=0),  # midnight there
        app.clock(),
        *(start + timedelta(days=90, hours=5 * k, minutes=41 * k) for k in range(0, 600, 37)),
        start + timedelta(days=500),  # nothing recent any more
    ]
    seen: set[int] = set()
    with services.reads.connection() as conn:
        for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
            conn.execute(f"SET TIME ZONE '{zone}'")
            for now in asked:
                row = get_account(conn, rid, now=now)
                assert row is not None
                # The definition, counted row by row in the same session.
                counted = conn.execute(
                    "SELECT count(*) AS n FROM account_interaction WHERE relationship_id = %s "
                    "AND happened_at > %s::timestamptz - interval '90 days'",
                    (rid, now),
                ).fetchone()
                assert counted is not None
                assert row["interactions_last_90_days"] == counted["n"], (zone, now)
                seen.add(row["interactions_last_90_days"])
                if zone == "UTC":
                    expected = sum(1 for at in times if at > now - timedelta(days=90))
                    assert row["interactions_last_90_days"] == expected, now
        conn.execute("SET TIME ZONE 'UTC'")
        assert len(seen) > 10  # the moments asked span the history
        assert 0 in seen
        # The migration's counts, made from the rows, are the writer's, made batch by batch.
        kept = conn.execute("SELECT * FROM account_interaction_day ORDER BY day").fetchall()
        assert sum(r["interactions"] for r in kept) == len(times)
    with services.database.connect() as own, own.transaction():
        own.execute("TRUNCATE account_interaction_day")
        for statement in INTERACTION_DAYS_MIGRATION.statements[1:]:
            own.execute(statement)  # type: ignore[call-overload]
        made = own.execute("SELECT * FROM account_interaction_day ORDER BY day").fetchall()
    assert [tuple(r.values()) for r in kept] == [tuple(r) for r in made]


def test_each_event_is_applied_exactly_once(services: Services, worker: ProjectionWorker) -> None:
    register(services)
    register(services, "Second")
    with worker.connect() as conn:
        assert worker.process_batch(conn) == B + 2
        assert worker.process_batch(conn) == 0  # nothing new: nothing applied again
        before = read_model(services)
        # A batch ending at a position already applied (say, by a second worker that
        # read the same events) cannot commit: its transaction rolls back whole.

        def apply_batch_ending_at(stale: int) -> None:
            with conn.transaction():
                conn.execute("DELETE FROM account_status")
                advance_tracking(conn, "account_status", stale)

        for stale in (2, 1):
            with pytest.raises(TrackingConflictError):
                apply_batch_ending_at(stale)
        assert read_model(services) == before
        assert tracking_position(conn, "account_status") == B + 2


def test_rebuild_reproduces_the_incremental_read_model(
    services: Services, worker: ProjectionWorker
) -> None:
    bulk_history(services, relationships=30, interactions_each=5)
    worker.catch_up()
    incremental = read_model(services)
    assert len(incremental) == 30 + 30 * 5 + 30 * 5  # accounts, interactions, their days
    assert rebuild(worker) == B + 30 * 7
    assert read_model(services) == incremental


@pytest.fixture
def running_worker(services: Services) -> Iterator[ProjectionWorker]:
    # A poll interval longer than any test: only LISTEN/NOTIFY can make it see new events.
    worker = services.worker(services.projections[0], poll_interval=3600.0)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    yield worker
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def worker_sessions(services: Services) -> list[dict[str, Any]]:
    """The projection workers' sessions on this test session's database (another test
    session may run its own workers on the same server): their state and last statement."""
    with services.reads.connection() as conn:
        return conn.execute(
            "SELECT pid, state, query FROM pg_stat_activity "
            "WHERE application_name LIKE 'fullchain-projection:%%' "
            "AND datname = current_database()"
        ).fetchall()


def listening(services: Services) -> bool:
    """Whether the worker has sent LISTEN and is idle after it: its last statement is the
    LISTEN itself or the end of the catching up that follows it."""
    return any(
        s["state"] == "idle" and (s["query"].startswith("LISTEN") or s["query"] == "COMMIT")
        for s in worker_sessions(services)
    )


def test_the_worker_follows_new_events_live(
    services: Services, running_worker: ProjectionWorker
) -> None:
    wait_until(lambda: listening(services), what="the worker listens")
    result = services.app.relationships.register_relationship(
        services.app.context("li.wei"),
        name="Live Ltd",
        kind=RelationshipKind.TARGET,
        industry="automotive",
        region="North China",
        branch="Beijing",
    )
    with services.reads.connection() as conn:
        # Far below the hour-long poll, whatever the machine's load: it was notified.
        assert wait_for_position(conn, "account_status", result.position, timeout=120)


@pytest.mark.skipif(
    "libfaketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under libfaketime 0.9.10 a Python wait with a timeout never runs out (it fakes "
    "the monotonic clock but not sem_clockwait), so the worker's back-off before it "
    "reconnects never ends",
)
def test_the_worker_reconnects_after_a_dropped_connection(
    services: Services, running_worker: ProjectionWorker
) -> None:
    first = register(services, "Before the drop")
    with services.reads.connection() as conn:
        assert wait_for_position(conn, "account_status", 1, timeout=120)
    dropped = {s["pid"] for s in worker_sessions(services)}
    assert dropped
    with services.reads.connection() as conn:
        for pid in dropped:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_until(
        lambda: not dropped & {s["pid"] for s in worker_sessions(services)},
        what="the worker's sessions are gone",
    )
    app = services.app
    after = app.relationships.rename_relationship(
        app.context("li.wei"), first, name="After the drop"
    )
    with services.reads.connection() as conn:
        assert wait_for_position(conn, "account_status", after.position, timeout=120)
        row = get_account(conn, first, now=app.clock())
    assert row is not None
    assert row["name"] == "After the drop"


def test_a_worker_killed_mid_batch_resumes_to_the_same_model_as_a_rebuild(
    services: Services, worker: ProjectionWorker
) -> None:
    total = bulk_history(services, relationships=800, interactions_each=8)
    batch_size = 500
    env = {
        **os.environ,
        DATABASE_URL_VARIABLE: services.database.conninfo,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "interface.cli", "project", "--batch-size", str(batch_size)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed_at = None
    try:
        with services.reads.connection() as conn:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                # Kill it while it has a batch transaction open, after some batches.
                busy = conn.execute(
                    "SELECT count(*) AS n FROM pg_stat_activity "
                    "WHERE application_name = 'fullchain-projection:all' "
                    "AND datname = current_database() "
                    "AND xact_start IS NOT NULL AND query NOT LIKE 'LISTEN%%'"
                ).fetchone()
                position = projection_position(conn, "account_status")
                if busy and busy["n"] and position >= batch_size:
                    process.send_signal(signal.SIGKILL)
                    killed_at = position
                    break
                time.sleep(0.001)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    assert killed_at is not None, "the worker was not caught inside a batch"
    # Wait until the server has noticed the dead client and rolled its batch back.
    wait_until(lambda: not worker_sessions(services), what="the killed worker's session ends")
    with services.reads.connection() as conn:
        after_kill = projection_position(conn, "account_status")
    assert 0 < after_kill < B + total
    assert after_kill % batch_size == 0  # only whole batches were committed

    assert worker.catch_up() == B + total - after_kill
    resumed = read_model(services)
    rebuild(worker)
    assert read_model(services) == resumed
    assert len([r for r in resumed if "kind" in r]) == 800


def test_start_up_does_not_wait_behind_an_open_writer_transaction(
    services: Services, owner_database: Database
) -> None:
    register(services)
    locked = threading.Event()
    release = threading.Event()

    def writer_holding_the_append_lock() -> None:
        with owner_database.connect() as conn:  # as fullchain_append does
            conn.execute("LOCK TABLE fullchain_events IN EXCLUSIVE MODE")
            conn.execute("LOCK TABLE account_status IN EXCLUSIVE MODE")
            locked.set()
            release.wait(600)
            conn.rollback()

    holder = threading.Thread(target=writer_holding_the_append_lock)
    holder.start()
    try:
        assert locked.wait(60)
        done = threading.Event()

        def start_up() -> None:
            assert init_database(owner_database, runtime_role=services.database.role) == []
            worker = services.worker(services.projections[0])
            with worker.connect() as conn:
                assert worker._become_active(conn)
            done.set()

        threading.Thread(target=start_up, daemon=True).start()
        # Start-up completes while the writer still holds its locks (they are released
        # only after): had it queued behind them, it would never get here.
        assert done.wait(120), "start-up blocked behind the writer"
    finally:
        release.set()
        holder.join()
