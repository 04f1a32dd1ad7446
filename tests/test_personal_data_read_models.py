"""Each store that copied a personal field rewrites it when its subject is erased, only for
the kinds erased, to what a rebuild from the log makes of it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from application.personal_data import is_sealed
from application.store import command_log
from application.store.database import Database
from domain.personal import ERASED, DataKind, contact_subject, signer_subject
from domain.relationship import Channel, Direction, RelationshipKind
from interface.runtime import Services
from projections.engine import BatchProjection, ProjectionWorker, rebuild
from projections.rebuild import rebuild_online
from projections.snapshots.writer import SnapshotProjection

NAME, PHONE, NEW_PHONE, EMAIL = "陆丽", "+86 512 6889 4411", "+86 512 6889 4499", "lu@hx.cn"
NOTES = "与陆丽电话确认下月出货计划"


def customer(services: Services) -> UUID:
    app = services.app
    rid = app.relationships.register_relationship(
        app.context("li.wei"),
        name="苏州华芯电子有限公司",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    app.relationships.add_contact(
        app.context("li.wei"), rid, contact_id="lu.li", name=NAME, title="物流经理", phone=PHONE
    )
    app.relationships.change_contact(
        app.context("li.wei"), rid, contact_id="lu.li", phone=NEW_PHONE, email=EMAIL
    )
    app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        summary=NOTES,
        contact_id="lu.li",
    )
    return rid


def named(services: Services, *names: str) -> list[BatchProjection]:
    return [p for p in services.projections if p.name in names]


def catch_up(services: Services, projections: list[BatchProjection]) -> None:
    for projection in projections:
        services.worker(projection).catch_up()


def rows(services: Services, projections: list[BatchProjection]) -> dict[str, list[str]]:
    with services.database.connect() as conn:
        return {
            table: sorted(str(r[0]) for r in conn.execute(f"SELECT t::text FROM {table} t"))
            for p in projections
            for table in p.tables
        }


def test_erasing_a_contacts_details_rewrites_only_those_as_a_rebuild_would(
    services: Services, owner_database: Database
) -> None:
    app = services.app
    rid = customer(services)
    projections = named(services, "activity", "search")
    catch_up(services, projections)
    person = contact_subject(rid, "lu.li").subject_id
    app.privacy.erase(
        app.context("qian.lin"), person, reason="asked", kinds=[DataKind.CONTACT_DETAILS]
    )
    catch_up(services, projections)
    with services.reads.connection() as conn:
        contact = conn.execute(
            "SELECT name, title, phone, email FROM activity_contact WHERE contact_id = 'lu.li'"
        ).fetchone()
        assert contact == {"name": NAME, "title": "物流经理", "phone": ERASED, "email": ERASED}
        [added, changed] = [
            r["changes"]
            for r in conn.execute(
                "SELECT changes FROM activity_contact_change ORDER BY position"
            ).fetchall()
        ]
        # The change of number shows no difference any more: only the mailbox added is.
        assert changed == [{"field": "email", "before": None, "after": ERASED}]
        assert {c["field"]: c["after"] for c in added} == {
            "name": NAME,
            "title": "物流经理",
            "phone": ERASED,
        }
        # The visit's notes are another kind: still there.
        summary = conn.execute("SELECT summary FROM activity_entry").fetchone()
        assert summary == {"summary": NOTES}
        entry = conn.execute(
            "SELECT label, terms FROM search_entry WHERE contact_id = 'lu.li'"
        ).fetchone()
        assert entry == {"label": NAME, "terms": [NAME, None, None]}
    rewritten = rows(services, projections)
    for projection in projections:
        rebuild_online(
            owner_database,
            projection,
            app.mapper,
            runtime_role=services.database.role,
        )
    assert rows(services, projections) == rewritten

    # The rest erased: the contact is found no more, its notes read "[erased]".
    app.privacy.erase(app.context("qian.lin"), person, reason="asked again")
    catch_up(services, projections)
    with services.reads.connection() as conn:
        assert (
            conn.execute("SELECT 1 FROM search_entry WHERE contact_id = 'lu.li'").fetchone() is None
        )
        assert conn.execute("SELECT summary FROM activity_entry").fetchone() == {"summary": ERASED}
        contact = conn.execute(
            "SELECT name, title, phone, email FROM activity_contact WHERE contact_id = 'lu.li'"
        ).fetchone()
        assert contact == {"name": ERASED, "title": ERASED, "phone": ERASED, "email": ERASED}
    rewritten = rows(services, projections)
    for projection in projections:
        rebuild_online(
            owner_database,
            projection,
            app.mapper,
            runtime_role=services.database.role,
        )
    assert rows(services, projections) == rewritten


def test_an_erasure_forgets_the_responses_kept_for_retries_of_the_aggregates_commands(
    services: Services,
) -> None:
    app = services.app
    rid = customer(services)
    with services.database.connect() as conn:
        [command_id] = [
            r[0]
            for r in conn.execute(
                f"SELECT command_id FROM {command_log.TABLE} WHERE aggregate_id = %s "
                "ORDER BY position LIMIT 1 OFFSET 1",
                (rid,),
            ).fetchall()
        ]
        body = f'{{"contact":{{"name":"{NAME}"}}}}'.encode()
        command_log.keep_response(conn, command_id, 200, body, {}, withheld=False)
        kept = command_log.find(conn, command_id)
        assert kept is not None
        assert kept.response == (200, body, {})
    app.privacy.erase(app.context("qian.lin"), contact_subject(rid, "lu.li").subject_id, reason="x")
    with services.database.connect() as conn:
        forgotten = command_log.find(conn, command_id)
        assert forgotten is not None
        # A retry is answered from what the log records: aggregate, version, position.
        assert forgotten.response is None
        assert (forgotten.aggregate_id, forgotten.version) == (kept.aggregate_id, kept.version)


def test_a_snapshot_taken_from_memory_before_the_erasure_is_heard_is_taken_again(
    services: Services, owner_database: Database
) -> None:
    app = services.app
    rid = customer(services)  # versions 1 to 4
    projection = SnapshotProjection(app.mapper, interval=5)
    worker = services.worker(projection)
    worker.catch_up()  # the relationship in memory, in clear text
    app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="visit",
    )  # version 5: a snapshot is due
    app.privacy.erase(app.context("qian.lin"), contact_subject(rid, "lu.li").subject_id, reason="x")
    worker.catch_up()  # version 5 and the erasure in one batch
    retaken = snapshots(services)
    assert [version for version, _ in retaken] == [5]
    assert not [s for _, s in retaken if NAME in json.dumps(s, ensure_ascii=False)]
    assert app.repository.get(rid).contacts["lu.li"].name == ERASED
    # As a rebuild from the log takes it.
    rebuild_online(
        owner_database,
        projection,
        app.mapper,
        runtime_role=services.database.role,
    )
    assert snapshots(services) == retaken


def snapshots(services: Services) -> list[tuple[int, dict[str, Any]]]:
    """The snapshots stored (version, state), without when each was taken."""
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_version, state FROM fullchain_snapshots ORDER BY 1"
        ).fetchall()
    found = []
    for version, state in rows:
        decoded = json.loads(bytes(state))
        decoded.pop("timestamp", None)
        found.append((int(version), decoded))
    return found


def test_a_signer_is_registered_by_a_digest_of_their_name_never_the_name() -> None:
    first, again = uuid4(), uuid4()
    subject = signer_subject(first, "申航国际货运航空有限公司 · 陆丽")
    assert NAME not in subject.ref
    assert subject.ref.startswith("signer:")
    # Spaces and case folded: the same signer whichever way the name was typed.
    assert signer_subject(again, " 申航国际货运航空有限公司  ·  陆丽 ").ref == subject.ref
    assert signer_subject(first, "Zhou HAO").ref == signer_subject(first, "zhou hao").ref
    assert (
        signer_subject(first, "Zhou Hao").subject_id != signer_subject(again, "Zhou Hao").subject_id
    )


class _Seen(BatchProjection):
    """Keeps the events it is handed."""

    tables: tuple[str, ...] = ()

    def __init__(self, name: str, *, reads_personal_data: bool) -> None:
        self.name = name
        self.reads_personal_data = reads_personal_data
        self.events: list[Any] = []

    def handles(self, topic: str) -> bool:
        return topic.startswith("Relationship.")

    def apply_batch(self, conn: Any, events: Any) -> None:
        self.events.extend(item.event for item in events)


def test_a_read_model_that_reads_no_personal_data_is_handed_its_fields_sealed(
    services: Services,
) -> None:
    customer(services)
    opened = _Seen("test_seen_opened", reads_personal_data=True)
    sealed = _Seen("test_seen_sealed", reads_personal_data=False)
    services.worker(opened).catch_up()
    services.worker(sealed).catch_up()

    def fields(projection: _Seen) -> tuple[Any, Any]:
        [added] = [e for e in projection.events if type(e).__name__ == "ContactAdded"]
        [logged] = [e for e in projection.events if type(e).__name__ == "InteractionLogged"]
        return added.contact["name"], logged.summary

    assert fields(opened) == (NAME, NOTES)
    name, summary = fields(sealed)
    assert is_sealed(name)
    assert is_sealed(summary)
    # Beside a read model that reads them, the one batch is decoded with them opened.
    both = [
        _Seen("test_seen_beside", reads_personal_data=False),
        _Seen("test_seen_reading", reads_personal_data=True),
    ]
    ProjectionWorker(services.database, both, services.app.mapper).catch_up()
    assert fields(both[0]) == (NAME, NOTES)


def test_account_status_rebuilt_without_opening_personal_data_is_the_model_kept_live(
    services: Services,
) -> None:
    app = services.app
    rid = customer(services)
    app.relationships.add_contact(app.context("li.wei"), rid, contact_id="wu.bo", name="吴波")
    [projection] = named(services, "account_status")
    assert not projection.reads_personal_data
    catch_up(services, [projection])
    live = rows(services, [projection])
    assert len(live["account_interaction"]) == 1
    rebuild(services.worker(projection))
    assert rows(services, [projection]) == live
