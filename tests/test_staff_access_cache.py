"""Each process keeps the staff members its tokens identified and forgets one the moment
their access changes, in this process or any other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from application.store.database import Database
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.branches import register_test_branches
from tests.conftest import truncate_all
from tests.staffing import enroll
from tests.waiting import wait_until


@pytest.fixture
def two_processes(database: Database) -> Iterator[tuple[Services, Services]]:
    """Two API processes on one database (two services, each with its own listener)."""
    truncate_all(database)
    a, b = Services.open(database), Services.open(database)
    register_test_branches(a)
    yield a, b
    a.close()
    b.close()


def test_a_token_revoked_in_one_process_stops_in_the_other_when_the_change_commits(
    two_processes: tuple[Services, Services],
) -> None:
    a, b = two_processes
    token = enroll(a, "zhang.min", "Zhang Min", roles=(Role.HQ,))
    with TestClient(create_app(b)) as in_b:
        me = {"Authorization": f"Bearer {token}"}
        assert in_b.get("/v1/staff/me", headers=me).status_code == 200
        assert b.staff_access.cached(token) is not None  # kept: no lookup next time
        heard = b.staff_access.changes
        staff = a.app.staff.get_staff("zhang.min")
        a.app.staff.revoke_staff_token(
            a.app.context("admin"), "zhang.min", token_id=next(iter(staff.tokens))
        )
        wait_until(lambda: b.staff_access.changes > heard)  # the change's notification arrived
        assert b.staff_access.cached(token) is None
        assert in_b.get("/v1/staff/me", headers=me).status_code == 401


def test_the_staff_commands_forget_in_the_cache_the_requests_read(services: Services) -> None:
    assert services.staff_access is services.app.staff_access


def test_a_process_that_may_miss_changes_keeps_nothing(services: Services) -> None:
    token = enroll(services, "zhang.min", "Zhang Min", roles=(Role.HQ,))
    with TestClient(create_app(services)) as client:
        me = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/staff/me", headers=me).status_code == 200
        assert services.staff_access.cached(token) is not None
        services.staff_access.listening(False)  # as when its listening connection drops
        assert services.staff_access.cached(token) is None
        assert client.get("/v1/staff/me", headers=me).status_code == 200
        assert services.staff_access.cached(token) is None  # asked again, kept nothing
