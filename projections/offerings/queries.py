"""Reading the offerings: one, or a page filtered by status, mode, service level and the
lane's ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from projections.freshness import ReadConnection, decode_cursor, page
from projections.offerings.writer import COLUMNS


@dataclass(frozen=True)
class OfferingFilter:
    status: str | None = None
    mode: str | None = None
    service_level: str | None = None
    #: Case-insensitive parts of the lane's ends ("chicago" finds "Chicago, IL, US").
    origin: str | None = None
    destination: str | None = None


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM offering"


def get_offering(conn: ReadConnection, offering_id: UUID) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE offering_id = %s", (offering_id,)).fetchone()


def list_offerings(
    conn: ReadConnection, where: OfferingFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of offerings in the order they were launched, and the cursor of the next."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("status", "mode", "service_level"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    for column in ("origin", "destination"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"strpos(lower({column}), lower(%s)) > 0")
            params.append(value)
    if cursor is not None:
        clauses.append("launched_position > %s")
        params.append(decode_cursor(cursor))
    sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
    rows = conn.execute(  # type: ignore[call-overload]
        sql + " ORDER BY launched_position LIMIT %s", [*params, limit + 1]
    ).fetchall()
    return page(rows, limit, "launched_position")
