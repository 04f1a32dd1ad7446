"""A data subject's erasure over HTTP: headquarters erase a contact's personal data on the
contact's request, once however often the request is sent; no one else may; every read of
the contact after it finds the data erased, and a branch sees its own relationships'
people only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.personal import ERASED, contact_subject
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.waiting import read_fresh

NAME, PHONE, EMAIL = "王秀英", "+86 139 1234 5678", "wang.xiuying@example.cn"


def with_contact(services: Services, branch: str = "Suzhou") -> UUID:
    """A customer of ``branch`` with contact c-1 and a visit logged with them."""
    app = services.app
    rid = app.relationships.register_relationship(
        app.context("li.wei"),
        name=f"{branch} Precision Parts Co.",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch=branch,
    ).aggregate_id
    app.relationships.add_contact(
        app.context("li.wei"), rid, contact_id="c-1", name=NAME, phone=PHONE, email=EMAIL
    )
    app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary=f"{NAME} asked for cold-chain rates",
        contact_id="c-1",
    )
    return rid


def erasures_of(services: Services, rid: UUID) -> list[Relationship.PersonalDataErased]:
    return [
        e for e in services.app.events.get(rid) if isinstance(e, Relationship.PersonalDataErased)
    ]


class People:
    """HTTP clients of staff members, each with their own token."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.clients: list[TestClient] = []

    def client(self, staff_id: str, roles: tuple[Role, ...], branch: str) -> TestClient:
        token = enroll(self.services, staff_id, staff_id, roles=roles, branch=branch)
        client = TestClient(create_app(self.services))
        client.__enter__()
        client.headers["Authorization"] = f"Bearer {token}"
        self.clients.append(client)
        return client

    def hq(self) -> TestClient:
        return self.client("hq.chen", (Role.HQ,), "Headquarters")


@pytest.fixture
def people(services: Services) -> Iterator[People]:
    made = People(services)
    yield made
    for client in made.clients:
        client.__exit__(None, None, None)


def erase(client: TestClient, person: UUID, **body: Any) -> Any:
    return client.post(
        f"/v1/people/{person}/erasure",
        json={"reason": "The contact asked for it in writing", **body},
    )


def test_hq_erase_a_contact_and_every_read_after_finds_it_erased(
    services: Services, people: People
) -> None:
    services.start_workers()
    rid = with_contact(services)
    person = contact_subject(rid, "c-1").subject_id
    hq = people.hq()

    before = hq.get(f"/v1/people/{person}")
    assert before.status_code == 200, before.text
    assert before.json()["kind"] == "contact"
    assert before.json()["aggregate_id"] == str(rid)
    assert before.json()["ref"] == "c-1"
    assert before.json()["held"] == ["contact_details", "identity", "notes"]
    assert before.json()["erased"] == []

    # A contact found by search names its data subject too.
    head = services.app.recorder.max_notification_id() or 0
    found = read_fresh(hq, "/v1/search", min_position=head, q=PHONE, kind="contact").json()
    assert [(h["contact_id"], h["person_id"]) for h in found["items"]] == [("c-1", str(person))]

    erased = erase(hq, person, request_ref="DSR-2026-0042")
    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert answer["aggregate_id"] == str(rid)
    assert erased.headers["ETag"] == f'"{answer["version"]}"'
    assert answer["version"] == services.app.relationships.get_relationship(rid).version

    after = hq.get(f"/v1/people/{person}").json()
    assert (after["held"], after["erased"]) == ([], ["contact_details", "identity", "notes"])
    contact = services.app.relationships.get_relationship(rid).contacts["c-1"]
    assert (contact.name, contact.phone, contact.email) == (ERASED, ERASED, ERASED)

    listed = hq.get(f"/v1/relationships/{rid}/people")  # read from the keys: at once
    assert listed.status_code == 200, listed.text
    [entry] = [p for p in listed.json()["items"] if p["kind"] == "contact"]
    assert entry == {
        "subject_id": str(person),
        "kind": "contact",
        "contact_id": "c-1",
        "held": [],
        "erased": ["contact_details", "identity", "notes"],
        "is_erased": True,
    }
    # The contacts read names the contact's data subject.
    contacts = read_fresh(
        hq, f"/v1/relationships/{rid}/contacts", min_position=answer["position"]
    ).json()
    assert [c["person_id"] for c in contacts["items"]] == [str(person)]
    # The erasure is in the relationship's history: who, why, under which request.
    erasures = erasures_of(services, rid)
    assert [(e.actor, e.reason, e.request_ref) for e in erasures] == [
        ("hq.chen", "The contact asked for it in writing", "DSR-2026-0042")
    ]


def test_an_auditor_reads_each_contacts_person_id_in_the_relationship_state(
    services: Services, people: People
) -> None:
    rid = with_contact(services)
    auditor = people.client("audit.wu", (Role.AUDITOR,), "Headquarters")
    state = auditor.get(f"/v1/relationships/{rid}/state")
    assert state.status_code == 200, state.text
    contact = state.json()["state"]["contacts"]["c-1"]
    assert contact["person_id"] == str(contact_subject(rid, "c-1").subject_id)


def test_only_headquarters_and_administrators_erase(services: Services, people: People) -> None:
    rid = with_contact(services)
    person = contact_subject(rid, "c-1").subject_id
    field = people.client("li.wei", (Role.FIELD_STAFF,), "Suzhou")
    manager = people.client("zhou.min", (Role.BRANCH_MANAGER,), "Suzhou")
    assert erase(field, person).status_code == 403
    assert erase(manager, person).status_code == 403
    anonymous = TestClient(create_app(services))
    with anonymous:
        assert erase(anonymous, person).status_code == 401
    admin = people.client("admin.xu", (Role.ADMIN,), "Headquarters")
    assert services.app.privacy.subject(person).held  # nothing erased by the refusals
    assert erase(admin, person, kinds=["notes"]).status_code == 200
    assert services.app.privacy.subject(person).erased == ("notes",)


def test_an_unknown_subject_is_404_and_a_second_erasure_409(
    services: Services, people: People
) -> None:
    rid = with_contact(services)
    person = contact_subject(rid, "c-1").subject_id
    hq = people.hq()
    unknown = uuid4()
    assert hq.get(f"/v1/people/{unknown}").status_code == 404
    assert erase(hq, unknown).status_code == 404

    assert erase(hq, person).status_code == 200
    again = erase(hq, person)
    assert again.status_code == 409, again.text
    assert again.json()["rule"] == "subject.already_erased"


def test_an_erasure_without_a_reason_or_with_an_unknown_kind_is_422(
    services: Services, people: People
) -> None:
    rid = with_contact(services)
    person = contact_subject(rid, "c-1").subject_id
    hq = people.hq()
    empty = erase(hq, person, reason="")
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["reason"]
    missing = hq.post(f"/v1/people/{person}/erasure", json={})
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["reason"]
    unknown_kind = erase(hq, person, kinds=["fingerprints"])
    assert unknown_kind.status_code == 422
    assert unknown_kind.json()["errors"][0]["field"].startswith("kinds")
    assert services.app.privacy.subject(person).erased == ()


def test_a_retry_with_the_same_idempotency_key_replays_the_answer_and_erases_once(
    services: Services, people: People
) -> None:
    rid = with_contact(services)
    person = contact_subject(rid, "c-1").subject_id
    hq = people.hq()
    body = {"reason": "The contact asked for it in writing", "request_ref": "DSR-7"}
    key = {"Idempotency-Key": "erase-wang-1"}
    first = hq.post(f"/v1/people/{person}/erasure", json=body, headers=key)
    assert first.status_code == 200, first.text
    retry = hq.post(f"/v1/people/{person}/erasure", json=body, headers=key)
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    relationship = services.app.relationships.get_relationship(rid)
    assert relationship.version == first.json()["version"]
    erasures = erasures_of(services, rid)
    assert len(erasures) == 1


def test_a_branch_lists_the_people_of_its_own_relationships_only(
    services: Services, people: People
) -> None:
    suzhou = with_contact(services, "Suzhou")
    shanghai = with_contact(services, "Shanghai")
    manager = people.client("zhou.min", (Role.BRANCH_MANAGER,), "Suzhou")
    own = manager.get(f"/v1/relationships/{suzhou}/people")
    assert own.status_code == 200, own.text
    assert {p["contact_id"] for p in own.json()["items"] if p["kind"] == "contact"} == {"c-1"}
    theirs = manager.get(f"/v1/relationships/{shanghai}/people")
    assert theirs.status_code == 404
    assert str(contact_subject(shanghai, "c-1").subject_id) not in theirs.text
    nowhere = manager.get(f"/v1/relationships/{uuid4()}/people")
    assert (nowhere.status_code, nowhere.json()["title"]) == (404, theirs.json()["title"])
