"""Bearer tokens of staff members: random, shown once, stored only as a SHA-256 hash.

``FULLCHAIN_ADMIN_TOKEN`` may hold the first administrator's token for automation; it is
never stored. (Staff as an event-sourced aggregate, roles and revocation come later.)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg

ADMIN_TOKEN_VARIABLE = "FULLCHAIN_ADMIN_TOKEN"
ADMIN_STAFF_ID = "admin"


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    display_name: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue_token(conn: psycopg.Connection[Any], staff_id: str, display_name: str) -> str:
    token = "fc_" + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO staff_token (token_sha256, staff_id, display_name) VALUES (%s, %s, %s)",
        (_digest(token), staff_id, display_name),
    )
    return token


def identify(conn: psycopg.Connection[Any], token: str) -> StaffMember | None:
    admin_token = os.environ.get(ADMIN_TOKEN_VARIABLE)
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return StaffMember(ADMIN_STAFF_ID, "Administrator")
    row = conn.execute(
        "SELECT staff_id, display_name FROM staff_token WHERE token_sha256 = %s",
        (_digest(token),),
    ).fetchone()
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return StaffMember(str(values[0]), str(values[1]))
