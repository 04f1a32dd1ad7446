"""/v1/shipments/{shipment_id}/claims: the customer's claim for an incident — the liability
limit of the responsible link's regime, the compensation we pay whoever was at fault
(full-chain responsibility), and recovery from the partner at fault, or its waiver."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import UTC, date, tzinfo
from decimal import Decimal
from typing import Annotated
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, Field

from application.tokens import StaffMember
from domain.liability import HolidayCalendar
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    ServicesDep,
    context,
)
from interface.http.fields import Currency, Short, Text, amount
from interface.http.permissions import CLAIMS, MONEY
from interface.http.routing import OneTripRoute
from interface.http.shipments import (
    WithNote,
)

router = APIRouter(route_class=OneTripRoute, prefix="/v1/shipments", tags=["shipments"])


Money = Annotated[Decimal, amount("An amount in the claim's currency", "24000.00")]


SdrRate = Annotated[
    Decimal,
    Field(
        gt=0,
        le=Decimal("100000"),
        decimal_places=6,
        description="Units of the claim's currency per SDR on the day that counts",
        examples=["1.33"],
    ),
]


# --- request bodies ----------------------------------------------------------------------


class FileClaim(CommandMeta):
    """``occurred_at`` is the date of the customer's notice."""

    incident_id: UUID
    amount: Money
    currency: Currency
    claim_id: UUID | None = Field(None, description="Chosen by the client; else generated")


def _zone(name: str) -> tzinfo:
    """The time zone named so; UTC needs no time-zone database."""
    return UTC if name == "UTC" else ZoneInfo(name)


def _time_zone(name: str) -> str:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not a time zone this server knows") from None
    return name


TimeZoneName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$",
        description="IANA time zone in which the days of a count begin",
        examples=["Europe/Warsaw"],
    ),
    AfterValidator(_time_zone),
]


class AssessLimit(CommandMeta):
    sdr_rate: SdrRate
    public_holidays: list[date] = Field(
        default_factory=list,
        max_length=400,
        description="Public holidays at the place concerned, which a period excepting them "
        "skips besides Sundays (CMR Art. 30: 7 days for damage that was not apparent). "
        "None are assumed.",
        examples=[["2026-12-25", "2026-12-26"]],
    )
    holiday_time_zone: TimeZoneName = "UTC"

    def holidays(self) -> HolidayCalendar:
        return HolidayCalendar(frozenset(self.public_holidays), _zone(self.holiday_time_zone))


class PayCompensation(CommandMeta):
    amount: Money
    payment_reference: Short


class WithAmount(CommandMeta):
    amount: Money


class WaiveRecovery(CommandMeta):
    reason: Text = Field(
        description="Why we do not recover, e.g. goodwill towards the partner, or an amount "
        "below the cost of pursuit"
    )


# --- answers -----------------------------------------------------------------------------


class ClaimAccepted(CommandAccepted):
    claim_id: UUID


# --- commands ----------------------------------------------------------------------------


@router.post(
    "/{shipment_id}/claims",
    summary="File the customer's claim for an incident",
    description="One claim per incident; `occurred_at` is the date of the customer's notice.",
    response_model=ClaimAccepted,
    responses=COMMAND_ERRORS,
)
def file_claim(
    shipment_id: UUID,
    body: FileClaim,
    staff: Annotated[StaffMember, Depends(Allowed(CLAIMS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> ClaimAccepted:
    claim_id = body.claim_id or uuid4()
    result = s.app.shipments.file_claim(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        incident_id=body.incident_id,
        amount=body.amount,
        currency=body.currency,
        expected_version=expected,
    )
    return ClaimAccepted(**accepted(response, result).model_dump(), claim_id=claim_id)


@router.post(
    "/{shipment_id}/claims/{claim_id}/limit",
    summary="Assess the liability limit of the responsible link's regime",
    description="Once responsibility is final: the limit for the affected goods in the claim's "
    "currency at the SDR rate given, with the claim's two sets of deadlines: the customer's "
    "(notice and time bar of its claim against us, under our company terms, from the final "
    "delivery) and our recovery's (under the responsible link's regime, from that link's own "
    "handover out). May be reassessed until recovery is claimed.",
    responses=COMMAND_ERRORS,
)
def claim_limit(
    shipment_id: UUID,
    claim_id: UUID,
    body: AssessLimit,
    staff: Annotated[StaffMember, Depends(Allowed(CLAIMS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.assess_liability_limit(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        sdr_rate=body.sdr_rate,
        holidays=body.holidays(),
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/claims/{claim_id}/compensation",
    summary="Pay the customer compensation",
    description="We compensate the customer whoever was at fault (full-chain responsibility), up "
    "to the amount claimed.",
    responses=COMMAND_ERRORS,
)
def claim_compensation(
    shipment_id: UUID,
    claim_id: UUID,
    body: PayCompensation,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.pay_compensation(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        amount=body.amount,
        payment_reference=body.payment_reference,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/claims/{claim_id}/recovery-claims",
    summary="Claim recovery from the partner at fault",
    description="Up to the assessed limit and the customer's loss, before the regime's time bar; "
    "never from our own branch.",
    responses=COMMAND_ERRORS,
)
def claim_recovery_claims(
    shipment_id: UUID,
    claim_id: UUID,
    body: WithAmount,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.claim_recovery(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        amount=body.amount,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/claims/{claim_id}/recovery-receipts",
    summary="Record recovery received from the partner",
    responses=COMMAND_ERRORS,
)
def claim_recovery_receipts(
    shipment_id: UUID,
    claim_id: UUID,
    body: WithAmount,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.receive_recovery(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        amount=body.amount,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/claims/{claim_id}/waive-recovery",
    summary="Waive recovery from the party at fault",
    description="Once the customer is compensated and while no recovery has been claimed; "
    "afterwards recovery is never claimed.",
    responses=COMMAND_ERRORS,
)
def claim_waive_recovery(
    shipment_id: UUID,
    claim_id: UUID,
    body: WaiveRecovery,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.waive_recovery(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/claims/{claim_id}/close", summary="Close a claim", responses=COMMAND_ERRORS
)
def claim_close(
    shipment_id: UUID,
    claim_id: UUID,
    body: WithNote,
    staff: Annotated[StaffMember, Depends(Allowed(MONEY))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.close_claim(
        context(request, staff, body),
        shipment_id,
        claim_id=claim_id,
        note=body.note,
        expected_version=expected,
    )
    return accepted(response, result)
