"""Data subjects' rights: erasure (PIPL Art. 47, GDPR Art. 17) by destroying keys.

A data subject is known by its id (``domain.personal.subject_id``): the store registered
it, with the aggregate that holds its data, the first time a field of it was sealed
(``application.personal_data``). Erasing it appends ``PersonalDataErased`` to that
aggregate — who, why, on what basis, under which request — and destroys its keys in the
same transaction, so the record of an erasure and the erasure itself never part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.commands import CommandPath, CommandResult
from application.personal_data import KeyRing
from domain.base import CommandContext, CommandRefused, DomainError
from domain.personal import DataKind, DataSubjectKind, ErasureBasis, Subject
from domain.relationship import Relationship
from domain.shipment import Shipment

#: What erasing a subject destroys unless told otherwise: every kind it has.
ALL_KINDS: tuple[DataKind, ...] = tuple(DataKind)


class UnknownSubject(DomainError):
    """No data subject has this id (HTTP 404)."""

    def __init__(self, subject_id: UUID) -> None:
        super().__init__("subject.unknown", f"no data subject has id {subject_id}")


@dataclass(frozen=True)
class DataSubject:
    """A data subject as the store knows it, and the state of its keys."""

    subject: Subject
    subject_id: UUID
    created_at: datetime
    #: Kinds of data with a live key.
    held: tuple[str, ...]
    #: Kinds whose every key is destroyed.
    erased: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject_id": str(self.subject_id),
            "kind": self.subject.kind.value,
            "aggregate_id": str(self.subject.aggregate_id),
            "ref": self.subject.ref,
            "registered_at": self.created_at.isoformat(),
            "held": list(self.held),
            "erased": list(self.erased),
        }


class PrivacyService:
    def __init__(self, commands: CommandPath, keys: KeyRing) -> None:
        self.commands = commands
        self.keys = keys

    def subject(self, subject_id: UUID) -> DataSubject:
        with self.keys._connection() as conn:
            row = conn.execute(
                "SELECT kind, aggregate_id, ref, created_at FROM fullchain_data_subject "
                "WHERE subject_id = %s",
                (subject_id,),
            ).fetchone()
            if row is None:
                raise UnknownSubject(subject_id)
            keys = conn.execute(
                "SELECT data_kind, bool_or(destroyed_at IS NULL) AS live "
                "FROM fullchain_data_key WHERE subject_id = %s GROUP BY data_kind",
                (subject_id,),
            ).fetchall()
        subject = Subject(DataSubjectKind(row["kind"]), row["aggregate_id"], row["ref"])
        return DataSubject(
            subject,
            subject_id,
            row["created_at"],
            held=tuple(sorted(k["data_kind"] for k in keys if k["live"])),
            erased=tuple(sorted(k["data_kind"] for k in keys if not k["live"])),
        )

    def subjects_of(self, aggregate_id: UUID) -> list[DataSubject]:
        """The data subjects whose data ``aggregate_id`` holds, in the order they were
        first sealed (a removed contact's too: its data stays in the log until erased)."""
        with self.keys._connection() as conn:
            rows = conn.execute(
                "SELECT s.subject_id, s.kind, s.ref, s.created_at, "
                "coalesce(array_agg(DISTINCT k.data_kind) "
                "FILTER (WHERE k.destroyed_at IS NULL), '{}') AS held, "
                "coalesce(array_agg(DISTINCT k.data_kind) "
                "FILTER (WHERE k.destroyed_at IS NOT NULL), '{}') AS gone "
                "FROM fullchain_data_subject s "
                "LEFT JOIN fullchain_data_key k ON k.subject_id = s.subject_id "
                "WHERE s.aggregate_id = %s "
                "GROUP BY s.subject_id, s.kind, s.ref, s.created_at "
                "ORDER BY s.created_at, s.subject_id",
                (aggregate_id,),
            ).fetchall()
        return [
            DataSubject(
                Subject(DataSubjectKind(r["kind"]), aggregate_id, r["ref"]),
                r["subject_id"],
                r["created_at"],
                held=tuple(sorted(r["held"])),
                erased=tuple(sorted(set(r["gone"]) - set(r["held"]))),
            )
            for r in rows
        ]

    def erase(
        self,
        ctx: CommandContext,
        subject_id: UUID,
        *,
        reason: str,
        request_ref: str | None = None,
        kinds: Sequence[DataKind] = ALL_KINDS,
        basis: ErasureBasis = ErasureBasis.REQUEST,
    ) -> CommandResult:
        """Erase the subject's data of ``kinds``. Refused (409) when none of those kinds
        has a key left to destroy: it is erased already."""
        found = self.subject(subject_id)
        wanted = [k for k in kinds if k.value in found.held]
        if not wanted:
            raise CommandRefused(
                "subject.already_erased", "this data subject holds none of that data any more"
            )
        subject = found.subject
        cls: type[Relationship] | type[Shipment] = (
            Shipment if subject.kind is DataSubjectKind.SIGNER else Relationship
        )
        result = self.commands.execute(
            ctx,
            cls,
            subject.aggregate_id,
            lambda a: a.erase_personal_data(
                ctx, subject, wanted, reason=reason, basis=basis, request_ref=request_ref
            ),
            None,
        )
        self.keys.forget_destroyed(subject_id)
        return result
