"""/v1/opportunities: the sales pipeline (销售机会) — opportunities identified with customers,
prospects and targets, moved through the business-process stages (generation, tracking,
control, implementation; evaluation after the win), won or lost, and read back as a
filterable list."""

# No `from __future__ import annotations` here: FastAPI reads the body types of the
# generated command endpoints from their annotations at run time.

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from domain.opportunity import LossReason, OpportunityStatus, Stage
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
    scoped_branch,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services
from projections.opportunities import (
    OPPORTUNITY_READ_MODELS,
    OpportunityFilter,
    get_opportunity,
    list_opportunities,
)
from projections.queries import ReadConnection

router = APIRouter(prefix="/v1/opportunities", tags=["opportunities"])

Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Currency = Annotated[
    str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD", examples=["USD"])
]
Money = Annotated[
    Decimal,
    Field(
        gt=0,
        le=Decimal("1000000000000"),
        decimal_places=2,
        description="The business expected over the deal's term, as a string or a number",
        examples=["240000.00"],
    ),
]
Probability = Annotated[
    Decimal,
    Field(ge=0, le=1, decimal_places=4, description="Chance of winning, 0 to 1", examples=["0.3"]),
]
Rating = Annotated[int, Field(ge=1, le=5)]
MAX_COMPETITORS = 20


class IdentifyOpportunity(CommandMeta):
    relationship_id: UUID = Field(description="A customer, prospect or target")
    title: Title = Field(examples=["Monthly laptop exports to Chicago by air"])
    offering_id: UUID = Field(description="An active service offering")
    expected_value: Money
    currency: Currency
    probability: Probability
    competitor_ids: list[UUID] = Field(
        default_factory=list,
        max_length=MAX_COMPETITORS,
        description="Competitors in the running, each a relationship of kind competitor",
    )
    opportunity_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class Advance(CommandMeta):
    to_stage: Stage = Field(description="The next stage; stages are taken in order")
    note: Text | None = None


class StepBack(CommandMeta):
    to_stage: Stage = Field(description="The stage before the current one")
    reason: Text


class ReviseValue(CommandMeta):
    amount: Money
    currency: Currency
    reason: Text


class ReviseProbability(CommandMeta):
    probability: Probability
    reason: Text


class ChangeOffering(CommandMeta):
    offering_id: UUID = Field(description="Another active service offering")
    reason: Text


class InvolveCompetitor(CommandMeta):
    competitor_id: UUID


class Won(CommandMeta):
    note: Text | None = None


class Lost(CommandMeta):
    reason: LossReason
    explanation: Text
    competitor_id: UUID | None = Field(
        None, description="The competitor that won the business; involved by this command if not"
    )


class Evaluate(CommandMeta):
    rating: Rating = Field(description="How the won business went, 1 to 5")
    remarks: Text | None = None


class Opportunity(BaseModel):
    opportunity_id: UUID
    relationship_id: UUID
    relationship_name: str | None
    branch: str | None = Field(description="The relationship's branch")
    title: str
    offering_id: UUID
    offering_label: str | None
    stage: Stage
    status: OpportunityStatus
    expected_value: Decimal
    currency: str
    probability: Decimal = Field(description="The last estimate, kept after the decision")
    weighted_value: Decimal = Field(
        description="Expected value × probability while open; all of it won, nothing lost"
    )
    competitor_ids: list[UUID]
    lost_to: UUID | None = Field(description="The competitor that won the business, if one did")
    loss_reason: LossReason | None
    stage_entered_at: datetime
    identified_at: datetime
    identified_by: str
    decided_at: datetime | None = Field(description="When it was won or lost")
    evaluation_rating: int | None
    version: int
    position: int
    updated_at: datetime


class OpportunityPage(BaseModel):
    items: list[Opportunity]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end")


@router.post(
    "",
    status_code=201,
    summary="Identify an opportunity",
    description="With a customer, prospect or target, for an active offering, in the "
    "generation stage. Unknown relationship, offering or competitor: 422 on its field; a "
    "relationship of another kind, a retired offering, a relationship that is no "
    "competitor: 409.",
    response_model=CommandAccepted,
    responses=responses(401, 409, 422),
)
def identify(
    body: IdentifyOpportunity,
    staff: Staff,
    s: Annotated[Services, Depends(services)],
    response: Response,
) -> CommandAccepted:
    result = s.app.identify_opportunity(
        context(s, staff, body),
        relationship_id=body.relationship_id,
        title=body.title,
        offering_id=body.offering_id,
        expected_value=body.expected_value,
        currency=body.currency,
        probability=body.probability,
        competitor_ids=body.competitor_ids,
        opportunity_id=body.opportunity_id,
    )
    response.headers["Location"] = f"/v1/opportunities/{result.aggregate_id}"
    return accepted(response, result)


aggregate_command(
    router,
    "opportunity_id",
    "/advance",
    "Advance to the next stage",
    Advance,
    lambda a, c, oid, b, v: a.advance_opportunity(
        c, oid, to_stage=b.to_stage, note=b.note, expected_version=v
    ),
    "One stage at a time, up to implementation; the evaluation follows the win.",
)
aggregate_command(
    router,
    "opportunity_id",
    "/step-back",
    "Step back to the stage before",
    StepBack,
    lambda a, c, oid, b, v: a.step_back_opportunity(
        c, oid, to_stage=b.to_stage, reason=b.reason, expected_version=v
    ),
    "One stage back, saying why (the customer reopens its requirements during control).",
)
aggregate_command(
    router,
    "opportunity_id",
    "/revise-value",
    "Revise the expected value",
    ReviseValue,
    lambda a, c, oid, b, v: a.revise_expected_value(
        c, oid, amount=b.amount, currency=b.currency, reason=b.reason, expected_version=v
    ),
    "While the opportunity is open.",
)
aggregate_command(
    router,
    "opportunity_id",
    "/revise-probability",
    "Revise the probability of winning",
    ReviseProbability,
    lambda a, c, oid, b, v: a.revise_probability(
        c, oid, probability=b.probability, reason=b.reason, expected_version=v
    ),
    "While the opportunity is open.",
)
aggregate_command(
    router,
    "opportunity_id",
    "/change-offering",
    "Offer another service",
    ChangeOffering,
    lambda a, c, oid, b, v: a.change_opportunity_offering(
        c, oid, offering_id=b.offering_id, reason=b.reason, expected_version=v
    ),
    "Sea instead of air, say; only an active offering.",
)
aggregate_command(
    router,
    "opportunity_id",
    "/involve-competitor",
    "A competitor enters the running",
    InvolveCompetitor,
    lambda a, c, oid, b, v: a.involve_competitor(
        c, oid, competitor_id=b.competitor_id, expected_version=v
    ),
)


aggregate_command(
    router,
    "opportunity_id",
    "/won",
    "Won",
    Won,
    lambda a, c, oid, b, v: a.mark_opportunity_won(c, oid, note=b.note, expected_version=v),
    "Only at implementation, with the offering still active. A prospect or target becomes a "
    "customer by its first business, recorded on the relationship right after the win (same "
    "correlation id, the win as its cause); `position` is then that event's, so a read with "
    "it as `min_position` shows the new customer too.",
)
aggregate_command(
    router,
    "opportunity_id",
    "/lost",
    "Lost",
    Lost,
    lambda a, c, oid, b, v: a.mark_opportunity_lost(
        c,
        oid,
        reason=b.reason,
        explanation=b.explanation,
        competitor_id=b.competitor_id,
        expected_version=v,
    ),
    "At any open stage, with the reason and, if one won it, the competitor.",
)
aggregate_command(
    router,
    "opportunity_id",
    "/evaluate",
    "Evaluate the won business (业务评价)",
    Evaluate,
    lambda a, c, oid, b, v: a.evaluate_opportunity(
        c, oid, rating=b.rating, remarks=b.remarks, expected_version=v
    ),
    "Once, after the win; it closes the opportunity's business.",
)


@router.get(
    "",
    summary="List opportunities",
    response_model=OpportunityPage,
    responses=responses(401, 403, 422, 503),
)
def opportunities(
    staff: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    relationship_id: UUID | None = None,
    stage: Stage | None = None,
    status: OpportunityStatus | None = None,
    branch: Annotated[
        str | None,
        Query(max_length=80, pattern=r"^[^\x00]*$", description="The relationship's branch"),
    ] = None,
    offering_id: UUID | None = None,
    competitor_id: Annotated[UUID | None, Query(description="A competitor involved")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> OpportunityPage:
    fresh_enough(conn, OPPORTUNITY_READ_MODELS, min_position, wait)
    rows, next_cursor = list_opportunities(
        conn,
        OpportunityFilter(
            relationship_id=relationship_id,
            stage=stage,
            status=status,
            branch=scoped_branch(staff, branch),
            offering_id=offering_id,
            competitor_id=competitor_id,
        ),
        limit=limit,
        cursor=cursor,
    )
    return OpportunityPage(
        items=[Opportunity.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/{opportunity_id}",
    summary="One opportunity",
    response_model=Opportunity,
    responses=responses(401, 404, 422, 503),
)
def opportunity(
    opportunity_id: UUID,
    _: Staff,
    conn: Annotated[ReadConnection, Depends(read_connection)],
    response: Response,
    min_position: MinPosition = None,
    wait: Wait = 2.0,
) -> Opportunity:
    fresh_enough(conn, OPPORTUNITY_READ_MODELS, min_position, wait)
    row = get_opportunity(conn, opportunity_id)
    if row is None:
        raise HTTPException(404, f"no opportunity with id {opportunity_id}")
    response.headers["ETag"] = f'"{row["version"]}"'
    return Opportunity.model_validate(row)
