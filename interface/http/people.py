"""/v1/people: data subjects — the people whose personal data the log holds sealed — and
their erasure (PIPL Art. 47, GDPR Art. 17) by destroying their keys; and the data subjects
of a relationship (its contacts, its notes that name no contact).

A contact's data subject is ``person_id`` wherever the API returns a relationship's
contacts. An erasure answers as every command does (the aggregate that records it, its
new version, the log position to read with ``min_position``).
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from application.privacy import ALL_KINDS, DataSubject, UnknownSubject
from application.tokens import StaffMember
from domain.personal import DataKind, DataSubjectKind
from interface.http.commands import accepted
from interface.http.deps import Allowed, CommandAccepted, CommandMeta, ServicesDep, context
from interface.http.errors import responses
from interface.http.permissions import ERASURE, PEOPLE, READ
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, tags=["personal data"])


_SUBJECT = "7c1d6a52-3f0e-5b8a-9d42-6e1f0a3b5c77"
_RELATIONSHIP = "0b0e5a8e-1111-4a4a-8a8a-000000000001"


# --- answers -------------------------------------------------------------------------------


class Person(BaseModel):
    """A data subject: whose data it is (a contact, a relationship's notes that name no
    contact, a handover's signer), where it is held, and which kinds of its data are held
    or erased."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject_id": _SUBJECT,
                    "kind": "contact",
                    "aggregate_id": _RELATIONSHIP,
                    "ref": "wang",
                    "registered_at": "2026-03-02T09:30:00+08:00",
                    "held": ["contact_details", "identity", "notes"],
                    "erased": [],
                }
            ]
        }
    )

    subject_id: UUID
    kind: DataSubjectKind
    aggregate_id: UUID = Field(description="The relationship or shipment that holds the data")
    ref: str = Field(
        description="Within it: the contact's id; for a signer, a digest of the name "
        "signed with (never the name); for notes, empty"
    )
    registered_at: datetime = Field(description="When its first field was sealed")
    held: list[DataKind] = Field(description="Kinds of its data still held")
    erased: list[DataKind] = Field(description="Kinds of its data erased: they read [erased]")

    @classmethod
    def of(cls, found: DataSubject) -> "Person":
        return cls.model_validate(found.as_dict())


class RelationshipPerson(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject_id": _SUBJECT,
                    "kind": "contact",
                    "contact_id": "wang",
                    "held": [],
                    "erased": ["contact_details", "identity", "notes"],
                    "is_erased": True,
                }
            ]
        }
    )

    subject_id: UUID
    kind: DataSubjectKind = Field(description="contact, or notes (the notes that name no contact)")
    contact_id: str | None = Field(description="The contact's id; null for notes")
    held: list[DataKind]
    erased: list[DataKind]
    is_erased: bool = Field(description="No kind of its data is held any more")


class RelationshipPeople(BaseModel):
    relationship_id: UUID
    items: list[RelationshipPerson] = Field(
        description="In the order their data was first recorded; removed contacts too (their "
        "data stays in the log until erased)"
    )


# --- request bodies ------------------------------------------------------------------------


class Erasure(CommandMeta):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "The contact asked for their data to be deleted",
                    "request_ref": "DSR-2026-0042",
                }
            ]
        }
    )

    reason: str = Field(
        min_length=1, max_length=500, description="Why: recorded with the erasure, kept"
    )
    request_ref: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        description="The data subject request's reference, if the erasure answers one",
    )
    kinds: list[DataKind] | None = Field(
        None,
        min_length=1,
        max_length=len(DataKind),
        description="The kinds of data to erase; default: every kind",
    )


# --- endpoints -----------------------------------------------------------------------------


def _subject(s: ServicesDep, subject_id: UUID) -> DataSubject:
    try:
        return s.app.privacy.subject(subject_id)
    except UnknownSubject:
        raise HTTPException(404, f"no data subject has id {subject_id}") from None


@router.get(
    "/v1/people/{subject_id}",
    summary="A data subject",
    description="Whose data it is, where it is held, and which kinds of its data are held "
    "or erased. No personal data: only its kinds.",
    response_model=Person,
    responses=responses(401, 404, 422),
)
def person(
    subject_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(PEOPLE))],
    s: ServicesDep,
) -> Person:
    return Person.of(_subject(s, subject_id))


@router.post(
    "/v1/people/{subject_id}/erasure",
    summary="Erase a data subject's personal data",
    description="Destroys the keys of the data subject's data of `kinds` (default: every "
    "kind), in the transaction that records the erasure (who, why, under which request) "
    "on the relationship or shipment that holds it: every later read of that data finds "
    "`[erased]`; the log's hashes and proofs stay valid. 409 (`subject.already_erased`) "
    "when none of those kinds is held any more.",
    responses=responses(401, 404, 409, 422),
)
def erase(
    subject_id: UUID,
    body: Erasure,
    staff: Annotated[StaffMember, Depends(Allowed(ERASURE))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    try:
        result = s.app.privacy.erase(
            context(request, staff, body),
            subject_id,
            reason=body.reason,
            request_ref=body.request_ref,
            kinds=tuple(body.kinds) if body.kinds else ALL_KINDS,
        )
    except UnknownSubject:
        raise HTTPException(404, f"no data subject has id {subject_id}") from None
    return accepted(response, result)


@router.get(
    "/v1/relationships/{relationship_id}/people",
    summary="A relationship's data subjects",
    description="Its contacts' data subjects (removed contacts too) and that of its notes "
    "that name no contact, with the kinds of their data held and erased.",
    response_model=RelationshipPeople,
    responses=responses(401, 404, 422),
)
def relationship_people(
    relationship_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    s: ServicesDep,
) -> RelationshipPeople:
    s.app.relationships.get_relationship(relationship_id)  # 404 if there is none
    subjects = s.app.privacy.subjects_of(relationship_id)
    return RelationshipPeople(
        relationship_id=relationship_id,
        items=[
            RelationshipPerson(
                subject_id=found.subject_id,
                kind=found.subject.kind,
                contact_id=(
                    found.subject.ref if found.subject.kind is DataSubjectKind.CONTACT else None
                ),
                held=[DataKind(k) for k in found.held],
                erased=[DataKind(k) for k in found.erased],
                is_erased=not found.held,
            )
            for found in subjects
            if found.subject.kind in (DataSubjectKind.CONTACT, DataSubjectKind.NOTES)
        ],
    )
