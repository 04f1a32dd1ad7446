"""Where a read model restates a rule of the domain — in SQL, for speed, or in a reducer
over events — the two say the same on the same data.

* SLA breaches: the service cases' SQL (``projections.service_cases.queries``), as the
  case list, a case and the managers' service levels use it, against
  ``ServiceCase.first_response_breached`` and ``resolution_breached``, at several moments.
* Our record against a competitor: the opportunities' SQL (``win_loss_counts``), as a
  competitor's profile and the managers' competitor view use it, against
  ``domain.competitor.win_loss_against``.
* Account status: its reducer over a relationship's events (kind, lifecycle, key account,
  branch, team, contacts, last interaction, care), against the ``Relationship`` after each
  command. No database.
* Customer value: its reducer over a shipment's events (delivery, cancellation, the
  standing quote, the invoices), against the ``Shipment`` after each command. No database.

Histories are written through the domain aggregates and the event store, and projected by
the projections' own workers. Business times are fixed; the moments asked about come after
every event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.base import CommandContext
from domain.competitor import win_loss_against
from domain.liability import TransportMode
from domain.opportunity import LossReason, Opportunity, Stage
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    Relationship,
    RelationshipKind,
)
from domain.service_case import CaseKind, CaseStatus, Priority, ServiceCase
from domain.shipment import (
    Cargo,
    Condition,
    LinkFunction,
    LinkPlan,
    Party,
    Shipment,
    ShipmentStatus,
)
from interface.runtime import Services
from projections.account_status.writer import apply_event as account_row
from projections.customer_value.writer import apply_event as value_row
from projections.decisions.sales import competitor_records
from projections.decisions.scope import Scope
from projections.decisions.service_levels import service_levels
from projections.engine import ProjectedEvent
from projections.opportunities.queries import win_loss_record
from projections.service_cases.queries import CaseFilter, get_case, list_cases

#: Business times count from here.
START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def at(hours: float, actor: str = "care.sun") -> CommandContext:
    moment = START + timedelta(hours=hours)
    return CommandContext.issue(actor=actor, now=moment, occurred_at=moment)


def catch_up(services: Services) -> None:
    for projection in services.projections:
        services.worker(projection, batch_size=50).catch_up()


def register(services: Services, name: str, kind: RelationshipKind, branch: str) -> UUID:
    relationship = Relationship.register(
        at(-24 * 30, "li.wei"),
        name=name,
        kind=kind,
        industry="electronics",
        region="East China",
        branch=branch,
    )
    services.app.save(relationship)
    return relationship.id


# --- SLA breaches ----------------------------------------------------------------------------


def open_case(customer: UUID, hours: float, priority: Priority = Priority.NORMAL) -> ServiceCase:
    """A case with the default SLA (normal: answered within 8 hours, resolved within 72)."""
    return ServiceCase.open(
        at(hours),
        relationship_id=customer,
        relationship_kind=RelationshipKind.CUSTOMER,
        kind=CaseKind.COMPLAINT,
        priority=priority,
        subject="Cartons arrived wet",
        description="Two cartons arrived wet at the consignee",
    )


def cases_of_every_clock(customer: UUID) -> list[ServiceCase]:
    """Cases whose clocks run, were met, were missed, were tightened by an escalation,
    restarted by a reopening; the last event of any is at hour 99."""
    waiting = open_case(customer, 0)
    answered_in_time = open_case(customer, 0)
    answered_in_time.respond(at(2), summary="on it")
    answered_late = open_case(customer, 0)
    answered_late.respond(at(10), summary="sorry for the wait")
    resolved_at_once = open_case(customer, 0)  # the resolution answers too
    resolved_at_once.resolve(at(5), resolution="explained the customs hold")
    resolved_late = open_case(customer, 0)
    resolved_late.respond(at(1), summary="on it")
    resolved_late.resolve(at(80), resolution="replaced")
    resolved_late.close(at(81))
    escalated = open_case(customer, 0)  # urgent from hour 1: answer by 2, resolve by 9
    escalated.escalate(at(1), reason="line stopped", to_priority=Priority.URGENT)
    escalated.respond(at(3), summary="truck on its way")
    escalated.resolve(at(10), resolution="delivered")
    escalated.reopen(at(11), reason="wrong pallet")
    escalated.resolve(at(12), resolution="right pallet delivered")  # the late one stays late
    reopened = open_case(customer, 0)
    reopened.respond(at(1), summary="on it")
    reopened.resolve(at(20), resolution="rebooked")
    reopened.reopen(at(30), reason="rebooked on the wrong flight")  # resolve by hour 102
    quick = open_case(customer, 95, Priority.HIGH)
    quick.respond(at(96), summary="on it")
    fresh = open_case(customer, 99)  # answer by 107, resolve by 171
    return [
        waiting,
        answered_in_time,
        answered_late,
        resolved_at_once,
        resolved_late,
        escalated,
        reopened,
        quick,
        fresh,
    ]


@pytest.mark.parametrize("hours", [100, 104, 110, 200, 1000])
def test_the_sla_breaches_of_the_read_model_are_the_domains(services: Services, hours: int) -> None:
    customer = register(services, "苏州华芯电子有限公司", RelationshipKind.CUSTOMER, "Suzhou")
    cases = cases_of_every_clock(customer)
    for case in cases:
        services.app.save(case)
    catch_up(services)
    now = START + timedelta(hours=hours)

    def domain(case: ServiceCase) -> tuple[bool, bool]:
        return case.first_response_breached(now), case.resolution_breached(now)

    with services.reads.connection() as conn:
        for case in cases:
            row = get_case(conn, case.id, now=now)
            assert row is not None
            assert (row["first_response_breached"], row["resolution_breached"]) == domain(case)
        listed = {
            breached: {
                row["case_id"]
                for row in list_cases(
                    conn, CaseFilter(breached=breached), now=now, limit=100, cursor=None
                )[0]
            }
            for breached in (True, False)
        }
        [levels] = service_levels(conn, Scope(), now=now, since=START - timedelta(days=1))
    assert listed[True] == {c.id for c in cases if any(domain(c))}
    assert listed[False] == {c.id for c in cases if not any(domain(c))}
    open_ = [c for c in cases if c.status is CaseStatus.OPEN]
    assert (
        levels["cases"],
        levels["open_cases"],
        levels["first_response_met"],
        levels["first_response_breached"],
        levels["resolution_met"],
        levels["resolution_breached"],
        levels["breached_cases"],
    ) == (
        len(cases),
        len(open_),
        sum(c.first_responded_at is not None and not domain(c)[0] for c in cases),
        sum(domain(c)[0] for c in cases),
        sum(c.status is not CaseStatus.OPEN and not domain(c)[1] for c in cases),
        sum(domain(c)[1] for c in cases),
        sum(any(domain(c)) for c in cases),
    )
    # The set holds both answers at every moment asked about.
    assert any(any(domain(c)) for c in cases)
    assert any(not any(domain(c)) for c in cases)


# --- our record against a competitor ---------------------------------------------------------


def identify(customer: UUID, competitors: Sequence[UUID], kinds: dict[UUID, str]) -> Opportunity:
    return Opportunity.identify(
        at(0, "sales.zhou"),
        relationship_id=customer,
        relationship_kind=kinds[customer],
        title="Monthly exports to Chicago",
        offering_id=uuid4(),
        offering_active=True,
        expected_value=Decimal("10000"),
        currency="USD",
        probability=Decimal("0.5"),
        competitor_ids=competitors,
        competitor_kinds=kinds,
    )


def win(opportunity: Opportunity) -> Opportunity:
    for hours, stage in ((1, Stage.TRACKING), (2, Stage.CONTROL), (3, Stage.IMPLEMENTATION)):
        opportunity.advance(at(hours, "sales.zhou"), to_stage=stage)
    opportunity.mark_won(at(4, "sales.zhou"), offering_active=True)
    return opportunity


def lose(opportunity: Opportunity, to: UUID | None, kinds: dict[UUID, str]) -> Opportunity:
    opportunity.mark_lost(
        at(4, "sales.zhou"),
        reason=LossReason.PRICE,
        explanation="cheaper elsewhere",
        competitor_id=to,
        competitor_kinds=kinds,
    )
    return opportunity


def test_our_record_against_each_competitor_is_the_domains(services: Services) -> None:
    kinds: dict[UUID, str] = {}

    def relationship(name: str, kind: RelationshipKind, branch: str = "Suzhou") -> UUID:
        rid = register(services, name, kind, branch)
        kinds[rid] = kind.value
        return rid

    suzhou = relationship("苏州华芯电子有限公司", RelationshipKind.TARGET)
    shanghai = relationship("上海精密仪器", RelationshipKind.TARGET, "Shanghai")
    rival = relationship("Rival Forwarding", RelationshipKind.COMPETITOR)
    newcomer = relationship("Newcomer Digital", RelationshipKind.COMPETITOR)
    bystander = relationship("Bystander Logistics", RelationshipKind.COMPETITOR)
    opportunities = {
        suzhou: [
            identify(suzhou, [rival], kinds),  # open
            win(identify(suzhou, [rival], kinds)),
            lose(identify(suzhou, [rival], kinds), rival, kinds),  # lost to it
            lose(identify(suzhou, [rival, newcomer], kinds), newcomer, kinds),  # to another
            lose(identify(suzhou, [rival], kinds), None, kinds),  # to nobody
            lose(identify(suzhou, [], kinds), newcomer, kinds),  # it joined as it won
        ],
        shanghai: [
            win(identify(shanghai, [rival, newcomer], kinds)),
            identify(shanghai, [newcomer], kinds),
            identify(shanghai, [], kinds),  # nobody competes
            lose(identify(shanghai, [rival, newcomer], kinds), rival, kinds),
        ],
    }
    everywhere = [o for listed in opportunities.values() for o in listed]
    for opportunity in everywhere:
        services.app.save(opportunity)
    catch_up(services)

    def sql(scope: Scope) -> dict[UUID, tuple[object, ...]]:
        with services.reads.connection() as conn:
            return {
                r["competitor_id"]: (
                    r["competing"],
                    r["won_against"],
                    r["lost_to"],
                    r["lost_to_others"],
                    r["head_to_head_win_rate"],
                )
                for r in competitor_records(conn, scope)
            }

    def domain(competitor: UUID, among: list[Opportunity]) -> tuple[object, ...]:
        r = win_loss_against(competitor, among)
        return (r.competing, r.won_against, r.lost_to, r.lost_to_others, r.head_to_head_win_rate)

    nothing = (0, 0, 0, 0, None)
    for scope, among in (
        (Scope(), everywhere),
        (Scope(branch="Suzhou"), opportunities[suzhou]),
        (Scope(branch="Shanghai"), opportunities[shanghai]),
    ):
        records = sql(scope)
        for competitor in (rival, newcomer, bystander):
            assert records.get(competitor, nothing) == domain(competitor, among)
    with services.reads.connection() as conn:
        for competitor in (rival, newcomer, bystander):
            assert win_loss_record(conn, competitor) == win_loss_against(competitor, everywhere)
    # Every kind of outcome is there: open, won, lost to it, to another, to nobody.
    assert domain(rival, everywhere) == (1, 2, 2, 2, Decimal("0.50"))


# --- the reducers of account status and customer value ---------------------------------------

Row = dict[str, Any] | None
Reducer = Callable[[Row, ProjectedEvent], Row]


class Folded:
    """An aggregate's events so far, folded by a read model's reducer as its worker would."""

    def __init__(self, reducer: Reducer) -> None:
        self.reducer = reducer
        self.row: Row = None
        self.position = 0

    def take(self, aggregate: Aggregate) -> dict[str, Any]:
        for event in aggregate.collect_events():
            self.position += 1
            self.row = self.reducer(self.row, ProjectedEvent(self.position, START, event))
        assert self.row is not None
        return self.row


def account_as_the_domain_says(r: Relationship) -> dict[str, Any]:
    last = r.last_interaction
    return {
        "name": r.name,
        "kind": r.kind,
        "lifecycle": r.lifecycle,
        "industry": r.industry,
        "key_account": r.key_account,
        "region": r.region,
        "branch": r.branch,
        "field_rep": r.field_rep,
        "office_rep": r.office_rep,
        "contact_count": len(r.contacts),
        "last_interaction_at": last.happened_at if last else None,
        "last_interaction_channel": last.channel if last else None,
        "care_action_count": r.care_action_count,
        "version": r.version,
    }


def test_account_status_folds_a_relationship_as_the_domain_does() -> None:
    r = Relationship.register(
        at(0, "li.wei"),
        name="苏州华芯电子",
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )
    commands: list[Callable[[], None]] = [
        lambda: r.rename(at(1), name="苏州华芯电子有限公司"),
        lambda: r.qualify_as_target(at(2), reason="monthly air volume 20 t to the US"),
        lambda: r.return_to_prospect(at(3), reason="budget frozen"),
        lambda: r.qualify_as_target(at(4), reason="budget back"),
        lambda: r.record_first_business(at(5), reference="SZX-ORD-0001"),
        lambda: r.mark_dormant(at(6), reason="no orders for a quarter"),
        lambda: r.reactivate(at(7), reason="new lane"),
        lambda: r.mark_lost(at(8), reason="moved to a rival"),
        lambda: r.win_back(at(9), reason="better transit times"),
        lambda: r.mark_dormant(at(10), reason="quiet again"),
        lambda: r.reactivate(at(11), reason="peak season"),
        lambda: r.change_industry(at(12), industry="semiconductors"),
        lambda: r.designate_key_account(at(13), reason="top ten by revenue"),
        lambda: r.withdraw_key_account(at(14), reason="volume fell"),
        lambda: r.move_to_branch(at(15), region="North America", branch="Chicago"),
        lambda: r.assign_account_team(at(16), field_rep="wang.fang", office_rep=None),
        lambda: r.assign_account_team(at(17), field_rep="wang.fang", office_rep="li.na"),
        lambda: r.add_contact(at(18), contact_id="c1", name="Zhang Wei"),
        lambda: r.add_contact(at(19), contact_id="c2", name="Liu Yang"),
        lambda: r.change_contact(at(20), contact_id="c1", title="Logistics manager"),
        lambda: r.remove_contact(at(21), contact_id="c2"),
        lambda: interaction(r, 30, Channel.CALL),
        lambda: interaction(r, 25, Channel.VISIT),  # logged late: not the last one
        lambda: interaction(r, 30, Channel.EMAIL),  # as late as the last: the last now
        lambda: r.record_customer_care(
            at(31), care_id=uuid4(), care_kind=CareActionKind.GREETING, note="Spring Festival"
        ),
    ]
    folded = Folded(account_row)
    for command in [lambda: None, *commands]:
        command()
        row = folded.take(r)
        assert {k: row[k] for k in account_as_the_domain_says(r)} == account_as_the_domain_says(r)
    assert (row["kind"], row["lifecycle"], row["last_interaction_channel"]) == (
        "customer",
        "active",
        "email",
    )


def interaction(r: Relationship, hours: float, channel: Channel) -> None:
    moment = START + timedelta(hours=hours)
    r.log_interaction(
        CommandContext.issue(
            actor="wang.fang", now=START + timedelta(hours=40), occurred_at=moment
        ),
        interaction_id=uuid4(),
        channel=channel,
        direction=Direction.OUTBOUND,
        summary="rates for Q3",
    )


def value_as_the_domain_says(s: Shipment) -> dict[str, Any]:
    invoiced: dict[str, Decimal] = {}
    for invoice in s.invoices:
        invoiced[invoice.currency] = invoiced.get(invoice.currency, Decimal(0)) + invoice.amount
    released = s.links[-1].released
    quote = s.quoted_charges
    return {
        "customer_id": s.customer_id,
        "delivered_at": released.at if released else None,
        "cancelled": s.status is ShipmentStatus.CANCELLED,
        "quoted": {quote.currency: quote.amount} if quote else {},
        "invoiced": invoiced,
        "invoices": len(s.invoices),
    }


def value_as_the_row_says(row: dict[str, Any]) -> dict[str, Any]:
    decimals = {k: {c: Decimal(a) for c, a in row[k].items()} for k in ("quoted", "invoiced")}
    return {k: row[k] for k in ("customer_id", "delivered_at", "cancelled", "invoices")} | decimals


def book(customer: UUID) -> Shipment:
    return Shipment.book(
        at(0, "ops.wang"),
        customer_id=customer,
        reference="ORD-0001",
        origin="Suzhou, CN",
        destination="Chicago, US",
        cargo=Cargo("electronics, 10 cartons", 10, Decimal("150"), Decimal("20000"), "USD"),
        links=[
            LinkPlan(
                LinkFunction.DELIVERY,
                Party.our_branch("Suzhou"),
                START,
                START + timedelta(days=3),
                TransportMode.ROAD,
            )
        ],
        partner_kinds={},
    )


def test_customer_value_folds_a_shipment_as_the_domain_does() -> None:
    delivered, cancelled = book(uuid4()), book(uuid4())
    stories: list[tuple[Shipment, list[Callable[[], None]]]] = [
        (
            delivered,
            [
                lambda: delivered.quote_charges(at(1), amount=Decimal("1000"), currency="USD"),
                lambda: delivered.start_link(at(2), sequence=1),
                lambda: delivered.hand_over(
                    at(2), to_sequence=1, condition=Condition.GOOD, signed_by="shipper"
                ),
                lambda: delivered.quote_charges(at(3), amount=Decimal("3600"), currency="CNY"),
                lambda: delivered.deliver(
                    at(48), condition=Condition.GOOD, signed_by="consignee", proof_of_delivery="P"
                ),
                lambda: delivered.invoice(
                    at(50), invoice_number="INV-1", amount=Decimal("600"), currency="USD"
                ),
                lambda: delivered.invoice(
                    at(51), invoice_number="INV-2", amount=Decimal("550"), currency="USD"
                ),
                lambda: delivered.invoice(
                    at(52), invoice_number="INV-3", amount=Decimal("900"), currency="CNY"
                ),
            ],
        ),
        (
            cancelled,
            [
                lambda: cancelled.quote_charges(at(1), amount=Decimal("700"), currency="USD"),
                lambda: cancelled.cancel(at(2), reason="order withdrawn"),
            ],
        ),
    ]
    for shipment, commands in stories:
        folded = Folded(value_row)
        for command in [lambda: None, *commands]:
            command()
            row = folded.take(shipment)
            assert value_as_the_row_says(row) == value_as_the_domain_says(shipment)
    assert value_as_the_domain_says(delivered)["invoiced"] == {
        "USD": Decimal("1150"),
        "CNY": Decimal("900"),
    }
    assert value_as_the_domain_says(cancelled)["cancelled"]
