"""Staff members and partner users: who may hold which role, and stored registrations of
before partner users load as our staff."""

from __future__ import annotations

import json
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.base import CommandRefused, InvalidValue
from domain.staff import Role, Staff
from tests.domain.test_relationship import ctx, mapper

AIRLINE = UUID("00000000-0000-4000-8000-00000000a001")


def test_a_partner_user_belongs_to_the_partner_and_holds_the_partner_role_only() -> None:
    user = Staff.register(
        ctx(), staff_id="desk@air", name="PVG cargo desk", branch="", partner_id=AIRLINE
    )
    assert (user.partner_id, user.branch, user.is_partner_user) == (AIRLINE, "", True)
    user.grant(ctx(), role=Role.PARTNER)
    assert user.roles == {Role.PARTNER}
    with pytest.raises(CommandRefused) as staff_role:
        user.grant(ctx(), role=Role.OFFICE_STAFF)
    assert staff_role.value.rule == "role.partner_users_only"
    with pytest.raises(CommandRefused) as branch:
        user.move_to_branch(ctx(), branch="Chicago")
    assert branch.value.rule == "branch.partner_user"
    with pytest.raises(InvalidValue) as both:
        Staff.register(ctx(), staff_id="x", name="X", branch="Chicago", partner_id=AIRLINE)
    assert both.value.rule == "branch.partner_user"


def test_our_staff_never_hold_the_partner_role() -> None:
    staff = Staff.register(ctx(), staff_id="li.wei", name="Li Wei", branch="Suzhou")
    assert staff.partner_id is None
    with pytest.raises(CommandRefused) as refused:
        staff.grant(ctx(), role=Role.PARTNER)
    assert refused.value.rule == "role.partner_users_only"


def test_a_stored_v1_registration_loads_as_our_staff_member() -> None:
    v1_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2025-03-01T08:00:00+00:00"},
        "originator_topic": "Staff",
        "actor": "admin",
        "command_id": "c-1",
        "correlation_id": "c-1",
        "causation_id": "c-1",
        "occurred_at": {"_type_": "datetime_iso", "_data_": "2025-03-01T08:00:00+00:00"},
        "staff_id": "li.wei",
        "name": "Li Wei",
        "branch": "Suzhou",
        # v1 had no partner_id and no class_version
    }
    stored = StoredEvent(
        originator_id=Staff.id_for("li.wei"),
        originator_version=1,
        topic="Staff.Registered",
        state=json.dumps(v1_state).encode(),
    )
    event = mapper().to_domain_event(stored)
    assert isinstance(event, Staff.Registered)
    assert event.partner_id is None
    staff = event.mutate(None)
    assert isinstance(staff, Staff)
    assert (staff.branch, staff.partner_id) == ("Suzhou", None)
