"""The full-chain responsibility audit: per shipment, who held the goods and answered for
each link, what went wrong where, who compensated whom.

The projection derives everything from the ``Shipment`` aggregate itself: for each
shipment touched by a batch it brings the aggregate to the batch's end (from a cache of
aggregates kept between batches, or by replaying the shipment's events) and writes what
the aggregate says. So the audit view can never disagree with the domain's own rules of
custody and responsibility. Apply methods never check invariants, so a history that
breaks them (an altered log, a historic bug) is still projected, and the findings show it.

Tables: ``shipment_audit`` (one row and the full view as JSON per shipment),
``audit_link``, ``audit_incident`` and ``audit_claim`` (one row per link, incident and
claim, for the scorecard and the findings, which are computed when asked because most of
them depend on the time of asking).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from application.schema import EVENTS_TABLE, Migration
from domain.shipment import Claim, Handover, Incident, Link, Party, Shipment
from projections.aggregate_rows import AggregatesOfBatch
from projections.engine import BatchProjection, Connection, ProjectedEvent

MIGRATION = Migration(
    "0004_responsibility_audit",
    "full-chain responsibility audit read model",
    [
        """
        CREATE TABLE shipment_audit (
            shipment_id uuid PRIMARY KEY,
            customer_id uuid NOT NULL,
            reference text NOT NULL,
            origin text NOT NULL,
            destination text NOT NULL,
            status text NOT NULL,
            modes text[] NOT NULL,
            parties text[] NOT NULL,
            current_holder text,
            booked_at timestamptz NOT NULL,
            delivered_at timestamptz,
            open_incidents integer NOT NULL,
            open_claims integer NOT NULL,
            compensation_paid jsonb NOT NULL,
            view jsonb NOT NULL,
            booked_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX shipment_audit_customer_idx ON shipment_audit (customer_id)",
        "CREATE INDEX shipment_audit_status_idx ON shipment_audit (status, booked_position)",
        "CREATE INDEX shipment_audit_parties_idx ON shipment_audit USING gin (parties)",
        """
        CREATE TABLE audit_link (
            shipment_id uuid NOT NULL,
            sequence integer NOT NULL,
            function text NOT NULL,
            mode text,
            party text NOT NULL,
            partner_id uuid,
            regime text NOT NULL,
            status text NOT NULL,
            planned_end timestamptz NOT NULL,
            estimated_end timestamptz,
            completed_at timestamptz,
            custody_from timestamptz,
            custody_until timestamptz,
            received_condition text,
            released_condition text,
            PRIMARY KEY (shipment_id, sequence)
        )
        """,
        "CREATE INDEX audit_link_partner_idx ON audit_link (partner_id)",
        """
        CREATE TABLE audit_incident (
            shipment_id uuid NOT NULL,
            incident_id uuid NOT NULL,
            link_sequence integer NOT NULL,
            kind text NOT NULL,
            discovered_at timestamptz NOT NULL,
            responsibility_status text NOT NULL,
            responsible_party text,
            responsible_partner_id uuid,
            resolved_at timestamptz,
            PRIMARY KEY (shipment_id, incident_id)
        )
        """,
        "CREATE INDEX audit_incident_partner_idx ON audit_incident (responsible_partner_id)",
        """
        CREATE TABLE audit_claim (
            shipment_id uuid NOT NULL,
            claim_id uuid NOT NULL,
            incident_id uuid NOT NULL,
            currency text NOT NULL,
            amount numeric NOT NULL,
            notified_at timestamptz NOT NULL,
            responsible_party text,
            responsible_partner_id uuid,
            limit_amount numeric,
            notice_deadline timestamptz,
            time_bar timestamptz,
            compensation_paid numeric,
            compensated_at timestamptz,
            recovery_from uuid,
            recovery_claimed numeric,
            recovery_received numeric,
            recovery_waived boolean NOT NULL,
            closed_at timestamptz,
            PRIMARY KEY (shipment_id, claim_id)
        )
        """,
        "CREATE INDEX audit_claim_recovery_idx ON audit_claim (recovery_from)",
    ],
)

#: How many shipments the projection keeps between batches, to avoid replaying them.
CACHE_SIZE = 5_000


def party_key(party: Party) -> str:
    """A party as one string: ``branch:<name>`` or ``partner:<relationship id>``."""
    return f"branch:{party.branch}" if party.branch else f"partner:{party.relationship_id}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(type(value))


def _party(party: Party | None) -> dict[str, Any] | None:
    if party is None:
        return None
    return {
        "key": party_key(party),
        "kind": party.kind.value,
        "branch": party.branch,
        "relationship_id": party.relationship_id,
    }


def _handover(h: Handover | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "at": h.at,
        "condition": h.condition.value,
        "signed_by": h.signed_by,
        "reference": h.reference,
        "remarks": h.remarks,
    }


def _link(link: Link) -> dict[str, Any]:
    return {
        "sequence": link.sequence,
        "function": link.function.value,
        "mode": link.mode.value if link.mode else None,
        "party": _party(link.party),
        "regime": link.regime.value,
        "status": link.status.value,
        "planned_start": link.planned_start,
        "planned_end": link.planned_end,
        "estimated_end": link.estimated_end,
        "started_at": link.started_at,
        "completed_at": link.completed_at,
        "custody_from": link.custody_from,
        "custody_until": link.custody_until,
        "handover_in": _handover(link.received),
        "handover_out": _handover(link.released),
    }


def _incident(i: Incident) -> dict[str, Any]:
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
        "coordination": [
            {"action": a.action, "taken_by": a.taken_by, "taken_at": a.taken_at} for a in i.actions
        ],
        "responsibility_status": i.responsibility_status.value,
        "responsible": None
        if r is None
        else {
            "link_sequence": r.link_sequence,
            "party": _party(r.party),
            "basis": r.basis.value,
            "explanation": r.explanation,
        },
        "dispute_reason": i.dispute_reason,
        "arbitration_decision": i.arbitration_decision,
        "resolution": i.resolution,
        "resolved_at": i.resolved_at,
    }


def _claim(c: Claim) -> dict[str, Any]:
    limit = c.limit
    return {
        "claim_id": c.claim_id,
        "incident_id": c.incident_id,
        "status": c.status.value,
        "amount": c.amount,
        "currency": c.currency,
        "notified_at": c.notified_at,
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
        "notice_deadline": c.notice_deadline,
        "time_bar": c.time_bar,
        "compensation_paid": c.compensation_paid,
        "compensated_at": c.compensated_at,
        "recovery_from": c.recovery_from,
        "recovery_claimed": c.recovery_claimed,
        "recovery_received": c.recovery_received,
        "recovery_waived": getattr(c, "recovery_waived", None),
        "net_cost": c.net_cost,
        "closed_at": c.closed_at,
    }


def audit_view(s: Shipment) -> dict[str, Any]:
    """The auditor's view of one shipment, as stored in ``shipment_audit.view``."""
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
        else {"link_sequence": holder.sequence, "party": _party(holder.party)},
        "chain": [_link(link) for link in s.links],
        "incidents": [_incident(i) for i in s.incidents.values()],
        "claims": [_claim(c) for c in s.claims.values()],
        "delivered_at": s.delivered_at,
        "evaluation": None
        if s.evaluation is None
        else {
            "on_time": s.evaluation.on_time,
            "rating": s.evaluation.rating,
            "remarks": s.evaluation.remarks,
        },
        "cancellation": None
        if s.cancellation is None
        else {"reason": s.cancellation.reason, "cancelled_at": s.cancellation.cancelled_at},
        "version": s.version,
    }


def _claim_party(s: Shipment, c: Claim) -> Party | None:
    if c.assessment is not None:
        return c.assessment.party
    incident = s.incidents.get(c.incident_id)
    return incident.responsible.party if incident and incident.responsible else None


def _compensation_by_currency(s: Shipment) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for c in s.claims.values():
        if c.compensation_paid is not None:
            paid[c.currency] = paid.get(c.currency, Decimal(0)) + c.compensation_paid
    return paid


class ResponsibilityProjection(BatchProjection):
    name = "responsibility_audit"
    migration = MIGRATION
    tables = ("shipment_audit", "audit_link", "audit_incident", "audit_claim")

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.shipments = AggregatesOfBatch(mapper, Shipment, cache_size=CACHE_SIZE)
        self._booked_position: dict[UUID, int] = {}

    def handles(self, topic: str) -> bool:
        return topic.startswith("Shipment.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        last: dict[UUID, ProjectedEvent] = {}
        for item in events:
            last[item.event.originator_id] = item
            if isinstance(item.event, Shipment.Booked):
                self._booked_position[item.event.originator_id] = item.position
        touched = self.shipments.apply(conn, events)
        self._write(conn, touched, {sid: last[sid] for sid in touched})

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
        shipments: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        incidents: list[tuple[Any, ...]] = []
        claims: list[tuple[Any, ...]] = []
        for sid, s in touched.items():
            last = positions[sid]
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
                    json.dumps(audit_view(s), default=_jsonable, ensure_ascii=False),
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
                    )
                )
            for i in s.incidents.values():
                party = i.responsible.party if i.responsible else None
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
                    )
                )
            for c in s.claims.values():
                party = _claim_party(s, c)
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
                        c.notice_deadline,
                        c.time_bar,
                        c.compensation_paid,
                        c.compensated_at,
                        c.recovery_from,
                        c.recovery_claimed,
                        c.recovery_received,
                        getattr(c, "recovery_waived", None) is not None,
                        c.closed_at,
                    )
                )
        with conn.cursor() as cur:
            for table in ("audit_link", "audit_incident", "audit_claim"):
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
                    "INSERT INTO audit_link VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    links,
                )
            if incidents:
                cur.executemany(
                    "INSERT INTO audit_incident VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    incidents,
                )
            if claims:
                cur.executemany(
                    "INSERT INTO audit_claim VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s)",
                    claims,
                )
