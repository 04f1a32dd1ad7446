"""Reading the service cases: one, or a page filtered by relationship, status, priority,
kind, owner, shipment, branch or breach, each with its clocks as at the time of asking and
the relationship's name and branch (from account status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.freshness import ReadConnection, decode_cursor, page
from projections.service_cases.writer import COLUMNS

#: A read joins account status for the relationship's name and branch.
CASE_READ_MODELS = ("service_cases", "account_status")


@dataclass(frozen=True)
class CaseFilter:
    relationship_id: UUID | None = None
    status: str | None = None
    priority: str | None = None
    kind: str | None = None
    owner: str | None = None
    shipment_id: UUID | None = None
    #: The relationship's branch.
    branch: str | None = None
    #: True: a clock is breached at the time of asking; False: none is.
    breached: bool | None = None


def first_response_breached(now: str, case: str = "c") -> str:
    """SQL: whether the first-response clock of the ``service_case`` row ``case`` is
    breached at ``now`` (an SQL expression): its breach moment (``writer``) has passed. As
    ``ServiceCase.first_response_breached`` says, for any ``now`` since the row's last
    event."""
    return f"COALESCE({case}.first_response_breach_after < {now}, false)"


def resolution_breached(now: str, case: str = "c") -> str:
    """SQL: whether the resolution clock of the row ``case`` is breached at ``now``, as
    ``ServiceCase.resolution_breached`` says."""
    return f"COALESCE({case}.resolution_breach_after < {now}, false)"


def sla_breached(now: str, case: str = "c") -> str:
    """SQL: whether either clock of the row ``case`` is breached at ``now``."""
    return f"({first_response_breached(now, case)} OR {resolution_breached(now, case)})"


_SELECT = (
    f"SELECT {', '.join('c.' + col for col in COLUMNS)}, "
    f"{first_response_breached('%(now)s')} AS first_response_breached, "
    f"{resolution_breached('%(now)s')} AS resolution_breached, "
    "a.name AS relationship_name, a.branch FROM service_case c "
    "LEFT JOIN account_status a ON a.relationship_id = c.relationship_id"
)


def get_case(conn: ReadConnection, case_id: UUID, *, now: datetime) -> dict[str, Any] | None:
    return conn.execute(
        _SELECT + " WHERE c.case_id = %(case_id)s", {"now": now, "case_id": case_id}
    ).fetchone()


def list_cases(
    conn: ReadConnection, where: CaseFilter, *, now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of cases in the order they were opened, with their clocks as at ``now``."""
    clauses: list[str] = []
    params: dict[str, Any] = {"now": now, "limit": limit + 1}
    for column, value in (
        ("c.relationship_id", where.relationship_id),
        ("c.status", where.status),
        ("c.priority", where.priority),
        ("c.kind", where.kind),
        ("c.owner", where.owner),
        ("c.shipment_id", where.shipment_id),
        ("a.branch", where.branch),
    ):
        if value is not None:
            name = column.partition(".")[2]
            clauses.append(f"{column} = %({name})s")
            params[name] = value
    if where.breached is not None:
        either = sla_breached("%(now)s")
        clauses.append(either if where.breached else f"NOT {either}")
    if cursor is not None:
        clauses.append("c.opened_position > %(after)s")
        params["after"] = decode_cursor(cursor)
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    rows = conn.execute(  # type: ignore[call-overload]
        sql + " ORDER BY c.opened_position LIMIT %(limit)s", params
    ).fetchall()
    return page(rows, limit, "opened_position")
