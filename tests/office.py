"""A branch office over HTTP for tests: staff enrolled with their roles and branches, each
with a token, and a client of the service that calls as any of them by name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.selling import get, post
from tests.staffing import enroll

# Who calls, by name: (staff id, role, branch).
Staff = Mapping[str, tuple[str, Role, str]]


@dataclass
class Office:
    client: TestClient
    tokens: dict[str, str]
    services: Services

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(
        self,
        who: str,
        path: str,
        body: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return post(self.client, path, body, status, headers=self.auth(who) | (headers or {}))

    def get(self, who: str, path: str, expect: int = 200, **params: Any) -> Any:
        return get(self.client, path, expect, headers=self.auth(who), **params)


@contextmanager
def open_office(services: Services, staff: Staff) -> Iterator[Office]:
    """The office of ``staff`` on ``services``, its workers running."""
    services.start_workers()
    tokens = {
        who: enroll(services, staff_id, staff_id, roles=(role,), branch=branch)
        for who, (staff_id, role, branch) in staff.items()
    }
    with TestClient(create_app(services)) as client:
        yield Office(client, tokens, services)
