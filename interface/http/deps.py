"""What every endpoint needs: the services, the staff member, If-Match, fresh reads."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from starlette.concurrency import run_in_threadpool

from application.service import CommandResult, NotFound
from application.tokens import StaffMember, identify
from domain.base import CommandContext
from interface.http.permissions import allowed
from interface.runtime import Services
from projections.queries import ReadConnection, wait_for_position

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="A staff member's bearer token")


def services(request: Request) -> Services:
    s: Services = request.app.state.services
    return s


def read_connection(s: Annotated[Services, Depends(services)]) -> Iterator[ReadConnection]:
    with s.reads.connection() as conn:
        yield conn


async def current_staff(
    request: Request,
    s: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffMember:
    """The staff member the bearer token identifies, if the permission matrix lets them
    call this endpoint on this resource (else 401 or 403, and the refusal is logged)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )

    def lookup() -> StaffMember | None:
        with s.reads.connection() as conn:
            return identify(conn, credentials.credentials)

    staff = await run_in_threadpool(lookup)
    if staff is None:
        raise HTTPException(
            401, "the token identifies no staff member", headers={"WWW-Authenticate": "Bearer"}
        )
    route = request.scope.get("route")
    endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    if not staff.roles & allowed(request.method, getattr(route, "path", "")):
        _refuse(staff, endpoint, "no role of theirs may call this endpoint")
    if not staff.sees_all_branches:
        branch = await _resource_branch(request, s)
        if branch is not None and branch != staff.branch:
            _refuse(staff, endpoint, f"it belongs to branch {branch!r}, not {staff.branch!r}")
    return staff


def _refuse(staff: StaffMember, endpoint: str, why: str) -> None:
    roles = ", ".join(sorted(r.value for r in staff.roles)) or "no roles"
    log.warning("refused %s (%s, %s) %s: %s", staff.staff_id, roles, staff.branch, endpoint, why)
    raise HTTPException(403, f"{staff.staff_id} ({roles}) may not do this: {why}")


async def _resource_branch(request: Request, s: Services) -> str | None:
    """The branch of the relationship the request is about, if any: named, or the one a
    shipment, an opportunity or a service case belongs to."""
    params = request.path_params
    customer: UUID | None = None
    try:
        if "relationship_id" in params:
            customer = UUID(params["relationship_id"])
        elif "shipment_id" in params:
            shipment_id = UUID(params["shipment_id"])
            customer = await run_in_threadpool(lambda: s.app.get_shipment(shipment_id).customer_id)
        elif "opportunity_id" in params:
            opportunity_id = UUID(params["opportunity_id"])
            customer = await run_in_threadpool(
                lambda: s.app.get_opportunity(opportunity_id).relationship_id
            )
        elif "case_id" in params:
            case_id = UUID(params["case_id"])
            customer = await run_in_threadpool(
                lambda: s.app.get_service_case(case_id).relationship_id
            )
        elif request.method == "POST" and request.url.path in (
            "/v1/relationships",
            "/v1/shipments",
            "/v1/opportunities",
            "/v1/cases",
        ):
            body = await request.json()
            if not isinstance(body, dict):
                return None
            if "branch" in body and request.url.path == "/v1/relationships":
                return str(body["branch"]).strip()
            customer = UUID(str(body.get("customer_id") or body.get("relationship_id")))
    except (ValueError, NotFound, UnicodeDecodeError):
        return None  # the endpoint answers 404 or 422 itself
    if customer is None:
        return None
    try:
        relationship = await run_in_threadpool(s.app.get_relationship, customer)
    except NotFound:
        return None
    return relationship.branch


def scoped_branch(staff: StaffMember, requested: str | None) -> str | None:
    """The branch filter a list may use: branch staff see their own branch only."""
    if staff.sees_all_branches:
        return requested
    if requested is not None and requested != staff.branch:
        _refuse(staff, "list", f"branch {requested!r} is not theirs")
    return staff.branch


Staff = Annotated[StaffMember, Depends(current_staff)]

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
#: What the document tells clients If-Match may hold: a version as ETag gives it, or "*".
_IF_MATCH_DOCUMENTED = r'^[ \t]*(\*|(W/)?"?[0-9]{1,18}"?)[ \t]*$'


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The version the command expects, as returned in ETag (e.g. "3")',
            json_schema_extra={"pattern": _IF_MATCH_DOCUMENTED},
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _IF_MATCH.match(if_match)
    if not match:
        raise HTTPException(422, 'If-Match must be a version number, e.g. "3"')
    return int(match.group(1))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


#: PostgreSQL text cannot hold U+0000, so no text from a client may carry it: stored, it
#: would stop every projection that copies it into a read model.
NUL = "\x00"
NUL_REASON = "text must not contain the NUL character (U+0000)"


def _without_nul(text: str | None) -> str | None:
    if text is not None and NUL in text:
        raise PydanticCustomError("text_nul", NUL_REASON)
    return text


#: For query parameters whose text reaches a query of the read models.
NoNul = AfterValidator(_without_nul)


def _nul_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where in a JSON document a string (value or key) carries U+0000, if anywhere."""
    if isinstance(value, str):
        return loc if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return (*loc, key)
            found = _nul_at(item, (*loc, str(key)))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*loc, index))
            if found is not None:
                return found
    return None


class CommandMeta(BaseModel):
    """Fields every command accepts besides its own."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: datetime | None = Field(
        None,
        description="Business time, with time zone; may be in the past, "
        "never more than 5 minutes ahead. Defaults to now.",
    )
    correlation_id: str | None = Field(None, min_length=1, max_length=100)
    causation_id: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_anywhere(cls, data: Any) -> Any:
        loc = _nul_at(data)
        if loc is not None:
            error = InitErrorDetails(
                type=PydanticCustomError("text_nul", NUL_REASON), loc=loc, input=data
            )
            raise ValidationError.from_exception_data(cls.__name__, [error])
        return data


def context(s: Services, staff: StaffMember, meta: CommandMeta) -> CommandContext:
    return s.app.context(
        staff.staff_id,
        occurred_at=meta.occurred_at,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
    )


class CommandAccepted(BaseModel):
    aggregate_id: str
    version: int = Field(description="The aggregate's version after the command; use in If-Match")
    position: int = Field(description="Log position of the last event; use as min_position")

    @classmethod
    def of(cls, result: CommandResult) -> CommandAccepted:
        return cls(
            aggregate_id=str(result.aggregate_id),
            version=result.version,
            position=result.position,
        )


def fresh_enough(
    conn: ReadConnection,
    projection: str | tuple[str, ...],
    min_position: int | None,
    wait: float,
) -> None:
    """Read-your-writes: wait, bounded, for the read model to reach ``min_position``."""
    if min_position is None:
        return
    if not wait_for_position(conn, projection, min_position, timeout=wait):
        raise HTTPException(
            503,
            f"the read model has not yet reached position {min_position}",
            headers={"Retry-After": "1"},
        )


MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Answer only once the read model includes this log position"),
]
Wait = Annotated[
    float, Query(ge=0, le=10, description="Seconds to wait for min_position before a 503")
]
