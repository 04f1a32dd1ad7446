"""The notes of follow-ups and care plans are the customer's notes: sealed in the log like a
visit's notes, read in clear by the account team and masked for auditors, listed in the
access export of the customer's notes, and erased with them — by request or by retention —
in the log, in the follow-ups read model (as a rebuild makes it) and in the history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.retention import Retention
from application.store.database import Database
from domain.follow_up import CarePlan, FollowUp, FollowUpKind, IntervalUnit, SubjectKind
from domain.personal import ERASED, DataSubjectKind, Subject
from domain.relationship import RelationshipKind
from domain.retention import default_policies
from domain.staff import Role
from interface.runtime import Services
from projections.rebuild import rebuild_online
from tests.clock import NOW
from tests.office import Office, open_office
from tests.staffing import enroll
from tests.test_personal_data import dump
from tests.test_personal_data_read_models import catch_up, named, rows
from tests.test_retention import LOST

NOTE = "王秀英 wants the Q2 air rates to Chicago before Friday"
PLAN_NOTE = "visit 王秀英 monthly: she decides the Chengdu cold-chain lane"


def notes_subject(rid: UUID) -> UUID:
    return Subject(DataSubjectKind.NOTES, rid, "notes").subject_id


def customer(services: Services, **when: Any) -> UUID:
    app = services.app
    enroll(services, "li.wei", "Li Wei 李伟", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    rid: UUID = app.relationships.register_relationship(
        app.context("li.wei", **when),
        name="苏州华芯电子有限公司",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    return rid


def follow_up(services: Services, rid: UUID, **when: Any) -> UUID:
    app = services.app
    fid: UUID = app.follow_ups.schedule_follow_up(
        app.context("li.wei", **when),
        subject_kind=SubjectKind.RELATIONSHIP,
        subject_id=rid,
        kind=FollowUpKind.CALL,
        due_at=NOW + timedelta(days=1),
        assignee="li.wei",
        note=NOTE,
    ).aggregate_id
    return fid


def care_plan(services: Services, rid: UUID) -> UUID:
    app = services.app
    pid: UUID = app.follow_ups.start_care_plan(
        app.context("li.wei"),
        relationship_id=rid,
        kind=FollowUpKind.VISIT,
        every=1,
        unit=IntervalUnit.MONTHS,
        assignee="li.wei",
        first_due_at=NOW + timedelta(days=2),
        note=PLAN_NOTE,
    ).aggregate_id
    return pid


def notes_in_read_model(services: Services, rid: UUID) -> list[str | None]:
    with services.database.connect() as conn:
        return sorted(
            r[0]
            for r in conn.execute(
                "SELECT note FROM follow_up WHERE relationship_id = %s", (rid,)
            ).fetchall()
        )


def test_notes_are_sealed_read_in_clear_and_erased_with_the_customers_notes_as_a_rebuild_makes(
    services: Services, superuser_database: Database, owner_database: Database
) -> None:
    app = services.app
    rid = customer(services)
    fid = follow_up(services, rid)
    pid = care_plan(services, rid)
    first = app.follow_ups.get_care_plan(pid).open_follow_up_id
    assert first is not None
    stored = dump(superuser_database)
    assert NOTE not in stored
    assert PLAN_NOTE not in stored
    assert app.commands.from_log(FollowUp, fid).note == NOTE
    assert app.commands.from_log(CarePlan, pid).note == PLAN_NOTE
    assert app.commands.from_log(FollowUp, first).note == PLAN_NOTE
    projections = named(services, "follow_ups")
    catch_up(services, projections)
    assert notes_in_read_model(services, rid) == sorted([NOTE, PLAN_NOTE])
    # The customer's notes are one data subject: its visits' and its follow-ups'.
    notes = notes_subject(rid)
    assert app.privacy.subject(notes).held == ("notes",)

    app.privacy.erase(app.context("qian.lin"), notes, reason="王秀英 asked", request_ref="DSR-9")
    catch_up(services, projections)
    assert notes_in_read_model(services, rid) == [ERASED, ERASED]
    for aggregate in (
        app.commands.from_log(FollowUp, fid),
        app.commands.from_log(CarePlan, pid),
        app.commands.from_log(FollowUp, first),
        app.follow_ups.get_follow_up(fid),
    ):
        assert aggregate.note == ERASED
    stored = dump(superuser_database)
    assert NOTE not in stored
    assert PLAN_NOTE not in stored
    # The erased read model is what a rebuild from the log makes.
    erased = rows(services, projections)
    for projection in projections:
        rebuild_online(
            owner_database,
            projection,
            app.mapper,
            runtime_role=services.database.role,
        )
    assert rows(services, projections) == erased
    # The plan goes on: its next follow-up carries the note as the log has it, erased.
    app.follow_ups.complete_follow_up(app.context("li.wei"), first, outcome="visited")
    following = app.follow_ups.get_care_plan(pid).open_follow_up_id
    assert following is not None
    assert following != first
    assert app.commands.from_log(FollowUp, following).note == ERASED
    catch_up(services, projections)
    assert notes_in_read_model(services, rid) == [ERASED, ERASED, ERASED]
    assert PLAN_NOTE not in dump(superuser_database)


def test_the_retention_run_erases_follow_up_notes_with_the_notes_of_a_lost_customer(
    services: Services,
) -> None:
    app = services.app
    long_ago = {"occurred_at": LOST - timedelta(days=700)}
    rid = customer(services, **long_ago)
    fid = follow_up(services, rid, **long_ago)
    app.relationships.mark_lost(
        app.context("li.wei", occurred_at=LOST), rid, reason="moved to a competitor"
    )
    Retention(app, default_policies()).run(NOW)
    assert app.privacy.subject(notes_subject(rid)).erased == ("notes",)
    assert app.commands.from_log(FollowUp, fid).note == ERASED


# --- over HTTP ----------------------------------------------------------------------------------

STAFF = {
    "hq": ("qian.lin", Role.HQ, "Headquarters"),
    "field": ("li.wei", Role.FIELD_STAFF, "Suzhou"),
    "auditor": ("ma.li", Role.AUDITOR, "Headquarters"),
}


@pytest.fixture
def office(services: Services) -> Iterator[Office]:
    with open_office(services, STAFF) as opened:
        yield opened


def scheduled_notes(office: Office, who: str, rid: str, fid: str, position: int) -> list[Any]:
    one = office.get(who, f"/v1/follow-ups/{fid}", min_position=position)
    listed = office.get(who, "/v1/follow-ups", min_position=position, relationship_id=rid)
    notes = [one["note"], *[i["note"] for i in listed["items"]]]
    if who == "field":  # the history is for headquarters and auditors
        return notes
    history = office.get(who, f"/v1/relationships/{rid}/history", min_position=position)
    [scheduled] = [i for i in history["items"] if i["event_name"] == "FollowUp.Scheduled"]
    return [*notes, scheduled["data"]["note"]]


def test_the_account_team_reads_the_note_auditors_read_it_masked_and_erased_reads_erased(
    office: Office,
) -> None:
    app = office.services.app
    rid = office.post(
        "hq",
        "/v1/relationships",
        {
            "name": "苏州华芯电子有限公司",
            "kind": "customer",
            "industry": "electronics",
            "region": "East China",
            "branch": "Suzhou",
        },
        201,
    )["aggregate_id"]
    body = {
        "subject_kind": "relationship",
        "subject_id": rid,
        "kind": "call",
        "due_at": (NOW + timedelta(days=1)).isoformat(),
        "note": NOTE,
    }
    scheduled = office.post("field", "/v1/follow-ups", body, 201)
    fid, position = scheduled["aggregate_id"], scheduled["position"]
    assert scheduled_notes(office, "field", rid, fid, position) == [NOTE, NOTE]
    assert scheduled_notes(office, "hq", rid, fid, position) == [NOTE, NOTE, NOTE]
    assert scheduled_notes(office, "auditor", rid, fid, position) == ["[masked]"] * 3
    # The export of the customer's notes lists the follow-up's note.
    notes = notes_subject(UUID(rid))
    export = office.get("hq", f"/v1/people/{notes}/export")
    [held] = [e for e in export["events"] if e["type"] == "FollowUp.Scheduled"]
    assert (held["aggregate_id"], held["fields"], held["recorded_by"]) == (
        fid,
        {"note": NOTE},
        "li.wei",
    )

    erased = app.privacy.erase(app.context("qian.lin"), notes, reason="王秀英 asked")
    after = erased.position
    assert after is not None
    assert scheduled_notes(office, "field", rid, fid, after) == [ERASED] * 2
    for who in ("hq", "auditor"):
        assert scheduled_notes(office, who, rid, fid, after) == [ERASED] * 3
    export = office.get("hq", f"/v1/people/{notes}/export")
    [held] = [e for e in export["events"] if e["type"] == "FollowUp.Scheduled"]
    assert held["fields"] == {"note": ERASED}
