"""The read side: plain SQL over the read models, no domain objects."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import DictRow

from application.schema import TRACKING_TABLE

ReadConnection = psycopg.Connection[DictRow]

#: Interactions younger than this count as recent on the account status.
RECENT_INTERACTIONS_DAYS = 90

_ACCOUNT_SELECT = f"""
    SELECT a.*, (
        SELECT count(*) FROM account_interaction i
        WHERE i.relationship_id = a.relationship_id
          AND i.happened_at > now() - interval '{RECENT_INTERACTIONS_DAYS} days'
    ) AS interactions_last_90_days
    FROM account_status a
"""


class InvalidCursorError(ValueError):
    pass


def encode_cursor(registered_position: int) -> str:
    return base64.urlsafe_b64encode(f"p{registered_position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError("cursor is not one this service issued") from None


@dataclass(frozen=True)
class AccountFilter:
    kind: str | None = None
    lifecycle: str | None = None
    branch: str | None = None
    region: str | None = None
    industry: str | None = None
    key_account: bool | None = None
    team_member: str | None = None


def get_account(conn: ReadConnection, relationship_id: UUID) -> dict[str, Any] | None:
    return conn.execute(
        _ACCOUNT_SELECT + " WHERE a.relationship_id = %s", (relationship_id,)
    ).fetchone()


def list_accounts(
    conn: ReadConnection, where: AccountFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of accounts in registration order, and the cursor of the next page."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("kind", "lifecycle", "branch", "region", "industry", "key_account"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"a.{column} = %s")
            params.append(value)
    if where.team_member is not None:
        clauses.append("(a.field_rep = %s OR a.office_rep = %s)")
        params += [where.team_member, where.team_member]
    if cursor is not None:
        clauses.append("a.registered_position > %s")
        params.append(decode_cursor(cursor))
    sql = _ACCOUNT_SELECT
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY a.registered_position LIMIT %s"
    params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(int(rows[-1]["registered_position"]))
    return rows, next_cursor


def projection_position(conn: ReadConnection, projection_name: str) -> int:
    row = conn.execute(
        f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = %s",
        (projection_name,),
    ).fetchone()
    return int(row["notification_id"]) if row and row["notification_id"] is not None else 0


def wait_for_position(
    conn: ReadConnection, projection_name: str, min_position: int, *, timeout: float
) -> bool:
    """Wait until the read model has applied ``min_position``; False if it has not in time."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if projection_position(conn, projection_name) >= min_position:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)
