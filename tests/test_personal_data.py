"""Personal fields sealed per data subject in the log, and erased by destroying keys: the
clear text is nowhere in the database, the history still verifies, every read after the
erasure finds the fields erased."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.commands import CommandResult
from application.personal_data import SEALED, KeyRing, PersonalDataMapper
from application.privacy import UnknownSubject
from application.store import integrity
from application.store.database import Database
from domain.base import CommandRefused
from domain.personal import ERASED, DataKind, contact_subject
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from interface.runtime import Services
from projections.engine import BatchProjection, Connection, ProjectedEvent, ProjectionWorker
from tests.test_personal_data_erasure import dump as tables_as_text

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


def with_contact(services: Services, *, name: str = NAME, notes: str = NOTES) -> UUID:
    """A relationship with a contact (c-1, named ``name``) and a visit's ``notes``."""
    app = services.app
    rid = register(services)
    app.relationships.add_contact(
        app.context("li.wei"), rid, contact_id="c-1", name=name, phone=PHONE, email=EMAIL
    )
    app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary=notes,
        contact_id="c-1",
    )
    return rid


def dump(superuser_database: Database) -> str:
    """Every row of every table of the database, as text (bytea decoded as UTF-8 too)."""
    return "\n".join(tables_as_text(superuser_database).values())


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
    earlier: Relationship = app.repository.get(rid, version=2)
    assert earlier.contacts["c-1"].name == ERASED
    verification = integrity.verify(database)
    assert verification.intact, verification.summary()
    with pytest.raises(CommandRefused):
        app.privacy.erase(app.context("qian.lin"), person, reason="again")


def test_an_unknown_subject_is_answered_as_none(services: Services) -> None:
    with pytest.raises(UnknownSubject):
        services.app.privacy.erase(services.app.context("qian.lin"), uuid4(), reason="x")


class CountingKeyRing(KeyRing):
    """A key ring that counts how often it asks the database for keys to read."""

    asked = 0

    def reading_keys(self, key_ids: Iterable[UUID]) -> dict[UUID, AESGCM | None]:
        wanted = list(key_ids)
        if any(self.kept(k) is False for k in wanted):
            self.asked += 1
        return super().reading_keys(wanted)


class Contacts(BatchProjection):
    """A read model of nothing that keeps the contacts and notes it was given."""

    name = "test_contacts_seen"
    tables: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.contacts: dict[UUID, str] = {}
        self.notes: dict[UUID, str] = {}

    def handles(self, topic: str) -> bool:
        return topic.startswith("Relationship.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        for item in events:
            event: Any = item.event
            if isinstance(event, Relationship.ContactAdded):
                self.contacts[event.originator_id] = event.contact["name"]
            elif isinstance(event, Relationship.InteractionLogged):
                self.notes[event.originator_id] = event.summary


def test_a_read_model_built_by_a_process_that_kept_no_key_opens_every_field(
    services: Services, database: Database
) -> None:
    """A projection process starting afresh (no key kept, not hearing erasures) reads
    what the log holds: every sealed field opened, the erased subject's erased — the keys
    of a batch fetched together, not event by event."""
    app = services.app
    kept, erased = with_contact(services), with_contact(services)
    more = [with_contact(services) for _ in range(3)]
    app.privacy.erase(
        app.context("qian.lin"), contact_subject(erased, "c-1").subject_id, reason="asked"
    )
    keys = CountingKeyRing(database)
    keys.bind(app.recorder.datastore.get_connection)  # type: ignore[attr-defined]
    contacts = Contacts()
    worker = ProjectionWorker(
        database, contacts, PersonalDataMapper(app.construct_transcoder(), keys=keys)
    )
    worker.catch_up()
    for rid in (kept, *more):
        assert (contacts.contacts[rid], contacts.notes[rid]) == (NAME, NOTES)
    assert (contacts.contacts[erased], contacts.notes[erased]) == (ERASED, ERASED)
    assert keys.asked == 1  # one batch, one query


def test_a_contact_erased_then_changed_is_sealed_under_a_new_key(services: Services) -> None:
    """After an erasure the contact's new details are kept (under new keys): only what
    was recorded before the erasure reads as erased."""
    app = services.app
    rid = with_contact(services)
    person = contact_subject(rid, "c-1").subject_id
    app.privacy.erase(app.context("qian.lin"), person, reason="asked")
    app.relationships.change_contact(
        app.context("li.wei"),
        rid,
        contact_id="c-1",
        name="Wang Li",
        phone="+86 138 0000 0001",
        email="wang.li@example.cn",
    )
    contact = app.commands.from_log(Relationship, rid).contacts["c-1"]
    assert (contact.name, contact.phone) == ("Wang Li", "+86 138 0000 0001")
    assert app.privacy.subject(person).held == ("contact_details", "identity")
    logged = [e for e in app.events.get(rid) if isinstance(e, Relationship.InteractionLogged)]
    assert logged[0].summary == ERASED


def test_processes_sealing_a_new_subject_at_once_share_one_key(
    services: Services, database: Database
) -> None:
    """The first fields of a new contact sealed by several processes at the same moment
    end under one key per kind of data, so erasing it erases all of them."""
    rid = register(services)
    person = contact_subject(rid, "c-9")
    rings = [KeyRing(database) for _ in range(6)]
    for ring in rings:
        ring.master()  # the master key made once, before the race
    start = threading.Barrier(len(rings))
    made: list[dict[tuple[UUID, str], tuple[UUID, AESGCM]]] = []

    def seal_first(ring: KeyRing) -> None:
        start.wait()
        made.append(
            ring.writing_keys([(person, DataKind.IDENTITY), (person, DataKind.CONTACT_DETAILS)])
        )

    threads = [threading.Thread(target=seal_first, args=(ring,)) for ring in rings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == len(rings)
    for kind in (DataKind.IDENTITY, DataKind.CONTACT_DETAILS):
        assert len({keys[(person.subject_id, kind.value)][0] for keys in made}) == 1
    assert services.app.privacy.subject(person.subject_id).held == ("contact_details", "identity")


#: Texts a person may type that begin as a sealed value does: too short, not base64url,
#: and one of the very form of a sealed value (another key's id, nonce and tag).
LOOK_ALIKES = (
    SEALED,
    SEALED + "short",
    SEALED + "AAAA AAAA",
    SEALED + base64.urlsafe_b64encode(UUID(int=7).bytes + bytes(40)).decode().rstrip("="),
)


@pytest.mark.parametrize("typed", LOOK_ALIKES)
def test_a_personal_text_typed_to_look_sealed_is_sealed_and_erased_like_any_other(
    services: Services, superuser_database: Database, typed: str
) -> None:
    """A personal field is sealed whatever its text: one that begins like a sealed value
    is not kept in clear (it would outlive its person's erasure), reads back as typed,
    and is erased with its person."""
    app = services.app
    rid = with_contact(services, name=typed, notes=typed)
    stored = dump(superuser_database)
    assert f'"{typed}"' not in stored
    fresh = app.commands.from_log(Relationship, rid)
    assert fresh.contacts["c-1"].name == typed
    logged = [e for e in app.events.get(rid) if isinstance(e, Relationship.InteractionLogged)]
    assert logged[0].summary == typed

    app.privacy.erase(
        app.context("qian.lin"), contact_subject(rid, "c-1").subject_id, reason="asked"
    )
    assert app.commands.from_log(Relationship, rid).contacts["c-1"].name == ERASED
    logged = [e for e in app.events.get(rid) if isinstance(e, Relationship.InteractionLogged)]
    assert logged[0].summary == ERASED
