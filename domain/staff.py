"""Staff members and their access, as an aggregate: every access change is auditable.

A staff member is registered with a name and a branch, is granted and revoked roles,
is issued tokens and has them revoked, may be given a password for the console, and may be
deactivated (which ends every token). Tokens themselves never enter the log: only the SHA-256
of each, and an id to revoke it; nor do passwords: only their scrypt hash, salted.

A partner user (a person at an airline, a trucker, a warehouse) is registered for the
partner (its relationship id) instead of a branch, and holds the partner role only. A
customer user (a customer's logistics buyer, 自我服务) is registered likewise for the
customer relationship it acts for, and holds the customer role only.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, UnknownMember, refuse_unless, require


class Role(StrEnum):
    FIELD_STAFF = "field_staff"  # 外勤: finds and visits customers
    OFFICE_STAFF = "office_staff"  # 内勤: research, operations, supervision of field work
    BRANCH_MANAGER = "branch_manager"
    HQ = "hq"  # headquarters: all branches, arbitration
    AUDITOR = "auditor"  # reads everything, writes nothing
    ADMIN = "admin"  # staff management
    PARTNER = "partner"  # a partner user: the links their partner runs
    CUSTOMER = "customer"  # a customer user: its customer's own shipments, cases, quotes
    #: A grant, held with another role: personal fields read in clear where the other role
    #: reads them masked (an auditor's), every such answer in the access log. Opens no
    #: endpoint by itself.
    PERSONAL_DATA = "personal_data"

    @property
    def sees_all_branches(self) -> bool:
        return self in (Role.HQ, Role.AUDITOR, Role.ADMIN)

    @property
    def is_grant(self) -> bool:
        """A grant changes what another role's endpoints answer, and opens none."""
        return self is Role.PERSONAL_DATA


_STAFF_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
#: A password's hash as ``application.passwords`` makes it: scrypt$N$r$p$salt$key.
_PASSWORD_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")
_STAFF_NAMESPACE = UUID("6f1c2a0e-5d1b-4c8e-9a57-2f7d3e9b8c41")


class Staff(Aggregate, created_event_name="Registered"):
    TOPIC = "Staff"

    class Event(AttributedEvent):
        pass

    class Registered(Event, Aggregate.Created):
        TOPIC = "Staff.Registered"
        # v1 had no partner; v2 added it (see upcast_v1_v2); v3 added the customer.
        class_version = 3

        staff_id: str
        name: str
        branch: str
        #: The partner a partner user works for (its relationship id); None for our staff.
        partner_id: UUID | None
        #: The customer a customer user acts for (its relationship id); None for others.
        customer_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["partner_id"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["customer_id"] = None

    Created = Registered

    class RoleGranted(Event):
        TOPIC = "Staff.RoleGranted"
        role: str

        def apply(self, aggregate: Staff) -> None:
            aggregate.roles = aggregate.roles | {Role(self.role)}

    class RoleRevoked(Event):
        TOPIC = "Staff.RoleRevoked"
        role: str

        def apply(self, aggregate: Staff) -> None:
            aggregate.roles = aggregate.roles - {Role(self.role)}

    class TokenIssued(Event):
        TOPIC = "Staff.TokenIssued"
        token_id: UUID
        token_sha256: str
        label: str

        def apply(self, aggregate: Staff) -> None:
            aggregate.tokens = {**aggregate.tokens, self.token_id: self.token_sha256}

    class TokenRevoked(Event):
        TOPIC = "Staff.TokenRevoked"
        token_id: UUID

        def apply(self, aggregate: Staff) -> None:
            aggregate.tokens = {k: v for k, v in aggregate.tokens.items() if k != self.token_id}

    class PasswordSet(Event):
        """A password for the console's sign-in, kept as its memory-hard hash only
        (``application.passwords``); the actor is who set it."""

        TOPIC = "Staff.PasswordSet"
        password_hash: str

        def apply(self, aggregate: Staff) -> None:
            aggregate.password_hash = self.password_hash

    class BranchChanged(Event):
        TOPIC = "Staff.BranchChanged"
        branch: str

        def apply(self, aggregate: Staff) -> None:
            aggregate.branch = self.branch

    class Deactivated(Event):
        TOPIC = "Staff.Deactivated"
        reason: str

        def apply(self, aggregate: Staff) -> None:
            aggregate.active = False
            aggregate.tokens = {}

    ROLES: ClassVar[tuple[Role, ...]] = tuple(Role)

    # v1 (a snapshot's state) had no partner; v2 added it; v3 added the customer; v4 the
    # password's hash.
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["partner_id"] = None

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["customer_id"] = None

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        state["password_hash"] = None

    def __init__(
        self,
        staff_id: str,
        name: str,
        branch: str,
        partner_id: UUID | None = None,
        customer_id: UUID | None = None,
    ) -> None:
        self.staff_id = staff_id
        self.name = name
        self.branch = branch
        self.partner_id = partner_id
        self.customer_id = customer_id
        self.roles: frozenset[Role] = frozenset()
        self.tokens: dict[UUID, str] = {}
        #: The password's hash (scrypt, salted), None until one is set.
        self.password_hash: str | None = None
        self.active = True

    @staticmethod
    def id_for(staff_id: str) -> UUID:
        """Each staff id names exactly one aggregate."""
        return uuid5(_STAFF_NAMESPACE, staff_id)

    @classmethod
    def register(
        cls,
        ctx: CommandContext,
        *,
        staff_id: str,
        name: str,
        branch: str,
        partner_id: UUID | None = None,
        customer_id: UUID | None = None,
    ) -> Staff:
        """Our staff member, of a branch; or, with ``partner_id``, a partner user, of no
        branch; or, with ``customer_id``, a customer user, of no branch."""
        require(
            bool(_STAFF_ID.match(staff_id)),
            "staff_id.format",
            "a staff id is 1 to 64 letters, digits or _ . : @ -",
            field="staff_id",
        )
        name, branch = name.strip(), branch.strip()
        require(bool(name) and len(name) <= 200, "name.required", "a name", field="name")
        require(
            partner_id is None or customer_id is None,
            "customer_id.partner_user",
            "a user acts for a partner or for a customer, not both",
            field="customer_id",
        )
        if partner_id is None and customer_id is None:
            require(
                bool(branch) and len(branch) <= 80, "branch.required", "a branch", field="branch"
            )
        else:
            require(
                not branch,
                "branch.partner_user",
                "a partner's or customer's user belongs to its relationship, not to a branch",
                field="branch",
            )
        return cls._create(
            cls.Registered,
            id=cls.id_for(staff_id),
            staff_id=staff_id,
            name=name,
            branch=branch,
            partner_id=partner_id,
            customer_id=customer_id,
            **ctx.event_fields(),
        )

    @property
    def is_partner_user(self) -> bool:
        return self.partner_id is not None

    @property
    def is_customer_user(self) -> bool:
        return self.customer_id is not None

    def grant(self, ctx: CommandContext, *, role: Role) -> None:
        self._require_active()
        refuse_unless(role not in self.roles, "role.already_granted", f"already has {role}")
        refuse_unless(
            (Role(role) is Role.PARTNER) == self.is_partner_user,
            "role.partner_users_only",
            "the partner role is a partner user's, and a partner user's only role",
        )
        refuse_unless(
            (Role(role) is Role.CUSTOMER) == self.is_customer_user,
            "role.customer_users_only",
            "the customer role is a customer user's, and a customer user's only role",
        )
        self.trigger_event(self.RoleGranted, role=Role(role).value, **ctx.event_fields())

    def revoke(self, ctx: CommandContext, *, role: Role) -> None:
        refuse_unless(role in self.roles, "role.not_granted", f"does not have {role}")
        self.trigger_event(self.RoleRevoked, role=Role(role).value, **ctx.event_fields())

    def issue_token(
        self, ctx: CommandContext, *, token_id: UUID, token_sha256: str, label: str
    ) -> None:
        self._require_active()
        require(
            bool(re.fullmatch(r"[0-9a-f]{64}", token_sha256)),
            "token.hash",
            "a token is kept as its SHA-256, in hex",
        )
        refuse_unless(token_id not in self.tokens, "token.duplicate_id", "token id in use")
        self.trigger_event(
            self.TokenIssued,
            token_id=token_id,
            token_sha256=token_sha256,
            label=label.strip()[:100] or "token",
            **ctx.event_fields(),
        )

    def revoke_token(self, ctx: CommandContext, *, token_id: UUID) -> None:
        if token_id not in self.tokens:
            raise UnknownMember(
                "token.unknown", f"no token {token_id} is valid for {self.staff_id}"
            )
        self.trigger_event(self.TokenRevoked, token_id=token_id, **ctx.event_fields())

    def set_password(self, ctx: CommandContext, *, password_hash: str) -> None:
        """A new password for the console, given as its hash: the password never reaches
        the aggregate."""
        self._require_active()
        require(
            bool(_PASSWORD_HASH.fullmatch(password_hash)),
            "password.hash",
            "a password is kept as its scrypt hash",
        )
        self.trigger_event(self.PasswordSet, password_hash=password_hash, **ctx.event_fields())

    def move_to_branch(self, ctx: CommandContext, *, branch: str) -> None:
        self._require_active()
        refuse_unless(
            not self.is_partner_user and not self.is_customer_user,
            "branch.partner_user",
            "a partner's or customer's user has no branch",
        )
        branch = branch.strip()
        require(bool(branch) and len(branch) <= 80, "branch.required", "a branch", field="branch")
        refuse_unless(branch != self.branch, "branch.unchanged", "already in this branch")
        self.trigger_event(self.BranchChanged, branch=branch, **ctx.event_fields())

    def deactivate(self, ctx: CommandContext, *, reason: str) -> None:
        self._require_active()
        require(bool(reason.strip()), "reason.required", "a reason", field="reason")
        self.trigger_event(self.Deactivated, reason=reason.strip(), **ctx.event_fields())

    def _require_active(self) -> None:
        refuse_unless(self.active, "staff.deactivated", f"{self.staff_id} is deactivated")
