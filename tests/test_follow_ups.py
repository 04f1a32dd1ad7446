"""Follow-ups and care plans over HTTP on real PostgreSQL with live workers and a pinned
clock: scheduled, assigned, rescheduled, completed with the interaction they produced
(exactly once under a retried Idempotency-Key), cancelled with a reason; a care plan's next
follow-up; each staff member's day in the company's time zone; branch scoping, the branch
manager's overdue list, account status and customers at risk; the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.follow_ups import TIME_ZONE_VARIABLE
from domain.staff import Role
from interface.runtime import Services
from tests.clock import NOW, PinnedClock
from tests.office import Office, open_office
from tests.selling import when
from tests.test_shipment_commands import book, parties

STAFF = {
    "hq": ("li.na", Role.HQ, "Headquarters"),
    "field": ("zhou.min", Role.FIELD_STAFF, "Suzhou"),
    "office": ("zhang.min", Role.OFFICE_STAFF, "Suzhou"),
    "manager": ("zhou.hui", Role.BRANCH_MANAGER, "Suzhou"),
    "shanghai": ("chen.jing", Role.FIELD_STAFF, "Shanghai"),
    "auditor": ("ma.li", Role.AUDITOR, "Headquarters"),
}


@pytest.fixture
def office(services: Services) -> Iterator[Office]:
    with open_office(services, STAFF) as opened:
        yield opened


def customer(office: Office, name: str, branch: str = "Suzhou", *, key: bool = False) -> str:
    body = {
        "name": name,
        "kind": "customer",
        "industry": "electronics",
        "region": "East China",
        "branch": branch,
        "key_account": key,
        "occurred_at": when(-24 * 30),
    }
    rid: str = office.post("hq", "/v1/relationships", body, 201)["aggregate_id"]
    return rid


def schedule(
    office: Office,
    who: str,
    subject_id: str,
    due: datetime,
    status: int = 201,
    **overrides: Any,
) -> Any:
    body = {
        "subject_kind": "relationship",
        "subject_id": subject_id,
        "kind": "call",
        "due_at": due.isoformat(),
        "note": "ask about the Q2 volumes",
        **overrides,
    }
    return office.post(who, "/v1/follow-ups", body, status)


def problem_field(answer: dict[str, Any]) -> set[str]:
    return {error["field"] for error in answer.get("errors", [])} | (
        {answer["field"]} if answer.get("field") else set()
    )


def test_schedule_assign_reschedule_and_complete_with_the_interaction_once(
    office: Office,
) -> None:
    huaxin = customer(office, "苏州华芯电子有限公司")
    fid = schedule(office, "field", huaxin, NOW + timedelta(hours=2))["aggregate_id"]
    assigned = office.post("field", f"/v1/follow-ups/{fid}/assign", {"assignee": "zhang.min"})
    one = office.get("office", f"/v1/follow-ups/{fid}", min_position=assigned["position"])
    assert (one["assignee"], one["state"], one["kind"], one["scheduled_by"]) == (
        "zhang.min",
        "open",
        "call",
        "zhou.min",
    )
    assert (one["relationship_id"], one["branch"], one["overdue"]) == (huaxin, "Suzhou", False)

    # If-Match: a version no longer current is refused, the current one goes.
    later = (NOW + timedelta(days=1)).isoformat()
    stale = office.client.post(
        f"/v1/follow-ups/{fid}/reschedule",
        json={"due_at": later, "reason": "the buyer is travelling"},
        headers=office.auth("office") | {"If-Match": '"1"'},
    )
    assert stale.status_code == 412, stale.text
    moved = office.post(
        "office",
        f"/v1/follow-ups/{fid}/reschedule",
        {"due_at": later, "reason": "the buyer is travelling"},
        headers={"If-Match": f'"{assigned["version"]}"'},
    )
    assert moved["version"] == assigned["version"] + 1

    # Completed under a key, and the request retried: one interaction, one answer.
    key = {"Idempotency-Key": f"complete-{uuid4()}"}
    body = {"outcome": "Q2 volumes confirmed: 40 t of air freight to Chicago"}
    done = office.post("office", f"/v1/follow-ups/{fid}/complete", body, headers=key)
    again = office.post("office", f"/v1/follow-ups/{fid}/complete", body, headers=key)
    assert again == done
    follow_up = office.services.app.follow_ups.get_follow_up(UUID(fid))
    relationship = office.services.app.relationships.get_relationship(follow_up.relationship_id)
    assert relationship.interaction_count == 1
    assert follow_up.interaction_id in relationship.interaction_ids
    account = office.get("office", f"/v1/relationships/{huaxin}", min_position=done["position"])
    assert (account["last_interaction_channel"], account["interactions_last_90_days"]) == (
        "call",
        1,
    )
    read = office.get("office", f"/v1/follow-ups/{fid}", min_position=done["position"])
    assert (read["state"], read["closed_by"], read["outcome"]) == (
        "done",
        "zhang.min",
        body["outcome"],
    )
    assert read["interaction_id"] == str(follow_up.interaction_id)

    # Closed: completing again (another request) and cancelling are refused.
    refused = office.post("office", f"/v1/follow-ups/{fid}/complete", body, 409)
    assert refused["rule"] == "follow_up.closed"
    office.post("office", f"/v1/follow-ups/{fid}/cancel", {"reason": "too late"}, 409)
    assert (
        office.services.app.relationships.get_relationship(relationship.id).interaction_count == 1
    )


def test_follow_ups_on_a_shipment_and_a_case_and_cancelled_with_a_reason(
    office: Office,
) -> None:
    app = office.services.app
    p = parties(app)
    sid = str(book(app, p))
    chase = schedule(
        office,
        "office",
        sid,
        NOW + timedelta(days=1),
        subject_kind="shipment",
        kind="document_to_chase",
        note="the signed POD",
    )
    case = office.post(
        "office",
        "/v1/cases",
        {
            "relationship_id": str(p.customer),
            "kind": "inquiry",
            "priority": "normal",
            "subject": "Where is my AWB copy?",
            "description": "The consignee asks for the AWB.",
        },
        201,
    )["aggregate_id"]
    call = schedule(office, "office", case, NOW + timedelta(hours=3), subject_kind="case")
    cancelled = office.post(
        "office",
        f"/v1/follow-ups/{call['aggregate_id']}/cancel",
        {"reason": "the customer found it in the portal"},
    )
    rows = office.get(
        "office",
        "/v1/follow-ups",
        min_position=cancelled["position"],
        relationship_id=str(p.customer),
    )["items"]
    by_id = {r["follow_up_id"]: r for r in rows}
    assert (
        by_id[chase["aggregate_id"]]["subject_kind"],
        by_id[chase["aggregate_id"]]["subject_id"],
    ) == (
        "shipment",
        sid,
    )
    assert by_id[chase["aggregate_id"]]["kind"] == "document_to_chase"
    gone = by_id[call["aggregate_id"]]
    assert (gone["subject_kind"], gone["state"], gone["cancel_reason"]) == (
        "case",
        "cancelled",
        "the customer found it in the portal",
    )
    assert [
        r["follow_up_id"]
        for r in office.get("office", "/v1/follow-ups", state="cancelled")["items"]
    ] == [call["aggregate_id"]]


def test_the_refusals(office: Office) -> None:
    huaxin = customer(office, "苏州华芯电子有限公司")
    shanghai = customer(office, "上海远洋贸易", "Shanghai")
    fid = schedule(office, "field", huaxin, NOW + timedelta(hours=2))["aggregate_id"]

    # 422: a due time without its zone, an unknown subject, a subject of another branch,
    # an assignee unknown, of another branch, or who works no follow-ups; no reason.
    naive = schedule(office, "field", huaxin, NOW.replace(tzinfo=None), 422)
    assert "due_at" in problem_field(naive)
    assert "subject_id" in problem_field(schedule(office, "field", str(uuid4()), NOW, 422))
    assert "subject_id" in problem_field(schedule(office, "field", shanghai, NOW, 422))
    # A partner of another branch: every branch reads it, its own branch works it.
    airline = office.post(
        "hq",
        "/v1/relationships",
        {
            "name": "东方航空物流",
            "kind": "partner",
            "industry": "airline",
            "region": "East China",
            "branch": "Shanghai",
        },
        201,
    )["aggregate_id"]
    refused = schedule(office, "field", airline, NOW, 422)
    assert (refused["rule"], problem_field(refused)) == ("subject_id.other_branch", {"subject_id"})
    for assignee in ("nobody.here", "chen.jing", "ma.li"):
        answer = office.post("field", f"/v1/follow-ups/{fid}/assign", {"assignee": assignee}, 422)
        assert "assignee" in problem_field(answer), answer
    assert "assignee" in problem_field(
        schedule(office, "hq", shanghai, NOW, 422, assignee="zhou.min")
    )
    office.post("field", f"/v1/follow-ups/{fid}/cancel", {"reason": ""}, 422)
    office.post("field", f"/v1/follow-ups/{fid}/complete", {}, 422)
    office.post("field", f"/v1/follow-ups/{fid}/assign", {"assignee": "zhou.min"}, 409)

    # 404: no such follow-up, or one of another branch; 403: auditors read only.
    office.post("field", f"/v1/follow-ups/{uuid4()}/cancel", {"reason": "x"}, 404)
    office.post("shanghai", f"/v1/follow-ups/{fid}/cancel", {"reason": "x"}, 404)
    office.get("shanghai", f"/v1/follow-ups/{fid}", 404)
    office.post("auditor", f"/v1/follow-ups/{fid}/cancel", {"reason": "x"}, 403)
    schedule(office, "auditor", huaxin, NOW, 403)
    office.post("field", f"/v1/care-plans/{uuid4()}/end", {"reason": "x"}, 404)
    # Still open and unchanged.
    assert office.services.app.follow_ups.get_follow_up(UUID(fid)).version == 1


def test_a_care_plan_schedules_the_next_follow_up_when_one_completes(office: Office) -> None:
    key_account = customer(office, "苏州华芯电子有限公司", key=True)
    first_due = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Suzhou, two days ago
    plan = office.post(
        "field",
        "/v1/care-plans",
        {
            "relationship_id": key_account,
            "kind": "visit",
            "every": 1,
            "unit": "months",
            "first_due_at": first_due.isoformat(),
            "note": "monthly visit of a key account",
        },
        201,
    )
    pid = plan["aggregate_id"]
    rows = office.get(
        "field", "/v1/follow-ups", min_position=plan["position"], relationship_id=key_account
    )["items"]
    assert [(r["care_plan_id"], r["state"], r["kind"], r["overdue"]) for r in rows] == [
        (pid, "open", "visit", True)
    ]
    assert datetime.fromisoformat(rows[0]["due_at"]) == first_due

    done = office.post(
        "field",
        f"/v1/follow-ups/{rows[0]['follow_up_id']}/complete",
        {"outcome": "Visited the plant manager; volumes steady"},
    )
    rows = office.get(
        "field", "/v1/follow-ups", min_position=done["position"], relationship_id=key_account
    )["items"]
    assert [(r["state"], r["care_plan_id"]) for r in rows] == [("done", pid), ("open", pid)]
    assert datetime.fromisoformat(rows[1]["due_at"]) == datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
    assert rows[1]["assignee"] == "zhou.min"

    ended = office.post("field", f"/v1/care-plans/{pid}/end", {"reason": "account moved"})
    rows = office.get(
        "field", "/v1/follow-ups", min_position=ended["position"], relationship_id=key_account
    )["items"]
    assert [(r["state"], r["cancel_reason"]) for r in rows] == [
        ("done", None),
        ("cancelled", "account moved"),
    ]
    refused = office.post("field", f"/v1/care-plans/{pid}/end", {"reason": "again"}, 409)
    assert refused["rule"] == "care_plan.ended"


def test_my_day_in_the_branchs_time_zone_across_a_day_boundary(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 17:00 UTC on 4 March: already 01:00 on 5 March in Shanghai.
    present = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    office.services.app.clock = PinnedClock(present)
    huaxin = customer(office, "苏州华芯电子有限公司")

    def due(text: str, who: str = "field", **extra: Any) -> str:
        fid: str = schedule(office, who, huaxin, datetime.fromisoformat(text), **extra)[
            "aggregate_id"
        ]
        return fid

    missed = due("2026-03-04T16:00:00+00:00")  # an hour ago
    dawn = due("2026-03-04T20:00:00+00:00")  # 04:00 on the 5th in Shanghai
    evening = due("2026-03-05T10:00:00+00:00")  # 18:00 on the 5th in Shanghai
    next_week = due("2026-03-12T15:00:00+00:00")  # 23:00 on the 12th in Shanghai
    due("2026-03-04T23:30:00+00:00", assignee="zhang.min")  # someone else's
    last = due("2026-03-04T21:00:00+00:00")
    closed = office.post("field", f"/v1/follow-ups/{last}/complete", {"outcome": "done early"})

    def day() -> dict[str, Any]:
        answer: dict[str, Any] = office.get("field", "/v1/my-day", min_position=closed["position"])
        return answer

    def ids(bucket: dict[str, Any]) -> list[str]:
        assert bucket["count"] == len(bucket["items"])
        return [item["follow_up_id"] for item in bucket["items"]]

    shanghai = day()
    assert (shanghai["time_zone"], shanghai["today"]) == ("Asia/Shanghai", "2026-03-05")
    assert ids(shanghai["overdue"]) == [missed]
    assert ids(shanghai["due_today"]) == [dawn, evening]
    assert ids(shanghai["upcoming"]) == [next_week]
    assert all(item["overdue"] for item in shanghai["overdue"]["items"])

    # The company's setting does not move a branch's day; the branch's own zone does.
    monkeypatch.setenv(TIME_ZONE_VARIABLE, "UTC")
    assert (day()["time_zone"], day()["today"]) == ("Asia/Shanghai", "2026-03-05")
    app = office.services.app
    moved = app.branches.change_branch(app.context("admin"), "Suzhou", time_zone="UTC")
    answer = office.get("field", "/v1/my-day", min_position=moved.position)
    utc: dict[str, Any] = answer
    assert (utc["time_zone"], utc["today"]) == ("UTC", "2026-03-04")
    assert ids(utc["overdue"]) == [missed]
    assert ids(utc["due_today"]) == [dawn]
    assert ids(utc["upcoming"]) == [evening]  # the 12th, 15:00 UTC, is eight days on

    # The office's day is its own; an auditor has none.
    assert ids(office.get("office", "/v1/my-day")["due_today"]) != []
    office.get("auditor", "/v1/my-day", 403)


def test_branch_scoping_and_the_branch_managers_overdue_list(office: Office) -> None:
    suzhou = [customer(office, f"苏州客户 {n}") for n in range(3)]
    shanghai = customer(office, "上海远洋贸易", "Shanghai")
    overdue_here = [
        schedule(office, "field", rid, NOW - timedelta(days=n + 1))["aggregate_id"]
        for n, rid in enumerate(suzhou)
    ]
    schedule(office, "field", suzhou[0], NOW + timedelta(days=1))  # not yet due
    there = schedule(office, "shanghai", shanghai, NOW - timedelta(days=1))
    overdue_there = there["aggregate_id"]

    seen = office.get("manager", "/v1/follow-ups", min_position=there["position"], state="overdue")
    assert [r["follow_up_id"] for r in seen["items"]] == overdue_here
    assert {r["branch"] for r in seen["items"]} == {"Suzhou"}
    # Paged.
    first = office.get("manager", "/v1/follow-ups", state="overdue", limit=2)
    assert len(first["items"]) == 2
    rest = office.get(
        "manager", "/v1/follow-ups", state="overdue", limit=2, cursor=first["next_cursor"]
    )
    assert [r["follow_up_id"] for r in first["items"] + rest["items"]] == overdue_here
    assert rest["next_cursor"] is None
    # Another branch's: refused as a filter, absent from every list.
    office.get("manager", "/v1/follow-ups", 403, branch="Shanghai")
    assert office.get("manager", "/v1/follow-ups", relationship_id=shanghai)["items"] == []
    office.get("manager", f"/v1/follow-ups/{overdue_there}", 404)
    # Headquarters and auditors see every branch.
    everything = office.get("hq", "/v1/follow-ups", state="overdue")["items"]
    assert [r["follow_up_id"] for r in everything] == [*overdue_here, overdue_there]
    only = office.get("auditor", "/v1/follow-ups", state="overdue", branch="Shanghai")
    assert [r["follow_up_id"] for r in only["items"]] == [overdue_there]
    assert (
        office.get("hq", "/v1/follow-ups", state="open", assignee="chen.jing")["items"][0][
            "follow_up_id"
        ]
        == overdue_there
    )


def test_overdue_follow_ups_of_a_key_account_show_on_account_status_and_at_risk(
    office: Office,
) -> None:
    key = customer(office, "苏州华芯电子有限公司", key=True)
    plain = customer(office, "吴江纺织")
    late = schedule(office, "field", key, NOW - timedelta(days=2))["aggregate_id"]
    last = schedule(office, "field", plain, NOW - timedelta(days=2))

    account = office.get("manager", f"/v1/relationships/{key}", min_position=last["position"])
    assert account["overdue_follow_ups"] == 1
    at_risk = office.get("manager", "/v1/decisions/customers-at-risk")["items"]
    reasons = {r["customer_id"]: [x["kind"] for x in r["reasons"]] for r in at_risk}
    assert "follow_ups_overdue" in reasons[key]
    assert "follow_ups_overdue" not in reasons.get(plain, [])

    done = office.post("field", f"/v1/follow-ups/{late}/complete", {"outcome": "called"})
    account = office.get("manager", f"/v1/relationships/{key}", min_position=done["position"])
    assert account["overdue_follow_ups"] == 0
    at_risk = office.get("manager", "/v1/decisions/customers-at-risk")["items"]
    assert all("follow_ups_overdue" not in [x["kind"] for x in r["reasons"]] for r in at_risk)
