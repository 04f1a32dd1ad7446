"""Relationships, offerings and opportunities for tests over HTTP, set up the way staff
would: by commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.clock import NOW
from tests.waiting import read_fresh

#: Business times count from here: sixty days before the suite's present, on the hour.
START = NOW - timedelta(days=60)


def when(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def post(
    client: TestClient,
    path: str,
    body: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, (path, response.text)
    return response.json()


def get(
    client: TestClient,
    path: str,
    expect: int = 200,
    *,
    min_position: int | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Any:
    """The answer to a read; with ``min_position``, once the read model has reached it."""
    if min_position is None:
        response = client.get(path, params=params, headers=headers)
    else:
        response = read_fresh(client, path, min_position=min_position, headers=headers, **params)
    assert response.status_code == expect, (path, response.text)
    return response.json()


def relationship(client: TestClient, name: str, kind: str, branch: str = "Suzhou") -> str:
    body = {
        "name": name,
        "kind": kind,
        "industry": "electronics" if kind != "competitor" else "freight forwarding",
        "region": "East China",
        "branch": branch,
        "occurred_at": when(-24 * 30),
    }
    rid: str = post(client, "/v1/relationships", body, 201)["aggregate_id"]
    return rid


def offering(
    client: TestClient,
    origin: str = "Suzhou",
    destination: str = "Chicago",
    mode: str = "air",
    **overrides: Any,
) -> str:
    body = {
        "name": f"{origin}–{destination} {mode}",
        "origin": origin,
        "destination": destination,
        "mode": mode,
        "service_level": "door_to_door",
        "transit_days": 5,
        "occurred_at": when(-24 * 20),
        **overrides,
    }
    oid: str = post(client, "/v1/offerings", body, 201)["aggregate_id"]
    return oid


def opportunity(
    client: TestClient, relationship_id: str, offering_id: str, **overrides: Any
) -> dict[str, Any]:
    body = {
        "relationship_id": relationship_id,
        "title": "Monthly laptop exports to Chicago by air",
        "offering_id": offering_id,
        "expected_value": "240000",
        "currency": "USD",
        "probability": "0.2",
        "occurred_at": when(0),
        **overrides,
    }
    accepted: dict[str, Any] = post(client, "/v1/opportunities", body, 201)
    return accepted
