"""Invalid input is answered with the field and the reason, whatever checks it: FastAPI's
validation, a dependency of ours, a route's own rule or the domain's; and it changes
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_http import register


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "li.wei", "Li Wei 李伟")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def refused(response: Any) -> list[dict[str, str]]:
    """The field errors of a 422 answered as invalid input."""
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/invalid-input"), problem
    errors: list[dict[str, str]] = problem["errors"]
    return errors


def test_a_malformed_if_match_names_the_header_and_appends_nothing(
    client: TestClient, services: Services
) -> None:
    created = register(client)
    rid = created["aggregate_id"]
    for value in ("abc", "W/", '"3", "4"', "-1"):
        response = client.post(
            f"/v1/relationships/{rid}/interactions",
            headers={"If-Match": value},
            json={"channel": "call", "direction": "outbound", "summary": "Rates"},
        )
        assert refused(response) == [
            {"field": "If-Match", "reason": 'must be a version number, e.g. "3"'}
        ], value
    head = services.app.recorder.max_notification_id()  # type: ignore[attr-defined]
    assert head == created["position"]


def test_a_body_that_is_not_json_names_the_body_and_where_reading_it_failed(
    client: TestClient,
) -> None:
    rid = register(client)["aggregate_id"]
    body = '{"channel": "call", "summary": '
    response = client.post(
        f"/v1/relationships/{rid}/interactions",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert refused(response) == [
        {"field": "body", "reason": f"JSON decode error at position {len(body)}"}
    ]
    translated = client.post(
        f"/v1/relationships/{rid}/interactions",
        content=body,
        headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"},
    )
    assert refused(translated) == [
        {"field": "body", "reason": f"不是有效的 JSON（位置 {len(body)}）"}
    ]


def test_a_time_range_without_a_time_zone_names_its_end(client: TestClient) -> None:
    rid = register(client)["aggregate_id"]
    response = client.get(
        f"/v1/relationships/{rid}/history", params={"from": "2026-11-01T00:00:00"}
    )
    assert refused(response) == [{"field": "from", "reason": "must carry a time zone"}]
    response = client.get(
        f"/v1/relationships/{rid}/history",
        params={"to": "2026-11-01T00:00:00"},
        headers={"Accept-Language": "zh"},
    )
    assert refused(response) == [{"field": "to", "reason": "必须带时区"}]


def test_filters_that_exclude_each_other_name_one_of_them(client: TestClient) -> None:
    response = client.get(
        "/v1/shipments",
        params={"partner_id": "00000000-0000-0000-0000-000000000001", "branch": "Suzhou"},
    )
    assert refused(response) == [
        {"field": "partner_id", "reason": "filter by partner_id or by branch, not both"}
    ]


def test_a_domain_rule_on_query_parameters_names_its_field(client: TestClient) -> None:
    response = client.get("/v1/decisions/top-customers", params={"dormant_after_days": 400})
    assert refused(response) == [
        {"field": "dormant_after_days", "reason": "need 0 < dormant_after_days < lost_after_days"}
    ]
