"""Commands on follow-ups and care plans — one method per command.

The service finds what the domain is given: the subject a follow-up is scheduled on and the
relationship it belongs to (a body's reference to a record the caller's branch may not
command is answered as one to nothing), and the assignee, who must be a registered, active
staff member whose branch may work that relationship.

Completing a follow-up logs the interaction it produced on the relationship, and a care
plan's follow-up that completes or is cancelled schedules the plan's next one: the
follow-up, the relationship, the plan and the next follow-up are decided by one command and
appended together, each following aggregate's events under a following step of the
command's context (the same correlation id, the command as their cause). Starting a plan
appends the plan with its first follow-up; ending one cancels its open follow-up, in the
same append.

"Today" for staff is the day in the company's time zone (``FULLCHAIN_TIME_ZONE``, an IANA
name, Asia/Shanghai by default), never the machine's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate

from application import settings
from application.commands import CommandPath, CommandResult
from application.visibility import Access, access, owner_of
from domain.base import CommandContext, InvalidValue, require
from domain.follow_up import CarePlan, FollowUp, FollowUpKind, IntervalUnit, SubjectKind
from domain.opportunity import Opportunity
from domain.relationship import Channel, Direction, Relationship
from domain.service_case import ServiceCase
from domain.shipment import Shipment
from domain.staff import Role, Staff

TIME_ZONE_VARIABLE = "FULLCHAIN_TIME_ZONE"
DEFAULT_TIME_ZONE = "Asia/Shanghai"

#: The roles that work follow-ups: an assignee holds one of them.
WORKING_ROLES = frozenset({Role.FIELD_STAFF, Role.OFFICE_STAFF, Role.BRANCH_MANAGER, Role.HQ})


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(f"{TIME_ZONE_VARIABLE}={name!r} names no IANA time zone") from None


def company_time_zone() -> ZoneInfo:
    """The company's time zone, in which staff's days begin and end."""
    return _zone(settings.load().time_zone.strip() or DEFAULT_TIME_ZONE)


#: The aggregate each kind of subject is.
SUBJECTS: dict[SubjectKind, type[Aggregate]] = {
    SubjectKind.RELATIONSHIP: Relationship,
    SubjectKind.SHIPMENT: Shipment,
    SubjectKind.OPPORTUNITY: Opportunity,
    SubjectKind.CASE: ServiceCase,
}


class FollowUpService:
    """Commands and write-side queries of follow-ups and care plans."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    # --- what the domain is given ------------------------------------------------------

    def _relationship(self, ctx: CommandContext, rid: UUID, field: str) -> Relationship:
        """The relationship ``field`` names, which the command's branch must command."""
        # Named within a branch, it is read afresh (``nameable``): its branch as it is now.
        relationship = self.commands.referenced(Relationship, rid, field, ctx=ctx)
        if access(ctx.branch_scope, relationship.branch, relationship.kind) < Access.COMMAND:
            raise InvalidValue(
                f"{field}.other_branch",
                f"{field} {rid} belongs to branch {relationship.branch!r}, whose staff "
                "schedule its follow-ups",
                field=field,
            )
        return relationship

    def _subject(self, ctx: CommandContext, kind: SubjectKind, subject_id: UUID) -> Relationship:
        """The relationship the subject belongs to (the subject itself, for one)."""
        if SubjectKind(kind) is SubjectKind.RELATIONSHIP:
            return self._relationship(ctx, subject_id, "subject_id")
        subject = self.commands.referenced(
            SUBJECTS[SubjectKind(kind)], subject_id, "subject_id", ctx=ctx
        )
        owner = owner_of(subject)
        assert owner is not None
        return self._relationship(ctx, owner, "subject_id")

    def _check_assignee(self, assignee: str, relationship: Relationship) -> str:
        """The assignee: a registered, active staff member who works follow-ups and whose
        branch may command the relationship."""
        who = assignee.strip()
        require(bool(who), "assignee.required", "assignee must not be empty", field="assignee")
        staff = self.commands.referenced(Staff, Staff.id_for(who), "assignee", who)
        if not staff.active or not staff.roles & WORKING_ROLES:
            staff = self.commands.load(Staff, staff.id, fresh=True)
        require(staff.active, "assignee.deactivated", f"{who} is deactivated", field="assignee")
        require(
            bool(staff.roles & WORKING_ROLES),
            "assignee.role",
            f"{who} works no follow-ups (field or office staff, managers, headquarters do)",
            field="assignee",
        )
        scope = None if any(role.sees_all_branches for role in staff.roles) else staff.branch
        require(
            access(scope, relationship.branch, relationship.kind) is Access.COMMAND,
            "assignee.branch",
            f"{who} of branch {staff.branch!r} does not work the relationships of branch "
            f"{relationship.branch!r}",
            field="assignee",
        )
        return who

    def _next_of_plan(self, ctx: CommandContext, closed: FollowUp) -> list[Aggregate]:
        """The plan's next follow-up after ``closed``, with the plan, if it has one."""
        if closed.care_plan_id is None:
            return []
        plan = self.commands.from_log(CarePlan, closed.care_plan_id)
        following = plan.next_after(ctx.then("care-plan"), closed)
        return [] if following is None else [plan, following]

    # --- follow-ups --------------------------------------------------------------------

    def schedule_follow_up(
        self,
        ctx: CommandContext,
        *,
        subject_kind: SubjectKind,
        subject_id: UUID,
        kind: FollowUpKind,
        due_at: datetime,
        assignee: str,
        note: str | None = None,
        follow_up_id: UUID | None = None,
    ) -> CommandResult:
        relationship = self._subject(ctx, subject_kind, subject_id)
        follow_up = FollowUp.schedule(
            ctx,
            relationship_id=relationship.id,
            subject_kind=subject_kind,
            subject_id=subject_id,
            kind=kind,
            due_at=due_at,
            assignee=self._check_assignee(assignee, relationship),
            note=note,
            follow_up_id=follow_up_id,
        )
        return self.commands.create(ctx, "follow-up", follow_up)

    def _follow_up(
        self,
        ctx: CommandContext,
        fid: UUID,
        expected_version: int | None,
        decide: Callable[[FollowUp], None],
        follow: Callable[[FollowUp], list[Aggregate]] | None = None,
    ) -> CommandResult:
        return self.commands.execute(ctx, FollowUp, fid, decide, expected_version, follow=follow)

    def assign_follow_up(
        self,
        ctx: CommandContext,
        fid: UUID,
        *,
        assignee: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        follow_up = self.commands.load(FollowUp, fid, fresh=False)
        relationship = self.commands.load(Relationship, follow_up.relationship_id, fresh=True)
        who = self._check_assignee(assignee, relationship)
        return self._follow_up(ctx, fid, expected_version, lambda f: f.assign(ctx, assignee=who))

    def reschedule_follow_up(
        self,
        ctx: CommandContext,
        fid: UUID,
        *,
        due_at: datetime,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._follow_up(
            ctx, fid, expected_version, lambda f: f.reschedule(ctx, due_at=due_at, reason=reason)
        )

    def complete_follow_up(
        self,
        ctx: CommandContext,
        fid: UUID,
        *,
        outcome: str,
        channel: Channel | None = None,
        direction: Direction = Direction.OUTBOUND,
        contact_id: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Done, with the interaction it produced logged on the relationship (``channel``:
        by default the kind's), and a care plan's next follow-up scheduled."""

        def logged(done: FollowUp) -> list[Aggregate]:
            relationship = self.commands.from_log(Relationship, done.relationship_id)
            if contact_id is not None and contact_id not in relationship.contacts:
                raise InvalidValue(
                    "contact_id.unknown",
                    f"the relationship has no contact {contact_id}",
                    field="contact_id",
                )
            assert done.interaction_id is not None
            relationship.log_interaction(
                ctx.then("interaction"),
                interaction_id=done.interaction_id,
                channel=channel or done.kind.channel,
                direction=direction,
                summary=outcome,
                staff=ctx.actor,
                contact_id=contact_id,
            )
            return [relationship, *self._next_of_plan(ctx, done)]

        def decide(follow_up: FollowUp) -> None:
            follow_up.complete(ctx, outcome=outcome)

        return self._follow_up(ctx, fid, expected_version, decide, follow=logged)

    def cancel_follow_up(
        self,
        ctx: CommandContext,
        fid: UUID,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Cancelled, with the reason; a care plan's next follow-up is scheduled (ending
        the plan is a command of its own)."""
        return self._follow_up(
            ctx,
            fid,
            expected_version,
            lambda f: f.cancel(ctx, reason=reason),
            follow=lambda cancelled: self._next_of_plan(ctx, cancelled),
        )

    # --- care plans --------------------------------------------------------------------

    def start_care_plan(
        self,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        kind: FollowUpKind,
        every: int,
        unit: IntervalUnit,
        assignee: str,
        first_due_at: datetime,
        note: str | None = None,
        care_plan_id: UUID | None = None,
    ) -> CommandResult:
        """A care plan and its first follow-up, appended together."""
        relationship = self._relationship(ctx, relationship_id, "relationship_id")
        plan, first = CarePlan.start(
            ctx,
            relationship_id=relationship_id,
            kind=kind,
            every=every,
            unit=unit,
            assignee=self._check_assignee(assignee, relationship),
            first_due_at=first_due_at,
            note=note,
            care_plan_id=care_plan_id,
        )
        return self.commands.create(ctx, "care plan", plan, along=[first])

    def end_care_plan(
        self,
        ctx: CommandContext,
        pid: UUID,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The plan ends, and its open follow-up is cancelled with the same reason."""
        still_open: list[UUID | None] = []

        def cancelled(plan: CarePlan) -> list[Aggregate]:
            if not still_open or still_open[-1] is None:
                return []
            follow_up = self.commands.from_log(FollowUp, still_open[-1])
            if not follow_up.is_open:
                return []
            follow_up.cancel(ctx.then("follow-up"), reason=reason)
            return [follow_up]

        return self.commands.execute(
            ctx,
            CarePlan,
            pid,
            lambda p: still_open.append(p.end(ctx, reason=reason)),
            expected_version,
            follow=cancelled,
        )

    # --- write-side queries ------------------------------------------------------------

    def get_follow_up(self, fid: UUID) -> FollowUp:
        return self.commands.current(FollowUp, fid)

    def get_care_plan(self, pid: UUID) -> CarePlan:
        return self.commands.current(CarePlan, pid)
