"""Every endpoint fuzzed against the service's own OpenAPI document: no answer is a 5xx,
and every answer is one the document declares (status, content type, body).

Twice: as a staff member of headquarters who is also an administrator, so no permission
check hides an endpoint; and as field staff of another branch, so the refusals are
fuzzed too. Each operation is its own test, on a fresh database holding a customer with a
contact, partners, a shipment under way with an incident and a claim, and staff; about
half of the requests name those, the others ids nobody knows. Afterwards every read
model must still take in whatever the fuzzing got accepted (a poison event stops a
projection for good). Generation is derandomized and small, so a run is reproducible and
takes a few minutes: ``make test`` leaves it out, ``make fuzz`` (and CI) runs it.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast
from uuid import uuid4

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from domain.base import CommandContext
from domain.relationship import Channel, Direction
from domain.shipment import Condition, IncidentKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_shipment_commands import at, book, parties

pytestmark = pytest.mark.fuzz

#: The document the service publishes at /openapi.json; building it reads no database.
DOCUMENT: dict[str, Any] = create_app(cast(Services, None)).openapi()


def schema(*, coverage: bool) -> OpenApiSchema:
    """The document to fuzz; with the coverage phase (boundaries and every kind of invalid
    input, each operation's many cases), or with random cases only."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20250303,
            "phases": {"coverage": {"enabled": coverage}},
            # A read that waits for a position the read model has not reached answers 503
            # with Retry-After, as documented (status_code_conformance checks that).
            "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
        }
    )
    return schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=config)


ALL_INPUTS = schema(coverage=True)
#: Refusals come before any input is looked at: random cases find what they can.
RANDOM_INPUTS = schema(coverage=False)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class World:
    """The app over a database with data to find, and the ids that name that data."""

    app: FastAPI
    known: dict[str, list[str]]


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    app = services.app
    p = parties(app)
    sid = book(app, p)

    def ctx(hours: float) -> CommandContext:
        return app.context("zhang.min", occurred_at=at(hours))

    app.relationships.add_contact(
        ctx(1), p.customer, contact_id="c1", name="王芳", phone="+86 512 6666 0000"
    )
    app.relationships.log_interaction(
        ctx(2),
        p.customer,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="quarterly review",
        staff="zhang.min",
        contact_id="c1",
    )
    app.shipments.start_link(ctx(3), sid, sequence=1)
    app.shipments.hand_over(
        ctx(4), sid, to_sequence=1, condition=Condition.GOOD, signed_by="driver Chen"
    )
    incident = uuid4()
    app.shipments.report_incident(
        ctx(5),
        sid,
        incident_id=incident,
        link_sequence=1,
        kind=IncidentKind.DAMAGE,
        description="2 cartons crushed at loading",
        packages_affected=2,
    )
    claim = uuid4()
    app.shipments.file_claim(
        ctx(6), sid, claim_id=claim, incident_id=incident, amount=Decimal("800"), currency="USD"
    )
    enroll(services, "li.wei", "Li Wei 李伟", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    _, token_id, _ = app.staff.issue_staff_token(app.context("admin"), "li.wei", label="tablet")
    catch_up(services)
    yield World(
        app=create_app(services),
        known={
            "relationship_id": [str(p.customer), str(p.airline)],
            "partner_id": [str(p.airline)],
            "shipment_id": [str(sid)],
            "incident_id": [str(incident)],
            "claim_id": [str(claim)],
            "contact_id": ["c1"],
            "sequence": ["1", "2"],
            "staff_id": ["li.wei"],
            "token_id": [str(token_id)],
        },
    )
    # Whatever the fuzzing had accepted, every read model can still take it in.
    catch_up(services)


def catch_up(services: Services) -> None:
    for projection in services.projections:
        services.worker(projection).catch_up()


@pytest.fixture
def headquarters(services: Services) -> str:
    return enroll(services, "fuzz.hq", "Qian Lin 钱琳", roles=(Role.HQ, Role.ADMIN))


@pytest.fixture
def field_staff(services: Services) -> str:
    return enroll(
        services, "fuzz.field", "Ma Jun 马俊", roles=(Role.FIELD_STAFF,), branch="Kunming"
    )


def call(world: World, token: str, case: Case[Any]) -> None:
    """Send the case, naming known resources about half the time, and check the answer."""
    for name, value in (case.path_parameters or {}).items():
        # Chosen by a checksum of the generated value, so that a run is reproducible.
        pick = zlib.crc32(repr(value).encode())
        if name in world.known and pick % 2:
            known = world.known[name]
            case.path_parameters[name] = known[pick // 2 % len(known)]
    query = case.query if case.query is not None else {}
    wait = query.get("wait")
    if "min_position" in query and (
        wait is None or (isinstance(wait, int | float) and not isinstance(wait, bool))
    ):
        # No worker runs: waiting for a later position only slows the run down to its 503.
        query["wait"] = 0
    case.call_and_validate(
        app=world.app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
    )


@ALL_INPUTS.parametrize()
@FUZZ
def test_headquarters_get_only_documented_answers(
    case: Case[Any], world: World, headquarters: str
) -> None:
    call(world, headquarters, case)


@RANDOM_INPUTS.parametrize()
@FUZZ
def test_field_staff_of_another_branch_are_refused_cleanly(
    case: Case[Any], world: World, field_staff: str
) -> None:
    call(world, field_staff, case)


def test_the_fuzzed_document_is_the_one_served(world: World) -> None:
    with TestClient(world.app) as client:
        served: dict[str, Any] = client.get("/openapi.json").json()
    assert served == DOCUMENT
