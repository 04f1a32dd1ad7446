"""The account-status projection and its worker on real PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from application.database import DATABASE_URL_VARIABLE
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from interface.runtime import Services, init_database
from projections.engine import (
    ProjectionWorker,
    TrackingConflictError,
    advance_tracking,
    rebuild,
    tracking_position,
)
from projections.queries import get_account, projection_position, wait_for_position


@pytest.fixture
def worker(services: Services) -> ProjectionWorker:
    return services.worker(services.projections[0], batch_size=100)


def register(services: Services, name: str = "Acme", **kwargs: Any) -> UUID:
    app = services.app
    return app.register_relationship(
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
    return [*accounts, *interactions]


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
            branch=f"Branch {i % 3}",
        )
        r.add_contact(ctx, contact_id="c1", name="王芳")
        for j in range(interactions_each):
            r.log_interaction(
                app.context("bulk.loader", occurred_at=datetime.now(UTC) - timedelta(days=j * 7)),
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
    app.record_first_business(app.context("li.wei"), rid, reference="ORD-1")
    app.designate_key_account(app.context("li.wei"), rid, reason="top exporter")
    app.assign_account_team(
        app.context("li.wei"), rid, field_rep="zhang.min", office_rep="chen.jing"
    )
    app.add_contact(app.context("li.wei"), rid, contact_id="c1", name="王芳")
    app.add_contact(app.context("li.wei"), rid, contact_id="c2", name="Tom Lee")
    app.remove_contact(app.context("li.wei"), rid, contact_id="c2")
    now = datetime.now(UTC)
    for days, channel in ((100, Channel.MEETING), (30, Channel.VISIT), (3, Channel.EMAIL)):
        app.log_interaction(
            app.context("zhang.min", occurred_at=now - timedelta(days=days)),
            rid,
            interaction_id=uuid4(),
            channel=channel,
            direction=Direction.OUTBOUND,
            summary="拜访",
        )
    last = app.mark_dormant(app.context("li.wei"), rid, reason="quiet")
    worker.catch_up()
    with services.reads.connection() as conn:
        row = get_account(conn, rid)
    assert row is not None
    assert row["name"] == "苏州华芯电子有限公司"
    assert (row["kind"], row["lifecycle"], row["key_account"]) == ("customer", "dormant", True)
    assert (row["field_rep"], row["office_rep"]) == ("zhang.min", "chen.jing")
    assert row["contact_count"] == 1
    assert row["last_interaction_channel"] == "email"
    assert row["interactions_last_90_days"] == 2
    assert (row["version"], row["position"]) == (last.version, last.position)


def test_each_event_is_applied_exactly_once(services: Services, worker: ProjectionWorker) -> None:
    register(services)
    register(services, "Second")
    with worker.connect() as conn:
        assert worker.process_batch(conn) == 2
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
        assert tracking_position(conn, "account_status") == 2


def test_rebuild_reproduces_the_incremental_read_model(
    services: Services, worker: ProjectionWorker
) -> None:
    bulk_history(services, relationships=30, interactions_each=5)
    worker.catch_up()
    incremental = read_model(services)
    assert len(incremental) == 30 + 30 * 5
    assert rebuild(worker) == 30 * 7
    assert read_model(services) == incremental


@pytest.fixture
def running_worker(services: Services) -> Iterator[ProjectionWorker]:
    # A long poll interval: only LISTEN/NOTIFY can make it see new events quickly.
    worker = services.worker(services.projections[0], poll_interval=60.0)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    yield worker
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_worker_follows_new_events_live(
    services: Services, running_worker: ProjectionWorker
) -> None:
    time.sleep(0.3)  # let it start listening
    started = time.monotonic()
    result = services.app.register_relationship(
        services.app.context("li.wei"),
        name="Live Ltd",
        kind=RelationshipKind.TARGET,
        industry="automotive",
        region="North China",
        branch="Beijing",
    )
    with services.reads.connection() as conn:
        assert wait_for_position(conn, "account_status", result.position, timeout=10)
    assert time.monotonic() - started < 10  # far below the 60 s poll: notified


def test_the_worker_reconnects_after_a_dropped_connection(
    services: Services, running_worker: ProjectionWorker
) -> None:
    first = register(services, "Before the drop")
    with services.reads.connection() as conn:
        assert wait_for_position(conn, "account_status", 1, timeout=10)
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'fullchain-projection:account_status'"
        )
    time.sleep(0.5)
    app = services.app
    after = app.rename_relationship(app.context("li.wei"), first, name="After the drop")
    with services.reads.connection() as conn:
        assert wait_for_position(conn, "account_status", after.position, timeout=15)
        row = get_account(conn, first)
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
                    "WHERE application_name = 'fullchain-projection:account_status' "
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
    with services.reads.connection() as conn:
        # Wait until the server has noticed the dead client and rolled its batch back.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = conn.execute(
                "SELECT count(*) AS n FROM pg_stat_activity "
                "WHERE application_name = 'fullchain-projection:account_status'"
            ).fetchone()
            if alive is not None and alive["n"] == 0:
                break
            time.sleep(0.05)
        after_kill = projection_position(conn, "account_status")
    assert 0 < after_kill < total
    assert after_kill % batch_size == 0  # only whole batches were committed

    assert worker.catch_up() == total - after_kill
    resumed = read_model(services)
    rebuild(worker)
    assert read_model(services) == resumed
    assert len([r for r in resumed if "kind" in r]) == 800


def test_start_up_does_not_wait_behind_an_open_writer_transaction(services: Services) -> None:
    register(services)
    locked = threading.Event()
    release = threading.Event()

    def writer_holding_the_append_lock() -> None:
        with services.database.connect() as conn:
            conn.execute("LOCK TABLE fullchain_events IN EXCLUSIVE MODE")
            conn.execute("LOCK TABLE account_status IN EXCLUSIVE MODE")
            locked.set()
            release.wait(30)
            conn.rollback()

    holder = threading.Thread(target=writer_holding_the_append_lock)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        done = threading.Event()

        def start_up() -> None:
            assert init_database(services.database) == []
            worker = services.worker(services.projections[0])
            with worker.connect() as conn:
                assert worker._become_active(conn)
            done.set()

        threading.Thread(target=start_up, daemon=True).start()
        assert done.wait(10), "start-up blocked behind the writer"
        assert time.monotonic() - started < 10
    finally:
        release.set()
        holder.join()
