"""What every endpoint needs: the services, the staff member, If-Match, fresh reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from application.service import CommandResult
from application.tokens import StaffMember, identify
from domain.base import CommandContext
from interface.runtime import Services
from projections.queries import ReadConnection, wait_for_position

_bearer = HTTPBearer(auto_error=False, description="A staff member's bearer token")


def services(request: Request) -> Services:
    s: Services = request.app.state.services
    return s


def read_connection(s: Annotated[Services, Depends(services)]) -> Iterator[ReadConnection]:
    with s.reads.connection() as conn:
        yield conn


def current_staff(
    s: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffMember:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    with s.reads.connection() as conn:
        staff = identify(conn, credentials.credentials)
    if staff is None:
        raise HTTPException(
            401, "the token identifies no staff member", headers={"WWW-Authenticate": "Bearer"}
        )
    return staff


Staff = Annotated[StaffMember, Depends(current_staff)]

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The version the command expects, as returned in ETag (e.g. "3")',
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
