"""/v1/shipments/{shipment_id}/charges and /invoices: what the customer is charged for a
shipment, quoted and then invoiced; the invoiced amounts are its realised value."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

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
from interface.http.fields import Currency, Short
from interface.http.permissions import INVOICING, WORK
from interface.http.routing import OneTripRoute
from interface.http.shipments import (
    Charge,
)

router = APIRouter(route_class=OneTripRoute, prefix="/v1/shipments", tags=["shipments"])


# --- request bodies ----------------------------------------------------------------------


class QuoteCharges(CommandMeta):
    amount: Charge
    currency: Currency


class IssueInvoice(CommandMeta):
    """``occurred_at`` is the invoice date."""

    invoice_number: Short
    amount: Charge
    currency: Currency


# --- commands ----------------------------------------------------------------------------


@router.post(
    "/{shipment_id}/charges",
    summary="Quote the customer's charges",
    description="Replaces the quote before it; until the goods are delivered.",
    responses=COMMAND_ERRORS,
)
def charges(
    shipment_id: UUID,
    body: QuoteCharges,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.quote_charges(
        context(request, staff, body),
        shipment_id,
        amount=body.amount,
        currency=body.currency,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/invoices",
    summary="Invoice the customer",
    description="At any time but after a cancellation; several invoices may be issued, each number "
    "once. The invoiced amounts are the shipment's realised value.",
    responses=COMMAND_ERRORS,
)
def invoices(
    shipment_id: UUID,
    body: IssueInvoice,
    staff: Annotated[StaffMember, Depends(Allowed(INVOICING))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.invoice_shipment(
        context(request, staff, body),
        shipment_id,
        invoice_number=body.invoice_number,
        amount=body.amount,
        currency=body.currency,
        expected_version=expected,
    )
    return accepted(response, result)
