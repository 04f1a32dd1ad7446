"""/v1/shipments: book shipments and work them under full-chain responsibility (全程负责制).

Commands only; the responsibility audit reads shipments. Every command answers with the
shipment's new version (also as ``ETag``) and the log position of its last event. The
business time of a command — when a link started, custody passed, the goods were delivered,
an incident was discovered, the customer's claim arrived — is its ``occurred_at``.
"""

# No `from __future__ import annotations` here: FastAPI reads the body types of the
# generated command endpoints from their annotations at run time.

import inspect
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Self
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from application.service import CommandResult, Fullchain
from domain.base import CommandContext
from domain.liability import LiabilityRegime, TransportMode
from domain.shipment import (
    Cargo,
    Charges,
    Condition,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    Party,
    PartyKind,
    ResponsibilityBasis,
)
from interface.http.commands import COMMAND_ERRORS, accepted
from interface.http.deps import (
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    Staff,
    context,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])

Short = Annotated[str, Field(min_length=1, max_length=80)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Signatory = Annotated[str, Field(min_length=1, max_length=120)]
Currency = Annotated[
    str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD", examples=["USD"])
]
Money = Annotated[
    Decimal,
    Field(
        gt=0,
        le=Decimal("1000000000000"),
        decimal_places=2,
        description="An amount in the claim's currency, as a string or a number",
        examples=["24000.00"],
    ),
]
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
Charge = Annotated[
    Decimal,
    Field(
        gt=0,
        le=Decimal("1000000000000"),
        decimal_places=2,
        description="What the customer is charged, as a string or a number",
        examples=["9450.00"],
    ),
]
Weight = Annotated[Decimal, Field(gt=0, le=Decimal("10000000"), decimal_places=3)]
Packages = Annotated[int, Field(ge=1, le=1_000_000)]
LinkNumber = Annotated[int, Field(ge=1, le=50, description="A link's place in the chain, from 1")]
Rating = Annotated[int, Field(ge=1, le=5)]

MAX_LINKS = 50


# --- request bodies ----------------------------------------------------------------------


class PartyIn(BaseModel):
    """One of our branches, by name, or a partner, by its relationship id."""

    model_config = ConfigDict(extra="forbid")

    kind: PartyKind
    branch: Short | None = Field(None, description="Our branch's name (kind branch)")
    relationship_id: UUID | None = Field(
        None, description="The partner's relationship id (kind partner)"
    )

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        if self.kind is PartyKind.BRANCH and (self.branch is None or self.relationship_id):
            raise ValueError("a branch is named by branch, without relationship_id")
        if self.kind is PartyKind.PARTNER and (self.relationship_id is None or self.branch):
            raise ValueError("a partner is identified by relationship_id, without branch")
        return self

    def party(self) -> Party:
        if self.relationship_id is not None:
            return Party.partner(self.relationship_id)
        assert self.branch is not None
        return Party.our_branch(self.branch)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function: LinkFunction
    party: PartyIn
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    mode: TransportMode | None = Field(
        None, description="Required for links that move goods (pickup, carriage, delivery)"
    )
    regime: LiabilityRegime | None = Field(
        None,
        description="Default: the mode's convention for main carriage and transshipment, "
        "company terms for everything else",
    )


class CargoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(min_length=1, max_length=500)]
    packages: Packages
    gross_weight_kg: Weight
    declared_value: Annotated[Decimal, Field(ge=0, le=Decimal("1000000000000"), decimal_places=2)]
    currency: Currency


class ChargesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Charge
    currency: Currency


class BookShipment(CommandMeta):
    customer_id: UUID = Field(description="A relationship of kind customer")
    reference: Short = Field(description="The order reference")
    origin: Name
    destination: Name
    cargo: CargoIn
    links: list[LinkIn] = Field(
        min_length=1, max_length=MAX_LINKS, description="The planned chain, in order"
    )
    charges: ChargesIn | None = Field(
        None, description="The customer's charges, quoted with the booking"
    )
    shipment_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class ReplanLink(CommandMeta):
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    reason: Reason


class ReassignLink(CommandMeta):
    party: PartyIn
    reason: Reason


class HandOver(CommandMeta):
    """``occurred_at`` is the moment custody passes."""

    to_sequence: LinkNumber = Field(
        description="The receiving link: 1 takes the goods from the shipper, k from link k-1"
    )
    condition: Condition
    signed_by: Signatory
    reference: Short | None = Field(None, description="e.g. the air waybill or receipt number")
    remarks: Text | None = None


class ReportDelay(CommandMeta):
    estimated_end: AwareDatetime = Field(description="When the link is now expected to end")
    reason: Reason


class Deliver(CommandMeta):
    """``occurred_at`` is the moment the consignee signs."""

    condition: Condition
    signed_by: Signatory
    proof_of_delivery: Short
    remarks: Text | None = None


class WithReason(CommandMeta):
    reason: Reason


class QuoteCharges(CommandMeta):
    amount: Charge
    currency: Currency


class IssueInvoice(CommandMeta):
    """``occurred_at`` is the invoice date."""

    invoice_number: Short
    amount: Charge
    currency: Currency


class Evaluate(CommandMeta):
    rating: Rating = Field(description="The customer's rating, 1 to 5")
    remarks: Text | None = None


class ReportIncident(CommandMeta):
    """``occurred_at`` is when the incident was discovered."""

    link_sequence: LinkNumber = Field(description="The link at which it was found")
    kind: IncidentKind
    description: Text
    packages_affected: Packages | None = None
    weight_affected_kg: Weight | None = None
    incident_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class RecordAction(CommandMeta):
    action: Text
    taken_by: Signatory | None = Field(None, description="Default: the caller")


class AssignResponsibility(CommandMeta):
    link_sequence: LinkNumber | None = Field(
        None,
        description="The responsible link. Omit it to take the shipment's proposal from its "
        "custody history (with its basis)",
    )
    basis: ResponsibilityBasis | None = Field(
        None, description="Required with link_sequence; arbitration is headquarters' only"
    )
    explanation: Text | None = Field(
        None, description="Required with link_sequence; replaces the proposal's otherwise"
    )


class WithNote(CommandMeta):
    note: Text


class Dispute(CommandMeta):
    reason: Text


class Arbitrate(CommandMeta):
    link_sequence: LinkNumber = Field(description="The link finally responsible")
    decision: Text


class Resolve(CommandMeta):
    resolution: Text


class FileClaim(CommandMeta):
    """``occurred_at`` is the date of the customer's notice."""

    incident_id: UUID
    amount: Money
    currency: Currency
    claim_id: UUID | None = Field(None, description="Chosen by the client; else generated")


class AssessLimit(CommandMeta):
    sdr_rate: SdrRate


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


class IncidentAccepted(CommandAccepted):
    incident_id: UUID


class ClaimAccepted(CommandAccepted):
    claim_id: UUID


# --- commands ----------------------------------------------------------------------------


ServicesDep = Annotated[Services, Depends(services)]
ShipmentId = Annotated[UUID, Path()]
LinkSequence = Annotated[int, Path(ge=1, le=MAX_LINKS)]


def _name(path: str) -> str:
    for ch in "/-{}":
        path = path.replace(ch, "_")
    return "_".join(part for part in path.split("_") if part)


@router.post(
    "",
    status_code=201,
    summary="Book a shipment",
    description="Book a shipment for a customer with its planned chain of links, and with "
    "its charges if they are quoted. A prospect or target must first have its first business "
    "recorded on the relationship; every partner a link "
    "names must be a relationship of kind partner (unknown: 422, another kind: 409).",
    response_model=CommandAccepted,
    responses=responses(401, 409, 422),
)
def book(body: BookShipment, staff: Staff, s: ServicesDep, response: Response) -> CommandAccepted:
    result = s.app.book_shipment(
        context(s, staff, body),
        customer_id=body.customer_id,
        reference=body.reference,
        origin=body.origin,
        destination=body.destination,
        cargo=Cargo(
            description=body.cargo.description,
            packages=body.cargo.packages,
            gross_weight_kg=body.cargo.gross_weight_kg,
            declared_value=body.cargo.declared_value,
            currency=body.cargo.currency,
        ),
        links=[
            LinkPlan(
                function=link.function,
                party=link.party.party(),
                planned_start=link.planned_start,
                planned_end=link.planned_end,
                mode=link.mode,
                regime=link.regime,
            )
            for link in body.links
        ],
        charges=Charges(body.charges.amount, body.charges.currency) if body.charges else None,
        shipment_id=body.shipment_id,
    )
    response.headers["Location"] = f"/v1/shipments/{result.aggregate_id}"
    return accepted(response, result)


ShipmentHandler = Callable[[Fullchain, CommandContext, UUID, Any, int | None], CommandResult]
MemberHandler = Callable[[Fullchain, CommandContext, UUID, Any, Any, int | None], CommandResult]


def _command(
    path: str,
    summary: str,
    body_type: type[CommandMeta],
    handler: ShipmentHandler,
    description: str | None = None,
) -> None:
    """A command on the shipment as a whole."""

    def endpoint(
        shipment_id: ShipmentId,
        body: body_type,  # type: ignore[valid-type]
        staff: Staff,
        s: ServicesDep,
        expected: ExpectedVersion,
        response: Response,
    ) -> CommandAccepted:
        result = handler(s.app, context(s, staff, body), shipment_id, body, expected)
        return accepted(response, result)

    endpoint.__name__ = _name(path)
    router.post(
        "/{shipment_id}" + path,
        summary=summary,
        description=description or "",
        response_model=CommandAccepted,
        responses=COMMAND_ERRORS,
    )(endpoint)


def _member_command(
    member: str,
    id_name: str,
    id_type: Any,
    path: str,
    summary: str,
    body_type: type[CommandMeta],
    handler: MemberHandler,
    description: str | None = None,
) -> None:
    """A command on one member of the shipment: /{member}/{<id_name>}/..."""

    def endpoint(**arguments: Any) -> CommandAccepted:
        s: Services = arguments["s"]
        body: CommandMeta = arguments["body"]
        result = handler(
            s.app,
            context(s, arguments["staff"], body),
            arguments["shipment_id"],
            arguments[id_name],
            body,
            arguments["expected"],
        )
        return accepted(arguments["response"], result)

    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("shipment_id", keyword, annotation=ShipmentId),
            inspect.Parameter(id_name, keyword, annotation=id_type),
            inspect.Parameter("body", keyword, annotation=body_type),
            inspect.Parameter("staff", keyword, annotation=Staff),
            inspect.Parameter("s", keyword, annotation=ServicesDep),
            inspect.Parameter("expected", keyword, annotation=ExpectedVersion),
            inspect.Parameter("response", keyword, annotation=Response),
        ],
        return_annotation=CommandAccepted,
    )
    endpoint.__name__ = f"{member.rstrip('s')}_{_name(path)}"
    router.post(
        f"/{{shipment_id}}/{member}/{{{id_name}}}{path}",
        summary=summary,
        description=description or "",
        response_model=CommandAccepted,
        responses=COMMAND_ERRORS,
    )(endpoint)


#: Commands on one link (by its sequence), one incident, one claim.
_link_command = partial(_member_command, "links", "sequence", LinkSequence)
_incident_command = partial(_member_command, "incidents", "incident_id", Annotated[UUID, Path()])
_claim_command = partial(_member_command, "claims", "claim_id", Annotated[UUID, Path()])


# --- the chain ---

_link_command(
    "/replan",
    "Replan a link that has not started",
    ReplanLink,
    lambda a, c, sid, n, b, v: a.replan_link(
        c,
        sid,
        sequence=n,
        planned_start=b.planned_start,
        planned_end=b.planned_end,
        reason=b.reason,
        expected_version=v,
    ),
)
_link_command(
    "/reassign",
    "Reassign a link that has not started to another branch or partner",
    ReassignLink,
    lambda a, c, sid, n, b, v: a.reassign_link(
        c, sid, sequence=n, party=b.party.party(), reason=b.reason, expected_version=v
    ),
)
_link_command(
    "/start",
    "Start a link",
    CommandMeta,
    lambda a, c, sid, n, b, v: a.start_link(c, sid, sequence=n, expected_version=v),
    "A link starts once the one before it has started; `occurred_at` is the start.",
)
_command(
    "/handovers",
    "Hand custody over to the next link",
    HandOver,
    lambda a, c, sid, b, v: a.hand_over(
        c,
        sid,
        to_sequence=b.to_sequence,
        condition=b.condition,
        signed_by=b.signed_by,
        reference=b.reference,
        remarks=b.remarks,
        expected_version=v,
    ),
    "Custody passes from the shipper to link 1, or from link k-1 to link k, at `occurred_at`; "
    "the condition noted (good, damaged, short) points responsibility for later findings.",
)
_link_command(
    "/complete",
    "Complete a link",
    CommandMeta,
    lambda a, c, sid, n, b, v: a.complete_link(c, sid, sequence=n, expected_version=v),
    "Links complete in order; the last one completes with the delivery.",
)
_link_command(
    "/delays",
    "Report a delay on a link, with a new estimate",
    ReportDelay,
    lambda a, c, sid, n, b, v: a.report_delay(
        c, sid, sequence=n, estimated_end=b.estimated_end, reason=b.reason, expected_version=v
    ),
)
_command(
    "/deliver",
    "Deliver to the consignee against proof of delivery",
    Deliver,
    lambda a, c, sid, b, v: a.deliver(
        c,
        sid,
        condition=b.condition,
        signed_by=b.signed_by,
        proof_of_delivery=b.proof_of_delivery,
        remarks=b.remarks,
        expected_version=v,
    ),
    "The last link hands the goods to the consignee at `occurred_at`.",
)
_command(
    "/cancel",
    "Cancel a shipment before pickup",
    WithReason,
    lambda a, c, sid, b, v: a.cancel_shipment(c, sid, reason=b.reason, expected_version=v),
)
_command(
    "/evaluate",
    "Evaluate a delivered shipment (业务评价)",
    Evaluate,
    lambda a, c, sid, b, v: a.evaluate_shipment(
        c, sid, rating=b.rating, remarks=b.remarks, expected_version=v
    ),
    "Once, after delivery; on time is derived from the last link's planned end.",
)


# --- charges ---

_command(
    "/charges",
    "Quote the customer's charges",
    QuoteCharges,
    lambda a, c, sid, b, v: a.quote_charges(
        c, sid, amount=b.amount, currency=b.currency, expected_version=v
    ),
    "Replaces the quote before it; until the goods are delivered.",
)
_command(
    "/invoices",
    "Invoice the customer",
    IssueInvoice,
    lambda a, c, sid, b, v: a.invoice_shipment(
        c,
        sid,
        invoice_number=b.invoice_number,
        amount=b.amount,
        currency=b.currency,
        expected_version=v,
    ),
    "At any time but after a cancellation; several invoices may be issued, each number once. "
    "The invoiced amounts are the shipment's realised value.",
)


# --- incidents and responsibility ---


@router.post(
    "/{shipment_id}/incidents",
    summary="Report an incident at a link",
    description="Damage, loss, shortage, delay, contamination or a documentation error, "
    "discovered at `occurred_at`. Goods incidents state the packages or the weight affected.",
    response_model=IncidentAccepted,
    responses=COMMAND_ERRORS,
)
def report_incident(
    shipment_id: ShipmentId,
    body: ReportIncident,
    staff: Staff,
    s: ServicesDep,
    expected: ExpectedVersion,
    response: Response,
) -> IncidentAccepted:
    incident_id = body.incident_id or uuid4()
    result = s.app.report_incident(
        context(s, staff, body),
        shipment_id,
        incident_id=incident_id,
        link_sequence=body.link_sequence,
        kind=body.kind,
        description=body.description,
        packages_affected=body.packages_affected,
        weight_affected_kg=body.weight_affected_kg,
        expected_version=expected,
    )
    return IncidentAccepted(**accepted(response, result).model_dump(), incident_id=incident_id)


_incident_command(
    "/actions",
    "Record a coordination action",
    RecordAction,
    lambda a, c, sid, i, b, v: a.record_coordination_action(
        c, sid, incident_id=i, action=b.action, taken_by=b.taken_by, expected_version=v
    ),
    "Who did what about the incident, at `occurred_at`.",
)
_incident_command(
    "/responsibility",
    "Assign responsibility to the party of a link",
    AssignResponsibility,
    lambda a, c, sid, i, b, v: a.assign_responsibility(
        c,
        sid,
        incident_id=i,
        link_sequence=b.link_sequence,
        basis=b.basis,
        explanation=b.explanation,
        expected_version=v,
    ),
    "Name the link, its basis and an explanation; or send none of them to assign the "
    "shipment's proposal: the party that handed the goods over damaged or short, else the one "
    "that held them when the incident was discovered, else the party of the reporting link. "
    "May be reassigned until accepted or disputed.",
)
_incident_command(
    "/accept",
    "The responsible party accepts responsibility",
    WithNote,
    lambda a, c, sid, i, b, v: a.accept_responsibility(
        c, sid, incident_id=i, note=b.note, expected_version=v
    ),
)
_incident_command(
    "/dispute",
    "The responsible party disputes responsibility",
    Dispute,
    lambda a, c, sid, i, b, v: a.dispute_responsibility(
        c, sid, incident_id=i, reason=b.reason, expected_version=v
    ),
    "Only headquarters' arbitration settles a dispute.",
)
_incident_command(
    "/arbitrate",
    "Headquarters arbitrates a disputed responsibility (总部仲裁)",
    Arbitrate,
    lambda a, c, sid, i, b, v: a.arbitrate_responsibility(
        c,
        sid,
        incident_id=i,
        link_sequence=b.link_sequence,
        decision=b.decision,
        expected_version=v,
    ),
    "Headquarters' final decision, naming the link responsible. Arbitration is a headquarters "
    "decision; until staff roles are enforced, any staff member may record it and is recorded "
    "as the actor.",
)
_incident_command(
    "/resolve",
    "Resolve an incident",
    Resolve,
    lambda a, c, sid, i, b, v: a.resolve_incident(
        c, sid, incident_id=i, resolution=b.resolution, expected_version=v
    ),
    "Once responsibility is accepted or arbitrated (or was never assigned).",
)


# --- claims ---


@router.post(
    "/{shipment_id}/claims",
    summary="File the customer's claim for an incident",
    description="One claim per incident; `occurred_at` is the date of the customer's notice.",
    response_model=ClaimAccepted,
    responses=COMMAND_ERRORS,
)
def file_claim(
    shipment_id: ShipmentId,
    body: FileClaim,
    staff: Staff,
    s: ServicesDep,
    expected: ExpectedVersion,
    response: Response,
) -> ClaimAccepted:
    claim_id = body.claim_id or uuid4()
    result = s.app.file_claim(
        context(s, staff, body),
        shipment_id,
        claim_id=claim_id,
        incident_id=body.incident_id,
        amount=body.amount,
        currency=body.currency,
        expected_version=expected,
    )
    return ClaimAccepted(**accepted(response, result).model_dump(), claim_id=claim_id)


_claim_command(
    "/limit",
    "Assess the liability limit of the responsible link's regime",
    AssessLimit,
    lambda a, c, sid, k, b, v: a.assess_liability_limit(
        c, sid, claim_id=k, sdr_rate=b.sdr_rate, expected_version=v
    ),
    "Once responsibility is final: the limit for the affected goods in the claim's currency at "
    "the SDR rate given, with the notice deadline and time bar. May be reassessed until "
    "recovery is claimed.",
)
_claim_command(
    "/compensation",
    "Pay the customer compensation",
    PayCompensation,
    lambda a, c, sid, k, b, v: a.pay_compensation(
        c,
        sid,
        claim_id=k,
        amount=b.amount,
        payment_reference=b.payment_reference,
        expected_version=v,
    ),
    "We compensate the customer whoever was at fault (full-chain responsibility), up to the "
    "amount claimed.",
)
_claim_command(
    "/recovery-claims",
    "Claim recovery from the partner at fault",
    WithAmount,
    lambda a, c, sid, k, b, v: a.claim_recovery(
        c, sid, claim_id=k, amount=b.amount, expected_version=v
    ),
    "Up to the assessed limit and the customer's loss, before the regime's time bar; never "
    "from our own branch.",
)
_claim_command(
    "/recovery-receipts",
    "Record recovery received from the partner",
    WithAmount,
    lambda a, c, sid, k, b, v: a.receive_recovery(
        c, sid, claim_id=k, amount=b.amount, expected_version=v
    ),
)
_claim_command(
    "/waive-recovery",
    "Waive recovery from the party at fault",
    WaiveRecovery,
    lambda a, c, sid, k, b, v: a.waive_recovery(
        c, sid, claim_id=k, reason=b.reason, expected_version=v
    ),
    "Once the customer is compensated and while no recovery has been claimed; afterwards "
    "recovery is never claimed.",
)
_claim_command(
    "/close",
    "Close a claim",
    WithNote,
    lambda a, c, sid, k, b, v: a.close_claim(c, sid, claim_id=k, note=b.note, expected_version=v),
)
