"""The chain is worked by whoever runs each link (协同), over HTTP on real PostgreSQL.

Suzhou books a six-link air export to Chicago; the import customs and the bonded
warehouse are run by our Chicago branch. Chicago's office staff record their own links —
start, handovers into and out of them, an incident at one, its coordination — and read the
shipment; a link Suzhou or a partner runs, and every command of the shipment itself, stay
Suzhou's (403, with the reason). Shanghai, which runs nothing of it, does not see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.liability import TransportMode
from domain.relationship import RelationshipKind
from domain.shipment import Cargo, LinkFunction, LinkPlan, Party
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.staffing import enroll

PICKUP, EXPORT_CUSTOMS, AIR_CARRIAGE, IMPORT_CUSTOMS, WAREHOUSING, DELIVERY = range(1, 7)

START = NOW - timedelta(days=21)


def at(hours: float) -> str:
    moment: datetime = START + timedelta(hours=hours)
    return moment.isoformat()


@dataclass
class Chain:
    client: TestClient
    services: Services
    shipment: UUID
    airline: UUID
    trucker: UUID
    suzhou: dict[str, str]
    chicago: dict[str, str]
    shanghai: dict[str, str]

    @property
    def base(self) -> str:
        return f"/v1/shipments/{self.shipment}"

    def version(self) -> int:
        return self.services.app.shipments.get_shipment(self.shipment).version

    def post(self, who: dict[str, str], path: str, body: dict[str, Any], status: int = 200) -> Any:
        response = self.client.post(f"{self.base}{path}", json=body, headers=who)
        assert response.status_code == status, (path, response.text)
        return response.json()


@pytest.fixture
def chain(services: Services) -> Iterator[Chain]:
    app = services.app

    def register(name: str, kind: RelationshipKind, branch: str) -> UUID:
        return app.relationships.register_relationship(
            app.context("qian.lin", occurred_at=START - timedelta(days=30)),
            name=name,
            kind=kind,
            industry="logistics",
            region="East China",
            branch=branch,
        ).aggregate_id

    customer = register("苏州华芯电子有限公司", RelationshipKind.CUSTOMER, "Suzhou")
    airline = register("申航国际货运航空有限公司", RelationshipKind.PARTNER, "Shanghai")
    trucker = register("Lakeshore Trucking", RelationshipKind.PARTNER, "Chicago")
    suzhou, chicago = Party.our_branch("Suzhou"), Party.our_branch("Chicago")
    start = START

    def plan(
        function: LinkFunction, party: Party, day: int, mode: TransportMode | None
    ) -> LinkPlan:
        return LinkPlan(
            function,
            party,
            start + timedelta(hours=24 * day),
            start + timedelta(hours=24 * day + 24),
            mode,
        )

    shipment = app.shipments.book_shipment(
        app.context("li.wei", occurred_at=START - timedelta(hours=48)),
        customer_id=customer,
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
            plan(LinkFunction.PICKUP, suzhou, 0, TransportMode.ROAD),
            plan(LinkFunction.EXPORT_CUSTOMS, suzhou, 1, None),
            plan(LinkFunction.MAIN_CARRIAGE, Party.partner(airline), 2, TransportMode.AIR),
            plan(LinkFunction.IMPORT_CUSTOMS, chicago, 3, None),
            plan(LinkFunction.WAREHOUSING, chicago, 4, None),
            plan(LinkFunction.DELIVERY, Party.partner(trucker), 5, TransportMode.ROAD),
        ],
    ).aggregate_id
    office = (Role.OFFICE_STAFF,)
    tokens = {
        branch: enroll(services, staff_id, name, roles=office, branch=branch)
        for branch, staff_id, name in (
            ("Suzhou", "li.wei", "Li Wei"),
            ("Chicago", "emily.johnson", "Emily Johnson"),
            ("Shanghai", "zhou.hai", "Zhou Hai"),
        )
    }
    with TestClient(create_app(services)) as client:
        yield Chain(
            client=client,
            services=services,
            shipment=shipment,
            airline=airline,
            trucker=trucker,
            suzhou={"Authorization": f"Bearer {tokens['Suzhou']}"},
            chicago={"Authorization": f"Bearer {tokens['Chicago']}"},
            shanghai={"Authorization": f"Bearer {tokens['Shanghai']}"},
        )


def run_link(chain: Chain, who: dict[str, str], sequence: int, hours: float) -> None:
    """The link before completes, this one starts and takes custody (all as ``who``)."""
    if sequence > 1:
        chain.post(who, f"/links/{sequence - 1}/complete", {"occurred_at": at(hours)})
    chain.post(who, f"/links/{sequence}/start", {"occurred_at": at(hours)})
    handover = {
        "to_sequence": sequence,
        "condition": "good",
        "signed_by": f"receiver of link {sequence}",
        "occurred_at": at(hours + 1),
    }
    chain.post(who, "/handovers", handover)


def refused(chain: Chain, who: dict[str, str], path: str, body: dict[str, Any]) -> str:
    """The 403 the command gets, having written nothing; its reason."""
    before = chain.version()
    detail = chain.post(who, path, body, 403)["detail"]
    assert chain.version() == before
    assert isinstance(detail, str)
    return detail


def test_chicago_records_the_links_chicago_runs_of_a_shipment_suzhou_booked(
    chain: Chain,
) -> None:
    for sequence, hours in ((PICKUP, 0), (EXPORT_CUSTOMS, 24), (AIR_CARRIAGE, 48)):
        run_link(chain, chain.suzhou, sequence, hours)

    # Suzhou's links and the airline's are not Chicago's to record.
    why = refused(chain, chain.chicago, f"/links/{AIR_CARRIAGE}/complete", {"occurred_at": at(72)})
    assert "'Suzhou'" in why
    assert "'Chicago' runs link(s) 4, 5" in why
    delay = {"estimated_end": at(40), "reason": "customs hold", "occurred_at": at(30)}
    refused(chain, chain.chicago, f"/links/{EXPORT_CUSTOMS}/delays", delay)
    chain.post(chain.suzhou, f"/links/{AIR_CARRIAGE}/complete", {"occurred_at": at(72)})

    # Import customs: Chicago starts it and signs for the goods from the airline.
    chain.post(chain.chicago, f"/links/{IMPORT_CUSTOMS}/start", {"occurred_at": at(72)})
    chain.post(
        chain.chicago,
        "/handovers",
        {
            "to_sequence": IMPORT_CUSTOMS,
            "condition": "damaged",
            "signed_by": "E. Johnson, ORD import",
            "reference": "AWB 781-12345675",
            "occurred_at": at(73),
        },
    )
    incident = chain.post(
        chain.chicago,
        "/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "damage",
            "description": "6 cartons crushed on arrival at ORD",
            "packages_affected": 6,
            "occurred_at": at(74),
        },
    )["incident_id"]
    chain.post(
        chain.chicago,
        f"/incidents/{incident}/actions",
        {"action": "airline damage report requested", "occurred_at": at(75)},
    )
    # An incident at a link Chicago does not run is not Chicago's to report.
    refused(
        chain,
        chain.chicago,
        "/incidents",
        {
            "link_sequence": AIR_CARRIAGE,
            "kind": "delay",
            "description": "flight offloaded",
            "occurred_at": at(74),
        },
    )

    # Warehousing: Chicago hands over to itself, then out of it to the trucker.
    run_link(chain, chain.chicago, WAREHOUSING, 96)
    chain.post(chain.chicago, f"/links/{WAREHOUSING}/complete", {"occurred_at": at(120)})
    refused(chain, chain.chicago, f"/links/{DELIVERY}/start", {"occurred_at": at(120)})
    chain.post(chain.suzhou, f"/links/{DELIVERY}/start", {"occurred_at": at(120)})
    chain.post(
        chain.chicago,
        "/handovers",
        {
            "to_sequence": DELIVERY,
            "condition": "good",
            "signed_by": "Lakeshore driver",
            "occurred_at": at(121),
        },
    )

    # The shipment's own commands stay the booking branch's.
    replan = {
        "planned_start": at(96),
        "planned_end": at(130),
        "reason": "late",
        "occurred_at": at(100),
    }
    refused(chain, chain.chicago, f"/links/{WAREHOUSING}/replan", replan)
    refused(chain, chain.chicago, f"/incidents/{incident}/responsibility", {"occurred_at": at(76)})
    claim = {"incident_id": incident, "amount": 100, "currency": "USD", "occurred_at": at(130)}
    refused(chain, chain.chicago, "/claims", claim)
    delivery = {
        "condition": "good",
        "signed_by": "J. Miller",
        "proof_of_delivery": "POD-1",
        "occurred_at": at(140),
    }
    refused(chain, chain.chicago, "/deliver", delivery)

    shipment = chain.services.app.shipments.get_shipment(chain.shipment)
    chicago_links = [shipment.links[n - 1] for n in (IMPORT_CUSTOMS, WAREHOUSING)]
    assert all(link.started_at is not None for link in chicago_links)
    assert all(link.completed_at is not None for link in chicago_links[1:])
    received = shipment.links[IMPORT_CUSTOMS - 1].received
    assert received is not None
    assert received.signed_by == "E. Johnson, ORD import"
    reported = shipment.incidents[UUID(incident)]
    assert reported.reported_by == "emily.johnson"
    assert [a.action for a in reported.actions] == ["airline damage report requested"]
    released = shipment.links[WAREHOUSING - 1].released
    assert released is not None
    assert released.signed_by == "Lakeshore driver"


def test_the_branch_of_a_link_reads_the_shipment_and_another_branch_does_not_see_it(
    chain: Chain,
) -> None:
    for projection in chain.services.projections:
        chain.services.worker(projection).catch_up()
    path = f"{chain.base}/responsibility"
    for who in (chain.suzhou, chain.chicago):
        response = chain.client.get(path, headers=who)
        assert response.status_code == 200, response.text
    unseen = chain.client.get(path, headers=chain.shanghai)
    nothing = chain.client.get(
        "/v1/shipments/00000000-0000-4000-8000-000000000000/responsibility",
        headers=chain.shanghai,
    )
    assert unseen.status_code == nothing.status_code == 404
    before = chain.version()
    start = chain.client.post(
        f"{chain.base}/links/{PICKUP}/start", json={"occurred_at": at(0)}, headers=chain.shanghai
    )
    assert start.status_code == 404, start.text
    assert chain.version() == before


# --- partner users ---------------------------------------------------------------------------


def test_a_partner_user_reads_signs_and_answers_for_the_links_of_their_partner(
    chain: Chain,
) -> None:
    services = chain.services
    airline = {
        "Authorization": "Bearer "
        + enroll(services, "cargo.desk@sh-air", "PVG cargo desk", partner_id=chain.airline)
    }
    trucker = {
        "Authorization": "Bearer "
        + enroll(services, "dispatch@lakeshore", "Lakeshore dispatch", partner_id=chain.trucker)
    }
    for sequence, hours in ((PICKUP, 0), (EXPORT_CUSTOMS, 24)):
        run_link(chain, chain.suzhou, sequence, hours)
    chain.post(chain.suzhou, f"/links/{EXPORT_CUSTOMS}/complete", {"occurred_at": at(48)})
    chain.post(chain.suzhou, f"/links/{AIR_CARRIAGE}/start", {"occurred_at": at(48)})

    # The airline signs for the goods from Suzhou's export customs, and hands them over to
    # Chicago; it neither starts its link (the booking branch records that) nor signs
    # another link's handovers.
    signed = {"condition": "good", "signed_by": "PVG cargo desk", "occurred_at": at(49)}
    chain.post(airline, "/handovers", {**signed, "to_sequence": AIR_CARRIAGE})
    refused(chain, airline, "/handovers", {**signed, "to_sequence": EXPORT_CUSTOMS})
    why = refused(chain, airline, f"/links/{AIR_CARRIAGE}/complete", {"occurred_at": at(72)})
    assert "no role of theirs" in why
    refused(chain, trucker, "/handovers", {**signed, "to_sequence": AIR_CARRIAGE})
    chain.post(chain.suzhou, f"/links/{AIR_CARRIAGE}/complete", {"occurred_at": at(72)})
    chain.post(chain.chicago, f"/links/{IMPORT_CUSTOMS}/start", {"occurred_at": at(72)})
    handed = {"condition": "damaged", "signed_by": "PVG cargo desk", "occurred_at": at(73)}
    chain.post(airline, "/handovers", {**handed, "to_sequence": IMPORT_CUSTOMS})

    incident = chain.post(
        chain.chicago,
        "/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "damage",
            "description": "6 cartons crushed on arrival at ORD",
            "packages_affected": 6,
            "occurred_at": at(74),
        },
    )["incident_id"]
    # The proposal: the airline, which handed the goods over damaged.
    chain.post(chain.suzhou, f"/incidents/{incident}/responsibility", {"occurred_at": at(75)})

    # The airline reads its own link only, with the responsibility proposed to it.
    seen = chain.client.get(f"{chain.base}/links", headers=airline)
    assert seen.status_code == 200, seen.text
    links = seen.json()["links"]
    assert [link["sequence"] for link in links] == [AIR_CARRIAGE]
    assert links[0]["released"]["condition"] == "damaged"
    assert [(i["incident_id"], i["responsibility_status"]) for i in links[0]["incidents"]] == [
        (incident, "assigned")
    ]
    everything = chain.client.get(f"{chain.base}/links", headers=chain.chicago)
    assert [link["sequence"] for link in everything.json()["links"]] == list(range(1, 7))
    for path in ("/responsibility", ""):
        answer = chain.client.get(f"{chain.base}{path}", headers=airline)
        assert answer.status_code in (403, 404, 405), (path, answer.text)

    # Only the party responsibility is assigned to answers it; the airline disputes.
    dispute = {"reason": "cartons were weak; the ULD was intact", "occurred_at": at(80)}
    refused(chain, trucker, f"/incidents/{incident}/dispute", dispute)
    chain.post(airline, f"/incidents/{incident}/dispute", {"occurred_at": at(80)}, 422)
    chain.post(airline, f"/incidents/{incident}/dispute", dispute)
    disputed = chain.services.app.shipments.get_shipment(chain.shipment).incidents[UUID(incident)]
    assert disputed.responsibility_status.value == "disputed"
    assert disputed.dispute_reason == dispute["reason"]

    # Of another shipment, or any other record, the partner user knows nothing.
    trucker_links = chain.client.get(f"{chain.base}/links", headers=trucker)
    assert [link["sequence"] for link in trucker_links.json()["links"]] == [DELIVERY]
    nobody = chain.client.get(f"/v1/shipments/{UUID(int=7)}/links", headers=airline)
    assert nobody.status_code == 404
    me = chain.client.get("/v1/staff/me", headers=airline).json()
    assert (me["branch"], me["roles"], me["partner_id"]) == ("", ["partner"], str(chain.airline))


def test_an_administrator_registers_a_partner_user_over_http(chain: Chain) -> None:
    admin = {
        "Authorization": "Bearer "
        + enroll(chain.services, "ops.admin", "Ops Admin", roles=(Role.ADMIN,))
    }
    user = {"staff_id": "desk@sh-air", "name": "PVG cargo desk", "roles": ["partner"]}
    registered = chain.client.post(
        "/v1/staff", json={**user, "partner_id": str(chain.airline)}, headers=admin
    )
    assert registered.status_code == 201, registered.text
    listed = chain.client.get("/v1/staff", headers=admin).json()
    (desk,) = [s for s in listed if s["staff_id"] == "desk@sh-air"]
    assert (desk["branch"], desk["roles"], desk["partner_id"]) == (
        "",
        ["partner"],
        str(chain.airline),
    )
    ours = next(s for s in listed if s["staff_id"] == "li.wei")
    assert ours["partner_id"] is None

    customer = chain.services.app.shipments.get_shipment(chain.shipment).customer_id
    refusals = [
        {**user, "staff_id": "a@air", "partner_id": str(chain.airline), "branch": "Chicago"},
        {**user, "staff_id": "b@air", "partner_id": str(chain.airline), "roles": ["hq"]},
        {**user, "staff_id": "c@air", "partner_id": str(customer)},
        {**user, "staff_id": "d@air"},  # our staff: a branch, and never the partner role
    ]
    for body in refusals:
        refused = chain.client.post("/v1/staff", json=body, headers=admin)
        assert refused.status_code in (409, 422), (body, refused.text)
    assert [s["staff_id"] for s in chain.client.get("/v1/staff", headers=admin).json()] == [
        s["staff_id"] for s in listed
    ]


def airline_answers(chain: Chain) -> tuple[dict[str, str], str]:
    """The airline's user, and an incident at Chicago's import customs whose responsibility
    is proposed to the airline at hour 75."""
    airline = {
        "Authorization": "Bearer "
        + enroll(chain.services, "cargo.desk@sh-air", "PVG cargo desk", partner_id=chain.airline)
    }
    for sequence, hours in ((PICKUP, 0), (EXPORT_CUSTOMS, 24), (AIR_CARRIAGE, 48)):
        run_link(chain, chain.suzhou, sequence, hours)
    chain.post(chain.suzhou, f"/links/{AIR_CARRIAGE}/complete", {"occurred_at": at(72)})
    chain.post(chain.chicago, f"/links/{IMPORT_CUSTOMS}/start", {"occurred_at": at(72)})
    handed = {"condition": "damaged", "signed_by": "PVG cargo desk", "occurred_at": at(73)}
    chain.post(airline, "/handovers", {**handed, "to_sequence": IMPORT_CUSTOMS})
    incident = chain.post(
        chain.chicago,
        "/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "damage",
            "description": "6 cartons crushed on arrival at ORD",
            "packages_affected": 6,
            "occurred_at": at(74),
        },
    )["incident_id"]
    chain.post(chain.suzhou, f"/incidents/{incident}/responsibility", {"occurred_at": at(75)})
    return airline, str(incident)


def test_a_dispute_after_the_days_to_answer_is_refused_and_headquarters_arbitrates(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLCHAIN_RESPONSIBILITY_ANSWER_DAYS", "2")
    airline, incident = airline_answers(chain)
    # Proposed at hour 75: the two days to answer end at hour 123.
    before = chain.version()
    late = chain.post(
        airline,
        f"/incidents/{incident}/dispute",
        {"reason": "the ULD was intact", "occurred_at": at(123.5)},
        409,
    )
    assert late["rule"] == "responsibility.answer_overdue"
    assert "counts as accepted" in late["detail"]
    assert chain.version() == before
    hq = {"Authorization": "Bearer " + enroll(chain.services, "hq.arbiter", "Zhang Min")}
    chain.post(
        hq,
        f"/incidents/{incident}/arbitrate",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "decision": "CCTV shows forklift damage in Chicago's shed",
            "occurred_at": at(124),
        },
    )
    settled = chain.services.app.shipments.get_shipment(chain.shipment).incidents[UUID(incident)]
    assert settled.responsibility_status.value == "arbitrated"
    assert settled.responsible is not None
    assert settled.responsible.party == Party.our_branch("Chicago")


def test_a_dispute_within_the_days_to_answer_is_accepted(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLCHAIN_RESPONSIBILITY_ANSWER_DAYS", "2")
    airline, incident = airline_answers(chain)
    chain.post(
        airline,
        f"/incidents/{incident}/dispute",
        {"reason": "the ULD was intact", "occurred_at": at(123)},
    )
    disputed = chain.services.app.shipments.get_shipment(chain.shipment).incidents[UUID(incident)]
    assert disputed.responsibility_status.value == "disputed"


# --- the list of shipments -------------------------------------------------------------------


def listed(chain: Chain, who: dict[str, str], **params: str) -> list[dict[str, Any]]:
    for projection in chain.services.projections:
        chain.services.worker(projection).catch_up()
    response = chain.client.get("/v1/shipments", params=params, headers=who)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_list_shows_a_branch_the_shipments_whose_links_it_runs(chain: Chain) -> None:
    # Shanghai books a shipment of its own customer, run by Shanghai alone.
    app = chain.services.app
    own = app.relationships.register_relationship(
        app.context("qian.lin", occurred_at=START - timedelta(days=30)),
        name="上海精密模具有限公司",
        kind=RelationshipKind.CUSTOMER,
        industry="manufacturing",
        region="East China",
        branch="Shanghai",
    ).aggregate_id
    shanghai = Party.our_branch("Shanghai")
    other = app.shipments.book_shipment(
        app.context("zhou.hai", occurred_at=START),
        customer_id=own,
        reference="SHA-251111-001",
        origin="Shanghai, CN",
        destination="Ningbo, CN",
        cargo=Cargo(
            description="moulds",
            packages=4,
            gross_weight_kg=Decimal("900"),
            declared_value=Decimal("50000"),
            currency="USD",
        ),
        links=[
            LinkPlan(
                LinkFunction.DELIVERY,
                shanghai,
                START,
                START + timedelta(hours=10),
                TransportMode.ROAD,
            )
        ],
    ).aggregate_id

    suzhou = listed(chain, chain.suzhou)
    assert [(s["shipment_id"], s["booking_branch"], s["links_run"]) for s in suzhou] == [
        (str(chain.shipment), "Suzhou", [PICKUP, EXPORT_CUSTOMS])
    ]
    chicago = listed(chain, chain.chicago)
    assert [(s["shipment_id"], s["booking_branch"], s["links_run"]) for s in chicago] == [
        (str(chain.shipment), "Suzhou", [IMPORT_CUSTOMS, WAREHOUSING])
    ]
    assert chicago[0]["customer_id"] is not None
    assert chicago[0]["parties"] is not None
    # Shanghai runs nothing of Suzhou's shipment: only its own.
    assert [(s["shipment_id"], s["links_run"]) for s in listed(chain, chain.shanghai)] == [
        (str(other), [1])
    ]
    # Filters narrow what the branch may see, never widen it.
    assert listed(chain, chain.chicago, status="delivered") == []
    assert listed(chain, chain.chicago, customer_id=str(own)) == []
    hq = {"Authorization": "Bearer " + enroll(chain.services, "hq.zhang", "Zhang Min")}
    everything = listed(chain, hq)
    assert [(s["shipment_id"], s["links_run"]) for s in everything] == [
        (str(chain.shipment), []),
        (str(other), []),
    ]


def test_the_list_shows_a_partner_user_the_shipments_of_its_partner_and_no_more(
    chain: Chain,
) -> None:
    airline = {
        "Authorization": "Bearer "
        + enroll(chain.services, "cargo.desk@sh-air", "PVG cargo desk", partner_id=chain.airline)
    }
    (seen,) = listed(chain, airline)
    assert (seen["shipment_id"], seen["reference"], seen["links_run"]) == (
        str(chain.shipment),
        "SZV-251110-007",
        [AIR_CARRIAGE],
    )
    hidden = ("customer_id", "booking_branch", "parties", "current_holder")
    assert [seen[k] for k in hidden] == [None] * len(hidden)
    assert (seen["open_incidents"], seen["open_claims"], seen["compensation_paid"]) == (
        None,
        None,
        None,
    )
    # It learns nothing of the customer, not even by filtering.
    probe = chain.client.get(
        "/v1/shipments", params={"customer_id": str(UUID(int=7))}, headers=airline
    )
    assert probe.status_code == 403, probe.text
    # Once the airline holds the goods, it sees that it does.
    for sequence, hours in ((PICKUP, 0), (EXPORT_CUSTOMS, 24), (AIR_CARRIAGE, 48)):
        run_link(chain, chain.suzhou, sequence, hours)
    (holding,) = listed(chain, airline)
    assert holding["current_holder"] == f"partner:{chain.airline}"
    # A partner that runs no link of any shipment sees none.
    app = chain.services.app
    idle = app.relationships.register_relationship(
        app.context("qian.lin", occurred_at=START - timedelta(days=30)),
        name="Idle Freight",
        kind=RelationshipKind.PARTNER,
        industry="logistics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    nobody = {
        "Authorization": "Bearer " + enroll(chain.services, "ops@idle", "Idle ops", partner_id=idle)
    }
    assert listed(chain, nobody) == []
