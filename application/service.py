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
import copy
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from application import idempotency, tokens
from application.database import Database
from application.recorder import SideEffect
from application.sales import SalesAndService
from application.schema import EVENTS_TABLE
from domain.base import CommandContext, CommandRefused, DomainError, InvalidValue, require
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    Relationship,
    RelationshipKind,
)
from domain.shipment import (
    Cargo,
    Charges,
    Condition,
    IncidentKind,
    LinkPlan,
    Party,
    ResponsibilityBasis,
    Shipment,
)
from domain.staff import Role, Staff

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


class Fullchain(SalesAndService, Application[UUID]):
    """The write side: every aggregate of the product in one append-only log (offerings,
    opportunities, service cases and competitor profiles: ``application.sales``)."""

    name = "fullchain"

    def __init__(self, database: Database, *, cache_size: int = 10_000) -> None:
        """``cache_size`` aggregates are kept in memory; 0 keeps none."""
        env = database.eventsourcing_env()
        if cache_size > 0:  # the library reads 0 as "no limit"
            env["AGGREGATE_CACHE_MAXSIZE"] = str(cache_size)
        env.update(
            {
                # Tables are created by `fullchain db init`, never implicitly.
                "CREATE_TABLE": "no",
                "AGGREGATE_CACHE_FASTFORWARD": "no",
                # Commands decide on the cached object itself (no copy); any failure
                # evicts it, see _execute_locked.
                "DEEPCOPY_FROM_AGGREGATE_CACHE": "no",
                "POSTGRES_POOL_SIZE": "8",
                "POSTGRES_MAX_OVERFLOW": "8",
                "POSTGRES_LOCK_TIMEOUT": "10",
                # The library's recorder, plus side effects in the append's transaction.
                "APPLICATION_RECORDER_TOPIC": "application.recorder:FullchainRecorder",
            }
        )
        super().__init__(env)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._stripes = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        assert self.recorder.events_table_name == EVENTS_TABLE  # type: ignore[attr-defined]

    # --- the command path --------------------------------------------------------------

    def context(self, actor: str, **kwargs: Any) -> CommandContext:
        return CommandContext.issue(actor=actor, now=self.clock(), **kwargs)

    def _save(self, aggregate: Aggregate, *, created: bool) -> list[Recording[UUID]]:
        """Append the aggregate's new events, with what must commit along with them."""
        side_effects: list[SideEffect] = list(self.side_effects_of(aggregate))
        claim = idempotency.current.get()
        if claim is not None:
            actor = getattr(aggregate._pending_events[-1], "actor", "")
            side_effects.append(
                idempotency.side_effect(claim, actor, aggregate.id, aggregate.version, created)
            )
        try:
            return self.save(aggregate, side_effects=side_effects)
        except IntegrityError as error:
            if claim is not None and idempotency.is_key_conflict(error):
                with self.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
                    outcome = idempotency.find(conn, claim.scope, claim.key)
                if outcome is not None:
                    raise idempotency.KeyReplayed(outcome) from None
            raise

    def side_effects_of(self, aggregate: Aggregate) -> list[SideEffect]:
        """Writes that must commit with the aggregate's pending events."""
        if isinstance(aggregate, Staff):
            return tokens.access_side_effects(aggregate.staff_id, aggregate._pending_events)
        return []

    def _create(self, what: str, aggregate: Aggregate) -> CommandResult:
        try:
            recordings = self._save(aggregate, created=True)
        except IntegrityError:
            raise AlreadyExists(what, aggregate.id) from None
        return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)

    def _load(self, cls: type[A], aggregate_id: UUID, *, fresh: bool) -> A:
        if fresh:
            self._evict(aggregate_id)
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
        try:
            return self._decide_and_save(cls, aggregate_id, decide, expected_version)
        except BaseException:
            # The cached object may hold a decision that was not saved: drop it.
            self._evict(aggregate_id)
            raise

    def _evict(self, aggregate_id: UUID) -> None:
        if self.repository.cache is not None:
            with contextlib.suppress(KeyError):
                self.repository.cache.get(aggregate_id, evict=True)

    def _decide_and_save(
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
                recordings = self._save(aggregate, created=False)
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

    # --- shipments: the chain -------------------------------------------------------------

    def book_shipment(
        self,
        ctx: CommandContext,
        *,
        customer_id: UUID,
        reference: str,
        origin: str,
        destination: str,
        cargo: Cargo,
        links: Sequence[LinkPlan],
        charges: Charges | None = None,
        shipment_id: UUID | None = None,
    ) -> CommandResult:
        """Book a shipment for a relationship of kind customer; ``charges``, if given, are
        quoted with the booking (both events in one append).

        A prospect or target is refused: its first business is a sales decision recorded
        on the relationship first (``record_first_business``, with this booking's
        reference, or by winning an opportunity: ``mark_opportunity_won``), never a side
        effect of a booking. Partners and competitors never book.
        Any lifecycle (dormant, lost, won back) may book; the lifecycle is the account
        team's call, not the booking desk's. Every partner the links name must be a known
        relationship (else 422 on that link) of kind partner (else 409).
        """
        self._require_customer(customer_id)
        shipment = Shipment.book(
            ctx,
            customer_id=customer_id,
            reference=reference,
            origin=origin,
            destination=destination,
            cargo=cargo,
            links=links,
            partner_kinds=self._partner_kinds(
                (f"links[{index}].party", plan.party) for index, plan in enumerate(links)
            ),
            shipment_id=shipment_id,
        )
        if charges is not None:
            shipment.quote_charges(ctx, amount=charges.amount, currency=charges.currency)
        return self._create("shipment", shipment)

    def _require_customer(self, customer_id: UUID) -> None:
        try:
            customer = self._load(Relationship, customer_id, fresh=False)
            if not customer.is_customer:  # the cached copy may be behind the log
                customer = self._load(Relationship, customer_id, fresh=True)
        except NotFound:
            raise InvalidValue(
                "booking.customer_unknown",
                f"no relationship with id {customer_id}",
                field="customer_id",
            ) from None
        if customer.kind in (RelationshipKind.PROSPECT, RelationshipKind.TARGET):
            raise CommandRefused(
                "booking.first_business_not_recorded",
                f"{customer.name} is a {customer.kind}; record its first business on the"
                " relationship (it becomes a customer) before booking for it",
            )
        if not customer.is_customer:
            raise CommandRefused(
                "booking.not_a_customer",
                f"{customer.name} is a {customer.kind}; shipments are booked for customers",
            )

    def _partner_kinds(self, parties: Iterable[tuple[str, Party]]) -> dict[UUID, str]:
        """The kind of every relationship named as a party; an unknown one is refused with
        the field that names it."""
        kinds: dict[UUID, str] = {}
        for field, party in parties:
            rid = party.relationship_id
            if rid is None or rid in kinds:
                continue
            try:
                kinds[rid] = self._load(Relationship, rid, fresh=False).kind.value
            except NotFound:
                raise InvalidValue(
                    "party.unknown", f"no relationship with id {rid}", field=field
                ) from None
        return kinds

    def _shipment(
        self,
        shipment_id: UUID,
        expected_version: int | None,
        decide: Callable[[Shipment], None],
    ) -> CommandResult:
        return self._execute(Shipment, shipment_id, decide, expected_version)

    def replan_link(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        planned_start: datetime,
        planned_end: datetime,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.replan_link(
                ctx,
                sequence=sequence,
                planned_start=planned_start,
                planned_end=planned_end,
                reason=reason,
            ),
        )

    def reassign_link(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        party: Party,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        partner_kinds = self._partner_kinds([("party", party)])
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.reassign_link(
                ctx, sequence=sequence, party=party, partner_kinds=partner_kinds, reason=reason
            ),
        )

    def start_link(
        self, ctx: CommandContext, sid: UUID, *, sequence: int, expected_version: int | None = None
    ) -> CommandResult:
        return self._shipment(sid, expected_version, lambda s: s.start_link(ctx, sequence=sequence))

    def hand_over(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        to_sequence: int,
        condition: Condition,
        signed_by: str,
        reference: str | None = None,
        remarks: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.hand_over(
                ctx,
                to_sequence=to_sequence,
                condition=condition,
                signed_by=signed_by,
                reference=reference,
                remarks=remarks,
            ),
        )

    def complete_link(
        self, ctx: CommandContext, sid: UUID, *, sequence: int, expected_version: int | None = None
    ) -> CommandResult:
        return self._shipment(
            sid, expected_version, lambda s: s.complete_link(ctx, sequence=sequence)
        )

    def report_delay(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        sequence: int,
        estimated_end: datetime,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.report_delay(
                ctx, sequence=sequence, estimated_end=estimated_end, reason=reason
            ),
        )

    def deliver(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        condition: Condition,
        signed_by: str,
        proof_of_delivery: str,
        remarks: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.deliver(
                ctx,
                condition=condition,
                signed_by=signed_by,
                proof_of_delivery=proof_of_delivery,
                remarks=remarks,
            ),
        )

    def cancel_shipment(
        self, ctx: CommandContext, sid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._shipment(sid, expected_version, lambda s: s.cancel(ctx, reason=reason))

    def evaluate_shipment(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        rating: int,
        remarks: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid, expected_version, lambda s: s.evaluate(ctx, rating=rating, remarks=remarks)
        )

    # --- shipments: charges ----------------------------------------------------------------

    def quote_charges(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.quote_charges(ctx, amount=amount, currency=currency),
        )

    def invoice_shipment(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        invoice_number: str,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.invoice(
                ctx, invoice_number=invoice_number, amount=amount, currency=currency
            ),
        )

    # --- shipments: incidents and responsibility -----------------------------------------

    def report_incident(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        link_sequence: int,
        kind: IncidentKind,
        description: str,
        packages_affected: int | None = None,
        weight_affected_kg: Decimal | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.report_incident(
                ctx,
                incident_id=incident_id,
                link_sequence=link_sequence,
                kind=kind,
                description=description,
                packages_affected=packages_affected,
                weight_affected_kg=weight_affected_kg,
            ),
        )

    def record_coordination_action(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        action: str,
        taken_by: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.record_coordination_action(
                ctx, incident_id=incident_id, action=action, taken_by=taken_by
            ),
        )

    def assign_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        link_sequence: int | None = None,
        basis: ResponsibilityBasis | None = None,
        explanation: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Assign responsibility for an incident to the party of a link.

        Without ``link_sequence`` the shipment's own proposal from its custody history
        (``Shipment.propose_responsibility``) gives the link and the basis, decided on the
        current state; ``explanation`` then replaces the proposal's if given. With a link,
        the basis and the explanation are required.
        """

        def decide(shipment: Shipment) -> None:
            if link_sequence is None:
                require(
                    basis is None,
                    "responsibility.basis_without_link",
                    "a basis is given only with the link it makes responsible",
                    field="basis",
                )
                proposal = shipment.propose_responsibility(incident_id)
                shipment.assign_responsibility(
                    ctx,
                    incident_id=incident_id,
                    link_sequence=proposal.link_sequence,
                    basis=proposal.basis,
                    explanation=explanation or proposal.explanation,
                )
                return
            if basis is None:
                raise InvalidValue(
                    "responsibility.basis_required",
                    "name the basis on which the link is made responsible",
                    field="basis",
                )
            if explanation is None:
                raise InvalidValue(
                    "explanation.required",
                    "explain why the link is made responsible",
                    field="explanation",
                )
            shipment.assign_responsibility(
                ctx,
                incident_id=incident_id,
                link_sequence=link_sequence,
                basis=basis,
                explanation=explanation,
            )

        return self._shipment(sid, expected_version, decide)

    def accept_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        note: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.accept_responsibility(ctx, incident_id=incident_id, note=note),
        )

    def dispute_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.dispute_responsibility(ctx, incident_id=incident_id, reason=reason),
        )

    def arbitrate_responsibility(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        link_sequence: int,
        decision: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Headquarters' decision on a disputed responsibility (总部仲裁)."""
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.arbitrate_responsibility(
                ctx, incident_id=incident_id, link_sequence=link_sequence, decision=decision
            ),
        )

    def resolve_incident(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        incident_id: UUID,
        resolution: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.resolve_incident(ctx, incident_id=incident_id, resolution=resolution),
        )

    # --- shipments: claims ---------------------------------------------------------------

    def file_claim(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        incident_id: UUID,
        amount: Decimal,
        currency: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.file_claim(
                ctx, claim_id=claim_id, incident_id=incident_id, amount=amount, currency=currency
            ),
        )

    def assess_liability_limit(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        sdr_rate: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.assess_liability_limit(ctx, claim_id=claim_id, sdr_rate=sdr_rate),
        )

    def pay_compensation(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        amount: Decimal,
        payment_reference: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.pay_compensation(
                ctx, claim_id=claim_id, amount=amount, payment_reference=payment_reference
            ),
        )

    def claim_recovery(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        amount: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.claim_recovery(ctx, claim_id=claim_id, amount=amount),
        )

    def receive_recovery(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        amount: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.receive_recovery(ctx, claim_id=claim_id, amount=amount),
        )

    def waive_recovery(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid,
            expected_version,
            lambda s: s.waive_recovery(ctx, claim_id=claim_id, reason=reason),
        )

    def close_claim(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        claim_id: UUID,
        note: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._shipment(
            sid, expected_version, lambda s: s.close_claim(ctx, claim_id=claim_id, note=note)
        )

    # --- queries on the write side -------------------------------------------------------

    def get_relationship(self, rid: UUID) -> Relationship:
        return self._current(Relationship, rid)

    def get_shipment(self, sid: UUID) -> Shipment:
        return self._current(Shipment, sid)

    def _current(self, cls: type[A], aggregate_id: UUID) -> A:
        """The aggregate as the log has it now: a copy of its own, never the cached object
        that commands decide on."""
        with self._stripes[aggregate_id.int % _LOCK_STRIPES]:
            return copy.deepcopy(self._load(cls, aggregate_id, fresh=True))

    # --- staff and access ------------------------------------------------------------------

    def register_staff(
        self, ctx: CommandContext, *, staff_id: str, name: str, branch: str
    ) -> CommandResult:
        return self._create(
            "staff member", Staff.register(ctx, staff_id=staff_id, name=name, branch=branch)
        )

    def _staff(
        self, staff_id: str, decide: Callable[[Staff], None], expected_version: int | None = None
    ) -> CommandResult:
        return self._execute(Staff, Staff.id_for(staff_id), decide, expected_version)

    def grant_role(self, ctx: CommandContext, staff_id: str, *, role: Role) -> CommandResult:
        return self._staff(staff_id, lambda s: s.grant(ctx, role=role))

    def revoke_role(self, ctx: CommandContext, staff_id: str, *, role: Role) -> CommandResult:
        return self._staff(staff_id, lambda s: s.revoke(ctx, role=role))

    def issue_staff_token(
        self, ctx: CommandContext, staff_id: str, *, label: str = "token"
    ) -> tuple[CommandResult, UUID, str]:
        """A new token for the staff member: (result, token id, the token — shown once)."""
        token, digest = tokens.new_token()
        token_id = uuid4()
        result = self._staff(
            staff_id,
            lambda s: s.issue_token(ctx, token_id=token_id, token_sha256=digest, label=label),
        )
        return result, token_id, token

    def revoke_staff_token(
        self, ctx: CommandContext, staff_id: str, *, token_id: UUID
    ) -> CommandResult:
        return self._staff(staff_id, lambda s: s.revoke_token(ctx, token_id=token_id))

    def move_staff_to_branch(
        self, ctx: CommandContext, staff_id: str, *, branch: str
    ) -> CommandResult:
        return self._staff(staff_id, lambda s: s.move_to_branch(ctx, branch=branch))

    def deactivate_staff(self, ctx: CommandContext, staff_id: str, *, reason: str) -> CommandResult:
        return self._staff(staff_id, lambda s: s.deactivate(ctx, reason=reason))

    def enroll(
        self,
        ctx: CommandContext,
        *,
        staff_id: str,
        name: str,
        branch: str,
        roles: tuple[Role, ...],
        label: str = "token",
    ) -> str:
        """Register a staff member (unless known), grant the roles they lack, issue a
        token; return the token."""
        with contextlib.suppress(AlreadyExists):
            self.register_staff(ctx, staff_id=staff_id, name=name, branch=branch)
        current = self._current(Staff, Staff.id_for(staff_id))
        for role in roles:
            if role not in current.roles:
                self.grant_role(ctx, staff_id, role=role)
        return self.issue_staff_token(ctx, staff_id, label=label)[2]

    def get_staff(self, staff_id: str) -> Staff:
        return self._current(Staff, Staff.id_for(staff_id))
