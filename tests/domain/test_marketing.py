"""Segments and campaigns without a database: rules validated with the field named, the
campaign's states and what each allows, the budget kept."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.base import CommandContext, CommandRefused, InvalidValue
from domain.marketing import Campaign, CampaignState, Response, Segment, SegmentRules
from tests.clock import NOW


def ctx(hours: float = 0, actor: str = "li.na") -> CommandContext:
    moment = NOW + timedelta(hours=hours)
    return CommandContext.issue(actor=actor, now=moment, occurred_at=moment)


def campaign(**overrides: object) -> Campaign:
    fields: dict[str, object] = {
        "name": "Spring air to Chicago",
        "segment_id": uuid4(),
        "segment_active": True,
        "offering_id": uuid4(),
        "offering_active": True,
        "starts_on": NOW.date(),
        "ends_on": NOW.date() + timedelta(days=30),
        "budget": Decimal("1000.00"),
        "currency": "usd",
        "owner_branch": None,
    } | overrides
    return Campaign.plan(ctx(), **fields)  # type: ignore[arg-type]


def test_rules_name_the_field_that_is_wrong() -> None:
    with pytest.raises(InvalidValue) as unknown:
        SegmentRules.parse({"industry": ["electronics"]})
    assert unknown.value.field == "rules.industry"
    with pytest.raises(InvalidValue) as value:
        SegmentRules.parse({"lifecycles": ["asleep"]})
    assert value.value.field == "rules.lifecycles.0"
    with pytest.raises(InvalidValue) as twice:
        SegmentRules.parse({"regions": ["East China", "East China"]})
    assert twice.value.field == "rules.regions"
    rules = SegmentRules.parse({"industries": [" electronics "], "key_account": True})
    assert rules.stored() == {"industries": ["electronics"], "key_account": True}


def test_a_segment_is_defined_changed_and_retired_by_events_with_their_actor() -> None:
    rules = SegmentRules.parse({"kinds": ["customer"]})
    segment = Segment.define(ctx(), name="Customers", rules=rules, owner_branch="Suzhou")
    with pytest.raises(CommandRefused):
        segment.change(ctx(1), name="Customers", rules=rules)
    segment.change(ctx(1, "zhou.hui"), name="Key customers", rules=rules.model_copy(
        update={"key_account": True}))  # fmt: skip
    assert segment.parsed_rules.key_account is True
    segment.retire(ctx(2), reason="merged")
    with pytest.raises(CommandRefused):
        segment.retire(ctx(3), reason="again")
    events = segment.collect_events()
    assert [type(e).__name__ for e in events] == ["Defined", "Changed", "Retired"]
    assert [getattr(e, "actor", None) for e in events] == ["li.na", "zhou.hui", "li.na"]


def test_a_campaign_runs_between_planned_and_closed() -> None:
    with pytest.raises(InvalidValue) as period:
        campaign(ends_on=NOW.date() - timedelta(days=1))
    assert period.value.field == "ends_on"
    with pytest.raises(CommandRefused):
        campaign(offering_active=False)
    c = campaign()
    assert (c.state, c.currency, c.starts_on) == (CampaignState.PLANNED, "USD", NOW.date())
    rid = uuid4()
    with pytest.raises(CommandRefused):
        c.log_contact(ctx(), relationship_id=rid, interaction_id=uuid4())
    with pytest.raises(CommandRefused):
        c.record_spend(ctx(), amount=Decimal("1.00"), branch=None, note=None)
    c.start(ctx(1))
    with pytest.raises(CommandRefused):
        c.start(ctx(1))
    with pytest.raises(CommandRefused):  # not contacted yet
        c.record_response(ctx(2), relationship_id=rid, response=Response.INTERESTED, note=None)
    c.log_contact(ctx(2), relationship_id=rid, interaction_id=uuid4())
    c.record_response(ctx(3), relationship_id=rid, response=Response.INTERESTED, note=None)
    with pytest.raises(CommandRefused):
        c.record_response(ctx(3), relationship_id=rid, response=Response.INTERESTED, note=None)
    c.record_spend(ctx(4), amount=Decimal("999.99"), branch="Suzhou", note=None)
    with pytest.raises(CommandRefused):
        c.record_spend(ctx(4), amount=Decimal("0.02"), branch=None, note=None)
    with pytest.raises(InvalidValue):
        c.record_spend(ctx(4), amount=Decimal("0.001"), branch=None, note=None)
    c.close(ctx(5))
    with pytest.raises(CommandRefused):
        c.log_contact(ctx(6), relationship_id=rid, interaction_id=uuid4())
    assert (c.state, c.spent, c.contacted) == (CampaignState.CLOSED, Decimal("999.99"), {rid})


def test_a_campaign_does_not_start_after_its_period() -> None:
    c = campaign(starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 31))
    with pytest.raises(CommandRefused):
        c.start(ctx())
