"""Reading back what staff logged, over HTTP: a relationship's contacts with their history
of changes (removed ones on request), its interactions and care actions as one timeline
with its filters and pages, the office staff member's view of the field staff's visits
(内勤看外勤), and the managers' weekly summary across a week boundary in the company's
time zone; branch scoping (another branch's relationship is answered as none) and the
refusals of bad filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.waiting import read_fresh

#: Business times of the tests: a fixed Monday a week before the suite's present.
MONDAY = datetime(2026, 2, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


class Clients:
    def __init__(self, services: Services, stack: list[TestClient]) -> None:
        self.services = services
        self.stack = stack
        self.position = 0

    def client(self, staff_id: str, roles: tuple[Role, ...], branch: str) -> TestClient:
        token = enroll(self.services, staff_id, staff_id, roles=roles, branch=branch)
        client = TestClient(create_app(self.services))
        client.__enter__()
        client.headers["Authorization"] = f"Bearer {token}"
        self.stack.append(client)
        return client

    def post(self, client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        self.position = max(self.position, answer["position"])
        return answer

    def get(self, client: TestClient, path: str, **params: Any) -> httpx.Response:
        return read_fresh(client, path, min_position=self.position, **params)


@pytest.fixture
def world(services: Services) -> Iterator[Clients]:
    services.start_workers()
    stack: list[TestClient] = []
    clients = Clients(services, stack)
    yield clients
    for client in stack:
        client.__exit__(None, None, None)


def register(world: Clients, client: TestClient, name: str, branch: str) -> str:
    body = {
        "name": name,
        "kind": "customer",
        "industry": "electronics",
        "region": "East China",
        "branch": branch,
        "occurred_at": (MONDAY - timedelta(days=30)).isoformat(),
    }
    return str(world.post(client, "/v1/relationships", body)["aggregate_id"])


def at(days: float = 0, hours: float = 0) -> str:
    return (MONDAY + timedelta(days=days, hours=hours)).isoformat()


def log(
    world: Clients,
    client: TestClient,
    rid: str,
    when: str,
    channel: str = "visit",
    contact_id: str | None = None,
    summary: str = "visited",
) -> None:
    body: dict[str, Any] = {
        "channel": channel,
        "direction": "outbound",
        "summary": summary,
        "occurred_at": when,
    }
    if contact_id is not None:
        body["contact_id"] = contact_id
    world.post(client, f"/v1/relationships/{rid}/interactions", body)


def care(world: Clients, client: TestClient, rid: str, when: str, kind: str = "greeting") -> None:
    body = {"care_kind": kind, "note": "春节问候", "occurred_at": when}
    world.post(client, f"/v1/relationships/{rid}/care-actions", body)


def all_pages(world: Clients, client: TestClient, path: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        extra: dict[str, Any] = {"cursor": cursor} if cursor else {}
        response = world.get(client, path, limit=2, **params, **extra)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_contacts_read_back_with_their_history_and_removed_ones(world: Clients) -> None:
    hq = world.client("li.wei", (Role.HQ,), "Headquarters")
    suzhou = world.client("zhou.min", (Role.OFFICE_STAFF,), "Suzhou")
    shanghai = world.client("chen.jie", (Role.OFFICE_STAFF,), "Shanghai")
    rid = register(world, suzhou, "苏州华芯电子有限公司", "Suzhou")
    path = f"/v1/relationships/{rid}/contacts"
    for n, name in enumerate(["王经理", "李工", "赵会计"]):
        body = {
            "contact_id": f"c{n}",
            "name": name,
            "phone": f"1390000000{n}",
            "occurred_at": at(n),
        }
        world.post(suzhou, path, body)
    world.post(suzhou, f"{path}/c0/change", {"title": "采购总监", "occurred_at": at(3)})
    world.post(
        hq,
        f"{path}/c0/change",
        {"phone": "13911112222", "email": "wang@huaxin.example", "occurred_at": at(4)},
    )
    world.post(suzhou, f"{path}/c1/remove", {"occurred_at": at(5)})

    current = all_pages(world, suzhou, path)
    assert [c["contact_id"] for c in current] == ["c0", "c2"]
    wang = current[0]
    assert (wang["name"], wang["title"], wang["phone"]) == ("王经理", "采购总监", "13911112222")
    assert [h["change"] for h in wang["history"]] == ["added", "changed", "changed"]
    added, first, second = wang["history"]
    assert added["actor"] == "zhou.min"
    assert {"field": "phone", "before": None, "after": "13900000000"} in added["changes"]
    assert first["actor"] == "zhou.min"
    assert first["occurred_at"] == at(3).replace("+00:00", "Z")
    assert first["changes"] == [{"field": "title", "before": None, "after": "采购总监"}]
    assert second["actor"] == "li.wei"
    assert second["changes"] == [
        {"field": "phone", "before": "13900000000", "after": "13911112222"},
        {"field": "email", "before": None, "after": "wang@huaxin.example"},
    ]

    every = all_pages(world, suzhou, path, include_removed="true")
    assert [c["contact_id"] for c in every] == ["c0", "c1", "c2"]
    removed = every[1]
    assert removed["removed"] is True
    assert removed["removed_by"] == "zhou.min"
    assert [h["change"] for h in removed["history"]] == ["added", "removed"]

    # A contact id added again after its removal is a new contact, with its own history.
    world.post(suzhou, path, {"contact_id": "c1", "name": "李工程师", "occurred_at": at(6)})
    again = all_pages(world, suzhou, path, include_removed="true")
    assert [(c["contact_id"], c["removed"]) for c in again] == [
        ("c0", False),
        ("c1", True),
        ("c2", False),
        ("c1", False),
    ]
    assert [h["change"] for h in again[3]["history"]] == ["added"]

    # Another branch's relationship is answered as one that does not exist.
    assert world.get(shanghai, path).status_code == 404
    assert world.get(shanghai, f"/v1/relationships/{rid}/interactions").status_code == 404
    unknown = "/v1/relationships/00000000-0000-4000-8000-000000000000/contacts"
    assert world.get(hq, unknown).status_code == 404
    assert world.get(suzhou, path, cursor="nonsense").status_code == 422


def test_a_relationships_timeline_filters_and_pages(world: Clients) -> None:
    office = world.client("zhou.min", (Role.OFFICE_STAFF,), "Suzhou")
    field = world.client("wang.fang", (Role.FIELD_STAFF,), "Suzhou")
    auditor = world.client("audit.he", (Role.AUDITOR,), "Headquarters")
    rid = register(world, office, "吴江纺织", "Suzhou")
    world.post(office, f"/v1/relationships/{rid}/contacts", {"contact_id": "boss", "name": "沈总"})
    log(world, field, rid, at(0), "visit", contact_id="boss", summary="first visit")
    log(world, office, rid, at(1), "call", summary="call")
    care(world, office, rid, at(2), "greeting")
    log(world, field, rid, at(3), "visit", summary="second visit")
    # Logged last, happened first: the timeline is in business time.
    log(world, office, rid, at(-1), "email", summary="backdated email")
    path = f"/v1/relationships/{rid}/interactions"

    everything = all_pages(world, office, path)
    assert [e["summary"] for e in everything] == [
        "second visit",
        "春节问候",
        "call",
        "first visit",
        "backdated email",
    ]
    assert everything[1]["kind"] == "care"
    assert everything[1]["care_kind"] == "greeting"
    assert everything[3]["contact_name"] == "沈总"
    # The auditor reads the same timeline with the interactions' notes and contacts masked.
    audited = all_pages(world, auditor, path)
    assert [(e["kind"], e["summary"]) for e in audited] == [
        ("interaction", "[masked]"),
        ("care", "春节问候"),
        ("interaction", "[masked]"),
        ("interaction", "[masked]"),
        ("interaction", "[masked]"),
    ]
    assert audited[3]["contact_name"] == "沈**"

    def summaries(**params: Any) -> list[str]:
        return [e["summary"] for e in all_pages(world, office, path, **params)]

    assert summaries(kind="care") == ["春节问候"]
    assert summaries(kind="interaction", channel="visit") == ["second visit", "first visit"]
    assert summaries(channel=["call", "email"]) == ["call", "backdated email"]
    assert summaries(channel="call", care_kind="greeting") == ["春节问候", "call"]
    assert summaries(staff_id="wang.fang") == ["second visit", "first visit"]
    assert summaries(contact_id="boss") == ["first visit"]
    assert summaries(**{"from": at(1), "to": at(3)}) == ["春节问候", "call"]

    for bad in (
        {"from": "2026-02-23T10:00:00"},  # no time zone
        {"from": at(3), "to": at(1)},
        {"kind": "care", "channel": "visit"},
        {"kind": "interaction", "care_kind": "gift"},
        {"kind": "care", "contact_id": "boss"},
        {"channel": "fax"},
        {"staff_id": "no spaces allowed"},
    ):
        response = world.get(office, path, **bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"], response.text


def test_office_staff_see_the_visits_of_their_teams_field_staff(world: Clients) -> None:
    hq = world.client("li.wei", (Role.HQ,), "Headquarters")
    office = world.client("zhou.min", (Role.OFFICE_STAFF,), "Suzhou")
    other_office = world.client("xu.li", (Role.OFFICE_STAFF,), "Suzhou")
    field = world.client("wang.fang", (Role.FIELD_STAFF,), "Suzhou")
    field_shanghai = world.client("sun.hao", (Role.FIELD_STAFF,), "Shanghai")
    manager = world.client("gao.jun", (Role.BRANCH_MANAGER,), "Suzhou")
    suzhou_a = register(world, office, "苏州华芯电子有限公司", "Suzhou")
    suzhou_b = register(world, office, "昆山精密机械", "Suzhou")
    shanghai = register(world, hq, "上海远洋贸易", "Shanghai")
    # A Shanghai field rep on the account team of a Suzhou account, with zhou.min its office
    # rep: zhou.min's team, though not of her branch.
    world.post(
        hq,
        f"/v1/relationships/{suzhou_b}/assign-team",
        {"field_rep": "sun.hao", "office_rep": "zhou.min"},
    )
    log(world, field, suzhou_a, at(0), "visit", summary="wang visits A")
    log(world, field, suzhou_b, at(1), "visit", summary="wang visits B")
    log(world, hq, suzhou_b, at(2), "visit", summary="li.wei visits B")
    log(world, other_office, suzhou_a, at(3), "call", summary="xu calls A")
    log(world, field_shanghai, shanghai, at(4), "visit", summary="sun visits Shanghai")

    def summaries(client: TestClient, **params: Any) -> list[str]:
        return [e["summary"] for e in all_pages(world, client, "/v1/activity", **params)]

    # zhou.min sees her branch's field staff and her account team's field rep (on her
    # branch's relationships), not another office member's calls, nor Shanghai's accounts.
    world.post(
        hq,
        f"/v1/relationships/{suzhou_b}/interactions",
        {
            "channel": "visit",
            "direction": "outbound",
            "summary": "sun.hao at B",
            "staff": "sun.hao",
            "occurred_at": at(5),
        },
    )
    assert summaries(office) == ["sun.hao at B", "wang visits B", "wang visits A"]
    assert summaries(office, staff_id="wang.fang", channel="visit") == [
        "wang visits B",
        "wang visits A",
    ]
    assert summaries(office, **{"from": at(1), "to": at(5)}) == ["wang visits B"]
    forbidden = world.get(office, "/v1/activity", staff_id="xu.li")
    assert forbidden.status_code == 403, forbidden.text
    # Field staff: their own; the manager: everyone's on the branch's relationships.
    assert summaries(field) == ["wang visits B", "wang visits A"]
    assert summaries(manager) == [
        "sun.hao at B",
        "xu calls A",
        "li.wei visits B",
        "wang visits B",
        "wang visits A",
    ]
    # Headquarters: every branch's.
    assert "sun visits Shanghai" in summaries(hq)
    assert world.get(office, "/v1/activity", **{"to": "yesterday"}).status_code == 422


def test_managers_weekly_summary_counts_weeks_in_the_company_time_zone(world: Clients) -> None:
    hq = world.client("li.wei", (Role.HQ,), "Headquarters")
    field = world.client("wang.fang", (Role.FIELD_STAFF,), "Suzhou")
    manager = world.client("gao.jun", (Role.BRANCH_MANAGER,), "Suzhou")
    shanghai_manager = world.client("ma.lin", (Role.BRANCH_MANAGER,), "Shanghai")
    office = world.client("zhou.min", (Role.OFFICE_STAFF,), "Suzhou")
    a = register(world, manager, "苏州华芯电子有限公司", "Suzhou")
    b = register(world, manager, "昆山精密机械", "Suzhou")
    shanghai = register(world, hq, "上海远洋贸易", "Shanghai")
    # Sunday 22 February 23:00 in Shanghai (15:00 UTC): ISO week 2026-W08.
    log(world, field, a, at(hours=-11), "visit")
    # Monday 23 February 01:00 in Shanghai, still Sunday in UTC: 2026-W09 in Shanghai.
    log(world, field, b, at(hours=-9), "call")
    log(world, field, a, at(1), "visit")
    care(world, field, b, at(2))
    log(world, hq, shanghai, at(2), "visit")

    response = world.get(
        manager, "/v1/activity/weekly", **{"from": "2026-02-16", "to": "2026-02-28"}
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["time_zone"] == "Asia/Shanghai"
    assert summary["first_week_start"] == "2026-02-16"
    weeks = {(i["staff_id"], i["week"]): i for i in summary["items"]}
    assert set(weeks) == {("wang.fang", "2026-W08"), ("wang.fang", "2026-W09")}
    w8, w9 = weeks["wang.fang", "2026-W08"], weeks["wang.fang", "2026-W09"]
    assert (w8["interactions_by_channel"], w8["care_actions"], w8["relationships_touched"]) == (
        {"visit": 1},
        0,
        1,
    )
    assert w9["week_start"] == "2026-02-23"
    assert w9["interactions_by_channel"] == {"call": 1, "visit": 1}
    assert (w9["interactions"], w9["care_actions"], w9["relationships_touched"]) == (2, 1, 2)

    # In UTC the Monday-morning call falls in the week before.
    response = world.get(
        manager, "/v1/activity/weekly", **{"from": "2026-02-16", "to": "2026-02-28"}, tz="UTC"
    )
    utc = {(i["staff_id"], i["week"]): i for i in response.json()["items"]}
    assert utc["wang.fang", "2026-W08"]["interactions_by_channel"] == {"call": 1, "visit": 1}
    # A branch whose registry zone is UTC counts its weeks in UTC without being told.
    app = world.services.app
    world.position = app.branches.change_branch(
        app.context("admin"), "Suzhou", time_zone="UTC"
    ).position
    own = world.get(
        manager, "/v1/activity/weekly", **{"from": "2026-02-16", "to": "2026-02-28"}
    ).json()
    assert own["time_zone"] == "UTC"
    assert own["items"] == response.json()["items"]
    world.position = app.branches.change_branch(
        app.context("admin"), "Suzhou", time_zone="Asia/Shanghai"
    ).position

    # One week only: the weeks holding from and to.
    one = world.get(manager, "/v1/activity/weekly", **{"from": "2026-02-25", "to": "2026-02-25"})
    assert [i["week"] for i in one.json()["items"]] == ["2026-W09"]

    # Another branch's manager sees nothing of Suzhou's; headquarters sees both branches.
    other = world.get(
        shanghai_manager, "/v1/activity/weekly", **{"from": "2026-02-16", "to": "2026-02-28"}
    )
    assert [i["staff_id"] for i in other.json()["items"]] == ["li.wei"]
    every = world.get(hq, "/v1/activity/weekly", **{"from": "2026-02-16", "to": "2026-02-28"})
    assert {i["staff_id"] for i in every.json()["items"]} == {"li.wei", "wang.fang"}

    # Office and field staff have no weekly summary; bad filters are refused with the field.
    assert (
        world.get(
            office, "/v1/activity/weekly", **{"from": "2026-02-16", "to": "2026-02-28"}
        ).status_code
        == 403
    )
    for bad in (
        {"from": "2026-02-28", "to": "2026-02-16"},
        {"from": "2025-01-01", "to": "2026-02-16"},
        {"from": "2026-02-16", "to": "2026-02-28", "tz": "Mars/Olympus"},
        {"from": "2026-02-16"},
    ):
        response = world.get(manager, "/v1/activity/weekly", **bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] in ("from", "to", "tz"), response.text
