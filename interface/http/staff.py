"""/v1/staff: staff members, their roles and tokens (administrators)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from domain.staff import Role
from interface.http.deps import (
    CommandAccepted,
    CommandMeta,
    Staff,
    context,
    read_connection,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.queries import ReadConnection

router = APIRouter(prefix="/v1/staff", tags=["staff"])

StaffId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
ERRORS = responses(401, 403, 404, 409, 422)


class StaffView(BaseModel):
    staff_id: str
    name: str
    branch: str
    roles: list[Role]
    active: bool


class RegisterStaff(CommandMeta):
    staff_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")
    name: str = Field(min_length=1, max_length=200)
    branch: str = Field(min_length=1, max_length=80)
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))


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
def me(staff: Staff) -> StaffView:
    return StaffView(
        staff_id=staff.staff_id,
        name=staff.display_name,
        branch=staff.branch,
        roles=sorted(staff.roles),
        active=True,
    )


@router.get(
    "", summary="List staff members", response_model=list[StaffView], responses=responses(401, 403)
)
def list_staff(
    _: Staff, conn: Annotated[ReadConnection, Depends(read_connection)]
) -> list[StaffView]:
    rows = conn.execute(
        "SELECT staff_id, name, branch, roles, active FROM staff_access ORDER BY staff_id"
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
    body: RegisterStaff, staff: Staff, s: Annotated[Services, Depends(services)], response: Response
) -> CommandAccepted:
    ctx = context(s, staff, body)
    result = s.app.register_staff(ctx, staff_id=body.staff_id, name=body.name, branch=body.branch)
    for role in body.roles:
        result = s.app.grant_role(ctx, body.staff_id, role=role)
    response.headers["Location"] = f"/v1/staff/{body.staff_id}"
    return CommandAccepted.of(result)


@router.post(
    "/{staff_id}/roles", summary="Grant a role", response_model=CommandAccepted, responses=ERRORS
)
def grant(
    staff_id: StaffId, body: GrantRole, staff: Staff, s: Annotated[Services, Depends(services)]
) -> CommandAccepted:
    return CommandAccepted.of(s.app.grant_role(context(s, staff, body), staff_id, role=body.role))


@router.post(
    "/{staff_id}/roles/{role}/revoke",
    summary="Revoke a role",
    response_model=CommandAccepted,
    responses=ERRORS,
)
def revoke(
    staff_id: StaffId,
    role: Role,
    body: CommandMeta,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
) -> CommandAccepted:
    return CommandAccepted.of(s.app.revoke_role(context(s, staff, body), staff_id, role=role))


@router.post(
    "/{staff_id}/tokens",
    status_code=201,
    summary="Issue a token (shown once)",
    response_model=IssuedToken,
    responses=ERRORS,
)
def issue(
    staff_id: StaffId, body: IssueToken, staff: Staff, s: Annotated[Services, Depends(services)]
) -> IssuedToken:
    result, token_id, token = s.app.issue_staff_token(
        context(s, staff, body), staff_id, label=body.label
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
    staff_id: StaffId,
    token_id: UUID,
    body: CommandMeta,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
) -> CommandAccepted:
    return CommandAccepted.of(
        s.app.revoke_staff_token(context(s, staff, body), staff_id, token_id=token_id)
    )


@router.post(
    "/{staff_id}/deactivate",
    summary="Deactivate (ends every token)",
    response_model=CommandAccepted,
    responses=ERRORS,
)
def deactivate(
    staff_id: StaffId, body: Deactivate, staff: Staff, s: Annotated[Services, Depends(services)]
) -> CommandAccepted:
    return CommandAccepted.of(
        s.app.deactivate_staff(context(s, staff, body), staff_id, reason=body.reason)
    )
