"""The Relationship aggregate on its own: no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.base import (
    AttributedEvent,
    CommandContext,
    CommandRefused,
    InvalidValue,
    UnknownMember,
    event_classes,
)
from domain.personal import ERASED, DataKind, contact_subject
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    Lifecycle,
    Relationship,
    RelationshipKind,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ctx(actor: str = "li.wei", **kwargs: object) -> CommandContext:
    return CommandContext.issue(actor=actor, now=NOW, **kwargs)  # type: ignore[arg-type]


def register(kind: RelationshipKind = RelationshipKind.PROSPECT) -> Relationship:
    return Relationship.register(
        ctx(),
        name="苏州华芯电子有限公司",
        kind=kind,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )


def mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


def rule_of(excinfo: pytest.ExceptionInfo[Exception]) -> str:
    error = excinfo.value
    assert isinstance(error, CommandRefused | InvalidValue | UnknownMember)
    return error.rule


# --- the customer journey ----------------------------------------------------------------


def test_a_prospect_is_qualified_and_becomes_a_customer_with_its_first_business() -> None:
    r = register()
    r.qualify_as_target(ctx(), reason="monthly air volume 20 t to the US")
    assert r.kind is RelationshipKind.TARGET
    r.record_first_business(ctx(), reference="SZX-ORD-0001")
    assert r.kind is RelationshipKind.CUSTOMER
    assert r.lifecycle is Lifecycle.ACTIVE


def test_a_customer_goes_dormant_is_reactivated_is_lost_and_won_back() -> None:
    r = register()
    r.record_first_business(ctx(), reference="walk-in order")
    r.mark_dormant(ctx(), reason="no shipment for 6 months")
    assert r.lifecycle is Lifecycle.DORMANT
    r.reactivate(ctx(), reason="new season orders")
    assert r.lifecycle is Lifecycle.ACTIVE
    competitor = uuid4()
    r.mark_lost(ctx(), reason="moved to a cheaper forwarder", lost_to_competitor_id=competitor)
    assert r.lifecycle is Lifecycle.LOST
    r.win_back(ctx(), reason="came back after delays elsewhere")
    assert r.lifecycle is Lifecycle.WON_BACK
    r.mark_dormant(ctx(), reason="quiet again")
    assert r.lifecycle is Lifecycle.DORMANT


@pytest.mark.parametrize(
    ("kind", "command", "rule"),
    [
        (RelationshipKind.TARGET, "qualify", "kind.qualify_only_prospect"),
        (RelationshipKind.CUSTOMER, "qualify", "kind.qualify_only_prospect"),
        (RelationshipKind.CUSTOMER, "return", "kind.return_only_target"),
        (RelationshipKind.PROSPECT, "return", "kind.return_only_target"),
        (RelationshipKind.PARTNER, "first_business", "kind.first_business_only_prospect_or_target"),
        (
            RelationshipKind.COMPETITOR,
            "first_business",
            "kind.first_business_only_prospect_or_target",
        ),
        (
            RelationshipKind.CUSTOMER,
            "first_business",
            "kind.first_business_only_prospect_or_target",
        ),
        (RelationshipKind.TARGET, "dormant", "lifecycle.only_customers"),
        (RelationshipKind.PARTNER, "lost", "lifecycle.only_customers"),
        (RelationshipKind.CUSTOMER, "reactivate", "lifecycle.reactivate_only_dormant"),
        (RelationshipKind.CUSTOMER, "win_back", "lifecycle.win_back_only_lost"),
        (RelationshipKind.PARTNER, "key_account", "key_account.only_target_or_customer"),
        (RelationshipKind.COMPETITOR, "care", "care.not_for_competitor"),
    ],
)
def test_refused_reclassifications_name_their_rule(
    kind: RelationshipKind, command: str, rule: str
) -> None:
    r = register(kind)
    actions = {
        "qualify": lambda: r.qualify_as_target(ctx(), reason="x"),
        "return": lambda: r.return_to_prospect(ctx(), reason="x"),
        "first_business": lambda: r.record_first_business(ctx(), reference="x"),
        "dormant": lambda: r.mark_dormant(ctx(), reason="x"),
        "lost": lambda: r.mark_lost(ctx(), reason="x"),
        "reactivate": lambda: r.reactivate(ctx(), reason="x"),
        "win_back": lambda: r.win_back(ctx(), reason="x"),
        "key_account": lambda: r.designate_key_account(ctx(), reason="x"),
        "care": lambda: r.record_customer_care(
            ctx(), care_id=uuid4(), care_kind=CareActionKind.GREETING, note="x"
        ),
    }
    version = r.version
    with pytest.raises(CommandRefused) as excinfo:
        actions[command]()
    assert rule_of(excinfo) == rule
    assert r.version == version
    assert r.kind is kind


def test_a_lost_customer_is_won_back_not_reactivated() -> None:
    r = register(RelationshipKind.CUSTOMER)
    r.mark_lost(ctx(), reason="price")
    with pytest.raises(CommandRefused, match="won back"):
        r.reactivate(ctx(), reason="x")
    with pytest.raises(CommandRefused) as excinfo:
        r.mark_lost(ctx(), reason="again")
    assert rule_of(excinfo) == "lifecycle.already_lost"


def test_key_account_industry_branch_and_team() -> None:
    r = register(RelationshipKind.CUSTOMER)
    r.designate_key_account(ctx(), reason="top 10 electronics exporter")
    assert r.key_account
    with pytest.raises(CommandRefused):
        r.designate_key_account(ctx(), reason="again")
    r.withdraw_key_account(ctx(), reason="volume dropped")
    assert not r.key_account
    r.change_industry(ctx(), industry="semiconductors")
    r.move_to_branch(ctx(), region="East China", branch="Shanghai")
    assert (r.industry, r.region, r.branch) == ("semiconductors", "East China", "Shanghai")
    r.assign_account_team(ctx(), field_rep="zhang.min", office_rep="chen.jing")
    assert (r.field_rep, r.office_rep) == ("zhang.min", "chen.jing")
    with pytest.raises(CommandRefused) as excinfo:
        r.assign_account_team(ctx(), field_rep="zhang.min", office_rep="chen.jing")
    assert rule_of(excinfo) == "team.unchanged"


def test_contacts_are_added_changed_and_removed() -> None:
    r = register()
    r.add_contact(ctx(), contact_id="c1", name="王芳", title="物流经理", email="wang@huaxin.cn")
    r.change_contact(ctx(), contact_id="c1", phone="+86 512 6666 0000")
    assert r.contacts["c1"].phone == "+86 512 6666 0000"
    assert r.contacts["c1"].email == "wang@huaxin.cn"
    with pytest.raises(CommandRefused) as excinfo:
        r.add_contact(ctx(), contact_id="c1", name="Someone else")
    assert rule_of(excinfo) == "contact.duplicate_id"
    with pytest.raises(InvalidValue) as invalid:
        r.add_contact(ctx(), contact_id="c2", name="Tom", email="not-an-address")
    assert invalid.value.field == "email"
    r.remove_contact(ctx(), contact_id="c1")
    assert r.contacts == {}
    with pytest.raises(UnknownMember):
        r.remove_contact(ctx(), contact_id="c1")


def test_interactions_keep_the_latest_by_business_time() -> None:
    r = register()
    r.log_interaction(
        ctx(occurred_at=NOW - timedelta(days=1)),
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="拜访客户，讨论美国空运方案",
    )
    # Logged later, but it happened earlier: the last interaction stays the visit.
    r.log_interaction(
        ctx(occurred_at=NOW - timedelta(days=10)),
        interaction_id=uuid4(),
        channel=Channel.CALL,
        direction=Direction.INBOUND,
        summary="asked for a quote",
    )
    assert r.interaction_count == 2
    assert r.last_interaction is not None
    assert r.last_interaction.channel is Channel.VISIT
    with pytest.raises(UnknownMember):
        r.log_interaction(
            ctx(),
            interaction_id=uuid4(),
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            summary="x",
            contact_id="nobody",
        )


def test_an_interaction_id_is_logged_once() -> None:
    # Logged twice, one id named two interactions, and the account-status read model,
    # which keeps one row per interaction id, could take in neither.
    r = register()
    visit = uuid4()
    r.log_interaction(
        ctx(),
        interaction_id=visit,
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="x",
    )
    with pytest.raises(CommandRefused) as refused:
        r.log_interaction(
            ctx(),
            interaction_id=visit,
            channel=Channel.CALL,
            direction=Direction.INBOUND,
            summary="y",
        )
    assert refused.value.rule == "interaction.duplicate_id"
    assert r.interaction_count == 1
    assert r.interaction_ids == {visit}


def test_ids_restored_as_a_plain_set_by_an_earlier_snapshot_are_still_kept() -> None:
    r = register()
    earlier = uuid4()
    r.interaction_ids = {earlier}  # type: ignore[assignment]  # as earlier snapshots hold them
    later = uuid4()
    r.log_interaction(
        ctx(), interaction_id=later, channel=Channel.CALL, direction=Direction.INBOUND, summary="x"
    )
    assert r.interaction_ids == {earlier, later}
    with pytest.raises(CommandRefused) as refused:
        r.log_interaction(
            ctx(),
            interaction_id=earlier,
            channel=Channel.CALL,
            direction=Direction.INBOUND,
            summary="y",
        )
    assert refused.value.rule == "interaction.duplicate_id"


def test_invalid_values_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidValue) as excinfo:
        Relationship.register(
            ctx(),
            name="   ",
            kind=RelationshipKind.PROSPECT,
            industry="x",
            region="x",
            branch="x",
        )
    assert excinfo.value.field == "name"


# --- event metadata and stored names -----------------------------------------------------


def test_every_event_records_who_when_and_why() -> None:
    past = NOW - timedelta(days=3)
    r = Relationship.register(
        ctx("zhang.min", occurred_at=past, correlation_id="visit-plan-7"),
        name="Acme",
        kind=RelationshipKind.PROSPECT,
        industry="apparel",
        region="South China",
        branch="Shenzhen",
    )
    event = r.collect_events()[0]
    assert isinstance(event, AttributedEvent)
    assert event.actor == "zhang.min"
    assert event.occurred_at == past
    assert event.correlation_id == "visit-plan-7"
    assert event.causation_id == event.command_id


def test_business_time_may_be_past_but_not_beyond_the_skew_in_the_future() -> None:
    CommandContext.issue(actor="a", now=NOW, occurred_at=NOW + timedelta(minutes=4))
    with pytest.raises(InvalidValue) as excinfo:
        CommandContext.issue(actor="a", now=NOW, occurred_at=NOW + timedelta(minutes=6))
    assert excinfo.value.field == "occurred_at"
    with pytest.raises(InvalidValue):
        CommandContext.issue(actor="a", now=NOW, occurred_at=datetime(2026, 1, 1))


def test_stored_event_names_are_stable_and_independent_of_module_paths() -> None:
    classes = list(event_classes(Relationship))
    topics = [c.__dict__["TOPIC"] for c in classes if c is not Relationship.Created]
    assert len(topics) == len(set(topics))
    for topic in topics:
        assert topic.startswith("Relationship.")
        assert ":" not in topic
        assert "domain" not in topic
    r = register()
    r.add_contact(ctx(), contact_id="c1", name="Li")
    stored = [mapper().to_stored_event(e) for e in r.collect_events()]
    assert [s.topic for s in stored] == ["Relationship.Registered", "Relationship.ContactAdded"]


def test_a_stored_v1_registration_loads_through_the_upcaster() -> None:
    rid = uuid4()
    v1_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2025-03-01T08:00:00+00:00"},
        "originator_topic": "Relationship",
        "actor": "li.wei",
        "command_id": "c-1",
        "correlation_id": "c-1",
        "causation_id": "c-1",
        "occurred_at": {"_type_": "datetime_iso", "_data_": "2025-03-01T08:00:00+00:00"},
        "name": "Old Customer Ltd",
        "kind": "prospect",
        "industry": "machinery",
        "region": "North China",
        "branch": "Beijing",
        # v1 had no key_account and no class_version
    }
    stored = StoredEvent(
        originator_id=rid,
        originator_version=1,
        topic="Relationship.Registered",
        state=json.dumps(v1_state).encode(),
    )
    event = mapper().to_domain_event(stored)
    assert isinstance(event, Relationship.Registered)
    assert event.key_account is False
    relationship = event.mutate(None)
    assert isinstance(relationship, Relationship)
    assert relationship.name == "Old Customer Ltd"
    assert relationship.key_account is False


def test_history_replays_to_the_same_state() -> None:
    r = register()
    r.qualify_as_target(ctx(), reason="x")
    r.add_contact(ctx(), contact_id="c1", name="Li")
    r.log_interaction(
        ctx(),
        interaction_id=uuid4(),
        channel=Channel.MEETING,
        direction=Direction.OUTBOUND,
        summary="kick-off",
    )
    m = mapper()
    events = [m.to_domain_event(m.to_stored_event(e)) for e in r.collect_events()]
    replayed: Aggregate | None = None
    for e in events:
        replayed = e.mutate(replayed)  # type: ignore[attr-defined]
    assert replayed == r


def test_erasing_a_contact_erases_the_kinds_named_and_records_why() -> None:
    relationship = register()
    relationship.add_contact(ctx(), contact_id="c-1", name="王秀英", phone="139", email="w@x.cn")
    subject = contact_subject(relationship.id, "c-1")
    relationship.erase_personal_data(
        ctx("qian.lin"), subject, [DataKind.CONTACT_DETAILS], reason="asked", request_ref="DSR-1"
    )
    contact = relationship.contacts["c-1"]
    assert (contact.name, contact.phone, contact.email) == ("王秀英", ERASED, ERASED)
    relationship.erase_personal_data(ctx("qian.lin"), subject, [DataKind.IDENTITY], reason="asked")
    assert relationship.contacts["c-1"].name == ERASED
    erased = [
        e for e in relationship.collect_events() if isinstance(e, Relationship.PersonalDataErased)
    ]
    assert [(e.kinds, e.request_ref, e.basis) for e in erased] == [
        (["contact_details"], "DSR-1", "request"),
        (["identity"], None, "request"),
    ]


def test_an_erasure_names_a_subject_of_its_own_relationship_a_reason_and_a_kind() -> None:
    relationship, other = register(), register()
    with pytest.raises(InvalidValue):
        relationship.erase_personal_data(
            ctx(), contact_subject(other.id, "c-1"), [DataKind.IDENTITY], reason="asked"
        )
    with pytest.raises(InvalidValue):
        relationship.erase_personal_data(
            ctx(), contact_subject(relationship.id, "c-1"), [DataKind.IDENTITY], reason=" "
        )
    with pytest.raises(InvalidValue):
        relationship.erase_personal_data(
            ctx(), contact_subject(relationship.id, "c-1"), [], reason="asked"
        )


def test_a_contact_whose_details_were_erased_can_be_renamed_and_keeps_them_erased() -> None:
    relationship = register()
    relationship.add_contact(ctx(), contact_id="c-1", name="王秀英", phone="139", email="w@x.cn")
    subject = contact_subject(relationship.id, "c-1")
    relationship.erase_personal_data(ctx(), subject, [DataKind.CONTACT_DETAILS], reason="asked")
    relationship.change_contact(ctx(), contact_id="c-1", title="采购经理")
    contact = relationship.contacts["c-1"]
    assert (contact.title, contact.phone, contact.email) == ("采购经理", ERASED, ERASED)
    with pytest.raises(InvalidValue):
        relationship.change_contact(ctx(), contact_id="c-1", email="not an address")
