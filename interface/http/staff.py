"""/v1/staff: staff members, their roles and tokens (administrators)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.staff import Role
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    Reads,
    ServicesDep,
    context,
)
from interface.http.errors import responses
from interface.http.fields import STAFF_ID_PATTERN, StaffId
from interface.http.permissions import EVERYONE, STAFF
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/staff", tags=["staff"])

StaffPath = Annotated[str, Path(min_length=1, max_length=64, pattern=STAFF_ID_PATTERN)]
ERRORS = responses(401, 403, 404, 409, 422)


class StaffView(BaseModel):
    staff_id: str
    name: str
    branch: str
    roles: list[Role]
    active: bool
    partner_id: UUID | None = Field(None, description="The partner a partner user works for")
    customer_id: UUID | None = Field(None, description="The customer a customer user acts for")


class RegisterStaff(CommandMeta):
    staff_id: StaffId
    name: str = Field(min_length=1, max_length=200)
    branch: str = Field(
        "", max_length=80, description="Required for our staff; none for a partner user"
    )
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    partner_id: UUID | None = Field(
        None,
        description="A partner user: the partner (relationship id) they work for; "
        "they hold the partner role only",
    )


class GrantRole(CommandMeta):
    role: Role


class IssueToken(CommandMeta):
    label: str = Field("token", min_length=1, max_length=100)


class IssuedToken(CommandAccepted):
    token_id: UUID
    token: str = Field(description="Shown once; only its hash is kept")


class Deactivate(CommandMeta):
    reason: str = Field(min_length=1, max_length=200)


@router.get(
    "/me", summary="Who the token identifies", response_model=StaffView, responses=responses(401)
)
def me(staff: Annotated[StaffMember, Depends(Allowed(EVERYONE))]) -> StaffView:
    return StaffView(
        staff_id=staff.staff_id,
        name=staff.display_name,
        branch=staff.branch,
        roles=sorted(staff.roles),
        active=True,
        partner_id=staff.partner_id,
        customer_id=staff.customer_id,
    )


@router.get(
    "", summary="List staff members", response_model=list[StaffView], responses=responses(401, 403)
)
def list_staff(_: Annotated[StaffMember, Depends(Allowed(STAFF))], conn: Reads) -> list[StaffView]:
    rows = conn.execute(
        "SELECT staff_id, name, branch, roles, active, partner_id, customer_id FROM staff_access "
        "ORDER BY staff_id"
    ).fetchall()
    return [StaffView.model_validate(r) for r in rows]


@router.post(
    "",
    status_code=201,
    summary="Register a staff member",
    response_model=CommandAccepted,
    responses=ERRORS,
)
def register(
    body: RegisterStaff,
    staff: Annotated[StaffMember, Depends(Allowed(STAFF))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    ctx = context(request, staff, body)
    result = s.app.staff.register_staff(
        ctx,
        staff_id=body.staff_id,
        name=body.name,
        branch=body.branch,
        roles=body.roles,
        partner_id=body.partner_id,
    )
    response.headers["Location"] = f"/v1/staff/{body.staff_id}"
    return CommandAccepted.of(result)


@router.post(
    "/{staff_id}/roles", summary="Grant a role", response_model=CommandAccepted, responses=ERRORS
)
def grant(
    staff_id: StaffPath,
    body: GrantRole,
    staff: Annotated[StaffMember, Depends(Allowed(STAFF))],
    s: ServicesDep,
    request: Request,
) -> CommandAccepted:
    return CommandAccepted.of(
        s.app.staff.grant_role(context(request, staff, body), staff_id, role=body.role)
    )


@router.post(
    "/{staff_id}/roles/{role}/revoke",
    summary="Revoke a role",
    response_model=CommandAccepted,
    responses=ERRORS,
)
def revoke(
    staff_id: StaffPath,
    role: Role,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(STAFF))],
    s: ServicesDep,
    request: Request,
) -> CommandAccepted:
    return CommandAccepted.of(
        s.app.staff.revoke_role(context(request, staff, body), staff_id, role=role)
    )


@router.post(
    "/{staff_id}/tokens",
    status_code=201,
    summary="Issue a token (shown once)",
    response_model=IssuedToken,
    responses=ERRORS,
)
def issue(
    staff_id: StaffPath,
    body: IssueToken,
    staff: Annotated[StaffMember, Depends(Allowed(STAFF))],
    s: ServicesDep,
    request: Request,
) -> IssuedToken:
    result, token_id, token = s.app.staff.issue_staff_token(
        context(request, staff, body), staff_id, label=body.label
    )
    accepted = CommandAccepted.of(result)
    return IssuedToken(**accepted.model_dump(), token_id=token_id, token=token)


@router.post(
    "/{staff_id}/tokens/{token_id}/revoke",
    summary="Revoke a token at once",
    response_model=CommandAccepted,
    responses=ERRORS,
)
def revoke_token(
    staff_id: StaffPath,
    token_id: UUID,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(STAFF))],
    s: ServicesDep,
    request: Request,
) -> CommandAccepted:
    return CommandAccepted.of(
        s.app.staff.revoke_staff_token(context(request, staff, body), staff_id, token_id=token_id)
    )


@router.post(
    "/{staff_id}/deactivate",
    summary="Deactivate (ends every token)",
    response_model=CommandAccepted,
    responses=ERRORS,
)
def deactivate(
    staff_id: StaffPath,
    body: Deactivate,
    staff: Annotated[StaffMember, Depends(Allowed(STAFF))],
    s: ServicesDep,
    request: Request,
) -> CommandAccepted:
    return CommandAccepted.of(
        s.app.staff.deactivate_staff(context(request, staff, body), staff_id, reason=body.reason)
    )
