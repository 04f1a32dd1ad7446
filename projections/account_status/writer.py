"""The account-status writer: one row per relationship, folded from its events.

"Interactions in the last 90 days" depends on when you ask, not on when the events were
applied, so each interaction is kept as a row of ``account_interaction``, counted per
relationship and day (UTC) in ``account_interaction_day``, and the count is taken at read
time (``queries``): the whole days after the boundary from the day counts, the boundary day
from its rows. ``registered_at`` is the business time of the
registration; ``updated_at`` is the recording time of the last event applied to the row
(not the time the worker ran), so a rebuild reproduces the model exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from domain.relationship import Relationship
from projections.account_status.migration import MIGRATION
from projections.engine import BatchProjection, Connection, ProjectedEvent

#: The read model's columns and their types.
COLUMN_TYPES = {
    "relationship_id": "uuid",
    "name": "text",
    "kind": "text",
    "lifecycle": "text",
    "industry": "text",
    "key_account": "boolean",
    "region": "text",
    "branch": "text",
    "field_rep": "text",
    "office_rep": "text",
    "contact_count": "integer",
    "last_interaction_at": "timestamptz",
    "last_interaction_channel": "text",
    "care_action_count": "integer",
    "registered_position": "bigint",
    "registered_at": "timestamptz",
    "version": "bigint",
    "position": "bigint",
    "updated_at": "timestamptz",
}
COLUMNS = tuple(COLUMN_TYPES)

#: Rows of relationships registered in the batch: new rows, copied in.
_COPY_ROWS = f"COPY account_status ({', '.join(COLUMNS)}) FROM STDIN"
_COPY_INTERACTIONS = (
    "COPY account_interaction (relationship_id, interaction_id, happened_at, channel) FROM STDIN"
)

#: The batch's interactions added to their days' counts, one array per column.
_ADD_DAYS = (
    "INSERT INTO account_interaction_day (relationship_id, day, interactions) "
    "SELECT * FROM unnest(%b::uuid[], %b::date[], %b::integer[]) "
    "ON CONFLICT (relationship_id, day) DO UPDATE "
    "SET interactions = account_interaction_day.interactions + EXCLUDED.interactions"
)


#: Rows that exist already, written in one statement: one array per column, sent in
#: binary. The text of the statement is the same whatever the number of rows, so it is
#: parsed once and prepared. A statement with a tuple of values per row was parsed again
#: every batch: for 10 rows, 0.74 ms of the worker's CPU against 0.35 ms now; for 100 rows,
#: 9.3 ms against 1.5 ms.
_UPSERT = (
    f"INSERT INTO account_status ({', '.join(COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%b::{t}[]' for t in COLUMN_TYPES.values())}) "
    "ON CONFLICT (relationship_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
)


R = Relationship


def apply_event(row: dict[str, Any] | None, item: ProjectedEvent) -> dict[str, Any] | None:
    """The account-status row after one event (``None`` while there is no row)."""
    e = item.event
    if isinstance(e, R.Registered):
        row = {
            "relationship_id": e.originator_id,
            "name": e.name,
            "kind": e.kind,
            "lifecycle": "active",
            "industry": e.industry,
            "key_account": e.key_account,
            "region": e.region,
            "branch": e.branch,
            "field_rep": None,
            "office_rep": None,
            "contact_count": 0,
            "last_interaction_at": None,
            "last_interaction_channel": None,
            "care_action_count": 0,
            "registered_position": item.position,
            "registered_at": e.occurred_at,
        }
    elif row is None:
        return None  # only possible for a log that does not start at registration
    elif isinstance(e, R.Renamed):
        row["name"] = e.name
    elif isinstance(e, R.QualifiedAsTarget):
        row["kind"] = "target"
    elif isinstance(e, R.ReturnedToProspect):
        row["kind"] = "prospect"
    elif isinstance(e, R.BecameCustomer):
        row["kind"] = "customer"
        row["lifecycle"] = "active"
    elif isinstance(e, R.MarkedDormant):
        row["lifecycle"] = "dormant"
    elif isinstance(e, R.Reactivated):
        row["lifecycle"] = "active"
    elif isinstance(e, R.MarkedLost):
        row["lifecycle"] = "lost"
    elif isinstance(e, R.WonBack):
        row["lifecycle"] = "won_back"
    elif isinstance(e, R.IndustryChanged):
        row["industry"] = e.industry
    elif isinstance(e, R.KeyAccountDesignated):
        row["key_account"] = True
    elif isinstance(e, R.KeyAccountWithdrawn):
        row["key_account"] = False
    elif isinstance(e, R.MovedToBranch):
        row["region"] = e.region
        row["branch"] = e.branch
    elif isinstance(e, R.AccountTeamAssigned):
        row["field_rep"] = e.field_rep
        row["office_rep"] = e.office_rep
    elif isinstance(e, R.ContactAdded):
        row["contact_count"] += 1
    elif isinstance(e, R.ContactRemoved):
        row["contact_count"] -= 1
    elif isinstance(e, R.InteractionLogged):
        last = row["last_interaction_at"]
        if last is None or e.occurred_at >= last:
            row["last_interaction_at"] = e.occurred_at
            row["last_interaction_channel"] = e.channel
    elif isinstance(e, R.CustomerCareRecorded):
        row["care_action_count"] += 1
    row["version"] = e.originator_version
    row["position"] = item.position
    row["updated_at"] = item.recorded_at
    return row


class AccountStatusProjection(BatchProjection):
    name = "account_status"
    migration = MIGRATION
    tables = ("account_status", "account_interaction", "account_interaction_day")
    #: Names, counts and times only: no contact's details, no notes.
    reads_personal_data = False

    def handles(self, topic: str) -> bool:
        return topic.startswith("Relationship.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        # Each row is read at most once and written once per batch. A relationship whose
        # first event in the batch is its registration has no row yet: nothing to read,
        # and its row is copied in (a row already there would fail the batch).
        rows: dict[Any, dict[str, Any] | None] = {}
        wanted: list[Any] = []
        for item in events:
            rid = item.event.originator_id
            if rid not in rows:
                rows[rid] = None
                if not isinstance(item.event, R.Registered):
                    wanted.append(rid)
        stored: set[Any] = set()
        if wanted:
            with conn.cursor() as cur:
                cur.execute(
                    f"SELECT {', '.join(COLUMNS)} FROM account_status "
                    "WHERE relationship_id = ANY(%s)",
                    (wanted,),
                )
                for values in cur.fetchall():
                    rows[values[0]] = dict(zip(COLUMNS, values, strict=True))
                    stored.add(values[0])
        interactions: list[tuple[Any, ...]] = []
        for item in events:
            e = item.event
            rid = e.originator_id
            rows[rid] = apply_event(rows[rid], item)
            if isinstance(e, R.InteractionLogged):
                interactions.append((rid, e.interaction_id, e.occurred_at, e.channel))
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        for rid, row in rows.items():
            if row is None:
                continue
            (changed if rid in stored else new).append(tuple(row[c] for c in COLUMNS))
        with conn.cursor() as cur:
            if changed:
                cur.execute(_UPSERT, [list(column) for column in zip(*changed, strict=True)])
            if new:
                with cur.copy(_COPY_ROWS) as copy:
                    for values in new:
                        copy.write_row(values)
            if interactions:
                with cur.copy(_COPY_INTERACTIONS) as copy:
                    for values in interactions:
                        copy.write_row(values)
                days = Counter((rid, at.astimezone(UTC).date()) for rid, _, at, _ in interactions)
                cur.execute(
                    _ADD_DAYS,
                    [[rid for rid, _ in days], [day for _, day in days], list(days.values())],
                )
