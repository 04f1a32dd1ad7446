"""/v1/relationships reads: account status, of one relationship or a filtered page of them;
``min_position`` waits until the reader's own writes are in."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.relationship import Channel, Lifecycle, RelationshipKind
from interface.http.deps import Allowed, NoNul, Reads, ServicesDep, fresh
from interface.http.errors import responses
from interface.http.exports import EXPORTABLE, ExportAs, exported
from interface.http.permissions import READ
from interface.http.reads import Cursor, Limit, NextCursor, found
from interface.http.routing import OneTripRoute
from interface.http.scoping import visible_accounts
from projections.account_status.queries import (
    ACCOUNT_READ_MODELS,
    AccountFilter,
    get_account,
    list_accounts,
)
from projections.customer_value.queries import (
    MODEL_HORIZON_WEEKS,
    read_inputs_position,
    with_model_value,
)

router = APIRouter(route_class=OneTripRoute, prefix="/v1/relationships", tags=["relationships"])


# --- account status ----------------------------------------------------------------------


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
    overdue_follow_ups: int = Field(
        description="Open follow-ups past their due time, as at the time of asking"
    )
    registered_at: datetime
    version: int
    position: int = Field(description="Log position of the last event applied to this row")
    updated_at: datetime = Field(description="When the last event applied was recorded")


class AccountPage(BaseModel):
    items: list[AccountStatus]
    next_cursor: NextCursor


@router.get(
    "",
    summary="List account status",
    description="Staff of a branch see their branch's relationships and the partners and "
    "competitors of every branch.",
    response_model=AccountPage,
    responses={**responses(401, 422, 503), **EXPORTABLE},
    dependencies=[fresh(*ACCOUNT_READ_MODELS)],
)
def list_relationships(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    kind: RelationshipKind | None = None,
    lifecycle: Lifecycle | None = None,
    branch: Annotated[str | None, Query(max_length=80), NoNul] = None,
    region: Annotated[str | None, Query(max_length=80), NoNul] = None,
    industry: Annotated[str | None, Query(max_length=80), NoNul] = None,
    key_account: bool | None = None,
    team_member: Annotated[
        str | None, Query(max_length=64, description="Field or office rep"), NoNul
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    export: ExportAs = None,
) -> AccountPage | Response:
    if export is not None:
        return exported(export, "relationships", AccountStatus, list_relationships, locals())
    rows, next_cursor = list_accounts(
        conn,
        AccountFilter(
            kind=kind,
            lifecycle=lifecycle,
            branch=branch,
            region=region,
            industry=industry,
            key_account=key_account,
            team_member=team_member,
            branch_or_kinds=visible_accounts(staff),
        ),
        now=s.app.clock(),
        limit=limit,
        cursor=cursor,
    )
    if rows:
        models = s.value_models().latest(conn, position=read_inputs_position(rows))
        rows = with_model_value(rows, models)
    return AccountPage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.get(
    "/{relationship_id}",
    summary="Account status of one relationship",
    response_model=AccountStatus,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*ACCOUNT_READ_MODELS)],
)
def get_relationship(
    relationship_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    s: ServicesDep,
    response: Response,
) -> AccountStatus:
    row = found(
        get_account(conn, relationship_id, now=s.app.clock()),
        response,
        f"no relationship with id {relationship_id}",
    )
    models = s.value_models().latest(conn, position=read_inputs_position([row]))
    [status] = with_model_value([row], models)
    return AccountStatus.model_validate(status)
