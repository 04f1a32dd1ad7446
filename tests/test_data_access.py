"""A data subject's right of access and portability, and a contact's consent per purpose,
over HTTP on real PostgreSQL: an access request by email finds the person at every customer
and exports only that person's data (the visit notes that name them, never another
contact's), an erasure shows in the export, consents are given and withdrawn with their
refusals, campaigns reach only contacts who consented to marketing, only headquarters and
administrators read exports, and every export read is in the access log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from application.data_access import DataAccess
from domain.personal import ERASED, contact_subject
from domain.staff import Role
from interface import cli
from interface.runtime import Services
from tests.office import Office, open_office
from tests.selling import when
from tests.test_marketing import _offering, _plan, customer, define

STAFF = {
    "hq": ("li.na", Role.HQ, "Headquarters"),
    "admin": ("it.admin", Role.ADMIN, "Headquarters"),
    "field": ("zhou.min", Role.FIELD_STAFF, "Suzhou"),
    "manager": ("zhou.hui", Role.BRANCH_MANAGER, "Suzhou"),
    "auditor": ("ma.li", Role.AUDITOR, "Headquarters"),
}

NAME, EMAIL, PHONE = "王秀英", "wang.xiuying@example.cn", "+86 139 1234 5678"
NOTES_A = "王秀英 asked for cold-chain rates to Chengdu"
NOTES_B = "Ms Wang (now at Kunshan) wants a weekly truck to Shanghai"
OTHER_NAME, OTHER_EMAIL = "赵磊", "zhao.lei@example.cn"
OTHER_NOTES = "赵磊 complained about late pick-ups"
NOBODYS_NOTES = "The warehouse is moving to Wujiang next spring"


@pytest.fixture
def office(services: Services) -> Iterator[Office]:
    with open_office(services, STAFF) as opened:
        yield opened


def add_contact(office: Office, rid: str, contact_id: str, **fields: str) -> Any:
    body = {"contact_id": contact_id, "occurred_at": when(-24 * 10), **fields}
    return office.post("field", f"/v1/relationships/{rid}/contacts", body)


def visit(office: Office, rid: str, summary: str, contact_id: str | None = None) -> Any:
    body: dict[str, Any] = {
        "channel": "visit",
        "direction": "outbound",
        "summary": summary,
        "occurred_at": when(-24 * 5),
    }
    if contact_id is not None:
        body["contact_id"] = contact_id
    return office.post("field", f"/v1/relationships/{rid}/interactions", body)


def two_customers(office: Office) -> tuple[str, str]:
    """The same person at two customers (she changed jobs), beside another contact and
    notes that name nobody."""
    a = customer(office, "苏州华芯电子有限公司")
    b = customer(office, "昆山精锐模具")
    add_contact(office, a, "c-1", name=NAME, email=EMAIL, phone=PHONE, title="物流经理")
    add_contact(office, a, "c-2", name=OTHER_NAME, email=OTHER_EMAIL)
    add_contact(office, b, "k-9", name=NAME, email=" Wang.XiuYing@Example.CN")
    visit(office, a, NOTES_A, "c-1")
    visit(office, a, OTHER_NOTES, "c-2")
    visit(office, a, NOBODYS_NOTES)
    visit(office, b, NOTES_B, "k-9")
    return a, b


def subject_of(rid: str, contact_id: str) -> str:
    return str(contact_subject(UUID(rid), contact_id).subject_id)


def exports_read(services: Services) -> list[dict[str, Any]]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT staff_id, what, aggregate_type, aggregate_id, relationship_id, detail "
            "FROM fullchain_access_log WHERE what = 'personal_data_export' ORDER BY seq"
        ).fetchall()
    keys = ("staff_id", "what", "aggregate_type", "aggregate_id", "relationship_id", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def test_an_access_request_by_email_finds_the_person_at_every_customer_and_only_their_data(
    office: Office,
) -> None:
    a, b = two_customers(office)
    answer = office.post("hq", "/v1/data-requests/access", {"email": "WANG.xiuying@example.cn"})
    assert answer["matched"] == 2
    by_customer = {e["subject"]["customer"]["relationship_id"]: e for e in answer["exports"]}
    assert set(by_customer) == {a, b}
    at_a, at_b = by_customer[a], by_customer[b]
    assert at_a["subject"]["subject_id"] == subject_of(a, "c-1")
    assert at_a["subject"]["kind"] == "contact"
    assert at_a["subject"]["customer"]["name"] == "苏州华芯电子有限公司"
    assert at_a["personal_data"] == {
        "contact_id": "c-1",
        "name": NAME,
        "title": "物流经理",
        "phone": PHONE,
        "email": EMAIL,
        "removed": False,
    }
    # The events that hold her data, each with only her fields, who and when.
    held = [(e["type"], e["fields"], e["recorded_by"]) for e in at_a["events"]]
    assert held == [
        (
            "Relationship.ContactAdded",
            {
                "contact.name": NAME,
                "contact.title": "物流经理",
                "contact.phone": PHONE,
                "contact.email": EMAIL,
            },
            "zhou.min",
        ),
        ("Relationship.InteractionLogged", {"summary": NOTES_A}, "zhou.min"),
    ]
    assert [e["fields"] for e in at_b["events"]][-1] == {"summary": NOTES_B}
    # Nobody else's data: not the other contact's, not the notes that name nobody.
    text = json.dumps(answer, ensure_ascii=False)
    for other in (OTHER_NAME, OTHER_EMAIL, OTHER_NOTES, NOBODYS_NOTES):
        assert other not in text
    # What her data is used for, and where.
    purposes = {p["purpose"]: p for p in at_a["processing"]}
    assert "search" in purposes["search"]["read_models"]
    assert purposes["marketing"]["basis"] == "consent"
    assert purposes["marketing"]["consent_given"] is False
    # Found by her phone too, however it is written; by an address nobody has, no one.
    by_phone = office.post("admin", "/v1/data-requests/access", {"phone": "139-1234-5678"})
    assert [e["subject"]["subject_id"] for e in by_phone["exports"]] == [subject_of(a, "c-1")]
    assert office.post("hq", "/v1/data-requests/access", {"email": "x@example.cn"}) == {
        "matched": 0,
        "exports": [],
    }
    office.post("hq", "/v1/data-requests/access", {}, 422)
    # Every export read is in the access log, as its reader's, with the customer.
    read = exports_read(office.services)
    assert [(r["staff_id"], str(r["relationship_id"])) for r in read] == [
        ("li.na", a),
        ("li.na", b),
        ("it.admin", a),
    ]
    assert read[0]["aggregate_type"] == "Relationship"
    assert read[0]["detail"] == f"subject {subject_of(a, 'c-1')}; access request by email"


def test_after_erasure_the_export_shows_the_fields_erased_and_the_erasure(
    office: Office,
) -> None:
    a, b = two_customers(office)
    person = subject_of(a, "c-1")
    app = office.services.app
    app.privacy.erase(
        app.context("li.na"), UUID(person), reason="she asked us to", request_ref="DSR-2026-7"
    )
    export = office.get("hq", f"/v1/people/{person}/export")
    assert export["subject"]["erased"] == ["contact_details", "identity", "notes"]
    assert export["subject"]["held"] == []
    data = export["personal_data"]
    assert (data["name"], data["title"], data["phone"], data["email"]) == (ERASED,) * 4
    for event in export["events"]:
        assert set(event["fields"].values()) == {ERASED}, event
    [erasure] = export["erasures"]
    assert erasure["type"] == "Relationship.PersonalDataErased"
    assert (erasure["kinds"], erasure["basis"], erasure["request_ref"]) == (
        ["contact_details", "identity", "notes"],
        "request",
        "DSR-2026-7",
    )
    assert erasure["recorded_by"] == "li.na"
    # Her address is found no more at the customer that erased it, still at the other.
    answer = office.post("hq", "/v1/data-requests/access", {"email": EMAIL})
    assert [e["subject"]["subject_id"] for e in answer["exports"]] == [subject_of(b, "k-9")]
    # An id that is no one's.
    office.get("hq", f"/v1/people/{subject_of(a, 'nobody')}/export", 404)


def test_consent_is_given_and_withdrawn_per_purpose_with_its_refusals(office: Office) -> None:
    a, _ = two_customers(office)
    consents = f"/v1/relationships/{a}/contacts/c-1/consents"
    body = {
        "purpose": "marketing",
        "channel": "paper",
        "evidence_ref": "sign-up form 114",
        "occurred_at": when(-24 * 3),
    }
    office.post("field", consents, body)
    assert office.post("field", consents, body, 409)["rule"] == "consent.already_given"
    office.post("field", consents, {**body, "purpose": "analytics", "channel": "email"})
    assert office.post("field", f"/v1/relationships/{a}/contacts/c-9/consents", body, 404)
    office.post("field", consents, {**body, "purpose": "spam"}, 422)
    office.post("auditor", consents, body, 403)
    withdrawal = {"channel": "email", "occurred_at": when(-24)}
    refused = office.post("field", f"{consents}/service_updates/withdrawal", withdrawal, 409)
    assert refused["rule"] == "consent.not_given"
    office.post("field", f"{consents}/spam/withdrawal", withdrawal, 422)
    office.post("field", f"{consents}/marketing/withdrawal", withdrawal)
    office.post("field", f"{consents}/marketing/withdrawal", withdrawal, 409)

    export = office.get("admin", f"/v1/people/{subject_of(a, 'c-1')}/export")
    current = {c["purpose"]: (c["given"], c["channel"]) for c in export["consents"]["current"]}
    assert current == {"marketing": (False, "email"), "analytics": (True, "email")}
    history = [
        (h["purpose"], h["given"], h["channel"], h["evidence_ref"], h["recorded_by"])
        for h in export["consents"]["history"]
    ]
    assert history == [
        ("marketing", True, "paper", "sign-up form 114", "zhou.min"),
        ("analytics", True, "email", "sign-up form 114", "zhou.min"),
        ("marketing", False, "email", None, "zhou.min"),
    ]
    given_at = datetime.fromisoformat(export["consents"]["history"][0]["occurred_at"])
    assert given_at == datetime.fromisoformat(when(-24 * 3))
    purposes = {p["purpose"]: p.get("consent_given") for p in export["processing"]}
    assert (purposes["marketing"], purposes["analytics"]) == (False, True)


def test_a_campaign_reaches_a_named_contact_only_with_consent_to_marketing(
    office: Office,
) -> None:
    a, _ = two_customers(office)
    sid = define(office, "hq", {"industries": ["electronics"]})["aggregate_id"]
    cid = _plan(office, "hq", sid, _offering(office))["aggregate_id"]
    office.post("hq", f"/v1/campaigns/{cid}/start", {})
    call = {
        "channel": "call",
        "direction": "outbound",
        "summary": "offered the air service",
        "campaign_id": cid,
        "contact_id": "c-1",
    }
    interactions = f"/v1/relationships/{a}/interactions"
    refused = office.post("field", interactions, call, 409)
    assert refused["rule"] == "consent.marketing_missing"
    consent = {"purpose": "marketing", "channel": "call"}
    office.post("field", f"/v1/relationships/{a}/contacts/c-1/consents", consent)
    office.post("field", interactions, call)
    # A contact made in the campaign that names nobody needs no one's consent.
    office.post("field", interactions, {k: v for k, v in call.items() if k != "contact_id"})


def test_only_headquarters_and_administrators_read_exports(office: Office) -> None:
    a, _ = two_customers(office)
    person = subject_of(a, "c-1")
    for who in ("field", "manager", "auditor"):
        office.get(who, f"/v1/people/{person}/export", 403)
        office.post(who, "/v1/data-requests/access", {"email": EMAIL}, 403)
    assert exports_read(office.services) == []


def test_the_command_line_exports_a_person_as_json(
    office: Office, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = two_customers(office)
    person = subject_of(a, "c-1")
    monkeypatch.setenv("FULLCHAIN_DATABASE_URL", office.services.database.conninfo)
    assert cli.main(["people", "export", person]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = DataAccess(office.services.app, office.services.database).export(UUID(person))
    assert printed == expected
    read = exports_read(office.services)
    assert read[-1]["staff_id"].startswith("operator:")
    assert str(read[-1]["relationship_id"]) == a
