"""Webhooks: subscriptions to the event feed, delivered as signed POSTs.

A subscription (``webhook_subscription``) names a URL, the event types it wants (topics
such as ``Shipment.Delivered`` or aggregate types such as ``Shipment``; none: all) and
optionally one branch. Its secret is shown once, when it is made, and signs every body.

The dispatcher follows the log like a projection, from its own tracked position
(``projection_tracking``, name ``webhooks``), through the event feed
(``application.event_feed``, so up to the feed's horizon): each entry a live subscription
matches becomes a pending delivery (``webhook_delivery``, one per subscription and log
position, its JSON body fixed then). ``deliver_once`` then POSTs the due deliveries:

* in log order per aggregate — a delivery waits while an earlier one of the same aggregate
  for the same subscription is pending (retrying);
* at least once — a delivery is marked delivered only after a 2xx answer;
* with exponential back-off — after the k-th failed attempt the next is due
  ``base_delay * 2**(k-1)`` later (at most ``max_delay``); after ``max_attempts`` failures
  the delivery is dead-lettered and the aggregate's later events flow on (a replayed dead
  letter therefore arrives after them);
* a subscription that fails is set aside for the rest of the pass; the others go on.

Every attempt is logged (``webhook_attempt``): when, the status code or the error.

Signature (as Stripe's): header ``Fullchain-Signature: t=<unix time>,v1=<hex>``, where hex
is HMAC-SHA256 with the subscription's secret over ``"<t>.<body>"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import Mapper
from eventsourcing.utils import TopicError, resolve_topic
from psycopg.rows import dict_row

from application.event_feed import feed_entry, feed_page, horizon
from application.jsonable import jsonable
from application.store.database import Database
from application.store.schema import EVENTS_TABLE, Migration
from projections.engine import advance_tracking, advisory_key, tracking_position

log = logging.getLogger(__name__)

TRACKING_NAME = "webhooks"
SIGNATURE_HEADER = "Fullchain-Signature"
LOCK_KEY = advisory_key(TRACKING_NAME)

MIGRATION = Migration(
    "0038_webhooks",
    "webhook subscriptions, their deliveries and every attempt",
    [
        """
        CREATE TABLE webhook_subscription (
            webhook_id uuid PRIMARY KEY,
            url text NOT NULL,
            event_types text[] NOT NULL,
            branch text,
            secret text NOT NULL,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL,
            start_after bigint NOT NULL,
            deleted_at timestamptz
        )
        """,
        """
        CREATE TABLE webhook_delivery (
            webhook_id uuid NOT NULL REFERENCES webhook_subscription (webhook_id),
            position bigint NOT NULL,
            aggregate_id uuid NOT NULL,
            event_name text NOT NULL,
            body text NOT NULL,
            state text NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            last_status integer,
            last_error text,
            delivered_at timestamptz,
            dead_at timestamptz,
            PRIMARY KEY (webhook_id, position)
        )
        """,
        "CREATE INDEX webhook_delivery_pending_idx ON webhook_delivery (position) "
        "WHERE state = 'pending'",
        "CREATE INDEX webhook_delivery_state_idx ON webhook_delivery (webhook_id, state, position)",
        """
        CREATE TABLE webhook_attempt (
            attempt_id bigserial PRIMARY KEY,
            webhook_id uuid NOT NULL,
            position bigint NOT NULL,
            attempted_at timestamptz NOT NULL,
            status_code integer,
            error text
        )
        """,
        "CREATE INDEX webhook_attempt_delivery_idx ON webhook_attempt (webhook_id, position)",
    ],
)


def _erases(topic: str) -> bool:
    """Whether events of ``topic`` erase personal data (``PersonalDataErased``)."""
    try:
        return bool(getattr(resolve_topic(topic), "ERASES", False))
    except TopicError:  # a topic this code no longer knows erases nothing it can rewrite
        return False


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Fullchain-Signature`` header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is a valid signature of ``body`` with ``secret`` (a receiver's
    check; it should also refuse a ``t`` too far from its own clock)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    webhook_id: UUID
    url: str
    event_types: tuple[str, ...]
    branch: str | None
    created_by: str
    created_at: datetime
    start_after: int

    def wants(self, entry: dict[str, Any]) -> bool:
        if entry["position"] <= self.start_after:
            return False
        if self.branch is not None and entry.get("branch") != self.branch:
            return False
        if not self.event_types:
            return True
        topic = str(entry["event_name"])
        return topic in self.event_types or topic.partition(".")[0] in self.event_types

    def as_json(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "event_types": list(self.event_types),
            "branch": self.branch,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "start_after": self.start_after,
        }


_COLUMNS = "webhook_id, url, event_types, branch, created_by, created_at, start_after"


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        webhook_id=row["webhook_id"],
        url=row["url"],
        event_types=tuple(row["event_types"]),
        branch=row["branch"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        start_after=int(row["start_after"]),
    )


def subscribe(
    conn: Any,
    *,
    url: str,
    event_types: Sequence[str],
    branch: str | None,
    created_by: str,
    now: datetime,
) -> tuple[Subscription, str]:
    """A new subscription, delivered the events recorded after now, and its secret (shown
    this once)."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "INSERT INTO webhook_subscription (webhook_id, url, event_types, branch, secret, "
            "created_by, created_at, start_after) VALUES (%s, %s, %s, %s, %s, %s, %s, "
            "(SELECT coalesce(max(notification_id), 0) FROM fullchain_events)) "
            f"RETURNING {_COLUMNS}",
            (uuid4(), url, list(event_types), branch, secret, created_by, now),
        )
        .fetchone()
    )
    return _subscription(row), secret


def subscriptions(conn: Any) -> list[Subscription]:
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {_COLUMNS} FROM webhook_subscription WHERE deleted_at IS NULL "
            "ORDER BY created_at, webhook_id"
        )
        .fetchall()
    )
    return [_subscription(r) for r in rows]


def find(conn: Any, webhook_id: UUID) -> Subscription | None:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {_COLUMNS} FROM webhook_subscription "
            "WHERE webhook_id = %s AND deleted_at IS NULL",
            (webhook_id,),
        )
        .fetchone()
    )
    return None if row is None else _subscription(row)


def unsubscribe(conn: Any, webhook_id: UUID, now: datetime) -> bool:
    """End the subscription: nothing more is delivered to it. False if there is none."""
    cur = conn.execute(
        "UPDATE webhook_subscription SET deleted_at = %s "
        "WHERE webhook_id = %s AND deleted_at IS NULL",
        (now, webhook_id),
    )
    return bool(cur.rowcount)


def deliveries(
    conn: Any, webhook_id: UUID, *, state: str | None, after: int, limit: int
) -> list[dict[str, Any]]:
    """The subscription's deliveries after log position ``after``, each with its attempts."""
    cur = conn.cursor(row_factory=dict_row)
    clauses, params = ["webhook_id = %s", "position > %s"], [webhook_id, after]
    if state is not None:
        clauses.append("state = %s")
        params.append(state)
    rows = cur.execute(
        "SELECT position, aggregate_id, event_name, state, attempts, next_attempt_at, "
        "last_status, last_error, delivered_at, dead_at FROM webhook_delivery "
        f"WHERE {' AND '.join(clauses)} ORDER BY position LIMIT %s",
        [*params, limit],
    ).fetchall()
    if not rows:
        return []
    attempts = cur.execute(
        "SELECT position, attempted_at, status_code, error FROM webhook_attempt "
        "WHERE webhook_id = %s AND position = ANY(%s) ORDER BY attempt_id",
        (webhook_id, [r["position"] for r in rows]),
    ).fetchall()
    by_position: dict[int, list[dict[str, Any]]] = {}
    for a in attempts:
        by_position.setdefault(int(a["position"]), []).append(
            {k: a[k] for k in ("attempted_at", "status_code", "error")}
        )
    return [{**r, "attempt_log": by_position.get(int(r["position"]), [])} for r in rows]


def replay_dead_letters(conn: Any, webhook_id: UUID, now: datetime) -> int:
    """Put the subscription's dead letters back in line, due now; how many."""
    cur = conn.execute(
        "UPDATE webhook_delivery SET state = 'pending', attempts = 0, next_attempt_at = %s, "
        "dead_at = NULL WHERE webhook_id = %s AND state = 'dead'",
        (now, webhook_id),
    )
    return int(cur.rowcount)


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


#: How a POST is sent: (url, body, headers) -> the answer.
Sender = Callable[[str, bytes, dict[str, str]], Answer]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(int(response.status))
    except urllib.error.HTTPError as error:
        return Answer(int(error.code), f"HTTP {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Answer(None, str(getattr(error, "reason", error))[:500])


class WebhookDispatcher:
    """Follows the log for the webhooks and delivers them; ``deliver_once`` is one pass,
    ``run_forever`` repeats it, pausing ``poll_interval`` seconds with ``sleep``."""

    def __init__(
        self,
        database: Database,
        mapper: Mapper[Any],
        *,
        clock: Callable[[], datetime],
        send: Sender = http_post,
        sleep: Callable[[float], Any] | None = None,
        max_attempts: int = 8,
        base_delay: float = 10.0,
        max_delay: float = 3600.0,
        batch_size: int = 500,
        poll_interval: float = 2.0,
    ) -> None:
        self.database = database
        self.mapper = mapper
        self.clock = clock
        self.send = send
        self.stopping = threading.Event()
        self.sleep = sleep or self.stopping.wait
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    def delay_after(self, attempts: int) -> timedelta:
        """How long after its ``attempts``-th failed attempt a delivery is tried again."""
        return timedelta(seconds=min(self.base_delay * 2 ** (attempts - 1), self.max_delay))

    def enqueue(self, conn: Any) -> int:
        """Turn the log's new entries into pending deliveries; return entries read."""
        total = 0
        while True:
            with conn.transaction():
                after = tracking_position(conn, TRACKING_NAME)
                # The horizon is read before the subscriptions: one made meanwhile starts
                # after the end of the log, so after this page.
                end = horizon(conn)
                if end <= after:
                    return total
                live = subscriptions(conn)
                if not live:
                    # Nobody to deliver to: only the erasures of the page matter (to the
                    # bodies kept of earlier deliveries), and nothing is decoded.
                    next_after, read, erasures = self._erasures(conn, after, end)
                    for aggregate_id, position in erasures:
                        self._rewrite_bodies(conn, aggregate_id, position)
                    advance_tracking(conn, TRACKING_NAME, next_after)
                    total += read
                    continue
                page = feed_page(conn, self.mapper, after=after, limit=self.batch_size, until=end)
                now = self.clock()
                rows = [
                    (
                        s.webhook_id,
                        e["position"],
                        e["aggregate_id"],
                        e["event_name"],
                        json.dumps(jsonable(e), ensure_ascii=False, separators=(",", ":")),
                        now,
                    )
                    for e in page.entries
                    for s in live
                    if s.wants(e)
                ]
                if rows:
                    conn.cursor().executemany(
                        "INSERT INTO webhook_delivery (webhook_id, position, aggregate_id, "
                        "event_name, body, state, next_attempt_at) "
                        "VALUES (%s, %s, %s, %s, %s, 'pending', %s) ON CONFLICT DO NOTHING",
                        rows,
                    )
                for e in page.entries:
                    if _erases(e["event_name"]):
                        self._rewrite_bodies(conn, e["aggregate_id"], e["position"])
                advance_tracking(conn, TRACKING_NAME, page.next_after)
                total += len(page.entries)

    def _erasures(self, conn: Any, after: int, end: int) -> tuple[int, int, list[tuple[UUID, int]]]:
        """The end of the page of the log after ``after`` (up to ``end``) that
        ``feed_page`` would read, how many entries it holds, and the aggregates and
        positions of its erasures."""
        rows = conn.execute(
            f"SELECT notification_id, originator_id, topic FROM {EVENTS_TABLE} "
            "WHERE notification_id > %s AND notification_id <= %s "
            "ORDER BY notification_id LIMIT %s",
            (after, end, self.batch_size),
        ).fetchall()
        next_after = int(rows[-1][0]) if len(rows) == self.batch_size else end
        return next_after, len(rows), [(row[1], int(row[0])) for row in rows if _erases(row[2])]

    def _rewrite_bodies(self, conn: Any, aggregate_id: UUID, before: int) -> None:
        """An erasure of personal data of ``aggregate_id``: the bodies kept of its earlier
        deliveries are made again from the log, where the erased fields read "[erased]"
        now (a delivery still pending sends them so)."""
        rows = (
            conn.cursor(row_factory=dict_row)
            .execute(
                "SELECT e.notification_id AS position, e.originator_id AS aggregate_id, "
                "e.originator_version AS version, e.topic, e.state, e.recorded_at, "
                "o.relationship_id, a.branch "
                f"FROM {EVENTS_TABLE} e "
                "LEFT JOIN aggregate_owner o ON o.aggregate_id = e.originator_id "
                "LEFT JOIN account_status a ON a.relationship_id = o.relationship_id "
                "WHERE e.notification_id IN (SELECT DISTINCT position FROM webhook_delivery "
                "WHERE aggregate_id = %s AND position < %s)",
                (aggregate_id, before),
            )
            .fetchall()
        )
        conn.cursor().executemany(
            "UPDATE webhook_delivery SET body = %s WHERE aggregate_id = %s AND position = %s",
            [
                (
                    json.dumps(
                        jsonable(feed_entry(self.mapper, row)),
                        ensure_ascii=False,
                        separators=(",", ":"),
                    ),
                    aggregate_id,
                    row["position"],
                )
                for row in rows
            ],
        )

    def connect(self) -> Any:
        return self.database.connect(autocommit=True, purpose="webhooks")

    def deliver_once(self, conn: Any | None = None) -> int:
        """Take in the log's new entries, then attempt every due delivery; return how many
        attempts were made. On ``conn``, or a connection of its own."""
        if conn is None:
            with self.connect() as own:
                return self.deliver_once(own)
        # One dispatcher at a time, whichever process runs it: another one's pass is skipped.
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if not (row and row[0]):
            return 0
        try:
            return self._pass(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def _pass(self, conn: Any) -> int:
        self.enqueue(conn)
        cur = conn.cursor(row_factory=dict_row)
        # Each subscription's own first ``batch_size`` pending deliveries: however many a
        # failing one has piled up, the others' are read too.
        pending = cur.execute(
            "SELECT d.webhook_id, d.position, d.aggregate_id, d.body, d.attempts, "
            "d.next_attempt_at, s.url, s.secret FROM webhook_subscription s "
            "CROSS JOIN LATERAL (SELECT * FROM webhook_delivery p "
            "WHERE p.webhook_id = s.webhook_id AND p.state = 'pending' "
            "ORDER BY p.position LIMIT %s) d "
            "WHERE s.deleted_at IS NULL ORDER BY d.position",
            (self.batch_size,),
        ).fetchall()
        blocked: set[tuple[UUID, UUID]] = set()  # (subscription, aggregate) waiting
        failing: set[UUID] = set()  # subscriptions set aside for this pass
        made = 0
        for d in pending:
            key = (d["webhook_id"], d["aggregate_id"])
            if d["webhook_id"] in failing or key in blocked:
                continue
            now = self.clock()
            if d["next_attempt_at"] > now:
                blocked.add(key)
                continue
            made += 1
            if not self._attempt(conn, d, now):
                blocked.add(key)
                failing.add(d["webhook_id"])
        return made

    def _attempt(self, conn: Any, d: dict[str, Any], now: datetime) -> bool:
        body = d["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Fullchain-Webhooks/1",
            SIGNATURE_HEADER: sign(d["secret"], body, int(now.timestamp())),
        }
        answer = self.send(d["url"], body, headers)
        attempts = int(d["attempts"]) + 1
        error = None if answer.ok else (answer.error or f"HTTP {answer.status}")
        with conn.transaction():
            conn.execute(
                "INSERT INTO webhook_attempt (webhook_id, position, attempted_at, status_code, "
                "error) VALUES (%s, %s, %s, %s, %s)",
                (d["webhook_id"], d["position"], now, answer.status, error),
            )
            if answer.ok:
                state, due = "delivered", now
            elif attempts >= self.max_attempts:
                state, due = "dead", now
            else:
                state, due = "pending", now + self.delay_after(attempts)
            conn.execute(
                "UPDATE webhook_delivery SET state = %s, attempts = %s, next_attempt_at = %s, "
                "last_status = %s, last_error = %s, "
                "delivered_at = CASE WHEN %s = 'delivered' THEN %s END, "
                "dead_at = CASE WHEN %s = 'dead' THEN %s END "
                "WHERE webhook_id = %s AND position = %s",
                (
                    state,
                    attempts,
                    due,
                    answer.status,
                    error,
                    state,
                    now,
                    state,
                    now,
                    d["webhook_id"],
                    d["position"],
                ),
            )
        if state == "dead":
            log.warning("webhook %s: position %s dead-lettered", d["webhook_id"], d["position"])
        return answer.ok

    def run_forever(self) -> None:
        """A pass every ``poll_interval`` seconds on one connection, kept open; a pass that
        fails is logged, and the connection opened afresh for the next."""
        while not self.stopping.is_set():
            try:
                with self.connect() as conn:
                    while not self.stopping.is_set():
                        self.deliver_once(conn)
                        self.sleep(self.poll_interval)
            except Exception:
                log.exception("webhooks: a pass failed; trying again")
                self.sleep(self.poll_interval)

    def stop(self) -> None:
        self.stopping.set()
