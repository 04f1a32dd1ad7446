"""Rebuilding a read model beside the live one while the service runs: reads keep
answering and never go backwards, the swap is atomic, a second rebuild is refused, and a
swap that cannot take its lock gives up naming who holds it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from psycopg import sql

from application.store.database import DATABASE_URL_VARIABLE, OWNER_DATABASE_URL_VARIABLE, Database
from application.store.schema import TRACKING_TABLE
from domain.relationship import RelationshipKind
from interface.http.app import create_app
from interface.progress import ProgressBars
from interface.runtime import Services
from projections.account_status.migration import INTERACTION_DAYS_MIGRATION
from projections.engine import BatchProjection, ProjectionWorker, swap_key
from projections.rebuild import (
    LockTimeoutError,
    RebuildRefusedError,
    RebuildResult,
    rebuild_key,
    rebuild_online,
)
from tests.conftest import SessionDatabase
from tests.faults import LiveServer
from tests.staffing import enroll
from tests.waiting import wait_until

NAME = "account_status"


@pytest.fixture
def server(services: Services) -> Iterator[LiveServer]:
    with LiveServer(create_app(services)) as live:
        yield live


def projection_of(services: Services) -> BatchProjection:
    (found,) = [p for p in services.projections if p.name == NAME]
    return found


def register(services: Services, n: int) -> tuple[UUID, int]:
    result = services.app.relationships.register_relationship(
        services.app.context("li.wei"),
        name=f"客户 {n}",
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="South China",
        branch="Shenzhen",
    )
    return result.aggregate_id, result.position


def position_of(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(
            f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = %s", (NAME,)
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def rows(database: Database, schema: str = "public") -> list[tuple[Any, ...]]:
    with database.connect() as conn:
        return (
            [
                tuple(r)
                for r in conn.execute(
                    sql.SQL("SELECT * FROM {} ORDER BY relationship_id").format(
                        sql.Identifier(schema, "account_status")
                    )
                )
            ]
            + [
                tuple(r)
                for r in conn.execute(
                    sql.SQL("SELECT * FROM {} ORDER BY relationship_id, interaction_id").format(
                        sql.Identifier(schema, "account_interaction")
                    )
                )
            ]
            + [
                tuple(r)
                for r in conn.execute(
                    sql.SQL("SELECT * FROM {} ORDER BY relationship_id, day").format(
                        sql.Identifier(schema, "account_interaction_day")
                    )
                )
            ]
        )


def from_scratch(owner: Database, services: Services) -> list[tuple[Any, ...]]:
    """The read model built from nothing, by its own migration, in a schema of its own."""
    projection = projection_of(services)
    with owner.connect(autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS scratch CASCADE")
        conn.execute("CREATE SCHEMA scratch")
        conn.execute("SET search_path = scratch, public")
        for migration in (projection.migration, INTERACTION_DAYS_MIGRATION):
            with conn.transaction():  # as each migration is applied
                for statement in migration.statements:
                    conn.execute(statement)  # type: ignore[call-overload]
        conn.execute(
            f"CREATE TABLE scratch.{TRACKING_TABLE} (LIKE public.{TRACKING_TABLE} INCLUDING ALL)"
        )
        ProjectionWorker(owner, projection, services.app.mapper, announcing=False).catch_up(conn)
    try:
        return rows(owner, "scratch")
    finally:
        with owner.connect(autocommit=True) as conn:
            conn.execute("DROP SCHEMA scratch CASCADE")


def test_a_rebuild_beside_the_live_service_swaps_in_without_reads_failing_or_going_back(
    services: Services, server: LiveServer, session_database: SessionDatabase
) -> None:
    owner = session_database.owner
    for n in range(40):
        register(services, n)
    services.start_workers()
    first, position = register(services, 40)
    wait_until(lambda: position_of(services.database) >= position, what="the worker caught up")

    stop = threading.Event()
    seen: list[tuple[int, int, int, int]] = []  # status of the list, rows, position, status
    commands: list[int] = []
    failures: list[str] = []
    token = enroll(services, "qian.lin", "Qian Lin")

    def read_continuously() -> None:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            while not stop.is_set():
                at = position_of(services.database)
                listed = client.get("/v1/relationships", params={"limit": 5})
                one = client.get(f"/v1/relationships/{first}")
                seen.append((listed.status_code, len(listed.json()["items"]), at, one.status_code))

    def command_continuously() -> None:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            n = 100
            while not stop.is_set():
                rid, at = register(services, n)
                n += 1
                # Read your own write, through the read model being rebuilt.
                answer = client.get(
                    f"/v1/relationships/{rid}", params={"min_position": at, "wait": 10}
                )
                if answer.status_code != 200:
                    failures.append(f"{rid}: {answer.status_code} {answer.text}")
                commands.append(at)

    readers = [
        threading.Thread(target=read_continuously),
        threading.Thread(target=command_continuously),
    ]
    for t in readers:
        t.start()
    try:
        wait_until(lambda: len(seen) >= 3 and len(commands) >= 2, what="reads and commands")
        before, reads_before = len(commands), len(seen)
        drawn = io.StringIO()

        def service_goes_on() -> None:
            # The shadow is built, the live read model still answers: reads and commands
            # (read back at their positions) go on before the swap.
            wait_until(
                lambda: len(seen) >= reads_before + 3 and len(commands) >= before + 2,
                what="reads and commands while the rebuild runs",
            )

        with ProgressBars(drawn) as bars:
            result = rebuild_online(
                owner,
                projection_of(services),
                services.app.mapper,
                runtime_role=services.database.role,
                batch_size=7,
                progress=bars,
                before_swap=service_goes_on,
            )
        during, reads_during = len(commands) - before, len(seen) - reads_before
        wait_until(lambda: len(commands) >= before + during + 3, what="commands after the swap")
        after_swap = len(seen)
        wait_until(lambda: len(seen) >= after_swap + 3, what="reads after the swap")
    finally:
        stop.set()
        for t in readers:
            t.join()

    assert failures == []
    assert reads_during > 0, "no read was answered while the rebuild ran"
    assert result.position >= result.previous_position > 0
    assert result.entries > 40
    assert "entries" in drawn.getvalue()
    assert NAME in drawn.getvalue()
    assert all(listed == 200 and n == 5 and one == 200 for listed, n, _, one in seen), seen
    positions = [at for _, _, at, _ in seen]
    assert positions == sorted(positions), "a read model's position went back"
    # The live worker continues from the swapped-in position, in the new tables.
    final = commands[-1]
    wait_until(lambda: position_of(services.database) >= final, what="caught up after")
    assert rows(services.database) == from_scratch(owner, services)
    with owner.connect() as conn:  # nothing left beside the live schema
        left = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%%'"
        ).fetchall()
        assert left == []
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'account_status'"
            )
        }
    assert "account_status_kind_idx" in indexes  # the migration's names, kept


def test_a_second_rebuild_of_the_same_read_model_is_refused(
    services: Services, session_database: SessionDatabase
) -> None:
    owner = session_database.owner
    for n in range(5):
        register(services, n)
    services.start_workers()
    # A worker's batch in flight holds the swap lock (shared): the first rebuild waits there.
    with services.database.connect(purpose="projection:all") as batch:
        batch.execute("SELECT pg_advisory_xact_lock_shared(%s)", (swap_key(NAME),))
        outcome: list[RebuildResult] = []

        def first() -> None:
            outcome.append(
                rebuild_online(
                    owner,
                    projection_of(services),
                    services.app.mapper,
                    runtime_role=services.database.role,
                    lock_timeout=60,
                )
            )

        running = threading.Thread(target=first)
        running.start()

        def first_waits_for_the_swap() -> bool:
            with owner.connect() as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND classid::bigint = %s AND objid::bigint = %s",
                    (swap_key(NAME) >> 32, swap_key(NAME) & 0xFFFFFFFF),
                ).fetchone()
            return bool(row and row[0])

        wait_until(first_waits_for_the_swap, what="the first rebuild waiting for its swap")
        with pytest.raises(RebuildRefusedError) as refused:
            rebuild_online(owner, projection_of(services), services.app.mapper)
        assert f"a rebuild of {NAME} is already running" in str(refused.value)
        assert f"rebuild:{NAME}" in str(refused.value)  # who runs it
        batch.rollback()  # the batch ends: the first rebuild swaps
    running.join()
    assert len(outcome) == 1
    assert outcome[0].position > 0
    with owner.connect() as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (rebuild_key(NAME),)).fetchone()
        assert row is not None
        assert row[0]


def test_a_swap_that_cannot_take_the_lock_gives_up_naming_its_holder(
    services: Services, session_database: SessionDatabase
) -> None:
    owner, runtime = session_database.owner, session_database.runtime
    register(services, 1)
    services.start_workers()
    _, position = register(services, 2)
    wait_until(lambda: position_of(services.database) >= position, what="the worker caught up")
    before = rows(services.database)
    with services.database.connect(purpose="projection:stuck") as batch:
        batch.execute("SELECT pg_advisory_xact_lock_shared(%s)", (swap_key(NAME),))
        pid = batch.info.backend_pid
        with pytest.raises(LockTimeoutError) as timed_out:
            rebuild_online(
                owner,
                projection_of(services),
                services.app.mapper,
                lock_timeout=0.2,
            )
        assert f"pid {pid}" in str(timed_out.value)
        assert "projection:stuck" in str(timed_out.value)

        env = {
            **os.environ,
            DATABASE_URL_VARIABLE: runtime.conninfo,
            OWNER_DATABASE_URL_VARIABLE: owner.conninfo,
        }
        ran = subprocess.run(
            [sys.executable, "-m", "interface.cli", "rebuild", NAME, "--lock-timeout", "0.2"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 4, ran.stderr
        assert f"pid {pid}" in ran.stderr
        assert "projection:stuck" in ran.stderr
        assert "unchanged" in ran.stderr
        batch.rollback()
    # The live read model is untouched and no shadow is left behind.
    assert rows(services.database) == before
    with owner.connect() as conn:
        assert conn.execute("SELECT to_regnamespace('rebuild_account_status')").fetchone() == (
            None,
        )
