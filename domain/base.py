"""What every aggregate of the product shares: who did it, when, and why it was refused.

The event metadata lives on the events themselves, so the stored history answers an
auditor's questions (who, when it happened, which command, which conversation) without
any side table. ``recorded_at`` is not here: it is the server time of the append, stamped
by the database when the row is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

#: How far in the future a client's clock may be before its business time is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)


class DomainError(Exception):
    """A command the domain refuses. ``rule`` names the rule, for clients and auditors."""

    rule: str
    field: str | None

    def __init__(self, rule: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.field = field


class InvalidValue(DomainError):
    """A value that can never be right, whatever the state (HTTP 422)."""


class CommandRefused(DomainError):
    """A command the current state forbids (HTTP 409)."""


class UnknownMember(DomainError):
    """A command names a part of the aggregate that does not exist (HTTP 404)."""


def require(condition: bool, rule: str, message: str, *, field: str | None = None) -> None:
    if not condition:
        raise InvalidValue(rule, message, field=field)


def refuse_unless(condition: bool, rule: str, message: str) -> None:
    if not condition:
        raise CommandRefused(rule, message)


#: The namespace of the ids of following commands (``CommandContext.then``).
_FOLLOWING = UUID("6f1d3c52-8a4e-4b7e-9d0a-5c2e7f1b9a30")

_STAFF_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


@dataclass(frozen=True)
class CommandContext:
    """Who issues a command, when it happened in the business, and why.

    ``occurred_at`` is the business time the client reports (a visit last Tuesday is
    logged today); it may lie in the past but never more than ``MAX_CLOCK_SKEW`` ahead
    of the server clock ``now``.

    ``branch_scope`` is the branch the actor acts within: the records a command names are
    looked up as that branch may see them (``application.visibility``); None for every
    branch (headquarters, auditors, administrators, operators). It is not recorded.
    """

    actor: str
    command_id: str
    correlation_id: str
    causation_id: str
    occurred_at: datetime
    branch_scope: str | None = None

    @classmethod
    def issue(
        cls,
        *,
        actor: str,
        now: datetime,
        occurred_at: datetime | None = None,
        command_id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        branch_scope: str | None = None,
    ) -> CommandContext:
        require(bool(_STAFF_ID.match(actor)), "actor.format", "actor must be a staff id")
        when = occurred_at if occurred_at is not None else now
        require(
            when.tzinfo is not None,
            "occurred_at.timezone",
            "occurred_at must carry a time zone",
            field="occurred_at",
        )
        require(
            when <= now + MAX_CLOCK_SKEW,
            "occurred_at.not_in_future",
            f"occurred_at lies more than {int(MAX_CLOCK_SKEW.total_seconds())} s in the future",
            field="occurred_at",
        )
        command = command_id or str(uuid4())
        return cls(
            actor=actor,
            command_id=command,
            correlation_id=correlation_id or command,
            causation_id=causation_id or command,
            occurred_at=when.astimezone(UTC),
            branch_scope=branch_scope,
        )

    def then(self, step: str) -> CommandContext:
        """The context of a command that follows from this one (its ``step``): same actor,
        business time and conversation, this command as its cause. Its id is derived from
        this one's, so deciding the same command again derives the same id."""
        return CommandContext(
            actor=self.actor,
            command_id=str(uuid5(_FOLLOWING, f"{self.command_id}/{step}")),
            correlation_id=self.correlation_id,
            causation_id=self.command_id,
            occurred_at=self.occurred_at,
            branch_scope=self.branch_scope,
        )

    def event_fields(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "command_id": self.command_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "occurred_at": self.occurred_at,
        }


class AttributedEvent(Aggregate.Event):
    """Base of every stored event: the library's event plus the audit metadata.

    Each concrete event declares ``TOPIC``, its stored name. Stored names never change
    when code moves; a changed payload gets a new ``class_version`` and an upcaster.
    """

    TOPIC: ClassVar[str]

    actor: str
    command_id: str
    correlation_id: str
    causation_id: str
    occurred_at: datetime


def event_classes(aggregate_class: type[Aggregate]) -> Iterator[type[AttributedEvent]]:
    for value in vars(aggregate_class).values():
        if (
            isinstance(value, type)
            and issubclass(value, AttributedEvent)
            and value.__name__ != "Event"
        ):
            yield value
