"""Staff members for tests, enrolled the way an administrator would."""

from __future__ import annotations

from uuid import UUID

from domain.staff import Role
from interface.runtime import Services


def enroll(
    services: Services,
    staff_id: str,
    name: str,
    *,
    roles: tuple[Role, ...] = (Role.HQ,),
    branch: str = "Headquarters",
    partner_id: UUID | None = None,
    customer_id: UUID | None = None,
) -> str:
    """A bearer token for the staff member, registered and granted ``roles`` if needed;
    with ``partner_id``, a partner user of that partner (no branch, the partner role); with
    ``customer_id``, a customer user of that customer (no branch, the customer role)."""
    app = services.app
    if partner_id is not None:
        branch, roles = "", (Role.PARTNER,)
    if customer_id is not None:
        branch, roles = "", (Role.CUSTOMER,)
    return app.staff.enroll(
        app.context("admin"),
        staff_id=staff_id,
        name=name,
        branch=branch,
        roles=roles,
        partner_id=partner_id,
        customer_id=customer_id,
    )


def set_password(services: Services, staff_id: str, password: str) -> None:
    """The staff member's console password, set the way an administrator would."""
    app = services.app
    app.staff.set_password(app.context("admin"), staff_id, password=password)
