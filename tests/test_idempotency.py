"""Retries that never double: Idempotency-Key on commands; body size limit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll

REGISTER = {
    "name": "深圳速达电子",
    "kind": "prospect",
    "industry": "electronics",
    "region": "South China",
    "branch": "Shenzhen",
}


@pytest.fixture
def token(services: Services) -> str:
    return enroll(services, "li.wei", "Li Wei")


@pytest.fixture
def client(services: Services, token: str) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def events(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM fullchain_events WHERE topic LIKE 'Relationship.%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_retried_command_answers_the_original_response_and_writes_once(
    client: TestClient, services: Services
) -> None:
    key = {"Idempotency-Key": "register-7f3a"}
    first = client.post("/v1/relationships", json=REGISTER, headers=key)
    assert first.status_code == 201
    again = client.post("/v1/relationships", json=REGISTER, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert events(services) == 1

    rid = first.json()["aggregate_id"]
    body = {"reason": "20 t a month"}
    q1 = client.post(
        f"/v1/relationships/{rid}/qualify", json=body, headers={"Idempotency-Key": "q"}
    )
    q2 = client.post(
        f"/v1/relationships/{rid}/qualify", json=body, headers={"Idempotency-Key": "q"}
    )
    assert q1.status_code == q2.status_code == 200
    assert q1.json() == q2.json()
    assert events(services) == 2


def test_the_same_key_for_another_request_is_refused(
    client: TestClient, services: Services
) -> None:
    key = {"Idempotency-Key": "k-1"}
    assert client.post("/v1/relationships", json=REGISTER, headers=key).status_code == 201
    other = client.post("/v1/relationships", json={**REGISTER, "name": "Other"}, headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert events(services) == 1


def test_keys_survive_a_restart(services: Services, token: str) -> None:
    key = {"Idempotency-Key": "across-restarts", "Authorization": f"Bearer {token}"}
    with TestClient(create_app(services)) as c:
        first = c.post("/v1/relationships", json=REGISTER, headers=key).json()
    restarted = Services.open(services.database)  # another process, empty caches
    try:
        with TestClient(create_app(restarted)) as c:
            again = c.post("/v1/relationships", json=REGISTER, headers=key)
        assert again.json() == first
    finally:
        restarted.close()
    assert events(services) == 1


def test_concurrent_retries_have_one_effect_and_identical_answers(
    services: Services, token: str
) -> None:
    # Several "API processes" receive the same request at once.
    processes = [services] + [Services.open(services.database) for _ in range(2)]
    clients = [TestClient(create_app(p)) for p in processes]
    headers = {"Idempotency-Key": "burst", "Authorization": f"Bearer {token}"}
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(9)

    def send(i: int) -> None:
        start.wait()
        response = clients[i % 3].post("/v1/relationships", json=REGISTER, headers=headers)
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in processes[1:]:
        p.close()
    assert len(answers) == 9
    assert {status for status, _ in answers} == {201}
    assert len({str(body) for _, body in answers}) == 1
    assert events(services) == 1


def test_oversized_bodies_are_refused_with_413(client: TestClient, services: Services) -> None:
    huge = {**REGISTER, "name": "x" * 300_000}
    response = client.post("/v1/relationships", json=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert events(services) == 0


def test_a_retry_answers_the_original_body_but_never_a_token_again(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLCHAIN_ADMIN_TOKEN", "automation-secret-123")
    admin = {"Authorization": "Bearer automation-secret-123"}
    with TestClient(create_app(services)) as c:
        body = {"staff_id": "wu.gang", "name": "吴刚", "branch": "Suzhou", "roles": []}
        first = c.post("/v1/staff", json=body, headers={**admin, "Idempotency-Key": "s1"})
        again = c.post("/v1/staff", json=body, headers={**admin, "Idempotency-Key": "s1"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["Location"] == first.headers["Location"] == "/v1/staff/wu.gang"

        issue = {**admin, "Idempotency-Key": "t1"}
        issued = c.post("/v1/staff/wu.gang/tokens", json={"label": "phone"}, headers=issue)
        assert issued.status_code == 201
        assert issued.json()["token"].startswith("fc_")
        retried = c.post("/v1/staff/wu.gang/tokens", json={"label": "phone"}, headers=issue)
        assert retried.status_code == 409
        assert "shown once" in retried.json()["detail"]
        assert "token" not in retried.json()
    assert len(services.app.staff.get_staff("wu.gang").tokens) == 1
