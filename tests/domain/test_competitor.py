"""The CompetitorProfile aggregate on its own, no database: what we know of a competitor,
and our record against it as the opportunities tell it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from domain.base import (
    CommandContext,
    CommandRefused,
    DomainError,
    InvalidValue,
    UnknownMember,
    event_classes,
)
from domain.competitor import CompetitorProfile, WinLossRecord, win_loss_against
from domain.liability import TransportMode
from domain.offering import Lane
from domain.opportunity import LossReason, Opportunity, Stage
from domain.relationship import RelationshipKind

DAY_ONE = datetime(2025, 3, 3, tzinfo=UTC)

RIVAL = UUID("00000000-0000-4000-8000-00000000e001")  # the incumbent forwarder
NEWCOMER = UUID("00000000-0000-4000-8000-00000000e002")  # a digital forwarder
HUAXIN = UUID("00000000-0000-4000-8000-00000000c001")
AIR_OFFERING = UUID("00000000-0000-4000-8000-0000000f0001")
KINDS = {RIVAL: RelationshipKind.COMPETITOR.value, NEWCOMER: RelationshipKind.COMPETITOR.value}

PVG_ORD = Lane("Shanghai", "Chicago", TransportMode.AIR)
SHA_LGB = Lane("Shanghai", "Long Beach", TransportMode.SEA)


def ctx(hours: float = 0, actor: str = "office.chen") -> CommandContext:
    when = DAY_ONE + timedelta(hours=hours)
    return CommandContext.issue(actor=actor, now=when, occurred_at=when)


def start(kind: str | None = RelationshipKind.COMPETITOR.value) -> CompetitorProfile:
    return CompetitorProfile.start(
        ctx(),
        relationship_id=RIVAL,
        relationship_kind=kind,
        strengths=["Daily freighter on PVG–ORD"],
        weaknesses=["No own trucking in Jiangsu"],
        lanes=[PVG_ORD],
    )


@contextmanager
def refused(
    rule: str,
    kind: type[DomainError] = CommandRefused,
    unchanged: CompetitorProfile | None = None,
) -> Iterator[None]:
    """The command in the block is refused by ``rule`` and, on ``unchanged``, records nothing."""
    version = unchanged.version if unchanged is not None else None
    with pytest.raises(kind) as caught:
        yield
    assert caught.value.rule == rule, caught.value.message
    if unchanged is not None:
        assert unchanged.version == version


def mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


def rebuild(events: Sequence[object]) -> CompetitorProfile:
    profile: CompetitorProfile | None = None
    for event in events:
        assert isinstance(event, CompetitorProfile.Event)
        profile = event.mutate(profile)
    assert isinstance(profile, CompetitorProfile)
    return profile


# --- the profile ----------------------------------------------------------------------------


def test_a_competitors_profile_is_kept_up_to_date() -> None:
    profile = start()
    assert profile.id == CompetitorProfile.id_for(RIVAL)
    assert profile.relationship_id == RIVAL
    assert profile.strengths == ("Daily freighter on PVG–ORD",)
    assert profile.weaknesses == ("No own trucking in Jiangsu",)
    assert profile.lanes == (PVG_ORD,)

    profile.note_strength(ctx(1), strength="  Bonded warehouse at ORD ")
    profile.note_weakness(ctx(2), weakness="Slow claims handling")
    profile.add_lane(ctx(3), lane=SHA_LGB)
    assert profile.strengths == ("Daily freighter on PVG–ORD", "Bonded warehouse at ORD")
    assert profile.serves(Lane("shanghai", "LONG BEACH", TransportMode.SEA))

    profile.withdraw_strength(
        ctx(4), strength="daily freighter on pvg–ord", reason="freighter cancelled in April"
    )
    profile.withdraw_weakness(ctx(5), weakness="No own trucking in Jiangsu", reason="bought one")
    profile.drop_lane(ctx(6), lane=PVG_ORD, reason="left the lane")
    assert profile.strengths == ("Bonded warehouse at ORD",)
    assert profile.weaknesses == ("Slow claims handling",)
    assert profile.lanes == (SHA_LGB,)
    assert not profile.serves(PVG_ORD)


def test_each_competitor_has_one_profile() -> None:
    assert CompetitorProfile.id_for(RIVAL) == CompetitorProfile.id_for(RIVAL)
    assert CompetitorProfile.id_for(RIVAL) != CompetitorProfile.id_for(NEWCOMER)
    assert CompetitorProfile.id_for(RIVAL) != RIVAL


@pytest.mark.parametrize(
    "kind", [RelationshipKind.CUSTOMER.value, RelationshipKind.PARTNER.value, None]
)
def test_profiles_are_kept_only_for_competitors(kind: str | None) -> None:
    with refused("profile.not_competitor"):
        start(kind)


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"strengths": ["Price", " price "]}, "strength.duplicate"),
        ({"weaknesses": ["Slow", "slow"]}, "weakness.duplicate"),
        ({"strengths": [""]}, "strength.required"),
        ({"weaknesses": ["x" * 201]}, "weakness.too_long"),
        ({"lanes": [PVG_ORD, Lane("SHANGHAI", "chicago", TransportMode.AIR)]}, "lane.duplicate"),
        ({"lanes": [Lane("Shanghai", "Shanghai", TransportMode.ROAD)]}, "lane.same_ends"),
    ],
)
def test_a_profile_that_cannot_be_right_is_not_started(
    values: dict[str, object], rule: str
) -> None:
    with refused(rule, InvalidValue):
        CompetitorProfile.start(
            ctx(),
            relationship_id=RIVAL,
            relationship_kind=RelationshipKind.COMPETITOR.value,
            **values,  # type: ignore[arg-type]
        )


def test_what_is_noted_once_is_not_noted_again() -> None:
    profile = start()
    with refused("strength.already_noted", unchanged=profile):
        profile.note_strength(ctx(1), strength="DAILY FREIGHTER ON PVG–ORD")
    with refused("weakness.already_noted", unchanged=profile):
        profile.note_weakness(ctx(1), weakness="no own trucking in jiangsu")
    with refused("lane.already_served", unchanged=profile):
        profile.add_lane(ctx(1), lane=Lane("shanghai", "chicago", TransportMode.AIR))


def test_what_was_never_noted_is_not_withdrawn() -> None:
    profile = start()
    with refused("strength.unknown", UnknownMember, unchanged=profile):
        profile.withdraw_strength(ctx(1), strength="cheap", reason="x")
    with refused("weakness.unknown", UnknownMember, unchanged=profile):
        profile.withdraw_weakness(ctx(1), weakness="slow", reason="x")
    with refused("lane.unknown", UnknownMember, unchanged=profile):
        profile.drop_lane(ctx(1), lane=SHA_LGB, reason="x")
    with refused("reason.required", InvalidValue, unchanged=profile):
        profile.drop_lane(ctx(1), lane=PVG_ORD, reason="")


# --- our record against it ------------------------------------------------------------------


def opportunity(*competitors: UUID) -> Opportunity:
    return Opportunity.identify(
        ctx(),
        relationship_id=HUAXIN,
        relationship_kind=RelationshipKind.CUSTOMER.value,
        title="air exports",
        offering_id=AIR_OFFERING,
        offering_active=True,
        expected_value=Decimal(100000),
        currency="USD",
        probability=Decimal("0.5"),
        competitor_ids=competitors,
        competitor_kinds=KINDS,
    )


def won(*competitors: UUID) -> Opportunity:
    deal = opportunity(*competitors)
    for hour, stage in enumerate((Stage.TRACKING, Stage.CONTROL, Stage.IMPLEMENTATION), 1):
        deal.advance(ctx(hour), to_stage=stage)
    deal.mark_won(ctx(10), offering_active=True)
    return deal


def lost(to: UUID | None, *competitors: UUID) -> Opportunity:
    deal = opportunity(*competitors)
    deal.mark_lost(
        ctx(10),
        reason=LossReason.PRICE,
        explanation="x",
        competitor_id=to,
        competitor_kinds=KINDS,
    )
    return deal


def test_our_record_against_a_competitor_follows_from_the_opportunities() -> None:
    history = [
        won(RIVAL),
        won(RIVAL, NEWCOMER),
        won(NEWCOMER),  # the rival was not there
        lost(RIVAL, RIVAL),
        lost(RIVAL),  # the rival was involved as it won
        lost(NEWCOMER, RIVAL),  # the rival competed, the newcomer won
        lost(None, RIVAL),  # nobody won
        opportunity(RIVAL),  # still open
        opportunity(),
    ]
    record = win_loss_against(RIVAL, history)
    assert record == WinLossRecord(RIVAL, competing=1, won_against=2, lost_to=2, lost_to_others=2)
    assert record.head_to_head_win_rate == Decimal("0.50")
    assert win_loss_against(NEWCOMER, history).head_to_head_win_rate == Decimal("0.67")
    assert win_loss_against(UUID(int=1), history).head_to_head_win_rate is None


# --- the stored history ---------------------------------------------------------------------


def test_every_event_has_a_stable_stored_name() -> None:
    for cls in event_classes(CompetitorProfile):
        assert cls.TOPIC.split(".") == ["CompetitorProfile", cls.__name__]
    assert CompetitorProfile.Created is CompetitorProfile.Started


def test_events_round_trip_through_the_store_and_rebuild_the_same_profile() -> None:
    profile = start()
    profile.note_strength(ctx(1), strength="Bonded warehouse at ORD")
    profile.withdraw_strength(ctx(2), strength="Bonded warehouse at ORD", reason="sold it")
    profile.note_weakness(ctx(3), weakness="Slow claims handling")
    profile.withdraw_weakness(ctx(4), weakness="Slow claims handling", reason="improved")
    profile.add_lane(ctx(5), lane=SHA_LGB)
    profile.drop_lane(ctx(6), lane=PVG_ORD, reason="left the lane")
    events = profile.collect_events()
    assert {type(e).__name__ for e in events} == {
        cls.__name__ for cls in event_classes(CompetitorProfile)
    }
    m = mapper()
    stored = [m.to_stored_event(event) for event in events]
    for record in stored:
        assert record.topic.startswith("CompetitorProfile.")
        json.loads(record.state)
    restored_events = [m.to_domain_event(record) for record in stored]
    assert restored_events == events
    assert rebuild(restored_events) == profile
