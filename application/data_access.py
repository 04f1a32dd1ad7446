"""Data subjects' right of access and portability (PIPL Art. 45, GDPR Art. 15 and 20): all
the personal data the log holds of one person, as one machine-readable document.

A subject is named by its id (``domain.personal.subject_id``; a contact's is
``contact_subject(relationship_id, contact_id).subject_id``), or found by an email address
or a phone number across every customer (``find``). The export holds:

* ``subject``: its kind, the customer it is held for (id and name), and which kinds of its
  data are held and which erased;
* ``personal_data``: what it reads as now, opened with its keys (``[erased]`` once erased);
* ``events``: every event that holds a field of it — its type, when it happened, when it was
  recorded, who recorded it, the aggregate it belongs to, and the subject's fields in it (a
  visit's notes that name it; for the customer's notes, also its follow-ups' and care
  plans' notes); never another person's fields of the same event;
* ``consents``: each purpose as it stands, and every giving and withdrawal;
* ``erasures``: the kinds erased, when, by whom, on what basis and under which request;
* ``processing``: the purposes its data is processed for, on what basis, and the read
  models that hold it.

The lookup by email or phone reads the log (the contacts' ``ContactAdded`` and
``ContactChanged`` events, opened through the application's mapper), not the search read
model: a read model may lag behind the log, keeps only contacts' current details (a removed
contact, or an address changed since, is gone from it, though the log still holds them and
the request covers them), and indexes folded keys rather than the addresses themselves.
Such requests are rare and answered for headquarters, so one pass over the contacts' events
is an acceptable price for an answer that misses nothing.

Every export is a read of a person's data: ``record`` writes it to the access log.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.jsonable import jsonable
from application.personal_data import personal_fields
from application.service import Fullchain
from application.store.access_log import record_access
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from domain.base import InvalidValue
from domain.consent import ConsentPurpose
from domain.personal import DataKind, DataSubjectKind, contact_subject
from domain.relationship import Relationship
from domain.shipment import Shipment
from projections.search.text import phone_keys

#: What the export's format is called, and its version (a reader checks it).
FORMAT = "fullchain.personal-data-export"
FORMAT_VERSION = 1

_CONTACT_TOPICS = ("Relationship.ContactAdded", "Relationship.ContactChanged")

#: The events outside a customer's own log that hold its notes: a follow-up's note and a
#: care plan's (``domain.follow_up.NOTE_FIELDS``), each naming the relationship.
_NOTES_ELSEWHERE = ("FollowUp.Scheduled", "CarePlan.Started")


@dataclass(frozen=True)
class Processing:
    """One purpose a subject's data is processed for."""

    purpose: str
    basis: str  # contract, legal_obligation, consent
    kinds: tuple[DataKind, ...]
    read_models: tuple[str, ...]
    description: str
    #: The consent it needs (basis "consent"), if any.
    consent: ConsentPurpose | None = None

    def as_dict(self, consents: Mapping[str, bool]) -> dict[str, Any]:
        found: dict[str, Any] = {
            "purpose": self.purpose,
            "basis": self.basis,
            "data_kinds": [k.value for k in self.kinds],
            "read_models": list(self.read_models),
            "description": self.description,
        }
        if self.consent is not None:
            found["consent"] = self.consent.value
            found["consent_given"] = consents.get(self.consent.value, False)
        return found


_CONTACT_PROCESSING = (
    Processing(
        "customer_relationship",
        "contract",
        (DataKind.IDENTITY, DataKind.CONTACT_DETAILS, DataKind.NOTES),
        ("activity",),
        "the customer's contacts and timeline of visits and calls, for its account team",
    ),
    Processing(
        "search",
        "contract",
        (DataKind.IDENTITY, DataKind.CONTACT_DETAILS),
        ("search",),
        "finding the customer by its contact's name, phone or email",
    ),
    Processing(
        "audit",
        "legal_obligation",
        (DataKind.IDENTITY, DataKind.CONTACT_DETAILS, DataKind.NOTES),
        ("history",),
        "the customer's history for auditors, read from the log",
    ),
    Processing(
        "marketing",
        "consent",
        (DataKind.IDENTITY, DataKind.CONTACT_DETAILS),
        ("marketing",),
        "contacting the person in campaigns",
        ConsentPurpose.MARKETING,
    ),
    Processing(
        "service_updates",
        "consent",
        (DataKind.IDENTITY, DataKind.CONTACT_DETAILS),
        (),
        "news of services and lanes beyond the contract's",
        ConsentPurpose.SERVICE_UPDATES,
    ),
    Processing(
        "analytics",
        "consent",
        (DataKind.NOTES,),
        (),
        "the person's data in analyses beyond serving the customer",
        ConsentPurpose.ANALYTICS,
    ),
)

PROCESSING: dict[DataSubjectKind, tuple[Processing, ...]] = {
    DataSubjectKind.CONTACT: _CONTACT_PROCESSING,
    DataSubjectKind.NOTES: (
        Processing(
            "customer_relationship",
            "contract",
            (DataKind.NOTES,),
            ("activity", "follow_ups"),
            "the customer's timeline of visits and calls, and the notes of its follow-ups and "
            "care plans, for its account team",
        ),
        Processing(
            "audit",
            "legal_obligation",
            (DataKind.NOTES,),
            ("history",),
            "the customer's history for auditors, read from the log",
        ),
    ),
    DataSubjectKind.SIGNER: (
        Processing(
            "chain_of_custody",
            "contract",
            (DataKind.SIGNATURE,),
            ("responsibility_audit",),
            "who signed each handover of the shipment, for its chain of custody and claims",
        ),
        Processing(
            "audit",
            "legal_obligation",
            (DataKind.SIGNATURE,),
            ("history",),
            "the shipment's history for auditors, read from the log",
        ),
    ),
}


def normalised_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().casefold()


def normalised_phone(phone: str) -> set[str]:
    """A phone number's digits, with and without China's country code."""
    return set(phone_keys(phone))


class DataAccess:
    """Exports of data subjects' personal data, and the lookup of subjects by email or
    phone."""

    def __init__(self, app: Fullchain, database: Database) -> None:
        self.app = app
        self.database = database

    # --- finding subjects ---------------------------------------------------------------

    def find(self, *, email: str | None = None, phone: str | None = None) -> list[UUID]:
        """The contacts (as data subject ids) whose email or phone, now or ever, is the one
        given, across every customer; in the order they were first recorded."""
        wanted_email = normalised_email(email) if email else None
        wanted_phone = normalised_phone(phone) if phone else set()
        if not wanted_email and not wanted_phone:
            raise InvalidValue(
                "access_request.lookup", "name an email address or a phone number", field="email"
            )
        found: dict[UUID, None] = {}
        for event in self._contact_events():
            contact = event.contact
            matched = (
                wanted_email is not None
                and isinstance(contact.get("email"), str)
                and normalised_email(contact["email"]) == wanted_email
            ) or (
                bool(wanted_phone)
                and isinstance(contact.get("phone"), str)
                and bool(normalised_phone(contact["phone"]) & wanted_phone)
            )
            if matched:
                found[contact_subject(event.originator_id, contact["contact_id"]).subject_id] = None
        return list(found)

    def _contact_events(self) -> Iterable[Any]:
        with self.app.personal_keys._connection() as conn:
            rows = conn.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
                "WHERE topic = ANY(%s) ORDER BY notification_id",
                (list(_CONTACT_TOPICS),),
            ).fetchall()
        for row in rows:
            yield self.app.mapper.to_domain_event(
                StoredEvent(
                    row["originator_id"],
                    row["originator_version"],
                    row["topic"],
                    bytes(row["state"]),
                )
            )

    # --- the export ---------------------------------------------------------------------

    def export(self, subject_id: UUID) -> dict[str, Any]:
        """The subject's export (``UnknownSubject``, 404, if there is none)."""
        found = self.app.privacy.subject(subject_id)
        subject = found.subject
        aggregate_id = subject.aggregate_id
        events: list[dict[str, Any]] = []
        consent_history: list[dict[str, Any]] = []
        erasures: list[dict[str, Any]] = []
        last_contact: dict[str, Any] | None = None
        signed_by: str | None = None
        for event, row in self._events_of(aggregate_id, subject.kind):
            state = vars(event)
            held = {
                f.path: value
                for f in personal_fields(type(event))
                if f.subject(state, event.originator_id).subject_id == subject_id
                and (value := f.get(state)) is not None
            }
            when = {
                "type": row["topic"],
                "aggregate_id": event.originator_id,
                "position": row["notification_id"],
                "version": row["originator_version"],
                "occurred_at": event.occurred_at,
                "recorded_at": row["recorded_at"],
                "recorded_by": event.actor,
            }
            if held:
                events.append({**when, "fields": held})
                if "contact.name" in held:
                    last_contact = dict(state["contact"])
                if isinstance(held.get("signed_by"), str):
                    signed_by = held["signed_by"]
            names_contact = (
                subject.kind is DataSubjectKind.CONTACT and state.get("contact_id") == subject.ref
            )
            if names_contact and isinstance(
                event, Relationship.ConsentGiven | Relationship.ConsentWithdrawn
            ):
                consent_history.append(
                    {
                        **when,
                        "purpose": event.purpose,
                        "given": isinstance(event, Relationship.ConsentGiven),
                        "channel": event.channel,
                        "evidence_ref": event.evidence_ref,
                    }
                )
            if getattr(type(event), "ERASES", False) and event.subject_id == subject_id:
                erasures.append(
                    {
                        **when,
                        "kinds": list(event.kinds),
                        "basis": event.basis,
                        "reason": event.reason,
                        "request_ref": event.request_ref,
                    }
                )
        customer_id, personal, consents = self._current(
            subject.kind, aggregate_id, subject.ref, last_contact, signed_by
        )
        customer = self.app.commands.from_log(Relationship, customer_id)
        given = {c["purpose"]: c["given"] for c in consents}
        export = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "subject": {
                "subject_id": subject_id,
                "kind": subject.kind.value,
                "customer": {"relationship_id": customer.id, "name": customer.name},
                "aggregate_id": aggregate_id,
                "ref": subject.ref,
                "registered_at": found.created_at,
                "held": list(found.held),
                "erased": list(found.erased),
            },
            "personal_data": personal,
            "events": events,
            "consents": {"current": consents, "history": consent_history},
            "erasures": erasures,
            "processing": [p.as_dict(given) for p in PROCESSING[subject.kind]],
        }
        result: dict[str, Any] = jsonable(export)
        return result

    def _current(
        self,
        kind: DataSubjectKind,
        aggregate_id: UUID,
        ref: str,
        last_contact: dict[str, Any] | None,
        signed_by: str | None,
    ) -> tuple[UUID, dict[str, Any], list[dict[str, Any]]]:
        """The customer the data is held for, what the data reads as now, and the
        contact's consents as they stand."""
        if kind is DataSubjectKind.SIGNER:
            shipment = self.app.commands.from_log(Shipment, aggregate_id)
            return shipment.customer_id, {"shipment_id": aggregate_id, "signed_by": signed_by}, []
        relationship = self.app.commands.from_log(Relationship, aggregate_id)
        if kind is DataSubjectKind.NOTES:
            return aggregate_id, {}, []
        contact = relationship.contacts.get(ref)
        personal: dict[str, Any] = (
            {**contact.as_dict(), "removed": False}
            if contact is not None
            else {**(last_contact or {"contact_id": ref}), "removed": True}
        )
        consents = [
            {
                "purpose": c.purpose.value,
                "given": c.given,
                "changed_at": c.changed_at,
                "changed_by": c.changed_by,
                "channel": c.channel.value,
                "evidence_ref": c.evidence_ref,
            }
            for c in relationship.consents.get(ref, {}).values()
        ]
        return aggregate_id, personal, consents

    def _events_of(
        self, aggregate_id: UUID, kind: DataSubjectKind
    ) -> Iterable[tuple[Any, dict[str, Any]]]:
        """The events of the subject's aggregate, and for a customer's notes (the notes
        subject) the creations of its follow-ups and care plans, whose notes are its notes:
        in the order of the log."""
        with self.app.personal_keys._connection() as conn:
            rows = conn.execute(
                "SELECT originator_id, notification_id, originator_version, topic, state, "
                f"recorded_at FROM {EVENTS_TABLE} WHERE originator_id = %s "
                "ORDER BY originator_version",
                (aggregate_id,),
            ).fetchall()
            if kind is DataSubjectKind.NOTES:
                notes = conn.execute(
                    "SELECT originator_id, notification_id, originator_version, topic, state, "
                    f"recorded_at FROM {EVENTS_TABLE} WHERE topic = ANY(%s) "
                    "ORDER BY notification_id",
                    (list(_NOTES_ELSEWHERE),),
                ).fetchall()
                decode = self.app.mapper.transcoder.decode
                rows += [
                    r
                    for r in notes
                    if str(decode(bytes(r["state"])).get("relationship_id")) == str(aggregate_id)
                ]
                rows.sort(key=lambda r: r["notification_id"])
        for row in rows:
            event = self.app.mapper.to_domain_event(
                StoredEvent(
                    row["originator_id"],
                    row["originator_version"],
                    row["topic"],
                    bytes(row["state"]),
                )
            )
            yield event, row

    # --- who read it --------------------------------------------------------------------

    def record(self, reader: str, subject_id: UUID, export: Mapping[str, Any], why: str) -> None:
        """The export read by ``reader``, in the access log."""
        kind = DataSubjectKind(export["subject"]["kind"])
        record_access(
            self.database,
            staff_id=reader,
            what="personal_data_export",
            aggregate_type="Shipment" if kind is DataSubjectKind.SIGNER else "Relationship",
            aggregate_id=UUID(export["subject"]["aggregate_id"]),
            detail=f"subject {subject_id}; {why}",
        )

    def read(self, reader: str, subject_id: UUID, why: str) -> dict[str, Any]:
        """The subject's export, its reading recorded."""
        export = self.export(subject_id)
        self.record(reader, subject_id, export, why)
        return export
