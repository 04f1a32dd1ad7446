"""/v1/branches: the branch registry — every branch a staff member, a relationship or a
shipment's link may name, with its names in Chinese and English, region, time zone and
currency — kept by administrators and headquarters."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from interface.http.commands import COMMAND_ERRORS, WithReason, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    Reads,
    ServicesDep,
    context,
    fresh,
)
from interface.http.errors import responses
from interface.http.fields import Name
from interface.http.permissions import BRANCH_REGISTRY, BRANCHES
from interface.http.reads import found
from interface.http.routing import OneTripRoute
from projections.branches.queries import get_branch, list_branches

router = APIRouter(route_class=OneTripRoute, prefix="/v1/branches", tags=["branches"])

READ_MODEL = "branches"

Code = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$",
        description="The branch's code, as staff, relationships and links name it",
        examples=["Suzhou"],
    ),
]
TimeZone = Annotated[
    str, Field(min_length=1, max_length=64, description="IANA", examples=["Asia/Shanghai"])
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217", examples=["CNY"])]


class RegisterBranch(CommandMeta):
    code: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$",
        description="What every reference to the branch carries; never changes",
        examples=["Suzhou"],
    )
    name_zh: Name = Field(examples=["苏州分公司"])
    name_en: Name = Field(examples=["Suzhou Branch"])
    region: Name = Field(examples=["East China"])
    time_zone: TimeZone
    currency: Currency


class ChangeBranch(CommandMeta):
    name_zh: Name | None = None
    name_en: Name | None = None
    region: Name | None = None
    time_zone: TimeZone | None = None
    currency: Currency | None = None


class BranchRecord(BaseModel):
    code: str
    name_zh: str
    name_en: str
    region: str
    time_zone: str
    currency: str
    open: bool = Field(description="A closed branch takes no new staff, customers or links")
    version: int
    position: int
    updated_at: datetime


class BranchList(BaseModel):
    items: list[BranchRecord]


@router.post(
    "",
    status_code=201,
    summary="Register a branch",
    responses=responses(401, 403, 409, 422),
)
def register(
    body: RegisterBranch,
    staff: Annotated[StaffMember, Depends(Allowed(BRANCHES))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.branches.register_branch(
        context(request, staff, body),
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        region=body.region,
        time_zone=body.time_zone,
        currency=body.currency,
    )
    response.headers["Location"] = f"/v1/branches/{body.code}"
    return accepted(response, result)


@router.post(
    "/{code}/change",
    summary="Change a branch's names, region, time zone or currency",
    description="Its code never changes. Refused (409) when nothing would change.",
    responses=COMMAND_ERRORS,
)
def change(
    code: Code,
    body: ChangeBranch,
    staff: Annotated[StaffMember, Depends(Allowed(BRANCHES))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.branches.change_branch(
        context(request, staff, body),
        code,
        expected_version=expected,
        name_zh=body.name_zh,
        name_en=body.name_en,
        region=body.region,
        time_zone=body.time_zone,
        currency=body.currency,
    )
    return accepted(response, result)


@router.post(
    "/{code}/close",
    summary="Close a branch",
    description="It takes no new staff, customers or links; what it holds stays.",
    responses=COMMAND_ERRORS,
)
def close(
    code: Code,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(BRANCHES))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.branches.close_branch(
        context(request, staff, body), code, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{code}/reopen",
    summary="Reopen a closed branch",
    responses=COMMAND_ERRORS,
)
def reopen(
    code: Code,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(BRANCHES))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.branches.reopen_branch(
        context(request, staff, body), code, expected_version=expected
    )
    return accepted(response, result)


@router.get(
    "",
    summary="The branch registry",
    response_model=BranchList,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(READ_MODEL)],
)
def branches(
    _: Annotated[StaffMember, Depends(Allowed(BRANCH_REGISTRY))],
    conn: Reads,
    include_closed: Annotated[bool, Query(description="Closed branches too")] = False,
) -> BranchList:
    rows = list_branches(conn, include_closed=include_closed)
    return BranchList(items=[BranchRecord.model_validate(r) for r in rows])


@router.get(
    "/{code}",
    summary="One branch",
    response_model=BranchRecord,
    responses=responses(401, 403, 404, 422, 503),
    dependencies=[fresh(READ_MODEL)],
)
def branch(
    code: Code,
    _: Annotated[StaffMember, Depends(Allowed(BRANCH_REGISTRY))],
    conn: Reads,
    response: Response,
) -> BranchRecord:
    return BranchRecord.model_validate(found(get_branch(conn, code), response, f"no branch {code}"))
