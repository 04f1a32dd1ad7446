"""The performance writer: what each staff member did, measured from the events, and the
incentives the rules propose and the managers decide.

A fact is one event credited to one registered staff member (partner users and actors
that are no registered staff are not measured):

- ``visit`` / ``call``: an interaction of that channel, credited to its ``staff``;
- ``follow_up_on_time`` / ``follow_up_late``: a completed follow-up, credited to its
  assignee, on time when completed no later than it was due;
- ``opportunity_advanced`` / ``opportunity_won``: a stage advanced, a win, credited to
  whoever did it (the event's actor);
- ``sla_kept`` / ``sla_breached``: a case's first response, credited to the responder,
  kept when given no later than it was due (``ServiceCase.first_response_breached``);
- ``satisfaction_rated``: a case's rating, credited to the case's owner (else its first
  responder): the satisfaction of the customers they serve;
- ``shipment_incident``: an incident reported on a shipment, credited to whoever booked it
  (its subject: the incident).

Each fact carries the staff member's branch as it was, and the ISO week and month it falls
in, in that branch's time zone as it was (its registration, or its change), else the
company's. A fact whose measure the incentive rules in force (the latest set before it in
the log) give points for carries them and its proposal's id (``fact_proposal_id``: of the
measure and the subject, so whoever decides it can name it). Every row follows from the
events in log order alone, whatever the batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from domain.branch import Branch
from domain.follow_up import FollowUp
from domain.incentive import (
    RULES_ID,
    Incentive,
    IncentiveRules,
    Measure,
    clean_month_proposal_id,
    fact_proposal_id,
    proposed_points,
)
from domain.opportunity import Opportunity
from domain.relationship import Channel, Relationship
from domain.service_case import ServiceCase
from domain.shipment import Shipment
from domain.staff import Staff
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.performance.migration import MIGRATION

#: The company's time zone: a fact of a staff member whose branch the log holds no time
#: zone for is counted in it.
COMPANY_TIME_ZONE = "Asia/Shanghai"

#: The measures of facts, in the order reads show them.
FACT_MEASURES = (
    "visit",
    "call",
    "follow_up_on_time",
    "follow_up_late",
    "opportunity_advanced",
    "opportunity_won",
    "sla_kept",
    "sla_breached",
    "satisfaction_rated",
    "shipment_incident",
)

#: The facts the incentive rules may give points for, and the rule of each.
RULED: dict[str, Measure] = {
    "opportunity_won": Measure.OPPORTUNITY_WON,
    "sla_kept": Measure.SLA_KEPT,
    "sla_breached": Measure.SLA_BREACHED,
    "shipment_incident": Measure.SHIPMENT_INCIDENT,
}

_TOPICS = (
    "Staff.Registered",
    "Staff.BranchChanged",
    "Branch.Registered",
    "Branch.Changed",
    "IncentiveRules.",
    "Incentive.",
    "Relationship.InteractionLogged",
    "FollowUp.Scheduled",
    "FollowUp.Assigned",
    "FollowUp.Rescheduled",
    "FollowUp.Completed",
    "Opportunity.StageAdvanced",
    "Opportunity.Won",
    "ServiceCase.Opened",
    "ServiceCase.Assigned",
    "ServiceCase.Escalated",
    "ServiceCase.FirstResponseGiven",
    "ServiceCase.SatisfactionRated",
    "Shipment.Booked",
    "Shipment.IncidentReported",
)

FACT_COLUMNS = (
    "position",
    "staff_id",
    "branch",
    "measure",
    "occurred_at",
    "month",
    "week",
    "subject_id",
    "source",
    "rating",
    "points",
    "proposal_id",
)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def periods(moment: datetime, zone_name: str) -> tuple[str, str]:
    """The calendar month (YYYY-MM) and ISO week (YYYY-Www) ``moment`` falls in, in the
    time zone ``zone_name``."""
    local = moment.astimezone(_zone(zone_name))
    year, week, _ = local.isocalendar()
    return f"{local.year:04d}-{local.month:02d}", f"{year:04d}-W{week:02d}"


class _State:
    """What the writer keeps to measure, as loaded for one batch and changed by it."""

    def __init__(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        ids = list({item.event.originator_id for item in events})
        with conn.pipeline():  # the six reads in one round trip
            staff = conn.execute("SELECT staff_id, name, branch FROM performance_staff")
            zones = conn.execute("SELECT code, time_zone FROM performance_branch")
            rules = conn.execute(
                "SELECT points FROM performance_rules WHERE rules_id = %s", (RULES_ID,)
            )
            follow_ups = conn.execute(
                "SELECT follow_up_id, assignee, due_at FROM performance_follow_up "
                "WHERE follow_up_id = ANY(%s)",
                (ids,),
            )
            cases = conn.execute(
                "SELECT case_id, owner, responder, first_response_due FROM performance_case "
                "WHERE case_id = ANY(%s)",
                (ids,),
            )
            shipments = conn.execute(
                "SELECT shipment_id, reference, booked_by FROM performance_shipment "
                "WHERE shipment_id = ANY(%s)",
                (ids,),
            )
        self.staff: dict[str, tuple[str, str]] = {r[0]: (r[1], r[2]) for r in staff}
        self.zones: dict[str, str] = dict(zones.fetchall())
        row = rules.fetchone()
        self.rules: dict[str, int] | None = None if row is None else dict(row[0])
        self.follow_ups: dict[UUID, list[Any]] = {r[0]: [r[1], r[2]] for r in follow_ups}
        self.cases: dict[UUID, list[Any]] = {r[0]: [r[1], r[2], r[3]] for r in cases}
        self.shipments: dict[UUID, tuple[str, str]] = {r[0]: (r[1], r[2]) for r in shipments}
        self.rules_position: int | None = None
        self.staff_changed: set[str] = set()
        self.zones_changed: set[str] = set()
        self.facts: list[dict[str, Any]] = []
        self.incentives: list[dict[str, Any]] = []


class PerformanceProjection(BatchProjection):
    name = "performance"
    migration = MIGRATION
    tables = (
        "performance_staff",
        "performance_branch",
        "performance_follow_up",
        "performance_case",
        "performance_shipment",
        "performance_rules",
        "performance_fact",
        "performance_month",
        "performance_incentive",
    )

    def handles(self, topic: str) -> bool:
        return topic.startswith(_TOPICS)

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        state = _State(conn, events)
        for item in events:
            _apply(state, item)
        _save(conn, state)


def _fact(
    state: _State,
    item: ProjectedEvent,
    staff_id: str | None,
    measure: str,
    subject_id: UUID,
    source: str,
    rating: int | None = None,
) -> None:
    if staff_id is None or staff_id not in state.staff:
        return
    branch = state.staff[staff_id][1]
    month, week = periods(item.event.occurred_at, state.zones.get(branch, COMPANY_TIME_ZONE))
    points = proposed_points(state.rules, RULED[measure]) if measure in RULED else None
    state.facts.append(
        {
            "position": item.position,
            "staff_id": staff_id,
            "branch": branch,
            "measure": measure,
            "occurred_at": item.event.occurred_at,
            "month": month,
            "week": week,
            "subject_id": subject_id,
            "source": source,
            "rating": rating,
            "points": points,
            "proposal_id": None if points is None else fact_proposal_id(RULED[measure], subject_id),
        }
    )


def _apply(state: _State, item: ProjectedEvent) -> None:
    e = item.event
    oid = e.originator_id
    if isinstance(e, Staff.Registered):
        if e.partner_id is None:
            state.staff[e.staff_id] = (e.name, e.branch)
            state.staff_changed.add(e.staff_id)
    elif isinstance(e, Staff.BranchChanged):
        for staff_id, (name, _) in list(state.staff.items()):
            if Staff.id_for(staff_id) == oid:
                state.staff[staff_id] = (name, e.branch)
                state.staff_changed.add(staff_id)
    elif isinstance(e, Branch.Registered):
        state.zones[e.code] = e.time_zone
        state.zones_changed.add(e.code)
    elif isinstance(e, Branch.Changed):
        if "time_zone" in e.changes:
            for code in state.zones:
                if Branch.id_for(code) == oid:
                    state.zones[code] = e.changes["time_zone"]
                    state.zones_changed.add(code)
    elif isinstance(e, IncentiveRules.Set | IncentiveRules.Changed):
        state.rules = dict(e.points)
        state.rules_position = item.position
    elif isinstance(e, Incentive.Confirmed | Incentive.Rejected):
        state.incentives.append(
            {
                "proposal_id": oid,
                "decision": "confirmed" if isinstance(e, Incentive.Confirmed) else "rejected",
                "staff_id": e.staff_id,
                "branch": e.branch,
                "measure": e.measure,
                "points": e.points,
                "period": e.period,
                "source": e.source,
                "reason": e.reason,
                "decided_by": e.actor,
                "decided_at": e.occurred_at,
                "position": item.position,
            }
        )
    elif isinstance(e, Relationship.InteractionLogged):
        if e.channel in (Channel.VISIT.value, Channel.CALL.value):
            _fact(state, item, e.staff, e.channel, oid, f"{e.channel} {e.interaction_id}")
    elif isinstance(e, FollowUp.Scheduled):
        state.follow_ups[oid] = [e.assignee, e.due_at]
    elif isinstance(e, FollowUp.Assigned):
        if oid in state.follow_ups:
            state.follow_ups[oid][0] = e.assignee
    elif isinstance(e, FollowUp.Rescheduled):
        if oid in state.follow_ups:
            state.follow_ups[oid][1] = e.due_at
    elif isinstance(e, FollowUp.Completed):
        if oid in state.follow_ups:
            assignee, due_at = state.follow_ups[oid]
            measure = "follow_up_on_time" if e.occurred_at <= due_at else "follow_up_late"
            _fact(state, item, assignee, measure, oid, f"follow-up {oid}")
    elif isinstance(e, Opportunity.StageAdvanced):
        _fact(state, item, e.actor, "opportunity_advanced", oid, f"opportunity {oid}")
    elif isinstance(e, Opportunity.Won):
        _fact(state, item, e.actor, "opportunity_won", oid, f"opportunity {oid}")
    elif isinstance(e, ServiceCase.Opened):
        state.cases[oid] = [None, None, e.first_response_due]
    elif isinstance(e, ServiceCase.Assigned):
        if oid in state.cases:
            state.cases[oid][0] = e.owner
    elif isinstance(e, ServiceCase.Escalated):
        if oid in state.cases:
            state.cases[oid][2] = e.first_response_due
    elif isinstance(e, ServiceCase.FirstResponseGiven):
        if oid in state.cases:
            state.cases[oid][1] = e.actor
            # As ServiceCase.first_response_breached: answered after it was due.
            kept = e.occurred_at <= state.cases[oid][2]
            measure = "sla_kept" if kept else "sla_breached"
            _fact(state, item, e.actor, measure, oid, f"case {oid}")
    elif isinstance(e, ServiceCase.SatisfactionRated):
        if oid in state.cases:
            owner, responder, _ = state.cases[oid]
            served = owner or responder
            _fact(state, item, served, "satisfaction_rated", oid, f"case {oid}", e.rating)
    elif isinstance(e, Shipment.Booked):
        state.shipments[oid] = (e.reference, e.actor)
    elif isinstance(e, Shipment.IncidentReported) and oid in state.shipments:
        reference, booked_by = state.shipments[oid]
        _fact(
            state,
            item,
            booked_by,
            "shipment_incident",
            e.incident_id,
            f"shipment {reference}: {e.incident_kind}",
        )


def _save(conn: Connection, state: _State) -> None:
    # One pipeline: the writes go to the server together, in one round trip.
    with conn.pipeline(), conn.cursor() as cur:
        if state.staff_changed:
            cur.executemany(
                "INSERT INTO performance_staff (staff_id, name, branch) VALUES (%s, %s, %s) "
                "ON CONFLICT (staff_id) DO UPDATE SET name = EXCLUDED.name, "
                "branch = EXCLUDED.branch",
                [(s, *state.staff[s]) for s in sorted(state.staff_changed)],
            )
        if state.zones_changed:
            cur.executemany(
                "INSERT INTO performance_branch (code, time_zone) VALUES (%s, %s) "
                "ON CONFLICT (code) DO UPDATE SET time_zone = EXCLUDED.time_zone",
                [(c, state.zones[c]) for c in sorted(state.zones_changed)],
            )
        if state.rules_position is not None:
            cur.execute(
                "INSERT INTO performance_rules (rules_id, points, position) VALUES (%s, %s, %s) "
                "ON CONFLICT (rules_id) DO UPDATE SET points = EXCLUDED.points, "
                "position = EXCLUDED.position",
                (RULES_ID, Jsonb(state.rules), state.rules_position),
            )
        cur.executemany(
            "INSERT INTO performance_follow_up (follow_up_id, assignee, due_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (follow_up_id) DO UPDATE SET "
            "assignee = EXCLUDED.assignee, due_at = EXCLUDED.due_at",
            [(k, *v) for k, v in state.follow_ups.items()],
        )
        cur.executemany(
            "INSERT INTO performance_case (case_id, owner, responder, first_response_due) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (case_id) DO UPDATE SET "
            "owner = EXCLUDED.owner, responder = EXCLUDED.responder, "
            "first_response_due = EXCLUDED.first_response_due",
            [(k, *v) for k, v in state.cases.items()],
        )
        cur.executemany(
            "INSERT INTO performance_shipment (shipment_id, reference, booked_by) "
            "VALUES (%s, %s, %s) ON CONFLICT (shipment_id) DO NOTHING",
            [(k, *v) for k, v in state.shipments.items()],
        )
        if state.facts:
            cur.executemany(
                f"INSERT INTO performance_fact ({', '.join(FACT_COLUMNS)}) "
                f"VALUES ({', '.join('%(' + c + ')s' for c in FACT_COLUMNS)})",
                state.facts,
            )
            months: dict[tuple[str, str], list[Any]] = {}
            for f in state.facts:
                month = months.setdefault((f["staff_id"], f["month"]), [f["branch"], 0, 0, 0])
                month[0] = f["branch"]
                month[1] += 1
                month[2] += f["measure"] == "sla_breached"
                month[3] += f["measure"] == "shipment_incident"
            cur.executemany(
                "INSERT INTO performance_month (proposal_id, staff_id, month, branch, facts, "
                "breaches, incidents) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (staff_id, month) DO UPDATE SET branch = EXCLUDED.branch, "
                "facts = performance_month.facts + EXCLUDED.facts, "
                "breaches = performance_month.breaches + EXCLUDED.breaches, "
                "incidents = performance_month.incidents + EXCLUDED.incidents",
                [
                    (clean_month_proposal_id(staff_id, month), staff_id, month, *values)
                    for (staff_id, month), values in months.items()
                ],
            )
        if state.incentives:
            columns = list(state.incentives[0])
            cur.executemany(
                f"INSERT INTO performance_incentive ({', '.join(columns)}) "
                f"VALUES ({', '.join('%(' + c + ')s' for c in columns)})",
                state.incentives,
            )
