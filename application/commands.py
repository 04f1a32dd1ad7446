"""The command path: load, decide, append — once.

Every command returns the aggregate id, its new version and the log position of the
last event written, so a client can ask a read model to be at least that fresh.

Concurrency is optimistic across processes; within one process, commands on the same
aggregate take turns (a striped lock), so they never race each other. Aggregates are
kept in an in-process cache and not re-read before each command (that would cost a
round trip); a stale cached copy can never win, because its events would take version
numbers that already exist and the append fails. Then the aggregate is read afresh and
the command decided again, a bounded number of times. A command that names the version
it expects (``If-Match``) is never retried: if that version is no longer current it
fails with ``VersionMismatch``.

Every append records its command (``application.store.command_log``); an append whose answer
was lost is settled from that record before anything is decided again. What a command
needs — its context, its idempotency claim (in the context), the aggregates it decides
on — it is given as arguments; nothing travels in ambient state.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, PersistenceError

from application import metrics, personal_data, tokens
from application.store import command_log
from application.store.recorder import AppendOutcomeUnknown, CommandRecord, SideEffect
from application.store.schema import EVENTS_TABLE
from application.store.snapshots import UNRESTORABLE, AggregateShapes, AggregateSnapshot
from application.visibility import Access, access, owner_of
from domain.base import CommandContext, DomainError, InvalidValue
from domain.branch import BRANCH_CODE, Branch
from domain.relationship import Relationship, RelationshipKind
from domain.staff import Staff

A = TypeVar("A", bound=Aggregate)

log = logging.getLogger(__name__)

#: How often a command without an expected version is decided again after losing a race.
MAX_ATTEMPTS = 8
_LOCK_STRIPES = 256
#: A version past any aggregate's: asks the repository for the whole log, bypassing its cache.
_EVERY_VERSION = 2**62


@dataclass(frozen=True)
class CommandResult:
    aggregate_id: UUID
    version: int
    position: int


class NotFound(Exception):
    def __init__(self, what: str, aggregate_id: UUID) -> None:
        super().__init__(f"no {what} with id {aggregate_id}")
        self.what = what
        self.aggregate_id = aggregate_id


class VersionMismatch(Exception):
    """If-Match named a version that is no longer current. ``actual``: the current
    version (None: newer, another process wrote it just now); ``position``: the log
    position of the aggregate's latest event, from which a read model shows the current
    version (its ``min_position``), so a client re-reads what changed, not a read model
    still behind it."""

    def __init__(self, expected: int, actual: int | None, position: int | None = None) -> None:
        super().__init__(
            f"expected version {expected}, but the current version is "
            + ("newer" if actual is None else str(actual))
        )
        self.expected = expected
        self.actual = actual
        self.position = position


class ConcurrencyConflict(Exception):
    def __init__(self, aggregate_id: UUID, attempts: int) -> None:
        super().__init__(
            f"{aggregate_id} kept changing under the command; gave up after {attempts} attempts"
        )


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or cannot tell in time what happened (HTTP 503)."""


class CommandIdReused(RuntimeError):
    """A command context was used for a second command: each command needs its own id
    (``CommandContext.then`` gives a following command one)."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"command id {command_id} was already used by another command")


class _Lingering(Exception):
    """The session that sent a lost append has not ended yet."""


def _session_ended(conn: Any, backend_pid: int) -> bool:
    """Whether the server session ``backend_pid`` is gone or outside any transaction, so
    whatever it was appending has committed or never will."""
    row = conn.execute(
        "SELECT state FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
    ).fetchone()
    if row is None:
        return True
    state = row["state"] if isinstance(row, dict) else row[0]
    return bool(state == "idle")


class AlreadyExists(Exception):
    def __init__(self, what: str, aggregate_id: UUID) -> None:
        super().__init__(f"a {what} with id {aggregate_id} already exists")


class CommandPath:
    """Load, decide and append for the services of each family of commands."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        #: How long a command may take to find out whether its lost append committed.
        self.settle_timeout = 10.0
        self._stripes = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._shapes = AggregateShapes()
        #: Loads without snapshots, for when a snapshot cannot be restored.
        self._replay: Repository[UUID] = Repository(event_store=app.events)

    def side_effects_of(self, aggregate: Aggregate) -> list[SideEffect]:
        """Writes that must commit with the aggregate's pending events."""
        if isinstance(aggregate, Staff):
            return tokens.access_side_effects(aggregate.staff_id, aggregate._pending_events)
        return [
            effect
            for e in aggregate._pending_events
            if getattr(type(e), "ERASES", False)
            for effect in personal_data.erasure_side_effects(aggregate.id, e)
        ]

    def _append(
        self, ctx: CommandContext, aggregates: Sequence[Aggregate], *, created: bool
    ) -> CommandResult:
        """Append the aggregates' new events with the command's record and what must
        commit along with them; the first aggregate is the one the command answers for."""
        primary = aggregates[0]
        record = CommandRecord(
            command_id=ctx.command_id,
            request_sha256=command_log.request_sha256(ctx),
            actor=ctx.actor,
            aggregate_id=primary.id,
            version=primary.version,
            created=created,
        )
        side_effects = [effect for a in aggregates for effect in self.side_effects_of(a)]
        with metrics.APPEND_LATENCY.time():
            recordings = self.app.save(*aggregates, command=record, side_effects=side_effects)
        if not recordings:
            raise RuntimeError("a command decided nothing")  # a domain method bug
        return CommandResult(primary.id, primary.version, recordings[-1].notification.id)

    def _recorded(
        self, ctx: CommandContext, *, ours: bool, conn: Any = None
    ) -> CommandResult | None:
        """The command's outcome, if the log has it. ``ours``: an append of this very call
        may have recorded it (its answer was lost); otherwise a record under the same id
        is another request's: the same request (a retry under the same key: replay its
        answer), or not (the key was reused: refused)."""
        outcome = self._find_command(ctx.command_id, conn)
        if outcome is None:
            return None
        mine = command_log.request_sha256(ctx)
        if outcome.request_sha256 != mine:
            if mine is None:
                raise CommandIdReused(ctx.command_id)
            raise command_log.KeyReused()
        if not ours and mine is not None:
            raise command_log.KeyReplayed(outcome)
        return CommandResult(outcome.aggregate_id, outcome.version, outcome.position)

    def _latest_position(self, aggregate_id: UUID) -> int | None:
        """The log position of the aggregate's latest event (None: it has none)."""
        with self.app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                f"SELECT notification_id AS position FROM {EVENTS_TABLE} "
                "WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1",
                (aggregate_id,),
            ).fetchone()
        return None if row is None else int(row["position"])

    def _find_command(self, command_id: str, conn: Any = None) -> command_log.Outcome | None:
        """The command's record, looked up on ``conn`` (the caller's: a thread never takes
        a second connection of the pool while it holds one) or on one of the pool's."""
        if conn is not None:
            return command_log.find(conn, command_id)
        with self.app.recorder.datastore.get_connection() as own:  # type: ignore[attr-defined]
            return command_log.find(own, command_id)

    def _settle(self, ctx: CommandContext, unknown: AppendOutcomeUnknown) -> CommandResult | None:
        """Whether an append whose answer was lost committed: wait until the session that
        sent it has ended (ending it if it lingers), then look the command up. ``None``:
        it did not, and never will. Unreachable database: ``DatabaseUnavailable``."""
        deadline = time.monotonic() + self.settle_timeout
        terminate_after = time.monotonic() + self.settle_timeout / 2
        delay = 0.02
        while True:
            try:
                with self.app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
                    if not _session_ended(conn, unknown.backend_pid):
                        if time.monotonic() >= terminate_after:
                            conn.execute("SELECT pg_terminate_backend(%s)", (unknown.backend_pid,))
                        raise _Lingering
                    return self._recorded(ctx, ours=True, conn=conn)
            except (_Lingering, PersistenceError, psycopg.Error) as error:
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(
                        "the database did not tell in time whether the command was recorded; "
                        "retry it with the same Idempotency-Key"
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def create(
        self,
        ctx: CommandContext,
        what: str,
        aggregate: Aggregate,
        *,
        along: Sequence[Aggregate] = (),
    ) -> CommandResult:
        """Append a new aggregate (and ``along``, the new aggregates created with it, in
        the same append); the answer is the first's."""
        created = [aggregate, *along]
        pending = [list(a._pending_events) for a in created]
        unsure = False
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._append(ctx, created, created=True)
            except IntegrityError as error:
                recorded = self._recorded_after_conflict(ctx, error, unsure=unsure)
                if recorded is not None:
                    return recorded
                raise AlreadyExists(what, aggregate.id) from None
            except AppendOutcomeUnknown as unknown:
                recorded = self._settle(ctx, unknown)
                if recorded is not None:
                    return recorded
                unsure = True
                # It did not commit: append the same decision again.
                for a, events in zip(created, pending, strict=True):
                    a._pending_events[:] = events
        raise ConcurrencyConflict(aggregate.id, MAX_ATTEMPTS)

    def _recorded_after_conflict(
        self, ctx: CommandContext, error: IntegrityError, *, unsure: bool
    ) -> CommandResult | None:
        """After an append collided with the log: whether this command is recorded already
        (by a twin request under the same key, or by this call's lost append)."""
        if unsure or command_log.request_sha256(ctx) is not None:
            return self._recorded(ctx, ours=unsure)
        if command_log.is_command_conflict(error):
            # A fresh id is recorded by no one else: a context reused for a second command.
            raise CommandIdReused(ctx.command_id)
        return None

    def load(self, cls: type[A], aggregate_id: UUID, *, fresh: bool) -> A:
        """The aggregate from the cache, or restored from its latest snapshot and the
        events after it (a snapshot the code cannot restore: replayed from the start)."""
        if fresh:
            self._evict(aggregate_id)
        return self._get(cls, aggregate_id, None)

    def _get(self, cls: type[A], aggregate_id: UUID, version: int | None) -> A:
        repository = self.app.repository
        try:
            try:
                aggregate: Aggregate = repository.get(
                    aggregate_id, version=version, projector_func=self._projector(aggregate_id)
                )
            except UNRESTORABLE as error:
                log.warning("%s replayed: its snapshot is unusable (%s)", aggregate_id, error)
                aggregate = self._replay.get(aggregate_id, version=version)
                if version is None and repository.cache is not None:
                    repository.cache.put(aggregate_id, aggregate)
        except AggregateNotFoundError:
            raise NotFound(cls.__name__.lower(), aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFound(cls.__name__.lower(), aggregate_id)
        return aggregate

    def _projector(self, aggregate_id: UUID) -> Callable[[Any, Iterable[Any]], Any]:
        """Applies events, and restores a snapshot met among them (checking it fits)."""

        def project(aggregate: Aggregate | None, events: Iterable[Any]) -> Aggregate | None:
            for event in events:
                if isinstance(event, AggregateSnapshot):
                    aggregate = self._shapes.restore(
                        event, lambda: next(iter(self.app.events.get(aggregate_id, lte=1)))
                    )
                else:
                    aggregate = event.mutate(aggregate)
            return aggregate

        return project

    def execute(
        self,
        ctx: CommandContext,
        cls: type[A],
        aggregate_id: UUID,
        decide: Callable[[A], None],
        expected_version: int | None,
        *,
        follow: Callable[[A], Sequence[Aggregate]] | None = None,
    ) -> CommandResult:
        """Load, decide, append. ``follow`` decides on other aggregates what must commit
        with the decision (loaded as copies of their own, never the cached objects)."""
        with self._stripes[aggregate_id.int % _LOCK_STRIPES]:
            involved = [aggregate_id]
            try:
                return self._decide_and_save(
                    ctx, cls, aggregate_id, decide, expected_version, follow, involved
                )
            except BaseException:
                # The cached object may hold a decision that was not saved: drop it.
                for other in involved:
                    self._evict(other)
                raise

    def from_log(self, cls: type[A], aggregate_id: UUID) -> A:
        """The aggregate as the log has it, as an object of its own: neither the cached
        object nor the cache are touched (a command on another aggregate decides on it
        without holding its lock; the append's version check keeps it honest)."""
        return self._get(cls, aggregate_id, _EVERY_VERSION)

    def _evict(self, aggregate_id: UUID) -> None:
        if self.app.repository.cache is not None:
            with contextlib.suppress(KeyError):
                self.app.repository.cache.get(aggregate_id, evict=True)

    def _decide_and_save(
        self,
        ctx: CommandContext,
        cls: type[A],
        aggregate_id: UUID,
        decide: Callable[[A], None],
        expected_version: int | None,
        follow: Callable[[A], Sequence[Aggregate]] | None,
        involved: list[UUID],
    ) -> CommandResult:
        fresh = False
        #: An earlier append of this call was lost and found not recorded; a later
        #: refusal is checked against the log once more.
        unsure = False
        for attempt in range(MAX_ATTEMPTS):
            try:
                aggregate = self.load(cls, aggregate_id, fresh=fresh)
                if expected_version is not None and aggregate.version != expected_version:
                    if not fresh:
                        fresh = True  # the cached copy may be behind the log
                        continue
                    raise VersionMismatch(
                        expected_version, aggregate.version, self._latest_position(aggregate_id)
                    )
                try:
                    decide(aggregate)
                    others = list(follow(aggregate)) if follow is not None else []
                except DomainError:
                    if not fresh:
                        fresh = True  # decide again on the current state before refusing
                        continue
                    raise
                involved += [other.id for other in others]
                try:
                    return self._append(ctx, [aggregate, *others], created=False)
                except IntegrityError as error:
                    recorded = self._recorded_after_conflict(ctx, error, unsure=unsure)
                    if recorded is not None:
                        return recorded
                    fresh = True
                    if expected_version is not None:
                        self.load(cls, aggregate_id, fresh=True)
                        raise VersionMismatch(
                            expected_version, None, self._latest_position(aggregate_id)
                        ) from None
                    # Another process wrote first: step aside briefly, with jitter.
                    time.sleep(random.uniform(0, 0.002 * 2**attempt))
                    continue
            except AppendOutcomeUnknown as unknown:
                for other in involved:
                    self._evict(other)
                recorded = self._settle(ctx, unknown)
                if recorded is not None:
                    return recorded
                unsure = fresh = True  # not recorded: decide again on the log as it is
                continue
            except (DomainError, VersionMismatch):
                if unsure or command_log.request_sha256(ctx) is not None:
                    # A twin request under the same key (or this call's lost append) may
                    # have made the state refuse it: its record answers, if there is one.
                    recorded = self._recorded(ctx, ours=unsure)
                    if recorded is not None:
                        return recorded
                raise
        raise ConcurrencyConflict(aggregate_id, MAX_ATTEMPTS)

    def current(self, cls: type[A], aggregate_id: UUID) -> A:
        """The aggregate as the log has it now: a copy of its own, never the cached object
        that commands decide on."""
        with self._stripes[aggregate_id.int % _LOCK_STRIPES]:
            return copy.deepcopy(self.load(cls, aggregate_id, fresh=True))

    def referenced(
        self,
        cls: type[A],
        aggregate_id: UUID,
        field: str,
        named: object = None,
        ctx: CommandContext | None = None,
    ) -> A:
        """The aggregate a command names in ``field`` (as ``named``, if not by its id);
        invalid input if there is none, or if it belongs to a branch the command ``ctx``
        may not see (``application.visibility``: what belongs to a branch is named only
        with the command)."""
        try:
            if ctx is not None:
                return nameable(self, ctx, cls, aggregate_id)
            aggregate = self.load(cls, aggregate_id, fresh=False)
            assert owner_of(aggregate) is None, f"{field} is named without its command"
            return aggregate
        except NotFound:
            raise InvalidValue(
                f"{field}.unknown",
                f"{field} {named or aggregate_id} refers to nothing",
                field=field,
            ) from None

    def branch(self, code: str | None, field: str = "branch") -> Branch:
        """The open branch a command refers to by ``code`` in ``field``: invalid input if
        no such branch is registered, refused if it is closed. Read afresh when the cached
        copy says it is closed (it may have been reopened since)."""
        code = (code or "").strip()
        if not BRANCH_CODE.match(code):
            raise InvalidValue(
                "branch.format",
                f"{code!r} is no branch code (a letter, then up to 39 letters, digits, _ or -)",
                field=field,
            )
        try:
            found = self.load(Branch, Branch.id_for(code), fresh=False)
        except NotFound:
            raise InvalidValue(
                "branch.unknown", f"no branch {code!r} is registered", field=field
            ) from None
        if not found.open:
            found = self.load(Branch, found.id, fresh=True)
        found.require_open()
        return found

    def relationship_kind(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        field: str,
        wanted: Collection[RelationshipKind],
    ) -> str:
        """The relationship's kind; read afresh when the cached copy has not the kind
        ``wanted`` (a prospect qualified or won by another process since)."""
        relationship = self.referenced(Relationship, relationship_id, field, ctx=ctx)
        if relationship.kind not in wanted:
            relationship = self.load(Relationship, relationship_id, fresh=True)
        return relationship.kind.value


def nameable(
    app: CommandPath, ctx: CommandContext, cls: type[A], aggregate_id: UUID, *, fresh: bool = False
) -> A:
    """The aggregate a command names, loaded as ``app.load`` loads it, if the command's
    actor may name it; else ``NotFound``, exactly as for an aggregate that does not exist.

    The owner's branch is read as the log has it now (a relationship may have moved to
    another branch since it was cached)."""

    aggregate = app.load(cls, aggregate_id, fresh=fresh)
    owner_id = owner_of(aggregate)
    if ctx.branch_scope is None or owner_id is None:
        return aggregate
    owner: Aggregate
    if owner_id == aggregate_id:
        if not fresh:
            aggregate = app.load(cls, aggregate_id, fresh=True)
        owner = aggregate
    else:
        owner = app.load(Relationship, owner_id, fresh=True)
    assert isinstance(owner, Relationship)
    if access(ctx.branch_scope, owner.branch, owner.kind) is Access.NONE:
        raise NotFound(cls.__name__.lower(), aggregate_id)
    return aggregate
