"""What a branch may see of another branch's records: the one rule.

Used by the HTTP interface for the record a request names in its path and for the lists it
answers, and by the service for every record a command names in its body. ``RULE`` is the
rule in words; ``docs/permissions.md`` shows it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.competitor import CompetitorProfile
from domain.follow_up import CarePlan, FollowUp
from domain.opportunity import Opportunity
from domain.relationship import Relationship, RelationshipKind
from domain.service_case import ServiceCase
from domain.shipment import Shipment

A = TypeVar("A", bound=Aggregate)

RULE = """\
* Customers, prospects and targets belong to their branch, and so do their shipments,
  opportunities, service cases, follow-ups, care plans and history. Staff of a branch
  (field staff, office staff, branch managers) read and command only their own branch's;
  headquarters, auditors and administrators see every branch.
* Partners and competitors are the company's reference data: every staff member may read
  them (the relationship, a partner's scorecard, a competitor's profile) and name them in
  commands (a link's responsible party, a competitor in an opportunity, the competitor a
  deal or a customer was lost to); only staff of their own branch and headquarters may
  command them (403 for anyone else).
* A record another branch owns is answered exactly as a record that does not exist,
  wherever it is named — in the path, in a command's body, in a query's filter: the same
  status and the same problem, nothing of the record in any answer; lists leave it out.
  For staff of a branch, the record a path names is looked up before anything else of
  the request, so its 404 comes before any 422 of the body.
* A branch filter naming another branch is refused (403), except on the list of
  relationships, where it shows that branch's partners and competitors.
* A shipment is worked by the whole chain (协同): staff of a branch that is the party of
  one of its links read the shipment, find it in the list of shipments (with the
  sequences of their links), and run the commands of the links their branch runs —
  start, complete and delay a link, hand custody over into or out of it (as the receiving
  or the handing party; delivery, for the last link), report an incident at it, record
  coordination actions on its incidents, and accept or dispute the responsibility
  assigned to it. Every other command on the shipment stays the booking branch's: 403,
  with the reason, for the branch of a link.
* Partner users (the partner role: people at an airline, a trucker, a warehouse) belong to
  their partner, not to a branch. On a shipment one of whose links their partner runs,
  they find the shipment in the list of shipments (what it is and where it stands, with
  the sequences of their links; not its customer, other parties, incidents or money),
  read those links only (`GET /v1/shipments/{shipment_id}/links`), sign the handovers
  into and out of them, and accept or dispute the responsibility assigned to them, with
  a reason; any other link is refused (403), and a shipment their partner runs no link of
  is answered as one that does not exist, as is every other record.
* Customer users (the customer role: a customer's own people, 自我服务) belong to their
  customer, not to a branch. They call the self-service endpoints only (`/v1/self-service/`),
  which show their customer's shipments (status, where the goods are and who holds them,
  handovers and incidents; no link's cost, no charge-back or bonus, no claim, no internal
  evaluation or note), its invoices and proofs of delivery, and its service cases; every
  record of another customer is answered as one that does not exist. Their customer's
  branch manager, headquarters and administrators register them.
* Offerings and staff belong to no branch.
* An id a client chooses for a new record must be unused across the company: one already
  taken is refused (409) whoever holds it, and the answer names only that id."""

#: Kinds of relationship that are the company's, whatever branch registered them.
COMPANY_WIDE = frozenset({RelationshipKind.PARTNER, RelationshipKind.COMPETITOR})


class Access(IntEnum):
    """What staff may do with a record, each level including the one before."""

    NONE = 0  #: answered as if it did not exist
    READ = 1  #: read it, and name it in commands
    COMMAND = 2  #: command it


def access(scope: str | None, branch: str, kind: RelationshipKind | str) -> Access:
    """What staff acting within ``scope`` (their branch; None: every branch) may do with a
    record of the relationship of ``branch`` and ``kind``: the relationship itself, or a
    shipment, opportunity, service case or competitor profile of it."""
    if scope is None or branch == scope:
        return Access.COMMAND
    if RelationshipKind(kind) in COMPANY_WIDE:
        return Access.READ
    return Access.NONE


def links_run_by(
    scope: str | None, shipment: Shipment, partner_id: UUID | None = None
) -> frozenset[int]:
    """The sequences of the shipment's links whose party is the branch ``scope`` (staff of a
    branch run those links' commands, wherever the shipment was booked), or, for a partner
    user, the partner ``partner_id``."""
    if partner_id is not None:
        return frozenset(
            link.sequence for link in shipment.links if link.party.relationship_id == partner_id
        )
    if not scope:
        return frozenset()
    return frozenset(
        link.sequence
        for link in shipment.links
        if not link.party.is_partner and link.party.branch == scope
    )


def owner_of(aggregate: Aggregate) -> UUID | None:
    """The relationship whose branch a record belongs to; None for what belongs to no
    branch (offerings, staff)."""
    if isinstance(aggregate, Relationship):
        return aggregate.id
    if isinstance(aggregate, Shipment):
        return aggregate.customer_id
    if isinstance(aggregate, Opportunity | ServiceCase | CompetitorProfile | FollowUp | CarePlan):
        return aggregate.relationship_id
    return None
