"""Retention of personal data (PIPL Art. 19, GDPR Art. 5(1)(e) storage limitation): how
long each kind of personal data is kept, and what is due for erasure on a given day.

================  =====================================================================
kind of data      kept until
================  =====================================================================
notes             3 years after the relationship ended (the customer was marked lost)
identity          3 years after the relationship ended or the contact was removed,
contact details   whichever came first
signature         2 years after the shipment's claims are time-barred: the latest time
                  bar of its claims (ours to the customer, and our recovery from the
                  party at fault), else delivery plus the longest time bar of the
                  regimes it ran under (the customer's contract and every link's)
================  =====================================================================

Legal holds keep data past its period: a hold on a relationship (an open claim, an audit,
litigation) keeps its contacts' data, its notes and its shipments' signers; an open claim
on a shipment keeps its signers. ``due`` lists what is due and, for each, what holds it.

Pure: the facts of a data subject come in, what is due as of a given moment goes out. No
clock is read here; ``as_of`` is always a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.liability import TERMS, add_months
from domain.personal import DataKind, DataSubjectKind, Subject
from domain.relationship import Relationship
from domain.shipment import CUSTOMER_CONTRACT_REGIME, ClaimStatus, Shipment


class Rule(StrEnum):
    """The moment a retention period runs from."""

    RELATIONSHIP_ENDED = "relationship_ended"
    #: The relationship ended or the contact was removed, whichever came first.
    CONTACT_ENDED = "contact_ended"
    TIME_BARRED = "time_barred"


RULE_TEXT = {
    Rule.RELATIONSHIP_ENDED: "after the relationship ended",
    Rule.CONTACT_ENDED: "after the relationship ended or the contact was removed",
    Rule.TIME_BARRED: "after the shipment's claims are time-barred",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How long one kind of personal data is kept: ``months`` from the moment ``rule``
    names."""

    kind: DataKind
    rule: Rule
    months: int

    @property
    def name(self) -> str:
        return self.kind.value

    def describe(self) -> str:
        span = f"{self.months // 12} years" if self.months % 12 == 0 else f"{self.months} months"
        return f"retention policy {self.name}: {span} {RULE_TEXT[self.rule]}"


def default_policies(
    *, notes_months: int = 36, contacts_months: int = 36, signatures_months: int = 24
) -> tuple[RetentionPolicy, ...]:
    """The policies, one per kind of personal data."""
    return (
        RetentionPolicy(DataKind.NOTES, Rule.RELATIONSHIP_ENDED, notes_months),
        RetentionPolicy(DataKind.IDENTITY, Rule.CONTACT_ENDED, contacts_months),
        RetentionPolicy(DataKind.CONTACT_DETAILS, Rule.CONTACT_ENDED, contacts_months),
        RetentionPolicy(DataKind.SIGNATURE, Rule.TIME_BARRED, signatures_months),
    )


class HoldKind(StrEnum):
    LEGAL_HOLD = "legal_hold"
    OPEN_CLAIM = "open_claim"


@dataclass(frozen=True)
class Hold:
    """What keeps a subject's data past its period: a legal hold on the relationship (by
    its hold id) or an open claim on the shipment (by its claim id)."""

    kind: HoldKind
    ref: UUID
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "ref": str(self.ref), "reason": self.reason}


@dataclass(frozen=True)
class SubjectFacts:
    """What the retention rules need to know of one data subject."""

    subject: Subject
    subject_id: UUID
    #: The kinds of its data still held (a live key).
    held: frozenset[DataKind]
    #: The relationship whose data it is (a signer's: the shipment's customer).
    relationship_id: UUID
    #: When the relationship ended (marked lost; None: it has not, or was won back).
    relationship_ended_at: datetime | None = None
    #: When the contact was removed (None: not removed, or not a contact).
    contact_removed_at: datetime | None = None
    #: When the shipment's claims are time-barred (None: not a signer, or not known yet).
    time_barred_at: datetime | None = None
    holds: tuple[Hold, ...] = ()

    def runs_from(self, rule: Rule) -> datetime | None:
        if rule is Rule.RELATIONSHIP_ENDED:
            return self.relationship_ended_at
        if rule is Rule.CONTACT_ENDED:
            ends = [m for m in (self.relationship_ended_at, self.contact_removed_at) if m]
            return min(ends) if ends else None
        return self.time_barred_at


@dataclass(frozen=True)
class Due:
    """One kind of one subject's data whose retention period ended at ``due_at``; it is
    erased unless ``holds`` keep it."""

    facts: SubjectFacts
    policy: RetentionPolicy
    due_at: datetime

    @property
    def holds(self) -> tuple[Hold, ...]:
        return self.facts.holds

    @property
    def held(self) -> bool:
        return bool(self.facts.holds)

    @property
    def reason(self) -> str:
        return f"{self.policy.describe()} (due {self.due_at.date().isoformat()})"

    def as_dict(self) -> dict[str, Any]:
        subject = self.facts.subject
        return {
            "subject_id": str(self.facts.subject_id),
            "subject_kind": subject.kind.value,
            "aggregate_id": str(subject.aggregate_id),
            # A signer's ref is their name: personal data, never listed.
            "contact_id": subject.ref if subject.kind is DataSubjectKind.CONTACT else None,
            "relationship_id": str(self.facts.relationship_id),
            "kind": self.policy.kind.value,
            "policy": self.policy.describe(),
            "due_at": self.due_at.isoformat(),
            "holds": [hold.as_dict() for hold in self.holds],
        }


def applies(policy: RetentionPolicy, subject: Subject) -> bool:
    """Whether ``policy`` governs the data of ``subject``: signatures are signers', the
    rest contacts' and relationships' notes."""
    if policy.rule is Rule.TIME_BARRED:
        return subject.kind is DataSubjectKind.SIGNER
    if policy.rule is Rule.CONTACT_ENDED:
        return subject.kind is DataSubjectKind.CONTACT
    return subject.kind in (DataSubjectKind.CONTACT, DataSubjectKind.NOTES)


def due(
    facts: Iterable[SubjectFacts], policies: Sequence[RetentionPolicy], as_of: datetime
) -> list[Due]:
    """Every kind of data of every subject whose retention period ended on or before
    ``as_of`` and that is still held, held ones (``Due.held``) included."""
    found = []
    for fact in facts:
        for policy in policies:
            if policy.kind not in fact.held or not applies(policy, fact.subject):
                continue
            start = fact.runs_from(policy.rule)
            if start is None:
                continue
            due_at = add_months(start, policy.months)
            if due_at <= as_of:
                found.append(Due(fact, policy, due_at))
    return sorted(found, key=lambda d: (d.due_at, str(d.facts.subject_id), d.policy.name))


# --- facts from the aggregates -------------------------------------------------------------


def legal_holds(relationship: Relationship) -> tuple[Hold, ...]:
    return tuple(
        Hold(HoldKind.LEGAL_HOLD, hold.hold_id, f"{hold.basis.value}: {hold.reason}")
        for hold in relationship.active_legal_holds
    )


def relationship_facts(
    relationship: Relationship, subject: Subject, subject_id: UUID, held: Iterable[DataKind]
) -> SubjectFacts:
    """The facts of a contact or of a relationship's notes."""
    removed = (
        relationship.contacts_removed.get(subject.ref)
        if subject.kind is DataSubjectKind.CONTACT
        else None
    )
    return SubjectFacts(
        subject,
        subject_id,
        frozenset(held),
        relationship.id,
        relationship_ended_at=relationship.lost_at,
        contact_removed_at=removed,
        holds=legal_holds(relationship),
    )


def time_barred_at(shipment: Shipment) -> datetime | None:
    """When claims on the shipment are time-barred: the latest time bar of its assessed
    claims, and of delivery under each regime it ran under; None before delivery (a
    cancelled shipment's: from its cancellation)."""
    bars = [
        bar
        for claim in shipment.claims.values()
        for bar in (claim.customer_time_bar, claim.recovery_time_bar)
        if bar is not None
    ]
    ended = shipment.delivered_at or (
        shipment.cancellation.cancelled_at if shipment.cancellation else None
    )
    if ended is not None:
        regimes = {CUSTOMER_CONTRACT_REGIME, *(link.regime for link in shipment.links)}
        bars += [add_months(ended, TERMS[r].time_bar_months) for r in regimes]
    return max(bars) if bars else None


def signer_facts(
    shipment: Shipment,
    customer: Relationship | None,
    subject: Subject,
    subject_id: UUID,
    held: Iterable[DataKind],
) -> SubjectFacts:
    """The facts of a shipment's signer: held by the customer's legal holds and by every
    open claim on the shipment."""
    claims = tuple(
        Hold(HoldKind.OPEN_CLAIM, claim.claim_id, "an open claim on the shipment")
        for claim in shipment.claims.values()
        if claim.status is ClaimStatus.OPEN
    )
    return SubjectFacts(
        subject,
        subject_id,
        frozenset(held),
        shipment.customer_id,
        time_barred_at=time_barred_at(shipment),
        holds=(legal_holds(customer) if customer is not None else ()) + claims,
    )
