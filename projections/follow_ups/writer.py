"""The follow-ups writer: one row per follow-up — its subject, kind, assignee, due time and
state — as the ``FollowUp`` aggregate says after each batch.

Whether an open follow-up is overdue depends on the time of asking, not on an event: the
row keeps its due time and a read compares it with the time of asking
(``queries.overdue``).

A follow-up's note is its relationship's notes (``domain.follow_up.NOTE_FIELDS``): when they
are erased (``Relationship.PersonalDataErased`` of the relationship's notes subject) the
notes of the relationship's follow-ups read ``ERASED``, as a rebuild from the log finds
them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Mapper

from domain.follow_up import FollowUp
from domain.personal import ERASED
from projections.aggregate_rows import AggregatesOfBatch, write_rows
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.erasure import Erasure, is_erasure
from projections.follow_ups.migration import MIGRATION

COLUMNS = (
    "follow_up_id",
    "relationship_id",
    "subject_kind",
    "subject_id",
    "kind",
    "due_at",
    "assignee",
    "note",
    "state",
    "care_plan_id",
    "scheduled_at",
    "scheduled_by",
    "closed_at",
    "closed_by",
    "interaction_id",
    "outcome",
    "cancel_reason",
    "scheduled_position",
    "version",
    "position",
    "updated_at",
)
_SCHEDULED_ONLY = (
    "follow_up_id",
    "relationship_id",
    "subject_kind",
    "subject_id",
    "kind",
    "note",
    "care_plan_id",
    "scheduled_at",
    "scheduled_by",
    "scheduled_position",
)
_CHANGED = tuple(c for c in COLUMNS if c not in _SCHEDULED_ONLY)


def row_of(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "follow_up_id": follow_up.id,
        "relationship_id": follow_up.relationship_id,
        "subject_kind": follow_up.subject_kind.value,
        "subject_id": follow_up.subject_id,
        "kind": follow_up.kind.value,
        "due_at": follow_up.due_at,
        "assignee": follow_up.assignee,
        "note": follow_up.note,
        "state": follow_up.state.value,
        "care_plan_id": follow_up.care_plan_id,
        "scheduled_at": follow_up.scheduled_at,
        "scheduled_by": follow_up.scheduled_by,
        "closed_at": follow_up.closed_at,
        "closed_by": follow_up.closed_by,
        "interaction_id": follow_up.interaction_id,
        "outcome": follow_up.outcome,
        "cancel_reason": follow_up.cancel_reason,
        "version": follow_up.version,
    }


class FollowUpsProjection(BatchProjection):
    name = "follow_ups"
    migration = MIGRATION
    tables = ("follow_up",)

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.follow_ups = AggregatesOfBatch(mapper, FollowUp)

    def handles(self, topic: str) -> bool:
        return topic.startswith("FollowUp.") or topic == "Relationship.PersonalDataErased"

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        # Erasures cut the batch: the follow-ups before one are written before it rewrites
        # their notes, and those after it are replayed from the log (notes erased).
        run: list[ProjectedEvent] = []
        for item in events:
            if is_erasure(item.event):
                self._apply_follow_ups(conn, run)
                run = []
                self._erase(conn, Erasure.of(item.event))
            else:
                run.append(item)
        self._apply_follow_ups(conn, run)

    def _erase(self, conn: Connection, erasure: Erasure) -> None:
        """The notes of the relationship's follow-ups, if its notes were erased (a
        follow-up's note names no contact)."""
        if not erasure.notes_of(None):
            return
        self.follow_ups.forget()  # the aggregates kept between batches hold the notes
        conn.execute(
            "UPDATE follow_up SET note = %s WHERE relationship_id = %s AND note IS NOT NULL",
            (ERASED, erasure.aggregate_id),
        )

    def _apply_follow_ups(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        if not events:
            return
        scheduled = {
            item.event.originator_id: item.position
            for item in events
            if item.event.originator_version == 1
        }
        last = {item.event.originator_id: item for item in events}
        created, changed = [], []
        for fid, follow_up in self.follow_ups.apply(conn, events).items():
            row = row_of(follow_up) | {
                "position": last[fid].position,
                "updated_at": last[fid].recorded_at,
            }
            if fid in scheduled:
                created.append(row | {"scheduled_position": scheduled[fid]})
            else:
                changed.append(row)
        write_rows(
            conn,
            "follow_up",
            "follow_up_id",
            created,
            changed,
            created_columns=COLUMNS,
            changed_columns=_CHANGED,
        )
