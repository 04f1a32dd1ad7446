"""Customer self-service in the domain: a customer user belongs to its customer and holds
the customer role only; a customer rates a delivered shipment once; registrations and
shipment snapshots stored before customer users load unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent

from application.self_service import company_key, prospect_id_for
from domain.base import CommandRefused, InvalidValue
from domain.shipment import Shipment, ShipmentStatus
from domain.staff import Role, Staff
from tests.domain import test_shipment
from tests.domain.test_relationship import ctx, mapper

CUSTOMER = UUID("00000000-0000-4000-8000-00000000c001")
PARTNER = UUID("00000000-0000-4000-8000-00000000a001")


def test_a_customer_user_belongs_to_the_customer_and_holds_the_customer_role_only() -> None:
    user = Staff.register(
        ctx(), staff_id="buyer@huaxin", name="Wang Fang", branch="", customer_id=CUSTOMER
    )
    assert (user.customer_id, user.branch, user.is_customer_user) == (CUSTOMER, "", True)
    user.grant(ctx(), role=Role.CUSTOMER)
    assert user.roles == {Role.CUSTOMER}
    for role in (Role.OFFICE_STAFF, Role.PARTNER):
        with pytest.raises(CommandRefused) as other:
            user.grant(ctx(), role=role)
        assert other.value.rule in ("role.customer_users_only", "role.partner_users_only")
    with pytest.raises(CommandRefused) as branch:
        user.move_to_branch(ctx(), branch="Suzhou")
    assert branch.value.rule == "branch.partner_user"
    with pytest.raises(InvalidValue) as with_branch:
        Staff.register(ctx(), staff_id="x", name="X", branch="Suzhou", customer_id=CUSTOMER)
    assert with_branch.value.rule == "branch.partner_user"
    with pytest.raises(InvalidValue) as both:
        Staff.register(
            ctx(), staff_id="y", name="Y", branch="", partner_id=PARTNER, customer_id=CUSTOMER
        )
    assert both.value.rule == "customer_id.partner_user"
    staff = Staff.register(ctx(), staff_id="li.wei", name="Li Wei", branch="Suzhou")
    with pytest.raises(CommandRefused) as ours:
        staff.grant(ctx(), role=Role.CUSTOMER)
    assert ours.value.rule == "role.customer_users_only"


def test_a_stored_v2_registration_loads_with_no_customer() -> None:
    v2_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2025-03-01T08:00:00+00:00"},
        "originator_topic": "Staff",
        "actor": "admin",
        "command_id": "c-1",
        "correlation_id": "c-1",
        "causation_id": "c-1",
        "occurred_at": {"_type_": "datetime_iso", "_data_": "2025-03-01T08:00:00+00:00"},
        "staff_id": "desk@air",
        "name": "PVG desk",
        "branch": "",
        "partner_id": {"_type_": "uuid_hex", "_data_": PARTNER.hex},
        "class_version": 2,
    }
    stored = StoredEvent(
        originator_id=Staff.id_for("desk@air"),
        originator_version=1,
        topic="Staff.Registered",
        state=json.dumps(v2_state).encode(),
    )
    event = mapper().to_domain_event(stored)
    assert isinstance(event, Staff.Registered)
    staff = event.mutate(None)
    assert isinstance(staff, Staff)
    assert (staff.partner_id, staff.customer_id) == (PARTNER, None)


def test_a_customer_rates_a_delivered_shipment_once() -> None:
    shipment = test_shipment.book()
    with pytest.raises(CommandRefused) as early:
        shipment.rate_by_customer(test_shipment.ctx(1, "buyer@huaxin"), rating=4)
    assert early.value.rule == "rating.before_delivery"
    shipment = test_shipment.delivered()
    assert shipment.status is ShipmentStatus.DELIVERED
    with pytest.raises(InvalidValue) as out_of_range:
        shipment.rate_by_customer(test_shipment.ctx(71, "buyer@huaxin"), rating=0)
    assert (out_of_range.value.rule, out_of_range.value.field) == ("rating.range", "rating")
    shipment.rate_by_customer(test_shipment.ctx(71, "buyer@huaxin"), rating=5, comment=" ok ")
    rating = shipment.customer_rating
    assert rating is not None
    assert (rating.rating, rating.comment, rating.rated_by) == (5, "ok", "buyer@huaxin")
    assert shipment.evaluation is None  # our evaluation is another matter
    with pytest.raises(CommandRefused) as again:
        shipment.rate_by_customer(test_shipment.ctx(72, "buyer@huaxin"), rating=1)
    assert again.value.rule == "rating.already_given"


def test_a_shipment_snapshot_of_before_ratings_loads_unrated() -> None:
    shipment = test_shipment.delivered()
    snapshot = Snapshot.take(shipment)
    assert snapshot.state["class_version"] == 2
    before = dict(snapshot.state)
    del before["class_version"], before["customer_rating"]  # as v1 snapshots were taken
    restored = replace(snapshot, state=before).mutate(None)
    assert isinstance(restored, Shipment)
    assert restored.customer_rating is None
    assert restored.links == shipment.links
    restored.rate_by_customer(test_shipment.ctx(71, "buyer@huaxin"), rating=3)


def test_company_names_compare_normalised() -> None:
    assert company_key("Acme Trading, Ltd.") == company_key(" ACME trading ltd ")
    assert company_key("苏州华芯电子有限公司") != company_key("苏州华芯电子")
    assert prospect_id_for(company_key("Acme Trading, Ltd.")) == prospect_id_for("acmetradingltd")
