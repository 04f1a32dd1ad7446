"""Personal data: which fields of which events identify a person, whose they are, and what
a field reads as once its person is erased.

A field that identifies a person (a contact's name, phone, email, a visit's notes, a
handover's signer) is declared on its event class in ``PERSONAL``: the path of the field
in the event's state, the kind of data it is, and how to find its data subject from the
event. The store seals each declared field under a key of its subject and kind
(``application.personal_data``); erasing the subject destroys the keys, and every later
read of the field finds ``ERASED``. Business facts (amounts, weights, times, companies)
are never declared and stay in clear text.

Pure: no keys, no I/O — only the declarations and the ids of data subjects.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from domain.base import require
from domain.values import optional_text, required_text

#: What a personal field reads as once its key is destroyed.
ERASED = "[erased]"

#: The namespace of data subjects' ids.
_PEOPLE = UUID("2f6c9a1e-7d3b-4c58-9e0f-4b1a8d7c6e52")


class DataKind(StrEnum):
    """Kinds of personal data, each sealed under a key of its own, so a retention policy
    can erase one kind (visit notes after three years) and leave the rest."""

    IDENTITY = "identity"  # a name, a title
    CONTACT_DETAILS = "contact_details"  # phone, email, messaging ids
    NOTES = "notes"  # free-text notes of visits and calls
    SIGNATURE = "signature"  # who signed a handover


class DataSubjectKind(StrEnum):
    CONTACT = "contact"  # a customer's contact person
    NOTES = "notes"  # a relationship's notes that name no contact
    SIGNER = "signer"  # a person who signed a handover


@dataclass(frozen=True)
class Subject:
    """A data subject: a person (or, for notes that name nobody, the relationship's
    notes), as the aggregate that holds its data and the reference within it."""

    kind: DataSubjectKind
    aggregate_id: UUID
    ref: str

    @property
    def subject_id(self) -> UUID:
        return subject_id(self.kind, self.aggregate_id, self.ref)


@functools.lru_cache(maxsize=4096)
def subject_id(kind: DataSubjectKind, aggregate_id: UUID, ref: str) -> UUID:
    """A data subject's id: the same person of the same aggregate always has the same.
    (Kept for the subjects met lately: a command asks for it twice, 2.5 µs each time.)"""
    return uuid5(_PEOPLE, f"{kind.value}:{aggregate_id}:{ref}")


def contact_subject(relationship_id: UUID, contact_id: str) -> Subject:
    return Subject(DataSubjectKind.CONTACT, relationship_id, contact_id)


def signer_subject(shipment_id: UUID, signed_by: str) -> Subject:
    """A handover's signer, known only by the name they signed with on this shipment. The
    reference is a digest of the name (spaces and case folded), never the name itself: it
    is stored in clear text (the subject's registry, the erasure event) and must outlive
    the erasure without naming the person."""
    return Subject(DataSubjectKind.SIGNER, shipment_id, signer_ref(signed_by))


def signer_ref(signed_by: str) -> str:
    """The reference of the signer who signed as ``signed_by``, the same on every
    shipment: ``signer:`` and the first 32 hex digits of the SHA-256 of the folded name."""
    folded = " ".join(signed_by.split()).casefold()
    return "signer:" + hashlib.sha256(folded.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PersonalField:
    """A personal field of an event: ``path`` into its state (dots into dicts), its kind,
    and its subject from the event's state and originator id."""

    path: str
    kind: DataKind
    subject: Callable[[Mapping[str, Any], UUID], Subject]

    def get(self, state: Mapping[str, Any]) -> Any:
        *parents, last = self.path.split(".")
        node: Any = state
        for name in parents:
            node = node.get(name) if isinstance(node, Mapping) else None
        return node.get(last) if isinstance(node, Mapping) else None

    def set(self, state: dict[str, Any], value: Any) -> None:
        """Set the field in a copy-on-write way: dicts on the path are copied, never the
        caller's (the event in memory keeps its clear text)."""
        *parents, last = self.path.split(".")
        node = state
        for name in parents:
            child = dict(node[name])
            node[name] = child
            node = child
        node[last] = value


def is_erased(value: object) -> bool:
    return value == ERASED


class ErasureBasis(StrEnum):
    REQUEST = "request"  # the data subject asked (PIPL Art. 47, GDPR Art. 17)
    RETENTION = "retention"  # its retention period ended


#: The fields of every erasure event (``PersonalDataErased`` of each aggregate that holds
#: personal data): whose data, which kinds, why, on what basis, under which request.
ERASURE_FIELDS = ("subject_id", "subject_kind", "ref", "kinds", "reason", "basis", "request_ref")


def erasure_fields(
    aggregate_id: UUID,
    subject: Subject,
    kinds: Sequence[DataKind],
    *,
    reason: str,
    basis: ErasureBasis,
    request_ref: str | None,
) -> dict[str, Any]:
    """The payload of the erasure event of the aggregate ``aggregate_id``, validated."""
    require(
        subject.aggregate_id == aggregate_id,
        "erasure.subject",
        "the data subject's data is not this record's",
    )
    require(bool(kinds), "erasure.kinds", "name at least one kind of data", field="kinds")
    return {
        "subject_id": subject.subject_id,
        "subject_kind": subject.kind.value,
        "ref": subject.ref,
        "kinds": sorted({DataKind(k).value for k in kinds}),
        "reason": required_text(reason, "reason", max_length=500),
        "basis": ErasureBasis(basis).value,
        "request_ref": optional_text(request_ref, "request_ref", max_length=120),
    }
