"""Idempotent commands: the same key and request answer the original response, once.

The HTTP layer claims a key for the duration of a request (a context variable, so every
service method sees it without passing it along). When the command saves its events,
the key, the request's hash and the response's facts (aggregate, version, position) are
written by the same transaction. A retry with the same key and request finds that row
and gets the original response, after a restart and from any process; a key reused for
another request is refused. Two retries racing: the second append fails on the key and
rolls back, and it answers the first one's response.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from application.recorder import SideEffect
from application.schema import EVENTS_TABLE, Migration

MIGRATION = Migration(
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

CONSTRAINT = "idempotency_key_pkey"


@dataclass(frozen=True)
class Claim:
    """A request's claim on a key: ``scope`` is whose key it is (the caller's credentials),
    ``request_sha256`` what was asked."""

    scope: bytes
    key: str
    request_sha256: bytes


@dataclass(frozen=True)
class Outcome:
    request_sha256: bytes
    aggregate_id: UUID
    version: int
    position: int
    created: bool
    #: The original response as sent (status, body, headers), once it was kept.
    response: tuple[int, bytes, dict[str, str]] | None = None
    #: The original response carried a secret (a token shown once) and is not repeated.
    withheld: bool = False


current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "idempotency_claim", default=None
)


class KeyReplayed(Exception):
    """The key was used by a request that committed first; answer its response."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("this idempotency key was already used")
        self.outcome = outcome


class KeyReused(Exception):
    """The key was used before for a different request."""


def side_effect(
    claim: Claim, actor: str, aggregate_id: UUID, version: int, created: bool
) -> SideEffect:
    """Record the claim with the response's facts, in the transaction of the events."""
    return (
        "INSERT INTO idempotency_key (scope, key, request_sha256, staff_id, aggregate_id, "
        "version, position, created) SELECT %s, %s, %s, %s, %s, %s, max(notification_id), %s "
        f"FROM {EVENTS_TABLE} WHERE originator_id = %s",
        (
            claim.scope,
            claim.key,
            claim.request_sha256,
            actor,
            aggregate_id,
            version,
            created,
            aggregate_id,
        ),
    )


def find(conn: psycopg.Connection[Any], scope: bytes, key: str) -> Outcome | None:
    row = conn.execute(
        "SELECT request_sha256, aggregate_id, version, position, created, response_status, "
        "response_body, response_headers, response_withheld FROM idempotency_key "
        "WHERE scope = %s AND key = %s",
        (scope, key),
    ).fetchone()
    if row is None:
        return None
    v = list(row.values()) if isinstance(row, dict) else list(row)
    response = (int(v[5]), bytes(v[6]), dict(v[7] or {})) if v[5] is not None else None
    return Outcome(bytes(v[0]), v[1], int(v[2]), int(v[3]), bool(v[4]), response, bool(v[8]))


def keep_response(
    conn: psycopg.Connection[Any],
    claim: Claim,
    status: int,
    body: bytes,
    headers: dict[str, str],
    *,
    withheld: bool,
) -> None:
    """Keep the response a command's first request got, for its retries (once)."""
    conn.execute(
        "UPDATE idempotency_key SET response_status = %s, response_body = %s, "
        "response_headers = %s, response_withheld = %s "
        "WHERE scope = %s AND key = %s AND response_status IS NULL",
        (
            status,
            b"" if withheld else body,
            Jsonb(headers),
            withheld,
            claim.scope,
            claim.key,
        ),
    )


def is_key_conflict(error: BaseException) -> bool:
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None) == CONSTRAINT
