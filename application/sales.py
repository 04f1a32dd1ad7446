"""The service layer for sales and service: service offerings, opportunities, service cases
and competitor profiles, one method per command.

``SalesAndService`` is a mixin of ``Fullchain`` (``application.service``), whose command
path it uses: load, decide, save. What a command's aggregate cannot know it is told — the
kind of a relationship, whether an offering is active, the kinds of the competitors named,
the SLA policy in force — as ``book_shipment`` tells a shipment the kinds of its partners.
An id a command names that refers to nothing is invalid input (422, on its field); the
aggregate the command is about not existing is a 404.

Winning an opportunity with a prospect or target makes it a customer: the win and the
first business are two aggregates, so two commands, one after the other — the win, then
``record_first_business`` on the relationship, with the same correlation id and the win as
its cause. The answer is the opportunity's version with the position of the last event
written, so a read that waits for it sees the new customer too. The booking desk then books
for the customer as for any other. (The first business is not written when the win is
replayed under the same idempotency key: the first request wrote it.)

SLA policy: ``FULLCHAIN_SLA_POLICY`` gives the first-response and resolution hours of any
priority, ``urgent=1/8,high=4/24,normal=8/72,low=24/168``; priorities it does not name keep
``DEFAULT_SLA_POLICY``'s hours. A policy that cannot be right (a more urgent priority given
more time, a resolution due before the response) fails the command that uses it, naming the
variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from application import idempotency
from domain.base import CommandContext, CommandRefused, DomainError, InvalidValue
from domain.competitor import CompetitorProfile
from domain.offering import Lane, ServiceLevel, ServiceOffering
from domain.opportunity import SELLING_KINDS, LossReason, Opportunity, Stage
from domain.relationship import Relationship, RelationshipKind
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

if TYPE_CHECKING:
    from application.service import CommandResult

A = TypeVar("A", bound=Aggregate)

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
    text = os.environ.get(SLA_POLICY_VARIABLE, "").strip()
    return parse_sla_policy(text) if text else DEFAULT_SLA_POLICY


class SalesAndService:
    """Commands and write-side queries of offerings, opportunities, service cases and
    competitor profiles; mixed into ``Fullchain``."""

    if TYPE_CHECKING:  # the command path of the application it is mixed into

        def _execute(
            self,
            cls: type[A],
            aggregate_id: UUID,
            decide: Callable[[A], None],
            expected_version: int | None,
        ) -> CommandResult: ...

        def _create(self, what: str, aggregate: Aggregate) -> CommandResult: ...

        def _load(self, cls: type[A], aggregate_id: UUID, *, fresh: bool) -> A: ...

        def _current(self, cls: type[A], aggregate_id: UUID) -> A: ...

    # --- looking up what a command refers to --------------------------------------------

    def _referenced(self, cls: type[A], aggregate_id: UUID, field: str, named: object = None) -> A:
        """The aggregate a command names in ``field`` (as ``named``, if not by its id);
        invalid input if there is none."""
        from application.service import NotFound  # the module this class is mixed into

        try:
            return self._load(cls, aggregate_id, fresh=False)
        except NotFound:
            raise InvalidValue(
                f"{field}.unknown",
                f"{field} {named or aggregate_id} refers to nothing",
                field=field,
            ) from None

    def _relationship_kind(
        self, relationship_id: UUID, field: str, wanted: Collection[RelationshipKind]
    ) -> str:
        """The relationship's kind; read afresh when the cached copy has not the kind
        ``wanted`` (a prospect qualified or won by another process since)."""
        relationship = self._referenced(Relationship, relationship_id, field)
        if relationship.kind not in wanted:
            relationship = self._load(Relationship, relationship_id, fresh=True)
        return relationship.kind.value

    def _offering_active(self, offering_id: UUID, field: str = "offering_id") -> bool:
        offering = self._referenced(ServiceOffering, offering_id, field)
        if not offering.is_active:  # reinstated by another process since?
            offering = self._load(ServiceOffering, offering_id, fresh=True)
        return offering.is_active

    def _competitor_kinds(self, named: Iterable[tuple[str, UUID]]) -> dict[UUID, str]:
        """The kind of each relationship named as a competitor, by the field naming it."""
        return {
            rid: self._relationship_kind(rid, field, (RelationshipKind.COMPETITOR,))
            for field, rid in named
        }

    # --- service offerings ----------------------------------------------------------------

    def launch_offering(
        self,
        ctx: CommandContext,
        *,
        name: str,
        lane: Lane,
        service_level: ServiceLevel,
        transit_days: int,
        description: str | None = None,
        offering_id: UUID | None = None,
    ) -> CommandResult:
        offering = ServiceOffering.launch(
            ctx,
            name=name,
            lane=lane,
            service_level=service_level,
            transit_days=transit_days,
            description=description,
            offering_id=offering_id,
        )
        return self._create("service offering", offering)

    def revise_offering_terms(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        service_level: ServiceLevel,
        transit_days: int,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._execute(
            ServiceOffering,
            oid,
            lambda o: o.revise_terms(
                ctx, service_level=service_level, transit_days=transit_days, reason=reason
            ),
            expected_version,
        )

    def redescribe_offering(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        name: str,
        description: str | None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._execute(
            ServiceOffering,
            oid,
            lambda o: o.redescribe(ctx, name=name, description=description),
            expected_version,
        )

    def retire_offering(
        self, ctx: CommandContext, oid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._execute(
            ServiceOffering, oid, lambda o: o.retire(ctx, reason=reason), expected_version
        )

    def reinstate_offering(
        self, ctx: CommandContext, oid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._execute(
            ServiceOffering, oid, lambda o: o.reinstate(ctx, reason=reason), expected_version
        )

    # --- opportunities --------------------------------------------------------------------

    def identify_opportunity(
        self,
        ctx: CommandContext,
        *,
        relationship_id: UUID,
        title: str,
        offering_id: UUID,
        expected_value: Decimal,
        currency: str,
        probability: Decimal,
        competitor_ids: Sequence[UUID] = (),
        opportunity_id: UUID | None = None,
    ) -> CommandResult:
        """An opportunity with a customer, prospect or target, in the generation stage."""
        opportunity = Opportunity.identify(
            ctx,
            relationship_id=relationship_id,
            relationship_kind=self._relationship_kind(
                relationship_id, "relationship_id", SELLING_KINDS
            ),
            title=title,
            offering_id=offering_id,
            offering_active=self._offering_active(offering_id),
            expected_value=expected_value,
            currency=currency,
            probability=probability,
            competitor_ids=competitor_ids,
            competitor_kinds=self._competitor_kinds(
                (f"competitor_ids[{index}]", cid) for index, cid in enumerate(competitor_ids)
            ),
            opportunity_id=opportunity_id,
        )
        return self._create("opportunity", opportunity)

    def _opportunity(
        self,
        oid: UUID,
        expected_version: int | None,
        decide: Callable[[Opportunity], None],
    ) -> CommandResult:
        return self._execute(Opportunity, oid, decide, expected_version)

    def advance_opportunity(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        to_stage: Stage,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._opportunity(
            oid, expected_version, lambda o: o.advance(ctx, to_stage=to_stage, note=note)
        )

    def step_back_opportunity(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        to_stage: Stage,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._opportunity(
            oid, expected_version, lambda o: o.step_back(ctx, to_stage=to_stage, reason=reason)
        )

    def revise_expected_value(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        amount: Decimal,
        currency: str,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._opportunity(
            oid,
            expected_version,
            lambda o: o.revise_expected_value(ctx, amount=amount, currency=currency, reason=reason),
        )

    def revise_probability(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        probability: Decimal,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._opportunity(
            oid,
            expected_version,
            lambda o: o.revise_probability(ctx, probability=probability, reason=reason),
        )

    def change_opportunity_offering(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        offering_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        active = self._offering_active(offering_id)
        return self._opportunity(
            oid,
            expected_version,
            lambda o: o.change_offering(
                ctx, offering_id=offering_id, offering_active=active, reason=reason
            ),
        )

    def involve_competitor(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        competitor_id: UUID,
        expected_version: int | None = None,
    ) -> CommandResult:
        kinds = self._competitor_kinds([("competitor_id", competitor_id)])
        return self._opportunity(
            oid,
            expected_version,
            lambda o: o.involve_competitor(
                ctx, competitor_id=competitor_id, competitor_kinds=kinds
            ),
        )

    def mark_opportunity_won(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The deal is ours; a prospect or target becomes a customer by a following
        command (see the module doc)."""
        won = self._opportunity(
            oid,
            expected_version,
            lambda o: o.mark_won(
                ctx, offering_active=self._offering_active(o.offering_id), note=note
            ),
        )
        relationship_id = self._load(Opportunity, oid, fresh=False).relationship_id
        first_business = self._first_business_after_win(ctx, relationship_id, oid)
        if first_business is None:
            return won
        return replace(won, position=first_business.position)

    def _first_business_after_win(
        self, won: CommandContext, relationship_id: UUID, oid: UUID
    ) -> CommandResult | None:
        relationship = self._load(Relationship, relationship_id, fresh=True)
        if relationship.kind not in _BEFORE_FIRST_BUSINESS:
            return None
        ctx = CommandContext(
            actor=won.actor,
            command_id=str(uuid4()),
            correlation_id=won.correlation_id,
            causation_id=won.command_id,
            occurred_at=won.occurred_at,
        )
        claim = idempotency.current.set(None)  # the key belongs to the win, written with it
        try:
            return self._execute(
                Relationship,
                relationship_id,
                lambda r: r.record_first_business(ctx, reference=f"won opportunity {oid}"),
                None,
            )
        except CommandRefused as refused:
            if refused.rule == "kind.first_business_only_prospect_or_target":
                return None  # became a customer meanwhile, by another first business
            raise
        finally:
            idempotency.current.reset(claim)

    def mark_opportunity_lost(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        reason: LossReason,
        explanation: str,
        competitor_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        kinds = (
            self._competitor_kinds([("competitor_id", competitor_id)])
            if competitor_id is not None
            else {}
        )
        return self._opportunity(
            oid,
            expected_version,
            lambda o: o.mark_lost(
                ctx,
                reason=reason,
                explanation=explanation,
                competitor_id=competitor_id,
                competitor_kinds=kinds,
            ),
        )

    def evaluate_opportunity(
        self,
        ctx: CommandContext,
        oid: UUID,
        *,
        rating: int,
        remarks: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._opportunity(
            oid, expected_version, lambda o: o.evaluate(ctx, rating=rating, remarks=remarks)
        )

    # --- service cases --------------------------------------------------------------------

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
        kind_found = self._relationship_kind(relationship_id, "relationship_id", SERVED_KINDS)
        if shipment_id is not None:
            shipment = self._referenced(Shipment, shipment_id, "shipment_id")
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
        return self._create("service case", case)

    def _case(
        self,
        cid: UUID,
        expected_version: int | None,
        decide: Callable[[ServiceCase], None],
    ) -> CommandResult:
        return self._execute(ServiceCase, cid, decide, expected_version)

    def assign_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        owner: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Give the case an owner: a staff member."""
        self._referenced(Staff, Staff.id_for(owner.strip()), "owner", owner.strip())
        return self._case(cid, expected_version, lambda c: c.assign(ctx, owner=owner))

    def respond_to_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        summary: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._case(cid, expected_version, lambda c: c.respond(ctx, summary=summary))

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
        return self._case(cid, expected_version, lambda c: c.resolve(ctx, resolution=resolution))

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
            cid, expected_version, lambda c: c.reopen(ctx, reason=reason, policy=policy)
        )

    def close_case(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._case(cid, expected_version, lambda c: c.close(ctx, note=note))

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
            cid,
            expected_version,
            lambda c: c.rate_satisfaction(ctx, rating=rating, comment=comment),
        )

    # --- competitor profiles --------------------------------------------------------------

    def start_competitor_profile(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        strengths: Sequence[str] = (),
        weaknesses: Sequence[str] = (),
        lanes: Sequence[Lane] = (),
    ) -> CommandResult:
        """The profile of the competitor ``relationship_id`` (a 404 if there is no such
        relationship)."""
        competitor = self._load(Relationship, relationship_id, fresh=False)
        profile = CompetitorProfile.start(
            ctx,
            relationship_id=relationship_id,
            relationship_kind=competitor.kind.value,
            strengths=strengths,
            weaknesses=weaknesses,
            lanes=lanes,
        )
        return self._create("competitor profile", profile)

    def _profile(
        self,
        relationship_id: UUID,
        expected_version: int | None,
        decide: Callable[[CompetitorProfile], None],
    ) -> CommandResult:
        with _profile_of(relationship_id):
            return self._execute(
                CompetitorProfile,
                CompetitorProfile.id_for(relationship_id),
                decide,
                expected_version,
            )

    def note_competitor_strength(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        strength: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._profile(
            relationship_id, expected_version, lambda p: p.note_strength(ctx, strength=strength)
        )

    def withdraw_competitor_strength(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        strength: str,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._profile(
            relationship_id,
            expected_version,
            lambda p: p.withdraw_strength(ctx, strength=strength, reason=reason),
        )

    def note_competitor_weakness(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        weakness: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._profile(
            relationship_id, expected_version, lambda p: p.note_weakness(ctx, weakness=weakness)
        )

    def withdraw_competitor_weakness(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        weakness: str,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._profile(
            relationship_id,
            expected_version,
            lambda p: p.withdraw_weakness(ctx, weakness=weakness, reason=reason),
        )

    def add_competitor_lane(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        lane: Lane,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._profile(
            relationship_id, expected_version, lambda p: p.add_lane(ctx, lane=lane)
        )

    def drop_competitor_lane(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        *,
        lane: Lane,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._profile(
            relationship_id,
            expected_version,
            lambda p: p.drop_lane(ctx, lane=lane, reason=reason),
        )

    # --- queries on the write side ----------------------------------------------------------

    def get_offering(self, oid: UUID) -> ServiceOffering:
        return self._current(ServiceOffering, oid)

    def get_opportunity(self, oid: UUID) -> Opportunity:
        return self._current(Opportunity, oid)

    def get_service_case(self, cid: UUID) -> ServiceCase:
        return self._current(ServiceCase, cid)

    def get_competitor_profile(self, relationship_id: UUID) -> CompetitorProfile:
        with _profile_of(relationship_id):
            return self._current(CompetitorProfile, CompetitorProfile.id_for(relationship_id))


@contextmanager
def _profile_of(relationship_id: UUID) -> Iterator[None]:
    """A missing profile is named by its competitor's id, not by its own derived one."""
    from application.service import NotFound  # the module SalesAndService is mixed into

    try:
        yield
    except NotFound:
        raise NotFound("competitor profile of relationship", relationship_id) from None
