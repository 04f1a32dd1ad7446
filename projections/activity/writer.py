"""The activity writer: contacts and their changes, interactions and care actions.

Each contact lifetime is a row of ``activity_contact`` keyed by the position of its
addition (a contact id removed and added again is a new lifetime), and each change of it
a row of ``activity_contact_change`` with the fields before and after, who changed it and
when. Each interaction and care action is a row of ``activity_entry``, keyed by its log
position. ``activity_relationship`` keeps what the activity reads scope by: the branch,
the kind and the account team. Every row follows from the events alone, in log order,
whatever the batches (times are the events' business and recording times).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from domain.personal import ERASED
from domain.relationship import Relationship
from projections.activity.migration import MIGRATION
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.erasure import Erasure, erased, is_erasure

R = Relationship

#: The fields of a contact whose changes its history shows, in this order.
CONTACT_FIELDS = ("name", "title", "phone", "email")

_RELATIONSHIP_COLUMNS = ("relationship_id", "name", "kind", "branch", "field_rep", "office_rep")

_UPSERT_RELATIONSHIP = (
    f"INSERT INTO activity_relationship ({', '.join(_RELATIONSHIP_COLUMNS)}) "
    f"VALUES ({', '.join('%(' + c + ')s' for c in _RELATIONSHIP_COLUMNS)}) "
    "ON CONFLICT (relationship_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _RELATIONSHIP_COLUMNS[1:])
)

_KIND_AFTER = {
    R.QualifiedAsTarget: "target",
    R.ReturnedToProspect: "prospect",
    R.BecameCustomer: "customer",
}


def contact_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two states of a contact: each field, before and after."""
    return [
        {"field": f, "before": before.get(f), "after": after.get(f)}
        for f in CONTACT_FIELDS
        if before.get(f) != after.get(f)
    ]


def relationship_row(row: dict[str, Any] | None, event: Any) -> dict[str, Any] | None:
    """The scoping row of a relationship after one event (``None`` while there is none)."""
    if isinstance(event, R.Registered):
        return {
            "relationship_id": event.originator_id,
            "name": event.name,
            "kind": event.kind,
            "branch": event.branch,
            "field_rep": None,
            "office_rep": None,
        }
    if row is None:
        return None
    if isinstance(event, R.Renamed):
        row["name"] = event.name
    elif type(event) in _KIND_AFTER:
        row["kind"] = _KIND_AFTER[type(event)]
    elif isinstance(event, R.MovedToBranch):
        row["branch"] = event.branch
    elif isinstance(event, R.AccountTeamAssigned):
        row["field_rep"] = event.field_rep
        row["office_rep"] = event.office_rep
    return row


class ActivityProjection(BatchProjection):
    name = "activity"
    migration = MIGRATION
    tables = (
        "activity_relationship",
        "activity_contact",
        "activity_contact_change",
        "activity_entry",
    )

    def handles(self, topic: str) -> bool:
        return topic.startswith("Relationship.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        ids = list({item.event.originator_id for item in events})
        rows: dict[Any, dict[str, Any] | None] = dict.fromkeys(ids)
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT {', '.join(_RELATIONSHIP_COLUMNS)} FROM activity_relationship "
                "WHERE relationship_id = ANY(%s)",
                (ids,),
            )
            for values in cur.fetchall():
                rows[values[0]] = dict(zip(_RELATIONSHIP_COLUMNS, values, strict=True))
        entries: list[dict[str, Any]] = []
        for item in events:
            e = item.event
            rid = e.originator_id
            rows[rid] = relationship_row(rows[rid], e)
            if isinstance(e, R.InteractionLogged | R.CustomerCareRecorded):
                entries.append(_entry(item))
            elif isinstance(e, R.ContactAdded):
                _contact_added(conn, item)
            elif isinstance(e, R.ContactChanged):
                _contact_changed(conn, item)
            elif isinstance(e, R.ContactRemoved):
                _contact_removed(conn, item)
            elif is_erasure(e):
                _erase(conn, Erasure.of(e), entries)
        with conn.pipeline(), conn.cursor() as cur:  # the writes in one round trip
            cur.executemany(_UPSERT_RELATIONSHIP, [r for r in rows.values() if r is not None])
            if entries:
                columns = list(entries[0])
                cur.executemany(
                    f"INSERT INTO activity_entry ({', '.join(columns)}) "
                    f"VALUES ({', '.join('%(' + c + ')s' for c in columns)})",
                    entries,
                )


def _entry(item: ProjectedEvent) -> dict[str, Any]:
    e = item.event
    interaction = isinstance(e, R.InteractionLogged)
    return {
        "position": item.position,
        "relationship_id": e.originator_id,
        "kind": "interaction" if interaction else "care",
        "entry_id": e.interaction_id if interaction else e.care_id,
        "occurred_at": e.occurred_at,
        "recorded_at": item.recorded_at,
        "channel": e.channel if interaction else None,
        "direction": e.direction if interaction else None,
        "care_kind": None if interaction else e.care_kind,
        "summary": e.summary if interaction else e.note,
        "staff": e.staff,
        "contact_id": e.contact_id if interaction else None,
        "actor": e.actor,
    }


def _record_change(
    conn: Connection,
    item: ProjectedEvent,
    added_position: int,
    change: str,
    changes: list[dict[str, Any]],
) -> None:
    e = item.event
    conn.execute(
        "INSERT INTO activity_contact_change (position, relationship_id, added_position, "
        "change, actor, occurred_at, recorded_at, changes) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            item.position,
            e.originator_id,
            added_position,
            change,
            e.actor,
            e.occurred_at,
            item.recorded_at,
            Jsonb(changes),
        ),
    )


def _contact_added(conn: Connection, item: ProjectedEvent) -> None:
    e = item.event
    contact = e.contact
    conn.execute(
        "INSERT INTO activity_contact (relationship_id, added_position, contact_id, name, "
        "title, phone, email, added_at, added_by, position) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            e.originator_id,
            item.position,
            contact["contact_id"],
            contact["name"],
            contact.get("title"),
            contact.get("phone"),
            contact.get("email"),
            e.occurred_at,
            e.actor,
            item.position,
        ),
    )
    _record_change(conn, item, item.position, "added", contact_changes({}, contact))


def _current(conn: Connection, item: ProjectedEvent, contact_id: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT added_position, name, title, phone, email FROM activity_contact "
        "WHERE relationship_id = %s AND contact_id = %s AND removed_position IS NULL",
        (item.event.originator_id, contact_id),
    ).fetchone()


def _contact_changed(conn: Connection, item: ProjectedEvent) -> None:
    e = item.event
    contact = e.contact
    current = _current(conn, item, contact["contact_id"])
    if current is None:
        return  # only possible for a log that does not hold the contact's addition
    added_position, *values = current
    before = dict(zip(CONTACT_FIELDS, values, strict=True))
    conn.execute(
        "UPDATE activity_contact SET name = %s, title = %s, phone = %s, email = %s, "
        "position = %s WHERE relationship_id = %s AND added_position = %s",
        (
            contact["name"],
            contact.get("title"),
            contact.get("phone"),
            contact.get("email"),
            item.position,
            e.originator_id,
            added_position,
        ),
    )
    _record_change(conn, item, added_position, "changed", contact_changes(before, contact))


def _contact_removed(conn: Connection, item: ProjectedEvent) -> None:
    e = item.event
    current = _current(conn, item, e.contact_id)
    if current is None:
        return
    conn.execute(
        "UPDATE activity_contact SET removed_position = %s, removed_at = %s, removed_by = %s, "
        "position = %s WHERE relationship_id = %s AND added_position = %s",
        (item.position, e.occurred_at, e.actor, item.position, e.originator_id, current[0]),
    )
    _record_change(conn, item, current[0], "removed", [])


def _erase(conn: Connection, erasure: Erasure, pending: list[dict[str, Any]]) -> None:
    """The subject's erased fields read ``ERASED`` in every row that copied them: the
    contact's lifetimes and their changes (a change that no longer shows a difference is
    dropped, as a rebuild finds none), and the notes of its visits (of the relationship's
    visits naming no contact and of its care actions, for its notes)."""
    rid = erasure.aggregate_id
    if erasure.notes:
        contact_id = erasure.contact_id
        for entry in pending:
            if entry["relationship_id"] == rid and erasure.notes_of(entry["contact_id"]):
                entry["summary"] = ERASED
        conn.execute(
            "UPDATE activity_entry SET summary = %s WHERE relationship_id = %s "
            "AND contact_id IS NOT DISTINCT FROM %s",
            (ERASED, rid, contact_id),
        )
    fields = erasure.contact_fields
    if not fields:
        return
    conn.execute(
        "UPDATE activity_contact SET "
        + ", ".join(f"{f} = CASE WHEN {f} IS NULL THEN NULL ELSE %(erased)s END" for f in fields)
        + " WHERE relationship_id = %(rid)s AND contact_id = %(contact_id)s",
        {"erased": ERASED, "rid": rid, "contact_id": erasure.contact_id},
    )
    changes = conn.execute(
        "SELECT c.position, c.changes FROM activity_contact_change c JOIN activity_contact a "
        "ON a.relationship_id = c.relationship_id AND a.added_position = c.added_position "
        "WHERE a.relationship_id = %s AND a.contact_id = %s",
        (rid, erasure.contact_id),
    ).fetchall()
    for position, listed in changes:
        rewritten = [
            {**c, "before": erased(c["before"]), "after": erased(c["after"])}
            if c["field"] in fields
            else c
            for c in listed
        ]
        rewritten = [c for c in rewritten if c["before"] != c["after"]]
        if rewritten != listed:
            conn.execute(
                "UPDATE activity_contact_change SET changes = %s WHERE position = %s",
                (Jsonb(rewritten), position),
            )
