"""/v1/competitors/{relationship_id}/profile: competitor management (竞争对手管理) — what we
know of a competitor (strengths, weaknesses, the lanes it serves) and our win/loss record
against it, counted over the opportunities it competed in."""

# No `from __future__ import annotations` here: FastAPI reads the body types of the
# generated command endpoints from their annotations at run time.

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.liability import TransportMode
from domain.offering import Lane
from interface.http.commands import accepted, aggregate_command
from interface.http.deps import (
    CommandAccepted,
    CommandMeta,
    MinPosition,
    Staff,
    Wait,
    context,
    fresh_enough,
    read_connection,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.opportunities import win_loss_record
from projections.queries import ReadConnection

router = APIRouter(prefix="/v1/competitors", tags=["competitors"])

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
    response_model=CommandAccepted,
    responses=responses(401, 404, 409, 422),
)
def start(
    relationship_id: UUID,
    body: StartProfile,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    response: Response,
) -> CommandAccepted:
    result = s.app.start_competitor_profile(
        context(s, staff, body),
        relationship_id,
        strengths=body.strengths,
        weaknesses=body.weaknesses,
        lanes=[lane.lane() for lane in body.lanes],
    )
    response.headers["Location"] = f"/v1/competitors/{relationship_id}/profile"
    return accepted(response, result)


aggregate_command(
    router,
    "relationship_id",
    "/profile/strengths",
    "Note a strength",
    NoteStrength,
    lambda a, c, rid, b, v: a.note_competitor_strength(
        c, rid, strength=b.strength, expected_version=v
    ),
)
aggregate_command(
    router,
    "relationship_id",
    "/profile/strengths/withdraw",
    "Withdraw a strength",
    WithdrawStrength,
    lambda a, c, rid, b, v: a.withdraw_competitor_strength(
        c, rid, strength=b.strength, reason=b.reason, expected_version=v
    ),
    "Named without regard to capitalisation.",
)
aggregate_command(
    router,
    "relationship_id",
    "/profile/weaknesses",
    "Note a weakness",
    NoteWeakness,
    lambda a, c, rid, b, v: a.note_competitor_weakness(
        c, rid, weakness=b.weakness, expected_version=v
    ),
)
aggregate_command(
    router,
    "relationship_id",
    "/profile/weaknesses/withdraw",
    "Withdraw a weakness",
    WithdrawWeakness,
    lambda a, c, rid, b, v: a.withdraw_competitor_weakness(
        c, rid, weakness=b.weakness, reason=b.reason, expected_version=v
    ),
    "Named without regard to capitalisation.",
)
aggregate_command(
    router,
    "relationship_id",
    "/profile/lanes",
    "Add a lane it serves",
    AddLane,
    lambda a, c, rid, b, v: a.add_competitor_lane(c, rid, lane=b.lane(), expected_version=v),
)
aggregate_command(
    router,
    "relationship_id",
    "/profile/lanes/drop",
    "Drop a lane it no longer serves",
    DropLane,
    lambda a, c, rid, b, v: a.drop_competitor_lane(
        c, rid, lane=b.lane(), reason=b.reason, expected_version=v
    ),
)


@router.get(
    PROFILE,
    summary="A competitor's profile and our record against it",
    description="The profile as it stands; the record from the opportunities read model "
    "(`min_position` waits for it).",
    response_model=CompetitorProfile,
    responses=responses(401, 404, 422, 503),
)
def profile(
    relationship_id: UUID,
    _: Staff,
    s: Annotated[Services, Depends(services)],
    conn: Annotated[ReadConnection, Depends(read_connection)],
    response: Response,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> CompetitorProfile:
    known = s.app.get_competitor_profile(relationship_id)
    competitor = s.app.get_relationship(relationship_id)
    fresh_enough(conn, "opportunities", min_position, wait)
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
