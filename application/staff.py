"""Commands on staff members: registration with roles, roles, tokens, branch, deactivation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from uuid import UUID, uuid4

from application import passwords, tokens
from application.commands import AlreadyExists, CommandPath, CommandResult
from application.tokens import StaffAccessCache
from domain.base import CommandContext, CommandRefused, InvalidValue
from domain.relationship import RelationshipKind
from domain.staff import Role, Staff


class StaffService:
    """Commands and write-side queries of staff members."""

    def __init__(self, commands: CommandPath, access: StaffAccessCache) -> None:
        self.commands = commands
        #: What this process knows of staff access: a change is forgotten here the moment
        #: it commits (other processes hear of it by notification).
        self.access = access

    def register_staff(
        self,
        ctx: CommandContext,
        *,
        staff_id: str,
        name: str,
        branch: str,
        roles: Iterable[Role] = (),
        partner_id: UUID | None = None,
        customer_id: UUID | None = None,
    ) -> CommandResult:
        """Register a staff member with their roles: one command, one append. With
        ``partner_id`` (a partner relationship), a partner user, of no branch; with
        ``customer_id`` (a customer relationship), a customer user, of no branch."""
        if partner_id is not None:
            kind = self.commands.relationship_kind(
                ctx, partner_id, "partner_id", {RelationshipKind.PARTNER}
            )
            if kind != RelationshipKind.PARTNER:
                raise CommandRefused(
                    "partner_user.not_partner",
                    f"partner users work for a partner; {partner_id} is a {kind}",
                )
        if customer_id is not None:
            kind = self.commands.relationship_kind(
                ctx, customer_id, "customer_id", {RelationshipKind.CUSTOMER}
            )
            if kind != RelationshipKind.CUSTOMER:
                raise CommandRefused(
                    "customer_user.not_customer",
                    f"customer users act for a customer; {customer_id} is a {kind}",
                )
        staff = Staff.register(
            ctx,
            staff_id=staff_id,
            name=name,
            branch=branch,
            partner_id=partner_id,
            customer_id=customer_id,
        )
        if partner_id is None and customer_id is None:
            self.commands.branch(staff.branch)
        for role in dict.fromkeys(roles):
            staff.grant(ctx, role=role)
        return self.commands.create(ctx, "staff member", staff)

    def _staff(
        self,
        ctx: CommandContext,
        staff_id: str,
        decide: Callable[[Staff], None],
        expected_version: int | None = None,
    ) -> CommandResult:
        try:
            return self.commands.execute(
                ctx, Staff, Staff.id_for(staff_id), decide, expected_version
            )
        finally:
            self.access.forget(staff_id)

    def grant_role(self, ctx: CommandContext, staff_id: str, *, role: Role) -> CommandResult:
        return self._staff(ctx, staff_id, lambda s: s.grant(ctx, role=role))

    def revoke_role(self, ctx: CommandContext, staff_id: str, *, role: Role) -> CommandResult:
        return self._staff(ctx, staff_id, lambda s: s.revoke(ctx, role=role))

    def issue_staff_token(
        self, ctx: CommandContext, staff_id: str, *, label: str = "token"
    ) -> tuple[CommandResult, UUID, str]:
        """A new token for the staff member: (result, token id, the token — shown once)."""
        token, digest = tokens.new_token()
        token_id = uuid4()
        result = self._staff(
            ctx,
            staff_id,
            lambda s: s.issue_token(ctx, token_id=token_id, token_sha256=digest, label=label),
        )
        return result, token_id, token

    def revoke_staff_token(
        self, ctx: CommandContext, staff_id: str, *, token_id: UUID
    ) -> CommandResult:
        return self._staff(ctx, staff_id, lambda s: s.revoke_token(ctx, token_id=token_id))

    def set_password(self, ctx: CommandContext, staff_id: str, *, password: str) -> CommandResult:
        """A password for the console's sign-in: hashed here (scrypt, salted), so only the
        hash reaches the aggregate and the log; the staff member's sessions end."""
        why = passwords.acceptable(password)
        if why is not None:
            raise InvalidValue("password.weak", why, field="password")
        digest = passwords.hash_password(password)
        return self._staff(ctx, staff_id, lambda s: s.set_password(ctx, password_hash=digest))

    def move_staff_to_branch(
        self, ctx: CommandContext, staff_id: str, *, branch: str
    ) -> CommandResult:
        def move(staff: Staff) -> None:
            staff.move_to_branch(ctx, branch=branch)
            self.commands.branch(staff.branch)

        return self._staff(ctx, staff_id, move)

    def deactivate_staff(self, ctx: CommandContext, staff_id: str, *, reason: str) -> CommandResult:
        return self._staff(ctx, staff_id, lambda s: s.deactivate(ctx, reason=reason))

    def enroll(
        self,
        ctx: CommandContext,
        *,
        staff_id: str,
        name: str,
        branch: str,
        roles: tuple[Role, ...],
        label: str = "token",
        partner_id: UUID | None = None,
        customer_id: UUID | None = None,
    ) -> str:
        """Register a staff member with the roles (or grant a known one those they lack),
        issue a token; return the token. Each step is a command of its own that follows
        from ``ctx``."""
        with contextlib.suppress(AlreadyExists):
            self.register_staff(
                ctx,
                staff_id=staff_id,
                name=name,
                branch=branch,
                roles=roles,
                partner_id=partner_id,
                customer_id=customer_id,
            )
        current = self.commands.current(Staff, Staff.id_for(staff_id))
        for role in roles:
            if role not in current.roles:
                self.grant_role(ctx.then(f"grant {role.value}"), staff_id, role=role)
        return self.issue_staff_token(ctx.then("token"), staff_id, label=label)[2]

    def get_staff(self, staff_id: str) -> Staff:
        return self.commands.current(Staff, Staff.id_for(staff_id))
