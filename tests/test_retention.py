"""Retention of personal data: each kind is erased when its period ends, on the day and not
the day before; legal holds and open claims keep it; the run records each erasure, a dry
run changes nothing, and a second run erases nothing more."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.retention import RETENTION_ACTOR, Retention
from application.store.database import DATABASE_URL_VARIABLE
from domain.base import CommandContext
from domain.liability import add_months
from domain.personal import (
    ERASED,
    DataKind,
    DataSubjectKind,
    Subject,
    contact_subject,
    signer_subject,
    subject_id,
)
from domain.relationship import Channel, Direction, HoldBasis, Relationship, RelationshipKind
from domain.retention import (
    HoldKind,
    default_policies,
    due,
    relationship_facts,
    signer_facts,
    time_barred_at,
)
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.domain.test_shipment import claimed, delivered
from tests.staffing import enroll
from tests.waiting import wait_until

POLICIES = default_policies()
LOST = datetime(2022, 11, 20, 9, 0, tzinfo=UTC)
NOTES_DUE = add_months(LOST, 36)
ALL_HELD = frozenset(DataKind)


def ctx(when: datetime, actor: str = "li.wei") -> CommandContext:
    return CommandContext.issue(actor=actor, now=NOW, occurred_at=when)


def customer(*, lost_at: datetime | None = LOST) -> Relationship:
    r = Relationship.register(
        ctx(LOST - timedelta(days=900)),
        name="Suzhou Precision Parts Co.",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )
    r.add_contact(ctx(LOST - timedelta(days=800)), contact_id="c-1", name="王秀英")
    r.add_contact(ctx(LOST - timedelta(days=800)), contact_id="c-2", name="陈刚")
    if lost_at is not None:
        r.mark_lost(ctx(lost_at), reason="moved to a competitor")
    return r


def notes_of(r: Relationship) -> Subject:
    return Subject(DataSubjectKind.NOTES, r.id, "notes")


def kinds_due(r: Relationship, subject: Subject, as_of: datetime) -> set[str]:
    facts = relationship_facts(r, subject, subject.subject_id, ALL_HELD)
    return {d.policy.kind.value for d in due([facts], POLICIES, as_of)}


# --- the rules, without a database ----------------------------------------------------------


def test_notes_are_due_three_years_after_the_relationship_ended_not_a_day_before() -> None:
    r = customer()
    assert kinds_due(r, notes_of(r), NOTES_DUE - timedelta(days=1)) == set()
    assert kinds_due(r, notes_of(r), NOTES_DUE) == {"notes"}
    # A contact's notes, identity and details end with the relationship too.
    assert kinds_due(r, contact_subject(r.id, "c-1"), NOTES_DUE) == {
        "notes",
        "identity",
        "contact_details",
    }


def test_a_relationship_not_ended_or_won_back_keeps_its_notes() -> None:
    assert kinds_due(customer(lost_at=None), notes_of(customer(lost_at=None)), NOW) == set()
    r = customer()
    r.win_back(ctx(LOST + timedelta(days=30)), reason="new tender")
    assert r.lost_at is None
    assert kinds_due(r, notes_of(r), NOTES_DUE + timedelta(days=400)) == set()


def test_a_removed_contacts_identity_is_due_three_years_after_removal() -> None:
    r = customer(lost_at=None)
    removed = datetime(2023, 1, 10, 8, 0, tzinfo=UTC)
    r.remove_contact(ctx(removed), contact_id="c-2")
    due_day = add_months(removed, 36)
    person = contact_subject(r.id, "c-2")
    assert kinds_due(r, person, due_day - timedelta(days=1)) == set()
    # Notes run from the end of the relationship, which has not ended.
    assert kinds_due(r, person, due_day) == {"identity", "contact_details"}
    assert kinds_due(r, contact_subject(r.id, "c-1"), due_day) == set()


def test_periods_come_from_the_policies_given() -> None:
    r = customer()
    shorter = default_policies(notes_months=12)
    facts = relationship_facts(r, notes_of(r), notes_of(r).subject_id, ALL_HELD)
    assert [d.policy.kind for d in due([facts], shorter, add_months(LOST, 12))] == [DataKind.NOTES]
    # A kind no longer held (its key destroyed) is never due again.
    erased = relationship_facts(r, notes_of(r), notes_of(r).subject_id, frozenset())
    assert due([erased], POLICIES, NOW) == []


def test_a_legal_hold_keeps_what_is_due_until_released() -> None:
    r = customer()
    hold = uuid4()
    r.place_legal_hold(
        ctx(NOW - timedelta(days=1), "qian.lin"),
        hold_id=hold,
        basis=HoldBasis.LITIGATION,
        reason="case 2026-17",
    )
    [item] = due([relationship_facts(r, notes_of(r), uuid4(), ALL_HELD)], POLICIES, NOTES_DUE)
    assert item.held
    assert [(h.kind, h.ref) for h in item.holds] == [(HoldKind.LEGAL_HOLD, hold)]
    assert r.legal_holds[hold].placed_by == "qian.lin"
    r.release_legal_hold(ctx(NOW, "qian.lin"), hold_id=hold, reason="case closed")
    [item] = due([relationship_facts(r, notes_of(r), uuid4(), ALL_HELD)], POLICIES, NOTES_DUE)
    assert not item.held


def test_signers_are_due_two_years_after_the_shipments_time_bar() -> None:
    shipment = delivered()
    delivered_at = shipment.delivered_at
    assert delivered_at is not None
    # Air carriage under the Montreal Convention: the longest time bar, 24 months.
    barred = time_barred_at(shipment)
    assert barred == add_months(delivered_at, 24)
    signer = signer_subject(shipment.id, "J. Miller, receiving")
    facts = signer_facts(shipment, None, signer, signer.subject_id, {DataKind.SIGNATURE})
    on_the_day = add_months(barred, 24)
    assert due([facts], POLICIES, on_the_day - timedelta(days=1)) == []
    [item] = due([facts], POLICIES, on_the_day)
    assert (item.policy.kind, item.held) == (DataKind.SIGNATURE, False)


def test_an_open_claim_holds_the_signers_and_a_customers_hold_too() -> None:
    shipment, _, claim_id = claimed()
    signer = signer_subject(shipment.id, "J. Miller, receiving")
    far = NOW + timedelta(days=3650)
    [item] = due(
        [signer_facts(shipment, None, signer, signer.subject_id, {DataKind.SIGNATURE})],
        POLICIES,
        far,
    )
    assert [(h.kind, h.ref) for h in item.holds] == [(HoldKind.OPEN_CLAIM, claim_id)]
    on_hold = customer(lost_at=None)
    on_hold.place_legal_hold(ctx(NOW), hold_id=uuid4(), basis=HoldBasis.AUDIT, reason="audit")
    [item] = due(
        [signer_facts(delivered(), on_hold, signer, signer.subject_id, {DataKind.SIGNATURE})],
        POLICIES,
        far,
    )
    assert [h.kind for h in item.holds] == [HoldKind.LEGAL_HOLD]


# --- the run, on PostgreSQL -------------------------------------------------------------------


def lost_customer(services: Services) -> UUID:
    """A customer with a contact and notes (its own and the contact's), marked lost at
    LOST, more than three years before the suite's present."""
    app = services.app
    rid = app.relationships.register_relationship(
        app.context("li.wei", occurred_at=LOST - timedelta(days=900)),
        name="Suzhou Precision Parts Co.",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    app.relationships.add_contact(
        app.context("li.wei", occurred_at=LOST - timedelta(days=800)),
        rid,
        contact_id="c-1",
        name="王秀英",
        phone="+86 139 1234 5678",
    )
    for contact_id in (None, "c-1"):
        app.relationships.log_interaction(
            app.context("li.wei", occurred_at=LOST - timedelta(days=700)),
            rid,
            interaction_id=uuid4(),
            channel=Channel.VISIT,
            direction=Direction.OUTBOUND,
            summary="王秀英 asked for cold-chain rates to Chengdu",
            contact_id=contact_id,
        )
    app.relationships.mark_lost(
        app.context("li.wei", occurred_at=LOST), rid, reason="moved to a competitor"
    )
    return rid


def summaries(services: Services, rid: UUID) -> list[str]:
    return [
        e.summary
        for e in services.app.events.get(rid)
        if isinstance(e, Relationship.InteractionLogged)
    ]


def test_the_run_erases_the_notes_of_a_relationship_lost_over_three_years_ago(
    services: Services,
) -> None:
    rid = lost_customer(services)
    retention = Retention(services.app, POLICIES)
    dry = retention.run(NOW, dry_run=True)
    assert {(d.facts.subject.kind, d.policy.kind) for d in dry.erased} == {
        (DataSubjectKind.NOTES, DataKind.NOTES),
        (DataSubjectKind.CONTACT, DataKind.NOTES),
        (DataSubjectKind.CONTACT, DataKind.IDENTITY),
        (DataSubjectKind.CONTACT, DataKind.CONTACT_DETAILS),
    }
    # The dry run changes nothing.
    assert ERASED not in summaries(services, rid)
    notes = subject_id(DataSubjectKind.NOTES, rid, "notes")
    assert services.app.privacy.subject(notes).held == ("notes",)

    report = retention.run(NOW)
    assert len(report.erased) == 4
    assert report.held == ()
    assert summaries(services, rid) == [ERASED, ERASED]
    assert services.app.privacy.subject(notes).erased == ("notes",)
    fresh = services.app.commands.from_log(Relationship, rid)
    assert fresh.contacts["c-1"].name == ERASED
    erasures = [
        e for e in services.app.events.get(rid) if isinstance(e, Relationship.PersonalDataErased)
    ]
    assert len(erasures) == 4
    assert {e.basis for e in erasures} == {"retention"}
    assert {e.actor for e in erasures} == {RETENTION_ACTOR}
    assert any("retention policy notes: 3 years" in e.reason for e in erasures)
    assert all(len(e.kinds) == 1 for e in erasures)
    # A second run erases nothing more.
    again = retention.run(NOW)
    assert again.erased == ()
    assert again.held == ()


def test_a_held_customers_notes_are_kept_until_the_hold_is_released(
    services: Services,
) -> None:
    rid = lost_customer(services)
    app = services.app
    hold = uuid4()
    app.relationships.place_legal_hold(
        app.context("qian.lin"), rid, hold_id=hold, basis=HoldBasis.LITIGATION, reason="case 17"
    )
    retention = Retention(app, POLICIES)
    report = retention.run(NOW)
    assert report.erased == ()
    assert len(report.held) == 4
    assert {h.ref for d in report.held for h in d.holds} == {hold}
    assert ERASED not in summaries(services, rid)

    app.relationships.release_legal_hold(
        app.context("qian.lin"), rid, hold_id=hold, reason="case closed"
    )
    assert len(retention.run(NOW).erased) == 4
    assert summaries(services, rid) == [ERASED, ERASED]


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def clients(services: Services) -> Iterator[dict[str, TestClient]]:
    tokens = {
        "hq": enroll(services, "qian.lin", "Qian Lin 钱琳", roles=(Role.HQ,)),
        "auditor": enroll(services, "auditor.he", "He Jing 何静", roles=(Role.AUDITOR,)),
        "field": enroll(
            services, "li.wei", "Li Wei 李伟", roles=(Role.FIELD_STAFF,), branch="Suzhou"
        ),
    }
    app = create_app(services)
    made = {}
    for name, token in tokens.items():
        client = TestClient(app)
        client.headers["Authorization"] = f"Bearer {token}"
        made[name] = client.__enter__()
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


def test_legal_holds_over_http_and_what_is_due(
    services: Services, clients: dict[str, TestClient]
) -> None:
    rid = lost_customer(services)
    hq, auditor, field = clients["hq"], clients["auditor"], clients["field"]
    holds = f"/v1/relationships/{rid}/legal-holds"
    body = {"basis": "audit", "reason": "audit of the 2025 accounts"}

    assert field.post(holds, json=body).status_code == 403
    assert hq.post(f"/v1/relationships/{uuid4()}/legal-holds", json=body).status_code == 404
    assert hq.post(holds, json={**body, "basis": "whim"}).status_code == 422
    placed = auditor.post(holds, json=body)
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["hold_id"]
    again = auditor.post(holds, json={**body, "hold_id": hold_id})
    assert again.status_code == 409

    listed = auditor.get(holds).json()
    assert listed["held"] is True
    assert [(h["hold_id"], h["placed_by"]) for h in listed["items"]] == [(hold_id, "auditor.he")]
    assert field.get(holds).status_code == 403

    due_now = auditor.get("/v1/retention/due", params={"as_of": NOW.isoformat()}).json()
    assert due_now["due"] == []
    assert len(due_now["held"]) == 4
    assert {h["reason"] for d in due_now["held"] for h in d["holds"]} == {
        "audit: audit of the 2025 accounts"
    }
    # Signers are never named; contacts by their id.
    assert {d["contact_id"] for d in due_now["held"]} == {None, "c-1"}
    assert auditor.get("/v1/retention/due", params={"as_of": "2026-03-04T10:00"}).status_code == (
        422
    )
    assert field.get("/v1/retention/due").status_code == 403

    release = f"{holds}/{hold_id}/release"
    assert auditor.post(release, json={"reason": "done"}).status_code == 403
    assert hq.post(f"{holds}/{uuid4()}/release", json={"reason": "done"}).status_code == 404
    assert hq.post(release, json={"reason": "audit closed"}).status_code == 200
    assert hq.post(release, json={"reason": "audit closed"}).status_code == 409
    assert hq.get(holds).json()["items"][0]["released_by"] == "qian.lin"

    # Released: due again, and only listed — the read erases nothing.
    before = auditor.get("/v1/retention/due", params={"as_of": NOW.isoformat()}).json()
    assert len(before["due"]) == 4
    assert before["held"] == []
    assert ERASED not in summaries(services, rid)


def test_signers_are_erased_after_the_time_bar_unless_a_claim_is_open(
    services: Services,
) -> None:
    done, (open_claim, _, claim_id) = delivered(), claimed()
    services.app.save(done)
    services.app.save(open_claim)
    barred = time_barred_at(done)
    assert barred is not None
    retention = Retention(services.app, POLICIES)
    assert retention.run(add_months(barred, 24) - timedelta(days=1)).erased == ()
    report = retention.run(add_months(barred, 24))
    assert {d.facts.subject.aggregate_id for d in report.erased} == {done.id}
    assert {h.ref for d in report.held for h in d.holds} == {claim_id}
    fresh = services.app.commands.from_log(type(done), done.id)
    proof = fresh.proof_of_delivery
    assert proof is not None
    assert proof.signed_by == ERASED
    kept = services.app.commands.from_log(type(open_claim), open_claim.id).proof_of_delivery
    assert kept is not None
    assert kept.signed_by == "J. Miller, receiving"


def fullchain(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}
    return subprocess.run(
        [sys.executable, "-m", "interface.cli", *args], env=env, capture_output=True, text=True
    )


def test_the_command_line_runs_dry_then_for_real_then_finds_nothing(services: Services) -> None:
    rid = lost_customer(services)
    as_of = ("--as-of", NOW.isoformat())
    assert fullchain(services, "retention", "run", "--as-of", "2026-03-04").returncode == 2
    dry = fullchain(services, "retention", "run", "--dry-run", *as_of)
    assert dry.returncode == 0, dry.stderr
    assert "would erase 4, held 0" in dry.stdout
    assert ERASED not in summaries(services, rid)
    run = fullchain(services, "retention", "run", *as_of)
    assert "erased 4, held 0" in run.stdout
    assert summaries(services, rid) == [ERASED, ERASED]
    assert "erased 0, held 0" in fullchain(services, "retention", "run", *as_of).stdout


def test_the_service_runs_the_retention_on_its_schedule(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = lost_customer(services)
    monkeypatch.setenv("FULLCHAIN_RETENTION_INTERVAL", "3600")
    services.start_workers(retention=True)
    wait_until(
        lambda: summaries(services, rid) == [ERASED, ERASED], what="the scheduled retention run"
    )
    erasures = [
        e for e in services.app.events.get(rid) if isinstance(e, Relationship.PersonalDataErased)
    ]
    assert {e.actor for e in erasures} == {RETENTION_ACTOR}
