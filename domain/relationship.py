"""Relationship (客户关系): any organisation we deal with, and its whole history.

Kinds and the reclassifications that make business sense:

================  ==========================================  ===============================
from              allowed                                      refused, and why
================  ==========================================  ===============================
prospect          qualify -> target; first business ->         —
                  customer (a walk-in who books at once)
target            back to prospect (lead went cold);           —
                  first business -> customer
customer          dormant, lost, won back (lifecycle)          back to prospect or target: it
                                                               has done business with us, that
                                                               history stays; use "lost"
partner           stays partner                                any change: carriers and agents
                                                               hold responsibility for links
                                                               and their record must not move
competitor        stays competitor                             any change: win/loss records
                                                               refer to it as a competitor
================  ==========================================  ===============================

Lifecycle (customers only): ``active`` -> ``dormant`` (no business for a while) ->
``active`` again on reactivation; ``active``/``dormant``/``won_back`` -> ``lost``;
``lost`` -> ``won_back``. Every other kind stays ``active``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.base import (
    AttributedEvent,
    CommandContext,
    InvalidValue,
    UnknownMember,
    refuse_unless,
    require,
)
from domain.consent import Consent, ConsentChannel, ConsentPurpose
from domain.costs import Money
from domain.evidence import EvidenceTarget, evidence_fields
from domain.idset import IdSet
from domain.personal import (
    ERASED,
    DataKind,
    DataSubjectKind,
    ErasureBasis,
    PersonalField,
    Subject,
    contact_subject,
    erasure_fields,
)
from domain.values import optional_text, required_text, utc_moment


class RelationshipKind(StrEnum):
    PROSPECT = "prospect"
    TARGET = "target"
    CUSTOMER = "customer"
    PARTNER = "partner"
    COMPETITOR = "competitor"


class Lifecycle(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    LOST = "lost"
    WON_BACK = "won_back"


class Channel(StrEnum):
    VISIT = "visit"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    MESSAGE = "message"
    PORTAL = "portal"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class HoldBasis(StrEnum):
    """Why a customer's data must be kept past its retention period."""

    CLAIM = "claim"  # an open claim
    AUDIT = "audit"
    LITIGATION = "litigation"


@dataclass(frozen=True)
class LegalHold:
    """A legal hold on a relationship: while it is not released, none of the personal
    data of the relationship (nor of its shipments) is erased for retention."""

    hold_id: UUID
    basis: HoldBasis
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "hold_id": str(self.hold_id),
            "basis": self.basis.value,
            "reason": self.reason,
            "placed_by": self.placed_by,
            "placed_at": self.placed_at.isoformat(),
            "active": self.active,
            "released_by": self.released_by,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "release_reason": self.release_reason,
        }


class CareActionKind(StrEnum):
    FOLLOW_UP_AFTER_INCIDENT = "follow_up_after_incident"
    SATISFACTION_CALL = "satisfaction_call"
    GREETING = "greeting"
    GIFT = "gift"
    REVIEW_MEETING = "review_meeting"


@dataclass(frozen=True)
class Contact:
    contact_id: str
    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "name": self.name,
            "title": self.title,
            "phone": self.phone,
            "email": self.email,
        }


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _contact(
    contact_id: str, name: str, title: str | None, phone: str | None, email: str | None
) -> Contact:
    email = optional_text(email, "email")
    if email is not None and email != ERASED:  # an erased email stays erased until replaced
        require(bool(_EMAIL.match(email)), "email.format", "email is not an address", field="email")
    return Contact(
        contact_id=required_text(contact_id, "contact_id", max_length=64),
        name=required_text(name, "name"),
        title=optional_text(title, "title"),
        phone=optional_text(phone, "phone", max_length=40),
        email=email,
    )


def _contact_in(state: Any, relationship_id: UUID) -> Subject:
    return contact_subject(relationship_id, state["contact"]["contact_id"])


def _notes_of(state: Any, relationship_id: UUID) -> Subject:
    """Notes that name a contact are that person's; the rest, the relationship's."""
    if state.get("contact_id"):
        return contact_subject(relationship_id, state["contact_id"])
    return Subject(DataSubjectKind.NOTES, relationship_id, "notes")


#: A contact's personal fields, as ContactAdded and ContactChanged hold them.
CONTACT_FIELDS = (
    PersonalField("contact.name", DataKind.IDENTITY, _contact_in),
    PersonalField("contact.title", DataKind.IDENTITY, _contact_in),
    PersonalField("contact.phone", DataKind.CONTACT_DETAILS, _contact_in),
    PersonalField("contact.email", DataKind.CONTACT_DETAILS, _contact_in),
)
_ERASED_BY_KIND = {
    DataKind.IDENTITY: ("name", "title"),
    DataKind.CONTACT_DETAILS: ("phone", "email"),
}


class Relationship(Aggregate, created_event_name="Registered"):
    TOPIC = "Relationship"

    class Event(AttributedEvent):
        pass

    class Registered(Event, Aggregate.Created):
        TOPIC = "Relationship.Registered"
        # v1 had no key-account designation; v2 added it (see upcast_v1_v2).
        class_version = 2

        name: str
        kind: str
        industry: str
        key_account: bool
        region: str
        branch: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["key_account"] = False

    # The library gives every aggregate a "Created" event; ours is "Registered".
    Created = Registered

    class Renamed(Event):
        TOPIC = "Relationship.Renamed"
        name: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.name = self.name

    class QualifiedAsTarget(Event):
        TOPIC = "Relationship.QualifiedAsTarget"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.kind = RelationshipKind.TARGET

    class ReturnedToProspect(Event):
        TOPIC = "Relationship.ReturnedToProspect"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.kind = RelationshipKind.PROSPECT

    class BecameCustomer(Event):
        TOPIC = "Relationship.BecameCustomer"
        first_business_reference: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.kind = RelationshipKind.CUSTOMER
            aggregate.lifecycle = Lifecycle.ACTIVE

    class MarkedDormant(Event):
        TOPIC = "Relationship.MarkedDormant"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.lifecycle = Lifecycle.DORMANT

    class Reactivated(Event):
        TOPIC = "Relationship.Reactivated"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.lifecycle = Lifecycle.ACTIVE

    class MarkedLost(Event):
        TOPIC = "Relationship.MarkedLost"
        reason: str
        lost_to_competitor_id: UUID | None

        def apply(self, aggregate: Relationship) -> None:
            aggregate.lifecycle = Lifecycle.LOST
            aggregate.lost_at = self.occurred_at

    class WonBack(Event):
        TOPIC = "Relationship.WonBack"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.lifecycle = Lifecycle.WON_BACK
            aggregate.lost_at = None

    class IndustryChanged(Event):
        TOPIC = "Relationship.IndustryChanged"
        industry: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.industry = self.industry

    class KeyAccountDesignated(Event):
        TOPIC = "Relationship.KeyAccountDesignated"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.key_account = True

    class KeyAccountWithdrawn(Event):
        TOPIC = "Relationship.KeyAccountWithdrawn"
        reason: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.key_account = False

    class MovedToBranch(Event):
        TOPIC = "Relationship.MovedToBranch"
        region: str
        branch: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.region = self.region
            aggregate.branch = self.branch

    class AccountTeamAssigned(Event):
        TOPIC = "Relationship.AccountTeamAssigned"
        field_rep: str | None
        office_rep: str | None

        def apply(self, aggregate: Relationship) -> None:
            aggregate.field_rep = self.field_rep
            aggregate.office_rep = self.office_rep

    class ContactAdded(Event):
        TOPIC = "Relationship.ContactAdded"
        PERSONAL = CONTACT_FIELDS
        contact: dict[str, Any]

        def apply(self, aggregate: Relationship) -> None:
            contact = Contact(**self.contact)
            aggregate.contacts = {**aggregate.contacts, contact.contact_id: contact}
            aggregate.contacts_removed = {
                k: v for k, v in aggregate.contacts_removed.items() if k != contact.contact_id
            }

    class ContactChanged(Event):
        TOPIC = "Relationship.ContactChanged"
        PERSONAL = CONTACT_FIELDS
        contact: dict[str, Any]

        def apply(self, aggregate: Relationship) -> None:
            contact = Contact(**self.contact)
            aggregate.contacts = {**aggregate.contacts, contact.contact_id: contact}

    class ContactRemoved(Event):
        TOPIC = "Relationship.ContactRemoved"
        contact_id: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.contacts = {
                k: v for k, v in aggregate.contacts.items() if k != self.contact_id
            }
            aggregate.contacts_removed = {
                **aggregate.contacts_removed,
                self.contact_id: self.occurred_at,
            }

    class InteractionLogged(Event):
        """An interaction; when it happened is the event's ``occurred_at``."""

        TOPIC = "Relationship.InteractionLogged"
        # v1 had no campaign; v2 tags a contact made in a campaign (see upcast_v1_v2).
        class_version = 2
        PERSONAL = (PersonalField("summary", DataKind.NOTES, _notes_of),)

        interaction_id: UUID
        channel: str
        direction: str
        summary: str
        staff: str
        contact_id: str | None
        campaign_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["campaign_id"] = None

        def apply(self, aggregate: Relationship) -> None:
            aggregate.interaction_count += 1
            # Added in place, to a set whose cost does not grow with its size: a command's
            # cost must not grow with the history it follows. (A snapshot taken by earlier
            # code holds a plain set.)
            if not isinstance(aggregate.interaction_ids, IdSet):
                aggregate.interaction_ids = IdSet(aggregate.interaction_ids)
            aggregate.interaction_ids.add(self.interaction_id)
            if (
                aggregate.last_interaction is None
                or self.occurred_at >= aggregate.last_interaction.happened_at
            ):
                aggregate.last_interaction = LastInteraction(
                    happened_at=self.occurred_at, channel=Channel(self.channel)
                )

    class PersonalDataErased(Event):
        """A data subject's personal data of ``kinds`` erased: its keys destroyed in the
        same transaction, every field sealed under them unreadable from now on."""

        TOPIC = "Relationship.PersonalDataErased"
        ERASES = True
        subject_id: UUID
        subject_kind: str
        ref: str
        kinds: list[str]
        reason: str
        basis: str
        request_ref: str | None

        def apply(self, aggregate: Relationship) -> None:
            contact = aggregate.contacts.get(self.ref)
            if self.subject_kind != DataSubjectKind.CONTACT.value or contact is None:
                return
            erased = {f: ERASED for k in self.kinds for f in _ERASED_BY_KIND.get(DataKind(k), ())}
            erased = {f: v for f, v in erased.items() if f == "name" or getattr(contact, f)}
            aggregate.contacts = {**aggregate.contacts, self.ref: replace(contact, **erased)}

    class LegalHoldPlaced(Event):
        """A legal hold placed on the relationship (an open claim, an audit, litigation):
        its personal data, and its shipments', is kept until the hold is released."""

        TOPIC = "Relationship.LegalHoldPlaced"
        hold_id: UUID
        basis: str
        reason: str
        placed_by: str

        def apply(self, aggregate: Relationship) -> None:
            hold = LegalHold(
                self.hold_id, HoldBasis(self.basis), self.reason, self.placed_by, self.occurred_at
            )
            aggregate.legal_holds = {**aggregate.legal_holds, self.hold_id: hold}

    class LegalHoldReleased(Event):
        TOPIC = "Relationship.LegalHoldReleased"
        hold_id: UUID
        reason: str
        released_by: str

        def apply(self, aggregate: Relationship) -> None:
            hold = replace(
                aggregate.legal_holds[self.hold_id],
                released_by=self.released_by,
                released_at=self.occurred_at,
                release_reason=self.reason,
            )
            aggregate.legal_holds = {**aggregate.legal_holds, self.hold_id: hold}

    class ConsentGiven(Event):
        """A contact gave consent to ``purpose``: how (``channel``, ``evidence_ref``), when
        (``occurred_at``) and who recorded it (``actor``)."""

        TOPIC = "Relationship.ConsentGiven"
        contact_id: str
        purpose: str
        channel: str
        evidence_ref: str | None

        def apply(self, aggregate: Relationship) -> None:
            aggregate._set_consent(self, given=True)

    class ConsentWithdrawn(Event):
        """A contact withdrew its consent to ``purpose``."""

        TOPIC = "Relationship.ConsentWithdrawn"
        contact_id: str
        purpose: str
        channel: str
        evidence_ref: str | None

        def apply(self, aggregate: Relationship) -> None:
            aggregate._set_consent(self, given=False)

    class CustomerCareRecorded(Event):
        TOPIC = "Relationship.CustomerCareRecorded"
        # A care action's note is free text about people ("mooncakes for Ms Lu"): the
        # relationship's notes, erased with them.
        PERSONAL = (PersonalField("note", DataKind.NOTES, _notes_of),)
        care_id: UUID
        care_kind: str
        note: str
        staff: str

        def apply(self, aggregate: Relationship) -> None:
            aggregate.care_action_count += 1

    # --- rewards and penalties (奖惩), partners only ---

    class ChargedBack(Event):
        """Headquarters charges a partner back for an incident (or a claim of it) that the
        partner was found responsible for."""

        TOPIC = "Relationship.ChargedBack"
        charge_back_id: UUID
        amount: Decimal
        currency: str
        reason: str
        shipment_id: UUID
        incident_id: UUID
        claim_id: UUID | None

        def apply(self, aggregate: Relationship) -> None:
            pass

    class BonusAwarded(Event):
        """Headquarters rewards a partner's clean record over a period."""

        TOPIC = "Relationship.BonusAwarded"
        bonus_id: UUID
        amount: Decimal
        currency: str
        reason: str
        period_start: datetime
        period_end: datetime

        def apply(self, aggregate: Relationship) -> None:
            pass

    class EvidenceAttached(Event):
        """A file attached to an interaction (``domain/evidence.py``)."""

        TOPIC = "Relationship.EvidenceAttached"
        target: str
        target_id: str
        sha256: str
        size: int
        media_type: str
        file_name: str

        def apply(self, aggregate: Relationship) -> None:
            pass  # the evidence decides nothing the relationship does

    # --- state -------------------------------------------------------------------------

    def __init__(
        self,
        name: str,
        kind: str,
        industry: str,
        key_account: bool,
        region: str,
        branch: str,
    ) -> None:
        self.name = name
        self.kind = RelationshipKind(kind)
        self.lifecycle = Lifecycle.ACTIVE
        self.industry = industry
        self.key_account = key_account
        self.region = region
        self.branch = branch
        self.field_rep: str | None = None
        self.office_rep: str | None = None
        self.contacts: dict[str, Contact] = {}
        self.interaction_count = 0
        self.interaction_ids: IdSet = IdSet()
        self.last_interaction: LastInteraction | None = None
        self.care_action_count = 0
        #: When the customer was marked lost (None: not lost, or won back since).
        self.lost_at: datetime | None = None
        #: When each removed contact was removed.
        self.contacts_removed: dict[str, datetime] = {}
        #: Every legal hold ever placed, released ones too, by hold id.
        self.legal_holds: dict[UUID, LegalHold] = {}
        #: Each contact's consents, by contact id and purpose (kept when it is removed).
        self.consents: dict[str, dict[ConsentPurpose, Consent]] = {}

    # --- commands ----------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        ctx: CommandContext,
        *,
        name: str,
        kind: RelationshipKind,
        industry: str,
        region: str,
        branch: str,
        key_account: bool = False,
        relationship_id: UUID | None = None,
    ) -> Relationship:
        return cls._create(
            cls.Registered,
            id=relationship_id or cls.create_id(),
            name=required_text(name, "name"),
            kind=RelationshipKind(kind).value,
            industry=required_text(industry, "industry", max_length=80),
            key_account=key_account,
            region=required_text(region, "region", max_length=80),
            branch=required_text(branch, "branch", max_length=80),
            **ctx.event_fields(),
        )

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    def rename(self, ctx: CommandContext, *, name: str) -> None:
        name = required_text(name, "name")
        refuse_unless(name != self.name, "name.unchanged", "the name is already this")
        self.trigger_event(self.Renamed, name=name, **ctx.event_fields())

    def qualify_as_target(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(
            self.kind is RelationshipKind.PROSPECT,
            "kind.qualify_only_prospect",
            f"only a prospect can be qualified as a target; this is a {self.kind}",
        )
        self.trigger_event(
            self.QualifiedAsTarget, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def return_to_prospect(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(
            self.kind is RelationshipKind.TARGET,
            "kind.return_only_target",
            f"only a target can return to prospect; this is a {self.kind}"
            + (" (a customer that stops buying is marked lost)" if self.is_customer else ""),
        )
        self.trigger_event(
            self.ReturnedToProspect, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def record_first_business(self, ctx: CommandContext, *, reference: str) -> None:
        refuse_unless(
            self.kind in (RelationshipKind.PROSPECT, RelationshipKind.TARGET),
            "kind.first_business_only_prospect_or_target",
            f"first business makes a prospect or target a customer; this is a {self.kind}",
        )
        self.trigger_event(
            self.BecameCustomer,
            first_business_reference=required_text(reference, "reference", max_length=80),
            **ctx.event_fields(),
        )

    def mark_dormant(self, ctx: CommandContext, *, reason: str) -> None:
        self._require_customer("mark dormant")
        refuse_unless(
            self.lifecycle in (Lifecycle.ACTIVE, Lifecycle.WON_BACK),
            "lifecycle.dormant_only_from_active",
            f"only an active or won-back customer can become dormant; it is {self.lifecycle}",
        )
        self.trigger_event(
            self.MarkedDormant, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def reactivate(self, ctx: CommandContext, *, reason: str) -> None:
        self._require_customer("reactivate")
        refuse_unless(
            self.lifecycle is Lifecycle.DORMANT,
            "lifecycle.reactivate_only_dormant",
            f"only a dormant customer can be reactivated; it is {self.lifecycle}"
            + (" (a lost customer is won back)" if self.lifecycle is Lifecycle.LOST else ""),
        )
        self.trigger_event(
            self.Reactivated, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def mark_lost(
        self, ctx: CommandContext, *, reason: str, lost_to_competitor_id: UUID | None = None
    ) -> None:
        self._require_customer("mark lost")
        refuse_unless(
            self.lifecycle is not Lifecycle.LOST,
            "lifecycle.already_lost",
            "the customer is already lost",
        )
        refuse_unless(
            lost_to_competitor_id != self.id,
            "lifecycle.lost_to_itself",
            "a customer cannot be lost to itself",
        )
        self.trigger_event(
            self.MarkedLost,
            reason=required_text(reason, "reason"),
            lost_to_competitor_id=lost_to_competitor_id,
            **ctx.event_fields(),
        )

    def win_back(self, ctx: CommandContext, *, reason: str) -> None:
        self._require_customer("win back")
        refuse_unless(
            self.lifecycle is Lifecycle.LOST,
            "lifecycle.win_back_only_lost",
            f"only a lost customer can be won back; it is {self.lifecycle}",
        )
        self.trigger_event(
            self.WonBack, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def change_industry(self, ctx: CommandContext, *, industry: str) -> None:
        industry = required_text(industry, "industry", max_length=80)
        refuse_unless(industry != self.industry, "industry.unchanged", "industry is already this")
        self.trigger_event(self.IndustryChanged, industry=industry, **ctx.event_fields())

    def designate_key_account(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(
            self.kind in (RelationshipKind.TARGET, RelationshipKind.CUSTOMER),
            "key_account.only_target_or_customer",
            f"key accounts are targets or customers; this is a {self.kind}",
        )
        refuse_unless(not self.key_account, "key_account.already", "already a key account")
        self.trigger_event(
            self.KeyAccountDesignated, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def withdraw_key_account(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(self.key_account, "key_account.not_designated", "not a key account")
        self.trigger_event(
            self.KeyAccountWithdrawn, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def move_to_branch(self, ctx: CommandContext, *, region: str, branch: str) -> None:
        region = required_text(region, "region", max_length=80)
        branch = required_text(branch, "branch", max_length=80)
        refuse_unless(
            (region, branch) != (self.region, self.branch),
            "branch.unchanged",
            "the relationship is already with this region and branch",
        )
        self.trigger_event(self.MovedToBranch, region=region, branch=branch, **ctx.event_fields())

    def assign_account_team(
        self, ctx: CommandContext, *, field_rep: str | None, office_rep: str | None
    ) -> None:
        field_rep = optional_text(field_rep, "field_rep", max_length=64)
        office_rep = optional_text(office_rep, "office_rep", max_length=64)
        refuse_unless(
            (field_rep, office_rep) != (self.field_rep, self.office_rep),
            "team.unchanged",
            "the account team is already this",
        )
        self.trigger_event(
            self.AccountTeamAssigned,
            field_rep=field_rep,
            office_rep=office_rep,
            **ctx.event_fields(),
        )

    def add_contact(
        self,
        ctx: CommandContext,
        *,
        contact_id: str,
        name: str,
        title: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> None:
        contact = _contact(contact_id, name, title, phone, email)
        refuse_unless(
            contact.contact_id not in self.contacts,
            "contact.duplicate_id",
            f"a contact with id {contact.contact_id!r} already exists",
        )
        self.trigger_event(self.ContactAdded, contact=contact.as_dict(), **ctx.event_fields())

    def change_contact(
        self,
        ctx: CommandContext,
        *,
        contact_id: str,
        name: str | None = None,
        title: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> None:
        current = self._contact(contact_id)
        changed = replace(
            current,
            **{
                k: v
                for k, v in {"name": name, "title": title, "phone": phone, "email": email}.items()
                if v is not None
            },
        )
        contact = _contact(
            changed.contact_id, changed.name, changed.title, changed.phone, changed.email
        )
        refuse_unless(contact != current, "contact.unchanged", "nothing about the contact changes")
        self.trigger_event(self.ContactChanged, contact=contact.as_dict(), **ctx.event_fields())

    def erase_personal_data(
        self,
        ctx: CommandContext,
        subject: Subject,
        kinds: Sequence[DataKind],
        *,
        reason: str,
        basis: ErasureBasis = ErasureBasis.REQUEST,
        request_ref: str | None = None,
    ) -> None:
        """Erase ``subject``'s data of ``kinds`` (a contact, or the relationship's notes)."""
        self.trigger_event(
            self.PersonalDataErased,
            **erasure_fields(
                self.id, subject, kinds, reason=reason, basis=basis, request_ref=request_ref
            ),
            **ctx.event_fields(),
        )

    def place_legal_hold(
        self, ctx: CommandContext, *, hold_id: UUID, basis: HoldBasis, reason: str
    ) -> None:
        refuse_unless(
            hold_id not in self.legal_holds,
            "legal_hold.duplicate_id",
            f"a legal hold with id {hold_id} is already placed",
        )
        self.trigger_event(
            self.LegalHoldPlaced,
            hold_id=hold_id,
            basis=HoldBasis(basis).value,
            reason=required_text(reason, "reason", max_length=500),
            placed_by=ctx.actor,
            **ctx.event_fields(),
        )

    def release_legal_hold(self, ctx: CommandContext, *, hold_id: UUID, reason: str) -> None:
        hold = self.legal_holds.get(hold_id)
        if hold is None:
            raise UnknownMember("legal_hold.unknown", f"no legal hold with id {hold_id}")
        refuse_unless(hold.active, "legal_hold.released", "the legal hold is released already")
        self.trigger_event(
            self.LegalHoldReleased,
            hold_id=hold_id,
            reason=required_text(reason, "reason", max_length=500),
            released_by=ctx.actor,
            **ctx.event_fields(),
        )

    @property
    def active_legal_holds(self) -> list[LegalHold]:
        return [hold for hold in self.legal_holds.values() if hold.active]

    def remove_contact(self, ctx: CommandContext, *, contact_id: str) -> None:
        self._contact(contact_id)
        self.trigger_event(self.ContactRemoved, contact_id=contact_id, **ctx.event_fields())

    def give_consent(
        self,
        ctx: CommandContext,
        *,
        contact_id: str,
        purpose: ConsentPurpose,
        channel: ConsentChannel,
        evidence_ref: str | None = None,
    ) -> None:
        """Record a contact's consent to ``purpose``; 409 if it stands given already."""
        self._contact(contact_id)
        purpose = _purpose(purpose)
        refuse_unless(
            not self.has_consent(contact_id, purpose),
            "consent.already_given",
            f"contact {contact_id!r} has already given consent to {purpose.value}",
        )
        self.trigger_event(
            self.ConsentGiven,
            contact_id=contact_id,
            purpose=purpose.value,
            **_consent_how(channel, evidence_ref),
            **ctx.event_fields(),
        )

    def withdraw_consent(
        self,
        ctx: CommandContext,
        *,
        contact_id: str,
        purpose: ConsentPurpose,
        channel: ConsentChannel,
        evidence_ref: str | None = None,
    ) -> None:
        """Record that a contact withdrew its consent to ``purpose``; 409 unless it stands
        given."""
        self._contact(contact_id)
        purpose = _purpose(purpose)
        refuse_unless(
            self.has_consent(contact_id, purpose),
            "consent.not_given",
            f"contact {contact_id!r} has not given consent to {purpose.value}",
        )
        self.trigger_event(
            self.ConsentWithdrawn,
            contact_id=contact_id,
            purpose=purpose.value,
            **_consent_how(channel, evidence_ref),
            **ctx.event_fields(),
        )

    def has_consent(self, contact_id: str, purpose: ConsentPurpose) -> bool:
        consent = self.consents.get(contact_id, {}).get(purpose)
        return consent is not None and consent.given

    def _set_consent(self, event: Any, *, given: bool) -> None:
        purpose = ConsentPurpose(event.purpose)
        consent = Consent(
            purpose=purpose,
            given=given,
            changed_at=event.occurred_at,
            changed_by=event.actor,
            channel=ConsentChannel(event.channel),
            evidence_ref=event.evidence_ref,
        )
        of_contact = {**self.consents.get(event.contact_id, {}), purpose: consent}
        self.consents = {**self.consents, event.contact_id: of_contact}

    def log_interaction(
        self,
        ctx: CommandContext,
        *,
        interaction_id: UUID,
        channel: Channel,
        direction: Direction,
        summary: str,
        staff: str | None = None,
        contact_id: str | None = None,
        campaign_id: UUID | None = None,
    ) -> None:
        """``campaign_id``: the campaign the contact is made in (the application layer
        found it running and records the contact on it in the same append)."""
        refuse_unless(
            interaction_id not in self.interaction_ids,
            "interaction.duplicate_id",
            f"an interaction with id {interaction_id} is already logged",
        )
        if contact_id is not None:
            self._contact(contact_id)
            refuse_unless(
                campaign_id is None or self.has_consent(contact_id, ConsentPurpose.MARKETING),
                "consent.marketing_missing",
                f"contact {contact_id!r} has not given consent to marketing: "
                "it cannot be contacted in a campaign",
            )
        self.trigger_event(
            self.InteractionLogged,
            interaction_id=interaction_id,
            channel=Channel(channel).value,
            direction=Direction(direction).value,
            summary=required_text(summary, "summary", max_length=2000),
            staff=required_text(staff or ctx.actor, "staff", max_length=64),
            contact_id=contact_id,
            campaign_id=campaign_id,
            **ctx.event_fields(),
        )

    def record_customer_care(
        self,
        ctx: CommandContext,
        *,
        care_id: UUID,
        care_kind: CareActionKind,
        note: str,
        staff: str | None = None,
    ) -> None:
        refuse_unless(
            self.kind is not RelationshipKind.COMPETITOR,
            "care.not_for_competitor",
            "customer care is not given to a competitor",
        )
        self.trigger_event(
            self.CustomerCareRecorded,
            care_id=care_id,
            care_kind=CareActionKind(care_kind).value,
            note=required_text(note, "note", max_length=2000),
            staff=required_text(staff or ctx.actor, "staff", max_length=64),
            **ctx.event_fields(),
        )

    def attach_evidence(
        self,
        ctx: CommandContext,
        *,
        interaction_id: UUID,
        sha256: str,
        size: int,
        media_type: str,
        file_name: str,
    ) -> None:
        """Attach a stored file to a logged interaction (a visit's photos, a signed
        document); 404 for an interaction it has not logged."""
        if interaction_id not in self.interaction_ids:
            raise UnknownMember("interaction.unknown", f"no interaction with id {interaction_id}")
        self.trigger_event(
            self.EvidenceAttached,
            target=EvidenceTarget.INTERACTION.value,
            target_id=str(interaction_id),
            **evidence_fields(sha256=sha256, size=size, media_type=media_type, file_name=file_name),
            **ctx.event_fields(),
        )

    # --- commands: rewards and penalties (奖惩) ------------------------------------------

    def charge_back(
        self,
        ctx: CommandContext,
        *,
        charge_back_id: UUID,
        amount: Decimal,
        currency: str,
        reason: str,
        shipment_id: UUID,
        incident_id: UUID,
        claim_id: UUID | None,
        found_responsible: UUID | None,
    ) -> None:
        """Charge this partner back for an incident of a shipment (and, if named, a claim
        filed for it). ``found_responsible`` is the partner the incident's responsibility
        finally rests with, as the application layer found it on the shipment: accepted by
        that partner or arbitrated to it; ``None`` if it rests with no partner yet (not
        assigned, only proposed, disputed, or a branch's)."""
        money = Money.of(amount, currency)
        self._require_partner("charged back")
        refuse_unless(
            found_responsible == self.id,
            "charge_back.not_responsible",
            f"{self.name} was not found responsible for incident {incident_id}: its "
            "responsibility is neither accepted by it nor arbitrated to it",
        )
        self.trigger_event(
            self.ChargedBack,
            charge_back_id=charge_back_id,
            amount=money.amount,
            currency=money.currency,
            reason=required_text(reason, "reason"),
            shipment_id=shipment_id,
            incident_id=incident_id,
            claim_id=claim_id,
            **ctx.event_fields(),
        )

    def award_bonus(
        self,
        ctx: CommandContext,
        *,
        bonus_id: UUID,
        amount: Decimal,
        currency: str,
        reason: str,
        period_start: datetime,
        period_end: datetime,
    ) -> None:
        """Reward this partner for a clean record over a period that has ended."""
        money = Money.of(amount, currency)
        start = utc_moment(period_start, "period_start")
        end = utc_moment(period_end, "period_end")
        require(
            start < end,
            "period.order",
            "period_end must be after period_start",
            field="period_end",
        )
        require(
            end <= ctx.occurred_at,
            "period.not_ended",
            "a bonus rewards a period that has ended; period_end is after the decision",
            field="period_end",
        )
        self._require_partner("awarded a bonus")
        self.trigger_event(
            self.BonusAwarded,
            bonus_id=bonus_id,
            amount=money.amount,
            currency=money.currency,
            reason=required_text(reason, "reason"),
            period_start=start,
            period_end=end,
            **ctx.event_fields(),
        )

    # --- helpers -----------------------------------------------------------------------

    @property
    def is_customer(self) -> bool:
        return self.kind is RelationshipKind.CUSTOMER

    def _require_partner(self, action: str) -> None:
        refuse_unless(
            self.kind is RelationshipKind.PARTNER,
            "rewards.only_partners",
            f"only a partner is {action}; this is a {self.kind}",
        )

    def _require_customer(self, action: str) -> None:
        refuse_unless(
            self.is_customer,
            "lifecycle.only_customers",
            f"only a customer's lifecycle changes; cannot {action} a {self.kind}",
        )

    def _contact(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise UnknownMember("contact.unknown", f"no contact with id {contact_id!r}")
        return contact


def _purpose(purpose: ConsentPurpose | str) -> ConsentPurpose:
    try:
        return ConsentPurpose(purpose)
    except ValueError:
        known = ", ".join(p.value for p in ConsentPurpose)
        raise InvalidValue(
            "consent.purpose", f"purpose must be one of {known}", field="purpose"
        ) from None


def _consent_how(channel: ConsentChannel | str, evidence_ref: str | None) -> dict[str, Any]:
    try:
        how = ConsentChannel(channel)
    except ValueError:
        known = ", ".join(c.value for c in ConsentChannel)
        raise InvalidValue(
            "consent.channel", f"channel must be one of {known}", field="channel"
        ) from None
    return {
        "channel": how.value,
        "evidence_ref": optional_text(evidence_ref, "evidence_ref", max_length=200),
    }


@dataclass(frozen=True)
class LastInteraction:
    happened_at: datetime
    channel: Channel
