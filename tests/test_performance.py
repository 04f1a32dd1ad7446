"""Staff performance and incentives (奖惩) over HTTP on real PostgreSQL with live workers and
a pinned clock: a constructed February of two branches' staff — visits and calls, follow-ups
on time and late, an opportunity advanced and won, first responses within SLA and late,
ratings, an incident on a booked shipment — counted per ISO week and month in each branch's
time zone; the proposals the incentive rules make (none for a fact before the rules), clean
months once ended; confirmation and rejection by managers with their reasons, once; the
history and the ranking; who sees whom (内勤看外勤) and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.follow_up import FollowUpKind, SubjectKind
from domain.incentive import Incentive, clean_month_proposal_id
from domain.liability import TransportMode
from domain.offering import Lane, ServiceLevel
from domain.opportunity import Stage
from domain.relationship import Channel, Direction, RelationshipKind
from domain.service_case import CaseKind, Priority
from domain.shipment import IncidentKind, LinkFunction, LinkPlan, Party
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.selling import get, post
from tests.staffing import enroll
from tests.test_shipment_commands import LAPTOPS

STAFF = {
    "hq": ("li.na", Role.HQ, "Headquarters"),
    "field": ("zhou.min", Role.FIELD_STAFF, "Suzhou"),
    "field2": ("wu.fang", Role.FIELD_STAFF, "Suzhou"),
    "office": ("zhang.min", Role.OFFICE_STAFF, "Suzhou"),
    "manager": ("zhou.hui", Role.BRANCH_MANAGER, "Suzhou"),
    "shanghai": ("chen.jing", Role.FIELD_STAFF, "Shanghai"),
    "shanghai_manager": ("gao.lin", Role.BRANCH_MANAGER, "Shanghai"),
    "chicago": ("sam.lee", Role.FIELD_STAFF, "Chicago"),
    "auditor": ("ma.li", Role.AUDITOR, "Headquarters"),
}

RULES = {
    "opportunity_won": 50,
    "sla_kept": 5,
    "clean_month": 20,
    "sla_breached": 10,
    "shipment_incident": 15,
}


def feb(day: int, hour: float = 2) -> datetime:
    """A moment of February 2026, UTC (02:00 UTC is 10:00 in Suzhou)."""
    return datetime(2026, 2, day, int(hour), int(hour % 1 * 60), tzinfo=UTC)


@dataclass
class Office:
    client: TestClient
    tokens: dict[str, str]
    services: Services
    position: int = 0

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, who: str, path: str, body: dict[str, Any], status: int = 201) -> Any:
        answer = post(self.client, path, body, status, headers=self.auth(who))
        if status < 300:
            self.position = max(self.position, int(answer["position"]))
        return answer

    def put(self, who: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        response = self.client.put(path, json=body, headers=self.auth(who))
        assert response.status_code == status, response.text
        if status < 300:
            self.position = max(self.position, int(response.json()["position"]))
        return response.json()

    def get(self, who: str, path: str, expect: int = 200, **params: Any) -> Any:
        return get(
            self.client,
            path,
            expect,
            headers=self.auth(who),
            min_position=self.position or None,
            **params,
        )


@pytest.fixture
def office(services: Services) -> Iterator[Office]:
    services.start_workers()
    tokens = {
        who: enroll(services, staff_id, staff_id, roles=(role,), branch=branch)
        for who, (staff_id, role, branch) in STAFF.items()
    }
    with TestClient(create_app(services)) as client:
        yield Office(client, tokens, services)


@dataclass
class February:
    won: UUID
    kept: UUID
    breached: UUID
    shipment: UUID


def construct(office: Office) -> February:
    """The month's work, through the service as staff would command it."""
    app = office.services.app

    def ctx(actor: str, moment: datetime) -> Any:
        return app.context(actor, occurred_at=moment)

    def register(name: str, branch: str, kind: RelationshipKind) -> UUID:
        return app.relationships.register_relationship(
            ctx("li.na", datetime(2026, 1, 2, tzinfo=UTC)),
            name=name,
            kind=kind,
            industry="electronics",
            region="East China",
            branch=branch,
        ).aggregate_id

    huaxin = register("苏州华芯电子有限公司", "Suzhou", RelationshipKind.CUSTOMER)
    pudong = register("上海浦东精密机械有限公司", "Shanghai", RelationshipKind.CUSTOMER)
    lakeside = register("Lakeside Components Inc.", "Chicago", RelationshipKind.CUSTOMER)
    airline = register("申航国际货运航空有限公司", "Shanghai", RelationshipKind.PARTNER)
    offering = app.sales.launch_offering(
        ctx("li.na", feb(1, 0)),
        name="Suzhou–Chicago air",
        lane=Lane("Suzhou", "Chicago", TransportMode.AIR),
        service_level=ServiceLevel.DOOR_TO_DOOR,
        transit_days=5,
    ).aggregate_id

    def opportunity(actor: str, rid: UUID, day: int, *, advance: int, win: bool) -> UUID:
        oid = app.sales.identify_opportunity(
            ctx(actor, feb(day)),
            relationship_id=rid,
            title="Monthly exports by air",
            offering_id=offering,
            expected_value=Decimal("100000"),
            currency="USD",
            probability=Decimal("0.5"),
        ).aggregate_id
        stages = (Stage.TRACKING, Stage.CONTROL, Stage.IMPLEMENTATION)
        for n, stage in enumerate(stages[:advance], start=1):
            app.sales.advance_opportunity(ctx(actor, feb(day, 2 + n)), oid, to_stage=stage)
        if win:
            app.sales.mark_opportunity_won(ctx(actor, feb(day, 6)), oid)
        return oid

    # Before the rules are set: Shanghai's win is measured, and proposes nothing.
    opportunity("chen.jing", pudong, 4, advance=3, win=True)
    office.put("hq", "/v1/incentive-rules", {"points": RULES, "note": "2026 scheme"})

    def interaction(actor: str, rid: UUID, moment: datetime, channel: Channel) -> None:
        app.relationships.log_interaction(
            ctx(actor, moment),
            rid,
            interaction_id=uuid4(),
            channel=channel,
            direction=Direction.OUTBOUND,
            summary=f"{channel.value} with the buyer",
        )

    # zhou.min, field, Suzhou: 01:00 on 1 February in Suzhou is still January in UTC, and
    # in ISO week 5 (1 February 2026 is a Sunday).
    interaction("zhou.min", huaxin, datetime(2026, 1, 31, 17, tzinfo=UTC), Channel.VISIT)
    interaction("zhou.min", huaxin, feb(2), Channel.VISIT)
    interaction("zhou.min", huaxin, feb(3), Channel.VISIT)
    interaction("zhou.min", huaxin, feb(10), Channel.VISIT)
    interaction("zhou.min", huaxin, feb(10, 3), Channel.CALL)
    interaction("zhou.min", huaxin, feb(10, 4), Channel.EMAIL)  # not a visit or a call
    # 23:30 on 31 January UTC is February in Suzhou, but the month before in UTC: counted
    # by the branch's zone above; this one is 31 January in Suzhou too.
    interaction("zhou.min", huaxin, datetime(2026, 1, 31, 15, tzinfo=UTC), Channel.VISIT)
    won = opportunity("zhou.min", huaxin, 11, advance=3, win=True)
    # Follow-ups: one done on time, one late (documents to chase: their emails are no
    # visits or calls).
    for due, done in ((feb(17), feb(16)), (feb(17), feb(18))):
        fid = app.follow_ups.schedule_follow_up(
            ctx("zhang.min", feb(13)),
            subject_kind=SubjectKind.RELATIONSHIP,
            subject_id=huaxin,
            kind=FollowUpKind.DOCUMENT_TO_CHASE,
            due_at=due,
            assignee="zhou.min",
        ).aggregate_id
        app.follow_ups.complete_follow_up(ctx("zhou.min", done), fid, outcome="received")
    shipment = app.shipments.book_shipment(
        ctx("zhou.min", feb(20)),
        customer_id=huaxin,
        reference="SZV-260220-001",
        origin="Suzhou Industrial Park, CN",
        destination="Chicago, IL, US",
        cargo=LAPTOPS,
        links=[
            LinkPlan(
                LinkFunction.PICKUP,
                Party.our_branch("Suzhou"),
                feb(21),
                feb(21, 8),
                TransportMode.ROAD,
            ),
            LinkPlan(
                LinkFunction.MAIN_CARRIAGE,
                Party.partner(airline),
                feb(22),
                feb(23),
                TransportMode.AIR,
            ),
        ],
    ).aggregate_id
    app.shipments.report_incident(
        ctx("zhang.min", feb(21, 9)),
        shipment,
        incident_id=uuid4(),
        link_sequence=1,
        kind=IncidentKind.DELAY,
        description="the truck came four hours late",
    )

    # zhang.min, office, Suzhou: a normal case answered in 3 h (due in 8), a high one in
    # 6 h (due in 4); both resolved and rated 4 and 2.
    def case(priority: Priority, opened: datetime, answered: datetime, rating: int) -> UUID:
        cid = app.cases.open_case(
            ctx("zhang.min", opened),
            relationship_id=huaxin,
            kind=CaseKind.INQUIRY,
            priority=priority,
            subject="Where is the invoice?",
            description="The buyer asks for the January invoice.",
        ).aggregate_id
        app.cases.assign_case(ctx("zhou.hui", opened), cid, owner="zhang.min")
        app.cases.respond_to_case(ctx("zhang.min", answered), cid, summary="sent")
        app.cases.resolve_case(ctx("zhang.min", answered), cid, resolution="resent")
        app.cases.rate_case(ctx("zhang.min", answered), cid, rating=rating)
        return cid

    kept = case(Priority.NORMAL, feb(5, 9), feb(5, 12), 4)
    breached = case(Priority.HIGH, feb(6, 0), feb(6, 6), 2)

    # wu.fang, field, Suzhou: two calls, nothing amiss: a clean month; and a visit in March,
    # a month that has not ended.
    interaction("wu.fang", huaxin, feb(9), Channel.CALL)
    interaction("wu.fang", huaxin, feb(24), Channel.CALL)
    interaction("wu.fang", huaxin, datetime(2026, 3, 2, 2, tzinfo=UTC), Channel.VISIT)
    # chen.jing, Shanghai: a visit. sam.lee, Chicago: a visit at 21:00 on 28 February in
    # Chicago (1 March in UTC and in Suzhou): February, ISO week 9, in Chicago's zone.
    interaction("chen.jing", pudong, feb(12), Channel.VISIT)
    interaction("sam.lee", lakeside, datetime(2026, 3, 1, 3, tzinfo=UTC), Channel.VISIT)
    result = app.relationships.log_interaction(
        ctx("sam.lee", datetime(2026, 3, 1, 4, tzinfo=UTC)),
        lakeside,
        interaction_id=uuid4(),
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        summary="thanks",
    )
    office.position = max(office.position, result.position)
    return February(won=won, kept=kept, breached=breached, shipment=shipment)


ZERO = {
    "visits": 0,
    "calls": 0,
    "follow_ups_on_time": 0,
    "follow_ups_late": 0,
    "opportunities_advanced": 0,
    "opportunities_won": 0,
    "cases_within_sla": 0,
    "cases_breached": 0,
    "ratings": 0,
    "satisfaction": None,
    "shipment_incidents": 0,
}


def figures(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ZERO}


def by_staff(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["staff_id"]: i for i in answer["staff"]}


def test_a_month_of_staff_scores_proposals_decisions_and_the_ranking(office: Office) -> None:
    feb_ = construct(office)

    # --- figures, per month and per week, in each branch's zone -----------------------
    month = office.get("hq", "/v1/performance", period="2026-02")
    staff = by_staff(month)
    assert sorted(staff) == ["chen.jing", "sam.lee", "wu.fang", "zhang.min", "zhou.min"]
    assert figures(staff["zhou.min"]) == ZERO | {
        "visits": 4,
        "calls": 1,
        "follow_ups_on_time": 1,
        "follow_ups_late": 1,
        "opportunities_advanced": 3,
        "opportunities_won": 1,
        "shipment_incidents": 1,
    }
    assert figures(staff["zhang.min"]) == ZERO | {
        "cases_within_sla": 1,
        "cases_breached": 1,
        "ratings": 2,
        "satisfaction": 3.0,
    }
    assert figures(staff["wu.fang"]) == ZERO | {"calls": 2}
    assert figures(staff["chen.jing"]) == ZERO | {
        "visits": 1,
        "opportunities_advanced": 3,
        "opportunities_won": 1,
    }
    assert figures(staff["sam.lee"]) == ZERO | {"visits": 1}
    assert {i["staff_id"]: i["points"] for i in month["staff"]} == dict.fromkeys(staff, 0)
    teams = {t["branch"]: t for t in month["teams"]}
    assert sorted(teams) == ["Chicago", "Shanghai", "Suzhou"]
    assert figures(teams["Suzhou"]) == ZERO | {
        "visits": 4,
        "calls": 3,
        "follow_ups_on_time": 1,
        "follow_ups_late": 1,
        "opportunities_advanced": 3,
        "opportunities_won": 1,
        "cases_within_sla": 1,
        "cases_breached": 1,
        "ratings": 2,
        "satisfaction": 3.0,
        "shipment_incidents": 1,
    }
    assert teams["Suzhou"]["staff"] == 3

    week5 = by_staff(office.get("hq", "/v1/performance", period="2026-W05"))
    assert {k: figures(v)["visits"] for k, v in week5.items()} == {"zhou.min": 2}
    week6 = by_staff(office.get("hq", "/v1/performance", period="2026-W06"))
    assert figures(week6["zhou.min"]) == ZERO | {"visits": 2}
    assert figures(week6["zhang.min"])["cases_breached"] == 1
    assert week6["zhou.min"]["points"] is None  # points count per month
    week9 = by_staff(office.get("hq", "/v1/performance", period="2026-W09"))
    assert sorted(week9) == ["sam.lee", "wu.fang"]
    january = by_staff(office.get("hq", "/v1/performance", period="2026-01"))
    assert figures(january["zhou.min"]) == ZERO | {"visits": 1}

    # --- proposals ----------------------------------------------------------------------
    proposed = office.get("manager", "/v1/incentives/proposed", period="2026-02")
    got = [(p["staff_id"], p["measure"], p["points"]) for p in proposed["items"]]
    assert got == [
        ("zhou.min", "opportunity_won", 50),
        ("zhou.min", "shipment_incident", -15),
        ("zhang.min", "sla_kept", 5),
        ("zhang.min", "sla_breached", -10),
        ("wu.fang", "clean_month", 20),
    ]
    assert {p["period"] for p in proposed["items"]} == {"2026-02"}
    every = office.get("hq", "/v1/incentives/proposed", period="2026-02")["items"]
    cleans = [(p["staff_id"], p["branch"]) for p in every if p["measure"] == "clean_month"]
    # chen.jing's win came before the rules: no proposal, but the month is clean.
    assert cleans == [("sam.lee", "Chicago"), ("chen.jing", "Shanghai"), ("wu.fang", "Suzhou")]
    assert len(every) == 7
    ids = {(p["staff_id"], p["measure"]): p["proposal_id"] for p in every}
    assert office.get("hq", "/v1/incentives/proposed", period="2026-03")["items"] == []

    # --- decisions ------------------------------------------------------------------------
    def decide(who: str, key: tuple[str, str], verb: str, reason: str, status: int = 201) -> Any:
        return office.post(who, f"/v1/incentives/{ids[key]}/{verb}", {"reason": reason}, status)

    decide("manager", ("zhou.min", "opportunity_won"), "confirm", "Huaxin's air contract")
    decide(
        "manager",
        ("zhou.min", "shipment_incident"),
        "reject",
        "the trucker's delay, not the booking",
    )
    decide("manager", ("zhang.min", "sla_kept"), "confirm", "answered in three hours")
    decide("manager", ("zhang.min", "sla_breached"), "confirm", "six hours on a high case")
    decide("manager", ("wu.fang", "clean_month"), "confirm", "a clean February")
    decide("hq", ("chen.jing", "clean_month"), "confirm", "a clean February")
    # Once only: confirmed, or rejected, it stays so.
    twice = decide("manager", ("zhou.min", "opportunity_won"), "confirm", "again", 409)
    assert twice["rule"] == "incentive.decided"
    decide("hq", ("zhou.min", "shipment_incident"), "confirm", "on second thoughts", 409)
    # Another branch's proposal is none to a branch manager; field staff decide nothing.
    decide("shanghai_manager", ("sam.lee", "clean_month"), "confirm", "x", 404)
    decide("manager", ("chen.jing", "clean_month"), "reject", "x", 404)
    decide("field", ("sam.lee", "clean_month"), "confirm", "x", 403)
    decide("auditor", ("sam.lee", "clean_month"), "confirm", "x", 403)
    office.post("hq", f"/v1/incentives/{uuid4()}/confirm", {"reason": "x"}, 404)
    office.post("hq", f"/v1/incentives/{ids['sam.lee', 'clean_month']}/confirm", {}, 422)
    # March has not ended: its clean month is not proposed yet.
    march = clean_month_proposal_id("wu.fang", "2026-03")
    refused = office.post("hq", f"/v1/incentives/{march}/confirm", {"reason": "early"}, 409)
    assert refused["rule"] == "incentive.not_proposed"

    left = office.get("hq", "/v1/incentives/proposed", period="2026-02")["items"]
    assert [(p["staff_id"], p["measure"]) for p in left] == [("sam.lee", "clean_month")]
    assert office.get("manager", "/v1/incentives/proposed", period="2026-02")["items"] == []

    # --- history, figures with points, ranking ------------------------------------------
    mine = office.get("field", "/v1/staff/zhou.min/performance", period="2026-02")
    assert [
        (h["measure"], h["decision"], h["points"], h["decided_by"]) for h in mine["history"]
    ] == [
        ("shipment_incident", "rejected", -15, "zhou.hui"),
        ("opportunity_won", "confirmed", 50, "zhou.hui"),
    ]
    assert mine["history"][0]["reason"] == "the trucker's delay, not the booking"
    assert mine["points"] == 50
    assert mine["proposed"] == []
    assert [(w["week"], w["visits"], w["calls"]) for w in mine["weeks"]] == [
        ("2026-W05", 1, 0),
        ("2026-W06", 2, 0),
        ("2026-W07", 1, 1),
        ("2026-W08", 0, 0),
    ]
    assert mine["figures"] == figures(staff["zhou.min"])

    points = {
        i["staff_id"]: i["points"]
        for i in office.get("manager", "/v1/performance", period="2026-02")["staff"]
    }
    assert points == {"zhou.min": 50, "zhang.min": -5, "wu.fang": 20}

    company = office.get("hq", "/v1/incentives/ranking", period="2026-02")
    assert [(r["rank"], r["staff_id"], r["points"]) for r in company["staff"]] == [
        (1, "zhou.min", 50),
        (2, "chen.jing", 20),
        (2, "wu.fang", 20),
        (4, "zhang.min", -5),
    ]
    assert [(r["rank"], r["branch"], r["points"], r["staff"]) for r in company["branches"]] == [
        (1, "Suzhou", 65, 3),
        (2, "Shanghai", 20, 1),
    ]
    suzhou = office.get("field", "/v1/incentives/ranking", period="2026-02")
    assert suzhou["branch"] == "Suzhou"
    assert [r["staff_id"] for r in suzhou["staff"]] == ["zhou.min", "wu.fang", "zhang.min"]
    assert suzhou["branches"] == company["branches"]
    shanghai = office.get("hq", "/v1/incentives/ranking", period="2026-02", branch="Shanghai")
    assert [(r["rank"], r["staff_id"]) for r in shanghai["staff"]] == [(1, "chen.jing")]

    # The decisions are events with their actors, in the log; the award names its source.
    app = office.services.app
    decided = app.commands.current(Incentive, UUID(ids["zhou.min", "opportunity_won"]))
    assert (decided.points, decided.reason, decided.period, decided.source) == (
        50,
        "Huaxin's air contract",
        "2026-02",
        f"opportunity {feb_.won}",
    )
    assert [getattr(e, "actor", None) for e in app.events.get(decided.id)] == ["zhou.hui"]


def test_office_staff_see_their_field_colleagues_and_no_one_else(office: Office) -> None:
    construct(office)

    def seen(who: str, **params: Any) -> list[str]:
        answer = office.get(who, "/v1/performance", period="2026-02", **params)
        return [i["staff_id"] for i in answer["staff"]]

    assert seen("field") == ["zhou.min"]
    assert seen("field2") == ["wu.fang"]
    assert seen("office") == ["wu.fang", "zhang.min", "zhou.min"]  # 内勤看外勤
    assert seen("manager") == ["wu.fang", "zhang.min", "zhou.min"]
    assert seen("shanghai_manager") == ["chen.jing"]
    assert seen("auditor") == ["sam.lee", "chen.jing", "wu.fang", "zhang.min", "zhou.min"]
    assert seen("hq", branch="Suzhou") == ["wu.fang", "zhang.min", "zhou.min"]
    office.get("manager", "/v1/performance", 403, period="2026-02", branch="Shanghai")

    office.get("office", "/v1/staff/zhou.min/performance", period="2026-02")
    office.get("field", "/v1/staff/wu.fang/performance", 403, period="2026-02")
    office.get("field", "/v1/staff/zhang.min/performance", 403, period="2026-02")
    office.get("manager", "/v1/staff/chen.jing/performance", 404, period="2026-02")
    office.get("hq", "/v1/staff/nobody/performance", 404, period="2026-02")
    assert (
        office.get("hq", "/v1/staff/chen.jing/performance", period="2026-W07")["figures"]["visits"]
        == 1
    )
    office.get("field", "/v1/incentives/proposed", 403, period="2026-02")
    office.get("office", "/v1/incentives/proposed", 403, period="2026-02")
    office.get("manager", "/v1/incentives/proposed", 403, period="2026-02", branch="Shanghai")


def test_rules_are_set_by_headquarters_and_periods_are_checked(office: Office) -> None:
    assert office.get("field", "/v1/incentive-rules") == {"points": None, "position": None}
    office.put("manager", "/v1/incentive-rules", {"points": RULES}, 403)
    office.put("hq", "/v1/incentive-rules", {"points": {"sla_kept": -1}}, 422)
    office.put("hq", "/v1/incentive-rules", {"points": {"bonus": 5}}, 422)
    office.put("hq", "/v1/incentive-rules", {"points": {"sla_kept": 100_001}}, 422)
    first = office.put("hq", "/v1/incentive-rules", {"points": {"sla_kept": 3}})
    assert office.get("field", "/v1/incentive-rules")["points"] == {
        "opportunity_won": 0,
        "sla_kept": 3,
        "clean_month": 0,
        "sla_breached": 0,
        "shipment_incident": 0,
    }
    stale = office.client.put(
        "/v1/incentive-rules",
        json={"points": RULES},
        headers=office.auth("hq") | {"If-Match": '"7"'},
    )
    assert stale.status_code == 412, stale.text
    office.put("hq", "/v1/incentive-rules", {"points": RULES})
    assert office.get("auditor", "/v1/incentive-rules")["points"] == RULES
    assert first["version"] == 1

    for period in (
        "2026-13",
        "2026-00",
        "26-02",
        "2026-W54",
        "2026-W00",
        "2025-W53",
        "feb",
        "0000-01",
    ):
        answer = office.get("hq", "/v1/performance", 422, period=period)
        assert [e["field"] for e in answer["errors"]] == ["period"], answer
    office.get("hq", "/v1/performance", period="2026-W53")  # 2026 has 53 ISO weeks
    office.get("hq", "/v1/incentives/proposed", 422, period="2026-W05")
    office.get("hq", "/v1/incentives/ranking", 422, period="2026-W05")
    office.get("hq", "/v1/staff/li.na/performance", 422, period="2026/02")
    office.get("hq", "/v1/performance", 422)  # the period is required


def test_a_staff_member_who_moves_counts_for_each_branch_in_turn(office: Office) -> None:
    """Facts carry the branch the staff member was of when they happened: the month shows
    a row per branch, their own figures are the sum, and the branch they left no longer
    sees them as its own."""
    app = office.services.app
    customers = {
        branch: app.relationships.register_relationship(
            app.context("li.na", occurred_at=datetime(2026, 1, 2, tzinfo=UTC)),
            name=f"{branch} Components",
            kind=RelationshipKind.CUSTOMER,
            industry="electronics",
            region="East China",
            branch=branch,
        ).aggregate_id
        for branch in ("Suzhou", "Shanghai")
    }

    def visit(branch: str, day: int) -> int:
        return app.relationships.log_interaction(
            app.context("zhou.min", occurred_at=feb(day)),
            customers[branch],
            interaction_id=uuid4(),
            channel=Channel.VISIT,
            direction=Direction.OUTBOUND,
            summary="visit",
        ).position

    visit("Suzhou", 2)
    visit("Suzhou", 3)
    app.staff.move_staff_to_branch(
        app.context("admin", occurred_at=feb(9)), "zhou.min", branch="Shanghai"
    )
    office.position = visit("Shanghai", 12)

    month = office.get("hq", "/v1/performance", period="2026-02")
    rows = [(i["staff_id"], i["branch"], i["visits"]) for i in month["staff"]]
    assert rows == [("zhou.min", "Shanghai", 1), ("zhou.min", "Suzhou", 2)]
    assert [(t["branch"], t["staff"], t["visits"]) for t in month["teams"]] == [
        ("Shanghai", 1, 1),
        ("Suzhou", 1, 2),
    ]
    own = office.get("hq", "/v1/staff/zhou.min/performance", period="2026-02")
    assert (own["branch"], own["figures"]["visits"]) == ("Shanghai", 3)
    assert [(w["week"], w["visits"]) for w in own["weeks"]] == [("2026-W06", 2), ("2026-W07", 1)]
    office.get("manager", "/v1/staff/zhou.min/performance", 404, period="2026-02")
    office.get("shanghai_manager", "/v1/staff/zhou.min/performance", period="2026-02")
    suzhou = office.get("manager", "/v1/performance", period="2026-02")
    assert [(i["staff_id"], i["visits"]) for i in suzhou["staff"]] == [("zhou.min", 2)]
