"""Commands of market management: segments and campaigns — one method per command.

A segment or campaign belongs to the branch of the branch manager who defined or planned
it (None: headquarters'). Staff of a branch name and read their branch's and the
company's; one of another branch is answered as one that does not exist (422 in a body,
404 in a path).

A contact made in a campaign is an interaction logged on the relationship, tagged with the
campaign, and recorded on the campaign, in the same append (``campaign_contact``); a
prospect registered from a campaign is appended with the campaign's record of it; an
opportunity opened from a campaign names it (``running_campaign`` checks it may)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from application.commands import AlreadyExists, CommandPath, CommandResult, NotFound
from application.visibility import Access, access
from domain.base import CommandContext, InvalidValue
from domain.branch import Branch
from domain.marketing import Campaign, Response, Segment, SegmentRules, SegmentState
from domain.offering import ServiceOffering
from domain.relationship import Relationship, RelationshipKind

_PROSPECTS = UUID("0d8c3f4e-5b2a-4e61-9f7d-2a6b8c1e3d50")


def visible_to(scope: str | None, owner_branch: str | None) -> bool:
    """Whether staff acting within ``scope`` (None: every branch) see a segment or campaign
    of ``owner_branch`` (None: the company's)."""
    return scope is None or owner_branch is None or owner_branch == scope


def named_campaign(
    commands: CommandPath, ctx: CommandContext, campaign_id: UUID, field: str
) -> Campaign:
    """The campaign a command's body names in ``field``; 422 if there is none the
    command's branch may see."""
    campaign = commands.referenced(Campaign, campaign_id, field)
    if not visible_to(ctx.branch_scope, campaign.owner_branch):
        raise InvalidValue(
            f"{field}.unknown", f"{field} {campaign_id} refers to nothing", field=field
        )
    return campaign


def running_campaign(
    commands: CommandPath, ctx: CommandContext, campaign_id: UUID, field: str
) -> Campaign:
    """The campaign named in ``field``, which must be running (409 otherwise)."""
    campaign = named_campaign(commands, ctx, campaign_id, field)
    if not campaign.is_running:
        campaign = commands.load(Campaign, campaign_id, fresh=True)
    campaign.require_running()
    return campaign


def campaign_contact(
    commands: CommandPath,
    ctx: CommandContext,
    campaign_id: UUID,
    *,
    relationship_id: UUID,
    interaction_id: UUID,
) -> Campaign:
    """The campaign with the contact recorded on it, to append with the interaction."""
    named_campaign(commands, ctx, campaign_id, "campaign_id")
    campaign = commands.from_log(Campaign, campaign_id)
    campaign.log_contact(
        ctx.then("campaign"), relationship_id=relationship_id, interaction_id=interaction_id
    )
    return campaign


class MarketingService:
    """Commands and write-side queries of segments and campaigns."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    # --- what the domain is given ------------------------------------------------------

    def _check_branches(self, rules: SegmentRules) -> None:
        for index, code in enumerate(rules.branches or ()):
            try:
                self.commands.load(Branch, Branch.id_for(code), fresh=False)
            except NotFound:
                field = f"rules.branches.{index}"
                raise InvalidValue(
                    "rules.branch_unknown",
                    f"{field}: no branch {code!r} is registered",
                    field=field,
                ) from None

    def _segment(self, ctx: CommandContext, segment_id: UUID, field: str) -> Segment:
        segment = self.commands.referenced(Segment, segment_id, field)
        if not visible_to(ctx.branch_scope, segment.owner_branch):
            raise InvalidValue(
                f"{field}.unknown", f"{field} {segment_id} refers to nothing", field=field
            )
        if segment.state is not SegmentState.ACTIVE:
            segment = self.commands.load(Segment, segment_id, fresh=True)
        return segment

    def _offering_active(self, offering_id: UUID) -> bool:
        offering = self.commands.referenced(ServiceOffering, offering_id, "offering_id")
        if not offering.is_active:
            offering = self.commands.load(ServiceOffering, offering_id, fresh=True)
        return offering.is_active

    def _branch(self, code: str, field: str) -> str:
        return self.commands.branch(code, field).code

    # --- segments ----------------------------------------------------------------------

    def define_segment(
        self,
        ctx: CommandContext,
        *,
        name: str,
        rules: SegmentRules,
        description: str | None = None,
        segment_id: UUID | None = None,
    ) -> CommandResult:
        """A segment of the definer's branch (headquarters': of none)."""
        self._check_branches(rules)
        segment = Segment.define(
            ctx,
            name=name,
            rules=rules,
            owner_branch=ctx.branch_scope,
            description=description,
            segment_id=segment_id,
        )
        return self.commands.create(ctx, "segment", segment)

    def change_segment(
        self,
        ctx: CommandContext,
        sid: UUID,
        *,
        name: str,
        rules: SegmentRules,
        description: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        self._check_branches(rules)
        return self.commands.execute(
            ctx,
            Segment,
            sid,
            lambda s: s.change(ctx, name=name, rules=rules, description=description),
            expected_version,
        )

    def retire_segment(
        self, ctx: CommandContext, sid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self.commands.execute(
            ctx, Segment, sid, lambda s: s.retire(ctx, reason=reason), expected_version
        )

    # --- campaigns ---------------------------------------------------------------------

    def plan_campaign(
        self,
        ctx: CommandContext,
        *,
        name: str,
        segment_id: UUID,
        offering_id: UUID,
        starts_on: date,
        ends_on: date,
        budget: Decimal,
        currency: str,
        campaign_id: UUID | None = None,
    ) -> CommandResult:
        segment = self._segment(ctx, segment_id, "segment_id")
        campaign = Campaign.plan(
            ctx,
            name=name,
            segment_id=segment_id,
            segment_active=segment.state is SegmentState.ACTIVE,
            offering_id=offering_id,
            offering_active=self._offering_active(offering_id),
            starts_on=starts_on,
            ends_on=ends_on,
            budget=budget,
            currency=currency,
            owner_branch=ctx.branch_scope,
            campaign_id=campaign_id,
        )
        return self.commands.create(ctx, "campaign", campaign)

    def _campaign(
        self,
        ctx: CommandContext,
        cid: UUID,
        expected_version: int | None,
        decide: Callable[[Campaign], None],
        follow: Callable[[Campaign], Sequence[Aggregate]] | None = None,
    ) -> CommandResult:
        return self.commands.execute(ctx, Campaign, cid, decide, expected_version, follow=follow)

    def start_campaign(
        self, ctx: CommandContext, cid: UUID, *, expected_version: int | None = None
    ) -> CommandResult:
        return self._campaign(ctx, cid, expected_version, lambda c: c.start(ctx))

    def close_campaign(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._campaign(ctx, cid, expected_version, lambda c: c.close(ctx, reason=reason))

    def record_spend(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        amount: Decimal,
        branch: str | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Money spent of the budget; ``branch``: the branch it was spent for (staff of
        a branch spend for their own)."""
        code = None if branch is None else self._branch(branch, "branch")
        return self._campaign(
            ctx,
            cid,
            expected_version,
            lambda c: c.record_spend(ctx, amount=amount, branch=code, note=note),
        )

    def record_response(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        relationship_id: UUID,
        response: Response,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """What a relationship contacted in the campaign answered."""
        self.commands.referenced(Relationship, relationship_id, "relationship_id", ctx=ctx)
        return self._campaign(
            ctx,
            cid,
            expected_version,
            lambda c: c.record_response(
                ctx, relationship_id=relationship_id, response=response, note=note
            ),
        )

    def register_prospect(
        self,
        ctx: CommandContext,
        cid: UUID,
        *,
        name: str,
        industry: str,
        region: str,
        branch: str,
        prospect_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead: a new prospect registered from the campaign, appended with the
        campaign's record of it. The answer is the campaign's; the prospect's id is
        ``prospect_id``, else derived from the command's (``prospect_id``)."""
        code = self._branch(branch, "branch")
        if prospect_id is not None:
            try:
                self.commands.load(Relationship, prospect_id, fresh=False)
            except NotFound:
                pass
            else:
                raise AlreadyExists("relationship", prospect_id)
        if access(ctx.branch_scope, code, RelationshipKind.PROSPECT) < Access.COMMAND:
            raise InvalidValue(
                "branch.other_branch",
                f"a prospect of branch {code!r} is registered by its own staff",
                field="branch",
            )
        new_id = prospect_id or self.prospect_id(ctx)
        registered: list[Relationship] = []

        def decide(campaign: Campaign) -> None:
            prospect = Relationship.register(
                ctx.then("prospect"),
                name=name,
                kind=RelationshipKind.PROSPECT,
                industry=industry,
                region=region,
                branch=code,
                relationship_id=new_id,
            )
            campaign.register_prospect(ctx, relationship_id=prospect.id, branch=code)
            registered[:] = [prospect]

        return self._campaign(ctx, cid, expected_version, decide, follow=lambda _: registered)

    @staticmethod
    def prospect_id(ctx: CommandContext) -> UUID:
        """The id of the prospect ``register_prospect`` registers under ``ctx``: one per
        command, so a retry registers none twice."""
        return uuid5(_PROSPECTS, ctx.command_id)

    # --- write-side queries ------------------------------------------------------------

    def get_segment(self, sid: UUID) -> Segment:
        return self.commands.current(Segment, sid)

    def get_campaign(self, cid: UUID) -> Campaign:
        return self.commands.current(Campaign, cid)
