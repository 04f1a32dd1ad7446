"""/v1/retention: what the retention of personal data would erase as of a moment, and
what legal holds and open claims keep (``application.retention``)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.base import InvalidValue
from domain.retention import Due
from interface.http.deps import Allowed, ServicesDep
from interface.http.errors import responses
from interface.http.permissions import LEGAL_HOLDS
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/retention", tags=["personal data"])


class HoldModel(BaseModel):
    kind: str = Field(description="legal_hold or open_claim", examples=["legal_hold"])
    ref: str = Field(description="The legal hold's id, or the open claim's")
    reason: str = Field(examples=["litigation: Suzhou Intermediate Court case"])


class DueModel(BaseModel):
    subject_id: str
    subject_kind: str = Field(description="contact, notes or signer", examples=["contact"])
    aggregate_id: str = Field(description="The relationship or shipment holding the data")
    contact_id: str | None = Field(None, description="A contact's id (signers are not named)")
    relationship_id: str = Field(description="The customer whose data it is")
    kind: str = Field(description="The kind of data", examples=["notes"])
    policy: str = Field(examples=["retention policy notes: 3 years after the relationship ended"])
    due_at: str = Field(description="When its retention period ended")
    holds: list[HoldModel] = Field(description="What keeps it; empty: it is erased")

    @classmethod
    def of(cls, item: Due) -> "DueModel":
        return cls(**item.as_dict())


class RetentionDue(BaseModel):
    as_of: str
    due: list[DueModel] = Field(description="What a retention run would erase")
    held: list[DueModel] = Field(description="Due, but kept by a legal hold or an open claim")


@router.get(
    "/due",
    summary="What a retention run would erase as of a moment, and what is held and why",
    responses=responses(401, 422),
)
def retention_due(
    staff: Annotated[StaffMember, Depends(Allowed(LEGAL_HOLDS))],
    s: ServicesDep,
    as_of: Annotated[
        datetime | None,
        Query(description="ISO 8601 with a time zone; default now"),
    ] = None,
) -> RetentionDue:
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidValue("as_of.timezone", "as_of must carry a time zone", field="as_of")
    moment = as_of or s.app.clock()
    report = s.retention().run(moment, dry_run=True)
    return RetentionDue(
        as_of=moment.isoformat(),
        due=[DueModel.of(d) for d in report.erased],
        held=[DueModel.of(d) for d in report.held],
    )
