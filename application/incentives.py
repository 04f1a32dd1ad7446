"""Commands on staff incentives (员工奖惩): headquarters sets the rules; a manager confirms
or rejects each proposed award or penalty, with the reason.

What a proposal awards or takes (the staff member, the branch they were of, the measure,
the points and the month) is what the performance read model proposed; the service checks
that the staff member is registered, that the command's branch is the proposal's (a
branch manager decides their own branch's proposals only: another branch's is answered as
one that does not exist) and that the proposal is not decided yet (409)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from application.commands import AlreadyExists, CommandPath, CommandResult, NotFound
from domain.base import CommandContext, CommandRefused
from domain.incentive import RULES_ID, Decision, Incentive, IncentiveRules, Measure
from domain.staff import Staff


class IncentiveService:
    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    def set_rules(
        self,
        ctx: CommandContext,
        *,
        points: Mapping[str, Any],
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The company's rules from now on: the first setting creates them."""
        try:
            self.commands.load(IncentiveRules, RULES_ID, fresh=False)
        except NotFound:
            if expected_version is None:
                rules = IncentiveRules.set(ctx, points=points, note=note)
                return self.commands.create(ctx, "incentive rules", rules)
            raise
        return self.commands.execute(
            ctx,
            IncentiveRules,
            RULES_ID,
            lambda rules: rules.change(ctx, points=points, note=note),
            expected_version,
        )

    def decide(
        self,
        ctx: CommandContext,
        proposal_id: UUID,
        *,
        decision: Decision,
        staff_id: str,
        branch: str,
        measure: Measure,
        points: int,
        period: str,
        source: str,
        reason: str,
    ) -> CommandResult:
        """Confirm or reject the proposal ``proposal_id``, once."""
        if ctx.branch_scope is not None and ctx.branch_scope != branch:
            raise NotFound("proposal", proposal_id)
        self.commands.load(Staff, Staff.id_for(staff_id), fresh=False)
        try:
            done = self.commands.load(Incentive, proposal_id, fresh=False)
        except NotFound:
            pass
        else:
            raise CommandRefused("incentive.decided", f"the proposal is {done.decision.value}")
        incentive = Incentive.decide(
            ctx,
            proposal_id=proposal_id,
            decision=decision,
            staff_id=staff_id,
            branch=branch,
            measure=measure,
            points=points,
            period=period,
            source=source,
            reason=reason,
        )
        try:
            return self.commands.create(ctx, "decision", incentive)
        except AlreadyExists:
            raise CommandRefused(
                "incentive.decided", "the proposal was decided meanwhile"
            ) from None
