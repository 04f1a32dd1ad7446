"""Commands on customer relationships: registration, lifecycle, account team, contacts,
interactions and customer care — one method per command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.commands import CommandPath, CommandResult, NotFound, nameable
from application.marketing import campaign_contact
from domain.base import CommandContext, DomainError, InvalidValue, require
from domain.consent import ConsentChannel, ConsentPurpose
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    HoldBasis,
    LegalHold,
    Relationship,
    RelationshipKind,
)
from domain.shipment import Shipment


class RelationshipService:
    """Commands and write-side queries of relationships."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

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
        self.commands.branch(relationship.branch)
        return self.commands.create(ctx, "relationship", relationship)

    def _relationship(
        self,
        ctx: CommandContext,
        relationship_id: UUID,
        expected_version: int | None,
        decide: Callable[[Relationship], None],
    ) -> CommandResult:
        return self.commands.execute(ctx, Relationship, relationship_id, decide, expected_version)

    def rename_relationship(
        self, ctx: CommandContext, rid: UUID, *, name: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(ctx, rid, expected_version, lambda r: r.rename(ctx, name=name))

    def qualify_as_target(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.qualify_as_target(ctx, reason=reason)
        )

    def return_to_prospect(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.return_to_prospect(ctx, reason=reason)
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
            ctx, rid, expected_version, lambda r: r.record_first_business(ctx, reference=reference)
        )

    def mark_dormant(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.mark_dormant(ctx, reason=reason)
        )

    def reactivate(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.reactivate(ctx, reason=reason)
        )

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
            competitor = nameable(self.commands, ctx, Relationship, lost_to_competitor_id)
            if competitor.kind is not RelationshipKind.COMPETITOR:
                raise DomainError(
                    "lifecycle.lost_to_non_competitor",
                    f"{lost_to_competitor_id} is a {competitor.kind}, not a competitor",
                    field="lost_to_competitor_id",
                )
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.mark_lost(ctx, reason=reason, lost_to_competitor_id=lost_to_competitor_id),
        )

    def win_back(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.win_back(ctx, reason=reason)
        )

    def change_industry(
        self, ctx: CommandContext, rid: UUID, *, industry: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.change_industry(ctx, industry=industry)
        )

    def designate_key_account(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.designate_key_account(ctx, reason=reason)
        )

    def withdraw_key_account(
        self, ctx: CommandContext, rid: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._relationship(
            ctx, rid, expected_version, lambda r: r.withdraw_key_account(ctx, reason=reason)
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
        def move(relationship: Relationship) -> None:
            relationship.move_to_branch(ctx, region=region, branch=branch)
            self.commands.branch(relationship.branch)

        return self._relationship(ctx, rid, expected_version, move)

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
            ctx,
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
            ctx,
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
            ctx,
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
            ctx, rid, expected_version, lambda r: r.remove_contact(ctx, contact_id=contact_id)
        )

    def give_consent(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        contact_id: str,
        purpose: ConsentPurpose,
        channel: ConsentChannel,
        evidence_ref: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A contact's consent to ``purpose``, with how it was given (``channel``, and a
        reference to the evidence: a signed form, an email)."""
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.give_consent(
                ctx,
                contact_id=contact_id,
                purpose=purpose,
                channel=channel,
                evidence_ref=evidence_ref,
            ),
        )

    def withdraw_consent(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        contact_id: str,
        purpose: ConsentPurpose,
        channel: ConsentChannel,
        evidence_ref: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.withdraw_consent(
                ctx,
                contact_id=contact_id,
                purpose=purpose,
                channel=channel,
                evidence_ref=evidence_ref,
            ),
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
        campaign_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """``campaign_id``: a contact made in that campaign (which must be running),
        recorded on the campaign in the same append; a named contact must have given
        consent to marketing (409 ``consent.marketing_missing``)."""

        def in_campaign(relationship: Relationship) -> list[Aggregate]:
            if campaign_id is None:
                return []
            return [
                campaign_contact(
                    self.commands,
                    ctx,
                    campaign_id,
                    relationship_id=relationship.id,
                    interaction_id=interaction_id,
                )
            ]

        return self.commands.execute(
            ctx,
            Relationship,
            rid,
            lambda r: r.log_interaction(
                ctx,
                interaction_id=interaction_id,
                channel=channel,
                direction=direction,
                summary=summary,
                staff=staff,
                contact_id=contact_id,
                campaign_id=campaign_id,
            ),
            expected_version,
            follow=in_campaign,
        )

    def attach_evidence(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        interaction_id: UUID,
        sha256: str,
        size: int,
        media_type: str,
        file_name: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Attach a file the evidence store holds (``application.evidence``) to one of
        the relationship's interactions."""
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.attach_evidence(
                ctx,
                interaction_id=interaction_id,
                sha256=sha256,
                size=size,
                media_type=media_type,
                file_name=file_name,
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
            ctx,
            rid,
            expected_version,
            lambda r: r.record_customer_care(
                ctx, care_id=care_id, care_kind=care_kind, note=note, staff=staff
            ),
        )

    # --- rewards and penalties (奖惩) ---

    def charge_back(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        charge_back_id: UUID,
        amount: Decimal,
        currency: str,
        reason: str,
        shipment_id: UUID,
        incident_id: UUID | None = None,
        claim_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Charge a partner back for an incident of a shipment, named by the incident or by
        a claim filed for it (both: the claim must be the incident's). Refused unless the
        incident's responsibility was accepted by that partner or arbitrated to it, as the
        shipment's log has it now."""
        require(
            incident_id is not None or claim_id is not None,
            "charge_back.reference",
            "a charge-back names the incident or the claim it is for",
            field="incident_id",
        )
        try:
            shipment = self.commands.current(Shipment, shipment_id)
        except NotFound:
            raise InvalidValue(
                "shipment_id.unknown",
                f"shipment_id {shipment_id} refers to nothing",
                field="shipment_id",
            ) from None
        if claim_id is not None:
            claim = shipment.claims.get(claim_id)
            require(
                claim is not None,
                "claim_id.unknown",
                f"the shipment has no claim {claim_id}",
                field="claim_id",
            )
            assert claim is not None
            require(
                incident_id is None or claim.incident_id == incident_id,
                "claim_id.other_incident",
                f"claim {claim_id} is for incident {claim.incident_id}, not {incident_id}",
                field="claim_id",
            )
            incident_id = claim.incident_id
        assert incident_id is not None
        require(
            incident_id in shipment.incidents,
            "incident_id.unknown",
            f"the shipment has no incident {incident_id}",
            field="incident_id",
        )
        found = shipment.found_responsible(incident_id)
        incident = incident_id
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.charge_back(
                ctx,
                charge_back_id=charge_back_id,
                amount=amount,
                currency=currency,
                reason=reason,
                shipment_id=shipment_id,
                incident_id=incident,
                claim_id=claim_id,
                found_responsible=found,
            ),
        )

    def award_bonus(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        bonus_id: UUID,
        amount: Decimal,
        currency: str,
        reason: str,
        period_start: datetime,
        period_end: datetime,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.award_bonus(
                ctx,
                bonus_id=bonus_id,
                amount=amount,
                currency=currency,
                reason=reason,
                period_start=period_start,
                period_end=period_end,
            ),
        )

    def place_legal_hold(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        hold_id: UUID,
        basis: HoldBasis,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Keep the relationship's personal data, and its shipments', past their retention
        periods until the hold is released (``domain.retention``)."""
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.place_legal_hold(ctx, hold_id=hold_id, basis=basis, reason=reason),
        )

    def release_legal_hold(
        self,
        ctx: CommandContext,
        rid: UUID,
        *,
        hold_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._relationship(
            ctx,
            rid,
            expected_version,
            lambda r: r.release_legal_hold(ctx, hold_id=hold_id, reason=reason),
        )

    def legal_holds(self, rid: UUID) -> list[LegalHold]:
        """Every legal hold placed on the relationship, released ones too, oldest first."""
        holds = self.get_relationship(rid).legal_holds.values()
        return sorted(holds, key=lambda h: (h.placed_at, str(h.hold_id)))

    def get_relationship(self, rid: UUID) -> Relationship:
        return self.commands.current(Relationship, rid)
