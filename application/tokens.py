"""Who a bearer token belongs to, and what that staff member may do.

The ``Staff`` aggregate is the record of every access change; ``staff_access`` and
``staff_token`` mirror it and are written in the same transaction as its events (see
``application.store.recorder``), so a revoked token stops working at once, in every process.
Tokens are random, shown once, and kept only as their SHA-256.

Each process keeps the staff members its requests' tokens identified
(``StaffAccessCache``), so a request costs no lookup in the database. The same transaction
that changes a staff member's access announces it (``NOTIFY staff_access``); every process
listens and forgets that staff member the moment the change commits. While a process is not
listening (not yet, or its connection dropped), it keeps nothing and asks the database.

``FULLCHAIN_ADMIN_TOKEN`` may hold the first administrator's token for automation; it is
never stored, and identifies the staff member ``admin`` with the admin role.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from application import settings
from application.store.recorder import SideEffect
from application.store.schema import Migration
from domain.staff import Role, Staff

ADMIN_TOKEN_VARIABLE = "FULLCHAIN_ADMIN_TOKEN"
ADMIN_STAFF_ID = "admin"

MIGRATION = Migration(
    "0010_staff_access",
    "staff access and tokens, mirrored from the Staff aggregate in its transactions",
    [
        "DROP TABLE IF EXISTS staff_token",
        """
        CREATE TABLE staff_access (
            staff_id text PRIMARY KEY,
            name text NOT NULL,
            branch text NOT NULL,
            roles text[] NOT NULL,
            active boolean NOT NULL
        )
        """,
        """
        CREATE TABLE staff_token (
            token_sha256 bytea PRIMARY KEY,
            token_id uuid NOT NULL UNIQUE,
            staff_id text NOT NULL REFERENCES staff_access (staff_id)
        )
        """,
    ],
)

PARTNER_MIGRATION = Migration(
    "0020_staff_partner",
    "the partner a partner user works for",
    ["ALTER TABLE staff_access ADD COLUMN partner_id uuid"],
)

CUSTOMER_MIGRATION = Migration(
    "0035_staff_customer",
    "the customer a customer user acts for",
    ["ALTER TABLE staff_access ADD COLUMN customer_id uuid"],
)


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    display_name: str
    branch: str = ""
    roles: frozenset[Role] = frozenset()
    #: The partner (relationship id) a partner user works for; None for our staff.
    partner_id: UUID | None = None
    #: The customer (relationship id) a customer user acts for; None for our staff.
    customer_id: UUID | None = None

    @property
    def sees_all_branches(self) -> bool:
        return any(role.sees_all_branches for role in self.roles)


def new_token() -> tuple[str, str]:
    """A fresh token and its SHA-256 (hex): the token is shown once, the hash is kept."""
    token = "fc_" + secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def identify(conn: psycopg.Connection[Any], token: str) -> StaffMember | None:
    admin_token = settings.load().admin_token
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return StaffMember(ADMIN_STAFF_ID, "Administrator", "Headquarters", frozenset({Role.ADMIN}))
    row = conn.execute(
        "SELECT a.staff_id, a.name, a.branch, a.roles, a.partner_id, a.customer_id "
        "FROM staff_token t "
        "JOIN staff_access a ON a.staff_id = t.staff_id "
        "WHERE t.token_sha256 = %s AND a.active",
        (hashlib.sha256(token.encode()).digest(),),
    ).fetchone()
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return StaffMember(
        str(values[0]),
        str(values[1]),
        str(values[2]),
        frozenset(Role(r) for r in values[3]),
        values[4],
        values[5],
    )


#: The channel a change of a staff member's access is announced on (its staff id).
CHANNEL = "staff_access"


class StaffAccessCache:
    """The staff members tokens identified, kept while changes are heard (``live``)."""

    def __init__(self, *, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._members: OrderedDict[bytes, StaffMember] = OrderedDict()
        self._lock = threading.Lock()
        self._live = False

    def cached(self, token: str) -> StaffMember | None:
        """The staff member the token identified, if it is known here."""
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            member = self._members.get(key)
            if member is not None:
                self._members.move_to_end(key)
            return member

    def keep(self, token: str, member: StaffMember, *, heard_since: int) -> None:
        """Keep what the database said, unless a change may have come in meanwhile
        (``heard_since``: the ``changes`` count from before the lookup)."""
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            if not self._live or self.changes != heard_since:
                return
            self._members[key] = member
            if len(self._members) > self.maxsize:
                self._members.popitem(last=False)

    #: How many changes were heard: a lookup that overlapped one keeps nothing.
    changes = 0

    def forget(self, staff_id: str) -> None:
        with self._lock:
            self.changes += 1
            for key in [k for k, m in self._members.items() if m.staff_id == staff_id]:
                del self._members[key]

    def listening(self, live: bool) -> None:
        """Changes are heard from now on (True), or may be missed (False): keep nothing."""
        with self._lock:
            self.changes += 1
            self._members.clear()
            self._live = live


def access_side_effects(staff_id: str, events: Iterable[object]) -> list[SideEffect]:
    """The writes that keep ``staff_access`` and ``staff_token`` equal to the log (and end
    the console sessions a new password or a deactivation ends), and the announcement of
    the change to every process."""
    effects: list[SideEffect] = [("SELECT pg_notify(%s, %s)", (CHANNEL, staff_id))]
    for e in events:
        if isinstance(e, Staff.Registered):
            effects.append(
                (
                    "INSERT INTO staff_access (staff_id, name, branch, roles, active, partner_id, "
                    "customer_id) VALUES (%s, %s, %s, '{}', true, %s, %s)",
                    (e.staff_id, e.name, e.branch, e.partner_id, e.customer_id),
                )
            )
            continue
        if isinstance(e, Staff.RoleGranted):
            effects.append(
                (
                    "UPDATE staff_access SET roles = array_append(roles, %s) WHERE staff_id = %s",
                    (e.role, staff_id),
                )
            )
        elif isinstance(e, Staff.RoleRevoked):
            effects.append(
                (
                    "UPDATE staff_access SET roles = array_remove(roles, %s) WHERE staff_id = %s",
                    (e.role, staff_id),
                )
            )
        elif isinstance(e, Staff.TokenIssued):
            effects.append(
                (
                    "INSERT INTO staff_token (token_sha256, token_id, staff_id) "
                    "VALUES (decode(%s, 'hex'), %s, %s)",
                    (e.token_sha256, e.token_id, staff_id),
                )
            )
        elif isinstance(e, Staff.TokenRevoked):
            effects.append(("DELETE FROM staff_token WHERE token_id = %s", (e.token_id,)))
        elif isinstance(e, Staff.PasswordSet):
            # A new password ends the console sessions opened with the old one.
            effects.append(
                (
                    "UPDATE staff_access SET password_hash = %s WHERE staff_id = %s",
                    (e.password_hash, staff_id),
                )
            )
            effects.append(("DELETE FROM console_session WHERE staff_id = %s", (staff_id,)))
        elif isinstance(e, Staff.BranchChanged):
            effects.append(
                ("UPDATE staff_access SET branch = %s WHERE staff_id = %s", (e.branch, staff_id))
            )
        elif isinstance(e, Staff.Deactivated):
            effects.append(
                ("UPDATE staff_access SET active = false WHERE staff_id = %s", (staff_id,))
            )
            effects.append(("DELETE FROM staff_token WHERE staff_id = %s", (staff_id,)))
            effects.append(("DELETE FROM console_session WHERE staff_id = %s", (staff_id,)))
            effects.append(("DELETE FROM console_sign_in_link WHERE staff_id = %s", (staff_id,)))
    return effects
