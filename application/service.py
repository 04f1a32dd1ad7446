"""The service layer: one method per command — load, decide, save.

Every command returns the aggregate id, its new version and the log position of the
last event written, so a client can ask a read model to be at least that fresh.

Concurrency is optimistic across processes; within one process, commands on the same
aggregate take turns (a striped lock), so they never race each other. Aggregates are
kept in an in-process cache and not re-read before each command (that would cost a
round trip); a stale cached copy can never win,
because its events would take version numbers that already exist and the append fails.
Then the aggregate is read afresh and the command decided again, a bounded number of
times. A command that names the version it expects (``If-Match``) is never retried: if
that version is no longer current it fails with ``VersionMismatch``.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.database import Database
from application.schema import EVENTS_TABLE
from domain.base import CommandContext, DomainError
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    Relationship,
    RelationshipKind,
)

A = TypeVar("A", bound=Aggregate)

#: How often a command without an expected version is decided again after losing a race.
MAX_ATTEMPTS = 8
_LOCK_STRIPES = 256


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
    def __init__(self, expected: int, actual: int | None) -> None:
        super().__init__(
            f"expected version {expected}, but the current version is "
            + ("newer" if actual is None else str(actual))
        )
        self.expected = expected
        self.actual = actual


class ConcurrencyConflict(Exception):
    def __init__(self, aggregate_id: UUID, attempts: int) -> None:
        super().__init__(
            f"{aggregate_id} kept changing under the command; gave up after {attempts} attempts"
        )


class AlreadyExists(Exception):
    def __init__(self, what: str, aggregate_id: UUID) -> None:
        super().__init__(f"a {what} with id {aggregate_id} already exists")


class Fullchain(Application[UUID]):
    """The write side: every aggregate of the product in one append-only log."""

    name = "fullchain"

    def __init__(self, database: Database, *, cache_size: int = 10_000) -> None:
        env = database.eventsourcing_env()
        env.update(
            {
                # Tables are created by `fullchain db init`, never implicitly.
                "CREATE_TABLE": "no",
                "AGGREGATE_CACHE_MAXSIZE": str(cache_size),
                "AGGREGATE_CACHE_FASTFORWARD": "no",
                "POSTGRES_POOL_SIZE": "8",
                "POSTGRES_MAX_OVERFLOW": "8",
                "POSTGRES_LOCK_TIMEOUT": "10",
            }
        )
        super().__init__(env)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._stripes = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        assert self.recorder.events_table_name == EVENTS_TABLE  # type: ignore[attr-defined]

    # --- the command path --------------------------------------------------------------

    def context(self, actor: str, **kwargs: Any) -> CommandContext:
        return CommandContext.issue(actor=actor, now=self.clock(), **kwargs)

    def _create(self, what: str, aggregate: Aggregate) -> CommandResult:
        try:
            recordings = self.save(aggregate)
        except IntegrityError:
            raise AlreadyExists(what, aggregate.id) from None
        return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)

    def _load(self, cls: type[A], aggregate_id: UUID, *, fresh: bool) -> A:
        if fresh and self.repository.cache is not None:
            with contextlib.suppress(KeyError):
                self.repository.cache.get(aggregate_id, evict=True)
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(cls.__name__.lower(), aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFound(cls.__name__.lower(), aggregate_id)
        return aggregate

    def _execute(
        self,
        cls: type[A],
        aggregate_id: UUID,
        decide: Callable[[A], None],
        expected_version: int | None,
    ) -> CommandResult:
        with self._stripes[aggregate_id.int % _LOCK_STRIPES]:
            return self._execute_locked(cls, aggregate_id, decide, expected_version)

    def _execute_locked(
        self,
        cls: type[A],
        aggregate_id: UUID,
        decide: Callable[[A], None],
        expected_version: int | None,
    ) -> CommandResult:
        fresh = False
        for attempt in range(MAX_ATTEMPTS):
            aggregate = self._load(cls, aggregate_id, fresh=fresh)
            if expected_version is not None and aggregate.version != expected_version:
                if not fresh:
                    fresh = True  # the cached copy may be behind the log
                    continue
                raise VersionMismatch(expected_version, aggregate.version)
            try:
                decide(aggregate)
            except DomainError:
                if not fresh:
                    fresh = True  # decide again on the current state before refusing
                    continue
                raise
            try:
                recordings = self.save(aggregate)
            except IntegrityError:
                fresh = True
                if expected_version is not None:
                    self._load(cls, aggregate_id, fresh=True)
                    raise VersionMismatch(expected_version, None) from None
                # Another process wrote first: step aside briefly, with jitter.
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
                continue
            if not recordings:
                raise RuntimeError("a command decided nothing")  # a domain method bug
            return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)
        raise ConcurrencyConflict(aggregate_id, MAX_ATTEMPTS)

    # --- relationships: commands ---------------------------------------------------------

    def register_relationship(
        self,
        ctx: CommandContext,
        *,
        name: str,
        kind: RelationshipKind,
        industry: str,
        region: str,
        branch: str,
        key_account: bool = False,
        relationship_id: UUID | None = None,
    ) -> CommandResult:
        relationship = Relationship.register(
            ctx,
            name=name,
            kind=kind,
            industry=industry,
            region=region,
            branch=branch,
            key_account=key_account,
            relationship_id=relationship_id,
        )
        return self._create("relationship", relationship)

    def _relationship(
        self,
        relationship_id: UUID,
        expected_version: int | None,
        decide: Callable[[Relationship], None],
    ) -> CommandResult:
        return self._execute(Relationship, relationship_id, decide, expected_version)

    def rename_relationship(
        self, ctx: CommandContext, rid: UUID, *, name: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(rid, expected_version, lambda r: r.rename(ctx, name=name))

    def qualify_as_target(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.qualify_as_target(ctx, reason=reason)
        )

    def return_to_prospect(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.return_to_prospect(ctx, reason=reason)
        )

    def record_first_business(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        reference: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.record_first_business(ctx, reference=reference)
        )

    def mark_dormant(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.mark_dormant(ctx, reason=reason)
        )

    def reactivate(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(rid, expected_version, lambda r: r.reactivate(ctx, reason=reason))

    def mark_lost(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        reason: str,
        lost_to_competitor_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        if lost_to_competitor_id is not None:
            competitor = self._load(Relationship, lost_to_competitor_id, fresh=False)
            if competitor.kind is not RelationshipKind.COMPETITOR:
                raise DomainError(
                    "lifecycle.lost_to_non_competitor",
                    f"{lost_to_competitor_id} is a {competitor.kind}, not a competitor",
                    field="lost_to_competitor_id",
                )
        return self._relationship(
            rid,
            expected_version,
            lambda r: r.mark_lost(ctx, reason=reason, lost_to_competitor_id=lost_to_competitor_id),
        )

    def win_back(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(rid, expected_version, lambda r: r.win_back(ctx, reason=reason))

    def change_industry(
        self, ctx: CommandContext, rid: UUID, *, industry: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.change_industry(ctx, industry=industry)
        )

    def designate_key_account(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.designate_key_account(ctx, reason=reason)
        )

    def withdraw_key_account(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.withdraw_key_account(ctx, reason=reason)
        )

    def move_to_branch(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        region: str,
        branch: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.move_to_branch(ctx, region=region, branch=branch)
        )

    def assign_account_team(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        field_rep: str | None,
        office_rep: str | None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid,
            expected_version,
            lambda r: r.assign_account_team(ctx, field_rep=field_rep, office_rep=office_rep),
        )

    def add_contact(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        contact_id: str,
        name: str,
        title: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid,
            expected_version,
            lambda r: r.add_contact(
                ctx, contact_id=contact_id, name=name, title=title, phone=phone, email=email
            ),
        )

    def change_contact(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        contact_id: str,
        name: str | None = None,
        title: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid,
            expected_version,
            lambda r: r.change_contact(
                ctx, contact_id=contact_id, name=name, title=title, phone=phone, email=email
            ),
        )

    def remove_contact(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        contact_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid, expected_version, lambda r: r.remove_contact(ctx, contact_id=contact_id)
        )

    def log_interaction(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        interaction_id: UUID,
        channel: Channel,
        direction: Direction,
        summary: str,
        staff: str | None = None,
        contact_id: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid,
            expected_version,
            lambda r: r.log_interaction(
                ctx,
                interaction_id=interaction_id,
                channel=channel,
                direction=direction,
                summary=summary,
                staff=staff,
                contact_id=contact_id,
            ),
        )

    def record_customer_care(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        care_id: UUID,
        care_kind: CareActionKind,
        note: str,
        staff: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            rid,
            expected_version,
            lambda r: r.record_customer_care(
                ctx, care_id=care_id, care_kind=care_kind, note=note, staff=staff
            ),
        )

    # --- queries on the write side -------------------------------------------------------

    def get_relationship(self, rid: UUID) -> Relationship:
        return self._load(Relationship, rid, fresh=True)
