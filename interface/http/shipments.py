"""/v1/shipments: book shipments and work their chain of links under full-chain
responsibility (全程负责制), to delivery and the customer's evaluation.

Commands only; the responsibility audit reads shipments (``shipment_reads``). A shipment's
charges, incidents and claims are commanded in ``shipment_charges``, ``shipment_incidents``
and ``shipment_claims``, with the field types and shared bodies of this module. Every
command answers with the shipment's new version (also as ``ETag``) and the log position of
its last event. The business time of a command — when a link started, custody passed, the
goods were delivered, an incident was discovered, the customer's claim arrived — is its
``occurred_at``.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from application.tokens import StaffMember
from application.visibility import links_run_by
from domain.cargo_conditions import CargoConditions, CargoObservation, DangerousGoods
from domain.costs import Money
from domain.liability import LiabilityRegime, TransportMode
from domain.shipment import (
    Cargo,
    Charges,
    Condition,
    Handover,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    LinkStatus,
    Party,
    PartyKind,
    ResponsibilityStatus,
)
from interface.http.commands import COMMAND_ERRORS, WithReason, accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    ServicesDep,
    context,
)
from interface.http.errors import responses
from interface.http.fields import Currency, Name, Rating, Reason, Short, Text, amount
from interface.http.masking import masked_links
from interface.http.permissions import HANDOVERS, LINKS, WORK
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/shipments", tags=["shipments"])

Signatory = Annotated[str, Field(min_length=1, max_length=120)]
Charge = Annotated[Decimal, amount("What the customer is charged", "9450.00")]
Weight = Annotated[Decimal, Field(gt=0, le=Decimal("10000000"), decimal_places=3)]
Packages = Annotated[int, Field(ge=1, le=1_000_000)]
LinkNumber = Annotated[int, Field(ge=1, le=50, description="A link's place in the chain, from 1")]

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


class LinkCostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[Decimal, amount("What the link's party charges us", "1820.00")]
    currency: Currency


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function: LinkFunction = Field(
        description="What the link does: pickup, main carriage, transshipment and delivery move "
        "the goods; customs, warehousing, loading/unloading (装卸), handling (搬运), packaging "
        "and distribution processing hold them at a place; logistics information (物流信息) "
        "never holds them (custody passes over it; it cannot be the first or last link)"
    )
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
    cost: LinkCostIn | None = Field(
        None, description="What the link's party charges us, as agreed (its planned cost)"
    )


# --- cargo conditions (货物特殊性/储存条件) and what a handover observed of them ---

Celsius = Annotated[
    Decimal,
    Field(ge=-100, le=100, decimal_places=1, description="°C, to a tenth", examples=["2.0"]),
]


class DangerousGoodsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    un_number: Annotated[str, Field(min_length=1, max_length=8, examples=["3481"])] = Field(
        description="The UN number: four digits, with or without the UN prefix"
    )
    hazard_class: Annotated[str, Field(min_length=1, max_length=4, examples=["9"])] = Field(
        description="The UN hazard class, with its division where the class has divisions: "
        "1.1–1.6, 2.1–2.3, 3, 4.1–4.3, 5.1–5.2, 6.1–6.2, 7, 8, 9"
    )


class CargoConditionsIn(BaseModel):
    """What every link holding the goods must honour; all optional."""

    model_config = ConfigDict(extra="forbid")

    temperature_min_c: Celsius | None = Field(None, description="The lowest temperature, °C")
    temperature_max_c: Celsius | None = Field(None, description="The highest temperature, °C")
    dangerous_goods: DangerousGoodsIn | None = None
    fragile: bool = False
    high_value: bool = False

    @classmethod
    def of(cls, conditions: CargoConditions | None) -> "CargoConditionsIn | None":
        if conditions is None:
            return None
        goods = conditions.dangerous_goods
        return cls(
            temperature_min_c=conditions.temperature_min_c,
            temperature_max_c=conditions.temperature_max_c,
            dangerous_goods=DangerousGoodsIn(
                un_number=goods.un_number, hazard_class=goods.hazard_class
            )
            if goods
            else None,
            fragile=conditions.fragile,
            high_value=conditions.high_value,
        )

    def conditions(self) -> CargoConditions:
        goods = self.dangerous_goods
        return CargoConditions(
            self.temperature_min_c,
            self.temperature_max_c,
            DangerousGoods(goods.un_number, goods.hazard_class) if goods else None,
            self.fragile,
            self.high_value,
        )


class ObservedIn(BaseModel):
    """What a handover observed of the goods against their conditions."""

    model_config = ConfigDict(extra="forbid")

    temperature_c: Celsius | None = Field(None, description="Logged at the handover")
    min_temperature_c: Celsius | None = Field(
        None, description="The lowest logged while the link handing over held the goods"
    )
    max_temperature_c: Celsius | None = Field(
        None, description="The highest logged while the link handing over held the goods"
    )
    packaging_intact: bool | None = Field(None, description="For fragile or dangerous goods")
    seals_intact: bool | None = Field(None, description="For high-value goods")

    @classmethod
    def of(cls, observed: CargoObservation | None) -> "ObservedIn | None":
        if observed is None:
            return None
        return cls(
            temperature_c=observed.temperature_c,
            min_temperature_c=observed.min_temperature_c,
            max_temperature_c=observed.max_temperature_c,
            packaging_intact=observed.packaging_intact,
            seals_intact=observed.seals_intact,
        )

    def observation(self) -> CargoObservation:
        return CargoObservation(
            self.temperature_c,
            self.min_temperature_c,
            self.max_temperature_c,
            self.packaging_intact,
            self.seals_intact,
        )


def observation(observed: ObservedIn | None) -> CargoObservation | None:
    return observed.observation() if observed is not None else None


class CargoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(min_length=1, max_length=500)]
    packages: Packages
    gross_weight_kg: Weight
    declared_value: Annotated[Decimal, Field(ge=0, le=Decimal("1000000000000"), decimal_places=2)]
    currency: Currency
    conditions: CargoConditionsIn | None = Field(
        None, description="Its special character and storage conditions, if any"
    )


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
    packages_affected: Packages | None = Field(
        None, description="How many packages a damaged or short condition affects"
    )
    weight_affected_kg: Weight | None = Field(
        None, description="The weight a damaged or short condition affects"
    )
    observed: ObservedIn | None = Field(
        None, description="What was observed against the cargo's conditions"
    )


class ReportDelay(CommandMeta):
    estimated_end: AwareDatetime = Field(description="When the link is now expected to end")
    reason: Reason


class Deliver(CommandMeta):
    """``occurred_at`` is the moment the consignee signs."""

    condition: Condition
    signed_by: Signatory
    proof_of_delivery: Short
    remarks: Text | None = None
    packages_affected: Packages | None = Field(
        None, description="How many packages a damaged or short condition affects"
    )
    weight_affected_kg: Weight | None = Field(
        None, description="The weight a damaged or short condition affects"
    )
    observed: ObservedIn | None = Field(
        None, description="What was observed against the cargo's conditions"
    )


class EvaluateShipment(CommandMeta):
    rating: Rating = Field(description="The customer's rating, 1 to 5")
    remarks: Text | None = None


# Accepting responsibility for an incident, closing a claim.
class WithNote(CommandMeta):
    note: Text


# Resolving an incident (sent by shipment_incidents). A docstring would become its schema's
# description.
class ResolveIncident(CommandMeta):
    resolution: Text


# --- commands ----------------------------------------------------------------------------


LinkSequence = Annotated[int, Path(ge=1, le=MAX_LINKS)]


@router.post(
    "",
    status_code=201,
    summary="Book a shipment",
    description="Book a shipment for a customer with its planned chain of links, and with "
    "its charges if they are quoted. A prospect or target must first have its first business "
    "recorded on the relationship; every partner a link "
    "names must be a relationship of kind partner (unknown: 422, another kind: 409).",
    responses=responses(401, 409, 422),
)
def book(
    body: BookShipment,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.book_shipment(
        context(request, staff, body),
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
            conditions=body.cargo.conditions.conditions() if body.cargo.conditions else None,
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
        link_costs={
            sequence: Money(link.cost.amount, link.cost.currency)
            for sequence, link in enumerate(body.links, 1)
            if link.cost is not None
        },
    )
    response.headers["Location"] = f"/v1/shipments/{result.aggregate_id}"
    return accepted(response, result)


@router.post(
    "/{shipment_id}/links/{sequence}/replan",
    summary="Replan a link that has not started",
    responses=COMMAND_ERRORS,
)
def link_replan(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: ReplanLink,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.replan_link(
        context(request, staff, body),
        shipment_id,
        sequence=sequence,
        planned_start=body.planned_start,
        planned_end=body.planned_end,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/links/{sequence}/reassign",
    summary="Reassign a link that has not started to another branch or partner",
    responses=COMMAND_ERRORS,
)
def link_reassign(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: ReassignLink,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.reassign_link(
        context(request, staff, body),
        shipment_id,
        sequence=sequence,
        party=body.party.party(),
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/links/{sequence}/start",
    summary="Start a link",
    description="A link starts once the one before it has started; `occurred_at` is the start.",
    responses=COMMAND_ERRORS,
)
def link_start(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.start_link(
        context(request, staff, body), shipment_id, sequence=sequence, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/handovers",
    summary="Hand custody over to the next link",
    description="Custody passes from the shipper to link 1, or from link k-1 to link k, at "
    "`occurred_at` (over any link of logistics information between them, which never holds the "
    "goods: a handover into one is refused, 409); the condition noted (good, damaged, short) and "
    "what was observed against the cargo's conditions point responsibility for later findings.",
    responses=COMMAND_ERRORS,
)
def handovers(
    shipment_id: UUID,
    body: HandOver,
    staff: Annotated[StaffMember, Depends(Allowed(HANDOVERS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.hand_over(
        context(request, staff, body),
        shipment_id,
        to_sequence=body.to_sequence,
        condition=body.condition,
        signed_by=body.signed_by,
        reference=body.reference,
        remarks=body.remarks,
        packages_affected=body.packages_affected,
        weight_affected_kg=body.weight_affected_kg,
        observed=observation(body.observed),
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/links/{sequence}/complete",
    summary="Complete a link",
    description="Links complete in order; the last one completes with the delivery.",
    responses=COMMAND_ERRORS,
)
def link_complete(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: CommandMeta,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.complete_link(
        context(request, staff, body), shipment_id, sequence=sequence, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/links/{sequence}/delays",
    summary="Report a delay on a link, with a new estimate",
    responses=COMMAND_ERRORS,
)
def link_delays(
    shipment_id: UUID,
    sequence: LinkSequence,
    body: ReportDelay,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.report_delay(
        context(request, staff, body),
        shipment_id,
        sequence=sequence,
        estimated_end=body.estimated_end,
        reason=body.reason,
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/deliver",
    summary="Deliver to the consignee against proof of delivery",
    description="The last link hands the goods to the consignee at `occurred_at`.",
    responses=COMMAND_ERRORS,
)
def deliver(
    shipment_id: UUID,
    body: Deliver,
    staff: Annotated[StaffMember, Depends(Allowed(HANDOVERS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.deliver(
        context(request, staff, body),
        shipment_id,
        condition=body.condition,
        signed_by=body.signed_by,
        proof_of_delivery=body.proof_of_delivery,
        remarks=body.remarks,
        packages_affected=body.packages_affected,
        weight_affected_kg=body.weight_affected_kg,
        observed=observation(body.observed),
        expected_version=expected,
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/cancel", summary="Cancel a shipment before pickup", responses=COMMAND_ERRORS
)
def cancel(
    shipment_id: UUID,
    body: WithReason,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.cancel_shipment(
        context(request, staff, body), shipment_id, reason=body.reason, expected_version=expected
    )
    return accepted(response, result)


@router.post(
    "/{shipment_id}/evaluate",
    summary="Evaluate a delivered shipment (业务评价)",
    description="Once, after delivery; on time is derived from the last link's planned end.",
    responses=COMMAND_ERRORS,
)
def evaluate(
    shipment_id: UUID,
    body: EvaluateShipment,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    result = s.app.shipments.evaluate_shipment(
        context(request, staff, body),
        shipment_id,
        rating=body.rating,
        remarks=body.remarks,
        expected_version=expected,
    )
    return accepted(response, result)


# --- the chain's links, as their parties see them ------------------------------------------


class HandoverView(BaseModel):
    at: datetime
    condition: Condition
    signed_by: str
    reference: str | None
    remarks: str | None
    observed: ObservedIn | None = Field(
        None, description="What was observed against the cargo's conditions"
    )

    @classmethod
    def of(cls, handover: Handover | None) -> "HandoverView | None":
        if handover is None:
            return None
        return cls(
            at=handover.at,
            condition=handover.condition,
            signed_by=handover.signed_by,
            reference=handover.reference,
            remarks=handover.remarks,
            observed=ObservedIn.of(handover.observed),
        )


class IncidentAtLink(BaseModel):
    incident_id: UUID
    kind: IncidentKind
    discovered_at: datetime
    description: str
    responsibility_status: ResponsibilityStatus
    responsible_link: int | None = Field(description="The link responsibility is assigned to")


class LinkView(BaseModel):
    sequence: int
    function: LinkFunction
    mode: TransportMode | None
    party: PartyIn
    regime: LiabilityRegime
    holds_goods: bool = Field(
        description="False for logistics information: custody passes over the link"
    )
    status: LinkStatus
    planned_start: datetime
    planned_end: datetime
    estimated_end: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    received: HandoverView | None = Field(description="The handover into the link")
    released: HandoverView | None = Field(description="The handover out of it")
    incidents: list[IncidentAtLink] = Field(
        description="Incidents found at the link, or whose responsibility is assigned to it"
    )


class ShipmentLinks(BaseModel):
    shipment_id: UUID
    version: int
    cargo_conditions: CargoConditionsIn | None = Field(
        description="What every link holding the goods must honour (货物特殊性/储存条件)"
    )
    links: list[LinkView]


@router.get(
    "/{shipment_id}/links",
    summary="The shipment's links, as the caller may see them",
    description="Every link, for our staff who may read the shipment; for a partner user, "
    "only the links their partner runs, with the incidents found at them or assigned to "
    "them.",
    response_model=ShipmentLinks,
    responses=responses(401, 403, 404, 422, 503),
)
def shipment_links(
    shipment_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(LINKS))],
    s: ServicesDep,
) -> ShipmentLinks:
    shipment = s.app.shipments.get_shipment(shipment_id)
    shown = (
        links_run_by(None, shipment, staff.partner_id)
        if staff.partner_id is not None
        else frozenset(link.sequence for link in shipment.links)
    )
    views = []
    for link in shipment.links:
        if link.sequence not in shown:
            continue
        incidents = [
            IncidentAtLink(
                incident_id=incident.incident_id,
                kind=incident.kind,
                discovered_at=incident.discovered_at,
                description=incident.description,
                responsibility_status=incident.responsibility_status,
                responsible_link=(
                    incident.responsible.link_sequence if incident.responsible else None
                ),
            )
            for incident in shipment.incidents.values()
            if link.sequence
            in (
                incident.link_sequence,
                incident.responsible.link_sequence if incident.responsible else None,
            )
        ]
        party = link.party
        views.append(
            LinkView(
                sequence=link.sequence,
                function=link.function,
                mode=link.mode,
                party=PartyIn(
                    kind=party.kind, branch=party.branch, relationship_id=party.relationship_id
                ),
                regime=link.regime,
                holds_goods=link.takes_custody,
                status=link.status,
                planned_start=link.planned_start,
                planned_end=link.planned_end,
                estimated_end=link.estimated_end,
                started_at=link.started_at,
                completed_at=link.completed_at,
                received=HandoverView.of(link.received),
                released=HandoverView.of(link.released),
                incidents=incidents,
            )
        )
    answer = ShipmentLinks(
        shipment_id=shipment.id,
        version=shipment.version,
        cargo_conditions=CargoConditionsIn.of(shipment.cargo.conditions),
        links=views,
    )
    return masked_links(s, staff, answer)
