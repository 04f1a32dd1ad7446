"""Commands on sales: service offerings, opportunities and competitor profiles — one
method per command.

Winning an opportunity with a prospect or target makes it a customer: the win and the
first business are two aggregates, decided by one command and appended together — the win,
and ``record_first_business`` on the relationship as a following step (the same
correlation id, the win as its cause). Both commit or neither does. The answer is the
opportunity's version with the position of the last event written, so a read that waits
for it sees the new customer too."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.commands import CommandPath, CommandResult, NotFound
from application.marketing import running_campaign
from domain.base import CommandContext
from domain.competitor import CompetitorProfile
from domain.offering import Lane, ServiceLevel, ServiceOffering
from domain.opportunity import SELLING_KINDS, LossReason, Opportunity, Stage
from domain.relationship import Relationship, RelationshipKind

#: The kinds a prospect or target becomes a customer from, on its first won business.
_BEFORE_FIRST_BUSINESS = frozenset({RelationshipKind.PROSPECT, RelationshipKind.TARGET})


@contextmanager
def _profile_of(relationship_id: UUID) -> Iterator[None]:
    """A missing profile is named by its competitor's id, not by its own derived one."""
    try:
        yield
    except NotFound:
        raise NotFound("competitor profile of relationship", relationship_id) from None


class SalesService:
    """Commands and write-side queries of offerings, opportunities and competitor profiles."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    def _offering_active(self, offering_id: UUID, field: str = "offering_id") -> bool:
        offering = self.commands.referenced(ServiceOffering, offering_id, field)
        if not offering.is_active:  # reinstated by another process since?
            offering = self.commands.load(ServiceOffering, offering_id, fresh=True)
        return offering.is_active

    def _competitor_kinds(
        self, ctx: CommandContext, named: Iterable[tuple[str, UUID]]
    ) -> dict[UUID, str]:
        """The kind of each relationship named as a competitor, by the field naming it."""
        return {
            rid: self.commands.relationship_kind(ctx, rid, field, (RelationshipKind.COMPETITOR,))
            for field, rid in named
        }

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
        return self.commands.create(ctx, "service offering", offering)

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
        return self.commands.execute(
            ctx,
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
        return self.commands.execute(
            ctx,
            ServiceOffering,
            oid,
            lambda o: o.redescribe(ctx, name=name, description=description),
            expected_version,
        )

    def retire_offering(
        self, ctx: CommandContext, oid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self.commands.execute(
            ctx, ServiceOffering, oid, lambda o: o.retire(ctx, reason=reason), expected_version
        )

    def reinstate_offering(
        self, ctx: CommandContext, oid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self.commands.execute(
            ctx, ServiceOffering, oid, lambda o: o.reinstate(ctx, reason=reason), expected_version
        )

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
        source_campaign_id: UUID | None = None,
    ) -> CommandResult:
        """An opportunity with a customer, prospect or target, in the generation stage;
        ``source_campaign_id``: a lead of that campaign, which must be running."""
        if source_campaign_id is not None:
            running_campaign(self.commands, ctx, source_campaign_id, "source_campaign_id")
        opportunity = Opportunity.identify(
            ctx,
            relationship_id=relationship_id,
            relationship_kind=self.commands.relationship_kind(
                ctx, relationship_id, "relationship_id", SELLING_KINDS
            ),
            title=title,
            offering_id=offering_id,
            offering_active=self._offering_active(offering_id),
            expected_value=expected_value,
            currency=currency,
            probability=probability,
            competitor_ids=competitor_ids,
            competitor_kinds=self._competitor_kinds(
                ctx, ((f"competitor_ids[{index}]", cid) for index, cid in enumerate(competitor_ids))
            ),
            opportunity_id=opportunity_id,
            source_campaign_id=source_campaign_id,
        )
        return self.commands.create(ctx, "opportunity", opportunity)

    def _opportunity(
        self,
        ctx: CommandContext,
        oid: UUID,
        expected_version: int | None,
        decide: Callable[[Opportunity], None],
    ) -> CommandResult:
        return self.commands.execute(ctx, Opportunity, oid, decide, expected_version)

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
            ctx, oid, expected_version, lambda o: o.advance(ctx, to_stage=to_stage, note=note)
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
            ctx, oid, expected_version, lambda o: o.step_back(ctx, to_stage=to_stage, reason=reason)
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
            ctx,
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
            ctx,
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
            ctx,
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
        kinds = self._competitor_kinds(ctx, [("competitor_id", competitor_id)])
        return self._opportunity(
            ctx,
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
        """The deal is ours; a prospect or target becomes a customer with it, by the first
        business recorded in the same append (see the module doc)."""

        def first_business(won: Opportunity) -> list[Aggregate]:
            relationship = self.commands.from_log(Relationship, won.relationship_id)
            if relationship.kind not in _BEFORE_FIRST_BUSINESS:
                return []
            relationship.record_first_business(
                ctx.then("first-business"), reference=f"won opportunity {oid}"
            )
            return [relationship]

        won = self.commands.execute(
            ctx,
            Opportunity,
            oid,
            lambda o: o.mark_won(
                ctx, offering_active=self._offering_active(o.offering_id), note=note
            ),
            expected_version,
            follow=first_business,
        )
        return won

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
            self._competitor_kinds(ctx, [("competitor_id", competitor_id)])
            if competitor_id is not None
            else {}
        )
        return self._opportunity(
            ctx,
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
            ctx, oid, expected_version, lambda o: o.evaluate(ctx, rating=rating, remarks=remarks)
        )

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
        competitor = self.commands.load(Relationship, relationship_id, fresh=False)
        profile = CompetitorProfile.start(
            ctx,
            relationship_id=relationship_id,
            relationship_kind=competitor.kind.value,
            strengths=strengths,
            weaknesses=weaknesses,
            lanes=lanes,
        )
        return self.commands.create(ctx, "competitor profile", profile)

    def _profile(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        expected_version: int | None,
        decide: Callable[[CompetitorProfile], None],
    ) -> CommandResult:
        with _profile_of(relationship_id):
            return self.commands.execute(
                ctx,
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
            ctx,
            relationship_id,
            expected_version,
            lambda p: p.note_strength(ctx, strength=strength),
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
            ctx,
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
            ctx,
            relationship_id,
            expected_version,
            lambda p: p.note_weakness(ctx, weakness=weakness),
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
            ctx,
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
            ctx, relationship_id, expected_version, lambda p: p.add_lane(ctx, lane=lane)
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
            ctx,
            relationship_id,
            expected_version,
            lambda p: p.drop_lane(ctx, lane=lane, reason=reason),
        )

    def get_offering(self, oid: UUID) -> ServiceOffering:
        return self.commands.current(ServiceOffering, oid)

    def get_opportunity(self, oid: UUID) -> Opportunity:
        return self.commands.current(Opportunity, oid)

    def get_competitor_profile(self, relationship_id: UUID) -> CompetitorProfile:
        with _profile_of(relationship_id):
            return self.commands.current(
                CompetitorProfile, CompetitorProfile.id_for(relationship_id)
            )
