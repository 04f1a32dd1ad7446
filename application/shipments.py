"""Commands on shipments: booking, the chain of links and custody, charges, incidents and
responsibility, claims — one method per command.

The partner kinds and the customer a command names are looked up here and passed to the
domain, which enforces the chain's invariants."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from application import settings
from application.commands import CommandPath, CommandResult, NotFound, nameable
from domain.base import CommandContext, CommandRefused, InvalidValue, require
from domain.cargo_conditions import CargoObservation
from domain.costs import Money
from domain.evidence import EvidenceTarget
from domain.liability import NO_HOLIDAYS, HolidayCalendar
from domain.relationship import Relationship, RelationshipKind
from domain.shipment import (
    ANSWER_WITHIN,
    Cargo,
    Charges,
    Condition,
    IncidentKind,
    LinkPlan,
    Party,
    ResponsibilityBasis,
    Shipment,
)

#: A partner answers the responsibility proposed to it within this many days of business
#: time, or it counts as accepted: a dispute after that is refused, and the audit finds it.
RESPONSIBILITY_ANSWER_DAYS_VARIABLE = "FULLCHAIN_RESPONSIBILITY_ANSWER_DAYS"


def answer_within() -> timedelta:
    """The days to answer a proposed responsibility, as configured (default 7)."""
    days = settings.load().responsibility_answer_days
    return timedelta(days=days) if days is not None else ANSWER_WITHIN


class ShipmentService:
    """Commands and write-side queries of shipments."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    def book_shipment(
        self,
        ctx: CommandContext,
        *,
        customer_id: UUID,
        reference: str,
        origin: str,
        destination: str,
        cargo: Cargo,
        links: Sequence[LinkPlan],
        charges: Charges | None = None,
        shipment_id: UUID | None = None,
        link_costs: Mapping[int, Money] | None = None,
    ) -> CommandResult:
        """Book a shipment for a relationship of kind customer; ``charges``, if given, are
        quoted with the booking, and ``link_costs`` (by link sequence) planned with it (all
        the events in one append).

        A prospect or target is refused: its first business is a sales decision recorded
        on the relationship first (``record_first_business``, with this booking's
        reference, or by winning an opportunity: ``mark_opportunity_won``), never a side
        effect of a booking. Partners and competitors never book.
        Any lifecycle (dormant, lost, won back) may book; the lifecycle is the account
        team's call, not the booking desk's. Every partner the links name must be a known
        relationship (else 422 on that link) of kind partner (else 409).
        """
        self._require_customer(ctx, customer_id)
        shipment = Shipment.book(
            ctx,
            customer_id=customer_id,
            reference=reference,
            origin=origin,
            destination=destination,
            cargo=cargo,
            links=links,
            partner_kinds=self._partner_kinds(
                ctx, ((f"links[{index}].party", plan.party) for index, plan in enumerate(links))
            ),
            shipment_id=shipment_id,
        )
        if charges is not None:
            shipment.quote_charges(ctx, amount=charges.amount, currency=charges.currency)
        for sequence, cost in sorted((link_costs or {}).items()):
            shipment.plan_link_cost(
                ctx, sequence=sequence, amount=cost.amount, currency=cost.currency
            )
        return self.commands.create(ctx, "shipment", shipment)

    def _require_customer(self, ctx: CommandContext, customer_id: UUID) -> None:
        try:
            customer = nameable(self.commands, ctx, Relationship, customer_id)
            if not customer.is_customer:  # the cached copy may be behind the log
                customer = self.commands.load(Relationship, customer_id, fresh=True)
        except NotFound:
            raise InvalidValue(
                "booking.customer_unknown",
                f"no relationship with id {customer_id}",
                field="customer_id",
            ) from None
        if customer.kind in (RelationshipKind.PROSPECT, RelationshipKind.TARGET):
            raise CommandRefused(
                "booking.first_business_not_recorded",
                f"{customer.name} is a {customer.kind}; record its first business on the"
                " relationship (it becomes a customer) before booking for it",
            )
        if not customer.is_customer:
            raise CommandRefused(
                "booking.not_a_customer",
                f"{customer.name} is a {customer.kind}; shipments are booked for customers",
            )

    def _partner_kinds(
        self, ctx: CommandContext, parties: Iterable[tuple[str, Party]]
    ) -> dict[UUID, str]:
        """The kind of every relationship named as a party; an unknown one (or one the
        command may not name) is refused with the field that names it."""
        kinds: dict[UUID, str] = {}
        for field, party in parties:
            if party.branch is not None:
                self.commands.branch(party.branch, f"{field}.branch")
            rid = party.relationship_id
            if rid is None or rid in kinds:
                continue
            try:
                kinds[rid] = nameable(self.commands, ctx, Relationship, rid).kind.value
            except NotFound:
                raise InvalidValue(
                    "party.unknown", f"no relationship with id {rid}", field=field
                ) from None
        return kinds

    def _shipment(
        self,
        ctx: CommandContext,
        shipment_id: UUID,
        expected_version: int | None,
        decide: Callable[[Shipment], None],
    ) -> CommandResult:
        return self.commands.execute(ctx, Shipment, shipment_id, decide, expected_version)

    def replan_link(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        planned_start: datetime,
        planned_end: datetime,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.replan_link(
                ctx,
                sequence=sequence,
                planned_start=planned_start,
                planned_end=planned_end,
                reason=reason,
            ),
        )

    def reassign_link(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        party: Party,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        partner_kinds = self._partner_kinds(ctx, [("party", party)])
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.reassign_link(
                ctx, sequence=sequence, party=party, partner_kinds=partner_kinds, reason=reason
            ),
        )

    def start_link(
        self, ctx: CommandContext, sid: UUID, *, sequence: int, expected_version: int | None = None
    ) -> CommandResult:
        return self._shipment(
            ctx, sid, expected_version, lambda s: s.start_link(ctx, sequence=sequence)
        )

    def hand_over(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        to_sequence: int,
        condition: Condition,
        signed_by: str,
        reference: str | None = None,
        remarks: str | None = None,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
        observed: CargoObservation | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.hand_over(
                ctx,
                to_sequence=to_sequence,
                condition=condition,
                signed_by=signed_by,
                reference=reference,
                remarks=remarks,
                packages_affected=packages_affected,
                weight_affected_kg=weight_affected_kg,
                observed=observed,
            ),
        )

    def complete_link(
        self, ctx: CommandContext, sid: UUID, *, sequence: int, expected_version: int | None = None
    ) -> CommandResult:
        return self._shipment(
            ctx, sid, expected_version, lambda s: s.complete_link(ctx, sequence=sequence)
        )

    def report_delay(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        estimated_end: datetime,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.report_delay(
                ctx, sequence=sequence, estimated_end=estimated_end, reason=reason
            ),
        )

    def deliver(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        condition: Condition,
        signed_by: str,
        proof_of_delivery: str,
        remarks: str | None = None,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
        observed: CargoObservation | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.deliver(
                ctx,
                condition=condition,
                signed_by=signed_by,
                proof_of_delivery=proof_of_delivery,
                remarks=remarks,
                packages_affected=packages_affected,
                weight_affected_kg=weight_affected_kg,
                observed=observed,
            ),
        )

    def cancel_shipment(
        self, ctx: CommandContext, sid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._shipment(ctx, sid, expected_version, lambda s: s.cancel(ctx, reason=reason))

    def evaluate_shipment(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        rating: int,
        remarks: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx, sid, expected_version, lambda s: s.evaluate(ctx, rating=rating, remarks=remarks)
        )

    def quote_charges(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.quote_charges(ctx, amount=amount, currency=currency),
        )

    # --- link costs (domain/costs.py) ---

    def plan_link_cost(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.plan_link_cost(ctx, sequence=sequence, amount=amount, currency=currency),
        )

    def record_link_invoice(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        amount: Decimal,
        currency: str,
        invoice_reference: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.record_link_invoice(
                ctx,
                sequence=sequence,
                amount=amount,
                currency=currency,
                invoice_reference=invoice_reference,
            ),
        )

    def invoice_shipment(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        invoice_number: str,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.invoice(
                ctx, invoice_number=invoice_number, amount=amount, currency=currency
            ),
        )

    def report_incident(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        link_sequence: int,
        kind: IncidentKind,
        description: str,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.report_incident(
                ctx,
                incident_id=incident_id,
                link_sequence=link_sequence,
                kind=kind,
                description=description,
                packages_affected=packages_affected,
                weight_affected_kg=weight_affected_kg,
            ),
        )

    def record_coordination_action(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        action: str,
        taken_by: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.record_coordination_action(
                ctx, incident_id=incident_id, action=action, taken_by=taken_by
            ),
        )

    def attach_evidence(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        target: EvidenceTarget,
        target_id: str,
        sha256: str,
        size: int,
        media_type: str,
        file_name: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Attach a file the evidence store holds (``application.evidence``) to an
        incident, a claim or a handover of the shipment."""
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.attach_evidence(
                ctx,
                target=target,
                target_id=target_id,
                sha256=sha256,
                size=size,
                media_type=media_type,
                file_name=file_name,
            ),
        )

    def assign_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        link_sequence: int | None = None,
        basis: ResponsibilityBasis | None = None,
        explanation: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Assign responsibility for an incident to the party of a link.

        Without ``link_sequence`` the shipment's own proposal from its custody history
        (``Shipment.propose_responsibility``) gives the link and the basis, decided on the
        current state; ``explanation`` then replaces the proposal's if given. With a link,
        the basis and the explanation are required.
        """

        def decide(shipment: Shipment) -> None:
            if link_sequence is None:
                require(
                    basis is None,
                    "responsibility.basis_without_link",
                    "a basis is given only with the link it makes responsible",
                    field="basis",
                )
                proposal = shipment.propose_responsibility(incident_id)
                shipment.assign_responsibility(
                    ctx,
                    incident_id=incident_id,
                    link_sequence=proposal.link_sequence,
                    basis=proposal.basis,
                    explanation=explanation or proposal.explanation,
                )
                return
            if basis is None:
                raise InvalidValue(
                    "responsibility.basis_required",
                    "name the basis on which the link is made responsible",
                    field="basis",
                )
            if explanation is None:
                raise InvalidValue(
                    "explanation.required",
                    "explain why the link is made responsible",
                    field="explanation",
                )
            shipment.assign_responsibility(
                ctx,
                incident_id=incident_id,
                link_sequence=link_sequence,
                basis=basis,
                explanation=explanation,
            )

        return self._shipment(ctx, sid, expected_version, decide)

    def accept_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        note: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.accept_responsibility(ctx, incident_id=incident_id, note=note),
        )

    def dispute_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.dispute_responsibility(
                ctx, incident_id=incident_id, reason=reason, answer_within=answer_within()
            ),
        )

    def arbitrate_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        link_sequence: int,
        decision: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Headquarters' decision on a disputed responsibility, or on one its party did not
        answer in time (总部仲裁)."""
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.arbitrate_responsibility(
                ctx,
                incident_id=incident_id,
                link_sequence=link_sequence,
                decision=decision,
                answer_within=answer_within(),
            ),
        )

    def resolve_incident(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        resolution: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.resolve_incident(ctx, incident_id=incident_id, resolution=resolution),
        )

    def file_claim(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        incident_id: UUID,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.file_claim(
                ctx, claim_id=claim_id, incident_id=incident_id, amount=amount, currency=currency
            ),
        )

    def assess_liability_limit(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        sdr_rate: Decimal,
        holidays: HolidayCalendar = NO_HOLIDAYS,
        expected_version: int | None = None,
    ) -> CommandResult:
        """``holidays``: the public holidays a count of days excepting them skips."""
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.assess_liability_limit(
                ctx, claim_id=claim_id, sdr_rate=sdr_rate, holidays=holidays
            ),
        )

    def pay_compensation(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        amount: Decimal,
        payment_reference: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.pay_compensation(
                ctx, claim_id=claim_id, amount=amount, payment_reference=payment_reference
            ),
        )

    def claim_recovery(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        amount: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.claim_recovery(ctx, claim_id=claim_id, amount=amount),
        )

    def receive_recovery(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        amount: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.receive_recovery(ctx, claim_id=claim_id, amount=amount),
        )

    def waive_recovery(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx,
            sid,
            expected_version,
            lambda s: s.waive_recovery(ctx, claim_id=claim_id, reason=reason),
        )

    def close_claim(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        note: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            ctx, sid, expected_version, lambda s: s.close_claim(ctx, claim_id=claim_id, note=note)
        )

    def get_shipment(self, sid: UUID) -> Shipment:
        return self.commands.current(Shipment, sid)
