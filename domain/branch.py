"""Our branches (分支机构) as records: the registry every branch reference is checked
against. A branch is known by its code (``Suzhou``), which staff, relationships, shipments'
links and every read carry; its names in Chinese and English, its region, the time zone
its days and months are counted in and its currency are kept here, changed by
administrators, and a closed branch takes no new references (what it holds stays).
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, refuse_unless, require
from domain.values import currency_code

#: A branch code: what every reference to the branch carries.
BRANCH_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_BRANCH_NAMESPACE = UUID("1d6b0f5e-3a7c-4e29-8f41-b7c2d95e0a63")


def branch_code(value: str, field: str = "branch") -> str:
    """A well-formed branch code (whether such a branch exists is the registry's to say)."""
    value = value.strip()
    require(
        bool(BRANCH_CODE.match(value)),
        f"{field}.format",
        "a branch code is a letter then up to 39 letters, digits, _ or -",
        field=field,
    )
    return value


def time_zone(value: str) -> str:
    """An IANA time zone name, as the time zone database knows it."""
    valid = bool(value) and len(value) <= 64 and ".." not in value and not value.startswith("/")
    if valid:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            valid = False
    require(valid, "time_zone.unknown", f"{value!r} is no IANA time zone", field="time_zone")
    return value


def _name(value: str, field: str) -> str:
    value = value.strip()
    require(
        bool(value) and len(value) <= 80 and "\x00" not in value,
        f"{field}.required",
        f"{field} is 1 to 80 characters",
        field=field,
    )
    return value


class Branch(Aggregate, created_event_name="Registered"):
    TOPIC = "Branch"

    class Event(AttributedEvent):
        pass

    class Registered(Event, Aggregate.Created):
        TOPIC = "Branch.Registered"
        code: str
        name_zh: str
        name_en: str
        region: str
        time_zone: str
        currency: str

    Created = Registered

    class Changed(Event):
        """Some of the branch's names, region, time zone or currency changed (its code never
        does): ``changes`` holds the fields changed and their new values."""

        TOPIC = "Branch.Changed"
        changes: dict[str, str]

        def apply(self, aggregate: Branch) -> None:
            for field, value in self.changes.items():
                setattr(aggregate, field, value)

    class Closed(Event):
        TOPIC = "Branch.Closed"
        reason: str

        def apply(self, aggregate: Branch) -> None:
            aggregate.open = False

    class Reopened(Event):
        TOPIC = "Branch.Reopened"

        def apply(self, aggregate: Branch) -> None:
            aggregate.open = True

    #: The fields ``change`` may change.
    CHANGEABLE = ("name_zh", "name_en", "region", "time_zone", "currency")

    def __init__(
        self, code: str, name_zh: str, name_en: str, region: str, time_zone: str, currency: str
    ) -> None:
        self.code = code
        self.name_zh = name_zh
        self.name_en = name_en
        self.region = region
        self.time_zone = time_zone
        self.currency = currency
        self.open = True

    @staticmethod
    def id_for(code: str) -> UUID:
        """Each code names exactly one branch."""
        return uuid5(_BRANCH_NAMESPACE, code)

    @staticmethod
    def _checked(field: str, value: str) -> str:
        if field == "time_zone":
            return time_zone(value)
        if field == "currency":
            return currency_code(value)
        return _name(value, field)

    @classmethod
    def register(
        cls,
        ctx: CommandContext,
        *,
        code: str,
        name_zh: str,
        name_en: str,
        region: str,
        time_zone: str,
        currency: str,
    ) -> Branch:
        code = branch_code(code, field="code")
        fields = {
            "name_zh": name_zh,
            "name_en": name_en,
            "region": region,
            "time_zone": time_zone,
            "currency": currency,
        }
        checked = {field: cls._checked(field, value) for field, value in fields.items()}
        return cls._create(
            cls.Registered, id=cls.id_for(code), code=code, **checked, **ctx.event_fields()
        )

    def change(self, ctx: CommandContext, **changes: str | None) -> None:
        """Change the fields given (None: unchanged); refused if nothing would change."""
        unknown = set(changes) - set(self.CHANGEABLE)
        require(not unknown, "branch.field", f"no such field: {sorted(unknown)}")
        checked = {
            field: self._checked(field, value)
            for field, value in changes.items()
            if value is not None
        }
        changed = {f: v for f, v in checked.items() if getattr(self, f) != v}
        refuse_unless(bool(changed), "branch.unchanged", "nothing would change")
        self.trigger_event(self.Changed, changes=changed, **ctx.event_fields())

    def close(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(self.open, "branch.closed", f"branch {self.code} is already closed")
        self.trigger_event(self.Closed, reason=_name(reason, "reason"), **ctx.event_fields())

    def reopen(self, ctx: CommandContext) -> None:
        refuse_unless(not self.open, "branch.open", f"branch {self.code} is open")
        self.trigger_event(self.Reopened, **ctx.event_fields())

    def require_open(self) -> None:
        """A new reference to this branch (a relationship, a staff member, a link) is
        refused once it is closed."""
        refuse_unless(self.open, "branch.closed", f"branch {self.code} is closed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "region": self.region,
            "time_zone": self.time_zone,
            "currency": self.currency,
            "open": self.open,
        }
