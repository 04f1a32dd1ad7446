"""Personal fields sealed per data subject in the log, and erased by destroying keys: the
clear text is nowhere in the database, the history still verifies, every read after the
erasure finds the fields erased."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from application.commands import CommandResult
from application.personal_data import SEALED
from application.privacy import UnknownSubject
from application.store import integrity
from application.store.database import Database
from domain.base import CommandRefused
from domain.personal import ERASED, contact_subject
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from interface.runtime import Services

NAME, PHONE, EMAIL = "王秀英", "+86 139 1234 5678", "wang.xiuying@example.cn"
NOTES = "王秀英 asked for cold-chain rates to Chengdu"


def register(services: Services) -> UUID:
    app = services.app
    return app.relationships.register_relationship(
        app.context("li.wei"),
        name="Suzhou Precision Parts Co.",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id


def with_contact(services: Services) -> UUID:
    app = services.app
    rid = register(services)
    app.relationships.add_contact(
        app.context("li.wei"), rid, contact_id="c-1", name=NAME, phone=PHONE, email=EMAIL
    )
    app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary=NOTES,
        contact_id="c-1",
    )
    return rid


def dump(superuser_database: Database) -> str:
    """Every row of every table of the database, as text."""
    with superuser_database.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        texts = []
        for table in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t').fetchall():
                texts.append(row)
            # bytea columns print as hex: the log's state too, decoded as UTF-8
            if table == "fullchain_events":
                for (state,) in conn.execute("SELECT state FROM fullchain_events").fetchall():
                    texts.append(bytes(state).decode("utf-8", "replace"))
    return "\n".join(texts)


def test_personal_fields_are_sealed_in_the_log_and_open_on_reading(
    services: Services, superuser_database: Database
) -> None:
    rid = with_contact(services)
    stored = dump(superuser_database)
    for clear in (NAME, PHONE, EMAIL, NOTES):
        assert clear not in stored
    assert SEALED in stored
    # The company's name is a business fact: in clear text.
    assert "Suzhou Precision Parts Co." in stored
    fresh = services.app.commands.from_log(Relationship, rid)
    contact = fresh.contacts["c-1"]
    assert (contact.name, contact.phone, contact.email) == (NAME, PHONE, EMAIL)


def test_erasing_a_contact_leaves_no_clear_text_and_the_log_still_verifies(
    services: Services, superuser_database: Database, database: Database
) -> None:
    rid = with_contact(services)
    app = services.app
    person = contact_subject(rid, "c-1").subject_id
    assert app.privacy.subject(person).held == ("contact_details", "identity", "notes")
    result = app.privacy.erase(
        app.context("qian.lin"), person, reason="the contact asked", request_ref="DSR-2026-7"
    )
    assert isinstance(result, CommandResult)
    assert app.privacy.subject(person).erased == ("contact_details", "identity", "notes")
    # A process that never saw the key, and the one that erased it, read the same.
    for relationship in (
        app.commands.from_log(Relationship, rid),
        app.repository.get(rid),
    ):
        contact = relationship.contacts["c-1"]
        assert (contact.name, contact.phone, contact.email) == (ERASED, ERASED, ERASED)
    events = list(app.events.get(rid))
    logged = [e for e in events if isinstance(e, Relationship.InteractionLogged)]
    assert logged[0].summary == ERASED
    erased = [e for e in events if isinstance(e, Relationship.PersonalDataErased)]
    assert erased[0].request_ref == "DSR-2026-7"
    assert erased[0].actor == "qian.lin"
    # The state at an earlier version shows the field erased too.
    earlier = app.repository.get(rid, version=2)
    assert earlier.contacts["c-1"].name == ERASED
    verification = integrity.verify(database)
    assert verification.intact, verification.summary()
    with pytest.raises(CommandRefused):
        app.privacy.erase(app.context("qian.lin"), person, reason="again")


def test_an_unknown_subject_is_answered_as_none(services: Services) -> None:
    with pytest.raises(UnknownSubject):
        services.app.privacy.erase(services.app.context("qian.lin"), uuid4(), reason="x")
