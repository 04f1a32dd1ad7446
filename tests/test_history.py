"""A customer's history across its aggregates, over HTTP on real PostgreSQL: the
relationship's events and those of its shipments (with their incidents and claims) in
log order, with their metadata and data; filters by time, event name and actor; paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from domain.shipment import Condition, IncidentKind, Shipment
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.engine import rebuild
from projections.history.writer import HistoryProjection
from tests.domain.test_shipment import (
    CUSTOMER,
    IMPORT_CUSTOMS,
    LAPTOPS,
    PARTNER_KINDS,
    at,
    book,
    ctx,
    delivered,
    run_links,
    suzhou_to_chicago,
)
from tests.staffing import enroll
from tests.waiting import read_fresh

OTHER_CUSTOMER = UUID("00000000-0000-4000-8000-00000000c002")


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    services.start_workers()
    token = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def customer(rid: UUID, name: str) -> Relationship:
    return Relationship.register(
        ctx(-24 * 30, actor="sales.zhou"),
        name=name,
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
        relationship_id=rid,
    )


def log_of(services: Services, *aggregate_ids: UUID) -> list[tuple[int, UUID, int, str]]:
    """(position, aggregate id, version, topic) of every event of these aggregates."""
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic "
            "FROM fullchain_events WHERE originator_id = ANY(%s) ORDER BY notification_id",
            (list(aggregate_ids),),
        ).fetchall()
    return [(int(p), UUID(str(a)), int(v), str(t)) for p, a, v, t in rows]


def last_position(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
    assert row is not None
    return int(row[0])


def a_customers_year(services: Services) -> tuple[Relationship, Shipment, Shipment]:
    """The customer, a shipment delivered damaged with an incident and a claim, and one in
    flight, their events interleaved in the log; another customer's shipment besides."""
    app = services.app
    relationship = customer(CUSTOMER, "苏州华芯电子有限公司")
    relationship.add_contact(ctx(-24 * 20, actor="sales.zhou"), contact_id="c1", name="王芳")
    app.save(relationship)
    other = customer(OTHER_CUSTOMER, "昆山精密机械有限公司")
    app.save(other)

    damaged = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    app.save(damaged)
    relationship.log_interaction(
        ctx(72, actor="care.li"),
        interaction_id=uuid4(),
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        summary="called about the damaged cartons",
    )
    app.save(relationship)
    incident = uuid4()
    damaged.report_incident(
        ctx(75),
        incident_id=incident,
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="10 cartons crushed",
        packages_affected=10,
    )
    app.save(damaged)

    in_flight = book()
    run_links(in_flight, 2)
    app.save(in_flight)
    theirs = Shipment.book(
        ctx(-40, actor="sales.zhou"),
        customer_id=OTHER_CUSTOMER,
        reference="KS-2025-0001",
        origin="Kunshan, CN",
        destination="Chicago, IL, US",
        cargo=LAPTOPS,
        links=suzhou_to_chicago(),
        partner_kinds=PARTNER_KINDS,
    )
    run_links(theirs, 2)
    app.save(theirs)

    damaged.file_claim(
        ctx(80, actor="claims.he"),
        claim_id=uuid4(),
        incident_id=incident,
        amount=Decimal("40000.00"),
        currency="USD",
    )
    app.save(damaged)
    run_links(in_flight, 3)
    app.save(in_flight)
    return relationship, damaged, in_flight


def history(
    client: TestClient, rid: UUID, min_position: int | None = None, **params: Any
) -> dict[str, Any]:
    """A page of the history; with ``min_position``, once the index has reached it."""
    path = f"/v1/relationships/{rid}/history"
    if min_position is None:
        response = client.get(path, params=params)
    else:
        response = read_fresh(client, path, min_position=min_position, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_pages(client: TestClient, rid: UUID, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = history(client, rid, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_a_customers_history_holds_every_event_of_it_and_its_shipments_in_log_order(
    client: TestClient, services: Services
) -> None:
    relationship, damaged, in_flight = a_customers_year(services)
    expected = log_of(services, relationship.id, damaged.id, in_flight.id)
    assert {a for _, a, _, _ in expected} == {relationship.id, damaged.id, in_flight.id}

    page = history(client, CUSTOMER, limit=1000, min_position=last_position(services))
    items = page["items"]
    assert page["next_cursor"] is None
    assert [
        (i["position"], UUID(i["aggregate_id"]), i["version"], i["event_name"]) for i in items
    ] == expected
    # Interleaved across aggregates, yet strictly in log order.
    assert [i["position"] for i in items] == sorted(i["position"] for i in items)
    assert items[0]["event_name"] == "Relationship.Registered"
    assert {i["aggregate_type"] for i in items} == {"Relationship", "Shipment"}
    assert "Shipment.IncidentReported" in [i["event_name"] for i in items]
    assert "Shipment.ClaimFiled" in [i["event_name"] for i in items]

    # Every entry carries who, when it happened, when it was recorded, why, and its data.
    stored = {e.originator_version: e for e in services.app.events.get(damaged.id)}
    with services.database.connect() as conn:
        recorded = dict(
            conn.execute(
                "SELECT notification_id, recorded_at FROM fullchain_events "
                "WHERE originator_id = %s",
                (damaged.id,),
            ).fetchall()
        )
    for item in (i for i in items if i["aggregate_id"] == str(damaged.id)):
        event: Any = stored[item["version"]]
        assert item["actor"] == event.actor
        assert item["command_id"] == event.command_id
        assert item["correlation_id"] == event.correlation_id
        assert item["causation_id"] == event.causation_id
        assert datetime.fromisoformat(item["occurred_at"]) == event.occurred_at
        assert datetime.fromisoformat(item["recorded_at"]) == recorded[item["position"]]
        assert not {"actor", "occurred_at", "originator_id", "timestamp"} & set(item["data"])
    booked = next(i for i in items if i["event_name"] == "Shipment.Booked")
    assert booked["data"]["customer_id"] == str(CUSTOMER)
    assert booked["data"]["cargo"]["gross_weight_kg"] == "1800"
    assert booked["data"]["links"][2]["planned_start"] == at(24).isoformat()
    claim = next(i for i in items if i["event_name"] == "Shipment.ClaimFiled")
    assert (claim["actor"], claim["data"]["amount"]) == ("claims.he", "40000.00")
    handover = next(i for i in items if i["event_name"] == "Shipment.CustodyHandedOver")
    assert handover["data"]["to_sequence"] == 1
    assert handover["data"]["condition"] == "good"

    # Not the other customer's, whose own history has its shipment.
    theirs = history(client, OTHER_CUSTOMER, limit=1000)["items"]
    assert {i["aggregate_id"] for i in theirs}.isdisjoint({i["aggregate_id"] for i in items})
    assert {i["aggregate_type"] for i in theirs} == {"Relationship", "Shipment"}


def test_history_filters_by_time_event_name_and_actor(
    client: TestClient, services: Services
) -> None:
    a_customers_year(services)
    everything = history(client, CUSTOMER, limit=1000, min_position=last_position(services))
    items = everything["items"]

    def names(**params: Any) -> list[tuple[int, str]]:
        return [(i["position"], i["event_name"]) for i in all_pages(client, CUSTOMER, **params)]

    def expect(keep: Any) -> list[tuple[int, str]]:
        return [(i["position"], i["event_name"]) for i in items if keep(i)]

    wanted = ["Shipment.CustodyHandedOver", "Relationship.InteractionLogged"]
    assert names(event=wanted) == expect(lambda i: i["event_name"] in wanted)
    assert len(names(event=wanted)) == 10  # 6 + 3 handovers into links, one call
    assert names(actor="claims.he") == expect(lambda i: i["actor"] == "claims.he")
    assert names(actor="care.li", event="Relationship.InteractionLogged") == expect(
        lambda i: i["actor"] == "care.li"
    )
    assert names(actor="nobody") == []

    # Business time: the days around the delivery, whenever they were recorded.
    since, until = at(60), at(76)
    in_window = names(**{"from": since.isoformat(), "to": until.isoformat(), "time": "occurred"})
    assert in_window == expect(lambda i: since <= datetime.fromisoformat(i["occurred_at"]) < until)
    assert len(in_window) >= 5
    # Recording time: from the recording of the fifth entry on, up to the tenth's.
    fifth, tenth = items[4]["recorded_at"], items[9]["recorded_at"]
    assert names(**{"from": fifth, "to": tenth}) == [
        (i["position"], i["event_name"]) for i in items[4:9]
    ]
    assert names(**{"from": fifth}) == [(i["position"], i["event_name"]) for i in items[4:]]

    naive = client.get(f"/v1/relationships/{CUSTOMER}/history", params={"from": "2025-03-03T08:00"})
    assert naive.status_code == 422
    odd = client.get(f"/v1/relationships/{CUSTOMER}/history", params={"time": "booked"})
    assert odd.status_code == 422


def test_history_pages_by_cursor(client: TestClient, services: Services) -> None:
    a_customers_year(services)
    everything = history(client, CUSTOMER, limit=1000, min_position=last_position(services))
    first = history(client, CUSTOMER, limit=7)
    assert len(first["items"]) == 7
    assert first["next_cursor"] is not None
    assert all_pages(client, CUSTOMER, limit=7) == everything["items"]
    assert all_pages(client, CUSTOMER, limit=7, event="Shipment.LinkStarted") == [
        i for i in everything["items"] if i["event_name"] == "Shipment.LinkStarted"
    ]
    bad = client.get(f"/v1/relationships/{CUSTOMER}/history", params={"cursor": "nonsense"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "cursor")
    assert client.get(f"/v1/relationships/{CUSTOMER}/history", params={"limit": 0}).status_code == (
        422
    )


def test_unknown_relationships_are_404_and_reads_can_wait_for_their_position(
    client: TestClient, services: Services
) -> None:
    _, damaged, _ = a_customers_year(services)
    position = last_position(services)
    assert history(client, CUSTOMER, min_position=position)["items"]
    assert client.get(f"/v1/relationships/{uuid4()}/history").status_code == 404
    # A shipment has a history only as part of its customer's.
    assert client.get(f"/v1/relationships/{damaged.id}/history").status_code == 404
    beyond = client.get(
        f"/v1/relationships/{CUSTOMER}/history",
        params={"min_position": position + 1000, "wait": 0},
    )
    assert beyond.status_code == 422  # beyond the end of the log: waiting cannot help
    assert beyond.json()["errors"][0]["field"] == "min_position"


def test_a_rebuild_indexes_the_same_history(services: Services) -> None:
    a_customers_year(services)
    worker = services.worker(HistoryProjection(), batch_size=5)
    worker.catch_up()

    def index() -> list[dict[str, Any]]:
        with services.reads.connection() as conn:
            return [
                *conn.execute("SELECT * FROM history_index ORDER BY position").fetchall(),
                *conn.execute("SELECT * FROM aggregate_owner ORDER BY aggregate_id").fetchall(),
            ]

    before = index()
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT originator_id) FROM fullchain_events "
            "WHERE topic NOT LIKE 'Branch.%%'"  # a branch belongs to no customer
        ).fetchone()
    assert row is not None
    events, aggregates = row
    assert len(before) == events + aggregates  # every event indexed, every aggregate owned
    rebuild(worker)
    assert index() == before


def test_ownership_is_one_function_per_aggregate_type(services: Services) -> None:
    """An aggregate type without an owner rule is in no history; adding a rule is all it
    takes to include it."""
    a_customers_year(services)
    relationships_only = HistoryProjection(owners={"Relationship": lambda e: e.originator_id})
    assert not relationships_only.handles("Shipment.Booked")
    services.worker(relationships_only).catch_up()
    with services.reads.connection() as conn:
        types = conn.execute("SELECT DISTINCT aggregate_type FROM history_index").fetchall()
    assert types == [{"aggregate_type": "Relationship"}]


def test_the_history_never_reads_past_the_index(services: Services) -> None:
    """The query walks the index for one relationship and joins the log by position."""
    a_customers_year(services)
    services.worker(HistoryProjection()).catch_up()
    with services.reads.connection() as conn:
        conn.execute("SET enable_seqscan = off")  # as on a log too big to scan
        plan = conn.execute(
            "EXPLAIN SELECT h.position, e.state FROM history_index h "
            "JOIN fullchain_events e ON e.notification_id = h.position "
            "WHERE h.relationship_id = %s ORDER BY h.position LIMIT 101",
            (CUSTOMER,),
        ).fetchall()
    text = "\n".join(row["QUERY PLAN"] for row in plan)
    assert "fullchain_events_notification_id_idx" in text, text


def test_filters_with_nul_are_refused(services: Services) -> None:
    from fastapi.testclient import TestClient

    from domain.staff import Role
    from interface.http.app import create_app
    from tests.staffing import enroll

    token = enroll(services, "auditor.nul", "Auditor", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        for params in ({"actor": "a\x00b"}, {"event": "Shipment.\x00"}):
            response = c.get(f"/v1/relationships/{uuid4()}/history", params=params)
            assert response.status_code == 422, params
