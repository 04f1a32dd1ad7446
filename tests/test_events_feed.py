"""The global event feed over HTTP on real PostgreSQL: pages in log order with no gap and
no duplicate, each entry with its metadata; branch managers see only their branch's
entries and paging passes over the rest; the types filter; who may read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.event_feed import horizon
from domain.relationship import Relationship, RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import ctx
from tests.staffing import enroll
from tests.waiting import wait_until


def customer(branch: str, name: str) -> Relationship:
    return Relationship.register(
        ctx(-24, actor="sales.zhou"),
        name=name,
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch=branch,
        relationship_id=uuid4(),
    )


def log_rows(services: Services) -> list[tuple[int, UUID, int, str]]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic "
            "FROM fullchain_events ORDER BY notification_id"
        ).fetchall()
    return [(int(p), UUID(str(a)), int(v), str(t)) for p, a, v, t in rows]


def some_customers(services: Services) -> dict[str, list[UUID]]:
    """Three customers in Suzhou and three in Shanghai, each with two contacts, their
    events interleaved in the log; the feed caught up with them all."""
    app = services.app
    made: dict[str, list[UUID]] = {"Suzhou": [], "Shanghai": []}
    relationships = []
    for i in range(6):
        branch = "Suzhou" if i % 2 == 0 else "Shanghai"
        r = customer(branch, f"客户 {i}")
        app.save(r)
        made[branch].append(r.id)
        relationships.append(r)
    for n in range(2):
        for r in relationships:
            r.add_contact(ctx(n, actor="care.li"), contact_id=f"c{n}", name=f"联系人 {n}")
            app.save(r)
    last = log_rows(services)[-1][0]

    def caught_up() -> bool:
        with services.reads.connection() as conn:
            return horizon(conn) >= last

    wait_until(caught_up, what="the ownership read models reach the log's end")
    return made


@pytest.fixture
def feed(services: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    services.start_workers()
    tokens = {
        "hq": enroll(services, "hq.wu", "Wu Hua 吴华"),
        "suzhou": enroll(
            services, "mgr.su", "Su Li 苏丽", roles=(Role.BRANCH_MANAGER,), branch="Suzhou"
        ),
        "field": enroll(
            services, "field.xu", "Xu Ming 徐明", roles=(Role.FIELD_STAFF,), branch="Suzhou"
        ),
        "auditor": enroll(services, "audit.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,)),
    }
    with TestClient(create_app(services)) as c:
        yield c, tokens


def pages(client: TestClient, token: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page from the start, until a page brings nothing and moves no further."""
    after, seen = 0, []
    for _ in range(1000):
        answer = client.get(
            "/v1/events",
            params={"after": after, "limit": limit, **params},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        seen.append(body)
        if not body["items"] and body["next_after"] == after:
            return seen
        assert body["next_after"] > after
        after = body["next_after"]
    raise AssertionError("the feed never ended")


def test_pages_in_log_order_without_gap_or_duplicate(
    services: Services, feed: tuple[TestClient, dict[str, str]]
) -> None:
    client, tokens = feed
    some_customers(services)
    log = log_rows(services)
    answers = pages(client, tokens["hq"], limit=4)
    items = [item for answer in answers for item in answer["items"]]
    assert [i["position"] for i in items] == [p for p, _, _, _ in log]
    assert [(UUID(i["aggregate_id"]), i["version"], i["event_name"]) for i in items] == [
        (a, v, t) for _, a, v, t in log
    ]
    assert answers[-1]["next_after"] == log[-1][0]
    contact = next(i for i in items if i["event_name"] == "Relationship.ContactAdded")
    assert contact["actor"] == "care.li"
    assert contact["aggregate_type"] == "Relationship"
    assert contact["branch"] in {"Suzhou", "Shanghai"}
    assert contact["relationship_id"] == contact["aggregate_id"]
    assert contact["correlation_id"]
    assert contact["causation_id"]
    assert contact["command_id"]
    assert contact["occurred_at"]
    assert contact["recorded_at"]
    assert contact["data"]["contact"]["name"].startswith("联系人")
    # Staff events belong to no branch, and are in the feed for headquarters.
    assert any(i["aggregate_type"] == "Staff" and i["branch"] is None for i in items)
    # A token's hash stays in the log.
    issued = [i for i in items if i["event_name"] == "Staff.TokenIssued"]
    assert issued
    assert all("token_sha256" not in i["data"] and "token_id" in i["data"] for i in issued)


def test_a_branch_manager_sees_only_their_branchs_entries(
    services: Services, feed: tuple[TestClient, dict[str, str]]
) -> None:
    client, tokens = feed
    made = some_customers(services)
    log = log_rows(services)
    answers = pages(client, tokens["suzhou"], limit=3)
    items = [item for answer in answers for item in answer["items"]]
    assert {i["branch"] for i in items} == {"Suzhou"}
    suzhou = set(made["Suzhou"])
    assert [i["position"] for i in items] == [p for p, a, _, _ in log if a in suzhou]
    assert not {UUID(i["aggregate_id"]) for i in items} & set(made["Shanghai"])
    # Paging went past the other branch's entries and the staff's, to the log's end.
    assert answers[-1]["next_after"] == log[-1][0]
    auditor = [i for a in pages(client, tokens["auditor"], limit=50) for i in a["items"]]
    assert len(auditor) == len(log)


def test_types_keep_event_names_or_aggregate_types(
    services: Services, feed: tuple[TestClient, dict[str, str]]
) -> None:
    client, tokens = feed
    some_customers(services)
    added = pages(client, tokens["hq"], limit=5, types=["Relationship.ContactAdded"])
    names = [i["event_name"] for a in added for i in a["items"]]
    assert names == ["Relationship.ContactAdded"] * 12
    relationships = pages(client, tokens["hq"], limit=5, types=["Relationship"])
    assert len([i for a in relationships for i in a["items"]]) == 18


def test_who_may_read_the_feed(services: Services, feed: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = feed
    some_customers(services)
    field = client.get("/v1/events", headers={"Authorization": f"Bearer {tokens['field']}"})
    assert field.status_code == 403
    anonymous = client.get("/v1/events", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    bad = client.get(
        "/v1/events",
        params={"limit": 0},
        headers={"Authorization": f"Bearer {tokens['hq']}"},
    )
    assert bad.status_code == 422
    assert "limit" in bad.text
    end = log_rows(services)[-1][0]
    beyond = client.get(
        "/v1/events",
        params={"after": end + 100},
        headers={"Authorization": f"Bearer {tokens['hq']}"},
    ).json()
    assert beyond == {"items": [], "next_after": end + 100}
