"""The branches writer: each branch's row is what the ``Branch`` aggregate says after each
batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Mapper

from domain.branch import Branch
from projections.aggregate_rows import AggregatesOfBatch, write_rows
from projections.branches.migration import MIGRATION
from projections.engine import BatchProjection, Connection, ProjectedEvent

COLUMNS = (
    "code",
    "branch_id",
    "name_zh",
    "name_en",
    "region",
    "time_zone",
    "currency",
    "open",
    "version",
    "position",
    "updated_at",
)
_CHANGED = tuple(c for c in COLUMNS if c not in ("code", "branch_id"))


class BranchesProjection(BatchProjection):
    name = "branches"
    migration = MIGRATION
    tables = ("branch",)

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.branches = AggregatesOfBatch(mapper, Branch)

    def handles(self, topic: str) -> bool:
        return topic.startswith("Branch.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        registered = {
            item.event.originator_id for item in events if item.event.originator_version == 1
        }
        last = {item.event.originator_id: item for item in events}
        created: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for bid, branch in self.branches.apply(conn, events).items():
            row = {
                "code": branch.code,
                "branch_id": bid,
                **{field: getattr(branch, field) for field in Branch.CHANGEABLE},
                "open": branch.open,
                "version": branch.version,
                "position": last[bid].position,
                "updated_at": last[bid].recorded_at,
            }
            (created if bid in registered else changed).append(row)
        write_rows(
            conn,
            "branch",
            "branch_id",
            created,
            changed,
            created_columns=COLUMNS,
            changed_columns=_CHANGED,
        )
