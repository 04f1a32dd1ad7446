"""Customer self-service (自我服务): what a customer user does for its own customer, and
what a prospect asks through the public quote form — one method per command.

A customer user (``domain.staff``, the customer role) acts for one customer relationship:
every record a command of theirs names must be that customer's, or it is answered exactly
as one that does not exist (``NotFound``, or the ``*.unknown`` invalid value of a record
named in the body). Each command is recorded with the customer user as its actor.

A quote request opens an opportunity in the generation stage with the relationship, for
its account team to work: the value the requester indicates is its expected value, at
``QUOTE_PROBABILITY``. A prospect's request through the public form is matched to a
customer, prospect or target of the same company name, compared normalised
(``company_key``: case folded, letters and digits only); failing that, a new prospect of
the branch the form names is registered with the requester as its contact, together with
the opportunity, in one append. The new prospect's id follows from the normalised name,
so two requests of one new company racing each other register it once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from application.cases import CaseService
from application.commands import AlreadyExists, CommandPath, CommandResult, NotFound
from application.sales import SalesService
from domain.base import CommandContext, InvalidValue, require
from domain.opportunity import Opportunity
from domain.relationship import Relationship, RelationshipKind
from domain.service_case import CaseKind, Priority
from domain.shipment import Shipment

#: The probability an opportunity opened by a quote request starts at.
QUOTE_PROBABILITY = Decimal("0.2")
#: The actor of the public form's commands: no account stands behind them.
PUBLIC_FORM_ACTOR = "public:quote-form"
#: The kinds a quote request may be matched to: those we sell to.
MATCHED_KINDS = (RelationshipKind.CUSTOMER, RelationshipKind.PROSPECT, RelationshipKind.TARGET)

#: The contact id of the requester, on a prospect the form registers.
QUOTE_FORM_CONTACT = "quote-form"

_PROSPECT_NAMESPACE = UUID("2b7f0f3e-8d64-4c1a-9b3e-5a1c7e2d9f60")


def company_key(name: str) -> str:
    """A company name as the public form compares it: case folded, letters and digits
    only (``Acme Trading, Ltd.`` and ``ACME TRADING LTD`` are one company; a name with
    and without ``有限公司`` are two)."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def prospect_id_for(key: str) -> UUID:
    """The id the public form registers the prospect of a normalised name under."""
    return uuid5(_PROSPECT_NAMESPACE, key)


def quote_title(subject: str) -> str:
    return f"Quote request: {subject.strip()}"


class SelfService:
    """Commands of customer users and of the public quote form."""

    def __init__(self, commands: CommandPath, sales: SalesService, cases: CaseService) -> None:
        self.commands = commands
        self.sales = sales
        self.cases = cases

    # --- a customer user's own shipments ----------------------------------------------------

    def shipment_of(self, customer_id: UUID, sid: UUID) -> Shipment:
        """The customer's shipment; ``NotFound`` if it is another's, as if there were none."""
        shipment = self.commands.load(Shipment, sid, fresh=False)
        if shipment.customer_id != customer_id:
            raise NotFound("shipment", sid)
        return shipment

    def rate_shipment(
        self,
        ctx: CommandContext,
        customer_id: UUID,
        sid: UUID,
        *,
        rating: int,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The customer rates its delivered shipment, once (409 before delivery, or when it
        has rated it already)."""

        def rate(shipment: Shipment) -> None:
            if shipment.customer_id != customer_id:
                raise NotFound("shipment", sid)
            shipment.rate_by_customer(ctx, rating=rating, comment=comment)

        return self.commands.execute(ctx, Shipment, sid, rate, expected_version)

    # --- service cases and complaints -------------------------------------------------------

    def open_case(
        self,
        ctx: CommandContext,
        customer_id: UUID,
        *,
        kind: CaseKind,
        subject: str,
        description: str,
        shipment_id: UUID | None = None,
        incident_id: UUID | None = None,
        case_id: UUID | None = None,
    ) -> CommandResult:
        """A service case or complaint of the customer, at normal priority (the office
        raises it if need be); a shipment it concerns must be the customer's, answered as
        one that does not exist otherwise."""
        if shipment_id is not None:
            try:
                self.shipment_of(customer_id, shipment_id)
            except NotFound:
                raise InvalidValue(
                    "shipment_id.unknown",
                    f"shipment_id {shipment_id} refers to nothing",
                    field="shipment_id",
                ) from None
        return self.cases.open_case(
            ctx,
            relationship_id=customer_id,
            kind=kind,
            priority=Priority.NORMAL,
            subject=subject,
            description=description,
            shipment_id=shipment_id,
            incident_id=incident_id,
            case_id=case_id,
        )

    # --- quote requests ---------------------------------------------------------------------

    def request_quote(
        self,
        ctx: CommandContext,
        customer_id: UUID,
        *,
        offering_id: UUID,
        subject: str,
        indicative_value: Decimal,
        currency: str,
        opportunity_id: UUID | None = None,
    ) -> CommandResult:
        """An opportunity with the customer, in the generation stage, for its account team."""
        return self.sales.identify_opportunity(
            ctx,
            relationship_id=customer_id,
            title=quote_title(subject),
            offering_id=offering_id,
            expected_value=indicative_value,
            currency=currency,
            probability=QUOTE_PROBABILITY,
            opportunity_id=opportunity_id,
        )

    def matching_relationship(self, conn: Any, company: str) -> UUID | None:
        """The customer, prospect or target whose name is ``company``, compared normalised;
        the earliest registered if several. ``conn``: a connection to the read models."""
        key = company_key(company)
        # Every character of the key, in order: a superset of the names that match.
        pattern = "%" + "%".join(key) + "%"
        rows = conn.execute(
            "SELECT relationship_id, name FROM account_status "
            "WHERE kind = ANY(%s) AND lower(name) LIKE %s ORDER BY registered_position",
            ([k.value for k in MATCHED_KINDS], pattern),
        ).fetchall()
        for row in rows:
            if company_key(str(row["name"])) == key:
                return UUID(str(row["relationship_id"]))
        return None

    def public_quote_request(
        self,
        ctx: CommandContext,
        *,
        matched: UUID | None,
        company: str,
        industry: str,
        region: str,
        branch: str,
        contact_name: str,
        email: str,
        phone: str | None,
        offering_id: UUID,
        subject: str,
        indicative_value: Decimal,
        currency: str,
        opportunity_id: UUID | None = None,
    ) -> tuple[CommandResult, UUID, bool]:
        """The public form's request: an opportunity with ``matched`` (the relationship
        ``matching_relationship`` found), or with a new prospect registered with it.
        Returns the opportunity's result, the relationship and whether it is new."""
        key = company_key(company)
        require(bool(key), "company.required", "a company name", field="company")
        if matched is not None:
            return self._existing(
                ctx, matched, offering_id, subject, indicative_value, currency, opportunity_id
            )
        self.commands.branch(branch)
        prospect = Relationship.register(
            ctx,
            name=company,
            kind=RelationshipKind.PROSPECT,
            industry=industry,
            region=region,
            branch=branch,
            relationship_id=prospect_id_for(key),
        )
        prospect.add_contact(
            ctx, contact_id=QUOTE_FORM_CONTACT, name=contact_name, phone=phone, email=email
        )
        opportunity = Opportunity.identify(
            ctx,
            relationship_id=prospect.id,
            relationship_kind=RelationshipKind.PROSPECT.value,
            title=quote_title(subject),
            offering_id=offering_id,
            offering_active=self.sales._offering_active(offering_id),
            expected_value=indicative_value,
            currency=currency,
            probability=QUOTE_PROBABILITY,
            opportunity_id=opportunity_id,
        )
        try:
            both = self.commands.create(ctx, "relationship", prospect, along=[opportunity])
        except AlreadyExists:  # registered a moment ago by a request of the same company
            return self._existing(
                ctx, prospect.id, offering_id, subject, indicative_value, currency, opportunity_id
            )
        result = CommandResult(opportunity.id, opportunity.version, both.position)
        return result, prospect.id, True

    def _existing(
        self,
        ctx: CommandContext,
        rid: UUID,
        offering_id: UUID,
        subject: str,
        indicative_value: Decimal,
        currency: str,
        opportunity_id: UUID | None,
    ) -> tuple[CommandResult, UUID, bool]:
        result = self.sales.identify_opportunity(
            ctx,
            relationship_id=rid,
            title=quote_title(subject),
            offering_id=offering_id,
            expected_value=indicative_value,
            currency=currency,
            probability=QUOTE_PROBABILITY,
            opportunity_id=opportunity_id,
        )
        return result, rid, False
