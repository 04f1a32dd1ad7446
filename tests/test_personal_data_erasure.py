"""After an erasure, no table of the database, no read model, no audit package and no EPCIS
export holds the erased clear text; the history and the state at an earlier version read
"[erased]", and the log still verifies."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application import webhooks
from application.audit_export import build
from application.epcis import custody_document
from application.store import integrity
from application.store.database import Database
from application.store.integrity import configured_signing_key
from domain.personal import ERASED, DataSubjectKind, Subject, contact_subject, signer_subject
from domain.relationship import Relationship
from interface.demo import load_demo
from interface.runtime import Services
from projections.freshness import projection_position
from projections.history.queries import HistoryFilter, history_page
from projections.rebuild import rebuild_online
from tests.clock import NOW
from tests.conftest import fresh_database, open_services
from tests.waiting import wait_until

CUSTOMER = "苏州华芯电子有限公司"
CONTACT_TOPICS = ("Relationship.ContactAdded", "Relationship.ContactChanged")


@pytest.fixture(scope="module")
def demo(server_conninfo: str) -> Iterator[tuple[Services, Database]]:
    """The demo in a database of its own, every read model caught up."""
    with fresh_database(server_conninfo) as database:
        services = open_services(database, NOW, branches=False)
        try:
            with database.connect(autocommit=True) as conn:
                webhooks.subscribe(
                    conn,
                    url="https://hooks.example.com/crm",
                    event_types=(),
                    branch=None,
                    created_by="qian.lin",
                    now=NOW,
                )
            load_demo(services, now=NOW)
            catch_up(services)
            yield services, database
        finally:
            services.close()


def notes_subject(relationship_id: UUID) -> Subject:
    return Subject(DataSubjectKind.NOTES, relationship_id, "notes")


def catch_up(services: Services) -> None:
    for projection in services.projections:
        services.worker(projection).catch_up()


def dump(database: Database) -> dict[str, str]:
    """Every row of every table, as text by table; bytea columns also decoded as UTF-8."""
    texts: dict[str, list[str]] = {}
    with database.connect() as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        for table in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t').fetchall():
                texts.setdefault(table, []).append(row)
            binary = [
                str(r[0])
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = %s AND data_type = 'bytea'",
                    (table,),
                ).fetchall()
            ]
            for column in binary:
                for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}"').fetchall():
                    if value is not None:
                        texts[table].append(bytes(value).decode("utf-8", "replace"))
    return {table: "\n".join(rows) for table, rows in texts.items()}


def events_of(
    services: Services, topics: tuple[str, ...], where: str = "", *params: Any
) -> list[Any]:
    app = services.app
    with services.reads.connection() as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM fullchain_events "
            f"WHERE topic = ANY(%s) {where} ORDER BY notification_id",
            (list(topics), *params),
        ).fetchall()
    return [
        app.mapper.to_domain_event(
            StoredEvent(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
        )
        for r in rows
    ]


class Erased(NamedTuple):
    services: Services
    #: The database as its superuser (and its schema's owner).
    database: Database
    relationship_id: UUID
    shipments: list[UUID]
    contact: UUID
    #: What only the people erased held, in clear text.
    clear: list[str]


@pytest.fixture(scope="module")
def erased(demo: tuple[Services, Database]) -> Erased:
    """A contact of the demo's customer, the signers who signed with their name and the
    customer's notes, erased; every read model and the webhooks' deliveries caught up."""
    services, database = demo
    app = services.app
    with services.reads.connection() as conn:
        row = conn.execute(
            "SELECT relationship_id FROM activity_relationship WHERE name = %s", (CUSTOMER,)
        ).fetchone()
        assert row is not None
        rid: UUID = row["relationship_id"]
        shipments = [
            r["aggregate_id"]
            for r in conn.execute(
                "SELECT aggregate_id FROM aggregate_owner WHERE relationship_id = %s "
                "AND aggregate_id IN (SELECT DISTINCT aggregate_id FROM history_index "
                "WHERE relationship_id = %s AND aggregate_type = 'Shipment')",
                (rid, rid),
            ).fetchall()
        ]
    assert shipments

    # Every personal value of the log, by its subject.
    values: dict[UUID, set[str]] = {}

    def note(subject: UUID, *found: Any) -> None:
        values.setdefault(subject, set()).update(v for v in found if isinstance(v, str) and v)

    for e in events_of(services, CONTACT_TOPICS):
        c = e.contact
        note(
            contact_subject(e.originator_id, c["contact_id"]).subject_id,
            c.get("name"),
            c.get("title"),
            c.get("phone"),
            c.get("email"),
        )
    visits = events_of(services, ("Relationship.InteractionLogged",))
    for e in visits:
        if e.contact_id is not None:
            note(contact_subject(e.originator_id, e.contact_id).subject_id, e.summary)
        else:
            note(notes_subject(e.originator_id).subject_id, e.summary)
    for e in events_of(services, ("Relationship.CustomerCareRecorded",)):
        note(notes_subject(e.originator_id).subject_id, e.note)
    signed = events_of(services, ("Shipment.CustodyHandedOver", "Shipment.Delivered"))
    for e in signed:
        note(signer_subject(e.originator_id, e.signed_by).subject_id, e.signed_by)

    # A contact of the customer with visits logged naming it, who asks that everything
    # naming them be erased: their contact record, the handovers signed with their name,
    # the customer's free-text notes (which name them); and a signer of its cargo.
    visited = [e.contact_id for e in visits if e.originator_id == rid and e.contact_id]
    assert visited
    contact_id = visited[0]
    name = next(
        e.contact["name"]
        for e in events_of(services, CONTACT_TOPICS)
        if e.originator_id == rid and e.contact["contact_id"] == contact_id
    )
    contact = contact_subject(rid, contact_id).subject_id
    ours = [e.signed_by for e in signed if e.originator_id in shipments]
    signer_names = {e.signed_by for e in signed if name in e.signed_by} | {ours[0]}
    refs = {signer_subject(rid, n).ref for n in signer_names}
    signers = {
        signer_subject(e.originator_id, e.signed_by).subject_id
        for e in signed
        if signer_subject(e.originator_id, e.signed_by).ref in refs
    }
    erased = {contact, notes_subject(rid).subject_id, *signers}
    kept = {v for s, vs in values.items() if s not in erased for v in vs}
    # What only the erased held (a string someone else's data also holds is not theirs).
    clear = sorted(v for s in erased for v in values.get(s, ()) if not any(v in k for k in kept))
    assert signer_names <= set(clear), "the signers' names are theirs alone"
    assert name in clear
    assert len(clear) >= 3, clear
    dispatcher = services.webhook_dispatcher()
    with dispatcher.connect() as conn:
        dispatcher.enqueue(conn)
    before = "\n".join(dump(database).values())
    assert all(v in before for v in clear)

    # The read models' worker runs as in the service; the erasures are waited for.
    services.start_workers()
    last = max(
        app.privacy.erase(
            app.context("qian.lin"), subject, reason="the person asked", request_ref="DSR-1"
        ).position
        for subject in sorted(s for s in erased if s in values)
    )

    def caught_up() -> bool:
        with services.reads.connection() as conn:
            return all(projection_position(conn, p.name) >= last for p in services.projections)

    wait_until(caught_up, what="the read models have applied the erasures")
    with dispatcher.connect() as conn:
        dispatcher.enqueue(conn)
    return Erased(services, database, rid, shipments, contact, clear)


def test_an_erased_person_is_nowhere_in_the_database_nor_in_exports(
    erased: Erased, tmp_path: Path
) -> None:
    services, database, rid, shipments, contact, clear = erased
    app = services.app

    # (a) Nowhere in the database; the companies' names are still there.
    after = dump(database)
    assert CUSTOMER in "\n".join(after.values())
    leaks = {
        (table, v, text[max(0, text.find(v) - 120) : text.find(v) + 60])
        for table, text in after.items()
        for v in clear
        if v in text
    }
    assert not leaks, "\n".join(f"{t}: {v} in …{around}…" for t, v, around in sorted(leaks))

    # The webhooks' deliveries kept of the customer's events read "[erased]" now.
    with database.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM webhook_delivery WHERE aggregate_id = %s AND body LIKE %s",
            (rid, f"%{ERASED}%"),
        ).fetchone()
    assert row is not None
    assert row[0] > 0

    # (b) Nor in the customer's audit package, nor in the EPCIS exports of its shipments;
    # the package still proves itself offline.
    package = build(
        services.database,
        app.mapper,
        services.signing_key(),
        rid,
        name=CUSTOMER,
        now=app.clock(),
        key_in_database=configured_signing_key() is None,
        evidence=app.evidence,
    )
    folder = tmp_path / "package"
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        archive.extractall(folder)
    for sid in shipments:
        document = custody_document(app.shipments.get_shipment(sid), created=NOW)
        (tmp_path / f"custody-{sid}.jsonld").write_text(
            json.dumps(document, ensure_ascii=False), encoding="utf-8"
        )
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not [v for v in clear if v in text], path
    checked = subprocess.run(
        [sys.executable, str(folder / "verify_package.py"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # (c) The history and the state at an earlier version read "[erased]".
    with services.reads.connection() as conn:
        entries, _ = history_page(
            conn,
            app.mapper,
            rid,
            HistoryFilter(event_names=["Relationship.ContactAdded"]),
            limit=500,
            cursor=None,
        )
    ref = app.privacy.subject(contact).subject.ref
    added = [e for e in entries if e["data"]["contact"]["contact_id"] == ref]
    assert added
    assert added[0]["data"]["contact"]["name"] == ERASED
    earlier = services.time_travel().state("Relationship", rid, version=added[0]["version"])
    assert isinstance(earlier.aggregate, Relationship)
    assert earlier.aggregate.contacts[ref].name == ERASED

    # (d) The log still verifies.
    verification = integrity.verify(services.database)
    assert verification.intact, verification.summary()


def rows_of(database: Database, tables: tuple[str, ...]) -> dict[str, list[str]]:
    with database.connect() as conn:
        return {
            table: sorted(str(r[0]) for r in conn.execute(f"SELECT t::text FROM {table} t"))
            for table in tables
        }


def test_every_read_model_after_an_erasure_is_what_a_rebuild_from_the_log_makes(
    erased: Erased,
) -> None:
    """The rows each read model rewrote on hearing the erasure are those a rebuild from
    the log writes, where the erased fields open as "[erased]"."""
    services, database = erased.services, erased.database
    differ = []
    for projection in services.projections:
        tables = tuple(projection.tables)
        rewritten = rows_of(database, tables)
        rebuild_online(database, projection, services.app.mapper)
        rebuilt = rows_of(database, tables)
        for table in tables:
            if rewritten[table] != rebuilt[table]:
                gone = set(rewritten[table]) - set(rebuilt[table])
                made = set(rebuilt[table]) - set(rewritten[table])
                differ.append(f"{table}: {sorted(gone)[:2]} rebuilt as {sorted(made)[:2]}")
    assert not differ, "\n".join(differ)
