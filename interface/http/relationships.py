"""/v1/relationships: register and work customer relationships (their account status is
read in ``relationship_reads``).

Commands answer with the aggregate's new version (also as ``ETag``) and the log position
of the last event.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    HoldBasis,
    LegalHold,
    RelationshipKind,
)
from interface.http.commands import COMMAND_ERRORS, WithReason, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    ServicesDep,
    context,
)
from interface.http.errors import responses
from interface.http.fields import Name, Reason, Short, StaffId, Text
from interface.http.permissions import LEGAL_HOLD_RELEASE, LEGAL_HOLDS, WORK
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/relationships", tags=["relationships"])

ContactId = Annotated[str, Field(min_length=1, max_length=64)]


# --- request bodies ----------------------------------------------------------------------


class RegisterRelationship(CommandMeta):
    name: Name
    kind: RelationshipKind
    industry: Short
    region: Short
    branch: Short
    key_account: bool = False
    relationship_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class Rename(CommandMeta):
    name: Name


class FirstBusiness(CommandMeta):
    reference: Short = Field(description="The first order or shipment reference")


class MarkLost(CommandMeta):
    reason: Reason
    lost_to_competitor_id: UUID | None = None


class ChangeIndustry(CommandMeta):
    industry: Short


class MoveToBranch(CommandMeta):
    region: Short
    branch: Short


class AssignTeam(CommandMeta):
    field_rep: StaffId | None = Field(None, description="外勤: finds and visits the customer")
    office_rep: StaffId | None = Field(None, description="内勤: research and operations")


class AddContact(CommandMeta):
    contact_id: ContactId
    name: Name
    title: Name | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    email: Annotated[str, Field(max_length=200)] | None = None


class ChangeContact(CommandMeta):
    name: Name | None = None
    title: Name | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    email: Annotated[str, Field(max_length=200)] | None = None


class LogInteraction(CommandMeta):
    """``occurred_at`` is when the interaction happened."""

    channel: Channel
    direction: Direction
    summary: Text
    staff: StaffId | None = Field(None, description="Who had the interaction; default the caller")
    contact_id: ContactId | None = None
    interaction_id: UUID | None = None
    campaign_id: UUID | None = Field(
        None, description="The running campaign the contact is made in; recorded on it too"
    )


class RecordCare(CommandMeta):
    care_kind: CareActionKind
    note: Text
    staff: StaffId | None = None
    care_id: UUID | None = None


# --- commands ----------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    summary="Register a relationship",
    responses=responses(401, 409, 422),
)
def register(
    body: RegisterRelationship,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.register_relationship(
        context(request, staff, body),
        name=body.name,
        kind=body.kind,
        industry=body.industry,
        region=body.region,
        branch=body.branch,
        key_account=body.key_account,
        relationship_id=body.relationship_id,
    )
    response.headers["Location"] = f"/v1/relationships/{result.aggregate_id}"
    return accepted(response, result)


@router.post("/{relationship_id}/rename", summary="Rename", responses=COMMAND_ERRORS)
def rename(
    relationship_id: UUID,
    body: Rename,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.rename_relationship(
        context(request, staff, body), relationship_id, name=body.name, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/qualify", summary="Qualify a prospect as a target", responses=COMMAND_ERRORS
)
def qualify(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.qualify_as_target(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/return-to-prospect",
    summary="Return a target to prospect",
    responses=COMMAND_ERRORS,
)
def return_to_prospect(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.return_to_prospect(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/first-business",
    summary="Record first business: a prospect or target becomes a customer",
    responses=COMMAND_ERRORS,
)
def first_business(
    relationship_id: UUID,
    body: FirstBusiness,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.record_first_business(
        context(request, staff, body),
        relationship_id,
        reference=body.reference,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/mark-dormant", summary="Mark a customer dormant", responses=COMMAND_ERRORS
)
def mark_dormant(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.mark_dormant(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/reactivate",
    summary="Reactivate a dormant customer",
    responses=COMMAND_ERRORS,
)
def reactivate(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.reactivate(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/mark-lost", summary="Mark a customer lost", responses=COMMAND_ERRORS
)
def mark_lost(
    relationship_id: UUID,
    body: MarkLost,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.mark_lost(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        lost_to_competitor_id=body.lost_to_competitor_id,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/win-back", summary="Win back a lost customer", responses=COMMAND_ERRORS
)
def win_back(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.win_back(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/change-industry", summary="Change the industry", responses=COMMAND_ERRORS
)
def change_industry(
    relationship_id: UUID,
    body: ChangeIndustry,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.change_industry(
        context(request, staff, body),
        relationship_id,
        industry=body.industry,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/designate-key-account",
    summary="Designate as key account (行业大客户)",
    responses=COMMAND_ERRORS,
)
def designate_key_account(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.designate_key_account(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/withdraw-key-account",
    summary="Withdraw the key-account designation",
    responses=COMMAND_ERRORS,
)
def withdraw_key_account(
    relationship_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.withdraw_key_account(
        context(request, staff, body),
        relationship_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/move-to-branch",
    summary="Move to another region and branch (分支店)",
    responses=COMMAND_ERRORS,
)
def move_to_branch(
    relationship_id: UUID,
    body: MoveToBranch,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.move_to_branch(
        context(request, staff, body),
        relationship_id,
        region=body.region,
        branch=body.branch,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/assign-team",
    summary="Assign the account team (field rep and office rep)",
    responses=COMMAND_ERRORS,
)
def assign_team(
    relationship_id: UUID,
    body: AssignTeam,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.assign_account_team(
        context(request, staff, body),
        relationship_id,
        field_rep=body.field_rep,
        office_rep=body.office_rep,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post("/{relationship_id}/contacts", summary="Add a contact", responses=COMMAND_ERRORS)
def contacts(
    relationship_id: UUID,
    body: AddContact,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.add_contact(
        context(request, staff, body),
        relationship_id,
        contact_id=body.contact_id,
        name=body.name,
        title=body.title,
        phone=body.phone,
        email=body.email,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/interactions",
    summary="Log an interaction (visit, call, email, meeting, message, portal)",
    responses=COMMAND_ERRORS,
)
def interactions(
    relationship_id: UUID,
    body: LogInteraction,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.log_interaction(
        context(request, staff, body),
        relationship_id,
        interaction_id=body.interaction_id or uuid4(),
        channel=body.channel,
        direction=body.direction,
        summary=body.summary,
        staff=body.staff,
        contact_id=body.contact_id,
        campaign_id=body.campaign_id,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/care-actions",
    summary="Record a customer-care action (客户关怀)",
    responses=COMMAND_ERRORS,
)
def care_actions(
    relationship_id: UUID,
    body: RecordCare,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.record_customer_care(
        context(request, staff, body),
        relationship_id,
        care_id=body.care_id or uuid4(),
        care_kind=body.care_kind,
        note=body.note,
        staff=body.staff,
        expected_version=expected,
    )
    return accepted(response, result)


ContactPath = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "/{relationship_id}/contacts/{contact_id}/change",
    summary="Change a contact",
    responses=COMMAND_ERRORS,
)
def change_contact(
    relationship_id: UUID,
    contact_id: ContactPath,
    body: ChangeContact,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.change_contact(
        context(request, staff, body),
        relationship_id,
        contact_id=contact_id,
        name=body.name,
        title=body.title,
        phone=body.phone,
        email=body.email,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/contacts/{contact_id}/remove",
    summary="Remove a contact",
    responses=COMMAND_ERRORS,
)
def remove_contact(
    relationship_id: UUID,
    contact_id: ContactPath,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.remove_contact(
        context(request, staff, body),
        relationship_id,
        contact_id=contact_id,
        expected_version=expected,
    )
    return accepted(response, result)


# --- legal holds ---------------------------------------------------------------------------


class PlaceLegalHold(CommandMeta):
    """A legal hold keeps the relationship's personal data, and its shipments', past their
    retention periods until it is released."""

    basis: HoldBasis = Field(description="claim, audit or litigation", examples=["litigation"])
    reason: Reason = Field(examples=["Suzhou Intermediate Court case (2026) 苏05民初123号"])
    hold_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class LegalHoldPlaced(CommandAccepted):
    hold_id: str


class LegalHoldModel(BaseModel):
    hold_id: str
    basis: HoldBasis
    reason: str = Field(examples=["audit of the 2025 accounts"])
    placed_by: str = Field(examples=["qian.lin"])
    placed_at: str = Field(examples=["2026-03-04T09:30:00+00:00"])
    active: bool
    released_by: str | None = None
    released_at: str | None = None
    release_reason: str | None = None

    @classmethod
    def of(cls, hold: LegalHold) -> "LegalHoldModel":
        return cls(**hold.as_dict())


class LegalHolds(BaseModel):
    relationship_id: str
    held: bool = Field(description="Whether any hold is active")
    items: list[LegalHoldModel]


@router.post(
    "/{relationship_id}/legal-holds",
    status_code=201,
    summary="Place a legal hold (retention of personal data suspended)",
    responses=COMMAND_ERRORS,
)
def place_legal_hold(
    relationship_id: UUID,
    body: PlaceLegalHold,
    staff: Annotated[StaffMember, Depends(Allowed(LEGAL_HOLDS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> LegalHoldPlaced:
    hold_id = body.hold_id or uuid4()
    result = s.app.relationships.place_legal_hold(
        context(request, staff, body),
        relationship_id,
        hold_id=hold_id,
        basis=body.basis,
        reason=body.reason,
        expected_version=expected,
    )
    response.headers["Location"] = f"/v1/relationships/{relationship_id}/legal-holds"
    accepted(response, result)
    return LegalHoldPlaced(**CommandAccepted.of(result).model_dump(), hold_id=str(hold_id))


@router.post(
    "/{relationship_id}/legal-holds/{hold_id}/release",
    summary="Release a legal hold",
    responses=COMMAND_ERRORS,
)
def release_legal_hold(
    relationship_id: UUID,
    hold_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(LEGAL_HOLD_RELEASE))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.release_legal_hold(
        context(request, staff, body),
        relationship_id,
        hold_id=hold_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.get(
    "/{relationship_id}/legal-holds",
    summary="The relationship's legal holds, released ones too",
    responses=responses(401, 404, 422),
)
def legal_holds(
    relationship_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(LEGAL_HOLDS))],
    s: ServicesDep,
) -> LegalHolds:
    holds = s.app.relationships.legal_holds(relationship_id)
    return LegalHolds(
        relationship_id=str(relationship_id),
        held=any(h.active for h in holds),
        items=[LegalHoldModel.of(h) for h in holds],
    )
