"""The command log: every command that changed the log, once, with what it answered.

Each command carries an id (``CommandContext.command_id``). The append that records its
events also records the command — id, the fingerprint of the request that issued it, the
aggregate, version and position it answered — in the same statement, so the two commit
together or not at all. That makes every command exactly-once without the client's help:

* An answer lost after the append was sent (a dropped connection, a restarted server)
  leaves the outcome unknown. Before the command is decided again, the service waits for
  the session that sent the append to end and looks its id up here: found, it committed,
  and the original outcome is the answer; absent, it never will, and deciding again is
  safe (``Fullchain._settle``).
* A retry that carries an ``Idempotency-Key`` gets a command id derived from the caller's
  credentials and the key, so the retry *is* the same command: its append collides with
  the first one's row, and the first one's outcome answers it. The fingerprint tells a
  retry (same request) from a key reused for another request (refused).

The first answer's HTTP response is kept on the row afterwards, for retries to repeat it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from application.store.schema import Migration
from domain.base import CommandContext

TABLE = "fullchain_command"

#: Idempotency keys before the command log: its migration copies them over.
KEYS = Migration(
    "0008_idempotency_keys",
    "idempotency keys of commands, written with their events",
    [
        """
        CREATE TABLE idempotency_key (
            scope bytea NOT NULL,
            key text NOT NULL,
            request_sha256 bytea NOT NULL,
            staff_id text NOT NULL,
            aggregate_id uuid NOT NULL,
            version bigint NOT NULL,
            position bigint NOT NULL,
            created boolean NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        )
        """,
    ],
)

RESPONSES = Migration(
    "0014_idempotent_responses",
    "the original response of each idempotent command, kept for its retries",
    [
        "ALTER TABLE idempotency_key ADD COLUMN response_status integer, "
        "ADD COLUMN response_body bytea, ADD COLUMN response_headers jsonb, "
        "ADD COLUMN response_withheld boolean NOT NULL DEFAULT false",
    ],
)

MIGRATION = Migration(
    "0015_command_log",
    "every command once, recorded with its events; idempotency keys become command ids",
    [
        f"""
        CREATE TABLE {TABLE} (
            command_id text PRIMARY KEY,
            request_sha256 bytea,
            actor text NOT NULL,
            aggregate_id uuid NOT NULL,
            version bigint NOT NULL,
            position bigint NOT NULL,
            created boolean NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            response_status integer,
            response_body bytea,
            response_headers jsonb,
            response_withheld boolean NOT NULL DEFAULT false
        )
        """,
        # Keys recorded before the command log answer their retries as before: the
        # command id of a key is derived the same way as ``key_command_id``.
        f"""
        INSERT INTO {TABLE} (command_id, request_sha256, actor, aggregate_id, version,
            position, created, recorded_at, response_status, response_body,
            response_headers, response_withheld)
        SELECT encode(substring(sha256(
                   '\\x6b6579'::bytea || scope || '\\x00'::bytea || convert_to(key, 'UTF8')
               ) FROM 1 FOR 16), 'hex')::uuid::text,
               request_sha256, staff_id, aggregate_id, version, position, created,
               recorded_at, response_status, response_body, response_headers,
               response_withheld
        FROM idempotency_key
        """,
        "DROP TABLE idempotency_key",
    ],
)


def key_command_id(scope: bytes, key: str) -> str:
    """The command id of a request with ``Idempotency-Key: key`` from the caller whose
    credentials hash to ``scope``: every retry of it is the same command."""
    digest = hashlib.sha256(b"key" + scope + b"\0" + key.encode()).digest()
    return str(UUID(bytes=digest[:16]))


@dataclass(frozen=True)
class Claim:
    """A request's claim on an idempotency key: whose key (``scope``, the hash of the
    caller's credentials), which key, and what was asked (``request_sha256``)."""

    scope: bytes
    key: str
    request_sha256: bytes

    @property
    def command_id(self) -> str:
        return key_command_id(self.scope, self.key)


@dataclass(frozen=True)
class ClaimedContext(CommandContext):
    """The context of a command issued under an idempotency key: its id is the key's, and
    the request's fingerprint tells a retry of it from a reuse of the key."""

    request_sha256: bytes | None = None


def request_sha256(ctx: CommandContext) -> bytes | None:
    return ctx.request_sha256 if isinstance(ctx, ClaimedContext) else None


def is_command_conflict(error: BaseException) -> bool:
    """Whether an append failed because its command id is recorded already."""
    constraint = getattr(error, "constraint_name", None)
    if constraint is None:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    return constraint == f"{TABLE}_pkey"


@dataclass(frozen=True)
class Outcome:
    """A recorded command: what it answered."""

    command_id: str
    request_sha256: bytes | None
    aggregate_id: UUID
    version: int
    position: int
    created: bool
    #: The original response as sent (status, body, headers), once it was kept.
    response: tuple[int, bytes, dict[str, str]] | None = None
    #: The original response carried a secret (a token shown once) and is not repeated.
    withheld: bool = False


class KeyReplayed(Exception):
    """Another request with the same key and the same request committed first; answer
    its response."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("this idempotency key was already used for this request")
        self.outcome = outcome


class KeyReused(Exception):
    """The key was used before for a different request."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for a different request")


def find(conn: psycopg.Connection[Any], command_id: str) -> Outcome | None:
    row = conn.execute(
        f"SELECT command_id, request_sha256, aggregate_id, version, position, created, "
        f"response_status, response_body, response_headers, response_withheld "
        f"FROM {TABLE} WHERE command_id = %s",
        (command_id,),
    ).fetchone()
    if row is None:
        return None
    v = list(row.values()) if isinstance(row, dict) else list(row)
    response = (int(v[6]), bytes(v[7]), dict(v[8] or {})) if v[6] is not None else None
    return Outcome(
        command_id=str(v[0]),
        request_sha256=None if v[1] is None else bytes(v[1]),
        aggregate_id=v[2],
        version=int(v[3]),
        position=int(v[4]),
        created=bool(v[5]),
        response=response,
        withheld=bool(v[9]),
    )


def keep_response(
    conn: psycopg.Connection[Any],
    command_id: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
    *,
    withheld: bool,
) -> None:
    """Keep the response a command's first request got, for its retries (once)."""
    conn.execute(
        f"UPDATE {TABLE} SET response_status = %s, response_body = %s, "
        "response_headers = %s, response_withheld = %s "
        "WHERE command_id = %s AND response_status IS NULL",
        (status, b"" if withheld else body, Jsonb(headers), withheld, command_id),
    )
