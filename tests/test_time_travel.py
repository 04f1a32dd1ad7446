"""Time travel on real PostgreSQL: an aggregate at any version or point in time equals the
aggregate its events 1..N build, with and without snapshots; what changed between two
versions; snapshots that round-trip, and those that no longer fit the code."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from application.store.snapshots import AggregateSnapshot, SnapshotOutdated, read_snapshot
from application.time_travel import TimeTravel, changes_between, state_of
from domain.cargo_conditions import CargoObservation, DangerousGoods
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from domain.shipment import ResponsibilityBasis, Shipment
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.snapshots import writer
from projections.snapshots.writer import SnapshotProjection
from tests.domain.test_cargo_conditions import (
    COLD,
    VACCINES,
    carry,
    chain_with_information,
    deliver,
)
from tests.domain.test_shipment import AIR_CARRIAGE, CUSTOMER, book, ctx, mapper
from tests.staffing import enroll
from tests.test_responsibility import seed_case

INTERVAL = 4


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    # Granted personal data: states and diffs are compared with the aggregates in clear.
    token = enroll(
        services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR, Role.PERSONAL_DATA)
    )
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def long_shipment(services: Services) -> Shipment:
    """The seed case (delivered, damaged at import, compensated), then the recovery."""
    shipment, _incident, claim = seed_case(services)
    shipment.claim_recovery(ctx(90), claim_id=claim, amount=Decimal("500"))
    shipment.receive_recovery(ctx(200), claim_id=claim, amount=Decimal("500"))
    shipment.close_claim(ctx(201), claim_id=claim, note="recovered in part")
    shipment.evaluate(ctx(202), rating=3, remarks="damaged at import")
    services.app.save(shipment)
    return shipment


def customer_relationship(services: Services) -> Relationship:
    relationship = Relationship.register(
        ctx(-24 * 30, actor="sales.zhou"),
        name="苏州华芯电子有限公司",
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="East China",
        branch="Suzhou",
        relationship_id=CUSTOMER,
    )
    services.app.save(relationship)
    relationship.add_contact(ctx(-24 * 20), contact_id="c1", name="王芳", email="wang@example.com")
    services.app.save(relationship)
    relationship.qualify_as_target(ctx(-24 * 10), reason="20 t a month to Chicago")
    relationship.log_interaction(
        ctx(-24 * 9),
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="visited the plant",
    )
    services.app.save(relationship)
    relationship.rename(ctx(-24 * 8), name="华芯电子（苏州）有限公司")
    relationship.assign_account_team(ctx(-24 * 7), field_rep="rep.zhao", office_rep="ops.wang")
    services.app.save(relationship)
    return relationship


def canonical(value: object) -> str:
    """A value's repr with its type, where two equal sets always read the same: a set's
    iteration order depends on the order its members were added, not on its members."""
    if isinstance(value, (set, frozenset)):
        return f"{type(value).__name__}{{{', '.join(sorted(canonical(v) for v in value))}}}"
    if isinstance(value, dict):
        pairs = sorted(f"{canonical(k)}: {canonical(v)}" for k, v in value.items())
        return f"{type(value).__name__}{{{', '.join(pairs)}}}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[{', '.join(canonical(v) for v in value)}]"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        named = (f"{f.name}={canonical(getattr(value, f.name))}" for f in fields)
        return f"{type(value).__name__}({', '.join(named)})"
    return repr(value)


def exact(aggregate: Aggregate) -> str:
    """Everything about an aggregate's state, types included (an enum is not its value, a
    tuple is not a list, a frozenset is not a set)."""
    state = sorted((k, v) for k, v in vars(aggregate).items() if k != "_pending_events")
    return canonical(state)


def built_by_events(services: Services, aggregate_id: UUID) -> list[Aggregate]:
    """The aggregate after each of its events, by applying events 1..N; index N-1."""
    states: list[Aggregate] = []
    aggregate: Any = None
    for event in services.app.events.get(aggregate_id):
        aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        states.append(copy.deepcopy(aggregate))
    return states


def take_snapshots(services: Services, *, batch_size: int = 5) -> SnapshotProjection:
    projection = SnapshotProjection(services.app.mapper, interval=INTERVAL)
    services.worker(projection, batch_size=batch_size).catch_up()
    return projection


def snapshot_versions(services: Services, aggregate_id: UUID) -> list[int]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_version FROM fullchain_snapshots WHERE originator_id = %s "
            "ORDER BY originator_version",
            (aggregate_id,),
        ).fetchall()
    return [int(r[0]) for r in rows]


def stored_snapshot(services: Services, aggregate_id: UUID, version: int) -> StoredEvent:
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT topic, state FROM fullchain_snapshots "
            "WHERE originator_id = %s AND originator_version = %s",
            (aggregate_id, version),
        ).fetchone()
    assert row is not None
    return StoredEvent(aggregate_id, version, row[0], bytes(row[1]))


def overwrite_snapshot(services: Services, aggregate_id: UUID, version: int, state: bytes) -> None:
    with services.database.connect() as conn:
        conn.execute(
            "UPDATE fullchain_snapshots SET state = %s "
            "WHERE originator_id = %s AND originator_version = %s",
            (state, aggregate_id, version),
        )


def recorded_at(services: Services, aggregate_id: UUID) -> dict[int, datetime]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_version, recorded_at FROM fullchain_events WHERE originator_id = %s",
            (aggregate_id,),
        ).fetchall()
    return {int(v): t for v, t in rows}


# --- snapshots round-trip -------------------------------------------------------------------


def test_snapshots_of_relationships_and_shipments_round_trip_exactly(services: Services) -> None:
    relationship = customer_relationship(services)
    shipment = long_shipment(services)
    enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR, Role.HQ))
    staff = services.app.staff.get_staff("auditor.qian")
    mapper = services.app.mapper
    for aggregate in (relationship, shipment, staff):
        stored = mapper.to_stored_event(AggregateSnapshot.take(aggregate))
        assert stored.topic == "Snapshot"
        restored = read_snapshot(mapper, stored).mutate(None)
        assert type(restored) is type(aggregate)
        assert (restored.id, restored.version) == (aggregate.id, aggregate.version)
        assert exact(restored) == exact(aggregate)
    # The values that JSON alone would lose: enums, dataclasses, tuples, UUID keys.
    stored_shipment = json.loads(mapper.to_stored_event(AggregateSnapshot.take(shipment)).state)
    assert stored_shipment["state"]["links"]["$tuple"][0]["$dataclass"] == "Link"
    assert stored_shipment["state"]["claims"]["$dict"][0][0] == {
        "_type_": "uuid_hex",
        "_data_": next(iter(shipment.claims)).hex,
    }


def test_a_snapshot_is_the_same_whenever_and_from_whatever_it_is_taken() -> None:
    def interactions(relationship: Relationship, hours: range) -> list[Any]:
        for hour in hours:
            relationship.log_interaction(
                ctx(hour),
                interaction_id=uuid4(),
                channel=Channel.EMAIL,
                direction=Direction.INBOUND,
                summary="asked for a quote",
            )
        return list(relationship.collect_events())

    replayed = Relationship.register(
        ctx(-24 * 30, actor="sales.zhou"),
        name="苏州华芯电子有限公司",
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )
    interactions(replayed, range(40))
    taken = mapper().to_stored_event(AggregateSnapshot.take(replayed))
    # Restored from its snapshot, its set of interactions is rebuilt in another order;
    # both take the same events after it, and are snapshotted at other moments.
    restored: Any = read_snapshot(mapper(), taken).mutate(None)
    for event in interactions(replayed, range(40, 80)):
        restored = event.mutate(restored)
    assert mapper().to_stored_event(AggregateSnapshot.take(restored)) == (
        mapper().to_stored_event(AggregateSnapshot.take(replayed))
    )


def test_a_snapshot_of_an_older_class_version_without_upcaster_is_outdated() -> None:
    class Consignment(Aggregate):
        def __init__(self, reference: str) -> None:
            self.reference = reference

    taken = AggregateSnapshot.take(Consignment(reference="SZX-1"))
    assert taken.mutate(None).reference == "SZX-1"  # type: ignore[attr-defined]
    Consignment.class_version = 2  # type: ignore[attr-defined]  # with no upcast_v1_v2
    with pytest.raises(SnapshotOutdated):
        taken.mutate(None)


# --- state at a version ---------------------------------------------------------------------


def test_the_state_at_every_version_is_what_events_1_to_n_build_without_snapshots(
    services: Services,
) -> None:
    shipment = long_shipment(services)
    expected = built_by_events(services, shipment.id)
    assert len(expected) == shipment.version >= 25
    travel = services.time_travel()
    for version, built in enumerate(expected, 1):
        at = travel.state("Shipment", shipment.id, version=version)
        assert (at.version, at.snapshot_version) == (version, None)
        assert exact(at.aggregate) == exact(built), version
        assert at.as_json()["state"] == state_of(built)


def test_the_state_at_every_version_is_the_same_from_snapshots(services: Services) -> None:
    shipment = long_shipment(services)
    relationship = customer_relationship(services)
    take_snapshots(services)
    assert snapshot_versions(services, shipment.id) == list(
        range(INTERVAL, shipment.version + 1, INTERVAL)
    )
    assert snapshot_versions(services, relationship.id) == [4]
    travel = services.time_travel()
    for aggregate_type, aggregate in (("Shipment", shipment), ("Relationship", relationship)):
        for version, built in enumerate(built_by_events(services, aggregate.id), 1):
            at = travel.state(aggregate_type, aggregate.id, version=version)
            nearest = version // INTERVAL * INTERVAL
            assert at.snapshot_version == (nearest or None), version
            assert exact(at.aggregate) == exact(built), version
    # Switched off, time travel replays from the first event, to the same state.
    replaying = TimeTravel(services.database, snapshots=False)
    try:
        at = replaying.state("Shipment", shipment.id, version=13)
        assert at.snapshot_version is None
        assert exact(at.aggregate) == exact(
            travel.state("Shipment", shipment.id, version=13).aggregate
        )
    finally:
        replaying.close()


def test_the_snapshot_interval_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FULLCHAIN_SNAPSHOT_INTERVAL", raising=False)
    assert SnapshotProjection(mapper()).interval == 100
    monkeypatch.setenv("FULLCHAIN_SNAPSHOT_INTERVAL", "250")
    assert SnapshotProjection(mapper()).interval == 250
    monkeypatch.setenv("FULLCHAIN_SNAPSHOT_INTERVAL", "0")
    with pytest.raises(ValueError, match="positive"):
        SnapshotProjection(mapper())


def test_snapshots_built_from_earlier_snapshots_equal_those_built_event_by_event(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipment = long_shipment(services)
    take_snapshots(services, batch_size=1000)
    cached = {v: stored_snapshot(services, shipment.id, v) for v in (4, 8, 12, 16)}
    with services.database.connect() as conn:
        conn.execute("DELETE FROM fullchain_snapshots")
        conn.execute("DELETE FROM projection_tracking WHERE application_name = 'snapshots'")
    # No aggregate stays cached between events: each snapshot starts from the one before.
    monkeypatch.setattr(writer, "CACHE_SIZE", 0)
    take_snapshots(services, batch_size=3)
    mapper = services.app.mapper
    for version, stored in cached.items():
        again = read_snapshot(mapper, stored_snapshot(services, shipment.id, version))
        assert exact(again.mutate(None)) == exact(read_snapshot(mapper, stored).mutate(None))


def test_taking_snapshots_again_changes_nothing(services: Services) -> None:
    shipment = long_shipment(services)
    take_snapshots(services)
    first = stored_snapshot(services, shipment.id, 8)
    with services.database.connect() as conn:
        conn.execute("DELETE FROM projection_tracking WHERE application_name = 'snapshots'")
    take_snapshots(services)
    assert stored_snapshot(services, shipment.id, 8) == first


def test_time_travel_starts_from_the_nearest_snapshot(services: Services) -> None:
    """A snapshot that says something else (but decodes) shows through: proof it is used."""
    shipment = long_shipment(services)
    take_snapshots(services)
    mapper = services.app.mapper
    altered = read_snapshot(mapper, stored_snapshot(services, shipment.id, 8)).mutate(None)
    altered.reference = "ALTERED"  # type: ignore[attr-defined]
    overwrite_snapshot(
        services, shipment.id, 8, mapper.to_stored_event(AggregateSnapshot.take(altered)).state
    )
    travel = services.time_travel()
    assert travel.state("Shipment", shipment.id, version=11).aggregate.reference == "ALTERED"  # type: ignore[attr-defined]
    assert travel.state("Shipment", shipment.id, version=7).aggregate.reference == (  # type: ignore[attr-defined]
        shipment.reference
    )


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda state: b"\x00 not json", id="undecodable"),
        pytest.param(
            lambda state: state.replace(b'"$dataclass":"Link"', b'"$dataclass":"Leg"'),
            id="value type renamed",
        ),
        pytest.param(
            lambda state: state.replace(b'"$value":"main_carriage"', b'"$value":"teleport"'),
            id="enum member gone",
        ),
        pytest.param(
            lambda state: state.replace(b'"booked_at":', b'"booked_on":'),
            id="attribute renamed",
        ),
        pytest.param(
            lambda state: state.replace(b'"packages":120', b'"pieces":120'),
            id="value type reshaped",
        ),
    ],
)
def test_a_snapshot_that_no_longer_fits_the_code_falls_back_to_replay(
    services: Services, spoil: Any, caplog: pytest.LogCaptureFixture
) -> None:
    shipment = long_shipment(services)
    take_snapshots(services)
    stored = stored_snapshot(services, shipment.id, 12)
    spoilt = spoil(stored.state)
    assert spoilt != stored.state
    overwrite_snapshot(services, shipment.id, 12, spoilt)
    built = built_by_events(services, shipment.id)
    travel = services.time_travel()
    at = travel.state("Shipment", shipment.id, version=14)
    assert at.snapshot_version is None  # replayed from the first event
    assert "snapshot is unusable" in caplog.text
    assert exact(at.aggregate) == exact(built[13])
    assert travel.state("Shipment", shipment.id, version=9).snapshot_version == 8
    # The projection, too, passes over it when it takes the next snapshot.
    with services.database.connect() as conn:
        conn.execute("DELETE FROM fullchain_snapshots WHERE originator_version > 12")
        conn.execute("DELETE FROM projection_tracking WHERE application_name = 'snapshots'")
    projection = SnapshotProjection(services.app.mapper, interval=INTERVAL)
    services.worker(projection, batch_size=1000).catch_up()
    restored = read_snapshot(services.app.mapper, stored_snapshot(services, shipment.id, 16))
    assert exact(restored.mutate(None)) == exact(built[15])


# --- over HTTP --------------------------------------------------------------------------------


def test_state_at_a_version_or_as_of_a_moment_over_http(
    client: TestClient, services: Services
) -> None:
    shipment = long_shipment(services)
    take_snapshots(services)
    built = built_by_events(services, shipment.id)
    times = recorded_at(services, shipment.id)
    base = f"/v1/shipments/{shipment.id}/state"

    body = client.get(base, params={"version": 9}).json()
    assert (body["aggregate_id"], body["aggregate_type"]) == (str(shipment.id), "Shipment")
    assert (body["version"], body["current_version"]) == (9, shipment.version)
    assert body["snapshot_version"] == 8
    assert body["state"] == state_of(built[8])
    assert body["state"]["links"][2]["party"]["relationship_id"] is not None
    assert datetime.fromisoformat(body["recorded_at"]) == times[9]
    event = next(iter(services.app.events.get(shipment.id, gt=8, lte=9)))
    assert datetime.fromisoformat(body["occurred_at"]) == event.occurred_at  # type: ignore[attr-defined]
    assert body["event_name"] == event.TOPIC  # type: ignore[attr-defined]
    assert body["actor"] == "ops.wang"

    now = client.get(base).json()
    assert now["version"] == shipment.version
    assert now["state"]["evaluation"]["rating"] == 3

    # As recorded by a moment: the newest version recorded at or before it.
    for version in (1, 5, 17, shipment.version):
        at = client.get(base, params={"as_of": times[version].isoformat()}).json()
        assert at["version"] == version
    between = times[17] + (times[18] - times[17]) / 2
    assert client.get(base, params={"as_of": between.isoformat()}).json()["version"] == 17
    before = (times[1] - timedelta(seconds=1)).isoformat()
    assert client.get(base, params={"as_of": before}).status_code == 404

    def refused(params: dict[str, Any], status: int = 422) -> dict[str, Any]:
        response = client.get(base, params=params)
        assert response.status_code == status, response.text
        result: dict[str, Any] = response.json()
        return result

    both = refused({"version": 3, "as_of": times[3].isoformat()})
    assert both["rule"] == "time_travel.version_or_as_of"
    beyond = refused({"version": shipment.version + 1})
    assert (beyond["rule"], beyond["errors"][0]["field"]) == ("version.beyond_current", "version")
    assert refused({"version": 0})["errors"][0]["field"] == "version"
    assert refused({"as_of": "2025-03-03T08:00:00"})["rule"] == "as_of.timezone"
    assert client.get(f"/v1/shipments/{uuid4()}/state").status_code == 404
    # A shipment is not a relationship, nor the other way round.
    assert client.get(f"/v1/relationships/{shipment.id}/state").status_code == 404
    assert client.get(f"/v1/shipments/{CUSTOMER}/state").status_code == 404


def test_relationship_state_over_http(client: TestClient, services: Services) -> None:
    relationship = customer_relationship(services)
    base = f"/v1/relationships/{relationship.id}/state"
    first = client.get(base, params={"version": 1}).json()
    assert first["state"]["kind"] == "prospect"
    assert first["state"]["contacts"] == {}
    assert first["event_name"] == "Relationship.Registered"
    now = client.get(base).json()
    assert (now["version"], now["state"]["kind"]) == (relationship.version, "target")
    assert now["state"]["contacts"]["c1"]["email"] == "wang@example.com"
    assert now["state"]["last_interaction"]["channel"] == "visit"


def test_diff_shows_what_changed_and_the_events_between(
    client: TestClient, services: Services
) -> None:
    relationship = customer_relationship(services)
    diff = client.get(
        f"/v1/relationships/{relationship.id}/diff", params={"from": 2, "to": 6}
    ).json()
    assert (diff["from_version"], diff["to_version"]) == (2, 6)
    changed = {c["field"]: (c["old"], c["new"]) for c in diff["changes"]}
    assert changed["kind"] == ("prospect", "target")
    assert changed["name"] == ("苏州华芯电子有限公司", "华芯电子（苏州）有限公司")
    assert changed["field_rep"] == (None, "rep.zhao")
    assert changed["interaction_count"] == (0, 1)
    assert changed["last_interaction"][0] is None
    assert "contacts.c1" not in changed
    assert "industry" not in changed
    assert [(e["name"], e["version"]) for e in diff["events"]] == [
        ("Relationship.QualifiedAsTarget", 3),
        ("Relationship.InteractionLogged", 4),
        ("Relationship.Renamed", 5),
        ("Relationship.AccountTeamAssigned", 6),
    ]
    assert {e["actor"] for e in diff["events"]} == {"ops.wang"}

    shipment = long_shipment(services)
    built = built_by_events(services, shipment.id)
    take_snapshots(services)
    for low, high in ((1, 2), (3, 14), (9, shipment.version), (7, 7)):
        body = client.get(
            f"/v1/shipments/{shipment.id}/diff", params={"from": low, "to": high}
        ).json()
        expected = changes_between(state_of(built[low - 1]), state_of(built[high - 1]))
        assert [(c["field"], c["old"], c["new"]) for c in body["changes"]] == [
            (c.field, c.old, c.new) for c in expected
        ]
        assert [e["version"] for e in body["events"]] == list(range(low + 1, high + 1))
    start = client.get(f"/v1/shipments/{shipment.id}/diff", params={"from": 1, "to": 2}).json()
    assert [(c["field"], c["old"] is None) for c in start["changes"]] == [
        ("links[0].started_at", True)
    ]
    incident = next(iter(shipment.incidents))
    assigned = next(
        v
        for v, e in enumerate(services.app.events.get(shipment.id), 1)
        if isinstance(e, Shipment.ResponsibilityAssigned)
    )
    body = client.get(
        f"/v1/shipments/{shipment.id}/diff", params={"from": assigned - 1, "to": assigned}
    ).json()
    fields = {c["field"]: c["new"] for c in body["changes"]}
    assert fields[f"incidents.{incident}.responsibility_status"] == "assigned"
    responsible = fields[f"incidents.{incident}.responsible"]
    assert responsible["link_sequence"] == AIR_CARRIAGE
    assert responsible["basis"] == ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION.value

    wrong = client.get(f"/v1/shipments/{shipment.id}/diff", params={"from": 5, "to": 4})
    assert (wrong.status_code, wrong.json()["rule"]) == (422, "diff.order")
    beyond = client.get(
        f"/v1/shipments/{shipment.id}/diff", params={"from": 1, "to": shipment.version + 1}
    )
    assert (beyond.status_code, beyond.json()["errors"][0]["field"]) == (422, "to")
    assert client.get(f"/v1/shipments/{shipment.id}/diff", params={"from": 1}).status_code == 422
    assert (
        client.get(f"/v1/shipments/{uuid4()}/diff", params={"from": 1, "to": 2}).status_code == 404
    )


def test_time_travel_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/relationships/{relationship_id}/state",
        "/v1/relationships/{relationship_id}/diff",
        "/v1/shipments/{shipment_id}/state",
        "/v1/shipments/{shipment_id}/diff",
    ):
        operation = spec["paths"][path]["get"]
        assert {"200", "401", "404", "422"} <= set(operation["responses"]), path
        assert operation["tags"] == ["auditors"]
    history = spec["paths"]["/v1/relationships/{relationship_id}/history"]["get"]
    assert {"200", "401", "404", "422", "503"} <= set(history["responses"])


def test_a_snapshot_of_special_cargo_round_trips_its_conditions_and_observations() -> None:
    """Cargo conditions (with their dangerous goods) and what handovers observed are value
    objects inside value objects; the snapshot restores each exactly."""
    cargo = dataclasses.replace(
        VACCINES,
        conditions=dataclasses.replace(COLD, dangerous_goods=DangerousGoods.of("1845", "9")),
    )
    shipment = book(chain_with_information(), cargo=cargo)
    carry(shipment, 6, observed={5: CargoObservation.of(max_temperature_c=Decimal("9.5"))})
    deliver(shipment, CargoObservation.of(temperature_c=Decimal(4), seals_intact=True))
    taken = mapper().to_stored_event(AggregateSnapshot.take(shipment))
    restored: Any = read_snapshot(mapper(), taken).mutate(None)
    assert exact(restored) == exact(shipment)
    assert restored.cargo == cargo
    assert restored.links[4].received.observed == CargoObservation(max_temperature_c=Decimal("9.5"))
    assert [b.to_sequence for b in restored.condition_breaches()] == [5]
