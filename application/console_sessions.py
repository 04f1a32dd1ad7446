"""The console's sessions: a staff member signs in with their password (or a one-time
sign-in link) and the browser holds a session cookie; API clients keep their bearer tokens.

A session is a row of ``console_session`` keyed by the SHA-256 of the cookie's value (the
value itself is never stored), with its CSRF token and when it ends. Who the session is, and
with what roles and branch, is read from ``staff_access`` on every request, exactly as for a
bearer token, so a role revoked or a staff member deactivated counts at once. A one-time
link is a row of ``console_sign_in_link`` (its secret's SHA-256), good for 15 minutes and
consumed by its first use. Failed sign-ins are counted per staff id
(``console_sign_in_failure``): 5 in 15 minutes and the next is refused until the oldest
leaves the window. Time is the caller's (``now``): the application's clock.

Sessions are not events: they are a browser's convenience, not an access change. Setting a
password is (``Staff.PasswordSet``, the hash only); it ends the staff member's sessions, as
deactivation does, in the same transaction (``application.tokens.access_side_effects``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from application.store.schema import Migration
from application.tokens import StaffMember
from domain.staff import Role

#: The cookie that holds a session, and the header its CSRF token comes back in.
SESSION_COOKIE = "fc_session"
CSRF_HEADER = "X-CSRF-Token"
#: Methods a session may use without its CSRF token: they change nothing.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: How long a session lasts from sign-in: a working day.
SESSION_LIFETIME = timedelta(hours=12)
#: How long a one-time sign-in link may be used.
LINK_LIFETIME = timedelta(minutes=15)
#: Failed sign-ins of one staff id allowed in ``FAILURE_WINDOW``; the next is refused (429).
FAILURES_ALLOWED = 5
FAILURE_WINDOW = timedelta(minutes=15)

MIGRATION = Migration(
    "0039_console_sessions",
    "console sign-in: the password's hash mirrored from Staff, sessions, one-time links, "
    "failed sign-ins",
    [
        "ALTER TABLE staff_access ADD COLUMN password_hash text",
        """
        CREATE TABLE console_session (
            session_sha256 bytea PRIMARY KEY,
            staff_id text NOT NULL REFERENCES staff_access (staff_id),
            csrf_token text NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX console_session_staff_idx ON console_session (staff_id)",
        """
        CREATE TABLE console_sign_in_link (
            link_sha256 bytea PRIMARY KEY,
            staff_id text NOT NULL REFERENCES staff_access (staff_id),
            issued_by text NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE console_sign_in_failure (
            staff_id text NOT NULL,
            failed_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX console_sign_in_failure_idx ON console_sign_in_failure (staff_id, failed_at)",
    ],
)

Conn = psycopg.Connection[Any]


def _sha256(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Session:
    staff: StaffMember
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    """A new session: the cookie's value (given once, to the browser) and its CSRF token."""

    cookie: str
    csrf_token: str
    expires_at: datetime


def password_hash(conn: Conn, staff_id: str) -> str | None:
    """The password hash of an active staff member (None: unknown, inactive or none set)."""
    row = conn.execute(
        "SELECT password_hash FROM staff_access WHERE staff_id = %s AND active", (staff_id,)
    ).fetchone()
    return None if row is None else _first(row)


def retry_after(conn: Conn, staff_id: str, now: datetime) -> int | None:
    """Seconds until the staff id may try again, if it has failed too often just now."""
    rows = conn.execute(
        "SELECT failed_at FROM console_sign_in_failure WHERE staff_id = %s AND failed_at > %s "
        "ORDER BY failed_at",
        (staff_id, now - FAILURE_WINDOW),
    ).fetchall()
    if len(rows) < FAILURES_ALLOWED:
        return None
    oldest: datetime = _first(rows[-FAILURES_ALLOWED])
    wait = (oldest + FAILURE_WINDOW - now).total_seconds()
    return max(1, int(wait) + (0 if wait == int(wait) else 1))


def record_failure(conn: Conn, staff_id: str, now: datetime) -> None:
    with conn.transaction():
        conn.execute(
            "DELETE FROM console_sign_in_failure WHERE staff_id = %s AND failed_at <= %s",
            (staff_id, now - FAILURE_WINDOW),
        )
        conn.execute(
            "INSERT INTO console_sign_in_failure (staff_id, failed_at) VALUES (%s, %s)",
            (staff_id, now),
        )


def open_session(conn: Conn, staff_id: str, now: datetime) -> Opened:
    """A new session for the staff member (their failed sign-ins forgotten)."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    with conn.transaction():
        conn.execute("DELETE FROM console_session WHERE expires_at <= %s", (now,))
        conn.execute("DELETE FROM console_sign_in_failure WHERE staff_id = %s", (staff_id,))
        conn.execute(
            "INSERT INTO console_session (session_sha256, staff_id, csrf_token, created_at, "
            "expires_at) VALUES (%s, %s, %s, %s, %s)",
            (_sha256(cookie), staff_id, csrf, now, expires),
        )
    return Opened(cookie, csrf, expires)


def find_session(conn: Conn, cookie: str, now: datetime) -> Session | None:
    """The session the cookie holds, if it has not ended and its staff member is active."""
    row = conn.execute(
        "SELECT a.staff_id, a.name, a.branch, a.roles, a.partner_id, a.customer_id, "
        "s.csrf_token, s.expires_at "
        "FROM console_session s JOIN staff_access a ON a.staff_id = s.staff_id "
        "WHERE s.session_sha256 = %s AND s.expires_at > %s AND a.active",
        (_sha256(cookie), now),
    ).fetchone()
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    member = StaffMember(
        str(values[0]),
        str(values[1]),
        str(values[2]),
        frozenset(Role(r) for r in values[3]),
        values[4],
        values[5],
    )
    return Session(member, str(values[6]), values[7])


def end_session(conn: Conn, cookie: str) -> bool:
    """End the session the cookie holds; whether there was one."""
    cursor = conn.execute(
        "DELETE FROM console_session WHERE session_sha256 = %s", (_sha256(cookie),)
    )
    return cursor.rowcount > 0


class UnknownStaff(Exception):
    pass


def issue_link(conn: Conn, staff_id: str, now: datetime, *, issued_by: str) -> tuple[str, datetime]:
    """A one-time sign-in secret for an active staff member, good for ``LINK_LIFETIME``:
    (the secret, shown once; when it ends). Only its SHA-256 is kept."""
    with conn.transaction():
        known = conn.execute(
            "SELECT 1 FROM staff_access WHERE staff_id = %s AND active", (staff_id,)
        ).fetchone()
        if known is None:
            raise UnknownStaff(f"no active staff member {staff_id}")
        conn.execute("DELETE FROM console_sign_in_link WHERE expires_at <= %s", (now,))
        secret = secrets.token_urlsafe(32)
        expires = now + LINK_LIFETIME
        conn.execute(
            "INSERT INTO console_sign_in_link (link_sha256, staff_id, issued_by, expires_at) "
            "VALUES (%s, %s, %s, %s)",
            (_sha256(secret), staff_id, issued_by, expires),
        )
    return secret, expires


def consume_link(conn: Conn, secret: str, now: datetime) -> str | None:
    """The staff id of a one-time link not yet used nor expired, which is used up now."""
    row = conn.execute(
        "DELETE FROM console_sign_in_link WHERE link_sha256 = %s RETURNING staff_id, expires_at",
        (_sha256(secret),),
    ).fetchone()
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return str(values[0]) if values[1] > now else None


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
