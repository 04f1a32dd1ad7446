"""Commands on service cases (客户服务与支持): opened with the SLA policy in force, assigned,
answered, escalated, resolved, reopened, closed and rated — one method per command.

SLA policy: ``FULLCHAIN_SLA_POLICY`` gives the first-response and resolution hours of any
priority, ``urgent=1/8,high=4/24,normal=8/72,low=24/168``; priorities it does not name keep
``DEFAULT_SLA_POLICY``'s hours. A policy that cannot be right (a more urgent priority given
more time, a resolution due before the response) fails the command that uses it, naming the
variable."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from uuid import UUID

from application import settings
from application.commands import CommandPath, CommandResult
from domain.base import CommandContext, DomainError, InvalidValue
from domain.relationship import RelationshipKind
from domain.service_case import (
    DEFAULT_SLA_POLICY,
    PRIORITIES,
    SERVED_KINDS,
    CaseKind,
    Priority,
    ServiceCase,
    SlaPolicy,
    SlaTarget,
)
from domain.shipment import Shipment
from domain.staff import Staff

SLA_POLICY_VARIABLE = "FULLCHAIN_SLA_POLICY"

#: The kinds a prospect or target becomes a customer from, on its first won business.
_BEFORE_FIRST_BUSINESS = frozenset({RelationshipKind.PROSPECT, RelationshipKind.TARGET})


@lru_cache(maxsize=8)
def parse_sla_policy(text: str) -> SlaPolicy:
    """``urgent=1/8,high=4/24``: first-response/resolution hours per priority; the
    priorities not named keep the default's. ``ValueError`` if it cannot be right."""
    targets = {priority: DEFAULT_SLA_POLICY.target(priority) for priority in PRIORITIES}
    try:
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, hours = item.partition("=")
            first_response, _, resolution = hours.partition("/")
            targets[Priority(name.strip())] = SlaTarget(int(first_response), int(resolution))
        return SlaPolicy(**{p.value: target for p, target in targets.items()})
    except (ValueError, DomainError) as error:
        reason = error.message if isinstance(error, DomainError) else str(error)
        msg = (
            f"{SLA_POLICY_VARIABLE}={text!r} is not an SLA policy"
            f" (priority=first-response-hours/resolution-hours, ...): {reason}"
        )
        raise ValueError(msg) from None


def configured_sla_policy() -> SlaPolicy:
    text = (settings.load().sla_policy or "").strip()
    return parse_sla_policy(text) if text else DEFAULT_SLA_POLICY


class CaseService:
    """Commands and write-side queries of service cases."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    def open_case(
        self,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        kind: CaseKind,
        priority: Priority,
        subject: str,
        description: str,
        shipment_id: UUID | None = None,
        incident_id: UUID | None = None,
        case_id: UUID | None = None,
    ) -> CommandResult:
        """A case for a customer, prospect or target, its clocks started by the configured
        SLA policy; a shipment it concerns is the relationship's, an incident the
        shipment's."""
        kind_found = self.commands.relationship_kind(
            ctx, relationship_id, "relationship_id", SERVED_KINDS
        )
        if shipment_id is not None:
            shipment = self.commands.referenced(Shipment, shipment_id, "shipment_id", ctx=ctx)
            if shipment.customer_id != relationship_id:
                raise InvalidValue(
                    "case.shipment_of_another_relationship",
                    f"shipment {shipment.reference} was booked for another relationship",
                    field="shipment_id",
                )
            if incident_id is not None and incident_id not in shipment.incidents:
                raise InvalidValue(
                    "case.incident_of_another_shipment",
                    f"shipment {shipment.reference} has no incident {incident_id}",
                    field="incident_id",
                )
        case = ServiceCase.open(
            ctx,
            relationship_id=relationship_id,
            relationship_kind=kind_found,
            kind=kind,
            priority=priority,
            subject=subject,
            description=description,
            shipment_id=shipment_id,
            incident_id=incident_id,
            policy=configured_sla_policy(),
            case_id=case_id,
        )
        return self.commands.create(ctx, "service case", case)

    def _case(
        self,
        ctx: CommandContext,
        cid: UUID,
        expected_version: int | None,
        decide: Callable[[ServiceCase], None],
    ) -> CommandResult:
        return self.commands.execute(ctx, ServiceCase, cid, decide, expected_version)

    def assign_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        owner: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Give the case an owner: a staff member."""
        self.commands.referenced(Staff, Staff.id_for(owner.strip()), "owner", owner.strip())
        return self._case(ctx, cid, expected_version, lambda c: c.assign(ctx, owner=owner))

    def respond_to_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        summary: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._case(ctx, cid, expected_version, lambda c: c.respond(ctx, summary=summary))

    def escalate_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        reason: str,
        to_priority: Priority | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        policy = configured_sla_policy()
        return self._case(
            ctx,
            cid,
            expected_version,
            lambda c: c.escalate(ctx, reason=reason, to_priority=to_priority, policy=policy),
        )

    def resolve_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        resolution: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._case(
            ctx, cid, expected_version, lambda c: c.resolve(ctx, resolution=resolution)
        )

    def reopen_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        policy = configured_sla_policy()
        return self._case(
            ctx, cid, expected_version, lambda c: c.reopen(ctx, reason=reason, policy=policy)
        )

    def close_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._case(ctx, cid, expected_version, lambda c: c.close(ctx, note=note))

    def rate_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        rating: int,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._case(
            ctx,
            cid,
            expected_version,
            lambda c: c.rate_satisfaction(ctx, rating=rating, comment=comment),
        )

    def get_service_case(self, cid: UUID) -> ServiceCase:
        return self.commands.current(ServiceCase, cid)
