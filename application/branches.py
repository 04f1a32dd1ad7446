"""Commands on the branch registry: register, change, close and reopen a branch."""

from __future__ import annotations

from application.commands import CommandPath, CommandResult
from domain.base import CommandContext
from domain.branch import Branch, branch_code


class BranchService:
    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    def register_branch(
        self,
        ctx: CommandContext,
        *,
        code: str,
        name_zh: str,
        name_en: str,
        region: str,
        time_zone: str,
        currency: str,
    ) -> CommandResult:
        branch = Branch.register(
            ctx,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            region=region,
            time_zone=time_zone,
            currency=currency,
        )
        return self.commands.create(ctx, "branch", branch)

    def _branch(self, code: str) -> Branch:
        return self.commands.current(Branch, Branch.id_for(branch_code(code, "code")))

    def change_branch(
        self,
        ctx: CommandContext,
        code: str,
        *,
        expected_version: int | None = None,
        **changes: str | None,
    ) -> CommandResult:
        return self.commands.execute(
            ctx,
            Branch,
            Branch.id_for(branch_code(code, "code")),
            lambda b: b.change(ctx, **changes),
            expected_version,
        )

    def close_branch(
        self, ctx: CommandContext, code: str, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self.commands.execute(
            ctx,
            Branch,
            Branch.id_for(branch_code(code, "code")),
            lambda b: b.close(ctx, reason=reason),
            expected_version,
        )

    def reopen_branch(
        self, ctx: CommandContext, code: str, *, expected_version: int | None = None
    ) -> CommandResult:
        return self.commands.execute(
            ctx,
            Branch,
            Branch.id_for(branch_code(code, "code")),
            lambda b: b.reopen(ctx),
            expected_version,
        )

    def get_branch(self, code: str) -> Branch:
        return self._branch(code)
