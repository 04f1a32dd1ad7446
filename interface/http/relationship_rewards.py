"""/v1/relationships/{relationship_id}/charge-backs and /bonuses: a partner's rewards and
penalties (奖惩), decided by headquarters and carried in the partner's own history."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from decimal import Decimal
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AwareDatetime, Field

from application.tokens import StaffMember
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    ServicesDep,
    context,
)
from interface.http.fields import Currency, Reason, amount
from interface.http.permissions import REWARDS
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/relationships", tags=["relationships"])


# --- request bodies ----------------------------------------------------------------------


class ChargeBack(CommandMeta):
    amount: Annotated[Decimal, amount("What the partner is charged back", "3200.00")]
    currency: Currency
    reason: Reason
    shipment_id: UUID
    incident_id: UUID | None = Field(None, description="The incident; or name its claim")
    claim_id: UUID | None = Field(None, description="The claim filed for the incident")
    charge_back_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class AwardBonus(CommandMeta):
    amount: Annotated[Decimal, amount("The bonus", "500.00")]
    currency: Currency
    reason: Reason
    period_start: AwareDatetime = Field(description="The start of the clean record rewarded")
    period_end: AwareDatetime = Field(description="Its end; not after the decision")
    bonus_id: UUID | None = Field(None, description="Chosen by the client; else generated")


# --- commands ----------------------------------------------------------------------------


@router.post(
    "/{relationship_id}/charge-backs",
    summary="Charge a partner back (奖惩)",
    description="For an incident of a shipment (named by itself or by a claim filed for it) "
    "whose responsibility the partner accepted or headquarters arbitrated to it; else 409.",
    responses=COMMAND_ERRORS,
)
def charge_back(
    relationship_id: UUID,
    body: ChargeBack,
    staff: Annotated[StaffMember, Depends(Allowed(REWARDS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.charge_back(
        context(request, staff, body),
        relationship_id,
        charge_back_id=body.charge_back_id or uuid4(),
        amount=body.amount,
        currency=body.currency,
        reason=body.reason,
        shipment_id=body.shipment_id,
        incident_id=body.incident_id,
        claim_id=body.claim_id,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{relationship_id}/bonuses",
    summary="Award a partner a bonus for a clean record (奖惩)",
    description="For a period that has ended; partners only (else 409).",
    responses=COMMAND_ERRORS,
)
def award_bonus(
    relationship_id: UUID,
    body: AwardBonus,
    staff: Annotated[StaffMember, Depends(Allowed(REWARDS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.relationships.award_bonus(
        context(request, staff, body),
        relationship_id,
        bonus_id=body.bonus_id or uuid4(),
        amount=body.amount,
        currency=body.currency,
        reason=body.reason,
        period_start=body.period_start,
        period_end=body.period_end,
        expected_version=expected,
    )
    return accepted(response, result)
