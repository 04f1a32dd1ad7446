"""The responsibility-audit writer: per shipment, who held the goods and answered for each
link, what went wrong where, who compensated whom.

The projection derives everything from the ``Shipment`` aggregate itself: for each
shipment touched by a batch it brings the aggregate to the batch's end (from a cache of
aggregates kept between batches, or by replaying the shipment's events) and writes what
the aggregate says. So the audit view can never disagree with the domain's own rules of
custody and responsibility. Apply methods never check invariants, so a history that
breaks them (an altered log, a historic bug) is still projected, and the findings show it.

Tables: ``shipment_audit`` (one row and the full view as JSON per shipment),
``audit_link``, ``audit_incident``, ``audit_claim`` and ``audit_handover_exception`` (one
row per link — with its planned and invoiced cost —, incident, claim and handover that
noted the goods damaged or short, with the incident covering it and the party proposed for
it, as ``Shipment.handover_exceptions`` says), and ``audit_partner_reward`` (the
charge-backs and bonuses headquarters decides, from the partners' own histories), for the
scorecard and the findings, which are computed when asked because most of
them depend on the time of asking).

Parties are named as of the event that named them: the projection also reads the events
that name a relationship or a staff member into ``audit_party_name`` (each name with the
position from which it held), and keeps in ``audit_party_ref`` the position of each
shipment event that named a party for something (a link, an incident's responsibility,
who assigned, answered or arbitrated it, a claim's assessment and recovery). A name is the
directory's latest before that position, so it is the same whichever batch writes it.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from application.store.schema import EVENTS_TABLE
from domain.costs import LinkCost
from domain.relationship import Relationship
from domain.shipment import Claim, ConditionBreach, Handover, Incident, Link, Party, Shipment
from domain.staff import Staff
from projections.aggregate_rows import AggregatesOfBatch
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.responsibility_audit.migration import MIGRATION

#: How many shipments the projection keeps between batches, to avoid replaying them.
CACHE_SIZE = 5_000

#: The events that name a party: a relationship's registration and renames, a staff
#: member's registration (no event renames a staff member).
NAMING_TOPICS = frozenset(
    {
        Relationship.Registered.TOPIC,
        Relationship.Renamed.TOPIC,
        Staff.Registered.TOPIC,
    }
)


def party_key(party: Party) -> str:
    """A party as one string: ``branch:<name>`` or ``partner:<relationship id>``."""
    return f"branch:{party.branch}" if party.branch else f"partner:{party.relationship_id}"


def staff_key(staff_id: str) -> str:
    """A staff member in the directory of names: ``staff:<staff id>``."""
    return f"staff:{staff_id}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(type(value))


@dataclass(frozen=True)
class PartyRef:
    """The party an event of the shipment named (``ref``: what for), and its position."""

    party: str
    position: int


class Names:
    """The names of the parties of one shipment as of the events that named them.

    ``history`` is the directory, per party, of (position from which the name held, name);
    ``refs`` the shipment's references; ``position`` the shipment's last event, as of which
    a party no event reference names is named. A branch is named by its name; a partner by
    its relationship's name then; a staff member by the name they were registered with
    (no event renames one)."""

    def __init__(
        self,
        history: dict[str, list[tuple[int, str]]],
        refs: dict[str, PartyRef],
        position: int,
    ) -> None:
        self.history = history
        self.refs = refs
        self.position = position

    def name_at(self, key: str, position: int) -> str | None:
        if key.startswith("branch:"):
            return key.removeprefix("branch:")
        names = self.history.get(key, [])
        before = bisect_left(names, (position, ""))
        return names[before - 1][1] if before else None

    def party(self, party: Party, ref: str | None = None) -> str | None:
        """The name of ``party`` as of the event that named it for ``ref``."""
        key = party_key(party)
        found = self.refs.get(ref) if ref is not None else None
        if found is not None and found.party == key:
            return self.name_at(key, found.position)
        return self.name_at(key, self.position + 1)

    def staff(self, staff_id: str | None) -> str | None:
        """The name of a staff member (None: not a staff id the directory knows)."""
        if staff_id is None:
            return None
        return self.name_at(staff_key(staff_id), self.position + 1)

    def referenced(self, ref: str) -> dict[str, Any] | None:
        """The staff member an event named for ``ref``: id and name then."""
        found = self.refs.get(ref)
        if found is None:
            return None
        return {
            "staff_id": found.party.removeprefix("staff:"),
            "name": self.name_at(found.party, found.position),
        }


NO_NAMES = Names({}, {}, 0)


def _party(party: Party | None, names: Names, ref: str | None = None) -> dict[str, Any] | None:
    if party is None:
        return None
    return {
        "key": party_key(party),
        "kind": party.kind.value,
        "branch": party.branch,
        "relationship_id": party.relationship_id,
        "name": names.party(party, ref),
    }


def _handover(h: Handover | None, names: Names) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "at": h.at,
        "condition": h.condition.value,
        "signed_by": h.signed_by,
        "signed_by_name": names.staff(h.signed_by),
        "reference": h.reference,
        "remarks": h.remarks,
        "packages_affected": h.packages_affected,
        "weight_affected_kg": h.weight_affected_kg,
        "observed": h.observed.as_dict() if h.observed else None,
    }


def _link(link: Link, names: Names, cost: LinkCost) -> dict[str, Any]:
    return {
        "sequence": link.sequence,
        "function": link.function.value,
        "mode": link.mode.value if link.mode else None,
        "party": _party(link.party, names, link_ref(link.sequence)),
        "regime": link.regime.value,
        "holds_goods": link.takes_custody,
        "status": link.status.value,
        "planned_start": link.planned_start,
        "planned_end": link.planned_end,
        "estimated_end": link.estimated_end,
        "started_at": link.started_at,
        "completed_at": link.completed_at,
        "custody_from": link.custody_from,
        "custody_until": link.custody_until,
        "handover_in": _handover(link.received, names),
        "handover_out": _handover(link.released, names),
        "cost": cost.as_dict(),
    }


def link_ref(sequence: int) -> str:
    return f"link:{sequence}"


def incident_ref(incident_id: UUID, what: str) -> str:
    return f"incident:{incident_id}:{what}"


def claim_ref(claim_id: UUID, what: str) -> str:
    return f"claim:{claim_id}:{what}"


def _incident(i: Incident, names: Names) -> dict[str, Any]:
    r = i.responsible
    return {
        "incident_id": i.incident_id,
        "link_sequence": i.link_sequence,
        "kind": i.kind.value,
        "discovered_at": i.discovered_at,
        "description": i.description,
        "packages_affected": i.packages_affected,
        "weight_affected_kg": i.weight_affected_kg,
        "reported_by": i.reported_by,
        "reported_by_name": names.staff(i.reported_by),
        "coordination": [
            {
                "action": a.action,
                "taken_by": a.taken_by,
                "taken_by_name": names.staff(a.taken_by),
                "taken_at": a.taken_at,
            }
            for a in i.actions
        ],
        "responsibility_status": i.responsibility_status.value,
        "responsible": None
        if r is None
        else {
            "link_sequence": r.link_sequence,
            "party": _party(r.party, names, incident_ref(i.incident_id, "responsible")),
            "basis": r.basis.value,
            "explanation": r.explanation,
        },
        "assigned_by": names.referenced(incident_ref(i.incident_id, "assigned_by")),
        "answered_by": names.referenced(incident_ref(i.incident_id, "answered_by")),
        "arbitrated_by": names.referenced(incident_ref(i.incident_id, "arbitrated_by")),
        "dispute_reason": i.dispute_reason,
        "arbitration_decision": i.arbitration_decision,
        "resolution": i.resolution,
        "resolved_at": i.resolved_at,
    }


def _breach(b: ConditionBreach, names: Names) -> dict[str, Any]:
    return {
        "from_sequence": b.from_sequence,
        "to_sequence": b.to_sequence,
        "handed_over_at": b.handover.at,
        "kind": b.kind.value,
        "detail": b.detail,
        "covered_by": b.covered_by,
        "responsible": {
            "link_sequence": b.responsible.link_sequence,
            "party": _party(b.responsible.party, names, link_ref(b.responsible.link_sequence)),
            "basis": b.responsible.basis.value,
            "explanation": b.responsible.explanation,
        },
    }


def _claim(s: Shipment, c: Claim, names: Names) -> dict[str, Any]:
    limit = c.limit
    assessment = c.assessment
    party, ref = _claim_party(s, c)
    return {
        "claim_id": c.claim_id,
        "incident_id": c.incident_id,
        "status": c.status.value,
        "amount": c.amount,
        "currency": c.currency,
        "notified_at": c.notified_at,
        "responsible_party": _party(party, names, ref),
        "liability_limit": None
        if limit is None
        else {
            "regime": limit.regime.value,
            "weight_kg": limit.weight_kg,
            "packages": limit.packages,
            "sdr": limit.sdr,
            "sdr_rate": limit.sdr_rate,
            "amount": limit.amount,
            "currency": limit.currency,
        },
        "customer_deadlines": None
        if assessment is None
        else {
            "regime": assessment.customer_regime.value,
            "notice_deadline": c.customer_notice_deadline,
            "time_bar": c.customer_time_bar,
        },
        "recovery_deadlines": None
        if assessment is None
        else {
            "regime": assessment.limit.regime.value,
            "link_sequence": assessment.link_sequence,
            "notice_deadline": c.recovery_notice_deadline,
            "time_bar": c.recovery_time_bar,
            "noticed_at": s.recovery_noticed_at(c),
        },
        "compensation_paid": c.compensation_paid,
        "compensated_at": c.compensated_at,
        "recovery_from": c.recovery_from,
        "recovery_from_name": _recovery_from_name(c, names),
        "recovery_claimed": c.recovery_claimed,
        "recovery_claimed_at": c.recovery_claimed_at,
        "recovery_received": c.recovery_received,
        "recovery_waived": getattr(c, "recovery_waived", None),
        "net_cost": c.net_cost,
        "closed_at": c.closed_at,
    }


def _recovery_from_name(c: Claim, names: Names) -> str | None:
    if c.recovery_from is None:
        return None
    return names.party(Party.partner(c.recovery_from), claim_ref(c.claim_id, "recovery_from"))


def audit_view(s: Shipment, names: Names = NO_NAMES) -> dict[str, Any]:
    """The auditor's view of one shipment, as stored in ``shipment_audit.view``: every party
    named as of the event that named it (``names``)."""
    holder = s.current_custodian
    return {
        "shipment_id": s.id,
        "customer_id": s.customer_id,
        "reference": s.reference,
        "origin": s.origin,
        "destination": s.destination,
        "status": s.status.value,
        "cargo": s.cargo.as_dict(),
        "current_holder": None
        if holder is None
        else {
            "link_sequence": holder.sequence,
            "party": _party(holder.party, names, link_ref(holder.sequence)),
        },
        "chain": [_link(link, names, s.link_cost(link.sequence)) for link in s.links],
        "condition_breaches": [_breach(b, names) for b in s.condition_breaches()],
        "incidents": [_incident(i, names) for i in s.incidents.values()],
        "claims": [_claim(s, c, names) for c in s.claims.values()],
        "delivered_at": s.delivered_at,
        "evaluation": None
        if s.evaluation is None
        else {
            "on_time": s.evaluation.on_time,
            "rating": s.evaluation.rating,
            "remarks": s.evaluation.remarks,
            "evaluated_by": s.evaluation.evaluated_by,
            "evaluated_by_name": names.staff(s.evaluation.evaluated_by),
        },
        "customer_rating": None
        if s.customer_rating is None
        else {
            "rating": s.customer_rating.rating,
            "comment": s.customer_rating.comment,
            "rated_at": s.customer_rating.rated_at,
            "rated_by": s.customer_rating.rated_by,
        },
        "cancellation": None
        if s.cancellation is None
        else {"reason": s.cancellation.reason, "cancelled_at": s.cancellation.cancelled_at},
        "version": s.version,
    }


def _claim_party(s: Shipment, c: Claim) -> tuple[Party | None, str | None]:
    """The party at fault for a claim and the reference that named it."""
    if c.assessment is not None:
        return c.assessment.party, claim_ref(c.claim_id, "assessed")
    incident = s.incidents.get(c.incident_id)
    if incident and incident.responsible:
        return incident.responsible.party, incident_ref(incident.incident_id, "responsible")
    return None, None


def _staff_named(s: Shipment) -> set[str]:
    """The staff ids a shipment's view may name without an event reference: who reported,
    took action, signed a handover (where the signer is a staff id) or evaluated."""
    who = {i.reported_by for i in s.incidents.values()}
    who |= {a.taken_by for i in s.incidents.values() for a in i.actions}
    for link in s.links:
        who |= {h.signed_by for h in (link.received, link.released) if h is not None}
    if s.evaluation is not None:
        who.add(s.evaluation.evaluated_by)
    return who


def _event_refs(event: Any) -> Iterable[tuple[str, str]]:
    """The references a shipment event names a party for: (ref, party key)."""
    if isinstance(event, Shipment.Booked):
        for plan in event.links:
            link = Link.from_plan_dict(plan)
            yield link_ref(link.sequence), party_key(link.party)
    elif isinstance(event, Shipment.LinkReassigned):
        yield link_ref(event.sequence), party_key(Party.from_dict(event.party))
    elif isinstance(event, Shipment.IncidentReported):
        yield incident_ref(event.incident_id, "reported_by"), staff_key(event.actor)
    elif isinstance(event, Shipment.ResponsibilityAssigned):
        party = party_key(Party.from_dict(event.party))
        yield incident_ref(event.incident_id, "responsible"), party
        yield incident_ref(event.incident_id, "assigned_by"), staff_key(event.actor)
    elif isinstance(event, Shipment.ResponsibilityAccepted | Shipment.ResponsibilityDisputed):
        yield incident_ref(event.incident_id, "answered_by"), staff_key(event.actor)
    elif isinstance(event, Shipment.ResponsibilityArbitrated):
        party = party_key(Party.from_dict(event.party))
        yield incident_ref(event.incident_id, "responsible"), party
        yield incident_ref(event.incident_id, "arbitrated_by"), staff_key(event.actor)
    elif isinstance(event, Shipment.LiabilityLimitAssessed):
        yield claim_ref(event.claim_id, "assessed"), party_key(Party.from_dict(event.party))
    elif isinstance(event, Shipment.RecoveryClaimed):
        yield claim_ref(event.claim_id, "recovery_from"), party_key(Party.partner(event.partner_id))


def _named(event: Any) -> tuple[str, str] | None:
    """The directory entry a relationship or staff event makes: (party key, name)."""
    if isinstance(event, Relationship.Registered | Relationship.Renamed):
        return f"partner:{event.originator_id}", event.name
    if isinstance(event, Staff.Registered):
        return staff_key(event.staff_id), event.name
    return None


def _compensation_by_currency(s: Shipment) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for c in s.claims.values():
        if c.compensation_paid is not None:
            paid[c.currency] = paid.get(c.currency, Decimal(0)) + c.compensation_paid
    return paid


def _cost_columns(cost: LinkCost) -> tuple[Any, ...]:
    planned, actual = cost.planned, cost.actual
    return (
        planned.amount if planned else None,
        planned.currency if planned else None,
        actual.amount if actual else None,
        actual.currency if actual else None,
        cost.invoice_reference,
    )


#: The partner's events the audit keeps (its rewards and penalties, 奖惩).
_REWARDS = (Relationship.ChargedBack, Relationship.BonusAwarded)
_REWARD_TOPICS = frozenset(event.TOPIC for event in _REWARDS)


def _reward(item: ProjectedEvent) -> tuple[Any, ...]:
    """A charge-back or a bonus, as a row of ``audit_partner_reward``."""
    e = item.event
    if isinstance(e, Relationship.ChargedBack):
        return (
            e.originator_id, e.charge_back_id, "charge_back", e.amount, e.currency, e.reason,
            e.shipment_id, e.incident_id, e.claim_id, None, None, e.occurred_at, e.actor,
            item.position,
        )  # fmt: skip
    assert isinstance(e, Relationship.BonusAwarded)
    return (
        e.originator_id, e.bonus_id, "bonus", e.amount, e.currency, e.reason, None, None, None,
        e.period_start, e.period_end, e.occurred_at, e.actor, item.position,
    )  # fmt: skip


#: Files attached to a shipment's incidents, claims and handovers or to a relationship's
#: interactions (``domain/evidence.py``).
_EVIDENCE = (Shipment.EvidenceAttached, Relationship.EvidenceAttached)
_EVIDENCE_TOPICS = frozenset(event.TOPIC for event in _EVIDENCE)


def _evidence(item: ProjectedEvent) -> tuple[Any, ...]:
    """An attached file, as a row of ``audit_evidence``."""
    e = item.event
    return (
        e.originator_id, e.target, e.target_id, e.sha256, e.size, e.media_type, e.file_name,
        e.actor, e.occurred_at, item.position,
    )  # fmt: skip


class ResponsibilityProjection(BatchProjection):
    name = "responsibility_audit"
    migration = MIGRATION
    #: Per shipment, rewritten whenever it changes.
    shipment_tables = (
        "shipment_audit",
        "audit_link",
        "audit_incident",
        "audit_claim",
        "audit_handover_exception",
        "audit_condition_breach",
    )
    tables = (
        *shipment_tables,
        "audit_partner_reward",
        "audit_party_ref",
        "audit_party_name",
        "audit_evidence",
    )

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.shipments = AggregatesOfBatch(mapper, Shipment, cache_size=CACHE_SIZE)
        self._booked_position: dict[UUID, int] = {}

    def handles(self, topic: str) -> bool:
        return (
            topic.startswith("Shipment.")
            or topic in NAMING_TOPICS
            or topic in _REWARD_TOPICS
            or topic in _EVIDENCE_TOPICS
        )

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        rewards = [_reward(item) for item in events if isinstance(item.event, _REWARDS)]
        if rewards:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO audit_partner_reward (partner_id, reward_id, kind, amount, "
                    "currency, reason, shipment_id, incident_id, claim_id, period_start, "
                    "period_end, decided_at, decided_by, position) VALUES (%s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    rewards,
                )
        evidence = [_evidence(item) for item in events if isinstance(item.event, _EVIDENCE)]
        if evidence:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO audit_evidence (aggregate_id, target, target_id, sha256, size, "
                    "media_type, file_name, attached_by, attached_at, position) VALUES (%s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    evidence,
                )
        events = [
            item
            for item in events
            if not isinstance(item.event, (*_REWARDS, Relationship.EvidenceAttached))
        ]
        if not events:
            return
        last: dict[UUID, ProjectedEvent] = {}
        shipment_events: list[ProjectedEvent] = []
        named: list[tuple[str, int, str]] = []
        refs: dict[tuple[UUID, str], tuple[str, int]] = {}
        for item in events:
            entry = _named(item.event)
            if entry is not None:
                named.append((entry[0], item.position, entry[1]))
                continue
            if not isinstance(item.event, Shipment.Event):
                continue
            shipment_events.append(item)
            sid = item.event.originator_id
            last[sid] = item
            if isinstance(item.event, Shipment.Booked):
                self._booked_position[sid] = item.position
            for ref, party in _event_refs(item.event):
                refs[sid, ref] = (party, item.position)
        with conn.cursor() as cur:
            if named:
                cur.executemany(
                    "INSERT INTO audit_party_name (party, position, name) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    named,
                )
            if refs:
                cur.executemany(
                    "INSERT INTO audit_party_ref (shipment_id, ref, party, position) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (shipment_id, ref) DO UPDATE SET "
                    "party = EXCLUDED.party, position = EXCLUDED.position",
                    [(sid, ref, party, position) for (sid, ref), (party, position) in refs.items()],
                )
        touched = self.shipments.apply(conn, shipment_events)
        if touched:
            self._write(conn, touched, {sid: last[sid] for sid in touched})

    def _names(
        self, conn: Connection, touched: dict[UUID, Shipment], positions: dict[UUID, int]
    ) -> dict[UUID, Names]:
        """The names of the touched shipments' parties as of the events that named them."""
        ids = list(touched)
        refs: dict[UUID, dict[str, PartyRef]] = {sid: {} for sid in ids}
        for sid, ref, party, position in conn.execute(
            "SELECT shipment_id, ref, party, position FROM audit_party_ref "
            "WHERE shipment_id = ANY(%s)",
            (ids,),
        ).fetchall():
            refs[sid][ref] = PartyRef(party, int(position))
        keys = {r.party for by_ref in refs.values() for r in by_ref.values()}
        for s in touched.values():
            keys |= {party_key(link.party) for link in s.links}
            keys |= {staff_key(who) for who in _staff_named(s)}
        keys = {k for k in keys if not k.startswith("branch:")}
        history: dict[str, list[tuple[int, str]]] = {}
        for party, position, name in conn.execute(
            "SELECT party, position, name FROM audit_party_name WHERE party = ANY(%s) "
            "ORDER BY party, position",
            (sorted(keys),),
        ).fetchall():
            history.setdefault(party, []).append((int(position), name))
        return {sid: Names(history, refs[sid], positions[sid]) for sid in ids}

    def _booked_at_position(self, conn: Connection, sid: UUID) -> int:
        if sid in self._booked_position:
            return self._booked_position.pop(sid)
        row = conn.execute(
            "SELECT booked_position FROM shipment_audit WHERE shipment_id = %s", (sid,)
        ).fetchone()
        if row is None:  # the booking is older than the model: find it in the log
            row = conn.execute(
                f"SELECT notification_id FROM {EVENTS_TABLE} "
                "WHERE originator_id = %s AND originator_version = 1",
                (sid,),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def _write(
        self,
        conn: Connection,
        touched: dict[UUID, Shipment],
        positions: dict[UUID, ProjectedEvent],
    ) -> None:
        ids = list(touched)
        names_of = self._names(conn, touched, {sid: p.position for sid, p in positions.items()})
        shipments: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        incidents: list[tuple[Any, ...]] = []
        claims: list[tuple[Any, ...]] = []
        exceptions: list[tuple[Any, ...]] = []
        breaches: list[tuple[Any, ...]] = []
        for sid, s in touched.items():
            last = positions[sid]
            names = names_of[sid]
            holder = s.current_custodian
            open_claims = [c for c in s.claims.values() if c.closed_at is None]
            shipments.append(
                (
                    sid,
                    s.customer_id,
                    s.reference,
                    s.origin,
                    s.destination,
                    s.status.value,
                    sorted({link.mode.value for link in s.links if link.mode}),
                    sorted({party_key(link.party) for link in s.links}),
                    party_key(holder.party) if holder else None,
                    s.booked_at,
                    s.delivered_at,
                    sum(1 for i in s.incidents.values() if not i.is_resolved),
                    len(open_claims),
                    json.dumps(_compensation_by_currency(s), default=_jsonable),
                    json.dumps(audit_view(s, names), default=_jsonable, ensure_ascii=False),
                    self._booked_at_position(conn, sid),
                    s.version,
                    last.position,
                    last.recorded_at,
                )
            )
            for link in s.links:
                links.append(
                    (
                        sid,
                        link.sequence,
                        link.function.value,
                        link.mode.value if link.mode else None,
                        party_key(link.party),
                        link.party.relationship_id,
                        link.regime.value,
                        link.status.value,
                        link.planned_end,
                        link.estimated_end,
                        link.completed_at,
                        link.custody_from,
                        link.custody_until,
                        link.received.condition.value if link.received else None,
                        link.released.condition.value if link.released else None,
                        names.party(link.party, link_ref(link.sequence)),
                        link.takes_custody,
                        *_cost_columns(s.link_cost(link.sequence)),
                    )
                )
            for i in s.incidents.values():
                party = i.responsible.party if i.responsible else None
                proposal = s.propose_responsibility(i.incident_id)
                proposed = proposal.party
                incidents.append(
                    (
                        sid,
                        i.incident_id,
                        i.link_sequence,
                        i.kind.value,
                        i.discovered_at,
                        i.responsibility_status.value,
                        party_key(party) if party else None,
                        party.relationship_id if party else None,
                        i.resolved_at,
                        party_key(proposed),
                        proposed.relationship_id,
                        i.assigned_at,
                        None
                        if party is None
                        else names.party(party, incident_ref(i.incident_id, "responsible")),
                        names.party(proposed, link_ref(proposal.link_sequence)),
                    )
                )
            for e in s.handover_exceptions():
                exceptions.append(
                    (
                        sid,
                        e.to_sequence if e.to_sequence is not None else e.from_sequence,
                        e.to_sequence is None,
                        e.handover.at,
                        e.handover.condition.value,
                        e.covered_by,
                        e.responsible.link_sequence,
                        party_key(e.responsible.party),
                        e.responsible.party.relationship_id,
                        names.party(e.responsible.party, link_ref(e.responsible.link_sequence)),
                    )
                )
            for b in s.condition_breaches():
                breaches.append(
                    (
                        sid,
                        b.to_sequence if b.to_sequence is not None else b.from_sequence,
                        b.to_sequence is None,
                        b.kind.value,
                        b.handover.at,
                        b.detail,
                        b.covered_by,
                        b.responsible.link_sequence,
                        party_key(b.responsible.party),
                        b.responsible.party.relationship_id,
                        names.party(b.responsible.party, link_ref(b.responsible.link_sequence)),
                    )
                )
            for c in s.claims.values():
                party, ref = _claim_party(s, c)
                claims.append(
                    (
                        sid,
                        c.claim_id,
                        c.incident_id,
                        c.currency,
                        c.amount,
                        c.notified_at,
                        party_key(party) if party else None,
                        party.relationship_id if party else None,
                        c.limit.amount if c.limit else None,
                        c.recovery_notice_deadline,
                        c.recovery_time_bar,
                        s.recovery_noticed_at(c),
                        c.assessment.customer_regime.value if c.assessment else None,
                        c.customer_notice_deadline,
                        c.customer_time_bar,
                        c.compensation_paid,
                        c.compensated_at,
                        c.recovery_from,
                        c.recovery_claimed,
                        c.recovery_received,
                        getattr(c, "recovery_waived", None) is not None,
                        c.closed_at,
                        None if party is None else names.party(party, ref),
                        _recovery_from_name(c, names),
                    )
                )
        with conn.cursor() as cur:
            for table in self.shipment_tables[1:]:
                cur.execute(f"DELETE FROM {table} WHERE shipment_id = ANY(%s)", (ids,))
            cur.executemany(
                "INSERT INTO shipment_audit (shipment_id, customer_id, reference, origin, "
                "destination, status, modes, parties, current_holder, booked_at, delivered_at, "
                "open_incidents, open_claims, compensation_paid, view, booked_position, version, "
                "position, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (shipment_id) DO UPDATE SET "
                "status = EXCLUDED.status, modes = EXCLUDED.modes, parties = EXCLUDED.parties, "
                "current_holder = EXCLUDED.current_holder, "
                "delivered_at = EXCLUDED.delivered_at, "
                "open_incidents = EXCLUDED.open_incidents, open_claims = EXCLUDED.open_claims, "
                "compensation_paid = EXCLUDED.compensation_paid, view = EXCLUDED.view, "
                "version = EXCLUDED.version, position = EXCLUDED.position, "
                "updated_at = EXCLUDED.updated_at",
                shipments,
            )
            if links:
                cur.executemany(
                    "INSERT INTO audit_link (shipment_id, sequence, function, mode, party, "
                    "partner_id, regime, status, planned_end, estimated_end, completed_at, "
                    "custody_from, custody_until, received_condition, released_condition, "
                    "party_name, takes_custody, planned_cost, planned_currency, actual_cost, "
                    "actual_currency, invoice_reference) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    links,
                )
            if incidents:
                cur.executemany(
                    "INSERT INTO audit_incident (shipment_id, incident_id, link_sequence, kind, "
                    "discovered_at, responsibility_status, responsible_party, "
                    "responsible_partner_id, resolved_at, proposed_party, proposed_partner_id, "
                    "assigned_at, responsible_party_name, proposed_party_name) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    incidents,
                )
            if exceptions:
                cur.executemany(
                    "INSERT INTO audit_handover_exception VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    exceptions,
                )
            if breaches:
                cur.executemany(
                    "INSERT INTO audit_condition_breach (shipment_id, link_sequence, "
                    "to_consignee, kind, handed_over_at, detail, covered_by, "
                    "responsible_link_sequence, responsible_party, responsible_partner_id, "
                    "responsible_party_name) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    breaches,
                )
            if claims:
                cur.executemany(
                    "INSERT INTO audit_claim (shipment_id, claim_id, incident_id, currency, "
                    "amount, notified_at, responsible_party, responsible_partner_id, "
                    "limit_amount, recovery_notice_deadline, recovery_time_bar, "
                    "recovery_noticed_at, customer_regime, customer_notice_deadline, "
                    "customer_time_bar, compensation_paid, compensated_at, recovery_from, "
                    "recovery_claimed, recovery_received, recovery_waived, closed_at, "
                    "responsible_party_name, recovery_from_name) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s)",
                    claims,
                )
