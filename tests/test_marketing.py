"""Market management over HTTP on real PostgreSQL with live workers and a pinned clock:
segments defined by rules and evaluated live (member counts that follow the read models,
paged members, branch scoping), campaigns planned, started and closed, contacts logged as
interactions tagged with the campaign (once under a retried Idempotency-Key), responses,
leads (a prospect registered, opportunities opened from the campaign) and the results per
branch and in total, exact on a constructed scenario; the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.staff import Role
from interface.runtime import Services
from tests.clock import NOW
from tests.office import Office, open_office
from tests.selling import when
from tests.test_shipment_commands import book, parties

STAFF = {
    "hq": ("li.na", Role.HQ, "Headquarters"),
    "manager": ("zhou.hui", Role.BRANCH_MANAGER, "Suzhou"),
    "field": ("zhou.min", Role.FIELD_STAFF, "Suzhou"),
    "sh_manager": ("wang.lei", Role.BRANCH_MANAGER, "Shanghai"),
    "sh_field": ("chen.jing", Role.FIELD_STAFF, "Shanghai"),
    "auditor": ("ma.li", Role.AUDITOR, "Headquarters"),
}


@pytest.fixture
def office(services: Services) -> Iterator[Office]:
    with open_office(services, STAFF) as opened:
        yield opened


def customer(
    office: Office, name: str, branch: str = "Suzhou", industry: str = "Electronics"
) -> str:
    body = {
        "name": name,
        "kind": "customer",
        "industry": industry,
        "region": "East China",
        "branch": branch,
        "occurred_at": when(-24 * 30),
    }
    rid: str = office.post("hq", "/v1/relationships", body, 201)["aggregate_id"]
    return rid


def fields_of(answer: dict[str, Any]) -> set[str]:
    return {str(e.get("field")) for e in answer.get("errors", [])} | (
        {answer["field"]} if answer.get("field") else set()
    )


def define(office: Office, who: str, rules: dict[str, Any], status: int = 201) -> Any:
    return office.post(
        who, "/v1/segments", {"name": "Electronics exporters", "rules": rules}, status
    )


def test_segments_are_evaluated_live_and_scoped_to_the_branch(office: Office) -> None:
    a = customer(office, "苏州华芯电子有限公司")
    b = customer(office, "苏州新区精密电子")
    customer(office, "苏州丝绸纺织", industry="Textiles")
    d = customer(office, "上海浦东电子", branch="Shanghai")

    # Segments are defined by branch managers and headquarters only.
    define(office, "field", {"industries": ["electronics"]}, 403)
    define(office, "auditor", {"industries": ["electronics"]}, 403)
    seg = define(office, "hq", {"industries": ["electronics"], "kinds": ["customer"]})
    sid = seg["aggregate_id"]

    whole = office.get("hq", f"/v1/segments/{sid}", min_position=seg["position"])
    assert (whole["member_count"], whole["owner_branch"], whole["state"]) == (3, None, "active")
    assert whole["rules"]["industries"] == ["electronics"]
    members = office.get("hq", f"/v1/segments/{sid}/members", limit=2)
    assert [m["relationship_id"] for m in members["items"]] == [a, b]
    rest = office.get("hq", f"/v1/segments/{sid}/members", cursor=members["next_cursor"])
    assert ([m["relationship_id"] for m in rest["items"]], rest["next_cursor"]) == ([d], None)

    # Staff of a branch count and see their own branch's members only.
    mine = office.get("manager", f"/v1/segments/{sid}/members")
    assert mine["member_count"] == 2
    assert {m["branch"] for m in mine["items"]} == {"Suzhou"}
    theirs = office.get("sh_field", f"/v1/segments/{sid}")
    assert theirs["member_count"] == 1

    # The count follows the read models: a new electronics customer is a member at once.
    e = customer(office, "苏州工业园区电子元件")
    pos = office.post("hq", f"/v1/relationships/{d}/change-industry", {"industry": "Logistics"})[
        "position"
    ]
    now = office.get("hq", f"/v1/segments/{sid}", min_position=pos)
    assert now["member_count"] == 3  # a, b, e; d has left the industry
    assert e in {
        m["relationship_id"] for m in office.get("hq", f"/v1/segments/{sid}/members")["items"]
    }

    # A branch manager's segment is their branch's; it names no other branch.
    define(office, "manager", {"branches": ["Shanghai"]}, 403)
    local = define(office, "manager", {"branches": ["Suzhou"], "industries": ["textiles"]})
    lid = local["aggregate_id"]
    assert (
        office.get("manager", f"/v1/segments/{lid}", min_position=local["position"])["member_count"]
        == 1
    )
    office.get("sh_manager", f"/v1/segments/{lid}", 404)
    office.get("sh_manager", f"/v1/segments/{lid}/members", 404)
    listed = office.get("sh_manager", "/v1/segments")
    assert [s["segment_id"] for s in listed["items"]] == [sid]
    assert {s["segment_id"] for s in office.get("hq", "/v1/segments")["items"]} == {sid, lid}
    office.post("sh_manager", f"/v1/segments/{lid}/retire", {"reason": "not ours"}, 404)
    # Its 404 comes before anything of the body is looked at.
    office.post("sh_manager", f"/v1/segments/{lid}/change", {"rules": {"nope": 1}}, 404)
    # Headquarters' segment is read by a branch, changed by headquarters only.
    body = {"name": "x", "rules": {"industries": ["textiles"]}}
    office.post("manager", f"/v1/segments/{sid}/change", body, 403)

    # Changed and retired by events; a retired segment changes no more.
    changed = office.post("manager", f"/v1/segments/{lid}/change", {
        "name": "Suzhou textiles and electronics",
        "rules": {"branches": ["Suzhou"], "industries": ["textiles", "electronics"]},
    })  # fmt: skip
    assert (
        office.get("manager", f"/v1/segments/{lid}", min_position=changed["position"])[
            "member_count"
        ]
        == 4
    )
    office.post("manager", f"/v1/segments/{lid}/retire", {"reason": "merged"})
    office.post("manager", f"/v1/segments/{lid}/retire", {"reason": "again"}, 409)
    office.post("manager", f"/v1/segments/{lid}/change", body, 409)
    segment = office.services.app.marketing.get_segment(UUID(lid))
    assert (segment.defined_by, segment.state.value) == ("zhou.hui", "retired")


def test_rules_are_validated_with_the_field_named(office: Office) -> None:
    for rules, field in (
        ({"industry": ["electronics"]}, "rules.industry"),
        ({"kinds": ["friend"]}, "rules.kinds.0"),
        ({"rfm_segments": ["sleepy"]}, "rules.rfm_segments.0"),
        ({"lanes_shipped": [{"origin": "Suzhou"}]}, "rules.lanes_shipped.0.destination"),
        ({"industries": []}, "rules.industries"),
        ({"min_realised_value": {"amount": "-1", "currency": "USD"}},
         "rules.min_realised_value.amount"),
    ):  # fmt: skip
        answer = define(office, "hq", rules, 422)
        assert any(f.startswith(field) for f in fields_of(answer)), (rules, answer)
    unknown = define(office, "hq", {"branches": ["Atlantis"]}, 422)
    assert fields_of(unknown) == {"rules.branches.0"}
    office.get("hq", f"/v1/segments/{uuid4()}", 404)
    office.get("hq", f"/v1/segments/{uuid4()}/members", 404)


def test_lanes_shipped_and_lifecycle_rules_read_the_audit_and_account_status(
    office: Office,
) -> None:
    app = office.services.app
    p = parties(app)
    shipment = book(app, p)
    other = customer(office, "苏州无运单电子")
    lane = {"origin": "suzhou industrial park, cn", "destination": "CHICAGO, IL, US"}
    seg = define(office, "hq", {"lanes_shipped": [lane]})
    one = office.get("hq", f"/v1/segments/{seg['aggregate_id']}", min_position=seg["position"])
    assert one["member_count"] == 1
    members = office.get("hq", f"/v1/segments/{seg['aggregate_id']}/members")["items"]
    assert [m["relationship_id"] for m in members] == [str(p.customer)]
    assert other not in {m["relationship_id"] for m in members}
    assert office.services.app.shipments.get_shipment(shipment).customer_id == p.customer
    dormant = define(office, "hq", {"lifecycles": ["dormant"], "kinds": ["customer"]})
    sid = dormant["aggregate_id"]
    assert (
        office.get("hq", f"/v1/segments/{sid}", min_position=dormant["position"])["member_count"]
        == 0
    )
    marked = office.post("hq", f"/v1/relationships/{other}/mark-dormant", {"reason": "quiet"})
    assert (
        office.get("hq", f"/v1/segments/{sid}", min_position=marked["position"])["member_count"]
        == 1
    )


def _offering(office: Office) -> str:
    body = {
        "name": "Suzhou–Chicago air",
        "origin": "Suzhou",
        "destination": "Chicago",
        "mode": "air",
        "service_level": "door_to_door",
        "transit_days": 5,
        "occurred_at": when(-24 * 20),
    }
    oid: str = office.post("hq", "/v1/offerings", body, 201)["aggregate_id"]
    return oid


def _plan(office: Office, who: str, segment_id: str, offering_id: str, status: int = 201,
          **overrides: Any) -> Any:  # fmt: skip
    body = {
        "name": "Spring air to Chicago",
        "segment_id": segment_id,
        "offering_id": offering_id,
        "starts_on": NOW.date().isoformat(),
        "ends_on": (NOW.date() + timedelta(days=30)).isoformat(),
        "budget": "5000.00",
        "currency": "usd",
        **overrides,
    }
    return office.post(who, "/v1/campaigns", body, status)


def _contact(office: Office, who: str, rid: str, cid: str, status: int = 200,
             headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    body = {"channel": "call", "direction": "outbound", "summary": "offered the air service",
            "campaign_id": cid}  # fmt: skip
    return office.post(who, f"/v1/relationships/{rid}/interactions", body, status, headers)


def _win(office: Office, oid: str) -> Any:
    for stage in ("tracking", "control", "implementation"):
        office.post("field", f"/v1/opportunities/{oid}/advance", {"to_stage": stage})
    return office.post("field", f"/v1/opportunities/{oid}/won", {"note": "signed"})


def test_a_campaign_from_plan_to_results(office: Office) -> None:
    a = customer(office, "苏州华芯电子有限公司")
    b = customer(office, "苏州新区精密电子")
    c = customer(office, "苏州丝绸纺织", industry="Textiles")
    d = customer(office, "上海浦东电子", branch="Shanghai")
    offering = _offering(office)
    sid = define(office, "hq", {"industries": ["electronics"]})["aggregate_id"]

    # Planned by managers and headquarters, with a valid segment, offering and period.
    _plan(office, "field", sid, offering, 403)
    assert fields_of(_plan(office, "hq", str(uuid4()), offering, 422)) == {"segment_id"}
    assert fields_of(_plan(office, "hq", sid, str(uuid4()), 422)) == {"offering_id"}
    late = _plan(
        office, "hq", sid, offering, 422, ends_on=(NOW.date() - timedelta(days=1)).isoformat()
    )
    assert fields_of(late) == {"ends_on"}
    planned = _plan(office, "hq", sid, offering)
    cid = planned["aggregate_id"]

    # Contacts, responses and leads only while it runs; unknown campaigns are bad input.
    _contact(office, "field", a, cid, 409)
    assert fields_of(_contact(office, "field", a, str(uuid4()), 422)) == {"campaign_id"}
    office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "10.00"}, 409)
    office.post("manager", f"/v1/campaigns/{cid}/start", {}, 403)  # headquarters'
    office.post("hq", f"/v1/campaigns/{cid}/start", {})
    office.post("hq", f"/v1/campaigns/{cid}/start", {}, 409)

    _contact(office, "field", a, cid)
    _contact(office, "field", a, cid)  # a second contact: still one reached
    key = {"Idempotency-Key": f"contact-{uuid4()}"}
    once = _contact(office, "field", b, cid, headers=key)
    again = _contact(office, "field", b, cid, headers=key)
    assert again == once
    assert office.services.app.relationships.get_relationship(UUID(b)).interaction_count == 1
    _contact(office, "sh_field", d, cid)
    _contact(office, "sh_field", a, cid, 404)  # another branch's relationship

    respond = f"/v1/campaigns/{cid}/responses"
    office.post("field", respond, {"relationship_id": a, "response": "interested"})
    office.post("field", respond, {"relationship_id": b, "response": "asked_for_quote"})
    office.post("sh_field", respond, {"relationship_id": d, "response": "not_interested"})
    office.post("field", respond, {"relationship_id": c, "response": "interested"}, 409)
    answer = office.post("sh_field", respond, {"relationship_id": a, "response": "interested"}, 422)
    assert fields_of(answer) == {"relationship_id"}
    office.post("field", respond, {"relationship_id": a, "response": "maybe"}, 422)

    lead = office.client.post(
        f"/v1/campaigns/{cid}/prospects",
        json={"name": "苏州相城电子", "industry": "Electronics", "region": "East China"},
        headers=office.auth("field"),
    )
    assert lead.status_code == 201, lead.text
    prospect = lead.headers["Location"].rsplit("/", 1)[1]
    elsewhere = {"name": "x", "industry": "y", "region": "z", "branch": "Shanghai"}
    office.post("field", f"/v1/campaigns/{cid}/prospects", elsewhere, 422)

    def opportunity(who: str, rid: str, value: str, status: int = 201, **extra: Any) -> Any:
        body = {"relationship_id": rid, "title": "Air to Chicago", "offering_id": offering,
                "expected_value": value, "currency": "USD", "probability": "0.3",
                "source_campaign_id": cid, **extra}  # fmt: skip
        return office.post(who, "/v1/opportunities", body, status)

    won = opportunity("field", a, "240000")["aggregate_id"]
    opportunity("field", b, "100000")
    opportunity("sh_field", d, "80000")
    opportunity("field", a, "1", 422, source_campaign_id=str(uuid4()))
    _win(office, won)

    office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "3000.00", "branch": "Suzhou"})
    office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "1000.00"})
    office.post("sh_manager", f"/v1/campaigns/{cid}/spend", {"amount": "500.00"}, 403)
    last = office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "500.00", "branch": "Suzhou"})
    office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "500.01"}, 409)  # over budget

    results = office.get("hq", f"/v1/campaigns/{cid}/results", min_position=last["position"])
    total = results["total"]
    assert (results["currency"], results["state"]) == ("USD", "running")
    assert (total["reached"], total["responded"], total["prospects_registered"]) == (3, 3, 1)
    assert total["responses"] == {"interested": 1, "not_interested": 1, "asked_for_quote": 1}
    assert (total["opportunities_opened"], total["opportunities_won"], total["customers_won"]) == (
        3,
        1,
        1,
    )
    assert total["won_value"] == [{"currency": "USD", "amount": "240000"}]
    assert (total["spent"], total["cost_per_won_customer"]) == ("4500.00", "4500.00")
    by_branch = {row["branch"]: row for row in results["branches"]}
    assert set(by_branch) == {"Suzhou", "Shanghai"}
    suzhou, shanghai = by_branch["Suzhou"], by_branch["Shanghai"]
    assert (suzhou["reached"], suzhou["opportunities_opened"], suzhou["prospects_registered"]) == (
        2,
        2,
        1,
    )
    assert (suzhou["spent"], suzhou["cost_per_won_customer"]) == ("3500.00", "3500.00")
    assert (shanghai["reached"], shanghai["responded"], shanghai["opportunities_opened"]) == (
        1,
        1,
        1,
    )
    assert (shanghai["customers_won"], shanghai["cost_per_won_customer"]) == (0, None)

    # Staff of a branch see their own branch's figures only.
    theirs = office.get("manager", f"/v1/campaigns/{cid}/results")
    assert [row["branch"] for row in theirs["branches"]] == ["Suzhou"]
    assert (theirs["total"]["reached"], theirs["total"]["spent"]) == (2, "3500.00")

    # The events carry the campaign and the actor.
    relationship = office.services.app.relationships.get_relationship(UUID(b))
    assert relationship.interaction_count == 1
    assert office.services.app.relationships.get_relationship(UUID(prospect)).kind.value == (
        "prospect"
    )
    campaign = office.services.app.marketing.get_campaign(UUID(cid))
    assert campaign.contacted == frozenset({UUID(a), UUID(b), UUID(d)})
    assert office.services.app.sales.get_opportunity(UUID(won)).source_campaign_id == UUID(cid)

    # Closed: nothing more is recorded in it.
    closed = office.post("hq", f"/v1/campaigns/{cid}/close", {"reason": "period over"})
    office.post("hq", f"/v1/campaigns/{cid}/close", {}, 409)
    _contact(office, "field", c, cid, 409)
    opportunity("field", c, "5000", 409)
    office.post("field", respond, {"relationship_id": a, "response": "not_interested"}, 409)
    listed = office.get("auditor", "/v1/campaigns", state="closed", min_position=closed["position"])
    assert [x["campaign_id"] for x in listed["items"]] == [cid]


def test_a_branch_campaign_is_its_branchs(office: Office) -> None:
    offering = _offering(office)
    d = customer(office, "上海浦东电子", branch="Shanghai")
    sid = define(office, "manager", {"branches": ["Suzhou"]})["aggregate_id"]
    hq_segment = define(office, "hq", {})["aggregate_id"]
    assert fields_of(_plan(office, "sh_manager", sid, offering, 422)) == {"segment_id"}
    planned = _plan(office, "manager", sid, offering)
    cid = planned["aggregate_id"]
    office.get("sh_manager", f"/v1/campaigns/{cid}", 404)
    office.get("sh_manager", f"/v1/campaigns/{cid}/results", 404)
    office.post("sh_manager", f"/v1/campaigns/{cid}/start", {}, 404)
    office.post("sh_field", f"/v1/campaigns/{cid}/responses", {"response": "maybe"}, 404)
    office.post("manager", f"/v1/campaigns/{cid}/start", {})
    assert fields_of(_contact(office, "sh_field", d, cid, 422)) == {"campaign_id"}
    got = office.get("manager", f"/v1/campaigns/{cid}", min_position=planned["position"])
    assert (got["owner_branch"], got["planned_by"], got["budget"]) == (
        "Suzhou",
        "zhou.hui",
        "5000.00",
    )
    office.get("sh_manager", f"/v1/campaigns/{uuid4()}", 404)
    deal = {"relationship_id": d, "title": "Air", "offering_id": offering,
            "expected_value": "100", "currency": "USD", "probability": "0.5",
            "source_campaign_id": cid}  # fmt: skip
    assert fields_of(office.post("sh_field", "/v1/opportunities", deal, 422)) == {
        "source_campaign_id"
    }
    # An id already taken, by a record of any kind, is refused.
    office.post("hq", "/v1/segments", {"name": "x", "rules": {}, "segment_id": d}, 409)
    _plan(office, "hq", hq_segment, offering, 409, campaign_id=sid)
    # Headquarters' campaigns on headquarters' segments are worked by every branch.
    hq_campaign = _plan(office, "hq", hq_segment, offering)["aggregate_id"]
    office.post("hq", f"/v1/campaigns/{hq_campaign}/start", {})
    _contact(office, "sh_field", d, hq_campaign)
    office.post("field", f"/v1/campaigns/{cid}/close", {}, 403)
