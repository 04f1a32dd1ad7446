"""Connections: every one carries every parameter of the URL, a process holds the
documented number of them (idle and under load), and a caller waits a bounded time for a
free one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from psycopg.conninfo import make_conninfo
from psycopg_pool import PoolTimeout

from application.store.database import (
    DATABASE_URL_VARIABLE,
    OWNER_DATABASE_URL_VARIABLE,
    POOL_SIZE_VARIABLE,
    POOL_TIMEOUT_VARIABLE,
    READ_POOL_SIZE_VARIABLE,
    Database,
    configured_database,
)
from application.store.integrity import verify
from application.store.schema import configured_owner_database
from domain.relationship import RelationshipKind
from interface.runtime import (
    ConfigurationError,
    Services,
    check_configuration,
    connection_budget,
)
from projections.account_status.queries import get_account
from projections.freshness import wait_for_position
from tests.branches import register_test_branches
from tests.conftest import truncate_all

#: Libpq parameters beyond where and who, as an operator's URL might carry them.
EXTRA = {
    "options": "-c statement_timeout=54321",
    "connect_timeout": "7",
    "sslmode": "disable",
}


def named(database: Database, **extra: str) -> tuple[Database, str]:
    """The database under a name of its own (and ``extra`` parameters): its connections
    are told apart from every other test's in ``pg_stat_activity``."""
    name = f"fc-test-{uuid.uuid4().hex[:8]}"
    return Database(make_conninfo(database.conninfo, application_name=name, **extra), False), name


def connections(superuser: Database, name: str) -> list[str]:
    """The application names of the open connections whose name starts with ``name``."""
    with superuser.connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE starts_with(application_name, %s) ORDER BY 1",
            (name,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@contextmanager
def opened(database: Database, *, workers: bool) -> Iterator[Services]:
    services = Services.open(database)
    register_test_branches(services)
    try:
        if workers:
            services.start_workers()
        yield services
    finally:
        services.close()


def work(services: Services, rounds: int = 3) -> int:
    """Commands, reads and time travel, as a client would; the last position."""
    app = services.app
    position = 0
    for i in range(rounds):
        rid = app.relationships.register_relationship(
            app.context("li.wei"),
            name=f"Customer {i}",
            kind=RelationshipKind.PROSPECT,
            industry="electronics",
            region="East China",
            branch="Suzhou",
        ).aggregate_id
        position = app.relationships.rename_relationship(
            app.context("li.wei"), rid, name=f"C{i}"
        ).position
        with services.reads.connection() as conn:
            get_account(conn, rid, now=app.clock())
        services.time_travel().state("Relationship", rid, version=1)
    return position


# --- every parameter of the URL ----------------------------------------------------------


def test_every_connection_carries_every_parameter_of_the_url(
    database: Database, superuser_database: Database
) -> None:
    truncate_all(database)
    configured, name = named(database, **EXTRA)
    wanted = {"application_name": name, **EXTRA}

    def parameters(conn: psycopg.Connection[Any]) -> dict[str, str]:
        setting = conn.execute("SHOW statement_timeout").fetchone()
        assert setting is not None
        shown = setting["statement_timeout"] if isinstance(setting, dict) else setting[0]
        assert shown == "54321ms"
        given = conn.info.get_parameters()
        return {k: given[k] for k in wanted if k in given}

    with opened(configured, workers=True) as services:
        last = work(services)
        projections = [p.name for p in services.projections]
        with services.reads.connection() as read:
            assert wait_for_position(read, projections, last, timeout=30)
            assert parameters(read) == wanted  # the read pool
        with services.app.recorder.datastore.get_connection() as write:  # type: ignore[attr-defined]
            assert parameters(write) == wanted  # the event store's pool
        travel = services.time_travel().recorder.datastore  # type: ignore[attr-defined]
        with travel.get_connection() as past:
            assert parameters(past) == wanted  # time travel's pool
        with configured.connect() as own:  # verification, checkpoints, audit packages
            assert parameters(own) == wanted
        with services.worker(services.projections[0]).connect() as worker:
            assert parameters(worker) == {
                **wanted,
                "application_name": f"{name}-projection:{services.projections[0].name}",
            }
        assert verify(configured).intact
        # Every connection the running service holds, workers' and pools', is named so.
        with superuser_database.connect(autocommit=True) as check:
            names = check.execute(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND usename = %s",
                (configured.role,),
            ).fetchall()
        assert names
        assert all(str(n[0]).startswith(name) for n in names), names
        assert sum(1 for n in names if "-projection:" in n[0]) == len(services.workers) == 1


def test_the_command_line_connects_with_every_parameter_of_the_url(
    database: Database,
    owner_database: Database,
    superuser_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured, name = named(database, **EXTRA)
    owner, _ = named(owner_database, **EXTRA)
    monkeypatch.setenv(DATABASE_URL_VARIABLE, configured.conninfo)
    monkeypatch.setenv(OWNER_DATABASE_URL_VARIABLE, owner.conninfo)
    for each in (configured_database(), configured_owner_database()):
        assert {k: each.params.get(k) for k in EXTRA} == EXTRA
    # A running `fullchain project`: its workers and pools carry them all.
    process = subprocess.Popen(
        [sys.executable, "-m", "interface.cli", "project"],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # until the process says its worker runs
            if "projection worker running for:" in line:
                workers = 1  # one worker, one connection, for every read model
                break
        else:
            pytest.fail("`fullchain project` ended before running its workers")
        assert wait_until(
            lambda: (
                sum("-projection:" in n for n in connections(superuser_database, name)) == workers
            )
        )
        with superuser_database.connect(autocommit=True) as conn:
            names = conn.execute(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND usename = %s",
                (configured.role,),
            ).fetchall()
        assert all(str(n[0]).startswith(name) for n in names), names
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


# --- the budget ----------------------------------------------------------------------------


def test_an_idle_process_holds_its_documented_connections(
    database: Database, superuser_database: Database
) -> None:
    truncate_all(database)
    configured, name = named(database)
    without_workers = connection_budget(workers=0)
    with opened(configured, workers=False) as services:
        assert len(connections(superuser_database, name)) == without_workers.idle
        work(services)  # one client after another: no pool grows
        assert len(connections(superuser_database, name)) == without_workers.idle + 1
        # (+1: time travel, opened on first use)
        with_workers = connection_budget(workers=1)
        services.start_workers()
        assert wait_until(
            lambda: len(connections(superuser_database, name)) == with_workers.idle + 1
        ), connections(superuser_database, name)
    assert wait_until(lambda: connections(superuser_database, name) == [])


def test_under_load_a_process_stays_within_its_budget(
    database: Database, superuser_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    truncate_all(database)
    monkeypatch.setenv(POOL_SIZE_VARIABLE, "2")
    monkeypatch.setenv(READ_POOL_SIZE_VARIABLE, "2")
    configured, name = named(database)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, len(connections(superuser_database, name)))

    with opened(configured, workers=True) as services:
        budget = connection_budget(workers=len(services.workers))
        sampler = threading.Thread(target=sample)
        sampler.start()
        errors: list[BaseException] = []

        def client() -> None:
            try:
                work(services, rounds=5)
            except BaseException as error:  # reported below
                errors.append(error)

        clients = [threading.Thread(target=client) for _ in range(12)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        done.set()
        sampler.join()
        assert errors == []
        assert budget.idle <= peak <= budget.most, (peak, budget)
        assert len(connections(superuser_database, name)) <= budget.most


def test_a_caller_waits_a_bounded_time_for_a_free_connection(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POOL_SIZE_VARIABLE, "1")
    monkeypatch.setenv(READ_POOL_SIZE_VARIABLE, "1")
    monkeypatch.setenv(POOL_TIMEOUT_VARIABLE, "0.2")
    with opened(database, workers=False) as services:
        datastore = services.app.recorder.datastore  # type: ignore[attr-defined]
        assert services.reads.timeout == datastore.pool.timeout == 0.2
        assert services.reads.max_size == datastore.pool.max_size == 1
        with services.reads.connection(), pytest.raises(PoolTimeout):  # noqa: SIM117
            with services.reads.connection():
                pass
        # The write side's connection held by another thread (a thread never asks for a
        # second while it holds one: ``WriteSidePool``).
        taken, done = threading.Event(), threading.Event()

        def hold() -> None:
            with datastore.get_connection():
                taken.set()
                done.wait()

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert taken.wait(10)
            with pytest.raises(OperationalError), datastore.get_connection():
                pass
        finally:
            done.set()
            holder.join()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (POOL_SIZE_VARIABLE, "0"),
        (POOL_SIZE_VARIABLE, "many"),
        (READ_POOL_SIZE_VARIABLE, "-1"),
        (POOL_TIMEOUT_VARIABLE, "0"),
        (POOL_TIMEOUT_VARIABLE, "soon"),
        (POOL_TIMEOUT_VARIABLE, "inf"),
    ],
)
def test_pool_settings_that_cannot_work_stop_the_start(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=f"{variable}={value!r}"):
        check_configuration()


def test_an_owner_url_without_a_server_url_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    monkeypatch.setenv(OWNER_DATABASE_URL_VARIABLE, "postgresql://owner@db/fullchain")
    with pytest.raises(ConfigurationError, match=OWNER_DATABASE_URL_VARIABLE):
        check_configuration()


# --- values ----------------------------------------------------------------------------------


def test_json_columns_are_read_as_the_standard_library_reads_them(database: Database) -> None:
    """A jsonb or json value comes back as ``json.loads`` makes it of the server's text,
    integers beyond 64 bits exact, however the process parses JSON."""
    values = [
        '{"CNY": "1250.00", "count": 3, "share": 0.25, "flags": [true, null]}',
        '{"amount": 123456789012345678901234567890}',
        "[-9223372036854775809, 18446744073709551616, 9223372036854775807]",
        '"汉字"',
    ]
    with database.connect(autocommit=True) as conn:
        for value in values:
            for kind in ("jsonb", "json"):
                row = conn.execute(
                    f"SELECT %s::{kind}, %s::{kind}::text", (value, value)
                ).fetchone()
                assert row is not None
                read, text = row
                assert read == json.loads(text), (kind, value)
                assert [type(v) for v in _leaves(read)] == [
                    type(v) for v in _leaves(json.loads(text))
                ]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]
