"""Minimum exposure of personal data over HTTP: an auditor reads that a customer's contact
exists and what was done with it, with its name, title, phone, email and the visit's notes
masked; the same auditor granted ``personal_data`` reads them in clear and each such answer
is in the access log; the branch's field staff read them in clear, unlogged; the masked
forms are exactly those documented."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from application.epcis import NAMESPACES
from application.event_hash import event_hash
from application.masking import (
    Exposure,
    exposure,
    mask_contact_value,
    mask_email,
    mask_event_data,
    mask_name,
    mask_phone,
    mask_state,
    mask_text,
)
from domain.personal import ERASED
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import CUSTOMER
from tests.staffing import enroll
from tests.test_responsibility import catch_up, register_parties, seed_case
from tests.waiting import read_fresh, wait_until

WHEN = datetime(2026, 2, 23, 2, 0, tzinfo=UTC)

CLEAR_CONTACT = {
    "contact_id": "c0",
    "name": "王伟",
    "title": "采购经理",
    "phone": "+86 139 1234 5678",
    "email": "wang.wei@example.cn",
}
MASKED_CONTACT = {
    "contact_id": "c0",
    "name": "王**",
    "title": "[masked]",
    "phone": "+86 139 **** 5678",
    "email": "w***@example.cn",
}
NOTES = "谈了春季空运价格，王伟下周回复"


def test_the_masked_forms() -> None:
    assert mask_phone("+86 139 1234 5678") == "+86 139 **** 5678"
    assert mask_phone("+8613912345678") == "+86 139 **** 5678"
    assert mask_phone("13912345678") == "139 **** 5678"
    assert mask_phone("+1 312 555 0147") == "+1 312 **** 0147"
    assert mask_phone("6666 0001") == "666 **** 0001"
    assert mask_phone("12345") == "****"
    assert mask_email("wang.wei@example.cn") == "w***@example.cn"
    assert mask_email("not an address") == "***"
    assert mask_name("王伟") == "王**"
    assert mask_name(" Wang Wei") == "W**"
    assert mask_text("采购经理") == "[masked]"
    assert mask_contact_value("wang.wei@example.cn") == "w***@example.cn"
    assert mask_contact_value("139 1234 5678") == "139 **** 5678"
    assert mask_contact_value("王伟") == "王**"
    # Nothing, empty and erased fields are answered as they are.
    for mask in (mask_phone, mask_email, mask_name, mask_text):
        assert mask(None) is None
        assert mask("") == ""
        assert mask(ERASED) == ERASED


def test_who_reads_in_clear() -> None:
    for role in (Role.FIELD_STAFF, Role.OFFICE_STAFF, Role.BRANCH_MANAGER, Role.HQ):
        assert exposure(frozenset({role})) is Exposure.CLEAR
    for role in (Role.AUDITOR, Role.ADMIN):
        assert exposure(frozenset({role})) is Exposure.MASKED
        assert exposure(frozenset({role, Role.PERSONAL_DATA})) is Exposure.GRANTED


def test_events_and_states_are_masked_by_their_declared_fields() -> None:
    data, paths = mask_event_data("Relationship.ContactAdded", {"contact": CLEAR_CONTACT})
    assert data == {"contact": MASKED_CONTACT}
    assert paths == ["contact.name", "contact.title", "contact.phone", "contact.email"]
    logged = {"summary": NOTES, "channel": "visit", "contact_id": "c0"}
    assert mask_event_data("Relationship.InteractionLogged", logged)[0] == {
        **logged,
        "summary": "[masked]",
    }
    signed = {"signed_by": "张师傅", "condition": "good"}
    assert mask_event_data("Shipment.Delivered", signed)[0] == {**signed, "signed_by": "张**"}
    erased = {"subject_kind": "signer", "ref": "张师傅", "kinds": ["signature"]}
    assert mask_event_data("Shipment.PersonalDataErased", erased)[0]["ref"] == "张**"
    # Business facts stay as they are.
    assert mask_event_data("Relationship.Renamed", {"name": "苏州华芯"})[0] == {"name": "苏州华芯"}

    state = {"name": "苏州华芯", "contacts": {"c0": CLEAR_CONTACT}}
    assert mask_state(state)[0] == {"name": "苏州华芯", "contacts": {"c0": MASKED_CONTACT}}
    links = {"links": [{"received": {"signed_by": "张师傅", "condition": "good"}}]}
    masked, paths = mask_state(links)
    assert masked == {"links": [{"received": {"signed_by": "张**", "condition": "good"}}]}
    assert paths == ["links[0].received.signed_by"]
    assert mask_state("13912345678", "contacts.c0.phone")[0] == "139 **** 5678"
    assert mask_state(CLEAR_CONTACT, "contacts.c0")[0] == MASKED_CONTACT


class World:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.clients: list[TestClient] = []
        self.position = 0

    def client(self, staff_id: str, roles: tuple[Role, ...], branch: str) -> TestClient:
        token = enroll(self.services, staff_id, staff_id, roles=roles, branch=branch)
        client = TestClient(create_app(self.services))
        client.__enter__()
        client.headers["Authorization"] = f"Bearer {token}"
        self.clients.append(client)
        return client

    def post(self, client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        self.position = max(self.position, answer.get("position", 0))
        return answer

    def get(self, client: TestClient, path: str, **params: Any) -> httpx.Response:
        response = read_fresh(client, path, min_position=self.position, **params)
        assert response.status_code == 200, response.text
        return response

    def now(self, client: TestClient, path: str, **params: Any) -> dict[str, Any]:
        """A read of the write side or the access log (no read model to wait for)."""
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    services.start_workers()
    world = World(services)
    yield world
    for client in world.clients:
        client.__exit__(None, None, None)


def a_customer_with_a_contact(world: World, field: TestClient) -> str:
    rid = str(
        world.post(
            field,
            "/v1/relationships",
            {
                "name": "苏州华芯电子有限公司",
                "kind": "customer",
                "industry": "electronics",
                "region": "East China",
                "branch": "Suzhou",
                "occurred_at": WHEN.isoformat(),
            },
        )["aggregate_id"]
    )
    contact = {k: v for k, v in CLEAR_CONTACT.items()}
    world.post(field, f"/v1/relationships/{rid}/contacts", contact)
    world.post(
        field,
        f"/v1/relationships/{rid}/interactions",
        {
            "channel": "visit",
            "direction": "outbound",
            "summary": NOTES,
            "contact_id": "c0",
            "occurred_at": WHEN.isoformat(),
        },
    )
    return rid


def contact_of(world: World, client: TestClient, rid: str) -> dict[str, Any]:
    items = world.get(client, f"/v1/relationships/{rid}/contacts").json()["items"]
    assert len(items) == 1
    contact: dict[str, Any] = items[0]
    return contact


def visit_of(world: World, client: TestClient, rid: str) -> dict[str, Any]:
    items = world.get(client, f"/v1/relationships/{rid}/interactions").json()["items"]
    assert len(items) == 1
    visit: dict[str, Any] = items[0]
    return visit


def personal_history(world: World, client: TestClient, rid: str) -> dict[str, Any]:
    items = world.get(client, f"/v1/relationships/{rid}/history").json()["items"]
    return {
        item["event_name"]: item["data"]
        for item in items
        if item["event_name"] in ("Relationship.ContactAdded", "Relationship.InteractionLogged")
    }


def personal_reads(world: World, auditor: TestClient, staff_id: str) -> list[tuple[str, str]]:
    entries = world.now(auditor, "/v1/audit/access", staff_id=staff_id)["items"]
    return [(e["relationship_id"], e["detail"]) for e in entries if e["what"] == "personal_data"]


def test_an_auditor_reads_a_customers_contacts_and_history_masked(world: World) -> None:
    field = world.client("li.wei", (Role.FIELD_STAFF,), "Suzhou")
    auditor = world.client("zhao.shen", (Role.AUDITOR,), "Headquarters")
    rid = a_customer_with_a_contact(world, field)

    contact = contact_of(world, auditor, rid)
    assert {k: contact[k] for k in MASKED_CONTACT} == MASKED_CONTACT
    added = contact["history"][0]["changes"]
    assert {c["field"]: c["after"] for c in added} == {
        k: v for k, v in MASKED_CONTACT.items() if k != "contact_id"
    }
    visit = visit_of(world, auditor, rid)
    assert (visit["summary"], visit["contact_name"], visit["channel"]) == (
        "[masked]",
        "王**",
        "visit",
    )
    history = personal_history(world, auditor, rid)
    assert history["Relationship.ContactAdded"]["contact"] == MASKED_CONTACT
    assert history["Relationship.InteractionLogged"]["summary"] == "[masked]"
    assert history["Relationship.InteractionLogged"]["contact_id"] == "c0"
    state = world.now(auditor, f"/v1/relationships/{rid}/state")["state"]
    # Headquarters reads the same state with its personal fields opened, in clear.
    hq = world.client("qian.lin", (Role.HQ,), "Headquarters")
    clear = world.now(hq, f"/v1/relationships/{rid}/state")["state"]["contacts"]["c0"]
    assert {k: clear[k] for k in CLEAR_CONTACT} == CLEAR_CONTACT
    assert {k: state["contacts"]["c0"][k] for k in MASKED_CONTACT} == MASKED_CONTACT
    assert state["name"] == "苏州华芯电子有限公司"
    hits = world.get(auditor, "/v1/search", q="wang.wei@example.cn").json()["items"]
    assert [(h["kind"], h["label"], h["matched"]) for h in hits] == [
        ("contact", "王**", "w***@example.cn")
    ]

    def feed() -> list[dict[str, Any]]:
        page = world.now(auditor, "/v1/events", types="Relationship.ContactAdded")
        return [entry["data"]["contact"] for entry in page["items"]]

    wait_until(lambda: feed() != [], what="the feed's horizon past the contact")
    assert feed() == [MASKED_CONTACT]
    # Nothing personal was answered in clear: nothing to log but the history's read.
    assert personal_reads(world, auditor, "zhao.shen") == []


def test_an_auditor_granted_personal_data_reads_them_in_clear_and_is_logged(
    world: World,
) -> None:
    field = world.client("li.wei", (Role.FIELD_STAFF,), "Suzhou")
    admin = world.client("root.admin", (Role.ADMIN,), "Headquarters")
    auditor = world.client("zhao.shen", (Role.AUDITOR,), "Headquarters")
    rid = a_customer_with_a_contact(world, field)
    assert contact_of(world, auditor, rid)["phone"] == "+86 139 **** 5678"

    world.post(admin, "/v1/staff/zhao.shen/roles", {"role": "personal_data"})
    assert world.now(auditor, "/v1/staff/me")["roles"] == ["auditor", "personal_data"]

    contact = contact_of(world, auditor, rid)
    assert {k: contact[k] for k in CLEAR_CONTACT} == CLEAR_CONTACT
    assert visit_of(world, auditor, rid)["summary"] == NOTES
    history = personal_history(world, auditor, rid)
    assert history["Relationship.ContactAdded"]["contact"] == CLEAR_CONTACT
    assert history["Relationship.InteractionLogged"]["summary"] == NOTES

    assert personal_reads(world, auditor, "zhao.shen") == [
        (rid, "contacts: email, name, phone, title"),
        (rid, "activity: contact_name, summary"),
        (
            rid,
            "history: contact.email, contact.name, contact.phone, contact.title, summary",
        ),
    ]

    # Revoked, the grant ends: masked again, and nothing more is logged.
    world.post(admin, "/v1/staff/zhao.shen/roles/personal_data/revoke", {})
    assert contact_of(world, auditor, rid)["name"] == "王**"
    assert len(personal_reads(world, auditor, "zhao.shen")) == 3


def test_the_branchs_field_staff_read_in_clear_unlogged(world: World) -> None:
    field = world.client("li.wei", (Role.FIELD_STAFF,), "Suzhou")
    auditor = world.client("zhao.shen", (Role.AUDITOR,), "Headquarters")
    rid = a_customer_with_a_contact(world, field)

    contact = contact_of(world, field, rid)
    assert {k: contact[k] for k in CLEAR_CONTACT} == CLEAR_CONTACT
    visit = visit_of(world, field, rid)
    assert (visit["summary"], visit["contact_name"]) == (NOTES, "王伟")
    hits = world.get(field, "/v1/search", q="王伟").json()["items"]
    assert [(h["kind"], h["label"]) for h in hits] == [("contact", "王伟")]
    assert personal_reads(world, auditor, "li.wei") == []


def signers(body: Any) -> list[str]:
    """Every handover's signer in an answer, in order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("signed_by", "fc:signedBy") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(body)
    return found


def test_handovers_signers_are_masked_for_auditors_and_clear_by_the_grant(
    services: Services,
) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    catch_up(services)
    reads = (
        f"/v1/shipments/{shipment.id}/links",
        f"/v1/shipments/{shipment.id}/responsibility",
        f"/v1/shipments/{shipment.id}/epcis",
        f"/v1/shipments/{shipment.id}/state",
    )
    tokens = {
        "hq": enroll(services, "qian.lin", "Qian Lin", roles=(Role.HQ,)),
        "auditor": enroll(services, "zhao.shen", "Zhao Shen", roles=(Role.AUDITOR,)),
        "granted": enroll(services, "sun.li", "Sun Li", roles=(Role.AUDITOR, Role.PERSONAL_DATA)),
    }
    answers: dict[str, list[Any]] = {}
    with TestClient(create_app(services)) as client:
        for who, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            answers[who] = []
            for path in reads:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (who, path, response.text)
                answers[who].append(response.json())
        access = client.get(
            "/v1/audit/access",
            params={"staff_id": "sun.li"},
            headers={"Authorization": f"Bearer {tokens['hq']}"},
        ).json()["items"]

    for clear, masked, granted in zip(
        answers["hq"], answers["auditor"], answers["granted"], strict=True
    ):
        assert signers(clear) != []
        assert signers(masked) == [mask_name(name) for name in signers(clear)]
        assert signers(granted) == signers(clear)
    # The EPCIS document answered masked is consistent: each event's id is its hash.
    for event in answers["auditor"][2]["epcisBody"]["eventList"]:
        body = {k: v for k, v in event.items() if k != "eventID"}
        assert event["eventID"] == event_hash(body, NAMESPACES)
    assert [(e["what"], e["aggregate_id"], e["relationship_id"], e["detail"]) for e in access] == [
        ("personal_data", str(shipment.id), str(CUSTOMER), f"{read}: signed_by")
        for read in ("links", "responsibility")
    ] + [
        ("personal_data", str(shipment.id), str(CUSTOMER), "epcis: signed_by"),
        ("epcis", str(shipment.id), str(CUSTOMER), ""),
        ("state", str(shipment.id), str(CUSTOMER), ""),
        ("personal_data", str(shipment.id), str(CUSTOMER), "state: signed_by"),
    ]
