"""What an erasure (``Relationship.PersonalDataErased``, ``Shipment.PersonalDataErased``)
asks of a read model that copied personal fields: the fields of the subject and kinds
erased read ``domain.personal.ERASED`` from then on, exactly as a rebuild from the log
finds them (the log's sealed fields open as ``ERASED`` once their keys are destroyed).

A field that was absent (``None``) stays absent; a field present reads ``ERASED``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domain.personal import ERASED, DataKind, DataSubjectKind, signer_ref

#: The fields of a contact each kind of data covers.
CONTACT_FIELDS_OF_KIND: dict[DataKind, tuple[str, ...]] = {
    DataKind.IDENTITY: ("name", "title"),
    DataKind.CONTACT_DETAILS: ("phone", "email"),
}


def is_erasure(event: Any) -> bool:
    return bool(getattr(type(event), "ERASES", False))


@dataclass(frozen=True)
class Erasure:
    """An erasure event as read models need it."""

    aggregate_id: Any
    subject_kind: DataSubjectKind
    ref: str
    kinds: frozenset[DataKind]

    @classmethod
    def of(cls, event: Any) -> Erasure:
        return cls(
            event.originator_id,
            DataSubjectKind(event.subject_kind),
            event.ref,
            frozenset(DataKind(k) for k in event.kinds),
        )

    @property
    def contact_id(self) -> str | None:
        """The contact erased, if the subject is a contact."""
        return self.ref if self.subject_kind is DataSubjectKind.CONTACT else None

    @property
    def contact_fields(self) -> tuple[str, ...]:
        """The contact's fields erased (none unless the subject is a contact)."""
        if self.subject_kind is not DataSubjectKind.CONTACT:
            return ()
        return tuple(f for kind in sorted(self.kinds) for f in CONTACT_FIELDS_OF_KIND.get(kind, ()))

    @property
    def notes(self) -> bool:
        """Visit notes erased: of the contact named (contact), or of no contact (notes)."""
        return DataKind.NOTES in self.kinds and self.subject_kind in (
            DataSubjectKind.CONTACT,
            DataSubjectKind.NOTES,
        )

    def notes_of(self, contact_id: str | None) -> bool:
        """Whether the notes of an interaction with ``contact_id`` are erased."""
        if not self.notes:
            return False
        if self.subject_kind is DataSubjectKind.NOTES:
            return contact_id is None
        return contact_id == self.ref

    def signed(self, signed_by: str | None) -> bool:
        """Whether ``signed_by`` (of a handover of this shipment) is the signer erased."""
        return (
            self.subject_kind is DataSubjectKind.SIGNER
            and DataKind.SIGNATURE in self.kinds
            and signed_by is not None
            and signed_by != ERASED
            and signer_ref(signed_by) == self.ref
        )


def erased(value: Any) -> Any:
    """A personal field as a rebuild finds it after its erasure: absent stays absent."""
    return None if value is None else ERASED


def erased_contact(contact: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A contact's dict with ``fields`` erased."""
    return {k: erased(v) if k in set(fields) else v for k, v in contact.items()}
