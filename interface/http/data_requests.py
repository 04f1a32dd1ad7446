"""Data subjects' rights of access and portability (PIPL Art. 45, GDPR Art. 15/20), and a
contact's consent per purpose.

* ``GET /v1/people/{subject_id}/export``: everything the log holds of one person, as one
  JSON document (``application.data_access``);
* ``POST /v1/data-requests/access``: the same for every person an email address or phone
  number finds, across every customer (in the body, so it stays out of URLs and logs);
* ``POST /v1/relationships/{id}/contacts/{contact_id}/consents`` gives a contact's consent
  to a purpose, ``.../consents/{purpose}/withdrawal`` withdraws it.

Every export read is recorded in the access log, as the reader's.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from application.data_access import DataAccess
from application.privacy import UnknownSubject
from application.tokens import StaffMember
from domain.base import UnknownMember
from domain.consent import ConsentChannel, ConsentPurpose
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    NoNul,
    ServicesDep,
    context,
)
from interface.http.errors import responses
from interface.http.permissions import DATA_REQUESTS, WORK
from interface.http.routing import OneTripRoute
from interface.runtime import Services

router = APIRouter(route_class=OneTripRoute)

ContactPath = Annotated[str, Path(min_length=1, max_length=64)]
EvidenceRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Where the evidence is: a signed form's number, an email's id, a file's "
        "SHA-256",
        examples=["trade-fair sign-up form 2026-114"],
    ),
    NoNul,
]


# --- consent -----------------------------------------------------------------------------


class GiveConsent(CommandMeta):
    """``occurred_at`` is when the consent was given."""

    purpose: ConsentPurpose
    channel: ConsentChannel = Field(description="How the contact gave it")
    evidence_ref: EvidenceRef | None = None


class WithdrawConsent(CommandMeta):
    """``occurred_at`` is when the consent was withdrawn."""

    channel: ConsentChannel = Field(description="How the contact withdrew it")
    evidence_ref: EvidenceRef | None = None


@router.post(
    "/v1/relationships/{relationship_id}/contacts/{contact_id}/consents",
    summary="Record a contact's consent to a purpose",
    tags=["relationships"],
    responses=COMMAND_ERRORS,
)
def give_consent(
    relationship_id: UUID,
    contact_id: ContactPath,
    body: GiveConsent,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    """404 for a contact the relationship does not have, 409 (``consent.already_given``)
    for a consent that stands given."""
    result = s.app.relationships.give_consent(
        context(request, staff, body),
        relationship_id,
        contact_id=contact_id,
        purpose=body.purpose,
        channel=body.channel,
        evidence_ref=body.evidence_ref,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/v1/relationships/{relationship_id}/contacts/{contact_id}/consents/{purpose}/withdrawal",
    summary="Record that a contact withdrew its consent to a purpose",
    tags=["relationships"],
    responses=COMMAND_ERRORS,
)
def withdraw_consent(
    relationship_id: UUID,
    contact_id: ContactPath,
    purpose: ConsentPurpose,
    body: WithdrawConsent,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    """409 (``consent.not_given``) unless the consent stands given."""
    result = s.app.relationships.withdraw_consent(
        context(request, staff, body),
        relationship_id,
        contact_id=contact_id,
        purpose=purpose,
        channel=body.channel,
        evidence_ref=body.evidence_ref,
        expected_version=expected,
    )
    return accepted(response, result)


# --- the export --------------------------------------------------------------------------


class ExportCustomer(BaseModel):
    relationship_id: UUID
    name: str = Field(description="The customer's name now")


class ExportSubject(BaseModel):
    subject_id: UUID
    kind: str = Field(
        description='"contact", "notes" (a customer\'s notes naming nobody), "signer"'
    )
    customer: ExportCustomer = Field(description="The customer the data is held for")
    aggregate_id: UUID = Field(description="The relationship (or shipment) holding the data")
    ref: str = Field(description="The contact's id, or the signer's name as signed")
    registered_at: datetime
    held: list[str] = Field(description="Kinds of data held, readable")
    erased: list[str] = Field(description="Kinds of data erased")


class EventMeta(BaseModel):
    type: str = Field(description='The stored name, e.g. "Relationship.InteractionLogged"')
    position: int = Field(description="Log position")
    version: int
    occurred_at: datetime = Field(description="Business time: when it happened")
    recorded_at: datetime = Field(description="Server time of the append to the log")
    recorded_by: str = Field(description="The staff member who recorded it")


class ExportEvent(EventMeta):
    aggregate_id: UUID = Field(
        description="The aggregate it belongs to: the customer or shipment, or for the "
        "customer's notes also one of its follow-ups or care plans"
    )
    fields: dict[str, Any] = Field(
        description='The subject\'s fields in the event only, by path ("contact.email", '
        '"summary"); "[erased]" once erased'
    )


class ConsentNow(BaseModel):
    purpose: ConsentPurpose
    given: bool
    changed_at: datetime
    changed_by: str
    channel: ConsentChannel
    evidence_ref: str | None


class ConsentChange(EventMeta):
    purpose: ConsentPurpose
    given: bool = Field(description="True: given; false: withdrawn")
    channel: ConsentChannel
    evidence_ref: str | None


class Consents(BaseModel):
    current: list[ConsentNow]
    history: list[ConsentChange]


class ExportErasure(EventMeta):
    kinds: list[str]
    basis: str = Field(description='"request" or "retention"')
    reason: str
    request_ref: str | None


class ProcessingPurpose(BaseModel):
    purpose: str
    basis: str = Field(description='"contract", "legal_obligation" or "consent"')
    data_kinds: list[str]
    read_models: list[str] = Field(description="The read models that hold the data for it")
    description: str
    consent: ConsentPurpose | None = None
    consent_given: bool | None = None


class PersonalDataExport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = Field(examples=["fullchain.personal-data-export"])
    format_version: int
    subject: ExportSubject
    personal_data: dict[str, Any] = Field(
        description="What the subject's data reads as now (a contact's name, title, phone, "
        "email, and whether it was removed)"
    )
    events: list[ExportEvent]
    consents: Consents
    erasures: list[ExportErasure]
    processing: list[ProcessingPurpose] = Field(
        description="The purposes the data is processed for, on what basis, where"
    )


class AccessRequest(BaseModel):
    """An email address or a phone number (or both): every contact that has, or had, it."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=200), NoNul] | None = Field(
        None, examples=["wang.xiuying@example.cn"]
    )
    phone: Annotated[str, Field(min_length=3, max_length=40), NoNul] | None = Field(
        None, examples=["+86 139 1234 5678"]
    )

    @model_validator(mode="after")
    def _one_at_least(self) -> "AccessRequest":
        if self.email is None and self.phone is None:
            raise ValueError("name an email address or a phone number")
        return self


class AccessAnswer(BaseModel):
    matched: int = Field(description="How many data subjects the request found")
    exports: list[PersonalDataExport]


def _export(s: Services, staff: StaffMember, subject_id: UUID, why: str) -> PersonalDataExport:
    try:
        found = DataAccess(s.app, s.database).read(staff.staff_id, subject_id, why)
    except UnknownSubject as unknown:
        raise UnknownMember(unknown.rule, unknown.message) from None
    return PersonalDataExport.model_validate(found)


@router.get(
    "/v1/people/{subject_id}/export",
    summary="Export a data subject's personal data (access and portability)",
    tags=["data requests"],
    responses=responses(404, 422),
)
def export_person(
    subject_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(DATA_REQUESTS))],
    s: ServicesDep,
) -> PersonalDataExport:
    """Everything the log holds of the person, decrypted, as machine-readable JSON; the
    read is recorded in the access log."""
    return _export(s, staff, subject_id, "export")


@router.post(
    "/v1/data-requests/access",
    summary="Answer an access request: every person an email or phone finds, exported",
    tags=["data requests"],
    responses=responses(422),
)
def access_request(
    body: AccessRequest,
    staff: Annotated[StaffMember, Depends(Allowed(DATA_REQUESTS))],
    s: ServicesDep,
) -> AccessAnswer:
    """Contacts whose email or phone (now or before a change, normalised: case, spaces,
    China's country code) is the one given, across every customer; each export read is
    recorded in the access log."""
    access = DataAccess(s.app, s.database)
    found = access.find(email=body.email, phone=body.phone)
    why = "access request by " + " and ".join(
        k for k, v in (("email", body.email), ("phone", body.phone)) if v
    )
    exports = [
        PersonalDataExport.model_validate(access.read(staff.staff_id, subject, why))
        for subject in found
    ]
    return AccessAnswer(matched=len(exports), exports=exports)
