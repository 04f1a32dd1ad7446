"""Incidents told in full, with their claims, compensation and recovery: the seed case, an
arbitration, recoveries claimed, received and waived, a dispute awaiting headquarters.

Each is one shipment and one story, told the same way (``tell``): booked and carried with
what went wrong, the incident found and reported, the customer's complaint, responsibility
assigned and answered (perhaps arbitrated), the claim filed and paid, recovery from the
party at fault claimed up to its liability limit, received or waived, the incident
resolved and the claim closed. What differs — the cargo, the link, the parties, the words,
how far the story has got by the time of loading — is data: ``interface.demo.incidents``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid5

from application.commands import CommandResult
from domain.evidence import EvidenceTarget
from domain.liability import liability_limit
from interface.demo.catalogue import HQ_OPERATIONS
from interface.demo.incidents import INCIDENTS, IncidentStory, Responsibility, Who
from interface.demo.plan import Plan, Voyage
from interface.demo.routes import ROUTES
from interface.demo.stories import evidence
from interface.demo.stories.cases import complaint
from interface.demo.stories.shipments import book, carry, evaluate, recording_office

#: One SDR in the claim's currency on the day a limit is assessed.
SDR_RATES = {"USD": Decimal("1.33"), "EUR": Decimal("1.22")}


@dataclass(frozen=True)
class Chronicle:
    """The steps of one shipment's incident, each issued by whoever plays its part."""

    plan: Plan
    voyage: Voyage
    staff: Mapping[Who, str]

    def step(
        self,
        when: datetime,
        who: Who,
        command: Callable[..., CommandResult],
        tally: str,
        **fields: object,
    ) -> None:
        run = partial(command, sid=self.voyage.sid, **fields)
        self.plan.ship(self.voyage, when, self.staff[who], run, tally)


def tell(plan: Plan, story: IncidentStory) -> None:
    """The shipment booked and carried, and its incident told as far as it has got by the
    time of loading."""
    rel, happened, carriage = plan.rels[story.customer], story.incident, story.carriage
    voyage = book(
        plan,
        rel,
        ROUTES[story.customer],
        story.booked_days_ago,
        shipment_id=story.shipment_id,
        cargo=story.cargo,
    )
    carry(
        plan,
        voyage,
        conditions=carriage.conditions,
        packages_affected=carriage.packages_affected,
        remarks=carriage.remarks,
        delay=carriage.delay,
        delivered=carriage.delivered,
        delivered_packages_affected=carriage.delivered_packages_affected,
    )
    assert voyage.delivered_at is not None
    incident_id, claim_id = plan.uuid(), plan.uuid()
    if happened.at_delivery:
        found = voyage.delivered_at + happened.found_after
    else:
        found = voyage.received[happened.link_sequence - 1] + happened.found_after
    complaint(plan, voyage, incident_id, found, story.complaint, ongoing=story.complaint_ongoing)
    recording = recording_office(plan, voyage, happened.link_sequence)
    chronicle = Chronicle(
        plan,
        voyage,
        {
            Who.RECORDING_OFFICE: recording.office_reps[0],
            Who.RECORDING_MANAGER: recording.manager,
            Who.ACCOUNT_OFFICE: rel.branch.office_reps[0],
            Who.ACCOUNT_MANAGER: rel.branch.manager,
            Who.HEADQUARTERS: HQ_OPERATIONS,
        },
    )
    shipments = plan.app.shipments
    chronicle.step(
        found,
        Who.RECORDING_OFFICE,
        shipments.report_incident,
        "incident",
        incident_id=incident_id,
        link_sequence=happened.link_sequence,
        kind=happened.kind,
        description=happened.description,
        packages_affected=happened.packages_affected,
        weight_affected_kg=happened.weight_affected_kg,
    )
    chronicle.step(
        found + timedelta(minutes=30),
        Who.RECORDING_OFFICE,
        partial(evidence.attach, app=plan.app),
        "evidence",
        target=EvidenceTarget.INCIDENT,
        target_id=incident_id,
        data=evidence.photo(f"{voyage.reference} {happened.description}"),
        file_name=f"{voyage.reference}-incident.png",
    )
    for action in story.coordination:
        chronicle.step(
            found + action.after,
            action.by,
            shipments.record_coordination_action,
            "coordination",
            incident_id=incident_id,
            action=action.action,
        )
    answer_for(chronicle, story.responsibility, found, incident_id)
    settle(chronicle, story, incident_id, claim_id)
    if story.charge_back is not None:
        charge_back(plan, voyage, story, found, incident_id)
    if story.evaluation is not None:
        rating, days_after, remarks = story.evaluation
        evaluate(plan, voyage, rating, days_after, remarks)


def charge_back(
    plan: Plan, voyage: Voyage, story: IncidentStory, found: datetime, incident_id: UUID
) -> None:
    """Headquarters charges the partner found responsible back (奖惩), in its history."""
    charge = story.charge_back
    assert charge is not None
    partner = plan.rels[voyage.route.legs[charge.link_sequence - 1].party]
    plan.ship(
        voyage,
        found + charge.after,
        HQ_OPERATIONS,
        partial(
            plan.app.relationships.charge_back,
            rid=partner.rid,
            charge_back_id=uuid5(voyage.sid, f"charge-back {incident_id}"),
            amount=charge.amount,
            currency=story.cargo.currency,
            reason=charge.reason,
            shipment_id=voyage.sid,
            incident_id=incident_id,
        ),
        "charged_back",
    )


def answer_for(
    chronicle: Chronicle, responsibility: Responsibility, found: datetime, incident_id: UUID
) -> None:
    """Responsibility assigned, accepted or disputed by the party, perhaps arbitrated."""
    shipments = chronicle.plan.app.shipments
    chronicle.step(
        found + responsibility.assigned_after,
        responsibility.assigned_by,
        shipments.assign_responsibility,
        "responsibility",
        incident_id=incident_id,
        link_sequence=responsibility.link_sequence,
        basis=responsibility.basis,
        explanation=responsibility.explanation,
    )
    command: Callable[..., CommandResult] = shipments.dispute_responsibility
    tally, field = "responsibility_disputed", "reason"
    if responsibility.accepted:
        command = shipments.accept_responsibility
        tally, field = "responsibility_accepted", "note"
    chronicle.step(
        found + responsibility.answered_after,
        Who.ACCOUNT_OFFICE,
        command,
        tally,
        incident_id=incident_id,
        **{field: responsibility.answer},
    )
    if responsibility.arbitration is not None:
        after, link_sequence, decision = responsibility.arbitration
        chronicle.step(
            found + after,
            Who.HEADQUARTERS,
            shipments.arbitrate_responsibility,
            "arbitrated",
            incident_id=incident_id,
            link_sequence=link_sequence,
            decision=decision,
        )


def settle(chronicle: Chronicle, story: IncidentStory, incident_id: UUID, claim_id: UUID) -> None:
    """The claim filed and paid, recovery claimed up to the limit, received or waived, the
    incident resolved and the claim closed: as far as it has got by the time of loading."""
    shipments, voyage, claim = chronicle.plan.app.shipments, chronicle.voyage, story.claim
    currency = story.cargo.currency
    sdr_rate = SDR_RATES[currency]
    assert voyage.delivered_at is not None
    filed = voyage.delivered_at + claim.filed_after
    chronicle.step(
        filed,
        Who.ACCOUNT_OFFICE,
        shipments.file_claim,
        "claim",
        claim_id=claim_id,
        incident_id=incident_id,
        amount=claim.amount,
        currency=currency,
    )
    chronicle.step(
        filed + timedelta(minutes=30),
        Who.ACCOUNT_OFFICE,
        partial(evidence.attach, app=chronicle.plan.app),
        "evidence",
        target=EvidenceTarget.CLAIM,
        target_id=claim_id,
        data=evidence.report(
            f"Survey report {voyage.reference}",
            [
                story.incident.description,
                f"Claimed: {claim.amount} {currency}",
                f"Filed: {filed.date().isoformat()}",
            ],
        ),
        file_name=f"{voyage.reference}-survey.pdf",
    )
    if claim.paid_after is None:
        return
    paid = filed + claim.paid_after
    chronicle.step(
        paid,
        Who.ACCOUNT_MANAGER,
        shipments.pay_compensation,
        "compensation",
        claim_id=claim_id,
        amount=claim.amount,
        payment_reference=f"PAY-{voyage.reference}",
    )
    happened, recovery = story.incident, claim.recovery
    weight, recoverable = happened.weight_affected_kg, Decimal(0)
    if recovery is not None and recovery.regime is not None:
        assert happened.packages_affected is not None
        weight = weight or story.cargo.weight_of(happened.packages_affected)
        recoverable = liability_limit(
            recovery.regime,
            weight_kg=weight,
            packages=happened.packages_affected,
            sdr_rate=sdr_rate,
            currency=currency,
        ).amount
        assessed = paid + timedelta(days=1)
        chronicle.step(
            assessed,
            Who.ACCOUNT_OFFICE,
            shipments.assess_liability_limit,
            "limit",
            claim_id=claim_id,
            sdr_rate=sdr_rate,
        )
        chronicle.step(
            assessed + timedelta(hours=1),
            Who.ACCOUNT_OFFICE,
            shipments.claim_recovery,
            "recovery_claimed",
            claim_id=claim_id,
            amount=recoverable,
        )
        if recovery.received_after is not None:
            chronicle.step(
                paid + recovery.received_after,
                Who.ACCOUNT_OFFICE,
                shipments.receive_recovery,
                "recovery_received",
                claim_id=claim_id,
                amount=recoverable,
            )
    elif recovery is not None and recovery.waived is not None:
        chronicle.step(
            paid + timedelta(days=1),
            Who.ACCOUNT_MANAGER,
            shipments.waive_recovery,
            "recovery_waived",
            claim_id=claim_id,
            reason=recovery.waived,
        )
    if claim.resolved_after is None:
        return
    resolved = paid + claim.resolved_after
    resolution = claim.resolution.format(
        amount=claim.amount, recoverable=recoverable, weight=weight, sdr_rate=sdr_rate
    )
    chronicle.step(
        resolved,
        Who.ACCOUNT_MANAGER,
        shipments.resolve_incident,
        "incident_resolved",
        incident_id=incident_id,
        resolution=resolution,
    )
    chronicle.step(
        resolved + timedelta(hours=1),
        Who.ACCOUNT_OFFICE,
        shipments.close_claim,
        "claim_closed",
        claim_id=claim_id,
        note=claim.closing_note,
    )


def tell_all(plan: Plan) -> None:
    """The incidents told in full, one shipment each."""
    for story in INCIDENTS:
        tell(plan, story)
