"""Shipment: an order for a customer, carried through a planned chain of links, under
full-chain responsibility (全程负责制).

The chain
---------
A shipment is booked with its links in order (sequence 1..n). Each link is one logistics
function performed by a responsible party — one of our branches, or a relationship of kind
``partner`` — under a liability regime (see ``domain.liability``). Only a link that has
not started may be replanned or reassigned.

Links run in order: a link starts once the one before it has started, and completes once
the one before it has completed. Work on a link may begin while the previous one is still
finishing; the goods themselves never overlap.

Custody
-------
Custody passes by handover, always to the next planned link: the shipper hands over to
link 1 (the pickup), link k to link k+1, and the last link hands over to the consignee at
delivery, against proof of delivery. A handover carries one time: it ends the giver's
custody and begins the receiver's, so from pickup to delivery exactly one party holds the
goods at every moment. Handover times never go backwards, and a link receives the goods
only once it has started. Delivery also completes the last link.

Business times (a link's start, a handover, an incident's discovery, a customer's notice)
are the command's ``occurred_at``; they are validated in ``CommandContext``.

After delivery or cancellation nothing happens to the shipment but incidents, claims and
its evaluation (and, after delivery, its invoices). A shipment can be cancelled only until the
pickup takes custody.

Charges
-------
What the customer pays for the shipment — its realised value — is quoted and invoiced. The
quote (an amount and its currency) is given with the booking or later, and a new quote
replaces the one before it until the goods are delivered. Invoices follow at any time but
after a cancellation, several of them if need be (freight, then duties and extra charges),
each under its own number.

Link costs
----------
What each link costs us (``domain/costs.py``): planned with its party, at booking or later
until the link completes while the shipment is open; invoiced by the party once the link
has completed (the last link with the delivery), a corrected invoice replacing the one
before. ``found_responsible`` tells the partner an incident's responsibility finally rests
with, for a charge-back (``Relationship.charge_back``).

Incidents and claims
--------------------
An incident is reported at a link. The default responsible party (``propose_responsibility``)
is the one the custody history points at: for damage, loss, shortage or contamination, the
party that handed over to the reporting link if that handover noted the goods damaged or
short; otherwise the party that held custody when the incident was discovered; otherwise
(delay, documentation errors, or no one held the goods) the party of the reporting link.

A handover that notes the goods damaged or short is an exception of the chain. Damage
already reported travels with the goods: an exception is covered by an incident of its kind
(damaged goods: damage or contamination; short goods: shortage or loss) reported at the
link that received the goods at that handover or at any link before it (at delivery: at
any link). An exception that no such incident covers is new damage, an unreported one;
the party answerable for it is proposed by the same rule as for an incident found at that
handover (``handover_exceptions``): the link that handed the goods over damaged or short
(the last link, at delivery), or the first link's, for goods the shipper handed over so. A
handover may note the extent of its exception (packages, weight); an exception noting more
than the incidents of its kind reported so far together (more packages, or more weight) is
new damage too. One that notes no extent is the damage already reported.

Responsibility is assigned, then either accepted by the party or disputed; a dispute is
settled only by headquarters' arbitration, which names the final responsible link. Both an
acceptance and an arbitration make it final.

A claim is the customer's, for one incident. We compensate the customer whatever the fault
(full-chain responsibility), up to the claimed amount. Once responsibility is final, the
liability limit of the responsible link's regime is assessed with the SDR rate the command
supplies; recovery is claimed from a responsible partner — never from our own branch — up
to that limit (and never more than the customer's loss), before the recovery time bar.
The assessment is stored with its figures, so a later change of a convention's limit or of
the rate never rewrites what was assessed.

Deadlines
---------
A claim has two sets of deadlines (``domain.liability.deadlines``), both assessed with the
limit:

* the customer's, of its claim against us: under the terms of our contract with the
  customer — our company terms (``CUSTOMER_CONTRACT_REGIME``; the booking records no other
  terms) — running from the final delivery of the shipment to the consignee, or, for
  goods never delivered, from the discovery of the incident; a total loss from the
  shipment's planned delivery;
* ours, of our recovery against the responsible link's party: under that link's regime,
  running from that link's own delivery — the handover out of it to the next link, or the
  final delivery if it is the last link — or, if it never handed the goods on, from the
  discovery; a total loss from the link's planned end (the time agreed with its party),
  or its taking over. Damage is apparent when that handover noted the goods damaged or
  short. Under the Hague-Visby Rules the recovery time bar moves to three months after we
  compensated the customer when that is later (Art. III(6 bis)).

A loss of the whole consignment is a total loss; a documentation error runs on the clocks
of damage. No public holidays are passed unless the command names them.

Once the customer is compensated we may instead decide not to recover at all — goodwill
towards a partner we want to keep, or an amount below the cost of pursuing it. The waiver
records its reason; it is possible only while no recovery has been claimed, and after it
none is.

An incident without a stated extent (a delay, a documentation error) concerns the whole
consignment; an extent given only in packages weighs the cargo's average package weight,
and one given only in weight is limited by weight alone.

Links that never hold the goods
-------------------------------
Logistics information (物流信息: tracking, documents, customs data filing) is a link of the
chain that never holds the goods (``CUSTODY_FREE_FUNCTIONS``): custody passes over it,
from the link before it that holds the goods to the next one after it that does, and the
first and the last link of a chain always hold them. Such a link runs (starts, completes,
is late) like any other; responsibility reaches it only through its own incidents (a
delay, a documentation error reported at it), never through custody: no handover goes into
or out of it, so no handover exception and no breach of the cargo's conditions ever names
it. Loading/unloading (装卸) and handling (搬运) hold the goods at one place, without a
mode of transport, under company terms by default, as warehousing does.

Cargo conditions
----------------
The cargo's special character and storage conditions (``domain.cargo_conditions``) are
booked with it; a handover may record what it observed against them. An observation that
breaches them (``Shipment.condition_breaches``) is answered for by the link that held the
goods when it happened — the one handing them over (for the shipper's handover into the
first link, that link; at delivery, the last link), as for a damaged handover — and is
covered, like a handover exception, by an incident that happens to the goods reported at
the link that received them at that handover or before it. A breach that no incident covers
is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.base import (
    AttributedEvent,
    CommandContext,
    InvalidValue,
    UnknownMember,
    refuse_unless,
    require,
)
from domain.cargo_conditions import BreachKind, CargoConditions, CargoObservation, breaches
from domain.costs import LinkCost, Money
from domain.evidence import EvidenceTarget, evidence_fields
from domain.liability import (
    CENT,
    NO_HOLIDAYS,
    CarriageMoments,
    ClaimKind,
    Deadlines,
    HolidayCalendar,
    LiabilityLimit,
    LiabilityRegime,
    TransportMode,
    convention_for,
    deadlines,
    liability_limit,
    recourse_time_bar,
    regime_fits_mode,
)
from domain.personal import (
    ERASED,
    DataKind,
    DataSubjectKind,
    ErasureBasis,
    PersonalField,
    Subject,
    erasure_fields,
    signer_subject,
)
from domain.relationship import RelationshipKind
from domain.values import currency_code, exact_decimal, optional_text, required_text, utc_moment


class LinkFunction(StrEnum):
    PICKUP = "pickup"
    EXPORT_CUSTOMS = "export_customs"
    MAIN_CARRIAGE = "main_carriage"
    TRANSSHIPMENT = "transshipment"
    IMPORT_CUSTOMS = "import_customs"
    WAREHOUSING = "warehousing"
    PACKAGING = "packaging"
    DISTRIBUTION_PROCESSING = "distribution_processing"
    DELIVERY = "delivery"
    # --- the seed's other functions of logistics (装卸, 搬运, 物流信息) ---
    LOADING_UNLOADING = "loading_unloading"
    HANDLING = "handling"
    LOGISTICS_INFORMATION = "logistics_information"


#: Links that never hold the goods: custody passes over them (see the module doc).
CUSTODY_FREE_FUNCTIONS = frozenset({LinkFunction.LOGISTICS_INFORMATION})

#: Links that move the goods, and so need a mode of transport.
TRANSPORT_FUNCTIONS = frozenset(
    {
        LinkFunction.PICKUP,
        LinkFunction.MAIN_CARRIAGE,
        LinkFunction.TRANSSHIPMENT,
        LinkFunction.DELIVERY,
    }
)
#: International carriage, governed by its mode's convention unless the plan says otherwise;
#: local pickup and delivery run under company terms by default.
CARRIAGE_FUNCTIONS = frozenset({LinkFunction.MAIN_CARRIAGE, LinkFunction.TRANSSHIPMENT})

#: The terms of our contract with the customer, which its claims against us run under.
CUSTOMER_CONTRACT_REGIME = LiabilityRegime.COMPANY_TERMS

#: How long the party responsibility is proposed to has to answer it, unless configured
#: otherwise: after that it counts as accepted, and only headquarters' arbitration changes it.
ANSWER_WITHIN = timedelta(days=7)


class ShipmentStatus(StrEnum):
    BOOKED = "booked"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class LinkStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Condition(StrEnum):
    GOOD = "good"
    DAMAGED = "damaged"
    SHORT = "short"


class PartyKind(StrEnum):
    BRANCH = "branch"
    PARTNER = "partner"


class IncidentKind(StrEnum):
    DAMAGE = "damage"
    LOSS = "loss"
    SHORTAGE = "shortage"
    DELAY = "delay"
    CONTAMINATION = "contamination"
    DOCUMENTATION_ERROR = "documentation_error"


#: Incidents that happen to the goods, and so follow custody.
GOODS_INCIDENTS = frozenset(
    {IncidentKind.DAMAGE, IncidentKind.LOSS, IncidentKind.SHORTAGE, IncidentKind.CONTAMINATION}
)


#: The incident kinds that report the exception a handover notes, per condition.
EXCEPTION_KINDS: Mapping[Condition, frozenset[IncidentKind]] = {
    Condition.DAMAGED: frozenset({IncidentKind.DAMAGE, IncidentKind.CONTAMINATION}),
    Condition.SHORT: frozenset({IncidentKind.SHORTAGE, IncidentKind.LOSS}),
}
#: The kind of incident a handover's exception would be reported as.
EXCEPTION_KIND: Mapping[Condition, IncidentKind] = {
    Condition.DAMAGED: IncidentKind.DAMAGE,
    Condition.SHORT: IncidentKind.SHORTAGE,
}


class ResponsibilityStatus(StrEnum):
    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    DISPUTED = "disputed"
    ARBITRATED = "arbitrated"


class ResponsibilityBasis(StrEnum):
    HELD_CUSTODY = "held_custody"
    HANDED_OVER_WITH_EXCEPTION = "handed_over_with_exception"
    LINK_OF_INCIDENT = "link_of_incident"
    INVESTIGATION = "investigation"
    #: Headquarters' decision; only an arbitration gives it.
    ARBITRATION = "arbitration"


#: The bases that follow the goods, which a link that never holds them cannot answer on.
CUSTODY_BASES = frozenset(
    {ResponsibilityBasis.HELD_CUSTODY, ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION}
)


class ClaimStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


# --- value objects --------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Who is responsible for a link: one of our branches (by name) or a partner (by its
    relationship id)."""

    kind: PartyKind
    branch: str | None = None
    relationship_id: UUID | None = None

    def __post_init__(self) -> None:
        if self.kind == PartyKind.BRANCH:
            require(
                bool(self.branch) and self.relationship_id is None,
                "party.branch_by_name",
                "a branch is named, and has no relationship id",
                field="party",
            )
        else:
            require(
                self.relationship_id is not None and self.branch is None,
                "party.partner_by_id",
                "a partner is identified by its relationship id, and has no branch name",
                field="party",
            )

    @classmethod
    def our_branch(cls, name: str) -> Party:
        return cls(PartyKind.BRANCH, branch=required_text(name, "branch", max_length=80))

    @classmethod
    def partner(cls, relationship_id: UUID) -> Party:
        return cls(PartyKind.PARTNER, relationship_id=relationship_id)

    @property
    def is_partner(self) -> bool:
        return self.kind == PartyKind.PARTNER

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": PartyKind(self.kind).value,
            "branch": self.branch,
            "relationship_id": self.relationship_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Party:
        return cls(PartyKind(data["kind"]), data["branch"], data["relationship_id"])

    def __str__(self) -> str:
        return f"branch {self.branch}" if self.branch else f"partner {self.relationship_id}"


@dataclass(frozen=True)
class Cargo:
    description: str
    packages: int
    gross_weight_kg: Decimal
    declared_value: Decimal
    currency: str
    #: Its special character and storage conditions (货物特殊性/储存条件), if any.
    conditions: CargoConditions | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "packages": self.packages,
            "gross_weight_kg": self.gross_weight_kg,
            "declared_value": self.declared_value,
            "currency": self.currency,
            "conditions": self.conditions.as_dict() if self.conditions else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cargo:
        conditions = data.get("conditions")
        return cls(
            data["description"],
            data["packages"],
            data["gross_weight_kg"],
            data["declared_value"],
            data["currency"],
            CargoConditions.from_dict(conditions) if conditions else None,
        )

    def weight_of(self, packages: int) -> Decimal:
        """The weight of ``packages`` of this cargo, at its average package weight."""
        return (self.gross_weight_kg * packages / self.packages).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class LinkPlan:
    """A link as the booking plans it; its sequence is its place in the list.

    ``regime`` defaults to the mode's convention for main carriage and transshipment, and to
    company terms for everything else.
    """

    function: LinkFunction
    party: Party
    planned_start: datetime
    planned_end: datetime
    mode: TransportMode | None = None
    regime: LiabilityRegime | None = None


@dataclass(frozen=True)
class Handover:
    """Custody passing at one moment: into a link, out of it, or to the consignee."""

    at: datetime
    condition: Condition
    signed_by: str
    reference: str | None
    remarks: str | None
    #: The extent of a damaged or short condition, where the signer noted it.
    packages_affected: int | None = None
    weight_affected_kg: Decimal | None = None
    #: What the handover observed against the cargo's conditions, if it recorded it.
    observed: CargoObservation | None = None


@dataclass(frozen=True)
class Link:
    sequence: int
    function: LinkFunction
    mode: TransportMode | None
    party: Party
    regime: LiabilityRegime
    planned_start: datetime
    planned_end: datetime
    estimated_end: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    #: The handover that gave this link custody (from the shipper, for the first link).
    received: Handover | None = None
    #: The handover that ended it (to the consignee, for the last link: proof of delivery).
    released: Handover | None = None

    @property
    def status(self) -> LinkStatus:
        if self.completed_at is not None:
            return LinkStatus.COMPLETED
        if self.started_at is not None:
            return LinkStatus.IN_PROGRESS
        return LinkStatus.PLANNED

    @property
    def custody_from(self) -> datetime | None:
        return self.received.at if self.received else None

    @property
    def custody_until(self) -> datetime | None:
        return self.released.at if self.released else None

    @property
    def holds_custody(self) -> bool:
        return self.received is not None and self.released is None

    @property
    def takes_custody(self) -> bool:
        """Whether the goods pass through this link at all (see the module doc)."""
        return self.function not in CUSTODY_FREE_FUNCTIONS

    def held_custody_at(self, moment: datetime) -> bool:
        """Whether the goods were with this link at ``moment``; a handover's moment belongs
        to the receiver."""
        return (
            self.received is not None
            and self.received.at <= moment
            and (self.released is None or moment < self.released.at)
        )

    def plan_as_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "function": self.function.value,
            "mode": self.mode.value if self.mode else None,
            "party": self.party.as_dict(),
            "regime": self.regime.value,
            "planned_start": self.planned_start,
            "planned_end": self.planned_end,
        }

    @classmethod
    def from_plan_dict(cls, data: Mapping[str, Any]) -> Link:
        return cls(
            sequence=data["sequence"],
            function=LinkFunction(data["function"]),
            mode=TransportMode(data["mode"]) if data["mode"] else None,
            party=Party.from_dict(data["party"]),
            regime=LiabilityRegime(data["regime"]),
            planned_start=data["planned_start"],
            planned_end=data["planned_end"],
        )


@dataclass(frozen=True)
class CoordinationAction:
    action: str
    taken_by: str
    taken_at: datetime


@dataclass(frozen=True)
class Responsibility:
    """The party answerable for an incident, through the link it performed."""

    link_sequence: int
    party: Party
    basis: ResponsibilityBasis
    explanation: str


@dataclass(frozen=True)
class HandoverException:
    """A handover that noted the goods damaged or short: into link ``to_sequence`` from the
    link before it (from the shipper, into link 1), or to the consignee at delivery
    (``to_sequence`` None, from the last link)."""

    from_sequence: int | None
    to_sequence: int | None
    handover: Handover
    #: The earliest incident reported that covers it; None: an exception nobody reported.
    covered_by: UUID | None
    #: The party the responsibility rules propose for it.
    responsible: Responsibility


@dataclass(frozen=True)
class ConditionBreach:
    """A handover whose observation breached the cargo's conditions, like a
    ``HandoverException``: into link ``to_sequence`` from link ``from_sequence``, or to the
    consignee (``to_sequence`` None)."""

    from_sequence: int | None
    to_sequence: int | None
    handover: Handover
    kind: BreachKind
    #: What was observed, against what the conditions ask.
    detail: str
    #: The earliest incident reported that covers it; None: a breach nobody reported.
    covered_by: UUID | None
    #: The link that held the goods when it happened, and its party.
    responsible: Responsibility


@dataclass(frozen=True)
class Incident:
    incident_id: UUID
    link_sequence: int
    kind: IncidentKind
    discovered_at: datetime
    description: str
    packages_affected: int | None
    weight_affected_kg: Decimal | None
    reported_by: str
    actions: tuple[CoordinationAction, ...] = ()
    responsibility_status: ResponsibilityStatus = ResponsibilityStatus.UNASSIGNED
    responsible: Responsibility | None = None
    dispute_reason: str | None = None
    arbitration_decision: str | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    #: When responsibility was last assigned (proposed to the party, who is to answer it).
    assigned_at: datetime | None = None

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def responsibility_final(self) -> bool:
        return self.responsibility_status in (
            ResponsibilityStatus.ACCEPTED,
            ResponsibilityStatus.ARBITRATED,
        )


@dataclass(frozen=True)
class LiabilityAssessment:
    """The responsible link's limit and the claim's two sets of deadlines, as assessed:
    the customer's against us (under ``customer_regime``, from final delivery) and ours in
    recovery against the responsible link's party (under its regime, from its delivery)."""

    link_sequence: int
    party: Party
    limit: LiabilityLimit
    customer_regime: LiabilityRegime
    customer_deadlines: Deadlines
    recovery_deadlines: Deadlines
    assessed_at: datetime


@dataclass(frozen=True)
class Claim:
    claim_id: UUID
    incident_id: UUID
    amount: Decimal
    currency: str
    notified_at: datetime
    assessment: LiabilityAssessment | None = None
    compensation_paid: Decimal | None = None
    compensated_at: datetime | None = None
    payment_reference: str | None = None
    recovery_from: UUID | None = None
    recovery_claimed: Decimal | None = None
    recovery_claimed_at: datetime | None = None
    recovery_received: Decimal | None = None
    recovery_received_at: datetime | None = None
    #: Why we decided not to recover from the party at fault; None: not waived.
    recovery_waived: str | None = None
    recovery_waived_at: datetime | None = None
    closed_at: datetime | None = None
    closing_note: str | None = None

    @property
    def status(self) -> ClaimStatus:
        return ClaimStatus.CLOSED if self.closed_at is not None else ClaimStatus.OPEN

    @property
    def limit(self) -> LiabilityLimit | None:
        return self.assessment.limit if self.assessment else None

    @property
    def customer_notice_deadline(self) -> datetime | None:
        """By when the customer had to notify us (once assessed; None: no notice needed)."""
        return self.assessment.customer_deadlines.notice if self.assessment else None

    @property
    def customer_time_bar(self) -> datetime | None:
        """After this moment the customer can no longer claim against us."""
        return self.assessment.customer_deadlines.time_bar if self.assessment else None

    @property
    def recovery_notice_deadline(self) -> datetime | None:
        """By when the party at fault must have our notice (once assessed; None: no notice
        needed)."""
        return self.assessment.recovery_deadlines.notice if self.assessment else None

    @property
    def recovery_time_bar(self) -> datetime | None:
        """After this moment the party at fault can no longer be claimed against: the
        regime's time bar, under the Hague-Visby Rules extended to three months after we
        compensated the customer (Art. III(6 bis))."""
        if self.assessment is None:
            return None
        return recourse_time_bar(
            self.assessment.limit.regime,
            self.assessment.recovery_deadlines.time_bar,
            settled_at=self.compensated_at,
        )

    @property
    def recoverable(self) -> Decimal | None:
        """The most we may claim back: the regime's limit, and never more than the
        customer's loss (what we paid, or else what the customer claims)."""
        if self.assessment is None:
            return None
        loss = self.compensation_paid if self.compensation_paid is not None else self.amount
        return min(self.assessment.limit.amount, loss)

    @property
    def net_cost(self) -> Decimal:
        """What the incident costs us so far: compensation paid less recovery received."""
        return (self.compensation_paid or Decimal(0)) - (self.recovery_received or Decimal(0))


@dataclass(frozen=True)
class Evaluation:
    on_time: bool
    rating: int
    remarks: str | None
    evaluated_at: datetime
    evaluated_by: str


@dataclass(frozen=True)
class CustomerRating:
    """The customer's own rating of a delivered shipment, given by a customer user
    (自我服务); our staff's evaluation (业务评价) is another, ``Evaluation``."""

    rating: int
    comment: str | None
    rated_at: datetime
    rated_by: str


@dataclass(frozen=True)
class Cancellation:
    reason: str
    cancelled_at: datetime


@dataclass(frozen=True)
class Charges:
    """What the customer is charged: an amount in a currency."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Invoice:
    invoice_number: str
    amount: Decimal
    currency: str
    invoiced_at: datetime
    invoiced_by: str


# --- validation -----------------------------------------------------------------------------


def _cargo(cargo: Cargo) -> Cargo:
    require(cargo.packages >= 1, "cargo.packages", "cargo has at least one package", field="cargo")
    conditions = cargo.conditions
    return Cargo(
        description=required_text(cargo.description, "description", max_length=500),
        packages=cargo.packages,
        gross_weight_kg=exact_decimal(cargo.gross_weight_kg, "gross_weight_kg"),
        declared_value=exact_decimal(cargo.declared_value, "declared_value", positive=False),
        currency=currency_code(cargo.currency),
        conditions=None
        if conditions is None
        else CargoConditions.of(
            temperature_min_c=conditions.temperature_min_c,
            temperature_max_c=conditions.temperature_max_c,
            dangerous_goods=conditions.dangerous_goods,
            fragile=conditions.fragile,
            high_value=conditions.high_value,
        ),
    )


def _require_custody_at_the_ends(links: Sequence[Link]) -> None:
    """The first link takes the goods from the shipper and the last delivers them."""
    for link in (links[0], links[-1]):
        require(
            link.takes_custody,
            "chain.ends_hold_goods",
            f"link {link.sequence} ({link.function}) never holds the goods; the first and"
            " the last link of a chain take them from the shipper and deliver them",
            field=f"links[{link.sequence - 1}]",
        )


def _require_partner(party: Party, partner_kinds: Mapping[UUID, str]) -> None:
    """``partner_kinds`` holds the kind of each relationship the command names as a party,
    looked up by the application layer (the domain does no I/O); a missing id is a
    relationship that does not exist."""
    if not party.is_partner:
        return
    assert party.relationship_id is not None
    kind = partner_kinds.get(party.relationship_id)
    refuse_unless(
        kind == RelationshipKind.PARTNER.value,
        "party.not_partner",
        f"relationship {party.relationship_id} "
        + ("is not known" if kind is None else f"is a {kind}, not a partner")
        + "; only partners take responsibility for links",
    )


def _planned_link(sequence: int, plan: LinkPlan, last: int) -> Link:
    function = LinkFunction(plan.function)
    field = f"links[{sequence - 1}]"
    mode = TransportMode(plan.mode) if plan.mode is not None else None
    if function in TRANSPORT_FUNCTIONS:
        require(
            mode is not None,
            "link.mode_required",
            f"link {sequence} ({function}) moves goods and needs a mode of transport",
            field=field,
        )
    else:
        require(
            mode is None,
            "link.mode_not_applicable",
            f"link {sequence} ({function}) moves no goods and has no mode of transport",
            field=field,
        )
    require(
        function is not LinkFunction.PICKUP or sequence == 1,
        "chain.pickup_not_first",
        f"a pickup can only be the first link, not link {sequence}",
        field=field,
    )
    require(
        function is not LinkFunction.DELIVERY or sequence == last,
        "chain.delivery_not_last",
        f"a delivery can only be the last link, not link {sequence}",
        field=field,
    )
    if plan.regime is not None:
        regime = LiabilityRegime(plan.regime)
        require(
            regime_fits_mode(regime, mode),
            "link.regime_mismatch",
            f"link {sequence}: {regime} does not govern "
            + (f"carriage by {mode}" if mode else "a link without carriage"),
            field=field,
        )
    elif function in CARRIAGE_FUNCTIONS and mode is not None:
        regime = convention_for(mode)
    else:
        regime = LiabilityRegime.COMPANY_TERMS
    start = utc_moment(plan.planned_start, "planned_start")
    end = utc_moment(plan.planned_end, "planned_end")
    _require_planned_window(sequence, start, end)
    return Link(
        sequence=sequence,
        function=function,
        mode=mode,
        party=plan.party,
        regime=regime,
        planned_start=start,
        planned_end=end,
    )


def _require_planned_window(sequence: int, start: datetime, end: datetime) -> None:
    require(
        start < end,
        "link.planned_times",
        f"link {sequence} must be planned to end after it starts",
        field="planned_end",
    )


def _require_plan_in_order(links: Sequence[Link]) -> None:
    for before, after in pairwise(links):
        require(
            after.planned_start >= before.planned_start,
            "chain.plan_out_of_order",
            f"link {after.sequence} is planned to start before link {before.sequence}",
            field="planned_start",
        )


def _not_before(moment: datetime, earlier: datetime | None, rule: str, what: str) -> None:
    refuse_unless(
        earlier is None or moment >= earlier,
        rule,
        f"{moment.isoformat()} is before {what} ({earlier.isoformat() if earlier else ''});"
        " times must not go backwards",
    )


# --- the aggregate --------------------------------------------------------------------------


def _signer_of(state: Any, shipment_id: UUID) -> Subject:
    return signer_subject(shipment_id, state["signed_by"])


#: Who signed a handover: a person, known by the name they signed with.
SIGNER_FIELDS = (PersonalField("signed_by", DataKind.SIGNATURE, _signer_of),)


def _without_signer(handover: Handover | None, ref: str) -> Handover | None:
    if handover is None or handover.signed_by == ERASED:
        return handover
    if signer_subject(UUID(int=0), handover.signed_by).ref != ref:
        return handover
    return replace(handover, signed_by=ERASED)


class Shipment(Aggregate, created_event_name="Booked"):
    TOPIC = "Shipment"

    class Event(AttributedEvent):
        pass

    class Booked(Event, Aggregate.Created):
        """v1 booked no cargo conditions (see upcast_v1_v2)."""

        TOPIC = "Shipment.Booked"
        class_version = 2

        customer_id: UUID
        reference: str
        origin: str
        destination: str
        cargo: dict[str, Any]
        links: list[dict[str, Any]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["cargo"] = {**state["cargo"], "conditions": None}

    # The library gives every aggregate a "Created" event; ours is "Booked".
    Created = Booked

    # --- the chain ---

    class LinkReplanned(Event):
        TOPIC = "Shipment.LinkReplanned"
        sequence: int
        planned_start: datetime
        planned_end: datetime
        reason: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_link(
                self.sequence, planned_start=self.planned_start, planned_end=self.planned_end
            )

    class LinkReassigned(Event):
        TOPIC = "Shipment.LinkReassigned"
        sequence: int
        party: dict[str, Any]
        reason: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_link(self.sequence, party=Party.from_dict(self.party))

    class LinkStarted(Event):
        TOPIC = "Shipment.LinkStarted"
        sequence: int

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_link(self.sequence, started_at=self.occurred_at)

    class CustodyHandedOver(Event):
        """Custody passes from link ``from_sequence`` (None: the shipper) to the next. v1
        recorded no extent of a damaged or short condition (see upcast_v1_v2)."""

        TOPIC = "Shipment.CustodyHandedOver"
        PERSONAL = SIGNER_FIELDS
        class_version = 3

        from_sequence: int | None
        to_sequence: int
        condition: str
        signed_by: str
        reference: str | None
        remarks: str | None
        packages_affected: int | None
        weight_affected_kg: Decimal | None
        #: What was observed against the cargo's conditions; v2 observed nothing.
        observed: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["packages_affected"] = state["weight_affected_kg"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["observed"] = None

        def apply(self, aggregate: Shipment) -> None:
            handover = Handover(
                self.occurred_at,
                Condition(self.condition),
                self.signed_by,
                self.reference,
                self.remarks,
                self.packages_affected,
                self.weight_affected_kg,
                CargoObservation.from_dict(self.observed),
            )
            if self.from_sequence is not None:
                aggregate._change_link(self.from_sequence, released=handover)
            aggregate._change_link(self.to_sequence, received=handover)

    class PersonalDataErased(Event):
        """A signer's name erased: its key destroyed in the same transaction."""

        TOPIC = "Shipment.PersonalDataErased"
        ERASES = True
        subject_id: UUID
        subject_kind: str
        ref: str
        kinds: list[str]
        reason: str
        basis: str
        request_ref: str | None

        def apply(self, aggregate: Shipment) -> None:
            if self.subject_kind != DataSubjectKind.SIGNER.value:
                return
            aggregate.links = tuple(
                replace(
                    link,
                    received=_without_signer(link.received, self.ref),
                    released=_without_signer(link.released, self.ref),
                )
                for link in aggregate.links
            )

    class LinkCompleted(Event):
        TOPIC = "Shipment.LinkCompleted"
        sequence: int

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_link(self.sequence, completed_at=self.occurred_at)

    class DelayReported(Event):
        TOPIC = "Shipment.DelayReported"
        sequence: int
        estimated_end: datetime
        reason: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_link(self.sequence, estimated_end=self.estimated_end)

    class Delivered(Event):
        """The last link hands the goods to the consignee, against proof of delivery. v1
        recorded no extent of a damaged or short condition (see upcast_v1_v2)."""

        TOPIC = "Shipment.Delivered"
        PERSONAL = SIGNER_FIELDS
        class_version = 3

        condition: str
        signed_by: str
        proof_of_delivery: str
        remarks: str | None
        packages_affected: int | None
        weight_affected_kg: Decimal | None
        #: What was observed against the cargo's conditions; v2 observed nothing.
        observed: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["packages_affected"] = state["weight_affected_kg"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["observed"] = None

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_link(
                len(aggregate.links),
                released=Handover(
                    self.occurred_at,
                    Condition(self.condition),
                    self.signed_by,
                    self.proof_of_delivery,
                    self.remarks,
                    self.packages_affected,
                    self.weight_affected_kg,
                    CargoObservation.from_dict(self.observed),
                ),
                completed_at=self.occurred_at,
            )

    class Cancelled(Event):
        TOPIC = "Shipment.Cancelled"
        reason: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate.cancellation = Cancellation(self.reason, self.occurred_at)

    class Evaluated(Event):
        """``on_time`` is derived when evaluating: delivered by the last link's planned end."""

        TOPIC = "Shipment.Evaluated"
        on_time: bool
        rating: int
        remarks: str | None

        def apply(self, aggregate: Shipment) -> None:
            aggregate.evaluation = Evaluation(
                self.on_time, self.rating, self.remarks, self.occurred_at, self.actor
            )

    class RatedByCustomer(Event):
        """A customer user rates the delivered shipment, once."""

        TOPIC = "Shipment.RatedByCustomer"
        rating: int
        comment: str | None

        def apply(self, aggregate: Shipment) -> None:
            aggregate.customer_rating = CustomerRating(
                self.rating, self.comment, self.occurred_at, self.actor
            )

    # --- charges ---

    class ChargesQuoted(Event):
        """The customer's charges for the shipment; a new quote replaces the one before."""

        TOPIC = "Shipment.ChargesQuoted"
        amount: Decimal
        currency: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate.quoted_charges = Charges(self.amount, self.currency)

    class Invoiced(Event):
        TOPIC = "Shipment.Invoiced"
        invoice_number: str
        amount: Decimal
        currency: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate.invoices = (
                *aggregate.invoices,
                Invoice(
                    self.invoice_number, self.amount, self.currency, self.occurred_at, self.actor
                ),
            )

    # --- link costs (domain/costs.py) ---

    class LinkCostPlanned(Event):
        """The cost agreed for a link with the party that runs it; replaces the one before."""

        TOPIC = "Shipment.LinkCostPlanned"
        sequence: int
        amount: Decimal
        currency: str

        def apply(self, aggregate: Shipment) -> None:
            cost = aggregate.link_costs.get(self.sequence, LinkCost(self.sequence))
            aggregate.link_costs = {
                **aggregate.link_costs,
                self.sequence: replace(cost, planned=Money(self.amount, self.currency)),
            }

    class LinkCostInvoiced(Event):
        """What the party that ran a completed link invoiced for it; a corrected invoice
        replaces the one before."""

        TOPIC = "Shipment.LinkCostInvoiced"
        sequence: int
        amount: Decimal
        currency: str
        invoice_reference: str

        def apply(self, aggregate: Shipment) -> None:
            cost = aggregate.link_costs.get(self.sequence, LinkCost(self.sequence))
            aggregate.link_costs = {
                **aggregate.link_costs,
                self.sequence: replace(
                    cost,
                    actual=Money(self.amount, self.currency),
                    invoice_reference=self.invoice_reference,
                ),
            }

    # --- incidents ---

    class IncidentReported(Event):
        TOPIC = "Shipment.IncidentReported"
        incident_id: UUID
        link_sequence: int
        incident_kind: str
        description: str
        packages_affected: int | None
        weight_affected_kg: Decimal | None

        def apply(self, aggregate: Shipment) -> None:
            aggregate.incidents = {
                **aggregate.incidents,
                self.incident_id: Incident(
                    incident_id=self.incident_id,
                    link_sequence=self.link_sequence,
                    kind=IncidentKind(self.incident_kind),
                    discovered_at=self.occurred_at,
                    description=self.description,
                    packages_affected=self.packages_affected,
                    weight_affected_kg=self.weight_affected_kg,
                    reported_by=self.actor,
                ),
            }

    class CoordinationActionRecorded(Event):
        TOPIC = "Shipment.CoordinationActionRecorded"
        incident_id: UUID
        action: str
        taken_by: str

        def apply(self, aggregate: Shipment) -> None:
            incident = aggregate.incidents[self.incident_id]
            action = CoordinationAction(self.action, self.taken_by, self.occurred_at)
            aggregate._change_incident(self.incident_id, actions=(*incident.actions, action))

    class ResponsibilityAssigned(Event):
        TOPIC = "Shipment.ResponsibilityAssigned"
        incident_id: UUID
        link_sequence: int
        party: dict[str, Any]
        basis: str
        explanation: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_incident(
                self.incident_id,
                responsibility_status=ResponsibilityStatus.ASSIGNED,
                responsible=Responsibility(
                    self.link_sequence,
                    Party.from_dict(self.party),
                    ResponsibilityBasis(self.basis),
                    self.explanation,
                ),
                assigned_at=self.occurred_at,
            )

    class ResponsibilityAccepted(Event):
        TOPIC = "Shipment.ResponsibilityAccepted"
        incident_id: UUID
        note: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_incident(
                self.incident_id, responsibility_status=ResponsibilityStatus.ACCEPTED
            )

    class ResponsibilityDisputed(Event):
        TOPIC = "Shipment.ResponsibilityDisputed"
        incident_id: UUID
        reason: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_incident(
                self.incident_id,
                responsibility_status=ResponsibilityStatus.DISPUTED,
                dispute_reason=self.reason,
            )

    class ResponsibilityArbitrated(Event):
        """Headquarters' final decision on a disputed responsibility."""

        TOPIC = "Shipment.ResponsibilityArbitrated"
        incident_id: UUID
        link_sequence: int
        party: dict[str, Any]
        decision: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_incident(
                self.incident_id,
                responsibility_status=ResponsibilityStatus.ARBITRATED,
                responsible=Responsibility(
                    self.link_sequence,
                    Party.from_dict(self.party),
                    ResponsibilityBasis.ARBITRATION,
                    self.decision,
                ),
                arbitration_decision=self.decision,
            )

    class IncidentResolved(Event):
        TOPIC = "Shipment.IncidentResolved"
        incident_id: UUID
        resolution: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_incident(
                self.incident_id, resolution=self.resolution, resolved_at=self.occurred_at
            )

    # --- claims ---

    class ClaimFiled(Event):
        """The customer's claim; its notice is the event's ``occurred_at``."""

        TOPIC = "Shipment.ClaimFiled"
        claim_id: UUID
        incident_id: UUID
        amount: Decimal
        currency: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate.claims = {
                **aggregate.claims,
                self.claim_id: Claim(
                    self.claim_id, self.incident_id, self.amount, self.currency, self.occurred_at
                ),
            }

    class LiabilityLimitAssessed(Event):
        """The limit and both sets of deadlines. v1 recorded one pair (``notice_deadline``,
        ``time_bar``), run from the shipment's delivery under the responsible link's
        regime, which served the customer's claim and our recovery alike; its upcaster
        keeps that pair as both (see upcast_v1_v2)."""

        TOPIC = "Shipment.LiabilityLimitAssessed"
        class_version = 2

        claim_id: UUID
        link_sequence: int
        party: dict[str, Any]
        regime: str
        weight_kg: Decimal
        packages: int | None
        sdr_rate: Decimal
        limit_sdr: Decimal
        limit_amount: Decimal
        currency: str
        customer_regime: str
        customer_notice_deadline: datetime | None
        customer_time_bar: datetime
        recovery_notice_deadline: datetime | None
        recovery_time_bar: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            notice, time_bar = state.pop("notice_deadline"), state.pop("time_bar")
            state["customer_regime"] = state["regime"]
            state["customer_notice_deadline"] = state["recovery_notice_deadline"] = notice
            state["customer_time_bar"] = state["recovery_time_bar"] = time_bar

        def apply(self, aggregate: Shipment) -> None:
            limit = LiabilityLimit(
                regime=LiabilityRegime(self.regime),
                weight_kg=self.weight_kg,
                packages=self.packages,
                sdr=self.limit_sdr,
                sdr_rate=self.sdr_rate,
                amount=self.limit_amount,
                currency=self.currency,
            )
            assessment = LiabilityAssessment(
                self.link_sequence,
                Party.from_dict(self.party),
                limit,
                LiabilityRegime(self.customer_regime),
                Deadlines(self.customer_notice_deadline, self.customer_time_bar),
                Deadlines(self.recovery_notice_deadline, self.recovery_time_bar),
                self.occurred_at,
            )
            aggregate._change_claim(self.claim_id, assessment=assessment)

    class CompensationPaid(Event):
        """We pay the customer, whoever was at fault."""

        TOPIC = "Shipment.CompensationPaid"
        claim_id: UUID
        amount: Decimal
        payment_reference: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_claim(
                self.claim_id,
                compensation_paid=self.amount,
                compensated_at=self.occurred_at,
                payment_reference=self.payment_reference,
            )

    class RecoveryClaimed(Event):
        TOPIC = "Shipment.RecoveryClaimed"
        claim_id: UUID
        partner_id: UUID
        amount: Decimal

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_claim(
                self.claim_id,
                recovery_from=self.partner_id,
                recovery_claimed=self.amount,
                recovery_claimed_at=self.occurred_at,
            )

    class RecoveryReceived(Event):
        TOPIC = "Shipment.RecoveryReceived"
        claim_id: UUID
        amount: Decimal

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_claim(
                self.claim_id, recovery_received=self.amount, recovery_received_at=self.occurred_at
            )

    class RecoveryWaived(Event):
        """We decide not to recover from the party at fault."""

        TOPIC = "Shipment.RecoveryWaived"
        claim_id: UUID
        reason: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_claim(
                self.claim_id, recovery_waived=self.reason, recovery_waived_at=self.occurred_at
            )

    class ClaimClosed(Event):
        TOPIC = "Shipment.ClaimClosed"
        claim_id: UUID
        note: str

        def apply(self, aggregate: Shipment) -> None:
            aggregate._change_claim(
                self.claim_id, closed_at=self.occurred_at, closing_note=self.note
            )

    class EvidenceAttached(Event):
        """A file attached to an incident, a claim or a handover (``domain/evidence.py``);
        ``target_id``: the incident's or claim's id, or the handover's number."""

        TOPIC = "Shipment.EvidenceAttached"
        target: str
        target_id: str
        sha256: str
        size: int
        media_type: str
        file_name: str

        def apply(self, aggregate: Shipment) -> None:
            pass  # the evidence decides nothing the shipment does

    # --- state -------------------------------------------------------------------------------

    # v1 (a snapshot's state) had no customer rating; v2 added it.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["customer_rating"] = None

    def __init__(
        self,
        customer_id: UUID,
        reference: str,
        origin: str,
        destination: str,
        cargo: dict[str, Any],
        links: list[dict[str, Any]],
        occurred_at: datetime,
    ) -> None:
        self.customer_id = customer_id
        self.reference = reference
        self.origin = origin
        self.destination = destination
        self.cargo = Cargo.from_dict(cargo)
        self.links: tuple[Link, ...] = tuple(Link.from_plan_dict(link) for link in links)
        self.booked_at = occurred_at
        self.cancellation: Cancellation | None = None
        self.evaluation: Evaluation | None = None
        self.customer_rating: CustomerRating | None = None
        self.incidents: dict[UUID, Incident] = {}
        self.claims: dict[UUID, Claim] = {}
        self.quoted_charges: Charges | None = None
        self.invoices: tuple[Invoice, ...] = ()
        #: Each link's cost by its sequence (domain/costs.py); links without one are absent.
        self.link_costs: dict[int, LinkCost] = {}

    @property
    def status(self) -> ShipmentStatus:
        if self.cancellation is not None:
            return ShipmentStatus.CANCELLED
        if self.links[-1].released is not None:
            return ShipmentStatus.DELIVERED
        if self.links[0].received is not None:
            return ShipmentStatus.IN_TRANSIT
        return ShipmentStatus.BOOKED

    @property
    def current_custodian(self) -> Link | None:
        """The link that holds the goods now; None before pickup and after delivery."""
        return next((link for link in self.links if link.holds_custody), None)

    def custodian_at(self, moment: datetime) -> Link | None:
        """The link that held the goods at ``moment``, from the custody history."""
        return next((link for link in self.links if link.held_custody_at(moment)), None)

    @property
    def delivered_at(self) -> datetime | None:
        return self.links[-1].custody_until

    @property
    def proof_of_delivery(self) -> Handover | None:
        return self.links[-1].released

    @property
    def planned_delivery(self) -> datetime:
        return self.links[-1].planned_end

    @property
    def estimated_delivery(self) -> datetime:
        last = self.links[-1]
        return last.estimated_end or last.planned_end

    # --- commands: the chain -------------------------------------------------------------

    @classmethod
    def book(
        cls,
        ctx: CommandContext,
        *,
        customer_id: UUID,
        reference: str,
        origin: str,
        destination: str,
        cargo: Cargo,
        links: Sequence[LinkPlan],
        partner_kinds: Mapping[UUID, str],
        shipment_id: UUID | None = None,
    ) -> Shipment:
        """Book a shipment. ``partner_kinds`` maps every partner named in ``links`` to the
        kind of its relationship, as the application layer found it."""
        require(bool(links), "chain.empty", "a shipment needs at least one link", field="links")
        planned = [
            _planned_link(sequence, plan, len(links)) for sequence, plan in enumerate(links, 1)
        ]
        _require_plan_in_order(planned)
        _require_custody_at_the_ends(planned)
        for link in planned:
            _require_partner(link.party, partner_kinds)
        return cls._create(
            cls.Booked,
            id=shipment_id or cls.create_id(),
            customer_id=customer_id,
            reference=required_text(reference, "reference", max_length=80),
            origin=required_text(origin, "origin"),
            destination=required_text(destination, "destination"),
            cargo=_cargo(cargo).as_dict(),
            links=[link.plan_as_dict() for link in planned],
            **ctx.event_fields(),
        )

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    def replan_link(
        self,
        ctx: CommandContext,
        *,
        sequence: int,
        planned_start: datetime,
        planned_end: datetime,
        reason: str,
    ) -> None:
        link = self._unstarted_link(sequence)
        start = utc_moment(planned_start, "planned_start")
        end = utc_moment(planned_end, "planned_end")
        _require_planned_window(sequence, start, end)
        refuse_unless(
            (start, end) != (link.planned_start, link.planned_end),
            "link.plan_unchanged",
            f"link {sequence} is already planned so",
        )
        _require_plan_in_order(
            [
                replace(other, planned_start=start) if other.sequence == sequence else other
                for other in self.links
            ]
        )
        self.trigger_event(
            self.LinkReplanned,
            sequence=sequence,
            planned_start=start,
            planned_end=end,
            reason=required_text(reason, "reason"),
            **ctx.event_fields(),
        )

    def reassign_link(
        self,
        ctx: CommandContext,
        *,
        sequence: int,
        party: Party,
        partner_kinds: Mapping[UUID, str],
        reason: str,
    ) -> None:
        link = self._unstarted_link(sequence)
        refuse_unless(
            party != link.party, "link.party_unchanged", f"link {sequence} is already {party}'s"
        )
        _require_partner(party, partner_kinds)
        self.trigger_event(
            self.LinkReassigned,
            sequence=sequence,
            party=party.as_dict(),
            reason=required_text(reason, "reason"),
            **ctx.event_fields(),
        )

    def start_link(self, ctx: CommandContext, *, sequence: int) -> None:
        self._require_open()
        link = self._link(sequence)
        refuse_unless(
            link.started_at is None, "link.already_started", f"link {sequence} has already started"
        )
        if sequence > 1:
            previous = self.links[sequence - 2]
            refuse_unless(
                previous.started_at is not None,
                "chain.out_of_order",
                f"link {sequence} cannot start before link {previous.sequence} has started",
            )
            _not_before(
                ctx.occurred_at,
                previous.started_at,
                "chain.time_backwards",
                f"link {previous.sequence}'s start",
            )
        self.trigger_event(self.LinkStarted, sequence=sequence, **ctx.event_fields())

    def hand_over(
        self,
        ctx: CommandContext,
        *,
        to_sequence: int,
        condition: Condition,
        signed_by: str,
        reference: str | None = None,
        remarks: str | None = None,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
        observed: CargoObservation | None = None,
    ) -> None:
        """Custody passes to link ``to_sequence``: from the shipper when it is the first
        link (the pickup), otherwise from the last link before it that holds the goods. A
        damaged or short condition may note its extent; ``observed``: what the handover
        observed against the cargo's conditions."""
        self._require_open()
        receiver = self._link(to_sequence)
        refuse_unless(
            receiver.takes_custody,
            "custody.link_holds_no_goods",
            f"link {to_sequence} ({receiver.function}) never holds the goods;"
            " custody passes over it",
        )
        giver = self.custody_giver(to_sequence)
        if giver is None:
            refuse_unless(
                receiver.received is None,
                "custody.not_next_link",
                "link 1 has already taken the goods from the shipper;"
                " custody passes only to the next planned link",
            )
        else:
            holder = self.current_custodian
            refuse_unless(
                giver.holds_custody,
                "custody.not_next_link",
                "custody passes only to the next planned link; the goods are with "
                + (f"link {holder.sequence}" if holder else "the shipper")
                + f", not link {giver.sequence}",
            )
        refuse_unless(
            receiver.started_at is not None,
            "custody.receiver_not_started",
            f"link {to_sequence} must start before it receives the goods",
        )
        at = ctx.occurred_at
        _not_before(
            at, receiver.started_at, "custody.time_backwards", f"link {to_sequence}'s start"
        )
        if giver is not None:
            _not_before(
                at, giver.custody_from, "custody.time_backwards", f"link {giver.sequence}'s receipt"
            )
        weight = self._handover_extent(Condition(condition), packages_affected, weight_affected_kg)
        self.trigger_event(
            self.CustodyHandedOver,
            from_sequence=giver.sequence if giver else None,
            to_sequence=to_sequence,
            condition=Condition(condition).value,
            signed_by=required_text(signed_by, "signed_by", max_length=120),
            reference=optional_text(reference, "reference", max_length=80),
            remarks=optional_text(remarks, "remarks", max_length=2000),
            packages_affected=packages_affected,
            weight_affected_kg=weight,
            observed=self._observation(observed),
            **ctx.event_fields(),
        )

    def complete_link(self, ctx: CommandContext, *, sequence: int) -> None:
        self._require_open()
        link = self._link(sequence)
        refuse_unless(
            sequence < len(self.links),
            "link.completes_with_delivery",
            f"link {sequence} is the last one; it completes with the delivery",
        )
        refuse_unless(
            link.started_at is not None, "link.not_started", f"link {sequence} has not started"
        )
        refuse_unless(
            link.completed_at is None,
            "link.already_completed",
            f"link {sequence} has already completed",
        )
        _not_before(ctx.occurred_at, link.started_at, "chain.time_backwards", "the link's start")
        if sequence > 1:
            previous = self.links[sequence - 2]
            refuse_unless(
                previous.completed_at is not None,
                "chain.out_of_order",
                f"link {sequence} cannot complete before link {previous.sequence} has completed",
            )
            _not_before(
                ctx.occurred_at,
                previous.completed_at,
                "chain.time_backwards",
                f"link {previous.sequence}'s completion",
            )
        self.trigger_event(self.LinkCompleted, sequence=sequence, **ctx.event_fields())

    def report_delay(
        self, ctx: CommandContext, *, sequence: int, estimated_end: datetime, reason: str
    ) -> None:
        self._require_open()
        link = self._link(sequence)
        refuse_unless(
            link.completed_at is None,
            "link.already_completed",
            f"link {sequence} has already completed",
        )
        estimate = utc_moment(estimated_end, "estimated_end")
        refuse_unless(
            estimate > ctx.occurred_at,
            "delay.estimate_in_past",
            "the new estimate must lie after the time of the report",
        )
        self.trigger_event(
            self.DelayReported,
            sequence=sequence,
            estimated_end=estimate,
            reason=required_text(reason, "reason"),
            **ctx.event_fields(),
        )

    def deliver(
        self,
        ctx: CommandContext,
        *,
        condition: Condition,
        signed_by: str,
        proof_of_delivery: str,
        remarks: str | None = None,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
        observed: CargoObservation | None = None,
    ) -> None:
        """The last link hands the goods to the consignee; a damaged or short condition may
        note its extent; ``observed``: what was observed against the cargo's conditions."""
        self._require_open()
        last = self.links[-1]
        holder = self.current_custodian
        refuse_unless(
            last.holds_custody,
            "custody.not_with_last_link",
            f"only the last link (link {last.sequence}) delivers; the goods are with "
            + (f"link {holder.sequence}" if holder else "the shipper"),
        )
        unfinished = [link.sequence for link in self.links[:-1] if link.completed_at is None]
        refuse_unless(
            not unfinished,
            "chain.out_of_order",
            f"links {unfinished} must complete before the delivery",
        )
        _not_before(ctx.occurred_at, last.custody_from, "custody.time_backwards", "its receipt")
        weight = self._handover_extent(Condition(condition), packages_affected, weight_affected_kg)
        self.trigger_event(
            self.Delivered,
            condition=Condition(condition).value,
            signed_by=required_text(signed_by, "signed_by", max_length=120),
            proof_of_delivery=required_text(proof_of_delivery, "proof_of_delivery", max_length=80),
            remarks=optional_text(remarks, "remarks", max_length=2000),
            packages_affected=packages_affected,
            weight_affected_kg=weight,
            observed=self._observation(observed),
            **ctx.event_fields(),
        )

    def cancel(self, ctx: CommandContext, *, reason: str) -> None:
        self._require_open()
        refuse_unless(
            self.links[0].received is None,
            "shipment.cancel_after_pickup",
            "the goods have been picked up; a shipment is cancelled only before pickup",
        )
        self.trigger_event(
            self.Cancelled, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def evaluate(self, ctx: CommandContext, *, rating: int, remarks: str | None = None) -> None:
        require(1 <= rating <= 5, "rating.range", "rating is from 1 to 5", field="rating")
        delivered_at = self.delivered_at
        refuse_unless(
            delivered_at is not None,
            "evaluation.before_delivery",
            f"a shipment is evaluated after delivery; it is {self.status}",
        )
        assert delivered_at is not None
        refuse_unless(
            self.evaluation is None,
            "evaluation.already_recorded",
            "the shipment has already been evaluated",
        )
        self.trigger_event(
            self.Evaluated,
            on_time=delivered_at <= self.planned_delivery,
            rating=rating,
            remarks=optional_text(remarks, "remarks", max_length=2000),
            **ctx.event_fields(),
        )

    def rate_by_customer(
        self, ctx: CommandContext, *, rating: int, comment: str | None = None
    ) -> None:
        """The customer's rating, 1 to 5, once, after delivery (409 before delivery or
        when already rated: a rating stands as given)."""
        require(1 <= rating <= 5, "rating.range", "rating is from 1 to 5", field="rating")
        refuse_unless(
            self.status is ShipmentStatus.DELIVERED,
            "rating.before_delivery",
            f"a shipment is rated after delivery; it is {self.status}",
        )
        refuse_unless(
            self.customer_rating is None,
            "rating.already_given",
            "the customer has already rated this shipment",
        )
        self.trigger_event(
            self.RatedByCustomer,
            rating=rating,
            comment=optional_text(comment, "comment", max_length=2000),
            **ctx.event_fields(),
        )

    # --- commands: charges -----------------------------------------------------------------

    def quote_charges(self, ctx: CommandContext, *, amount: Decimal, currency: str) -> None:
        """Quote the customer's charges, replacing any earlier quote, until delivery."""
        charges = Charges(exact_decimal(amount, "amount"), currency_code(currency))
        refuse_unless(
            self.status in (ShipmentStatus.BOOKED, ShipmentStatus.IN_TRANSIT),
            "charges.shipment_closed",
            f"the shipment is {self.status}; charges are quoted until delivery",
        )
        refuse_unless(
            charges != self.quoted_charges,
            "charges.unchanged",
            f"the charges are already quoted at {charges.amount} {charges.currency}",
        )
        self.trigger_event(
            self.ChargesQuoted,
            amount=charges.amount,
            currency=charges.currency,
            **ctx.event_fields(),
        )

    def invoice(
        self, ctx: CommandContext, *, invoice_number: str, amount: Decimal, currency: str
    ) -> None:
        """Invoice the customer; several invoices may follow, each under its own number."""
        number = required_text(invoice_number, "invoice_number", max_length=80)
        value = exact_decimal(amount, "amount")
        code = currency_code(currency)
        refuse_unless(
            self.status is not ShipmentStatus.CANCELLED,
            "invoice.shipment_cancelled",
            "the shipment is cancelled; it is not invoiced",
        )
        refuse_unless(
            all(invoice.invoice_number != number for invoice in self.invoices),
            "invoice.duplicate_number",
            f"invoice {number} has already been issued for this shipment",
        )
        self.trigger_event(
            self.Invoiced, invoice_number=number, amount=value, currency=code, **ctx.event_fields()
        )

    # --- commands: link costs (domain/costs.py) -------------------------------------------

    def plan_link_cost(
        self, ctx: CommandContext, *, sequence: int, amount: Decimal, currency: str
    ) -> None:
        """Plan what a link costs us, at booking or on replanning: until the link completes,
        while the shipment is open."""
        cost = Money.of(amount, currency)
        self._require_open()
        link = self._link(sequence)
        refuse_unless(
            link.completed_at is None,
            "link_cost.link_completed",
            f"link {sequence} has completed; what it cost is what its party invoices",
        )
        refuse_unless(
            self.link_cost(sequence).planned != cost,
            "link_cost.unchanged",
            f"link {sequence} is already planned at {cost}",
        )
        self.trigger_event(
            self.LinkCostPlanned,
            sequence=sequence,
            amount=cost.amount,
            currency=cost.currency,
            **ctx.event_fields(),
        )

    def record_link_invoice(
        self,
        ctx: CommandContext,
        *,
        sequence: int,
        amount: Decimal,
        currency: str,
        invoice_reference: str,
    ) -> None:
        """Record what the party that ran a completed link invoiced for it (the last link
        completes with the delivery); a corrected invoice replaces the one before. A
        cancelled shipment's completed links are still invoiced."""
        cost = Money.of(amount, currency)
        reference = required_text(invoice_reference, "invoice_reference", max_length=80)
        link = self._link(sequence)
        refuse_unless(
            link.completed_at is not None,
            "link_cost.link_not_completed",
            f"link {sequence} has not completed; its party invoices it once it has",
        )
        current = self.link_cost(sequence)
        refuse_unless(
            (current.actual, current.invoice_reference) != (cost, reference),
            "link_cost.unchanged",
            f"link {sequence}'s invoice {reference} is already recorded at {cost}",
        )
        self.trigger_event(
            self.LinkCostInvoiced,
            sequence=sequence,
            amount=cost.amount,
            currency=cost.currency,
            invoice_reference=reference,
            **ctx.event_fields(),
        )

    def link_cost(self, sequence: int) -> LinkCost:
        """A link's cost; nothing planned nor invoiced if none was recorded."""
        return self.link_costs.get(sequence, LinkCost(sequence))

    # --- queries: rewards and penalties (domain/relationship.py, charge_back) --------------

    def found_responsible(self, incident_id: UUID) -> UUID | None:
        """The partner an incident's responsibility finally rests with — accepted by it or
        arbitrated to it — or None (not final, or resting with a branch)."""
        incident = self._incident(incident_id)
        if not incident.responsibility_final or incident.responsible is None:
            return None
        return incident.responsible.party.relationship_id

    # --- commands: incidents -------------------------------------------------------------

    def report_incident(
        self,
        ctx: CommandContext,
        *,
        incident_id: UUID,
        link_sequence: int,
        kind: IncidentKind,
        description: str,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
    ) -> None:
        """An incident found at a link; it was discovered at the command's ``occurred_at``."""
        kind = IncidentKind(kind)
        self._link(link_sequence)
        refuse_unless(
            incident_id not in self.incidents,
            "incident.duplicate_id",
            f"an incident with id {incident_id} already exists",
        )
        require(
            kind not in GOODS_INCIDENTS
            or packages_affected is not None
            or weight_affected_kg is not None,
            "incident.extent_required",
            f"a {kind} states the packages or the weight affected",
            field="packages_affected",
        )
        weight = self._extent("incident", packages_affected, weight_affected_kg)
        self.trigger_event(
            self.IncidentReported,
            incident_id=incident_id,
            link_sequence=link_sequence,
            incident_kind=kind.value,
            description=required_text(description, "description", max_length=2000),
            packages_affected=packages_affected,
            weight_affected_kg=weight,
            **ctx.event_fields(),
        )

    def record_coordination_action(
        self, ctx: CommandContext, *, incident_id: UUID, action: str, taken_by: str | None = None
    ) -> None:
        """Who did what about an incident, when (``occurred_at``); ``taken_by`` defaults to
        the staff member issuing the command."""
        self._unresolved_incident(incident_id)
        self.trigger_event(
            self.CoordinationActionRecorded,
            incident_id=incident_id,
            action=required_text(action, "action", max_length=2000),
            taken_by=required_text(taken_by or ctx.actor, "taken_by", max_length=120),
            **ctx.event_fields(),
        )

    def propose_responsibility(self, incident_id: UUID) -> Responsibility:
        """The default responsible party, from the custody history (see the module doc)."""
        incident = self._incident(incident_id)
        return self._propose(
            self.links[incident.link_sequence - 1], incident.kind, incident.discovered_at
        )

    def _propose(
        self, reporting: Link, kind: IncidentKind, discovered_at: datetime
    ) -> Responsibility:
        if kind in GOODS_INCIDENTS:
            received = reporting.received
            giver = self.custody_giver(reporting.sequence)
            if giver and received and received.condition is not Condition.GOOD:
                return Responsibility(
                    giver.sequence,
                    giver.party,
                    ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
                    f"link {giver.sequence} handed the goods over to link {reporting.sequence}"
                    f" {received.condition.value} at {received.at.isoformat()}",
                )
            holder = self.custodian_at(discovered_at)
            if holder is not None:
                return Responsibility(
                    holder.sequence,
                    holder.party,
                    ResponsibilityBasis.HELD_CUSTODY,
                    f"link {holder.sequence} held custody when the {kind.value}"
                    f" was discovered at {discovered_at.isoformat()}",
                )
        return Responsibility(
            reporting.sequence,
            reporting.party,
            ResponsibilityBasis.LINK_OF_INCIDENT,
            f"the {kind.value} was reported at link {reporting.sequence}",
        )

    def handover_exceptions(self) -> list[HandoverException]:
        """Every handover that noted the goods damaged or short, in chain order, with the
        incident that covers it, if any, and the party the responsibility rules propose for
        it (see the module doc)."""
        found: list[HandoverException] = []
        for link in self.links:
            if link.received is not None and link.received.condition is not Condition.GOOD:
                kind = EXCEPTION_KIND[link.received.condition]
                giver = self.custody_giver(link.sequence)
                found.append(
                    HandoverException(
                        giver.sequence if giver else None,
                        link.sequence,
                        link.received,
                        self._covering_incident(link.received, link.sequence),
                        self._propose(link, kind, link.received.at),
                    )
                )
        last, pod = self.links[-1], self.proof_of_delivery
        if pod is not None and pod.condition is not Condition.GOOD:
            found.append(
                HandoverException(
                    last.sequence,
                    None,
                    pod,
                    self._covering_incident(pod, last.sequence),
                    Responsibility(
                        last.sequence,
                        last.party,
                        ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
                        f"link {last.sequence} handed the goods over to the consignee"
                        f" {pod.condition.value} at {pod.at.isoformat()}",
                    ),
                )
            )
        return found

    def _extent(self, what: str, packages: int | None, weight: Decimal | None) -> Decimal | None:
        """The packages and weight affected, each within the cargo; the weight, exact."""
        if packages is not None:
            require(
                1 <= packages <= self.cargo.packages,
                f"{what}.packages_range",
                f"packages affected must be from 1 to the shipment's {self.cargo.packages}",
                field="packages_affected",
            )
        if weight is None:
            return None
        exact = exact_decimal(weight, "weight_affected_kg")
        require(
            exact <= self.cargo.gross_weight_kg,
            f"{what}.weight_range",
            f"weight affected exceeds the shipment's {self.cargo.gross_weight_kg} kg",
            field="weight_affected_kg",
        )
        return exact

    def _handover_extent(
        self, condition: Condition, packages: int | None, weight: Decimal | None
    ) -> Decimal | None:
        require(
            condition is not Condition.GOOD or (packages is None and weight is None),
            "handover.extent_without_exception",
            "only goods handed over damaged or short have an extent affected",
            field="packages_affected",
        )
        return self._extent("handover", packages, weight)

    def _covering_incident(self, handover: Handover, receiver: int) -> UUID | None:
        """The earliest incident of the exception's kinds reported at link ``receiver``
        (which received the goods so) or before it, if those incidents together report at
        least the packages and weight the handover notes (an extent given only in packages
        weighs the cargo's average package weight)."""
        reported = [
            i
            for i in self.incidents.values()
            if i.kind in EXCEPTION_KINDS[handover.condition] and i.link_sequence <= receiver
        ]
        if not reported:
            return None
        extents = [self._affected(i) for i in reported]
        weight = sum((w for w, _ in extents), Decimal(0))
        counted = [p for _, p in extents]
        packages = None if None in counted else sum(p for p in counted if p is not None)
        noted = handover.weight_affected_kg
        if noted is None and handover.packages_affected is not None:
            noted = self.cargo.weight_of(handover.packages_affected)
        more = (noted is not None and noted > weight) or (
            handover.packages_affected is not None
            and packages is not None
            and handover.packages_affected > packages
        )
        return None if more else reported[0].incident_id

    # --- links without custody, cargo conditions (货物特殊性/储存条件) ----------------------

    def custody_giver(self, to_sequence: int) -> Link | None:
        """The link that hands the goods over to link ``to_sequence``: the last link before
        it that holds goods (links of logistics information never do); None: the shipper."""
        return next(
            (link for link in reversed(self.links[: to_sequence - 1]) if link.takes_custody),
            None,
        )

    def _observation(self, observed: CargoObservation | None) -> dict[str, Any] | None:
        if observed is None:
            return None
        return CargoObservation.of(
            temperature_c=observed.temperature_c,
            min_temperature_c=observed.min_temperature_c,
            max_temperature_c=observed.max_temperature_c,
            packaging_intact=observed.packaging_intact,
            seals_intact=observed.seals_intact,
        ).as_dict()

    def condition_breaches(self) -> list[ConditionBreach]:
        """Every handover whose observation breached the cargo's conditions, in chain order,
        with the incident that covers it, if any, and the link that held the goods when it
        happened (see the module doc)."""
        conditions = self.cargo.conditions
        found: list[ConditionBreach] = []
        for link in self.links:
            handover = link.received
            if handover is None:
                continue
            giver = self.custody_giver(link.sequence)
            holder = giver or link
            how = (
                f"link {holder.sequence} handed the goods over to link {link.sequence}"
                if giver
                else f"link {link.sequence} received the goods from the shipper"
            )
            for kind, detail in breaches(conditions, handover.observed):
                found.append(
                    ConditionBreach(
                        giver.sequence if giver else None,
                        link.sequence,
                        handover,
                        kind,
                        detail,
                        self._covering_breach(link.sequence),
                        Responsibility(
                            holder.sequence,
                            holder.party,
                            ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION
                            if giver
                            else ResponsibilityBasis.HELD_CUSTODY,
                            f"{how} at {handover.at.isoformat()} with a {kind.value} breach:"
                            f" {detail}",
                        ),
                    )
                )
        last, pod = self.links[-1], self.proof_of_delivery
        if pod is not None:
            for kind, detail in breaches(conditions, pod.observed):
                found.append(
                    ConditionBreach(
                        last.sequence,
                        None,
                        pod,
                        kind,
                        detail,
                        self._covering_breach(last.sequence),
                        Responsibility(
                            last.sequence,
                            last.party,
                            ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
                            f"link {last.sequence} handed the goods over to the consignee"
                            f" at {pod.at.isoformat()} with a {kind.value} breach: {detail}",
                        ),
                    )
                )
        return found

    def _covering_breach(self, receiver: int) -> UUID | None:
        """The earliest incident that happens to the goods reported at link ``receiver`` or
        before it: the breach is the harm already reported, travelling with the goods."""
        return next(
            (
                i.incident_id
                for i in self.incidents.values()
                if i.kind in GOODS_INCIDENTS and i.link_sequence <= receiver
            ),
            None,
        )

    # --- responsibility ----------------------------------------------------------------

    def assign_responsibility(
        self,
        ctx: CommandContext,
        *,
        incident_id: UUID,
        link_sequence: int,
        basis: ResponsibilityBasis,
        explanation: str,
    ) -> None:
        incident = self._unresolved_incident(incident_id)
        basis = ResponsibilityBasis(basis)
        require(
            basis is not ResponsibilityBasis.ARBITRATION,
            "responsibility.basis_reserved",
            "only headquarters' arbitration assigns responsibility by arbitration",
            field="basis",
        )
        self._require_responsibility_open(incident)
        link = self._link(link_sequence)
        refuse_unless(
            link.takes_custody or basis not in CUSTODY_BASES,
            "responsibility.link_holds_no_goods",
            f"link {link_sequence} ({link.function}) never holds the goods; it answers for"
            f" its own work (link of incident, investigation), never on the basis {basis}",
        )
        self.trigger_event(
            self.ResponsibilityAssigned,
            incident_id=incident_id,
            link_sequence=link_sequence,
            party=link.party.as_dict(),
            basis=basis.value,
            explanation=required_text(explanation, "explanation", max_length=2000),
            **ctx.event_fields(),
        )

    def accept_responsibility(self, ctx: CommandContext, *, incident_id: UUID, note: str) -> None:
        """The responsible party accepts; responsibility is final."""
        self._assigned_incident(incident_id)
        self.trigger_event(
            self.ResponsibilityAccepted,
            incident_id=incident_id,
            note=required_text(note, "note", max_length=2000),
            **ctx.event_fields(),
        )

    def answer_deadline(
        self, incident_id: UUID, answer_within: timedelta = ANSWER_WITHIN
    ) -> datetime | None:
        """Until when the party responsibility was proposed to may dispute it (the moment it
        was assigned plus ``answer_within``); None while none is proposed."""
        incident = self.incidents.get(incident_id)
        if incident is None or incident.assigned_at is None:
            return None
        return incident.assigned_at + answer_within

    def deemed_accepted(
        self, incident_id: UUID, at: datetime, answer_within: timedelta = ANSWER_WITHIN
    ) -> bool:
        """Whether the responsibility proposed for the incident counts as accepted at ``at``:
        still only assigned (neither accepted nor disputed) after its answer deadline. The
        finding ``responsibility_deemed_accepted`` says the same of a partner's."""
        incident = self.incidents.get(incident_id)
        deadline = self.answer_deadline(incident_id, answer_within)
        return (
            incident is not None
            and incident.responsibility_status is ResponsibilityStatus.ASSIGNED
            and deadline is not None
            and at > deadline
        )

    def dispute_responsibility(
        self,
        ctx: CommandContext,
        *,
        incident_id: UUID,
        reason: str,
        answer_within: timedelta = ANSWER_WITHIN,
    ) -> None:
        """The responsible party disputes, within ``answer_within`` of the proposal (the
        command's business time decides); only headquarters' arbitration settles it. A
        dispute after that is refused: the responsibility counts as accepted, and only
        headquarters may still arbitrate it."""
        incident = self._assigned_incident(incident_id)
        refuse_unless(
            not self.deemed_accepted(incident_id, ctx.occurred_at, answer_within),
            "responsibility.answer_overdue",
            f"the days to answer the responsibility proposed at {incident.assigned_at} ended"
            f" at {self.answer_deadline(incident_id, answer_within)}: it counts as accepted;"
            " only headquarters' arbitration can change it",
        )
        self.trigger_event(
            self.ResponsibilityDisputed,
            incident_id=incident_id,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def arbitrate_responsibility(
        self,
        ctx: CommandContext,
        *,
        incident_id: UUID,
        link_sequence: int,
        decision: str,
        answer_within: timedelta = ANSWER_WITHIN,
    ) -> None:
        """Headquarters' final decision on a dispute, or on a responsibility that counts as
        accepted because its party did not answer within ``answer_within``, naming the
        responsible link."""
        incident = self._unresolved_incident(incident_id)
        refuse_unless(
            incident.responsibility_status is ResponsibilityStatus.DISPUTED
            or self.deemed_accepted(incident_id, ctx.occurred_at, answer_within),
            "arbitration.requires_dispute",
            f"headquarters arbitrates only a disputed responsibility, or one not answered in"
            f" time; it is {incident.responsibility_status}",
        )
        link = self._link(link_sequence)
        self.trigger_event(
            self.ResponsibilityArbitrated,
            incident_id=incident_id,
            link_sequence=link_sequence,
            party=link.party.as_dict(),
            decision=required_text(decision, "decision", max_length=2000),
            **ctx.event_fields(),
        )

    def resolve_incident(self, ctx: CommandContext, *, incident_id: UUID, resolution: str) -> None:
        incident = self._unresolved_incident(incident_id)
        refuse_unless(
            incident.responsibility_status
            not in (ResponsibilityStatus.ASSIGNED, ResponsibilityStatus.DISPUTED),
            "incident.responsibility_pending",
            f"responsibility is {incident.responsibility_status}; it must be accepted or"
            " arbitrated first",
        )
        self.trigger_event(
            self.IncidentResolved,
            incident_id=incident_id,
            resolution=required_text(resolution, "resolution", max_length=2000),
            **ctx.event_fields(),
        )

    # --- commands: claims ----------------------------------------------------------------

    def file_claim(
        self,
        ctx: CommandContext,
        *,
        claim_id: UUID,
        incident_id: UUID,
        amount: Decimal,
        currency: str,
    ) -> None:
        """The customer's claim for an incident; its notice date is ``occurred_at``."""
        self._incident(incident_id)
        refuse_unless(
            claim_id not in self.claims,
            "claim.duplicate_id",
            f"a claim with id {claim_id} already exists",
        )
        refuse_unless(
            all(claim.incident_id != incident_id for claim in self.claims.values()),
            "claim.incident_already_claimed",
            f"incident {incident_id} already has a claim",
        )
        self.trigger_event(
            self.ClaimFiled,
            claim_id=claim_id,
            incident_id=incident_id,
            amount=exact_decimal(amount, "amount"),
            currency=currency_code(currency),
            **ctx.event_fields(),
        )

    def assess_liability_limit(
        self,
        ctx: CommandContext,
        *,
        claim_id: UUID,
        sdr_rate: Decimal,
        holidays: HolidayCalendar = NO_HOLIDAYS,
    ) -> None:
        """The limit of the finally responsible link's regime for the affected goods, in the
        claim's currency at ``sdr_rate`` (claim currency per SDR), and the claim's deadlines:
        the customer's and those of our recovery (see the module doc). ``holidays``: the
        public holidays a count of days excepting them skips (CMR Art. 30)."""
        claim = self._open_claim(claim_id)
        rate = exact_decimal(sdr_rate, "sdr_rate")
        incident = self.incidents[claim.incident_id]
        refuse_unless(
            incident.responsibility_final and incident.responsible is not None,
            "claim.responsibility_not_final",
            f"responsibility for the incident is {incident.responsibility_status};"
            " the limit follows the finally responsible link",
        )
        assert incident.responsible is not None
        refuse_unless(
            claim.recovery_claimed is None,
            "claim.recovery_already_claimed",
            "recovery has been claimed on this assessment",
        )
        link = self.links[incident.responsible.link_sequence - 1]
        weight, packages = self._affected(incident)
        limit = liability_limit(
            link.regime,
            weight_kg=weight,
            packages=packages,
            sdr_rate=rate,
            currency=claim.currency,
        )
        kind = self._claim_kind(incident)
        customer = self.customer_deadlines(incident, kind, holidays)
        recovery = self.recovery_deadlines(link, incident, kind, holidays)
        self.trigger_event(
            self.LiabilityLimitAssessed,
            claim_id=claim_id,
            link_sequence=link.sequence,
            party=incident.responsible.party.as_dict(),
            regime=link.regime.value,
            weight_kg=limit.weight_kg,
            packages=limit.packages,
            sdr_rate=limit.sdr_rate,
            limit_sdr=limit.sdr,
            limit_amount=limit.amount,
            currency=limit.currency,
            customer_regime=CUSTOMER_CONTRACT_REGIME.value,
            customer_notice_deadline=customer.notice,
            customer_time_bar=customer.time_bar,
            recovery_notice_deadline=recovery.notice,
            recovery_time_bar=recovery.time_bar,
            **ctx.event_fields(),
        )

    def pay_compensation(
        self, ctx: CommandContext, *, claim_id: UUID, amount: Decimal, payment_reference: str
    ) -> None:
        """We pay the customer, whoever was at fault (full-chain responsibility)."""
        claim = self._open_claim(claim_id)
        paid = exact_decimal(amount, "amount")
        refuse_unless(
            claim.compensation_paid is None,
            "compensation.already_paid",
            "compensation for this claim has been paid",
        )
        refuse_unless(
            paid <= claim.amount,
            "compensation.exceeds_claim",
            f"compensation {paid} exceeds the claimed {claim.amount} {claim.currency}",
        )
        self.trigger_event(
            self.CompensationPaid,
            claim_id=claim_id,
            amount=paid,
            payment_reference=required_text(payment_reference, "payment_reference", max_length=80),
            **ctx.event_fields(),
        )

    def claim_recovery(self, ctx: CommandContext, *, claim_id: UUID, amount: Decimal) -> None:
        """Claim back from the partner at fault, up to its regime's limit."""
        claim = self._open_claim(claim_id)
        claimed = exact_decimal(amount, "amount")
        refuse_unless(
            claim.recovery_waived is None,
            "recovery.waived",
            f"recovery for this claim was waived: {claim.recovery_waived}",
        )
        assessment = claim.assessment
        refuse_unless(
            assessment is not None,
            "recovery.limit_not_assessed",
            "assess the liability limit before claiming recovery",
        )
        assert assessment is not None
        refuse_unless(
            assessment.party.is_partner,
            "recovery.not_partner",
            f"{assessment.party} is our own; recovery is claimed only from a partner",
        )
        assert assessment.party.relationship_id is not None
        refuse_unless(
            claim.recovery_claimed is None,
            "recovery.already_claimed",
            "recovery for this claim has been claimed",
        )
        time_bar = claim.recovery_time_bar
        assert time_bar is not None
        refuse_unless(
            ctx.occurred_at <= time_bar,
            "recovery.time_barred",
            f"the {assessment.limit.regime} time bar of recovery from link"
            f" {assessment.link_sequence} passed at {time_bar.isoformat()}",
        )
        recoverable = claim.recoverable
        assert recoverable is not None
        refuse_unless(
            claimed <= recoverable,
            "recovery.exceeds_limit",
            f"recovery {claimed} exceeds the recoverable {recoverable} {claim.currency}"
            f" ({assessment.limit.basis}; the customer's loss caps it too)",
        )
        self.trigger_event(
            self.RecoveryClaimed,
            claim_id=claim_id,
            partner_id=assessment.party.relationship_id,
            amount=claimed,
            **ctx.event_fields(),
        )

    def receive_recovery(self, ctx: CommandContext, *, claim_id: UUID, amount: Decimal) -> None:
        claim = self._open_claim(claim_id)
        received = exact_decimal(amount, "amount")
        refuse_unless(
            claim.recovery_claimed is not None,
            "recovery.not_claimed",
            "no recovery has been claimed for this claim",
        )
        assert claim.recovery_claimed is not None
        refuse_unless(
            claim.recovery_received is None,
            "recovery.already_received",
            "recovery for this claim has been received",
        )
        refuse_unless(
            received <= claim.recovery_claimed,
            "recovery.exceeds_claimed",
            f"received {received} exceeds the {claim.recovery_claimed} claimed",
        )
        self.trigger_event(
            self.RecoveryReceived, claim_id=claim_id, amount=received, **ctx.event_fields()
        )

    def waive_recovery(self, ctx: CommandContext, *, claim_id: UUID, reason: str) -> None:
        """Decide not to recover from the party at fault (goodwill towards a partner, an
        amount below the cost of pursuit): only once the customer is compensated, and only
        while no recovery has been claimed."""
        claim = self._open_claim(claim_id)
        refuse_unless(
            claim.compensation_paid is not None,
            "recovery.waive_before_compensation",
            "recovery is waived only once the customer has been compensated",
        )
        refuse_unless(
            claim.recovery_claimed is None,
            "recovery.already_claimed",
            "recovery for this claim has been claimed; it can no longer be waived",
        )
        refuse_unless(
            claim.recovery_waived is None,
            "recovery.already_waived",
            "recovery for this claim has already been waived",
        )
        self.trigger_event(
            self.RecoveryWaived,
            claim_id=claim_id,
            reason=required_text(reason, "reason", max_length=2000),
            **ctx.event_fields(),
        )

    def close_claim(self, ctx: CommandContext, *, claim_id: UUID, note: str) -> None:
        self._open_claim(claim_id)
        self.trigger_event(
            self.ClaimClosed,
            claim_id=claim_id,
            note=required_text(note, "note", max_length=2000),
            **ctx.event_fields(),
        )

    def attach_evidence(
        self,
        ctx: CommandContext,
        *,
        target: EvidenceTarget,
        target_id: str,
        sha256: str,
        size: int,
        media_type: str,
        file_name: str,
    ) -> None:
        """Attach a stored file to an incident, a claim or a handover. Refused (409) on a
        resolved incident or a closed claim: what was decided on stays what it was decided
        on, and the audit package of a settled claim does not change afterwards; a
        handover must have happened."""
        target = EvidenceTarget(target)
        if target is EvidenceTarget.INCIDENT:
            self._unresolved_incident(UUID(target_id))
        elif target is EvidenceTarget.CLAIM:
            self._open_claim(UUID(target_id))
        elif target is EvidenceTarget.HANDOVER:
            number = int(target_id)
            last = len(self.links)
            if not 1 <= number <= last + 1:
                raise UnknownMember("handover.unknown", f"the shipment has no handover {number}")
            happened = (
                self.links[last - 1].released
                if number == last + 1
                else self.links[number - 1].received
            )
            refuse_unless(
                happened is not None,
                "handover.not_yet",
                f"handover {number} has not happened yet",
            )
            target_id = str(number)
        else:
            raise InvalidValue("evidence.target", f"a shipment has no {target}", field="target")
        self.trigger_event(
            self.EvidenceAttached,
            target=target.value,
            target_id=target_id,
            **evidence_fields(sha256=sha256, size=size, media_type=media_type, file_name=file_name),
            **ctx.event_fields(),
        )

    # --- helpers -------------------------------------------------------------------------

    def erase_personal_data(
        self,
        ctx: CommandContext,
        subject: Subject,
        kinds: Sequence[DataKind],
        *,
        reason: str,
        basis: ErasureBasis = ErasureBasis.REQUEST,
        request_ref: str | None = None,
    ) -> None:
        """Erase a signer's name from this shipment's handovers."""
        self.trigger_event(
            self.PersonalDataErased,
            **erasure_fields(
                self.id, subject, kinds, reason=reason, basis=basis, request_ref=request_ref
            ),
            **ctx.event_fields(),
        )

    def _change_link(self, sequence: int, **changes: Any) -> None:
        index = sequence - 1
        self.links = (
            *self.links[:index],
            replace(self.links[index], **changes),
            *self.links[index + 1 :],
        )

    def _change_incident(self, incident_id: UUID, **changes: Any) -> None:
        self.incidents = {
            **self.incidents,
            incident_id: replace(self.incidents[incident_id], **changes),
        }

    def _change_claim(self, claim_id: UUID, **changes: Any) -> None:
        self.claims = {**self.claims, claim_id: replace(self.claims[claim_id], **changes)}

    def _require_open(self) -> None:
        refuse_unless(
            self.status in (ShipmentStatus.BOOKED, ShipmentStatus.IN_TRANSIT),
            "shipment.closed",
            f"the shipment is {self.status}; only incidents, claims, invoices and its evaluation"
            " follow",
        )

    def _link(self, sequence: int) -> Link:
        if not 1 <= sequence <= len(self.links):
            raise UnknownMember("link.unknown", f"the shipment has no link {sequence}")
        return self.links[sequence - 1]

    def _unstarted_link(self, sequence: int) -> Link:
        self._require_open()
        link = self._link(sequence)
        refuse_unless(
            link.started_at is None,
            "link.already_started",
            f"link {sequence} has started; only a link that has not started is changed",
        )
        return link

    def _incident(self, incident_id: UUID) -> Incident:
        incident = self.incidents.get(incident_id)
        if incident is None:
            raise UnknownMember("incident.unknown", f"no incident with id {incident_id}")
        return incident

    def _unresolved_incident(self, incident_id: UUID) -> Incident:
        incident = self._incident(incident_id)
        refuse_unless(
            not incident.is_resolved, "incident.resolved", "the incident has been resolved"
        )
        return incident

    def _require_responsibility_open(self, incident: Incident) -> None:
        refuse_unless(
            not incident.responsibility_final,
            "responsibility.final",
            f"responsibility is final ({incident.responsibility_status})",
        )
        refuse_unless(
            incident.responsibility_status is not ResponsibilityStatus.DISPUTED,
            "responsibility.under_dispute",
            "responsibility is disputed; headquarters arbitrates",
        )

    def _assigned_incident(self, incident_id: UUID) -> Incident:
        incident = self._unresolved_incident(incident_id)
        self._require_responsibility_open(incident)
        refuse_unless(
            incident.responsibility_status is ResponsibilityStatus.ASSIGNED,
            "responsibility.not_assigned",
            "responsibility has not been assigned",
        )
        return incident

    def _open_claim(self, claim_id: UUID) -> Claim:
        claim = self.claims.get(claim_id)
        if claim is None:
            raise UnknownMember("claim.unknown", f"no claim with id {claim_id}")
        refuse_unless(claim.closed_at is None, "claim.closed", "the claim is closed")
        return claim

    def customer_deadlines(
        self, incident: Incident, kind: ClaimKind, holidays: HolidayCalendar = NO_HOLIDAYS
    ) -> Deadlines:
        """The customer's deadlines for a claim against us: under our contract with the
        customer, from final delivery to the consignee (or the discovery of goods never
        delivered; a total loss from the planned delivery)."""
        delivery = self.proof_of_delivery
        moments = CarriageMoments(
            delivered_at=delivery.at if delivery else incident.discovered_at,
            taken_over_at=self.links[0].custody_from,
            due_at=self.planned_delivery,
        )
        apparent = delivery is not None and delivery.condition is not Condition.GOOD
        return deadlines(
            CUSTOMER_CONTRACT_REGIME, kind, moments, apparent=apparent, holidays=holidays
        )

    def recovery_deadlines(
        self,
        link: Link,
        incident: Incident,
        kind: ClaimKind,
        holidays: HolidayCalendar = NO_HOLIDAYS,
    ) -> Deadlines:
        """Our deadlines for recovery from ``link``'s party: under its regime, from its own
        delivery — the handover out of it (the final delivery for the last link) — or the
        discovery of goods it never handed on; a total loss from its planned end."""
        released = link.released
        moments = CarriageMoments(
            delivered_at=released.at if released else incident.discovered_at,
            taken_over_at=link.custody_from,
            due_at=link.planned_end,
        )
        apparent = released is not None and released.condition is not Condition.GOOD
        return deadlines(link.regime, kind, moments, apparent=apparent, holidays=holidays)

    def recovery_noticed_at(self, claim: Claim) -> datetime | None:
        """When the party at fault had notice of the claim: at the handover out of its link
        if that handover noted the goods damaged or short (a reservation at delivery),
        otherwise when we claimed recovery; None: not yet."""
        assessment = claim.assessment
        noticed = claim.recovery_claimed_at
        incident = self.incidents.get(claim.incident_id)
        if assessment is None or incident is None or incident.kind not in GOODS_INCIDENTS:
            return noticed
        released = self.links[assessment.link_sequence - 1].released
        if released is not None and released.condition is not Condition.GOOD:
            return released.at if noticed is None else min(released.at, noticed)
        return noticed

    def _claim_kind(self, incident: Incident) -> ClaimKind:
        """Delay, total loss (the whole consignment lost) or damage (everything else)."""
        if incident.kind is IncidentKind.DELAY:
            return ClaimKind.DELAY
        if incident.kind is IncidentKind.LOSS:
            weight, packages = self._affected(incident)
            whole = weight >= self.cargo.gross_weight_kg or (
                packages is not None and packages >= self.cargo.packages
            )
            if whole:
                return ClaimKind.TOTAL_LOSS
        return ClaimKind.DAMAGE

    def _affected(self, incident: Incident) -> tuple[Decimal, int | None]:
        """The weight and packages an incident concerns (see the module doc)."""
        if incident.weight_affected_kg is not None:
            return incident.weight_affected_kg, incident.packages_affected
        if incident.packages_affected is not None:
            return self.cargo.weight_of(incident.packages_affected), incident.packages_affected
        return self.cargo.gross_weight_kg, self.cargo.packages
