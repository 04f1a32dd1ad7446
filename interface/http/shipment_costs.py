"""/v1/shipments/{shipment_id}/links/{sequence}/cost and /invoice: what a link costs us —
planned with its party (at booking, or on replanning, until the link completes), then
what the party invoices once the link has completed (``domain/costs.py``)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response

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
from interface.http.fields import Currency, Short, amount
from interface.http.permissions import LINK_COSTS
from interface.http.routing import OneTripRoute
from interface.http.shipments import LinkSequence

router = APIRouter(route_class=OneTripRoute, prefix="/v1/shipments", tags=["shipments"])

#: What a link's party charges us for it.
Cost = Annotated[Decimal, amount("What the link's party charges us", "1820.00")]


# --- request bodies ----------------------------------------------------------------------


class PlanLinkCost(CommandMeta):
    amount: Cost
    currency: Currency


class RecordLinkInvoice(CommandMeta):
    amount: Cost
    currency: Currency
    invoice_reference: Short


# --- commands ----------------------------------------------------------------------------


@router.post(
    "/{shipment_id}/links/{sequence}/cost",
    summary="Plan what a link costs us",
    description="The rate agreed with the link's party; replaces the one before, until the "
    "link completes (then 409).",
    responses=COMMAND_ERRORS,
)
def plan_link_cost(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: PlanLinkCost,
    staff: Annotated[StaffMember, Depends(Allowed(LINK_COSTS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.plan_link_cost(
        context(request, staff, body),
        shipment_id,
        sequence=sequence,
        amount=body.amount,
        currency=body.currency,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/links/{sequence}/invoice",
    summary="Record what a link's party invoiced",
    description="The link's actual cost, once it has completed (before: 409); a corrected "
    "invoice replaces the one before.",
    responses=COMMAND_ERRORS,
)
def record_link_invoice(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: RecordLinkInvoice,
    staff: Annotated[StaffMember, Depends(Allowed(LINK_COSTS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.record_link_invoice(
        context(request, staff, body),
        shipment_id,
        sequence=sequence,
        amount=body.amount,
        currency=body.currency,
        invoice_reference=body.invoice_reference,
        expected_version=expected,
    )
    return accepted(response, result)
