"""The scheduler of the demo: a plan of steps — each a command with its business time, the
staff member who issues it and the conversation it belongs to — made before any is issued,
then issued in the order of business time, each with its command context (the commands of
one conversation share a correlation id, each caused by the one before).

Time counts back from ``now``, the time of loading; every id, time and text is drawn from
two seeded generators: one for the relationships and shipments, one for sales, service
and charges.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from uuid import UUID

from application.commands import CommandResult
from application.service import Fullchain
from domain.base import CommandContext
from domain.cargo_conditions import CargoConditions
from domain.costs import Money
from domain.shipment import Charges, LinkPlan
from interface.demo.catalogue import Branch, Org
from interface.demo.routes import Route

#: Nothing of a shipment happens later than this before the time of loading.
SHIPMENT_CUTOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Contact:
    contact_id: str
    name: str
    #: The name as written in English summaries (pinyin for Chinese names).
    latin: str
    #: The first or given name: not two of these at one organisation.
    first: str
    title: str


@dataclass
class PlannedRelationship:
    """One relationship while its year is planned."""

    org: Org
    rid: UUID
    branch: Branch
    registered_days_ago: int = 0
    contacts: list[Contact] = field(default_factory=list)
    #: The account team from a day on: (days ago, field rep, office rep), oldest first.
    teams: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    #: When it does business with us: (from, until) days ago, for a customer.
    shipping: list[tuple[int, int]] = field(default_factory=list)

    @property
    def english(self) -> bool:
        return self.org.english

    def team(self, days_ago: int) -> tuple[str | None, str | None]:
        current: tuple[str | None, str | None] = (None, None)
        for since, field_rep, office_rep in self.teams:
            if since >= days_ago:
                current = (field_rep, office_rep)
        return current

    def field_rep(self, days_ago: int) -> str:
        field_rep, office_rep = self.team(days_ago)
        return field_rep or office_rep or self.branch.manager

    def office_rep(self, days_ago: int) -> str:
        field_rep, office_rep = self.team(days_ago)
        return office_rep or field_rep or self.branch.manager


Run = Callable[[CommandContext], CommandResult]


@dataclass(frozen=True)
class Step:
    when: datetime
    seq: int
    actor: str
    run: Run
    tally: str
    #: Steps with the same conversation share a correlation id.
    conversation: str | None = None


@dataclass
class Voyage:
    """One shipment while it is planned."""

    sid: UUID
    rel: PlannedRelationship
    route: Route
    reference: str
    #: The office that runs the origin side of the chain.
    ops: Branch
    plans: list[LinkPlan]
    #: When each link received the goods, as carried (a link that never holds them: when
    #: it started).
    received: list[datetime] = field(default_factory=list)
    delivered_at: datetime | None = None
    #: The charges quoted, the last quote standing.
    charges: Charges | None = None
    #: When it was booked.
    booked_at: datetime | None = None
    #: The cargo's special character and storage conditions, if any.
    conditions: CargoConditions | None = None
    #: What each link was planned to cost, by sequence (``stories.costs``).
    link_costs: dict[int, Money] = field(default_factory=dict)


class Plan:
    """A year of commands for every relationship, before any of them is issued."""

    def __init__(
        self, app: Fullchain, now: datetime, rng: random.Random, sales: random.Random
    ) -> None:
        """``rng`` draws the relationships' year and the shipments, ``sales`` the offerings,
        opportunities, service cases, competitors' profiles and charges."""
        self.app = app
        self.now = now
        self.rng = rng
        self.sales = sales
        self.steps: list[Step] = []
        self.rels: dict[str, PlannedRelationship] = {}
        self.voyages: list[Voyage] = []
        self.products: dict[str, UUID] = {}
        self.opportunity_ids: list[UUID] = []
        self.case_ids: list[UUID] = []
        self.invoice_count = 0

    # --- ids and times -----------------------------------------------------------------

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, zone: tzinfo, days_ago: int, *, weekend: bool = False) -> date:
        """The day ``days_ago`` before today; a weekend day moves back to Friday.

        Moving back keeps the order of days (it only merges a weekend into its Friday),
        so steps three or more days apart stay in order.
        """
        day = self.now.astimezone(zone).date() - timedelta(days=max(days_ago, 1))
        while not weekend and day.weekday() >= 5:
            day -= timedelta(days=1)
        return day

    def at(
        self, zone: tzinfo, days_ago: int, minute: int | None = None, *, weekend: bool = False
    ) -> datetime:
        """A time of day ``days_ago`` (see ``day``) in ``zone``, ``minute`` past midnight or
        drawn within office hours (``weekend``: also the evening), given in UTC: the times
        after it are reckoned from it in hours that elapse, also across a change to or from
        daylight saving time (arithmetic on a time in Chicago's zone would count the hours
        on the clock on the wall, and put a handover before the start of its link)."""
        if minute is None:
            minute = (
                self.rng.randint(7 * 60 + 30, 22 * 60 + 30)
                if weekend
                else self.rng.randint(8 * 60 + 30, 17 * 60 + 45)
            )
        clock = time(minute // 60, minute % 60)
        local = datetime.combine(self.day(zone, days_ago, weekend=weekend), clock, tzinfo=zone)
        return local.astimezone(UTC)

    def add(
        self,
        when: datetime,
        actor: str,
        run: Run,
        tally: str,
        conversation: str | None = None,
    ) -> None:
        self.steps.append(Step(when, len(self.steps), actor, run, tally, conversation))

    def between(self, hi: int, lo: int) -> int:
        """A day between ``hi`` and ``lo`` days ago."""
        return self.rng.randint(min(lo, hi), max(lo, hi))

    def sales_uuid(self) -> UUID:
        return UUID(int=self.sales.getrandbits(128), version=4)

    def sales_at(self, zone: tzinfo, days_ago: int) -> datetime:
        """A time in office hours ``days_ago`` (see ``day``), drawn by the sales generator."""
        return self.at(zone, days_ago, self.sales.randint(8 * 60 + 30, 17 * 60))

    def ship(self, voyage: Voyage, when: datetime, actor: str, run: Run, tally: str) -> None:
        """A step of a shipment. Its commands share one correlation id; what would happen
        after the time of loading has not happened yet, and is left out."""
        if when <= self.now - SHIPMENT_CUTOFF:
            self.add(when, actor, run, f"shipment:{tally}", f"shipment:{voyage.sid}")

    # --- issuing the commands ------------------------------------------------------------

    def issue(self) -> Counter[str]:
        """Issue every command in the order of business time; count them by tally."""
        tally: Counter[str] = Counter()
        first: dict[str, str] = {}
        previous: dict[str, str] = {}
        for step in sorted(self.steps, key=lambda s: (s.when, s.seq)):
            command_id = str(self.uuid())
            correlation_id = causation_id = command_id
            if step.conversation is not None:
                correlation_id = first.setdefault(step.conversation, command_id)
                causation_id = previous.get(step.conversation, command_id)
                previous[step.conversation] = command_id
            ctx = self.app.context(
                step.actor,
                occurred_at=step.when,
                command_id=command_id,
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            step.run(ctx)
            tally[step.tally] += 1
        return tally
