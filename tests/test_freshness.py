"""Read-your-writes: a read waits for its position without holding a connection or a
thread, wakes when the read model gets there, and is bounded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import httpx
import pytest

from domain.relationship import RelationshipKind
from interface.http.app import create_app
from interface.runtime import Services
from projections.freshness import PositionWatch
from tests.faults import LiveServer
from tests.staffing import enroll
from tests.waiting import wait_until

REGISTER = {
    "name": "深圳速达电子",
    "kind": "prospect",
    "industry": "electronics",
    "region": "South China",
    "branch": "Shenzhen",
}


@pytest.fixture
def server(services: Services) -> Iterator[LiveServer]:
    with LiveServer(create_app(services)) as live:
        yield live


def client_for(services: Services, server: LiveServer, staff_id: str) -> httpx.Client:
    token = enroll(services, staff_id, staff_id.title())
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def register(services: Services) -> tuple[UUID, int]:
    result = services.app.relationships.register_relationship(
        services.app.context("li.wei"),
        name=REGISTER["name"],
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="South China",
        branch="Shenzhen",
    )
    return result.aggregate_id, result.position


def test_a_read_waits_for_its_position_and_wakes_when_the_read_model_gets_there(
    services: Services, server: LiveServer
) -> None:
    rid, position = register(services)
    with client_for(services, server, "li.wei") as client:
        # No worker runs: the position is in the log but not in the read model.
        early = client.get(
            f"/v1/relationships/{rid}", params={"min_position": position, "wait": 0.2}
        )
        assert early.status_code == 503
        assert early.headers["Retry-After"] == "1"

        answers: list[httpx.Response] = []
        waiting = threading.Thread(
            target=lambda: answers.append(
                client.get(
                    f"/v1/relationships/{rid}", params={"min_position": position, "wait": 10}
                )
            )
        )
        waiting.start()
        wait_until(lambda: services.positions.waiting == 1)
        services.start_workers()
        waiting.join()
        assert answers[0].status_code == 200
        assert answers[0].json()["name"] == REGISTER["name"]


def test_waiting_reads_hold_no_connection_and_others_are_served_meanwhile(
    services: Services, server: LiveServer
) -> None:
    rid, position = register(services)
    waits: list[httpx.Response] = []
    lock = threading.Lock()

    def wait_for_unreached_position() -> None:
        with client_for(services, server, "field.rep") as c:
            answer = c.get("/v1/relationships", params={"min_position": position, "wait": 10})
        with lock:
            waits.append(answer)

    threads = [threading.Thread(target=wait_for_unreached_position) for _ in range(32)]
    for t in threads:
        t.start()
    wait_until(lambda: services.positions.waiting == 32)

    stats = services.reads.get_stats()
    assert stats["pool_size"] - stats.get("pool_available", 0) == 0, stats
    with client_for(services, server, "qian.lin") as hq:
        other, _ = register(services)
        # A read without min_position is served while 32 reads wait.
        assert hq.get("/v1/relationships", params={"limit": 1}).status_code == 200

    services.start_workers()
    for t in threads:
        t.join()
    assert [a.status_code for a in waits] == [200] * 32
    assert other != rid


def test_the_number_of_waiting_reads_is_bounded(services: Services, server: LiveServer) -> None:
    services.positions.max_waiting = 3
    _, position = register(services)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def wait() -> None:
        with client_for(services, server, "field.rep") as c:
            answer = c.get("/v1/relationships", params={"min_position": position, "wait": 10})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=wait) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until(lambda: services.positions.waiting == 3)
    with client_for(services, server, "field.rep") as c:
        refused = c.get("/v1/relationships", params={"min_position": position, "wait": 10})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    services.start_workers()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 3


def test_a_position_beyond_the_end_of_the_log_is_refused_at_once(
    services: Services, server: LiveServer
) -> None:
    _, position = register(services)
    with client_for(services, server, "li.wei") as client:
        answer = client.get(
            "/v1/relationships", params={"min_position": position + 1000, "wait": 10}
        )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "min_position"


def test_closing_the_watch_stops_its_listener_at_once_not_after_a_poll(
    services: Services,
) -> None:
    """A service stops when told, not a poll interval later: the listener wakes on the
    closing announcement and leaves, however long its poll."""
    watch = PositionWatch(services.database, lambda: 0, poll_interval=3600)
    watch.start()
    thread = watch._thread
    assert thread is not None
    assert thread.is_alive()
    watch.close()  # joins for at most 5 s: far less than the poll
    assert not thread.is_alive()


def test_a_listener_that_fails_on_a_message_says_so_reconnects_and_hears_the_next(
    services: Services,
) -> None:
    """Whatever a subscriber raises, the watch stops hearing only for a moment, and says
    so first: a staff access cache told it is not listening keeps nothing (a revocation
    it might miss cannot leave a token working)."""
    heard: list[str] = []
    states: list[bool] = []

    def hear(payload: str) -> None:
        if payload == "unreadable":
            raise ValueError(f"cannot read {payload!r}")
        heard.append(payload)

    watch = PositionWatch(services.database, lambda: 0, poll_interval=0.05)
    watch.subscribe("fullchain_test_channel", hear, states.append)
    watch.start()
    try:
        wait_until(lambda: states == [True], what="listening")
        with services.database.connect(autocommit=True) as conn:
            conn.execute("NOTIFY fullchain_test_channel, 'unreadable'")
        thread = watch._thread
        assert thread is not None
        wait_until(
            lambda: states == [True, False, True] or not thread.is_alive(),
            what="dropped, then listening again",
        )
        assert thread.is_alive(), "the watch ended at the failure"
        assert states == [True, False, True]
        with services.database.connect(autocommit=True) as conn:
            conn.execute("NOTIFY fullchain_test_channel, 'a revocation'")
        wait_until(lambda: heard == ["a revocation"], what="the next message heard")
    finally:
        watch.close()
