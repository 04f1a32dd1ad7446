"""/v1/opportunities: the sales pipeline (销售机会) — opportunities identified with customers,
prospects and targets, moved through the business-process stages (generation, tracking,
control, implementation; evaluation after the win), won or lost, and read back as a
filterable list."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.opportunity import LossReason, OpportunityStatus, Stage
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
    scoped_branch,
)
from interface.http.errors import responses
from interface.http.exports import EXPORTABLE, ExportAs, exported
from interface.http.fields import Currency, Rating, Text, amount
from interface.http.permissions import READ, WORK
from interface.http.reads import Cursor, Limit, NextCursor, found
from interface.http.routing import OneTripRoute
from projections.opportunities.queries import (
    OPPORTUNITY_READ_MODELS,
    OpportunityFilter,
    get_opportunity,
    list_opportunities,
)

router = APIRouter(route_class=OneTripRoute, prefix="/v1/opportunities", tags=["opportunities"])

Title = Annotated[str, Field(min_length=1, max_length=200)]
Money = Annotated[Decimal, amount("The business expected over the deal's term", "240000.00")]
Probability = Annotated[
    Decimal,
    Field(ge=0, le=1, decimal_places=4, description="Chance of winning, 0 to 1", examples=["0.3"]),
]
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
    source_campaign_id: UUID | None = Field(
        None, description="The running campaign the opportunity was opened from (a lead of it)"
    )


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


class EvaluateOpportunity(CommandMeta):
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
    next_cursor: NextCursor


@router.post(
    "",
    status_code=201,
    summary="Identify an opportunity",
    description="With a customer, prospect or target, for an active offering, in the "
    "generation stage. Unknown relationship, offering or competitor: 422 on its field; a "
    "relationship of another kind, a retired offering, a relationship that is no "
    "competitor: 409.",
    responses=responses(401, 409, 422),
)
def identify(
    body: IdentifyOpportunity,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.identify_opportunity(
        context(request, staff, body),
        relationship_id=body.relationship_id,
        title=body.title,
        offering_id=body.offering_id,
        expected_value=body.expected_value,
        currency=body.currency,
        probability=body.probability,
        competitor_ids=body.competitor_ids,
        opportunity_id=body.opportunity_id,
        source_campaign_id=body.source_campaign_id,
    )
    response.headers["Location"] = f"/v1/opportunities/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/advance",
    summary="Advance to the next stage",
    description="One stage at a time, up to implementation; the evaluation follows the win.",
    responses=COMMAND_ERRORS,
)
def advance(
    opportunity_id: UUID,
    body: Advance,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.advance_opportunity(
        context(request, staff, body),
        opportunity_id,
        to_stage=body.to_stage,
        note=body.note,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/step-back",
    summary="Step back to the stage before",
    description="One stage back, saying why (the customer reopens its requirements during "
    "control).",
    responses=COMMAND_ERRORS,
)
def step_back(
    opportunity_id: UUID,
    body: StepBack,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.step_back_opportunity(
        context(request, staff, body),
        opportunity_id,
        to_stage=body.to_stage,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/revise-value",
    summary="Revise the expected value",
    description="While the opportunity is open.",
    responses=COMMAND_ERRORS,
)
def revise_value(
    opportunity_id: UUID,
    body: ReviseValue,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.revise_expected_value(
        context(request, staff, body),
        opportunity_id,
        amount=body.amount,
        currency=body.currency,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/revise-probability",
    summary="Revise the probability of winning",
    description="While the opportunity is open.",
    responses=COMMAND_ERRORS,
)
def revise_probability(
    opportunity_id: UUID,
    body: ReviseProbability,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.revise_probability(
        context(request, staff, body),
        opportunity_id,
        probability=body.probability,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/change-offering",
    summary="Offer another service",
    description="Sea instead of air, say; only an active offering.",
    responses=COMMAND_ERRORS,
)
def change_offering(
    opportunity_id: UUID,
    body: ChangeOffering,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.change_opportunity_offering(
        context(request, staff, body),
        opportunity_id,
        offering_id=body.offering_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/involve-competitor",
    summary="A competitor enters the running",
    responses=COMMAND_ERRORS,
)
def involve_competitor(
    opportunity_id: UUID,
    body: InvolveCompetitor,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.involve_competitor(
        context(request, staff, body),
        opportunity_id,
        competitor_id=body.competitor_id,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/won",
    summary="Won",
    description="Only at implementation, with the offering still active. A prospect or target "
    "becomes a customer by its first business, recorded on the relationship right after the win "
    "(same correlation id, the win as its cause); `position` is then that event's, so a read with "
    "it as `min_position` shows the new customer too.",
    responses=COMMAND_ERRORS,
)
def won(
    opportunity_id: UUID,
    body: Won,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.mark_opportunity_won(
        context(request, staff, body), opportunity_id, note=body.note, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/lost",
    summary="Lost",
    description="At any open stage, with the reason and, if one won it, the competitor.",
    responses=COMMAND_ERRORS,
)
def lost(
    opportunity_id: UUID,
    body: Lost,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.mark_opportunity_lost(
        context(request, staff, body),
        opportunity_id,
        reason=body.reason,
        explanation=body.explanation,
        competitor_id=body.competitor_id,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{opportunity_id}/evaluate",
    summary="Evaluate the won business (业务评价)",
    description="Once, after the win; it closes the opportunity's business.",
    responses=COMMAND_ERRORS,
)
def evaluate(
    opportunity_id: UUID,
    body: EvaluateOpportunity,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.sales.evaluate_opportunity(
        context(request, staff, body),
        opportunity_id,
        rating=body.rating,
        remarks=body.remarks,
        expected_version=expected,
    )
    return accepted(response, result)


@router.get(
    "",
    summary="List opportunities",
    response_model=OpportunityPage,
    responses={**responses(401, 403, 422, 503), **EXPORTABLE},
    dependencies=[fresh(*OPPORTUNITY_READ_MODELS)],
)
def opportunities(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    relationship_id: UUID | None = None,
    stage: Stage | None = None,
    status: OpportunityStatus | None = None,
    branch: Annotated[
        str | None,
        Query(max_length=80, pattern=r"^[^\x00]*$", description="The relationship's branch"),
    ] = None,
    offering_id: UUID | None = None,
    competitor_id: Annotated[UUID | None, Query(description="A competitor involved")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    export: ExportAs = None,
) -> OpportunityPage | Response:
    if export is not None:
        return exported(export, "opportunities", Opportunity, opportunities, locals())
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
    dependencies=[fresh(*OPPORTUNITY_READ_MODELS)],
)
def opportunity(
    opportunity_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    response: Response,
) -> Opportunity:
    row = found(
        get_opportunity(conn, opportunity_id), response, f"no opportunity with id {opportunity_id}"
    )
    return Opportunity.model_validate(row)
