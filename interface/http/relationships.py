"""/v1/relationships: register and work customer relationships; read account status.

Commands answer with the aggregate's new version (also as ``ETag``) and the log position
of the last event; reads take ``min_position`` to see their own writes.
"""

# No `from __future__ import annotations` here: FastAPI reads the body types of the
# generated command endpoints from their annotations at run time.

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    Lifecycle,
    RelationshipKind,
)
from interface.http.commands import COMMAND_ERRORS, Handler, accepted, aggregate_command
from interface.http.deps import (
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    MinPosition,
    NoNul,
    Staff,
    Wait,
    context,
    fresh_enough,
    read_connection,
    scoped_branch,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.queries import (
    ACCOUNT_READ_MODELS,
    AccountFilter,
    ReadConnection,
    get_account,
    list_accounts,
)
from projections.value_queries import MODEL_HORIZON_WEEKS, with_model_value

router = APIRouter(prefix="/v1/relationships", tags=["relationships"])

Name = Annotated[str, Field(min_length=1, max_length=200)]
Short = Annotated[str, Field(min_length=1, max_length=80)]
Reason = Annotated[str, Field(min_length=1, max_length=200)]
StaffId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
ContactId = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


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


class WithReason(CommandMeta):
    reason: Reason


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


class RecordCare(CommandMeta):
    care_kind: CareActionKind
    note: Text
    staff: StaffId | None = None
    care_id: UUID | None = None


# --- read models -------------------------------------------------------------------------


class AccountStatus(BaseModel):
    relationship_id: UUID
    name: str
    kind: RelationshipKind
    lifecycle: Lifecycle
    industry: str
    key_account: bool
    region: str
    branch: str
    field_rep: str | None
    office_rep: str | None
    contact_count: int
    last_interaction_at: datetime | None
    last_interaction_channel: Channel | None
    interactions_last_90_days: int
    care_action_count: int
    shipments_in_flight: int = Field(description="Booked or in transit, not yet delivered")
    open_incidents: int
    open_claims: int
    compensation_paid: dict[str, Decimal] = Field(
        description="Compensation paid to this customer, per currency"
    )
    realised_value: dict[str, Decimal] = Field(
        description="既成价值: revenue of its delivered shipments (invoiced, else quoted), "
        "per currency"
    )
    potential_value: dict[str, Decimal] = Field(
        description="潜在价值: its weighted open pipeline (expected value × probability), "
        "per currency"
    )
    model_value: dict[str, Decimal] = Field(
        description=f"模型价值: revenue expected in the next {MODEL_HORIZON_WEEKS:g} weeks "
        "(BG/NBD × Gamma-Gamma), per currency it has bought in"
    )
    model_value_as_of: date | None = Field(
        description="The day the model value is for; null while the models are first fitted"
    )
    open_opportunities: int
    open_cases: int
    sla_breaches: int = Field(
        description="Service cases with a breached SLA, open or opened in the last 90 days"
    )
    registered_at: datetime
    version: int
    position: int = Field(description="Log position of the last event applied to this row")
    updated_at: datetime = Field(description="When the last event applied was recorded")


class AccountPage(BaseModel):
    items: list[AccountStatus]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end")


# --- commands ----------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    summary="Register a relationship",
    response_model=CommandAccepted,
    responses=responses(401, 409, 422),
)
def register(
    body: RegisterRelationship,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    response: Response,
) -> CommandAccepted:
    result = s.app.register_relationship(
        context(s, staff, body),
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


def _command(path: str, summary: str, body_type: type[CommandMeta], handler: Handler) -> None:
    aggregate_command(router, "relationship_id", path, summary, body_type, handler)


_command(
    "/rename",
    "Rename",
    Rename,
    lambda a, c, r, b, v: a.rename_relationship(c, r, name=b.name, expected_version=v),
)
_command(
    "/qualify",
    "Qualify a prospect as a target",
    WithReason,
    lambda a, c, r, b, v: a.qualify_as_target(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/return-to-prospect",
    "Return a target to prospect",
    WithReason,
    lambda a, c, r, b, v: a.return_to_prospect(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/first-business",
    "Record first business: a prospect or target becomes a customer",
    FirstBusiness,
    lambda a, c, r, b, v: a.record_first_business(c, r, reference=b.reference, expected_version=v),
)
_command(
    "/mark-dormant",
    "Mark a customer dormant",
    WithReason,
    lambda a, c, r, b, v: a.mark_dormant(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/reactivate",
    "Reactivate a dormant customer",
    WithReason,
    lambda a, c, r, b, v: a.reactivate(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/mark-lost",
    "Mark a customer lost",
    MarkLost,
    lambda a, c, r, b, v: a.mark_lost(
        c, r, reason=b.reason, lost_to_competitor_id=b.lost_to_competitor_id, expected_version=v
    ),
)
_command(
    "/win-back",
    "Win back a lost customer",
    WithReason,
    lambda a, c, r, b, v: a.win_back(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/change-industry",
    "Change the industry",
    ChangeIndustry,
    lambda a, c, r, b, v: a.change_industry(c, r, industry=b.industry, expected_version=v),
)
_command(
    "/designate-key-account",
    "Designate as key account (行业大客户)",
    WithReason,
    lambda a, c, r, b, v: a.designate_key_account(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/withdraw-key-account",
    "Withdraw the key-account designation",
    WithReason,
    lambda a, c, r, b, v: a.withdraw_key_account(c, r, reason=b.reason, expected_version=v),
)
_command(
    "/move-to-branch",
    "Move to another region and branch (分支店)",
    MoveToBranch,
    lambda a, c, r, b, v: a.move_to_branch(
        c, r, region=b.region, branch=b.branch, expected_version=v
    ),
)
_command(
    "/assign-team",
    "Assign the account team (field rep and office rep)",
    AssignTeam,
    lambda a, c, r, b, v: a.assign_account_team(
        c, r, field_rep=b.field_rep, office_rep=b.office_rep, expected_version=v
    ),
)
_command(
    "/contacts",
    "Add a contact",
    AddContact,
    lambda a, c, r, b, v: a.add_contact(
        c,
        r,
        contact_id=b.contact_id,
        name=b.name,
        title=b.title,
        phone=b.phone,
        email=b.email,
        expected_version=v,
    ),
)
_command(
    "/interactions",
    "Log an interaction (visit, call, email, meeting, message, portal)",
    LogInteraction,
    lambda a, c, r, b, v: a.log_interaction(
        c,
        r,
        interaction_id=b.interaction_id or uuid4(),
        channel=b.channel,
        direction=b.direction,
        summary=b.summary,
        staff=b.staff,
        contact_id=b.contact_id,
        expected_version=v,
    ),
)
_command(
    "/care-actions",
    "Record a customer-care action (客户关怀)",
    RecordCare,
    lambda a, c, r, b, v: a.record_customer_care(
        c,
        r,
        care_id=b.care_id or uuid4(),
        care_kind=b.care_kind,
        note=b.note,
        staff=b.staff,
        expected_version=v,
    ),
)


ContactPath = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "/{relationship_id}/contacts/{contact_id}/change",
    summary="Change a contact",
    response_model=CommandAccepted,
    responses=COMMAND_ERRORS,
)
def change_contact(
    relationship_id: UUID,
    contact_id: ContactPath,
    body: ChangeContact,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.change_contact(
        context(s, staff, body),
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
    response_model=CommandAccepted,
    responses=COMMAND_ERRORS,
)
def remove_contact(
    relationship_id: UUID,
    contact_id: ContactPath,
    body: CommandMeta,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.remove_contact(
        context(s, staff, body), relationship_id, contact_id=contact_id, expected_version=expected
    )
    return accepted(response, result)


# --- reads -------------------------------------------------------------------------------


@router.get(
    "",
    summary="List account status",
    response_model=AccountPage,
    responses=responses(401, 422, 503),
)
def list_relationships(
    staff: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    s: Annotated[Services, Depends(services)],
    kind: RelationshipKind | None = None,
    lifecycle: Lifecycle | None = None,
    branch: Annotated[str | None, Query(max_length=80), NoNul] = None,
    region: Annotated[str | None, Query(max_length=80), NoNul] = None,
    industry: Annotated[str | None, Query(max_length=80), NoNul] = None,
    key_account: bool | None = None,
    team_member: Annotated[
        str | None, Query(max_length=64, description="Field or office rep"), NoNul
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> AccountPage:
    fresh_enough(conn, ACCOUNT_READ_MODELS, min_position, wait)
    rows, next_cursor = list_accounts(
        conn,
        AccountFilter(
            kind=kind,
            lifecycle=lifecycle,
            branch=scoped_branch(staff, branch),
            region=region,
            industry=industry,
            key_account=key_account,
            team_member=team_member,
        ),
        limit=limit,
        cursor=cursor,
    )
    rows = with_model_value(rows, s.value_models().latest(conn))
    return AccountPage(
        items=[AccountStatus.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/{relationship_id}",
    summary="Account status of one relationship",
    response_model=AccountStatus,
    responses=responses(401, 404, 422, 503),
)
def get_relationship(
    relationship_id: UUID,
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    s: Annotated[Services, Depends(services)],
    response: Response,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> AccountStatus:
    fresh_enough(conn, ACCOUNT_READ_MODELS, min_position, wait)
    row = get_account(conn, relationship_id)
    if row is None:
        raise HTTPException(404, f"no relationship with id {relationship_id}")
    response.headers["ETag"] = f'"{row["version"]}"'
    [status] = with_model_value([row], s.value_models().latest(conn))
    return AccountStatus.model_validate(status)
