"""The library's PostgreSQL recorder, appending in one round trip, with the command that
decided the events and writes that must commit with them.

Appending: the library's statements (lock the events table so positions commit in
order, notify listeners, insert) run inside one function call on an autocommit
connection: one round trip instead of a pipelined transaction of seven statements, and
no pipeline (whose buffers can deadlock on very large appends). ``fullchain_append_command``
also records the command in the command log (``application.store.command_log``) in the same
statement, so a command's events and its record commit together.

Side effects: some facts are needed synchronously and must never disagree with the log
(the tokens that may act). They are written by the append's own transaction, after the
events, so either both are recorded or neither is. Callers pass them to
``Application.save(..., side_effects=[...])``.

An append is never retried here: if its answer is lost, whether it committed is unknown,
and sending it again could record it twice. The recorder says so (``AppendOutcomeUnknown``)
and the service finds out from the command log before deciding anything again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from application.store.command_log import TABLE as COMMANDS_TABLE
from application.store.schema import EVENTS_TABLE, Migration

#: Errors the server answers when it rolled the append back (a lock or statement timeout).
_REFUSED = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)

#: One statement and its parameters.
SideEffect = tuple[str, Sequence[Any] | dict[str, Any]]

_LOCK_AND_NOTIFY = f"""
            PERFORM set_config('lock_timeout', '10s', true);
            -- Positions must commit in the order they are issued, so readers that follow
            -- the log never pass over a position a slower transaction fills in later.
            LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE;
            NOTIFY {EVENTS_TABLE};
"""

MIGRATION = Migration(
    "0009_append_function",
    "append events in one call: lock, notify, insert",
    [
        f"""
        CREATE FUNCTION fullchain_append(events stored_event_uuid[]) RETURNS SETOF bigint
        LANGUAGE plpgsql AS $$
        BEGIN
            {_LOCK_AND_NOTIFY}
            RETURN QUERY
                INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)
                SELECT e.originator_id, e.originator_version, e.topic, e.state
                FROM unnest(events) AS e
                RETURNING notification_id;
        END
        $$
        """,
    ],
)

COMMAND_MIGRATION = Migration(
    "0016_append_command",
    "append a command's events and record the command, in one call",
    [
        f"""
        CREATE FUNCTION fullchain_append_command(
            events stored_event_uuid[],
            p_command_id text,
            p_request_sha256 bytea,
            p_actor text,
            p_aggregate_id uuid,
            p_version bigint,
            p_created boolean
        ) RETURNS SETOF bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            positions bigint[];
        BEGIN
            {_LOCK_AND_NOTIFY}
            WITH appended AS (
                INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)
                SELECT e.originator_id, e.originator_version, e.topic, e.state
                FROM unnest(events) AS e
                RETURNING notification_id
            )
            SELECT array_agg(notification_id ORDER BY notification_id) INTO positions
            FROM appended;
            INSERT INTO {COMMANDS_TABLE}
                (command_id, request_sha256, actor, aggregate_id, version, position, created)
            VALUES (p_command_id, p_request_sha256, p_actor, p_aggregate_id, p_version,
                    positions[array_upper(positions, 1)], p_created);
            RETURN QUERY SELECT unnest(positions);
        END
        $$
        """,
    ],
)


GROUP_MIGRATION = Migration(
    "0017_append_commands",
    "append the events of several commands in one transaction, each on its own",
    [
        f"""
        CREATE FUNCTION fullchain_append_commands(
            events stored_event_uuid[],
            event_counts int[],
            command_ids text[],
            request_hashes bytea[],
            actors text[],
            aggregate_ids uuid[],
            versions bigint[],
            created boolean[]
        ) RETURNS TABLE (o_command int, o_position bigint, o_failure text)
        LANGUAGE plpgsql AS $$
        DECLARE
            first int := 1;
            positions bigint[];
            failed text;
        BEGIN
            {_LOCK_AND_NOTIFY}
            FOR i IN 1 .. coalesce(array_length(command_ids, 1), 0) LOOP
                -- Each command on its own: a conflict (its version taken, its id recorded)
                -- rolls back its own rows only.
                BEGIN
                    WITH appended AS (
                        INSERT INTO {EVENTS_TABLE}
                            (originator_id, originator_version, topic, state)
                        SELECT e.originator_id, e.originator_version, e.topic, e.state
                        FROM unnest(events[first : first + event_counts[i] - 1]) AS e
                        RETURNING notification_id
                    )
                    SELECT array_agg(notification_id ORDER BY notification_id)
                    INTO positions FROM appended;
                    INSERT INTO {COMMANDS_TABLE} (command_id, request_sha256, actor,
                        aggregate_id, version, position, created)
                    VALUES (command_ids[i], request_hashes[i], actors[i], aggregate_ids[i],
                            versions[i], positions[array_upper(positions, 1)], created[i]);
                    RETURN QUERY SELECT i, p, NULL::text FROM unnest(positions) AS p;
                EXCEPTION WHEN unique_violation THEN
                    GET STACKED DIAGNOSTICS failed = CONSTRAINT_NAME;
                    RETURN QUERY SELECT i, NULL::bigint, coalesce(failed, 'unique');
                END;
                first := first + event_counts[i];
            END LOOP;
        END
        $$
        """,
    ],
)


@dataclass(frozen=True)
class CommandRecord:
    """The command an append records with its events."""

    command_id: str
    request_sha256: bytes | None
    actor: str
    aggregate_id: UUID
    version: int
    created: bool


class AppendOutcomeUnknown(Exception):
    """The append was sent but its answer was lost: it may or may not have committed.

    ``backend_pid`` is the server process of the session that sent it; once that session
    has ended, the command log tells which.
    """

    def __init__(self, command_id: str | None, backend_pid: int, cause: Exception) -> None:
        super().__init__(f"the answer to an append was lost ({cause})")
        self.command_id = command_id
        self.backend_pid = backend_pid


class AppendConflict(IntegrityError):
    """A command's append collided with the log: ``constraint_name`` says with what (its
    events' versions taken, or its command id recorded)."""

    def __init__(self, constraint_name: str) -> None:
        super().__init__(f"the append collided with the log ({constraint_name})")
        self.constraint_name = constraint_name


@dataclass
class _Waiting:
    """One command's append, waiting for a group to take it."""

    rows: list[Any]
    command: CommandRecord
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    positions: list[int] = field(default_factory=list)
    error: BaseException | None = None


class GroupCommit:
    """Concurrent commands of a process appended in one transaction — one lock of the log,
    one flush to disk — each checked on its own and answered with its own positions or
    failure. The first command to arrive while no group is on its way leads: it appends
    every command waiting (at most ``most``), then hands the lead to the first that came
    in meanwhile. A lone command is a group of one: it waits for nobody."""

    def __init__(self, recorder: FullchainRecorder, *, most: int = 64) -> None:
        self.recorder = recorder
        self.most = most
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._leading = False
        #: The sizes of the latest groups appended (for operators and tests).
        self.sizes: deque[int] = deque(maxlen=1000)

    def append(self, rows: list[Any], command: CommandRecord) -> list[int]:
        me = _Waiting(rows, command)
        with self._lock:
            self._queue.append(me)
            if not self._leading:
                self._leading = me.lead = True
        if not me.lead:
            me.done.wait()
        if me.lead:
            self._lead()
        if me.error is not None:
            raise me.error
        return me.positions

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue[: self.most], self._queue[self.most :]
        self.sizes.append(len(group))
        try:
            self.recorder.append_group(group)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False
            for waiting in group:
                waiting.done.set()


class FullchainRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = GroupCommit(self)
        #: Commands of concurrent threads are appended in groups (off: one by one, as a
        #: benchmark compares).
        self.grouping = True

    def append_group(self, group: Sequence[_Waiting]) -> None:
        """Append the commands of ``group`` in one call; each gets its positions or its
        error (a conflict of its own, or what befell the whole call). A group of one
        takes the plain call: nothing to keep apart, no subtransaction to pay for."""
        if len(group) == 1:
            (alone,) = group
            try:
                alone.positions = list(self._append_alone(alone.rows, alone.command, ()))
            except BaseException as error:
                alone.error = error
            return
        rows = [row for waiting in group for row in waiting.rows]
        commands = [w.command for w in group]
        params = (
            rows,
            [len(w.rows) for w in group],
            [c.command_id for c in commands],
            [c.request_sha256 for c in commands],
            [c.actor for c in commands],
            [c.aggregate_id for c in commands],
            [c.version for c in commands],
            [c.created for c in commands],
        )
        try:
            with self.datastore.get_connection() as conn:
                pid = conn.info.backend_pid
                try:
                    answered = conn.execute(
                        "SELECT o_command, o_position, o_failure FROM fullchain_append_commands("
                        "%b, %s::int[], %s::text[], %s::bytea[], %s::text[], %s::uuid[], "
                        "%s::bigint[], %s::boolean[])",
                        params,
                    ).fetchall()
                except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                    if isinstance(error, _REFUSED):
                        raise
                    for waiting in group:
                        waiting.error = AppendOutcomeUnknown(waiting.command.command_id, pid, error)
                    return
        except BaseException as error:
            for waiting in group:
                waiting.error = error
            return
        for row in answered:
            waiting = group[int(row["o_command"]) - 1]
            if row["o_failure"] is not None:
                waiting.error = AppendConflict(str(row["o_failure"]))
            else:
                waiting.positions.append(int(row["o_position"]))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        command: CommandRecord | None = kwargs.get("command")
        side_effects: Sequence[SideEffect] = kwargs.get("side_effects", ())
        if command is not None and not side_effects and self.grouping:
            return self.group.append(rows, command)
        return self._append_alone(rows, command, side_effects)

    def _append_alone(
        self,
        rows: list[Any],
        command: CommandRecord | None,
        side_effects: Sequence[SideEffect],
    ) -> list[int]:
        params: tuple[Any, ...]
        # The rows go in binary (``%b``), here and in ``append_group``: in text each row's
        # state is written in hex and quoted twice over (in its row, in the array), twice
        # the bytes and about 60 µs more of the caller's CPU for a row of 300 bytes.
        if command is None:
            append, params = "SELECT id FROM fullchain_append(%b) AS id", (rows,)
        else:
            append = "SELECT id FROM fullchain_append_command(%b, %s, %s, %s, %s, %s, %s) AS id"
            params = (
                rows,
                command.command_id,
                command.request_sha256,
                command.actor,
                command.aggregate_id,
                command.version,
                command.created,
            )
        # A connection that cannot be had means nothing was sent: the pool's error
        # (operational) propagates as it is.
        with self.datastore.get_connection() as conn:
            pid = conn.info.backend_pid
            try:
                if not side_effects:
                    ids = conn.execute(append, params).fetchall()
                else:
                    with conn.transaction():
                        ids = conn.execute(append, params).fetchall()
                        for statement, values in side_effects:
                            conn.execute(statement, values)  # type: ignore[arg-type]
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                if isinstance(error, _REFUSED):
                    raise  # refused by the server: the transaction rolled back
                raise AppendOutcomeUnknown(
                    command.command_id if command else None, pid, error
                ) from error
        return [int(r["id"]) for r in ids]
