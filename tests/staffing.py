"""Staff members for tests, enrolled the way an administrator would."""

from __future__ import annotations

from domain.staff import Role
from interface.runtime import Services


def enroll(
    services: Services,
    staff_id: str,
    name: str,
    *,
    roles: tuple[Role, ...] = (Role.HQ,),
    branch: str = "Headquarters",
) -> str:
    """A bearer token for the staff member, registered and granted ``roles`` if needed."""
    app = services.app
    return app.enroll(
        app.context("admin"), staff_id=staff_id, name=name, branch=branch, roles=roles
    )
