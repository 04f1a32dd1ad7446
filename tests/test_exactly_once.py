"""Exactly once under faults: every command is recorded once, whatever is lost or raced.

Each test injects the fault that would break the promise — an answer lost right after
the database committed, a request lost on its way, twenty requests racing under one key
— and counts what the log holds and what the clients were told.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from application.store.database import Database, WriteSidePool
from domain.relationship import Channel, Direction, RelationshipKind
from domain.shipment import IncidentKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.branches import register_test_branches
from tests.conftest import truncate_all
from tests.faults import FaultyProxy, LiveServer
from tests.staffing import enroll
from tests.test_shipment_commands import PICKUP, at, book, parties

REGISTER = {
    "name": "苏州华芯电子有限公司",
    "kind": "customer",
    "industry": "electronics",
    "region": "East China",
    "branch": "Suzhou",
}


@pytest.fixture
def proxy(database: Database) -> Iterator[FaultyProxy]:
    truncate_all(database)
    p = FaultyProxy(database)
    yield p
    p.close()


@pytest.fixture
def proxied(proxy: FaultyProxy) -> Iterator[Services]:
    """The service with every connection to its database through the proxy."""
    s = Services.open(proxy.database)
    register_test_branches(s)
    yield s
    s.close()


@pytest.fixture
def client(proxied: Services) -> Iterator[httpx.Client]:
    token = enroll(proxied, "qian.lin", "Qian Lin", roles=(Role.HQ, Role.ADMIN))
    with (
        LiveServer(create_app(proxied)) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as c,
    ):
        yield c


def count(database: Database, sql: str, *params: Any) -> int:
    """Counted on a connection of its own to the database, not through the proxy."""
    with database.connect() as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def events_with(database: Database, marker: str) -> int:
    """How many events of the log carry ``marker`` in their payload."""
    return count(
        database,
        "SELECT count(*) FROM fullchain_events WHERE position(convert_to(%s, 'UTF8') in state) > 0",
        marker,
    )


def position_of(database: Database, marker: str) -> int:
    return count(
        database,
        "SELECT notification_id FROM fullchain_events "
        "WHERE position(convert_to(%s, 'UTF8') in state) > 0",
        marker,
    )


def register(client: httpx.Client, **overrides: Any) -> str:
    answer = client.post("/v1/relationships", json={**REGISTER, **overrides})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["aggregate_id"])


def visit(marker: str) -> dict[str, Any]:
    """A visit whose interaction id is ``marker`` (32 hex digits): the summary is personal
    data, sealed in the log, so the id is what the log and the wire show in clear."""
    return {
        "interaction_id": str(UUID(hex=marker)),
        "channel": "visit",
        "direction": "outbound",
        "summary": f"拜访 {marker}",
    }


def marker_of(body: dict[str, Any]) -> str:
    return UUID(body["interaction_id"]).hex


# --- an answer lost after the commit -------------------------------------------------------


def test_an_interaction_whose_answer_is_lost_after_commit_is_logged_once_and_answered(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    rid = register(client)
    marker = uuid4().hex
    trap = proxy.drop_reply(marker)

    answer = client.post(f"/v1/relationships/{rid}/interactions", json=visit(marker))

    assert trap.sprung.is_set()
    assert answer.status_code == 200, answer.text
    assert events_with(proxy.direct, marker) == 1
    assert answer.json()["position"] == position_of(proxy.direct, marker)
    assert answer.json()["version"] == 2
    assert answer.headers["ETag"] == '"2"'


def test_a_lost_answer_is_settled_on_the_one_connection_of_a_pool_of_one(
    proxy: FaultyProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settling holds one connection of the write side's pool and asks it for nothing
    more: with every connection held by a settling command (here the only one), a second
    checkout would wait out the pool's timeout and answer 503."""
    monkeypatch.setenv("FULLCHAIN_POOL_SIZE", "1")
    monkeypatch.setenv("FULLCHAIN_POOL_TIMEOUT", "1")
    monkeypatch.setattr(WriteSidePool, "strict", False)  # as in service: log and wait
    services = Services.open(proxy.database)
    try:
        register_test_branches(services)
        app = services.app
        registered = app.relationships.register_relationship(
            app.context("qian.lin"),
            name=REGISTER["name"],
            kind=RelationshipKind.CUSTOMER,
            industry=REGISTER["industry"],
            region=REGISTER["region"],
            branch=REGISTER["branch"],
        )
        marker = uuid4().hex
        trap = proxy.drop_reply(marker)

        result = app.relationships.log_interaction(
            app.context("qian.lin"),
            registered.aggregate_id,
            interaction_id=UUID(marker),
            channel=Channel.VISIT,
            direction=Direction.OUTBOUND,
            summary=f"拜访 {marker}",
        )

        assert trap.sprung.is_set()
        assert result.version == 2
        assert events_with(proxy.direct, marker) == 1
        assert result.position == position_of(proxy.direct, marker)
    finally:
        services.close()


def test_a_command_with_if_match_whose_answer_is_lost_answers_its_success_not_412(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    rid = register(client)
    marker = uuid4().hex
    proxy.drop_reply(marker)

    answer = client.post(
        f"/v1/relationships/{rid}/interactions", json=visit(marker), headers={"If-Match": '"1"'}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 2
    assert events_with(proxy.direct, marker) == 1


def test_a_registration_whose_answer_is_lost_answers_201_not_already_exists(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    marker = f"华芯 {uuid4()}"
    trap = proxy.drop_reply(marker)

    answer = client.post("/v1/relationships", json={**REGISTER, "name": marker})

    assert trap.sprung.is_set()
    assert answer.status_code == 201, answer.text
    assert events_with(proxy.direct, marker) == 1
    assert answer.headers["Location"].endswith(answer.json()["aggregate_id"])


def test_a_coordination_action_whose_answer_is_lost_is_written_once(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    app = proxied.app
    sid = book(app, parties(app))
    app.shipments.start_link(app.context("zhang.min", occurred_at=at(0)), sid, sequence=PICKUP)
    incident = uuid4()
    app.shipments.report_incident(
        app.context("zhang.min", occurred_at=at(1)),
        sid,
        incident_id=incident,
        link_sequence=PICKUP,
        kind=IncidentKind.DAMAGE,
        description="two cartons crushed at pickup",
        packages_affected=2,
    )
    marker = f"called the trucker {uuid4()}"
    proxy.drop_reply(marker)

    answer = client.post(
        f"/v1/shipments/{sid}/incidents/{incident}/actions",
        json={"action": marker, "taken_by": "zhang.min"},
    )

    assert answer.status_code == 200, answer.text
    assert events_with(proxy.direct, marker) == 1
    shipment = app.shipments.get_shipment(sid)
    assert answer.json()["version"] == shipment.version


def test_a_request_lost_on_its_way_is_sent_again_and_recorded_once(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    rid = register(client)
    marker = uuid4().hex
    trap = proxy.drop_request(marker)

    answer = client.post(f"/v1/relationships/{rid}/interactions", json=visit(marker))

    assert trap.sprung.is_set()
    assert answer.status_code == 200, answer.text
    assert events_with(proxy.direct, marker) == 1


def test_a_keyed_command_whose_answer_is_lost_answers_once_and_its_retry_replays(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    rid = register(client)
    marker = uuid4().hex
    proxy.drop_reply(marker)
    key = {"Idempotency-Key": f"visit-{marker}"}

    first = client.post(f"/v1/relationships/{rid}/interactions", json=visit(marker), headers=key)
    again = client.post(f"/v1/relationships/{rid}/interactions", json=visit(marker), headers=key)

    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert events_with(proxy.direct, marker) == 1


def test_every_lost_answer_of_a_burst_is_settled_exactly_once(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    """Many commands at once, every third one losing its answer, on several customers."""
    customers = [register(client) for _ in range(4)]
    markers = [uuid4().hex for _ in range(24)]
    for marker in markers[::3]:
        proxy.drop_reply(marker)
    for marker in markers[1::6]:
        proxy.drop_request(marker)
    answers: dict[str, httpx.Response] = {}

    def send(i: int, marker: str) -> None:
        rid = customers[i % len(customers)]
        answers[marker] = client.post(f"/v1/relationships/{rid}/interactions", json=visit(marker))

    threads = [threading.Thread(target=send, args=(i, m)) for i, m in enumerate(markers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = Counter(a.status_code for a in answers.values())
    assert statuses == {200: len(markers)}, statuses
    for marker, answer in answers.items():
        assert events_with(proxy.direct, marker) == 1, marker
        assert answer.json()["position"] == position_of(proxy.direct, marker)


# --- one key, racing requests ----------------------------------------------------------


def test_racing_requests_under_one_key_with_different_bodies_write_once(
    client: httpx.Client, proxy: FaultyProxy
) -> None:
    rid = register(client)
    key = {"Idempotency-Key": f"visit-{uuid4()}"}
    bodies = {"A": visit(uuid4().hex), "B": visit(uuid4().hex)}
    start = threading.Barrier(20)
    answers: list[tuple[str, httpx.Response]] = []
    lock = threading.Lock()

    def send(which: str) -> None:
        start.wait()
        answer = client.post(
            f"/v1/relationships/{rid}/interactions", json=bodies[which], headers=key
        )
        with lock:
            answers.append((which, answer))

    threads = [threading.Thread(target=send, args=("AB"[i % 2],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    logged = {w for w, body in bodies.items() if events_with(proxy.direct, marker_of(body)) == 1}
    assert len(logged) == 1, "exactly one of the two requests is recorded"
    (winner,) = logged
    assert events_with(proxy.direct, marker_of(bodies["A" if winner == "B" else "B"])) == 0
    won = [a for w, a in answers if w == winner]
    lost = [a for w, a in answers if w != winner]
    assert [a.status_code for a in won] == [200] * 10
    assert len({a.content for a in won}) == 1, "every retry answers the original response"
    assert [a.status_code for a in lost] == [422] * 10
    for a in lost:
        assert a.json()["errors"] == [
            {"field": "Idempotency-Key", "reason": "used for another request"}
        ]
    assert (
        count(
            proxy.direct,
            "SELECT count(*) FROM fullchain_events WHERE originator_id = %s",
            UUID(rid),
        )
        == 2
    )


def test_registering_staff_with_roles_under_a_key_is_one_command(
    client: httpx.Client, proxy: FaultyProxy, proxied: Services
) -> None:
    key = {"Idempotency-Key": f"staff-{uuid4()}"}
    body = {
        "staff_id": "zhou.yan",
        "name": "Zhou Yan 周燕",
        "branch": "Suzhou",
        "roles": ["field_staff", "office_staff"],
    }

    first = client.post("/v1/staff", json=body, headers=key)
    again = client.post("/v1/staff", json=body, headers=key)

    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert {r.value for r in proxied.app.staff.get_staff("zhou.yan").roles} == {
        "field_staff",
        "office_staff",
    }
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    staff_events = count(
        proxy.direct,
        "SELECT count(*) FROM fullchain_events WHERE topic LIKE 'Staff.%%' AND originator_id = "
        "(SELECT originator_id FROM fullchain_events WHERE position(convert_to('zhou.yan', "
        "'UTF8') in state) > 0 LIMIT 1)",
    )
    assert staff_events == 3  # registered, two roles granted: one append
    assert count(proxy.direct, "SELECT count(DISTINCT position) FROM fullchain_command") == count(
        proxy.direct, "SELECT count(*) FROM fullchain_command"
    )
