"""Webhooks on real PostgreSQL, delivered to a real HTTP receiver in the test: at least
once and in order per aggregate through failures and back-off, signed with the
subscription's secret; dead letters after the last attempt, the next events flowing on,
and their replay; a failing subscription does not hold up another; a deleted one gets
nothing more. The delivery worker is driven a pass at a time on a clock the test moves."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application import webhooks
from application.event_feed import horizon
from application.webhooks import SIGNATURE_HEADER, WebhookDispatcher, verify
from domain.personal import ERASED, contact_subject
from domain.relationship import Relationship, RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.branches.queries import get_branch
from projections.engine import tracking_position
from tests.clock import NOW
from tests.domain.test_shipment import ctx
from tests.staffing import enroll
from tests.waiting import wait_until


class Receiver:
    """An HTTP server that answers 500 to the first ``failures`` requests (and to every
    request while ``down``), 204 after; it keeps what it took (answered 2xx)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.down = False
        self.requests = 0
        self.taken: list[tuple[dict[str, Any], bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if receiver.down or receiver.requests <= receiver.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.taken.append((json.loads(body), body, self.headers[SIGNATURE_HEADER]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def positions(self) -> list[int]:
        return [int(entry["position"]) for entry, _, _ in self.taken]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.close()


@pytest.fixture
def api(services: Services) -> Iterator[TestClient]:
    services.start_workers()

    def branches_projected() -> bool:  # a subscription's branch is checked against them
        with services.primary.connection() as conn:
            return get_branch(conn, "Suzhou") is not None

    wait_until(branches_projected, what="the test branches in the branches read model")
    token = enroll(services, "admin.ma", "Ma Jun 马军", roles=(Role.ADMIN,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def subscribe(api: TestClient, url: str, **fields: Any) -> dict[str, Any]:
    answer = api.post("/v1/webhooks", json={"url": url, **fields})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def customer(name: str, branch: str = "Suzhou") -> Relationship:
    return Relationship.register(
        ctx(-24, actor="sales.zhou"),
        name=name,
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch=branch,
        relationship_id=uuid4(),
    )


def recorded(services: Services, *relationships: Relationship) -> None:
    """Save them, and wait for the feed to reach the log's end."""
    for r in relationships:
        services.app.save(r)
    with services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
    assert row is not None
    last = int(row[0])

    def caught_up() -> bool:
        with services.reads.connection() as conn:
            return horizon(conn) >= last

    wait_until(caught_up, what="the feed reaches the log's end")


def log_of(services: Services, *ids: UUID) -> list[tuple[int, UUID, int]]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version FROM fullchain_events "
            "WHERE originator_id = ANY(%s) ORDER BY notification_id",
            (list(ids),),
        ).fetchall()
    return [(int(p), UUID(str(a)), int(v)) for p, a, v in rows]


def dispatcher(services: Services, clock: Clock, **kwargs: Any) -> WebhookDispatcher:
    def no_sleep(seconds: float) -> None:
        raise AssertionError("the test drives the worker itself")

    return WebhookDispatcher(
        services.database, services.app.mapper, clock=clock, sleep=no_sleep, **kwargs
    )


def test_delivered_at_least_once_in_order_per_aggregate_and_signed(
    services: Services, api: TestClient, receivers: list[Receiver]
) -> None:
    receiver = Receiver(failures=2)
    receivers.append(receiver)
    hook = subscribe(api, receiver.url, event_types=["Relationship"])
    assert hook["secret"].startswith("whsec_")
    customers = [customer(f"客户 {i}") for i in range(3)]
    recorded(services, *customers)
    for r in customers:
        r.add_contact(ctx(1, actor="care.li"), contact_id="c1", name="王芳")
    recorded(services, *customers)
    expected = log_of(services, *(r.id for r in customers))
    assert len(expected) == 6

    clock = Clock()
    worker = dispatcher(services, clock, base_delay=60, max_attempts=5)
    first_of = {a: p for p, a, v in expected if v == 1}
    a, b, c = (r.id for r in customers)
    assert worker.deliver_once() == 1  # A's first fails: the rest of the pass waits
    assert receiver.taken == []
    assert worker.deliver_once() == 1  # A waits its back-off; B's first fails
    assert receiver.taken == []
    assert worker.deliver_once() == 2  # A and B wait; C's events go, in order
    assert [(UUID(e["aggregate_id"]), e["version"]) for e, _, _ in receiver.taken] == [
        (c, 1),
        (c, 2),
    ]
    assert worker.deliver_once() == 0  # nothing is sent before its back-off ends
    clock.advance(59)
    assert worker.deliver_once() == 0
    clock.advance(1)
    assert worker.deliver_once() == 4
    assert worker.deliver_once() == 0

    assert sorted(receiver.positions()) == [p for p, _, _ in expected]
    for r in customers:
        versions = [
            int(e["version"]) for e, _, _ in receiver.taken if e["aggregate_id"] == str(r.id)
        ]
        assert versions == [1, 2]
    for entry, body, signature in receiver.taken:
        assert verify(hook["secret"], body, signature)
        sent_at = int(signature.split(",")[0].removeprefix("t="))
        assert sent_at in {int(NOW.timestamp()), int(clock.now.timestamp())}
        tampered = body.replace(b'"Suzhou"', b'"Shanghai"')
        assert tampered != body
        assert not verify(hook["secret"], tampered, signature)
        assert not verify("whsec_another", body, signature)
        assert entry["event_name"].startswith("Relationship.")
        assert entry["actor"] in {"sales.zhou", "care.li"}

    log = api.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()["items"]
    assert [d["position"] for d in log] == [p for p, _, _ in expected]
    assert all(d["state"] == "delivered" for d in log)
    retried = {d["position"]: d for d in log if d["attempts"] > 1}
    assert set(retried) == {first_of[a], first_of[b]}
    for d in retried.values():
        assert d["attempts"] == 2
        assert [x["status_code"] for x in d["attempt_log"]] == [500, 204]
        assert [x["error"] for x in d["attempt_log"]] == ["HTTP 500", None]
    assert sum(d["attempts"] for d in log) == receiver.requests == 8


def test_dead_letters_let_the_next_events_flow_and_replay_delivers_them(
    services: Services, api: TestClient, receivers: list[Receiver]
) -> None:
    failing, healthy = Receiver(), Receiver()
    receivers += [failing, healthy]
    failing.down = True
    hook = subscribe(api, failing.url)
    subscribe(api, healthy.url, event_types=["Relationship.Registered"])
    first = customer("苏州华芯电子有限公司")
    recorded(services, first)
    (registered,) = log_of(services, first.id)

    clock = Clock()
    worker = dispatcher(services, clock, base_delay=10, max_attempts=2)
    worker.deliver_once()
    # The failing subscription did not hold up the other one.
    assert healthy.positions() == [registered[0]]
    clock.advance(10)
    worker.deliver_once()
    dead = api.get(f"/v1/webhooks/{hook['webhook_id']}/dead-letters").json()["items"]
    assert [(d["position"], d["state"], d["attempts"]) for d in dead] == [
        (registered[0], "dead", 2)
    ]
    assert [a["status_code"] for a in dead[0]["attempt_log"]] == [500, 500]

    failing.down = False
    first.add_contact(ctx(1), contact_id="c1", name="王芳")
    second = customer("昆山精密机械有限公司", branch="Shanghai")
    recorded(services, first, second)
    worker.deliver_once()
    later = [p for p, _, _ in log_of(services, first.id, second.id)][1:]
    assert failing.positions() == later  # the dead letter waits; the rest flows
    assert healthy.positions() == [registered[0], later[-1]]

    replayed = api.post(f"/v1/webhooks/{hook['webhook_id']}/dead-letters/replay")
    assert replayed.status_code == 200
    assert replayed.json() == {"replayed": 1}
    worker.deliver_once()
    assert failing.positions() == [*later, registered[0]]
    assert api.get(f"/v1/webhooks/{hook['webhook_id']}/dead-letters").json()["items"] == []
    again = api.post(f"/v1/webhooks/{hook['webhook_id']}/dead-letters/replay").json()
    assert again == {"replayed": 0}


def test_branch_filter_and_deleting_a_subscription(
    services: Services, api: TestClient, receivers: list[Receiver]
) -> None:
    suzhou, gone = Receiver(), Receiver()
    receivers += [suzhou, gone]
    only_suzhou = subscribe(api, suzhou.url, branch="Suzhou")
    deleted = subscribe(api, gone.url)
    listed = api.get("/v1/webhooks").json()["items"]
    assert {w["webhook_id"] for w in listed} == {only_suzhou["webhook_id"], deleted["webhook_id"]}
    assert all("secret" not in w for w in listed)

    clock = Clock()
    worker = dispatcher(services, clock)
    ours, theirs = customer("苏州客户"), customer("上海客户", branch="Shanghai")
    recorded(services, ours, theirs)
    assert api.delete(f"/v1/webhooks/{deleted['webhook_id']}").status_code == 204
    worker.deliver_once()
    assert suzhou.positions() == [p for p, _, _ in log_of(services, ours.id)]
    assert gone.requests == 0
    assert api.delete(f"/v1/webhooks/{deleted['webhook_id']}").status_code == 404
    assert api.get(f"/v1/webhooks/{deleted['webhook_id']}/deliveries").status_code == 404
    listed = api.get("/v1/webhooks").json()["items"]
    assert [w["webhook_id"] for w in listed] == [only_suzhou["webhook_id"]]


def test_who_may_manage_webhooks_and_what_is_refused(
    services: Services, api: TestClient, receivers: list[Receiver]
) -> None:
    manager = enroll(
        services, "mgr.su", "Su Li 苏丽", roles=(Role.BRANCH_MANAGER,), branch="Suzhou"
    )
    as_manager = {"Authorization": f"Bearer {manager}"}
    url = "http://127.0.0.1:9/hooks"
    assert api.post("/v1/webhooks", json={"url": url}, headers=as_manager).status_code == 403
    assert api.get("/v1/webhooks", headers=as_manager).status_code == 403
    no_branch = api.post("/v1/webhooks", json={"url": url, "branch": "Atlantis"})
    assert no_branch.status_code == 422
    assert "branch" in no_branch.text
    not_http = api.post("/v1/webhooks", json={"url": "ftp://example.com/x"})
    assert not_http.status_code == 422
    assert "url" in not_http.text
    unknown = uuid4()
    assert api.get(f"/v1/webhooks/{unknown}/dead-letters").status_code == 404
    assert api.post(f"/v1/webhooks/{unknown}/dead-letters/replay").status_code == 404


def test_a_subscription_that_piled_up_failures_does_not_hide_the_others(
    services: Services, api: TestClient, receivers: list[Receiver]
) -> None:
    failing, healthy = Receiver(), Receiver()
    receivers += [failing, healthy]
    failing.down = True
    subscribe(api, failing.url)
    clock = Clock()
    worker = dispatcher(services, clock, batch_size=2, max_attempts=100)
    many = [customer(f"客户 {i}") for i in range(4)]
    recorded(services, *many)
    for _ in range(3):
        worker.deliver_once()  # the failing subscription's deliveries pile up
        clock.advance(3600)
    subscribe(api, healthy.url)
    late = customer("后来的客户")
    recorded(services, late)
    worker.deliver_once()
    assert healthy.positions() == [p for p, _, _ in log_of(services, late.id)]
    assert failing.taken == []


def test_the_service_runs_the_delivery_worker_beside_the_projections(
    services: Services, receivers: list[Receiver]
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    services.start_workers(webhooks=True)
    token = enroll(services, "admin.ma", "Ma Jun 马军", roles=(Role.ADMIN,))
    with TestClient(create_app(services)) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        hook = subscribe(api, receiver.url, event_types=["Relationship.Registered"])
        ours = customer("苏州客户")
        services.app.save(ours)
        wait_until(lambda: len(receiver.taken) == 1, what="the worker delivers the event")
        entry, body, signature = receiver.taken[0]
        assert entry["aggregate_id"] == str(ours.id)
        assert verify(hook["secret"], body, signature)
        delivered = api.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()["items"]
        assert [(d["position"], d["state"]) for d in delivered] == [
            (entry["position"], "delivered")
        ]


def test_with_no_subscription_left_the_log_is_passed_over_and_erasures_still_reach_kept_bodies(
    services: Services, api: TestClient, receivers: list[Receiver]
) -> None:
    first = Receiver()
    receivers.append(first)
    made = subscribe(api, first.url)
    worker = dispatcher(services, Clock())
    ours = customer("苏州客户")
    ours.add_contact(ctx(-23, actor="sales.zhou"), contact_id="c1", name="王芳 Wang Fang")
    recorded(services, ours)
    worker.deliver_once()
    assert first.positions() == [p for p, _, _ in log_of(services, ours.id)]
    assert any("Wang Fang" in body.decode() for _, body, _ in first.taken)
    delivered = first.requests
    assert api.delete(f"/v1/webhooks/{made['webhook_id']}").status_code == 204

    # No subscription lives; the contact is erased. The deliveries kept of the deleted
    # subscription no longer name them.
    app = services.app
    erasure = app.privacy.erase(
        app.context("admin.ma"),
        contact_subject(ours.id, "c1").subject_id,
        reason="the person asked",
        request_ref="DSR-7",
    )
    recorded(services)
    with services.database.connect() as conn:
        assert worker.enqueue(conn) > 0
        bodies = [
            str(row[0])
            for row in conn.execute(
                "SELECT body FROM webhook_delivery WHERE aggregate_id = %s", (ours.id,)
            ).fetchall()
        ]
        position = tracking_position(conn, webhooks.TRACKING_NAME)
    assert bodies
    assert all("Wang Fang" not in b for b in bodies)
    assert any(ERASED in b for b in bodies)
    assert position >= erasure.position

    # A subscription made now is delivered what follows it, nothing from before.
    later = Receiver()
    receivers.append(later)
    subscribe(api, later.url)
    theirs = customer("苏州新客户")
    recorded(services, theirs)
    worker.deliver_once()
    assert later.positions() == [p for p, _, _ in log_of(services, theirs.id)]
    assert first.requests == delivered  # the deleted subscription got nothing more
