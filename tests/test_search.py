"""One search over relationships, contacts and shipments, over HTTP on real PostgreSQL:
Chinese substrings, pinyin and initials, case and width, contact names, phones and emails,
shipment references and transport documents; ranked, paged, branch-scoped, refused when
the query is not one; a rename and a removed contact seen at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.liability import TransportMode
from domain.shipment import Cargo, Condition, LinkFunction, LinkPlan, Party
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.freshness import encode_cursor
from projections.search.queries import SEARCH_SQL, SearchScope, search_parameters
from projections.search.text import query_key
from tests.clock import NOW
from tests.staffing import enroll
from tests.waiting import read_fresh

START = NOW - timedelta(days=10)


@dataclass
class World:
    hq: TestClient
    suzhou: TestClient
    services: Services
    ids: dict[str, UUID]
    shipment: UUID
    position: int

    def search(self, q: str, client: TestClient | None = None, **params: Any) -> dict[str, Any]:
        response = read_fresh(
            client or self.hq, "/v1/search", min_position=self.position, q=q, **params
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def found(self, q: str, client: TestClient | None = None, **params: Any) -> list[str]:
        """What the search finds, as "kind label" in its order."""
        return [f"{i['kind']} {i['label']}" for i in self.search(q, client, **params)["items"]]

    def post(self, path: str, body: dict[str, Any]) -> int:
        response = self.hq.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        self.position = int(response.json()["position"])
        return self.position


RELATIONSHIPS = [
    ("huaxin", "苏州华芯电子有限公司", "customer", "Suzhou"),
    ("huaxin_trading", "华芯贸易", "prospect", "Suzhou"),
    ("shanghai", "上海远洋贸易有限公司", "customer", "Shanghai"),
    ("abc", "ABC Precision Molding", "customer", "Suzhou"),
    ("airline", "申航国际货运航空有限公司", "partner", "Shanghai"),
]


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    services.start_workers()
    app = services.app
    hq_token = enroll(services, "li.wei", "Li Wei 李伟")
    suzhou_token = enroll(
        services, "zhou.min", "Zhou Min 周敏", roles=(Role.OFFICE_STAFF,), branch="Suzhou"
    )
    with TestClient(create_app(services)) as hq, TestClient(create_app(services)) as suzhou:
        hq.headers["Authorization"] = f"Bearer {hq_token}"
        suzhou.headers["Authorization"] = f"Bearer {suzhou_token}"
        world = World(hq, suzhou, services, {}, UUID(int=0), 0)
        for key, name, kind, branch in RELATIONSHIPS:
            response = hq.post(
                "/v1/relationships",
                json={
                    "name": name,
                    "kind": kind,
                    "industry": "electronics",
                    "region": "East China",
                    "branch": branch,
                },
            )
            assert response.status_code == 201, response.text
            world.ids[key] = UUID(response.json()["aggregate_id"])
        contacts = [
            ("huaxin", "c1", "王建国", "+86 138-0013 8000", "Wang.JianGuo@huaxin-elec.cn"),
            ("huaxin", "c2", "Anna Schmidt", "0512 6688 1234", None),
            ("shanghai", "c1", "陈华芯", "+86 21 5555 0101", "chen@yuanyang.sh.cn"),
        ]
        for key, cid, name, phone, email in contacts:
            body = {"contact_id": cid, "name": name, "phone": phone, "email": email}
            world.post(f"/v1/relationships/{world.ids[key]}/contacts", body)

        # A shipment of 华芯's: booked, picked up, and its AWB signed at the airline.
        def plan(function: LinkFunction, party: Party, day: int, mode: TransportMode) -> LinkPlan:
            begins = START + timedelta(days=day)
            return LinkPlan(function, party, begins, begins + timedelta(days=1), mode)

        def ctx(hours: float) -> Any:
            return app.context("li.wei", occurred_at=START + timedelta(hours=hours))

        shipment = app.shipments.book_shipment(
            ctx(-48),
            customer_id=world.ids["huaxin"],
            reference="SZV-251110-007",
            origin="Suzhou Industrial Park, CN",
            destination="Chicago, IL, US",
            cargo=Cargo(
                description="laptop computers, 120 cartons",
                packages=120,
                gross_weight_kg=Decimal("1800"),
                declared_value=Decimal("480000"),
                currency="USD",
            ),
            links=[
                plan(LinkFunction.PICKUP, Party.our_branch("Suzhou"), 0, TransportMode.ROAD),
                plan(
                    LinkFunction.MAIN_CARRIAGE,
                    Party.partner(world.ids["airline"]),
                    1,
                    TransportMode.AIR,
                ),
            ],
        ).aggregate_id
        app.shipments.start_link(ctx(0), shipment, sequence=1)
        app.shipments.hand_over(
            ctx(1), shipment, to_sequence=1, condition=Condition.GOOD, signed_by="driver"
        )
        app.shipments.complete_link(ctx(20), shipment, sequence=1)
        app.shipments.start_link(ctx(24), shipment, sequence=2)
        world.position = app.shipments.hand_over(
            ctx(25),
            shipment,
            to_sequence=2,
            condition=Condition.GOOD,
            signed_by="PVG cargo terminal",
            reference="AWB 999-53829639",
        ).position
        world.shipment = shipment
        yield world


def test_a_chinese_name_is_found_by_a_part_of_it(world: World) -> None:
    assert world.found("华芯", kind="relationship") == [
        "relationship 华芯贸易",  # the whole name begins with it
        "relationship 苏州华芯电子有限公司",
    ]
    hit = world.search("华芯电子")["items"][0]
    assert hit["relationship_id"] == str(world.ids["huaxin"])
    assert hit["match"] == "substring"
    assert world.found("有限公司", kind="relationship") == [
        "relationship 苏州华芯电子有限公司",
        "relationship 上海远洋贸易有限公司",
        "relationship 申航国际货运航空有限公司",
    ]
    assert world.found("华芯电子上海") == []


def test_a_chinese_name_is_found_by_its_pinyin_and_initials(world: World) -> None:
    assert world.found("huaxin", kind="relationship") == [
        "relationship 华芯贸易",
        "relationship 苏州华芯电子有限公司",
    ]
    assert world.found("hxdz") == ["relationship 苏州华芯电子有限公司"]
    assert world.found("szhxdz") == ["relationship 苏州华芯电子有限公司"]
    hit = world.search("suzhouhuaxin")["items"][0]
    assert (hit["label"], hit["match"]) == ("苏州华芯电子有限公司", "prefix")
    assert world.found("HuaXin Dianzi") == ["relationship 苏州华芯电子有限公司"]


def test_latin_is_found_whatever_its_case_and_width(world: World) -> None:
    for q in ("abc precision", "ＡＢＣ", "ａｂｃ ｐｒｅｃｉｓｉｏｎ", "PRECISION MOLD"):
        assert world.found(q, kind="relationship") == ["relationship ABC Precision Molding"], q
    assert world.search("ABC PRECISION MOLDING")["items"][0]["match"] == "exact"


def test_contacts_by_name_phone_and_email(world: World) -> None:
    by_name = world.search("王建国")["items"]
    assert [(h["kind"], h["relationship_name"], h["contact_id"]) for h in by_name] == [
        ("contact", "苏州华芯电子有限公司", "c1")
    ]
    assert world.found("wangjianguo") == ["contact 王建国"]
    assert world.found("anna") == ["contact Anna Schmidt"]
    for phone in (
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "8613800138000",
        "0013 8000",
    ):
        hits = world.search(phone)["items"]
        assert [(h["kind"], h["label"]) for h in hits] == [("contact", "王建国")], phone
        assert hits[0]["matched"] == "+86 138-0013 8000"
    assert world.found("0512-66881234") == ["contact Anna Schmidt"]
    hit = world.search("WANG.JIANGUO@HUAXIN-ELEC.CN")["items"][0]
    assert (hit["label"], hit["match"], hit["matched"]) == (
        "王建国",
        "exact",
        "Wang.JianGuo@huaxin-elec.cn",
    )


def test_shipments_by_reference_and_transport_document(world: World) -> None:
    for q in ("SZV-251110-007", "szv251110", "251110-007"):
        hits = world.search(q)["items"]
        assert [(h["kind"], h["shipment_id"]) for h in hits] == [
            ("shipment", str(world.shipment))
        ], q
        assert hits[0]["relationship_name"] == "苏州华芯电子有限公司"
    for q in ("AWB 999-53829639", "999-53829639", "53829639", "awb99953829639"):
        hits = world.search(q)["items"]
        assert [(h["kind"], h["label"], h["matched"]) for h in hits] == [
            ("shipment", "SZV-251110-007", "AWB 999-53829639")
        ], q


def test_names_before_contacts_and_better_matches_first(world: World) -> None:
    # 华芯: two relationships' names, then the Shanghai contact 陈华芯, then nothing else.
    hits = world.search("华芯")["items"]
    assert [(h["kind"], h["label"], h["match"]) for h in hits] == [
        ("relationship", "华芯贸易", "prefix"),
        ("relationship", "苏州华芯电子有限公司", "substring"),
        ("contact", "陈华芯", "substring"),
    ]
    # A whole name before a name that only begins with the query, whatever their kinds.
    world.post(
        "/v1/relationships",
        {
            "name": "华芯",
            "kind": "prospect",
            "industry": "electronics",
            "region": "East China",
            "branch": "Suzhou",
        },
    )
    assert world.found("华芯")[:2] == ["relationship 华芯", "relationship 华芯贸易"]
    assert world.found("华芯", kind="contact") == ["contact 陈华芯"]


def test_pages_follow_each_other_in_rank(world: World) -> None:
    everything = world.found("华芯")
    pages: list[str] = []
    cursor = None
    while True:
        extra: dict[str, str] = {"cursor": cursor} if cursor else {}
        body = world.search("华芯", None, limit=1, **extra)
        assert len(body["items"]) <= 1
        pages += [f"{i['kind']} {i['label']}" for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == everything
    assert len(pages) == 3
    # A cursor of another list, or one naming no place in a search, is refused.
    for forged in ("cDEw", encode_cursor(1 << 70, "s"), encode_cursor(-1, "s")):
        response = world.hq.get("/v1/search", params={"q": "华芯", "cursor": forged})
        assert response.status_code == 422, response.text


def test_staff_of_a_branch_find_only_their_branchs_customers(world: World) -> None:
    # HQ finds the Shanghai customer; Suzhou's office staff do not, nor its contact, but
    # find the partner (the company's) whatever its branch.
    assert world.found("上海远洋") == ["relationship 上海远洋贸易有限公司"]
    assert world.found("上海远洋", world.suzhou) == []
    assert world.found("chen@yuanyang", world.suzhou) == []
    assert world.found("陈华芯", world.suzhou) == []
    assert world.found("2155550101", world.suzhou) == []
    assert world.found("华芯", world.suzhou) == [
        "relationship 华芯贸易",
        "relationship 苏州华芯电子有限公司",
    ]
    assert world.found("申航", world.suzhou) == ["relationship 申航国际货运航空有限公司"]
    assert world.found("53829639", world.suzhou) == ["shipment SZV-251110-007"]

    # Moved to Shanghai, 华芯电子 and its contacts and shipment leave Suzhou's search.
    world.post(
        f"/v1/relationships/{world.ids['huaxin']}/move-to-branch",
        {"region": "East China", "branch": "Shanghai"},
    )
    assert world.found("华芯", world.suzhou) == ["relationship 华芯贸易"]
    assert world.found("53829639", world.suzhou) == []
    assert world.found("王建国", world.suzhou) == []
    assert world.found("53829639") == ["shipment SZV-251110-007"]


def test_a_renamed_relationship_is_found_by_its_new_name_only(world: World) -> None:
    rid = world.ids["abc"]
    world.post(f"/v1/relationships/{rid}/rename", {"name": "昆山精密模具有限公司"})
    assert world.found("ABC Precision") == []
    assert world.found("精密模具") == ["relationship 昆山精密模具有限公司"]
    assert world.found("ksjmmj") == ["relationship 昆山精密模具有限公司"]
    # Its contacts and shipments carry the new name too.
    world.post(f"/v1/relationships/{world.ids['huaxin']}/rename", {"name": "华芯半导体"})
    [hit] = world.search("53829639")["items"]
    assert hit["relationship_name"] == "华芯半导体"


def test_a_removed_contact_is_found_no_more_and_a_changed_one_by_its_new_details(
    world: World,
) -> None:
    rid = world.ids["huaxin"]
    assert world.found("Anna") == ["contact Anna Schmidt"]
    world.post(f"/v1/relationships/{rid}/contacts/c2/remove", {})
    assert world.found("Anna") == []
    assert world.found("66881234") == []
    world.post(f"/v1/relationships/{rid}/contacts/c1/change", {"phone": "139 1234 5678"})
    assert world.found("13800138000") == []
    assert world.found("13912345678") == ["contact 王建国"]
    assert world.found("王建国") == ["contact 王建国"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "华\x00芯"}, "q"),
        ({"q": "  -- !! "}, "q"),
        ({"q": "华芯", "kind": "partner"}, "kind"),
        ({"q": "华芯", "limit": 0}, "limit"),
        ({"q": "华芯", "min_position": 10**9}, "min_position"),
    ],
)
def test_a_query_that_is_not_one_is_refused(
    world: World, params: dict[str, Any], field: str
) -> None:
    response = world.hq.get("/v1/search", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_searching_takes_a_staff_member(world: World) -> None:
    assert (
        world.hq.get("/v1/search", params={"q": "华芯"}, headers={"Authorization": ""}).status_code
        == 401
    )


def test_the_search_finds_its_candidates_through_the_grams_index(world: World) -> None:
    """On a table this small the planner would rather scan it; forbidden to, it must be able
    to answer the search from the GIN index (the query keeps the index usable)."""
    world.found("华芯")  # the read model is up to date
    parameters = search_parameters(
        query_key("华芯"),
        scope=SearchScope("Suzhou", frozenset()),
        kind=None,
        limit=20,
        cursor=None,
    )
    with world.services.reads.connection() as conn, conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r["QUERY PLAN"] for r in conn.execute("EXPLAIN " + SEARCH_SQL, parameters))
    assert "Bitmap Index Scan on search_entry_grams_idx" in plan, plan
    assert "Index Scan using search_owner_pkey" in plan, plan
