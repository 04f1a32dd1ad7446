"""Reading the branch registry: one branch, or all of them in the order of their codes."""

from __future__ import annotations

from typing import Any

from projections.branches.writer import COLUMNS
from projections.freshness import ReadConnection

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM branch"


def get_branch(conn: ReadConnection, code: str) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE code = %s", (code,)).fetchone()


def branch_time_zone(conn: ReadConnection, code: str) -> str | None:
    """The IANA time zone of the branch ``code``; None if the registry does not hold it."""
    row = conn.execute("SELECT time_zone FROM branch WHERE code = %s", (code,)).fetchone()
    return None if row is None else str(row["time_zone"])


def list_branches(conn: ReadConnection, *, include_closed: bool) -> list[dict[str, Any]]:
    where = "" if include_closed else " WHERE open"
    return conn.execute(_SELECT + where + " ORDER BY code").fetchall()
