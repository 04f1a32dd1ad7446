"""/v1/competitors/{relationship_id}/profile: competitor management (竞争对手管理) — what we
know of a competitor (strengths, weaknesses, the lanes it serves) and our win/loss record
against it, counted over the opportunities it competed in."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from application.tokens import StaffMember
from domain.liability import TransportMode
from domain.offering import Lane
from interface.http.commands import COMMAND_ERRORS, accepted
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
from interface.http.permissions import PRODUCT, READ
from interface.http.routing import OneTripRoute
from projections.opportunities.queries import win_loss_record

router = APIRouter(route_class=OneTripRoute, prefix="/v1/competitors", tags=["competitors"])

PROFILE = "/{relationship_id}/profile"

Statement = Annotated[str, Field(min_length=1, max_length=200)]
Place = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
MAX_STATEMENTS = 50


class LaneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: Place
    destination: Place
    mode: TransportMode

    def lane(self) -> Lane:
        return Lane(self.origin, self.destination, self.mode)


class StartProfile(CommandMeta):
    strengths: list[Statement] = Field(default_factory=list, max_length=MAX_STATEMENTS)
    weaknesses: list[Statement] = Field(default_factory=list, max_length=MAX_STATEMENTS)
    lanes: list[LaneIn] = Field(default_factory=list, max_length=MAX_STATEMENTS)


class NoteStrength(CommandMeta):
    strength: Statement


class WithdrawStrength(CommandMeta):
    strength: Statement
    reason: Reason


class NoteWeakness(CommandMeta):
    weakness: Statement


class WithdrawWeakness(CommandMeta):
    weakness: Statement
    reason: Reason


class AddLane(CommandMeta, LaneIn):
    pass


class DropLane(CommandMeta, LaneIn):
    reason: Reason


class Record(BaseModel):
    competing: int = Field(description="Open opportunities it is in the running for")
    won_against: int = Field(description="Won by us while it competed")
    lost_to: int = Field(description="Lost to it: it won the business")
    lost_to_others: int = Field(description="Lost while it competed, but not to it")
    head_to_head_win_rate: Decimal | None = Field(
        description="Of those decided between us and it, the share we won; null before any"
    )


class CompetitorProfile(BaseModel):
    relationship_id: UUID
    name: str
    strengths: list[str]
    weaknesses: list[str]
    lanes: list[LaneIn]
    record: Record
    version: int


@router.post(
    PROFILE,
    status_code=201,
    summary="Start a competitor's profile",
    description="One profile per relationship of kind competitor (another kind: 409).",
    responses=responses(401, 404, 409, 422),
)
def start(
    relationship_id: UUID,
    body: StartProfile,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.start_competitor_profile(
        context(request, staff, body),
        relationship_id,
        strengths=body.strengths,
        weaknesses=body.weaknesses,
        lanes=[lane.lane() for lane in body.lanes],
    )
    response.headers["Location"] = f"/v1/competitors/{relationship_id}/profile"
    return accepted(response, result)


@router.post(
    "/{relationship_id}/profile/strengths", summary="Note a strength", responses=COMMAND_ERRORS
)
def profile_strengths(
    relationship_id: UUID,
    body: NoteStrength,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.note_competitor_strength(
        context(request, staff, body),
        relationship_id,
        strength=body.strength,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/profile/strengths/withdraw",
    summary="Withdraw a strength",
    description="Named without regard to capitalisation.",
    responses=COMMAND_ERRORS,
)
def profile_strengths_withdraw(
    relationship_id: UUID,
    body: WithdrawStrength,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.withdraw_competitor_strength(
        context(request, staff, body),
        relationship_id,
        strength=body.strength,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/profile/weaknesses", summary="Note a weakness", responses=COMMAND_ERRORS
)
def profile_weaknesses(
    relationship_id: UUID,
    body: NoteWeakness,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.note_competitor_weakness(
        context(request, staff, body),
        relationship_id,
        weakness=body.weakness,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/profile/weaknesses/withdraw",
    summary="Withdraw a weakness",
    description="Named without regard to capitalisation.",
    responses=COMMAND_ERRORS,
)
def profile_weaknesses_withdraw(
    relationship_id: UUID,
    body: WithdrawWeakness,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.withdraw_competitor_weakness(
        context(request, staff, body),
        relationship_id,
        weakness=body.weakness,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/profile/lanes", summary="Add a lane it serves", responses=COMMAND_ERRORS
)
def profile_lanes(
    relationship_id: UUID,
    body: AddLane,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.add_competitor_lane(
        context(request, staff, body), relationship_id, lane=body.lane(), expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/profile/lanes/drop",
    summary="Drop a lane it no longer serves",
    responses=COMMAND_ERRORS,
)
def profile_lanes_drop(
    relationship_id: UUID,
    body: DropLane,
    staff: Annotated[StaffMember, Depends(Allowed(PRODUCT))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.drop_competitor_lane(
        context(request, staff, body),
        relationship_id,
        lane=body.lane(),
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.get(
    PROFILE,
    summary="A competitor's profile and our record against it",
    description="The profile as it stands; the record from the opportunities read model "
    "(`min_position` waits for it).",
    response_model=CompetitorProfile,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh("opportunities")],
)
def profile(
    relationship_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    s: ServicesDep,
    conn: Reads,
    response: Response,
) -> CompetitorProfile:
    known = s.app.sales.get_competitor_profile(relationship_id)
    competitor = s.app.relationships.get_relationship(relationship_id)
    record = win_loss_record(conn, relationship_id)
    response.headers["ETag"] = f'"{known.version}"'
    return CompetitorProfile(
        relationship_id=relationship_id,
        name=competitor.name,
        strengths=list(known.strengths),
        weaknesses=list(known.weaknesses),
        lanes=[
            LaneIn(origin=lane.origin, destination=lane.destination, mode=lane.mode)
            for lane in known.lanes
        ],
        record=Record(
            competing=record.competing,
            won_against=record.won_against,
            lost_to=record.lost_to,
            lost_to_others=record.lost_to_others,
            head_to_head_win_rate=record.head_to_head_win_rate,
        ),
        version=known.version,
    )
