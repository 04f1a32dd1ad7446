"""Customer self-service (自我服务): /v1/self-service for customer users, bound to their
customer; /v1/public/quote-requests for prospects, with no account; and the registration
of a customer's users by its branch manager, headquarters or administrators.

A customer user sees its own customer's records only (``application.visibility``): the
shipments booked for it (``scoping`` answers any other as one that does not exist), drawn
from the responsibility audit without what is ours alone (links' costs, claims, our
evaluation, who of our staff acted), its invoices and proofs of delivery, its service
cases, and the active offerings it may request a quote for. Every command is recorded with
the customer user as its actor.

The public form is rate limited per client address (``QuoteRequestLimit``: 429 with
Retry-After) on a clock the application gives it, so tests set the time."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

import csv
import io
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from application.self_service import PUBLIC_FORM_ACTOR
from application.tokens import StaffMember
from domain.base import CommandContext
from domain.service_case import CaseKind
from domain.shipment import Shipment
from domain.staff import Role
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    PUBLIC,
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
from interface.http.fields import Currency, Name, Rating, Short, StaffId, Text, amount
from interface.http.permissions import CUSTOMER_USERS, SELF_SERVICE
from interface.http.reads import Cursor, Limit, NextCursor
from interface.http.routing import OneTripRoute
from interface.runtime import Services
from projections.offerings.queries import OfferingFilter, list_offerings
from projections.responsibility_audit.queries import (
    ShipmentFilter,
    attachments,
    get_responsibility,
    list_shipments,
)
from projections.service_cases.queries import CaseFilter, list_cases

router = APIRouter(route_class=OneTripRoute, tags=["self-service"])

RESPONSIBILITY_AUDIT = "responsibility_audit"
SERVICE_CASES = "service_cases"
OFFERINGS = "offerings"

Customer = Annotated[StaffMember, Depends(Allowed(SELF_SERVICE))]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Email = Annotated[str, Field(min_length=3, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Value = Annotated[Decimal, amount("The value the requester indicates for the business", "5000")]


def customer_of(staff: StaffMember) -> UUID:
    """The customer the customer user acts for (the role is a customer user's only)."""
    if staff.customer_id is None:  # the customer role is granted to customer users only
        raise HTTPException(403, f"{staff.staff_id} acts for no customer")
    return staff.customer_id


def _customer_context(request: Request, staff: StaffMember, meta: CommandMeta) -> CommandContext:
    """The command's context: the customer user acts within its customer, which the
    service checks every named record against (within no branch)."""
    services: Services = request.app.state.services
    return services.app.context(
        staff.staff_id,
        claim=getattr(request.state, "idempotency_claim", None),
        occurred_at=meta.occurred_at,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
        branch_scope=None,
    )


# --- shipments ------------------------------------------------------------------------------


class CustomerShipment(BaseModel):
    shipment_id: UUID
    reference: str
    origin: str
    destination: str
    status: str
    booked_at: datetime
    delivered_at: datetime | None
    open_incidents: int


class CustomerShipmentPage(BaseModel):
    items: list[CustomerShipment]
    next_cursor: NextCursor


@router.get(
    "/v1/self-service/shipments",
    summary="The customer's shipments",
    description="Those booked for the customer user's customer, in booking order.",
    response_model=CustomerShipmentPage,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def my_shipments(
    staff: Customer, conn: Reads, limit: Limit = 50, cursor: Cursor = None
) -> CustomerShipmentPage:
    rows, next_cursor = list_shipments(
        conn, ShipmentFilter(customer_id=customer_of(staff)), limit=limit, cursor=cursor
    )
    return CustomerShipmentPage(
        items=[CustomerShipment.model_validate(row, from_attributes=False) for row in rows],
        next_cursor=next_cursor,
    )


def _party(party: dict[str, Any] | None) -> dict[str, Any] | None:
    """Who a party is, by name and kind: no ids of ours or of our partners."""
    if party is None:
        return None
    return {"kind": party.get("kind"), "name": party.get("name")}


def _handover(handover: dict[str, Any] | None, files: list[dict[str, Any]]) -> Any:
    if handover is None:
        return None
    return {
        "at": handover["at"],
        "condition": handover["condition"],
        "reference": handover.get("reference"),
        "remarks": handover.get("remarks"),
        "packages_affected": handover.get("packages_affected"),
        "weight_affected_kg": handover.get("weight_affected_kg"),
        "attachments": [_file(f) for f in files],
    }


def _file(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "sha256": row["sha256"],
        "file_name": row["file_name"],
        "media_type": row["media_type"],
        "size": row["size"],
    }


def customer_view(view: dict[str, Any]) -> dict[str, Any]:
    """What the customer sees of the audit's view of its shipment: where it stands, who
    holds the goods, every link with its handovers, and the incidents (what happened and
    whether it is resolved); nothing of costs, claims, our evaluation or our staff."""
    files = view.get("attachments", [])

    def handover_files(number: int) -> list[dict[str, Any]]:
        return [f for f in files if f["target"] == "handover" and f["target_id"] == str(number)]

    links = view.get("chain", [])
    holder = view.get("current_holder")
    return {
        "shipment_id": view["shipment_id"],
        "reference": view["reference"],
        "origin": view["origin"],
        "destination": view["destination"],
        "status": view["status"],
        "cargo": view.get("cargo"),
        "current_holder": None
        if holder is None
        else {"link_sequence": holder["link_sequence"], "party": _party(holder["party"])},
        "links": [
            {
                "sequence": link["sequence"],
                "function": link["function"],
                "mode": link["mode"],
                "party": _party(link["party"]),
                "status": link["status"],
                "planned_start": link["planned_start"],
                "planned_end": link["planned_end"],
                "estimated_end": link["estimated_end"],
                "started_at": link["started_at"],
                "completed_at": link["completed_at"],
                "handover_in": _handover(link["handover_in"], handover_files(link["sequence"])),
                "handover_out": _handover(link["handover_out"], [])
                if link["sequence"] < len(links)
                else _handover(link["handover_out"], handover_files(len(links) + 1)),
            }
            for link in links
        ],
        "incidents": [
            {
                "incident_id": incident["incident_id"],
                "link_sequence": incident["link_sequence"],
                "kind": incident["kind"],
                "discovered_at": incident["discovered_at"],
                "description": incident["description"],
                "resolved": incident.get("resolved_at") is not None,
            }
            for incident in view.get("incidents", [])
        ],
        "delivered_at": view.get("delivered_at"),
        "customer_rating": view.get("customer_rating"),
        "version": view["version"],
    }


@router.get(
    "/v1/self-service/shipments/{shipment_id}",
    summary="One of the customer's shipments: where it stands, who holds the goods",
    description="Its links and handovers (with the files attached to them) and its "
    "incidents; 404 for a shipment of another customer, as for none.",
    responses=responses(401, 403, 404, 422, 503),
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def my_shipment(shipment_id: UUID, staff: Customer, conn: Reads) -> dict[str, Any]:
    view = get_responsibility(conn, shipment_id)
    if view is None or str(view["customer_id"]) != str(customer_of(staff)):
        raise HTTPException(404, f"no shipment with id {shipment_id}")
    return customer_view(view)


class InvoiceView(BaseModel):
    invoice_number: str
    amount: Decimal
    currency: str
    invoiced_at: datetime


def _shipment(s: Any, staff: StaffMember, shipment_id: UUID) -> Shipment:
    shipment: Shipment = s.app.self_service.shipment_of(customer_of(staff), shipment_id)
    return shipment


@router.get(
    "/v1/self-service/shipments/{shipment_id}/invoices",
    summary="The shipment's invoices to the customer",
    response_model=list[InvoiceView],
    responses=responses(401, 403, 404, 422, 503),
)
def my_invoices(shipment_id: UUID, staff: Customer, s: ServicesDep) -> list[InvoiceView]:
    shipment = _shipment(s, staff, shipment_id)
    return [
        InvoiceView(
            invoice_number=i.invoice_number,
            amount=i.amount,
            currency=i.currency,
            invoiced_at=i.invoiced_at,
        )
        for i in shipment.invoices
    ]


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:80] or "invoice"


@router.get(
    "/v1/self-service/shipments/{shipment_id}/invoices/{invoice_number}",
    summary="Download one invoice (CSV)",
    response_class=Response,
    responses={
        200: {"description": "The invoice", "content": {"text/csv": {}}},
        **responses(401, 403, 404, 422, 503),
    },
)
def download_invoice(
    shipment_id: UUID, invoice_number: str, staff: Customer, s: ServicesDep
) -> Response:
    shipment = _shipment(s, staff, shipment_id)
    invoice = next((i for i in shipment.invoices if i.invoice_number == invoice_number), None)
    if invoice is None:
        raise HTTPException(404, f"shipment {shipment.reference} has no invoice {invoice_number}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["invoice_number", "shipment", "origin", "destination", "amount", "currency", "date"]
    )
    writer.writerow(
        [
            invoice.invoice_number,
            shipment.reference,
            shipment.origin,
            shipment.destination,
            str(invoice.amount),
            invoice.currency,
            invoice.invoiced_at.date().isoformat(),
        ]
    )
    name = _file_name(f"invoice-{invoice.invoice_number}") + ".csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ProofOfDelivery(BaseModel):
    delivered_at: datetime
    condition: str
    signed_by: str
    reference: str | None = Field(description="The proof of delivery's reference")
    remarks: str | None
    attachments: list[dict[str, Any]] = Field(description="The files attached to the delivery")


def _delivery_files(conn: Reads, shipment: Shipment) -> list[dict[str, Any]]:
    number = str(len(shipment.links) + 1)  # the delivery: the handover after the last link
    return [
        _file(row)
        for row in attachments(conn, shipment.id)
        if row["target"] == "handover" and row["target_id"] == number
    ]


@router.get(
    "/v1/self-service/shipments/{shipment_id}/proof-of-delivery",
    summary="The proof of delivery: the delivery handover and the files attached to it",
    response_model=ProofOfDelivery,
    responses=responses(401, 403, 404, 422, 503),
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def proof_of_delivery(
    shipment_id: UUID, staff: Customer, s: ServicesDep, conn: Reads
) -> ProofOfDelivery:
    shipment = _shipment(s, staff, shipment_id)
    delivery = shipment.proof_of_delivery
    if delivery is None:
        raise HTTPException(404, f"shipment {shipment.reference} has not been delivered")
    return ProofOfDelivery(
        delivered_at=delivery.at,
        condition=delivery.condition.value,
        signed_by=delivery.signed_by,
        reference=delivery.reference,
        remarks=delivery.remarks,
        attachments=_delivery_files(conn, shipment),
    )


@router.get(
    "/v1/self-service/shipments/{shipment_id}/proof-of-delivery/{sha256}",
    summary="Download a file attached to the delivery",
    response_class=Response,
    responses=responses(401, 403, 404, 422, 503),
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def proof_of_delivery_file(
    shipment_id: UUID, sha256: str, staff: Customer, s: ServicesDep, conn: Reads
) -> Response:
    shipment = _shipment(s, staff, shipment_id)
    attached = next((f for f in _delivery_files(conn, shipment) if f["sha256"] == sha256), None)
    data = None if attached is None else s.app.evidence.get(sha256)
    if attached is None or data is None:
        raise HTTPException(404, f"no file {sha256} is attached to the delivery")
    return Response(
        data,
        media_type=str(attached["media_type"]),
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(attached["file_name"])}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


class RateShipment(CommandMeta):
    rating: Rating
    comment: Text | None = None


@router.post(
    "/v1/self-service/shipments/{shipment_id}/rating",
    summary="Rate a delivered shipment, once",
    description="409 before delivery, or when the customer has rated it already.",
    responses=COMMAND_ERRORS,
)
def rate(
    shipment_id: UUID,
    body: RateShipment,
    staff: Customer,
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.self_service.rate_shipment(
        _customer_context(request, staff, body),
        customer_of(staff),
        shipment_id,
        rating=body.rating,
        comment=body.comment,
        expected_version=expected,
    )
    return accepted(response, result)


# --- service cases --------------------------------------------------------------------------


class OpenOwnCase(CommandMeta):
    kind: CaseKind = Field(description="inquiry, request or complaint")
    subject: Name
    description: Text
    shipment_id: UUID | None = Field(None, description="One of the customer's shipments")
    incident_id: UUID | None = Field(None, description="An incident of that shipment")
    case_id: UUID | None = Field(None, description="Chosen by the client; else generated")


@router.post(
    "/v1/self-service/cases",
    summary="Open a service case or complaint",
    description="At normal priority, with the SLA policy in force; the office works it.",
    status_code=201,
    responses=COMMAND_ERRORS,
)
def open_case(
    body: OpenOwnCase, staff: Customer, s: ServicesDep, request: Request, response: Response
) -> CommandAccepted:
    result = s.app.self_service.open_case(
        _customer_context(request, staff, body),
        customer_of(staff),
        kind=body.kind,
        subject=body.subject,
        description=body.description,
        shipment_id=body.shipment_id,
        incident_id=body.incident_id,
        case_id=body.case_id,
    )
    return accepted(response, result)


class CustomerCase(BaseModel):
    case_id: UUID
    kind: str
    status: str
    subject: str
    shipment_id: UUID | None
    opened_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class CustomerCasePage(BaseModel):
    items: list[CustomerCase]
    next_cursor: NextCursor


@router.get(
    "/v1/self-service/cases",
    summary="The customer's service cases",
    response_model=CustomerCasePage,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(SERVICE_CASES)],
)
def my_cases(
    staff: Customer, s: ServicesDep, conn: Reads, limit: Limit = 50, cursor: Cursor = None
) -> CustomerCasePage:
    rows, next_cursor = list_cases(
        conn,
        CaseFilter(relationship_id=customer_of(staff)),
        now=s.app.clock(),
        limit=limit,
        cursor=cursor,
    )
    return CustomerCasePage(
        items=[CustomerCase.model_validate(row) for row in rows], next_cursor=next_cursor
    )


# --- quote requests -------------------------------------------------------------------------


class CatalogueOffering(BaseModel):
    offering_id: UUID
    label: str = Field(
        description='As sales says it: "Suzhou → Chicago, air, door to door, 5 days"'
    )
    name: str
    origin: str
    destination: str
    mode: str
    service_level: str
    transit_days: int


class CataloguePage(BaseModel):
    items: list[CatalogueOffering]
    next_cursor: NextCursor


@router.get(
    "/v1/self-service/offerings",
    summary="The service offerings a quote may be requested for",
    description="The active offerings of the catalogue, in the order they were launched: "
    "what a customer user names in a quote request; nothing of their history.",
    response_model=CataloguePage,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(OFFERINGS)],
)
def my_offerings(
    staff: Customer, conn: Reads, limit: Limit = 50, cursor: Cursor = None
) -> CataloguePage:
    customer_of(staff)
    rows, next_cursor = list_offerings(
        conn, OfferingFilter(status="active"), limit=limit, cursor=cursor
    )
    return CataloguePage(
        items=[CatalogueOffering.model_validate(row) for row in rows], next_cursor=next_cursor
    )


class QuoteRequest(CommandMeta):
    offering_id: UUID = Field(description="The service offering the quote is for")
    subject: Short = Field(description="What is to be shipped, and where")
    indicative_value: Value
    currency: Currency


@router.post(
    "/v1/self-service/quote-requests",
    summary="Request a quote",
    description="Opens an opportunity with the customer in the generation stage, for its "
    "account team; its expected value is the value indicated.",
    status_code=201,
    responses=COMMAND_ERRORS,
)
def request_quote(
    body: QuoteRequest, staff: Customer, s: ServicesDep, request: Request, response: Response
) -> CommandAccepted:
    result = s.app.self_service.request_quote(
        _customer_context(request, staff, body),
        customer_of(staff),
        offering_id=body.offering_id,
        subject=body.subject,
        indicative_value=body.indicative_value,
        currency=body.currency,
    )
    return accepted(response, result)


class QuoteRequestLimit:
    """At most ``limit`` requests per client address in any ``window``, on ``clock``: the
    next is answered 429 with the seconds until the oldest leaves the window. Kept in the
    process, for up to ``addresses`` addresses (the least recent forgotten first)."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        limit: int = 5,
        window: timedelta = timedelta(hours=1),
        addresses: int = 10_000,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.addresses = addresses
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, address: str) -> int | None:
        """None if the request is admitted (and counted); else the seconds to wait."""
        now = self.clock()
        with self._lock:
            times = self._seen.pop(address, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            self._seen[address] = times
            if len(self._seen) > self.addresses:
                self._seen.popitem(last=False)
            if len(times) >= self.limit:
                wait = (times[0] + self.window - now).total_seconds()
                return max(1, int(wait) + (0 if wait == int(wait) else 1))
            times.append(now)
            return None


def quote_request_limit(request: Request) -> QuoteRequestLimit:
    """The process's limit (``app.state.quote_request_limit``), made on first use on the
    application's clock."""
    state = request.app.state
    limit: QuoteRequestLimit | None = getattr(state, "quote_request_limit", None)
    if limit is None:
        limit = QuoteRequestLimit(state.services.app.clock)
        state.quote_request_limit = limit
    return limit


class PublicQuoteRequest(BaseModel):
    company: Name = Field(description="The company's name; matched to one we know, normalised")
    industry: Short
    region: Short
    branch: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="The branch to serve the request (its code)"
    )
    contact_name: Short
    email: Email
    phone: Annotated[str, Field(min_length=3, max_length=40)] | None = None
    offering_id: UUID = Field(description="The service offering the quote is for")
    subject: Short = Field(description="What is to be shipped, and where")
    indicative_value: Value
    currency: Currency


class QuoteRequestAccepted(BaseModel):
    opportunity_id: UUID
    relationship_id: UUID = Field(description="The prospect (or relationship) matched")
    new_prospect: bool = Field(description="True if a new prospect was registered for it")
    position: int


@router.post(
    "/v1/public/quote-requests",
    summary="Request a quote, with no account",
    description="Matches a customer, prospect or target of the same company name "
    "(normalised: case folded, letters and digits only) or registers a new prospect of the "
    "branch named, with the requester as its contact, and opens an opportunity with it in "
    "the generation stage. At most 5 requests per client address per hour (429 with "
    "Retry-After). An Idempotency-Key is not honoured: each request is one of its own.",
    status_code=201,
    dependencies=[Depends(PUBLIC)],
    responses=responses(422, 429, 503),
)
def public_quote_request(
    body: PublicQuoteRequest, s: ServicesDep, request: Request, response: Response
) -> QuoteRequestAccepted:
    address = request.client.host if request.client is not None else "unknown"
    wait = quote_request_limit(request).admit(address)
    if wait is not None:
        raise HTTPException(
            429,
            f"too many quote requests from {address}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    app = s.app
    with s.primary.connection() as conn:  # a command decides on it
        matched = app.self_service.matching_relationship(conn, body.company)
    # No Idempotency-Key: with no credentials to scope a key by, a key one requester chose
    # could replay the answer to another's request.
    ctx = app.context(PUBLIC_FORM_ACTOR)
    result, rid, new = app.self_service.public_quote_request(
        ctx,
        matched=matched,
        company=body.company,
        industry=body.industry,
        region=body.region,
        branch=body.branch,
        contact_name=body.contact_name,
        email=body.email,
        phone=body.phone,
        offering_id=body.offering_id,
        subject=body.subject,
        indicative_value=body.indicative_value,
        currency=body.currency,
    )
    return QuoteRequestAccepted(
        opportunity_id=result.aggregate_id,
        relationship_id=rid,
        new_prospect=new,
        position=result.position,
    )


# --- a customer's users ---------------------------------------------------------------------


class RegisterCustomerUser(CommandMeta):
    staff_id: StaffId
    name: Name
    label: Short = "self-service"


class CustomerUserRegistered(BaseModel):
    staff_id: str
    customer_id: UUID
    token: str = Field(description="The customer user's token: shown once, never again")


@router.post(
    "/v1/relationships/{relationship_id}/customer-users",
    summary="Register a user of the customer, with a token",
    description="A customer user of the customer role, bound to this customer; the token "
    "is shown once. By the customer's branch manager, headquarters or administrators.",
    status_code=201,
    responses=COMMAND_ERRORS,
)
def register_customer_user(
    relationship_id: UUID,
    body: RegisterCustomerUser,
    staff: Annotated[StaffMember, Depends(Allowed(CUSTOMER_USERS))],
    s: ServicesDep,
    request: Request,
) -> CustomerUserRegistered:
    ctx = context(request, staff, body)
    s.app.staff.register_staff(
        ctx,
        staff_id=body.staff_id,
        name=body.name,
        branch="",
        roles=(Role.CUSTOMER,),
        customer_id=relationship_id,
    )
    token = s.app.staff.issue_staff_token(ctx.then("token"), body.staff_id, label=body.label)[2]
    return CustomerUserRegistered(staff_id=body.staff_id, customer_id=relationship_id, token=token)
