"""Customer value and the managers' decision views on real PostgreSQL, with figures worked
out by hand: realised value from invoices or else quotes, potential value from the
weighted pipeline, an RFM segment, retention across months, dormancy thresholds, SLA
compliance per branch, win rate against a competitor, customers at risk and why, partners
ranked.

Histories are written through the domain aggregates and the event store; the projections
are caught up by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from domain.base import CommandContext
from domain.competitor import win_loss_against
from domain.liability import TransportMode
from domain.opportunity import LossReason, Opportunity, Stage
from domain.relationship import Relationship, RelationshipKind
from domain.service_case import CaseKind, Priority, ServiceCase
from domain.shipment import (
    Cargo,
    Condition,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    Party,
    ResponsibilityBasis,
    Shipment,
)
from domain.staff import Role
from domain.value import DormancyPolicy, RfmSegment
from interface.http.app import create_app
from interface.runtime import Services
from projections.account_status.queries import get_account
from projections.customer_value import queries
from projections.customer_value.queries import ValueModelCache, ValueModels, inputs_position
from projections.customer_value.writer import CustomerValueProjection
from projections.decisions.partners import partner_ranking
from projections.decisions.periods import PeriodKind, value_by_period
from projections.decisions.risk import RiskPolicy, customers_at_risk
from projections.decisions.sales import competitor_records
from projections.decisions.scope import Scope
from projections.decisions.service_levels import service_levels
from projections.engine import rebuild
from projections.responsibility_audit.queries import scorecard
from tests.clock import NOW
from tests.staffing import enroll
from tests.waiting import wait_until

TODAY = NOW.date()
OFFERING = UUID("00000000-0000-4000-8000-0000000f0001")
CARGO = Cargo("electronics, 10 cartons", 10, Decimal("150"), Decimal("20000"), "USD")


def noon(days_ago: int) -> datetime:
    """Noon (UTC) ``days_ago`` days before today; from yesterday back, always past."""
    assert days_ago >= 1
    return datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=UTC)


def ctx(when: datetime, actor: str = "ops.wang") -> CommandContext:
    return CommandContext.issue(actor=actor, now=when, occurred_at=when)


@dataclass
class World:
    services: Services
    kinds: dict[UUID, str] = field(default_factory=dict)

    def relationship(
        self,
        name: str,
        kind: RelationshipKind = RelationshipKind.CUSTOMER,
        branch: str = "Suzhou",
        industry: str = "electronics",
    ) -> UUID:
        region = {"Suzhou": "East China", "Shanghai": "East China", "Chicago": "North America"}
        registered = Relationship.register(
            self.services.app.context("li.wei"),
            name=name,
            kind=kind,
            industry=industry,
            region=region[branch],
            branch=branch,
        )
        self.services.app.save(registered)
        self.kinds[registered.id] = kind.value
        return registered.id

    def shipment(
        self,
        customer: UUID,
        delivered_days_ago: int | None,
        *,
        quote: tuple[str, str] | None = None,
        requote: tuple[str, str] | None = None,
        invoices: Sequence[tuple[str, str]] = (),
        party: Party | None = None,
        on_time: bool = True,
        at: datetime | None = None,
    ) -> Shipment:
        """A one-link delivery shipment, delivered at noon ``delivered_days_ago`` days ago
        (None: still on its way) or ``at``, with its quote and invoices (amount, currency)."""
        delivered = at or noon(delivered_days_ago or 1)
        booked = delivered - timedelta(days=2)
        shipment = Shipment.book(
            ctx(booked),
            customer_id=customer,
            reference=f"ORD-{uuid4().hex[:8]}",
            origin="Suzhou, CN",
            destination="Chicago, US",
            cargo=CARGO,
            links=[
                LinkPlan(
                    LinkFunction.DELIVERY,
                    party or Party.our_branch("Suzhou"),
                    booked,
                    delivered + (timedelta(hours=1) if on_time else -timedelta(hours=1)),
                    TransportMode.ROAD,
                )
            ],
            partner_kinds=self.kinds,
        )
        if quote:
            shipment.quote_charges(ctx(booked), amount=Decimal(quote[0]), currency=quote[1])
        if requote:
            shipment.quote_charges(ctx(booked), amount=Decimal(requote[0]), currency=requote[1])
        shipment.start_link(ctx(booked + timedelta(hours=1)), sequence=1)
        shipment.hand_over(
            ctx(booked + timedelta(hours=1)),
            to_sequence=1,
            condition=Condition.GOOD,
            signed_by="shipper",
        )
        if delivered_days_ago is not None or at is not None:
            shipment.deliver(
                ctx(delivered),
                condition=Condition.GOOD,
                signed_by="consignee",
                proof_of_delivery="P",
            )
        for number, (amount, currency) in enumerate(invoices, 1):
            shipment.invoice(
                ctx(delivered),
                invoice_number=f"INV-{number}",
                amount=Decimal(amount),
                currency=currency,
            )
        self.services.app.save(shipment)
        return shipment

    def opportunity(
        self,
        relationship: UUID,
        expected: str,
        probability: str,
        *,
        currency: str = "USD",
        competitors: Sequence[UUID] = (),
    ) -> Opportunity:
        opportunity = Opportunity.identify(
            ctx(noon(30), "sales.zhou"),
            relationship_id=relationship,
            relationship_kind=self.kinds[relationship],
            title="Monthly exports to Chicago",
            offering_id=OFFERING,
            offering_active=True,
            expected_value=Decimal(expected),
            currency=currency,
            probability=Decimal(probability),
            competitor_ids=competitors,
            competitor_kinds=self.kinds,
        )
        self.services.app.save(opportunity)
        return opportunity

    def win(self, opportunity: Opportunity) -> None:
        for days_ago, stage in (
            (29, Stage.TRACKING),
            (28, Stage.CONTROL),
            (27, Stage.IMPLEMENTATION),
        ):
            opportunity.advance(ctx(noon(days_ago), "sales.zhou"), to_stage=stage)
        opportunity.mark_won(ctx(noon(26), "sales.zhou"), offering_active=True)
        self.services.app.save(opportunity)

    def lose(self, opportunity: Opportunity, to: UUID | None) -> None:
        opportunity.mark_lost(
            ctx(noon(26), "sales.zhou"),
            reason=LossReason.PRICE,
            explanation="cheaper elsewhere",
            competitor_id=to,
            competitor_kinds=self.kinds,
        )
        self.services.app.save(opportunity)

    def case(
        self, relationship: UUID, opened: datetime, priority: Priority = Priority.NORMAL
    ) -> ServiceCase:
        """A case with the default SLA: normal priority answered within 8 hours, resolved
        within 72."""
        return ServiceCase.open(
            ctx(opened, "care.sun"),
            relationship_id=relationship,
            relationship_kind=self.kinds[relationship],
            kind=CaseKind.COMPLAINT,
            priority=priority,
            subject="Cartons arrived wet",
            description="Two cartons arrived wet at the consignee",
        )

    def catch_up(self) -> None:
        for projection in self.services.projections:
            self.services.worker(projection, batch_size=50).catch_up()

    def models(self) -> ValueModelCache:
        cache = self.services.value_models()
        cache.max_stale_seconds = 0  # every read sees the histories as they are
        return cache


@pytest.fixture
def world(services: Services) -> World:
    return World(services)


def account(world: World, relationship: UUID) -> dict[str, Any]:
    with world.services.reads.connection() as conn:
        row = get_account(conn, relationship, now=NOW)
    assert row is not None
    return dict(row)


# --- realised and potential value -----------------------------------------------------------


def test_realised_value_counts_invoices_else_the_standing_quote_of_delivered_shipments(
    world: World,
) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    # Quoted 1,000 USD and invoiced in two parts, 600 + 550: the invoices count, 1,150 USD.
    world.shipment(huaxin, 20, quote=("1000", "USD"), invoices=[("600", "USD"), ("550", "USD")])
    # Quoted 500 USD, then requoted at 3,600 CNY, never invoiced: the standing quote counts.
    world.shipment(huaxin, 10, quote=("500", "USD"), requote=("3600", "CNY"))
    # Invoiced in two currencies: each counts in its own.
    world.shipment(huaxin, 5, invoices=[("200", "USD"), ("900", "CNY")])
    # Quoted but still on its way: nothing realised yet.
    world.shipment(huaxin, None, quote=("700", "USD"))
    # Delivered without any charge known: business, but no revenue.
    world.shipment(huaxin, 3)
    world.catch_up()

    status = account(world, huaxin)
    assert status["realised_value"] == {"USD": "1350", "CNY": "4500"}  # decimals, as text
    with world.services.reads.connection() as conn:
        models = world.models().current(conn)
    usd = models.customers[(huaxin, "USD")]
    assert (usd.realised, usd.purchases) == (Decimal("1350"), 2)
    assert usd.last_purchase == TODAY - timedelta(days=5)


def test_potential_value_is_the_weighted_open_pipeline(world: World) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司", kind=RelationshipKind.TARGET)
    rival = world.relationship("Rival Forwarding", kind=RelationshipKind.COMPETITOR)
    # 10,000 USD at 30 %, revised to 12,000 USD: 3,600 USD weighted.
    revised = world.opportunity(huaxin, "10000", "0.3")
    revised.revise_expected_value(
        ctx(noon(29), "sales.zhou"), amount=Decimal("12000"), currency="USD", reason="two lanes"
    )
    world.services.app.save(revised)
    # 2,000 CNY at 25 %: 500 CNY weighted.
    world.opportunity(huaxin, "2000", "0.25", currency="CNY")
    # 5,000 USD at 50 %, then at 20 %, lost: nothing.
    lost = world.opportunity(huaxin, "5000", "0.5", competitors=[rival])
    lost.revise_probability(ctx(noon(29), "sales.zhou"), probability=Decimal("0.2"), reason="?")
    world.services.app.save(lost)
    world.lose(lost, rival)
    # 8,000 USD won: realised once shipped, no longer potential.
    world.win(world.opportunity(huaxin, "8000", "0.6"))
    world.catch_up()

    status = account(world, huaxin)
    assert status["potential_value"] == {"USD": "3600.00", "CNY": "500.00"}
    assert status["open_opportunities"] == 2


# --- RFM, retention, dormancy -------------------------------------------------------------


def test_a_good_customer_gone_quiet_is_in_the_at_risk_rfm_segment(world: World) -> None:
    quiet = world.relationship("Quiet Ltd")
    others = [world.relationship(f"Customer {n}") for n in range(4)]
    # (customer, days since the last purchase, purchases a week apart, amount of each).
    # Five distinct values per measure score their rank among the five, 1 to 5:
    #   recency   Quiet 60 days → 1, C0 50 → 2, C1 40 → 3, C2 30 → 4, C3 20 → 5
    #   frequency C0 1 → 1, C1 2 → 2, C2 3 → 3, Quiet 4 → 4, C3 5 → 5
    #   monetary  C0 300 → 1, C2 330 → 2, C1 400 → 3, Quiet 600 → 4, C3 800 → 5
    # Quiet: R 1, FM = ⌈(4 + 4) / 2⌉ = 4: a good customer slipping away, "at risk".
    # C0 (2,1,1) hibernates, C1 (3,2,3) needs attention, C2 (4,3,2) is a potential
    # loyalist, C3 (5,5,5) a champion.
    plan = [
        (quiet, 60, 4, "150"),
        (others[0], 50, 1, "300"),
        (others[1], 40, 2, "200"),
        (others[2], 30, 3, "110"),
        (others[3], 20, 5, "160"),
    ]
    for customer, last, purchases, amount in plan:
        for k in range(purchases):
            world.shipment(customer, last + 7 * k, quote=(amount, "USD"))
    world.catch_up()
    with world.services.reads.connection() as conn:
        models = world.models().current(conn)
        at_risk = customers_at_risk(conn, Scope(), models, now=NOW, policy=RiskPolicy())
    segments = {c: models.customers[(c, "USD")].rfm for c in [quiet, *others]}
    assert [(r.code, r.segment) for r in segments.values()] == [
        ("144", "at_risk"),
        ("211", "hibernating"),
        ("323", "need_attention"),
        ("432", "potential_loyalist"),
        ("555", "champions"),
    ]
    assert [r["customer_id"] for r in at_risk] == [quiet]
    [reason] = at_risk[0]["reasons"]
    assert reason["kind"] == "rfm_slipping"
    assert reason["detail"].startswith(
        "RFM segment at_risk in USD (recency 1, frequency 4, monetary 4; last purchase "
    )


def month_day(months_back: int, day: int = 10) -> date:
    month = TODAY.year * 12 + TODAY.month - 1 - months_back
    return date(month // 12, month % 12 + 1, day)


def days_ago(day: date) -> int:
    return (TODAY - day).days


def test_retention_per_month_is_the_share_of_last_months_customers_back_this_month(
    world: World,
) -> None:
    # Months M-4 .. M-1 (M: this month), measured as of the last day of M-1:
    #   A: M-3, M-2, M-1    B: M-3    C: M-2, M-1    D: M-4, M-3
    a, b, c, d = (world.relationship(name) for name in "ABCD")
    for customer, active_in, quote in (
        (a, (3, 2, 1), ("100", "USD")),
        (b, (3,), ("70", "CNY")),
        (c, (2, 1), ("50", "USD")),
        (d, (4, 3), ("10", "USD")),
    ):
        for back in active_in:
            world.shipment(customer, days_ago(month_day(back)), quote=quote)
    world.catch_up()
    as_of = month_day(0, 1) - timedelta(days=1)
    with world.services.reads.connection() as conn:
        months = value_by_period(conn, Scope(), kind=PeriodKind.MONTH, periods=3, as_of=as_of)
    figures = [
        (
            m["active_customers"],
            m["new_customers"],
            m["previously_active"],
            m["retained"],
            m["retention_rate"],
            m["realised_value"],
            m["complete"],
        )
        for m in months
    ]
    assert figures == [
        # M-3: A, B, D active; A and B new; of M-4's D, D came back.
        (3, 2, 1, 1, 1.0, {"CNY": Decimal("70"), "USD": Decimal("110")}, True),
        # M-2: A, C active; C new; of M-3's A, B, D only A came back: 1/3.
        (2, 1, 3, 1, 1 / 3, {"USD": Decimal("150")}, True),
        # M-1: A, C again: both of M-2's customers retained. Still running on as_of.
        (2, 0, 2, 2, 1.0, {"USD": Decimal("150")}, False),
    ]
    assert [m["period"] for m in months] == [
        f"{month_day(n).year}-{month_day(n).month:02d}" for n in (3, 2, 1)
    ]


def test_months_are_the_months_of_the_customers_branch_not_utcs(world: World) -> None:
    # One moment, 02:00 UTC on the first of last month: still the last day of the month
    # before in Chicago (the evening before), already the first in Suzhou (10:00).
    first = month_day(1, 1)
    moment = datetime.combine(first, time(2), tzinfo=UTC)
    chicago = world.relationship("Windy City Imports", branch="Chicago")
    suzhou = world.relationship("苏州华芯电子有限公司", branch="Suzhou")
    world.shipment(chicago, None, quote=("100", "USD"), at=moment)
    world.shipment(suzhou, None, quote=("700", "CNY"), at=moment)
    world.catch_up()
    as_of = month_day(0, 1) - timedelta(days=1)
    with world.services.reads.connection() as conn:
        months = value_by_period(conn, Scope(), kind=PeriodKind.MONTH, periods=2, as_of=as_of)
    assert [(m["period"], m["realised_value"], m["active_customers"]) for m in months] == [
        (f"{month_day(2).year}-{month_day(2).month:02d}", {"USD": Decimal("100")}, 1),
        (f"{first.year}-{first.month:02d}", {"CNY": Decimal("700")}, 1),
    ]


def test_dormant_and_lost_follow_the_days_without_a_delivered_shipment(world: World) -> None:
    idle = {days: world.relationship(f"Idle {days} days") for days in (89, 90, 364, 365)}
    for days, customer in idle.items():
        world.shipment(customer, days)  # business without charges: no RFM to speak of
    world.catch_up()
    with world.services.reads.connection() as conn:
        models = world.models().current(conn)
        default = customers_at_risk(conn, Scope(), models, now=NOW, policy=RiskPolicy())
        tight = customers_at_risk(
            conn, Scope(), models, now=NOW, policy=RiskPolicy(DormancyPolicy(30, 89))
        )

    def reasons(rows: list[dict[str, Any]]) -> dict[UUID, list[str]]:
        return {r["customer_id"]: [x["detail"] for x in r["reasons"]] for r in rows}

    last = {days: TODAY - timedelta(days=days) for days in idle}
    assert reasons(default) == {
        idle[90]: [f"no delivered shipment for 90 days (last on {last[90]}); dormant after 90"],
        idle[364]: [f"no delivered shipment for 364 days (last on {last[364]}); dormant after 90"],
        idle[365]: [f"no delivered shipment for 365 days (last on {last[365]}); lost after 365"],
    }
    assert {r["customer_id"]: r["reasons"][0]["kind"] for r in tight} == dict.fromkeys(
        idle.values(), "lost"
    )


def test_sla_compliance_and_satisfaction_per_branch(world: World) -> None:
    suzhou = world.relationship("苏州华芯电子有限公司")
    shanghai = world.relationship("上海精密仪器", branch="Shanghai")
    opened = noon(10)

    def hours(h: float) -> CommandContext:
        return ctx(opened + timedelta(hours=h), "care.sun")

    # Suzhou. On time all through, rated 5.
    on_time = world.case(suzhou, opened)
    on_time.respond(hours(2), summary="we are on it")
    on_time.resolve(hours(24), resolution="dried and repacked")
    on_time.rate_satisfaction(hours(25), rating=5)
    # Answered after 9 hours (due in 8) and resolved after 80 (due in 72), rated 2.
    late = world.case(suzhou, opened)
    late.respond(hours(9), summary="sorry for the wait")
    late.resolve(hours(80), resolution="compensated")
    late.rate_satisfaction(hours(81), rating=2)
    # Never answered, ten days on: both clocks breached.
    ignored = world.case(suzhou, opened)
    # Opened an hour ago: both clocks still running, counted in neither.
    running = world.case(suzhou, NOW - timedelta(hours=1))
    # Shanghai. Resolved within 4 hours without a separate answer: the resolution answers.
    quick = world.case(shanghai, opened)
    quick.resolve(hours(4), resolution="explained the customs hold")
    # Escalated to urgent after an hour: the answer is due at 2 hours, the resolution at 9;
    # answered at 3 and resolved at 10 (both late), reopened and resolved in time: the late
    # resolution stays a breach.
    escalated = world.case(shanghai, opened)
    escalated.escalate(hours(1), reason="line stopped", to_priority=Priority.URGENT)
    escalated.respond(hours(3), summary="truck on its way")
    escalated.resolve(hours(10), resolution="delivered")
    escalated.reopen(hours(11), reason="wrong pallet")
    escalated.resolve(hours(12), resolution="right pallet delivered")
    cases = [on_time, late, ignored, running, quick, escalated]
    for case in cases:
        world.services.app.save(case)
    world.catch_up()

    with world.services.reads.connection() as conn:
        levels = service_levels(conn, Scope(), now=NOW, since=NOW - timedelta(days=365))
    by_branch = {
        r["branch"]: (
            r["cases"],
            r["open_cases"],
            r["first_response_met"],
            r["first_response_breached"],
            r["first_response_compliance"],
            r["resolution_met"],
            r["resolution_breached"],
            r["resolution_compliance"],
            r["breached_cases"],
            r["rated"],
            r["satisfaction"],
        )
        for r in levels
    }
    assert by_branch == {
        "Shanghai": (2, 0, 1, 1, 0.5, 1, 1, 0.5, 1, 0, None),
        "Suzhou": (4, 2, 1, 2, 1 / 3, 1, 2, 1 / 3, 2, 2, 3.5),
    }
    # The read model breaches exactly the cases the domain says are breached.
    breached = [c for c in cases if c.first_response_breached(NOW) or c.resolution_breached(NOW)]
    assert {c.id for c in breached} == {late.id, ignored.id, escalated.id}
    status = account(world, suzhou)
    assert (status["open_cases"], status["sla_breaches"]) == (2, 2)


def test_win_rate_against_each_competitor(world: World) -> None:
    suzhou = world.relationship("苏州华芯电子有限公司", kind=RelationshipKind.TARGET)
    shanghai = world.relationship("上海精密仪器", kind=RelationshipKind.TARGET, branch="Shanghai")
    rival = world.relationship("Rival Forwarding", kind=RelationshipKind.COMPETITOR)
    newcomer = world.relationship("Newcomer Digital", kind=RelationshipKind.COMPETITOR)
    opportunities = []

    def opportunity(customer: UUID, *competitors: UUID) -> Opportunity:
        o = world.opportunity(customer, "10000", "0.5", competitors=competitors)
        opportunities.append(o)
        return o

    world.win(opportunity(suzhou, rival))
    world.lose(opportunity(suzhou, rival), rival)
    world.lose(opportunity(suzhou, rival), rival)
    world.lose(opportunity(suzhou, rival, newcomer), newcomer)
    opportunity(suzhou, rival)  # still open
    world.lose(opportunity(suzhou), newcomer)  # the newcomer joined as it won
    world.win(opportunity(shanghai, rival))
    world.catch_up()

    def records(scope: Scope) -> dict[UUID, tuple[Any, ...]]:
        with world.services.reads.connection() as conn:
            rows = competitor_records(conn, scope)
        return {
            r["competitor_id"]: (
                r["name"],
                r["competing"],
                r["won_against"],
                r["lost_to"],
                r["lost_to_others"],
                r["head_to_head_win_rate"],
            )
            for r in rows
        }

    # Suzhou: against the rival won 1, lost 2 to it, 1 to the newcomer: 1 / (1 + 2) = 0.33.
    assert records(Scope(branch="Suzhou")) == {
        rival: ("Rival Forwarding", 1, 1, 2, 1, Decimal("0.33")),
        newcomer: ("Newcomer Digital", 0, 0, 2, 0, Decimal("0.00")),
    }
    # Everywhere: Shanghai's win against the rival too, 2 / (2 + 2).
    assert records(Scope())[rival][-1] == Decimal("0.50")
    record = win_loss_against(rival, opportunities)
    assert records(Scope())[rival][1:5] == (
        record.competing,
        record.won_against,
        record.lost_to,
        record.lost_to_others,
    )


def test_a_record_since_a_day_counts_from_that_day_in_utc_whatever_the_sessions_zone(
    world: World,
) -> None:
    # On a server set up on a machine in China, sessions default to Asia/Shanghai.
    customer = world.relationship("苏州华芯电子有限公司", kind=RelationshipKind.TARGET)
    rival = world.relationship("Rival Forwarding", kind=RelationshipKind.COMPETITOR)
    day = TODAY - timedelta(days=10)
    evening_before = datetime.combine(day - timedelta(days=1), time(20), tzinfo=UTC)
    lost = Opportunity.identify(
        ctx(evening_before, "sales.zhou"),  # 04:00 on the day itself in China
        relationship_id=customer,
        relationship_kind=world.kinds[customer],
        title="Monthly exports to Chicago",
        offering_id=OFFERING,
        offering_active=True,
        expected_value=Decimal("10000"),
        currency="USD",
        probability=Decimal("0.5"),
        competitor_ids=[rival],
        competitor_kinds=world.kinds,
    )
    lost.mark_lost(
        ctx(evening_before + timedelta(hours=1), "sales.zhou"),
        reason=LossReason.PRICE,
        explanation="cheaper elsewhere",
        competitor_id=rival,
        competitor_kinds=world.kinds,
    )
    world.services.app.save(lost)
    world.catch_up()

    for zone in ("UTC", "Asia/Shanghai", "America/Chicago"):
        with psycopg.connect(
            world.services.database.conninfo,
            autocommit=True,
            row_factory=dict_row,
            options=f"-c TimeZone={zone}",
        ) as conn:
            since_day = competitor_records(conn, Scope(), since=day)
            since_before = competitor_records(conn, Scope(), since=day - timedelta(days=1))
        assert [r["lost_to"] for r in since_day if r["competitor_id"] == rival] in ([], [0]), zone
        assert [r["lost_to"] for r in since_before if r["competitor_id"] == rival] == [1], zone


def report_incident(shipment: Shipment, kind: IncidentKind, days: int) -> UUID:
    incident = uuid4()
    shipment.report_incident(
        ctx(noon(days)),
        incident_id=incident,
        link_sequence=1,
        kind=kind,
        description=f"{kind} found at delivery",
        packages_affected=None if kind is IncidentKind.DELAY else 1,
    )
    return incident


def test_customers_at_risk_and_why(world: World) -> None:
    troubled = world.relationship("苏州华芯电子有限公司")
    fine = world.relationship("Fine Ltd")
    # Troubled: the last delivery 100 days ago; two incidents reported on it 10 days ago;
    # a complaint opened 5 days ago never answered.
    old = world.shipment(troubled, 100)
    report_incident(old, IncidentKind.DAMAGE, 10)
    report_incident(old, IncidentKind.DELAY, 10)
    world.services.app.save(old)
    world.services.app.save(world.case(troubled, noon(5)))
    # Fine: delivered last week, one incident (below the threshold of two).
    recent = world.shipment(fine, 7)
    report_incident(recent, IncidentKind.SHORTAGE, 6)
    world.services.app.save(recent)
    world.catch_up()
    with world.services.reads.connection() as conn:
        models = world.models().current(conn)
        rows = customers_at_risk(conn, Scope(), models, now=NOW, policy=RiskPolicy())
    assert [r["customer_id"] for r in rows] == [troubled]
    assert rows[0]["reasons"] == [
        {
            "kind": "dormant",
            "detail": f"no delivered shipment for 100 days (last on {TODAY - timedelta(days=100)})"
            "; dormant after 90",
        },
        {
            "kind": "repeated_incidents",
            "detail": "2 incidents on its shipments in the last 180 days (1 damage, 1 delay)",
        },
        {
            "kind": "sla_breaches",
            "detail": "1 service case breached the SLA in the last 180 days, 1 still open",
        },
    ]
    with world.services.reads.connection() as conn:
        narrow = customers_at_risk(
            conn, Scope(branch="Shanghai"), models, now=NOW, policy=RiskPolicy()
        )
    assert narrow == []


def test_partners_ranked_on_the_customers_shipments(world: World) -> None:
    suzhou = world.relationship("苏州华芯电子有限公司")
    shanghai = world.relationship("上海精密仪器", branch="Shanghai")
    steady = world.relationship("Steady Trucking", kind=RelationshipKind.PARTNER)
    shaky = world.relationship("Shaky Haulage", kind=RelationshipKind.PARTNER)
    world.shipment(suzhou, 20, party=Party.partner(steady))
    world.shipment(suzhou, 10, party=Party.partner(steady))
    world.shipment(suzhou, 15, party=Party.partner(shaky), on_time=False)
    damaged = world.shipment(shanghai, 12, party=Party.partner(shaky))
    incident = report_incident(damaged, IncidentKind.DAMAGE, 11)
    damaged.assign_responsibility(
        ctx(noon(11)),
        incident_id=incident,
        link_sequence=1,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="dropped at unloading",
    )
    world.services.app.save(damaged)
    world.catch_up()

    def ranking(scope: Scope) -> list[tuple[Any, ...]]:
        with world.services.reads.connection() as conn:
            rows = partner_ranking(conn, scope)
        return [
            (r["rank"], r["name"], r["links_run"], r["on_time_share"], r["incidents_attributed"])
            for r in rows
        ]

    assert ranking(Scope()) == [
        (1, "Steady Trucking", 2, 1.0, 0),
        (2, "Shaky Haulage", 2, 0.5, 1),
    ]
    assert ranking(Scope(branch="Suzhou")) == [
        (1, "Steady Trucking", 2, 1.0, 0),
        (2, "Shaky Haulage", 1, 0.0, 0),
    ]
    assert ranking(Scope(branch="Shanghai")) == [(1, "Shaky Haulage", 1, 1.0, 1)]
    with world.services.reads.connection() as conn:
        card = scorecard(conn, shaky)
        [row] = [r for r in partner_ranking(conn, Scope()) if r["partner_id"] == shaky]
    assert (row["links_run"], row["links_on_time"], row["incidents_attributed"]) == (
        card["links_run"],
        card["links_on_time"],
        card["incidents_attributed"],
    )


def test_a_rebuild_reproduces_the_read_model(world: World) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    world.shipment(huaxin, 20, quote=("1000", "USD"), invoices=[("600", "USD")])
    world.opportunity(huaxin, "10000", "0.3")
    world.services.app.save(world.case(huaxin, noon(3)))
    world.catch_up()
    tables = CustomerValueProjection.tables

    def contents() -> list[list[tuple[Any, ...]]]:
        with world.services.database.connect() as conn:
            return [sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=str) for t in tables]

    before = contents()
    [projection] = [p for p in world.services.projections if p.name == "customer_value"]
    rebuild(world.services.worker(projection, batch_size=3))
    assert contents() == before


def test_the_models_are_refitted_when_a_purchase_history_changes(world: World) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    world.shipment(huaxin, 20, quote=("100", "USD"))
    world.shipment(huaxin, 10, quote=("100", "USD"))
    world.catch_up()
    cache = world.models()
    with world.services.reads.connection() as conn:
        first = cache.current(conn)
        assert cache.current(conn) is first
        world.relationship("Unrelated Ltd")  # no purchase changes: the fit stands
        world.catch_up()
        assert cache.current(conn) is first
        world.shipment(huaxin, 5, quote=("100", "USD"))
        world.catch_up()
        second = cache.current(conn)
    assert second.inputs_position > first.inputs_position
    assert second.customers[(huaxin, "USD")].purchases == 3


def test_the_histories_are_at_the_position_of_the_last_event_that_changed_a_purchase(
    world: World,
) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    delivered = world.shipment(huaxin, 20, quote=("100", "USD"))
    world.shipment(huaxin, None, quote=("300", "USD"))  # on its way: no purchase yet

    def position_of(topic: str) -> int:
        with world.services.reads.connection() as conn:
            row = conn.execute(
                "SELECT max(notification_id) AS p FROM fullchain_events "
                "WHERE originator_id = %s AND topic = %s",
                (delivered.id, topic),
            ).fetchone()
        assert row is not None
        return int(row["p"])

    def histories() -> tuple[int, list[tuple[Any, ...]]]:
        with world.services.reads.connection() as conn:
            revenue = conn.execute(
                "SELECT amount, invoiced FROM value_revenue WHERE shipment_id = %s",
                (delivered.id,),
            ).fetchall()
            return inputs_position(conn), [(r["amount"], r["invoiced"]) for r in revenue]

    # One batch: the delivery, then another shipment's events that change no purchase.
    world.catch_up()
    assert histories() == (position_of("Shipment.Delivered"), [(Decimal("100"), False)])
    # Invoiced at the quoted amount: the purchase is the same, now from its invoice.
    delivered.invoice(ctx(noon(19)), invoice_number="INV-1", amount=Decimal("100"), currency="USD")
    world.services.app.save(delivered)
    world.catch_up()
    assert histories() == (position_of("Shipment.Delivered"), [(Decimal("100"), True)])
    delivered.invoice(ctx(noon(18)), invoice_number="INV-2", amount=Decimal("20"), currency="USD")
    world.services.app.save(delivered)
    world.catch_up()
    assert histories() == (position_of("Shipment.Invoiced"), [(Decimal("120"), True)])


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "hq.qian", "Qian Lin 钱琳", roles=(Role.HQ,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_account_status_and_the_decision_views_over_http(
    world: World, client: TestClient, services: Services
) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    jingmi = world.relationship("上海精密仪器", branch="Shanghai", industry="instruments")
    for days in (40, 30, 20):
        world.shipment(huaxin, days, quote=("1000", "USD"))
    world.shipment(jingmi, 15, invoices=[("5000", "CNY")])
    world.opportunity(huaxin, "10000", "0.3")
    world.services.app.save(world.case(huaxin, noon(5)))
    world.catch_up()
    with services.reads.connection() as conn:
        world.models().current(conn)

    status = client.get(f"/v1/relationships/{huaxin}").json()
    assert status["realised_value"] == {"USD": "3000"}
    assert status["potential_value"] == {"USD": "3000.00"}
    assert set(status["model_value"]) == {"USD"}
    assert status["model_value_as_of"] == TODAY.isoformat()
    assert (status["open_opportunities"], status["open_cases"], status["sla_breaches"]) == (
        1,
        1,
        1,
    )
    page = client.get("/v1/relationships", params={"branch": "Shanghai"}).json()
    assert [i["realised_value"] for i in page["items"]] == [{"CNY": "5000"}]

    top = client.get("/v1/decisions/top-customers", params={"by": "realised"}).json()
    assert top["model"]["models"][0]["purchases_model"] == "cdnow_scaled"
    assert {c: [e["name"] for e in entries] for c, entries in top["currencies"].items()} == {
        "CNY": ["上海精密仪器"],
        "USD": ["苏州华芯电子有限公司"],
    }
    entry = top["currencies"]["USD"][0]
    assert (entry["purchases"], entry["realised_value"], entry["potential_value"]) == (
        3,
        "3000",
        "3000.00",
    )
    assert entry["loyalty"]["first_month"] == f"{TODAY - timedelta(days=40):%Y-%m}"
    assert entry["rfm"]["segment"] in {s.value for s in RfmSegment}
    by_model = client.get("/v1/decisions/top-customers", params={"by": "model"}).json()
    assert list(by_model["currencies"]) == ["USD"]  # CNY has no repeat purchase to model
    instruments = client.get(
        "/v1/decisions/top-customers", params={"industry": "instruments"}
    ).json()
    assert list(instruments["currencies"]) == ["CNY"]

    for view in (
        "pipeline",
        "competitors",
        "segments",
        "customers-at-risk",
        "partners",
        "value-by-period",
        "service-levels",
    ):
        assert client.get(f"/v1/decisions/{view}").status_code == 200, view
    pipeline = client.get("/v1/decisions/pipeline").json()["items"]
    assert pipeline == [
        {
            "branch": "Suzhou",
            "stage": "generation",
            "currency": "USD",
            "opportunities": 1,
            "expected_value": "10000",
            "weighted_value": "3000.00",
        }
    ]
    quarters = client.get(
        "/v1/decisions/value-by-period", params={"period": "quarter", "periods": 4}
    ).json()
    assert len(quarters["items"]) == 4
    assert quarters["items"][-1]["complete"] is False
    refused = client.get(
        "/v1/decisions/customers-at-risk",
        params={"dormant_after_days": 400, "lost_after_days": 300},
    )
    assert refused.status_code == 422


def test_branch_managers_see_their_branch_and_field_staff_no_decision_views(
    world: World, client: TestClient, services: Services
) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    jingmi = world.relationship("上海精密仪器", branch="Shanghai")
    world.opportunity(huaxin, "10000", "0.3")
    world.opportunity(jingmi, "20000", "0.5")
    world.catch_up()
    manager = enroll(
        services, "mgr.zhang", "Zhang Wei", roles=(Role.BRANCH_MANAGER,), branch="Suzhou"
    )
    field_staff = enroll(services, "li.wei", "Li Wei", roles=(Role.FIELD_STAFF,), branch="Suzhou")

    as_manager = {"Authorization": f"Bearer {manager}"}
    items = client.get("/v1/decisions/pipeline", headers=as_manager).json()["items"]
    assert [i["branch"] for i in items] == ["Suzhou"]
    elsewhere = client.get(
        "/v1/decisions/pipeline", params={"branch": "Shanghai"}, headers=as_manager
    )
    assert elsewhere.status_code == 403
    assert [i["branch"] for i in client.get("/v1/decisions/pipeline").json()["items"]] == [
        "Shanghai",
        "Suzhou",
    ]
    refused = client.get(
        "/v1/decisions/pipeline", headers={"Authorization": f"Bearer {field_staff}"}
    )
    assert refused.status_code == 403


def test_reads_go_on_with_the_models_at_hand_while_a_refit_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    huaxin = world.relationship("苏州华芯电子有限公司")
    world.shipment(huaxin, 5, invoices=[("600", "USD")])
    world.catch_up()
    cache = world.services.value_models()
    with world.services.reads.connection() as conn:
        fitted = cache.current(conn)
    # The next day the models no longer fit; the refit that starts is held in the middle.
    started, release = threading.Event(), threading.Event()
    original = queries.build_models

    def held_fit(*args: Any, **kwargs: Any) -> ValueModels:
        started.set()
        release.wait(timeout=600)
        return original(*args, **kwargs)

    monkeypatch.setattr(queries, "build_models", held_fit)
    cache.clock = lambda: NOW + timedelta(days=1)
    answers: list[ValueModels | None] = []

    def read() -> None:
        with world.services.reads.connection() as conn:
            answers.append(cache.latest(conn))

    try:
        read()  # starts the refit, answers at once
        wait_until(started.is_set, what="the refit started")
        reader = threading.Thread(target=read)
        reader.start()  # asks while the refit runs
        wait_until(lambda: len(answers) == 2, what="a read during the refit")
        assert answers == [fitted, fitted]
    finally:
        release.set()
    reader.join(timeout=30)
    with world.services.reads.connection() as conn:
        wait_until(
            lambda: (cache.latest(conn) or fitted).as_of == TODAY + timedelta(days=1),
            what="the refit done",
        )


def test_an_account_read_after_new_purchases_brings_the_value_models_up_to_date(
    world: World, client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account read carries the purchase histories' position in its own rows: a read
    that finds the models behind starts their refit and answers at once with the models at
    hand; once they are current, reads start none."""
    huaxin = world.relationship("苏州华芯电子有限公司")
    for days in (40, 30, 20):
        world.shipment(huaxin, days, quote=("1000", "USD"))
    world.catch_up()
    cache = world.models()
    with services.reads.connection() as conn:
        cache.current(conn)
    cache.max_stale_seconds = 3600  # reads answer with the models at hand, never wait
    first = client.get(f"/v1/relationships/{huaxin}").json()

    refits_started: list[int] = []
    original = cache._refresh_in_background

    def counted() -> None:
        refits_started.append(1)
        original()

    monkeypatch.setattr(cache, "_refresh_in_background", counted)
    client.get(f"/v1/relationships/{huaxin}")
    assert refits_started == []  # the models are current: nothing to refit

    world.shipment(huaxin, 10, quote=("1000", "USD"))
    world.catch_up()
    stale = client.get(f"/v1/relationships/{huaxin}").json()
    assert stale["model_value"] == first["model_value"]  # answered with the models at hand
    assert "value_inputs_position" not in stale
    assert refits_started == [1]
    wait_until(
        lambda: (
            client.get(f"/v1/relationships/{huaxin}").json()["model_value"] != first["model_value"]
        ),
        what="the refit the read started",
    )
    refits_started.clear()
    for _ in range(3):
        client.get(f"/v1/relationships/{huaxin}")
        client.get("/v1/relationships")
    assert refits_started == []
