"""Opportunity mining over HTTP, on real PostgreSQL: a relationship's suggestions with
their reasons in both languages, replayed as of an earlier moment, read in the roles that
may and refused to the others, branch-scoped; the managers' ranked, paged view; and the
demo, whose every customer has suggestions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.liability import TransportMode
from domain.offering import Lane, ServiceLevel
from domain.relationship import RelationshipKind
from domain.shipment import Cargo, Charges, LinkFunction, LinkPlan, Party
from domain.staff import Role
from interface.demo import load_demo
from interface.http.app import create_app
from interface.runtime import Services
from projections.decisions.suggestions import SUGGESTION_READ_MODELS, load_market
from tests.clock import NOW
from tests.conftest import fresh_database, open_services
from tests.selling import get
from tests.staffing import enroll

STAFF = {
    "hq": ("li.na", Role.HQ, "Headquarters"),
    "field": ("zhou.min", Role.FIELD_STAFF, "Suzhou"),
    "office": ("zhang.min", Role.OFFICE_STAFF, "Suzhou"),
    "manager": ("zhou.hui", Role.BRANCH_MANAGER, "Suzhou"),
    "shanghai": ("chen.jing", Role.FIELD_STAFF, "Shanghai"),
    "shanghai_manager": ("wang.fang", Role.BRANCH_MANAGER, "Shanghai"),
    "auditor": ("ma.li", Role.AUDITOR, "Headquarters"),
}

#: The first shipment of the history, and the last.
FIRST = NOW - timedelta(days=200)
LAST = NOW - timedelta(days=20)


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    services: Services
    huaxin: UUID
    heartland: UUID
    antai: UUID
    sea_rail: UUID
    air: UUID

    def get(self, who: str, path: str, expect: int = 200, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return get(self.client, path, expect, headers=headers, **params)


def _register(s: Services, name: str, kind: RelationshipKind, branch: str, industry: str) -> UUID:
    return s.app.relationships.register_relationship(
        s.app.context("zhang.min", occurred_at=NOW - timedelta(days=400)),
        name=name,
        kind=kind,
        industry=industry,
        region="East China",
        branch=branch,
    ).aggregate_id


def _ship(
    s: Services,
    customer: UUID,
    carrier: UUID,
    booked: datetime,
    origin: str,
    mode: TransportMode,
    per_kg: int,
) -> None:
    start = booked + timedelta(hours=12)
    suzhou = Party.our_branch("Suzhou")
    s.app.shipments.book_shipment(
        s.app.context("zhang.min", occurred_at=booked),
        customer_id=customer,
        reference=f"SZV-{booked:%y%m%d}-{per_kg:03d}",
        origin=origin,
        destination="Chicago, IL, US",
        cargo=Cargo(
            description="laptop computers, 100 cartons",
            packages=100,
            gross_weight_kg=Decimal(1000),
            declared_value=Decimal(300000),
            currency="USD",
        ),
        links=[
            LinkPlan(LinkFunction.PICKUP, suzhou, start, start + timedelta(hours=6), ROAD),
            LinkPlan(
                LinkFunction.MAIN_CARRIAGE,
                Party.partner(carrier),
                start + timedelta(hours=6),
                start + timedelta(hours=40),
                mode,
            ),
        ],
        charges=Charges(amount=Decimal(per_kg * 1000), currency="USD"),
    )


ROAD = TransportMode.ROAD
CUSTOMER, PARTNER = RelationshipKind.CUSTOMER, RelationshipKind.PARTNER


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    s = services
    tokens = {
        who: enroll(s, staff_id, staff_id, roles=(role,), branch=branch)
        for who, (staff_id, role, branch) in STAFF.items()
    }
    huaxin = _register(s, "苏州华芯电子有限公司", CUSTOMER, "Suzhou", "electronics")
    heartland = _register(s, "Heartland Electronics", CUSTOMER, "Suzhou", "electronics")
    antai = _register(s, "上海安泰生物制药有限公司", CUSTOMER, "Shanghai", "pharma")
    carrier = _register(s, "申航国际货运航空有限公司", PARTNER, "Shanghai", "air cargo")
    launch = s.app.context("li.na", occurred_at=NOW - timedelta(days=300))
    air = s.app.sales.launch_offering(
        launch,
        name="Suzhou–Chicago Air",
        lane=Lane("Suzhou", "Chicago", TransportMode.AIR),
        service_level=ServiceLevel.DOOR_TO_DOOR,
        transit_days=5,
    ).aggregate_id
    sea_rail = s.app.sales.launch_offering(
        launch.then("sea and rail"),
        name="Ningbo–Chicago Sea & Rail",
        lane=Lane("Ningbo", "Chicago", TransportMode.SEA),
        service_level=ServiceLevel.DOOR_TO_DOOR,
        transit_days=30,
    ).aggregate_id
    # 华芯 ships Suzhou → Chicago by air every month, at 6 USD a kilogram; its peer ships
    # Ningbo → Chicago by sea and rail at 1 USD.
    for month in range(7):
        booked = FIRST + timedelta(days=30 * month)
        _ship(s, huaxin, carrier, booked, "Suzhou Industrial Park, CN", TransportMode.AIR, 6)
    for n in range(3):
        booked = FIRST + timedelta(days=70 + 40 * n)
        _ship(s, heartland, carrier, booked, "Ningbo, CN", TransportMode.SEA, 1)
    for projection in s.projections:
        if projection.name in SUGGESTION_READ_MODELS:
            s.worker(projection).catch_up()
    with TestClient(create_app(s)) as client:
        yield World(client, tokens, s, huaxin, heartland, antai, sea_rail, air)


def test_a_customer_is_suggested_the_sea_and_rail_on_its_lane_with_the_reason(
    world: World,
) -> None:
    answer = world.get("field", f"/v1/relationships/{world.huaxin}/suggestions")
    assert answer["relationship_id"] == str(world.huaxin)
    assert NOW <= datetime.fromisoformat(answer["as_of"]) < NOW + timedelta(minutes=1)
    [first, *rest] = answer["items"]
    assert first["offering_id"] == str(world.sea_rail)
    assert first["offering_name"] == "Ningbo–Chicago Sea & Rail"
    # A lane upgrade at a sixth of its price a kilogram; its one peer uses it too.
    assert first["kind"] == "lane_upgrade"
    assert Decimal(first["score"]) > Decimal("0.9")
    assert first["reason_en"] == (
        "ships Suzhou Industrial Park→Chicago air monthly with us (7 shipments); "
        "Ningbo–Chicago Sea & Rail serves Chicago (sea, door to door, 30 days), "
        "at 1.00 USD/kg against its 6.00: saves 83%"
    )
    assert first["reason_zh"] == (
        "每月经我司Suzhou Industrial Park→Chicago空运（7票）；Ningbo–Chicago Sea & Rail"
        "同样送达Chicago（海运，30天），每公斤1.00 USD，较其每公斤6.00节省83%"
    )
    assert rest == []  # what it already buys is not suggested
    # Its peer is suggested the air lane it does not use.
    peer = world.get("office", f"/v1/relationships/{world.heartland}/suggestions")
    assert [i["offering_id"] for i in peer["items"]] == [str(world.air)]


def test_as_of_replays_the_history_as_it_stood(world: World) -> None:
    # Before the peer's first sea shipment and after 华芯's third: a lane upgrade only.
    as_of = FIRST + timedelta(days=61)
    answer = world.get(
        "manager", f"/v1/relationships/{world.huaxin}/suggestions", as_of=as_of.isoformat()
    )
    assert datetime.fromisoformat(answer["as_of"]) == as_of
    [upgrade] = answer["items"]
    assert upgrade["kind"] == "lane_upgrade"
    assert upgrade["reason_en"].startswith(
        "ships Suzhou Industrial Park→Chicago air monthly with us (3 shipments); "
        "Ningbo–Chicago Sea & Rail serves Chicago (sea, door to door, 30 days)"
    )
    # The peer's sea price is not known yet, so no saving is claimed.
    assert "saves" not in upgrade["reason_en"]
    # Before anything was shipped: nothing to suggest.
    empty = world.get(
        "hq",
        f"/v1/relationships/{world.huaxin}/suggestions",
        as_of=(FIRST - timedelta(days=1)).isoformat(),
    )
    assert empty["items"] == []


def test_relationship_suggestions_refuse_bad_input_other_branches_and_other_roles(
    world: World,
) -> None:
    path = f"/v1/relationships/{world.huaxin}/suggestions"
    for bad in ("yesterday", "2026-03-01T09:00:00"):  # not a time; no offset
        problem = world.get("hq", path, 422, as_of=bad)
        assert "as_of" in str(problem)
    world.get("hq", "/v1/relationships/not-a-uuid/suggestions", 422)
    world.get("hq", f"/v1/relationships/{uuid4()}/suggestions", 404)
    # Another branch's customer answers as one that does not exist.
    world.get("shanghai", path, 404)
    assert world.get("shanghai", f"/v1/relationships/{world.antai}/suggestions")["items"] == []
    world.get("auditor", path, 403)
    for who in ("field", "office", "manager", "hq"):
        world.get(who, path)


def test_the_managers_view_ranks_their_customers_suggestions_a_page_at_a_time(
    world: World,
) -> None:
    whole = world.get("hq", "/v1/decisions/suggestions")
    assert [(i["name"], i["offering_name"]) for i in whole["items"]] == [
        ("苏州华芯电子有限公司", "Ningbo–Chicago Sea & Rail"),
        ("Heartland Electronics", "Suzhou–Chicago Air"),
    ]
    assert whole["next_cursor"] is None
    scores = [Decimal(i["score"]) for i in whole["items"]]
    assert scores == sorted(scores, reverse=True)
    first = world.get("manager", "/v1/decisions/suggestions", limit=1)
    assert [i["relationship_id"] for i in first["items"]] == [str(world.huaxin)]
    assert first["items"][0]["branch"] == "Suzhou"
    second = world.get("manager", "/v1/decisions/suggestions", limit=1, cursor=first["next_cursor"])
    assert [i["relationship_id"] for i in second["items"]] == [str(world.heartland)]
    assert second["next_cursor"] is None
    only = world.get("hq", "/v1/decisions/suggestions", kind="peer_adoption")
    assert [i["relationship_id"] for i in only["items"]] == [str(world.heartland)]
    # A branch manager sees their own branch only.
    assert world.get("shanghai_manager", "/v1/decisions/suggestions")["items"] == []
    world.get("manager", "/v1/decisions/suggestions", 403, branch="Shanghai")
    world.get("auditor", "/v1/decisions/suggestions")
    world.get("field", "/v1/decisions/suggestions", 403)
    world.get("office", "/v1/decisions/suggestions", 403)
    world.get("hq", "/v1/decisions/suggestions", 422, cursor="not-ours")
    world.get("hq", "/v1/decisions/suggestions", 422, as_of="2026-03-01")
    world.get("hq", "/v1/decisions/suggestions", 422, kind="upsell")


def test_every_customer_of_the_demo_has_suggestions(server_conninfo: str) -> None:
    with fresh_database(server_conninfo) as database:
        services = open_services(database, NOW, branches=False)
        try:
            load_demo(services, now=NOW)
            for projection in services.projections:
                if projection.name in SUGGESTION_READ_MODELS:
                    services.worker(projection).catch_up()
            with services.reads.connection() as conn:
                market = load_market(conn, as_of=NOW)
                customers = [
                    r["relationship_id"]
                    for r in conn.execute(
                        "SELECT relationship_id FROM account_status WHERE kind = 'customer'"
                    ).fetchall()
                ]
        finally:
            services.close()
    assert len(customers) >= 15
    kinds: set[str] = set()
    for rid in customers:
        suggestions = market.suggestions(rid)
        assert suggestions, rid
        assert all(s.reason_en and s.reason_zh for s in suggestions)
        kinds |= {s.kind.value for s in suggestions}
    assert kinds == {"lane_upgrade", "peer_adoption", "at_risk_retention", "cross_sell"}
