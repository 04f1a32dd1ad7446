"""Incentive rules and decisions on their own, no database: what the rules keep and refuse,
the points they propose for each measure (awards positive, penalties negative, nothing
when unset), a clean month, the proposals' ids, a decision confirmed or rejected as its
event says; and the weeks and months a moment falls in, in a branch's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.base import CommandContext, InvalidValue, event_classes
from domain.incentive import (
    RULES_ID,
    Decision,
    Incentive,
    IncentiveRules,
    Measure,
    clean_month_proposal_id,
    fact_proposal_id,
    is_clean_month,
    proposed_points,
    rule_points,
)
from projections.performance.writer import periods

NOW = datetime(2026, 3, 4, 10, tzinfo=UTC)
PROPOSAL = UUID("00000000-0000-4000-8000-00000000e001")
RULES = {"opportunity_won": 50, "sla_kept": 5, "sla_breached": 10, "shipment_incident": 15}


def ctx(actor: str = "zhou.hui") -> CommandContext:
    return CommandContext.issue(actor=actor, now=NOW)


def test_the_rules_keep_every_measure_and_refuse_what_cannot_be_points() -> None:
    assert rule_points(RULES) == RULES | {"clean_month": 0}
    for bad in ({"bonus": 1}, {"sla_kept": -1}, {"sla_kept": 10_001}, {"sla_kept": True}):
        with pytest.raises(InvalidValue) as refused:
            rule_points(bad)
        assert refused.value.field == "points"
    assert rule_points({"sla_kept": 10_000})["sla_kept"] == 10_000


def test_the_rules_propose_awards_and_penalties_and_nothing_unset() -> None:
    rules = rule_points(RULES)
    assert proposed_points(rules, Measure.OPPORTUNITY_WON) == 50
    assert proposed_points(rules, Measure.SLA_KEPT) == 5
    assert proposed_points(rules, Measure.SLA_BREACHED) == -10
    assert proposed_points(rules, Measure.SHIPMENT_INCIDENT) == -15
    assert proposed_points(rules, Measure.CLEAN_MONTH) is None  # worth nothing
    assert proposed_points(None, Measure.OPPORTUNITY_WON) is None  # no rules yet
    assert [m for m in Measure if m.is_penalty] == [
        Measure.SLA_BREACHED,
        Measure.SHIPMENT_INCIDENT,
    ]


def test_a_clean_month_is_worked_without_a_breach_or_an_incident() -> None:
    assert is_clean_month(facts=3, breaches=0, incidents=0)
    assert not is_clean_month(facts=0, breaches=0, incidents=0)  # nothing done
    assert not is_clean_month(facts=3, breaches=1, incidents=0)
    assert not is_clean_month(facts=3, breaches=0, incidents=1)


def test_proposal_ids_are_one_per_fact_and_per_staff_month() -> None:
    won = Measure.OPPORTUNITY_WON
    assert fact_proposal_id(won, PROPOSAL) == fact_proposal_id(won, PROPOSAL)
    assert fact_proposal_id(won, PROPOSAL) != fact_proposal_id(Measure.SLA_KEPT, PROPOSAL)
    assert fact_proposal_id(won, PROPOSAL) != fact_proposal_id(won, UUID(int=1))
    assert clean_month_proposal_id("wu.fang", "2026-02") != clean_month_proposal_id(
        "wu.fang", "2026-03"
    )
    assert clean_month_proposal_id("wu.fang", "2026-02") != clean_month_proposal_id(
        "zhou.min", "2026-02"
    )


def test_rules_are_set_then_changed_by_events_with_their_actor() -> None:
    rules = IncentiveRules.set(ctx("li.na"), points=RULES, note="2026 scheme")
    assert rules.id == RULES_ID
    rules.change(ctx("li.na"), points={"clean_month": 20})
    events = rules.collect_events()
    assert [type(e).__name__ for e in events] == ["Set", "Changed"]
    assert [e.actor for e in events] == ["li.na", "li.na"]  # type: ignore[attr-defined]
    assert rules.points == rule_points({"clean_month": 20})
    for cls in (IncentiveRules, Incentive):
        for event in event_classes(cls):
            assert (event.__name__, event.TOPIC) == (
                event.__name__,
                f"{cls.TOPIC}.{event.__name__}",
            )


def decide(decision: Decision, **overrides: object) -> Incentive:
    fields: dict[str, object] = {
        "proposal_id": PROPOSAL,
        "decision": decision,
        "staff_id": "zhou.min",
        "branch": "Suzhou",
        "measure": Measure.SHIPMENT_INCIDENT,
        "points": -15,
        "period": "2026-02",
        "source": "shipment SZV-260220-001: delay",
        "reason": "the trucker's delay",
    } | overrides
    return Incentive.decide(ctx(), **fields)  # type: ignore[arg-type]


def test_a_decision_confirms_or_rejects_with_its_reason() -> None:
    confirmed = decide(Decision.CONFIRMED)
    assert (confirmed.decision, confirmed.confirmed, confirmed.points) == (
        Decision.CONFIRMED,
        True,
        -15,
    )
    rejected = decide(Decision.REJECTED)
    assert (rejected.decision, rejected.confirmed) == (Decision.REJECTED, False)
    [event] = rejected.collect_events()
    assert type(event).__name__ == "Rejected"
    # Replayed from its event, it is still rejected.
    replayed = event.mutate(None)
    assert isinstance(replayed, Incentive)
    assert replayed.decision is Decision.REJECTED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"points": 15}, "points"),  # a penalty is negative
        ({"measure": Measure.SLA_KEPT, "points": -5}, "points"),  # an award positive
        ({"points": 0}, "points"),
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-W05"}, "period"),
        ({"reason": "  "}, "reason"),
    ],
)
def test_a_decision_refuses_what_no_proposal_is(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        decide(Decision.CONFIRMED, **overrides)
    assert refused.value.field == field


def test_weeks_and_months_are_the_branch_zone_s() -> None:
    # 1 March 03:00 UTC: 28 February 21:00 in Chicago, 1 March 11:00 in Suzhou.
    moment = datetime(2026, 3, 1, 3, tzinfo=UTC)
    assert periods(moment, "America/Chicago") == ("2026-02", "2026-W09")
    assert periods(moment, "Asia/Shanghai") == ("2026-03", "2026-W09")
    # 31 January 17:00 UTC is Sunday 1 February 01:00 in Suzhou: ISO week 5 of 2026.
    assert periods(datetime(2026, 1, 31, 17, tzinfo=UTC), "Asia/Shanghai") == (
        "2026-02",
        "2026-W05",
    )
    # An ISO week's year is not always the month's: 1 January 2027 is in 2026-W53.
    assert periods(datetime(2027, 1, 1, 2, tzinfo=UTC), "Asia/Shanghai") == (
        "2027-01",
        "2026-W53",
    )
