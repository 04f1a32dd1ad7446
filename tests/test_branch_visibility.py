"""What a branch sees of another branch, walked from the permission matrix.

A staff member of Suzhou holding every branch role calls every endpoint of the matrix
they may call, naming the records of Shanghai: in the path, in the body of every command
that names another record, in every query parameter that takes an id. A record Shanghai
owns (a customer or prospect, its shipments, opportunities and cases) must be answered
exactly as a record that does not exist: same status, same problem, nothing of it in any
answer (no name, no reference, no id the request did not carry), and nothing of it
changed. Shanghai's partners and competitors are the company's: read as headquarters
reads them, named in commands like Suzhou's own, commanded by Shanghai and headquarters
only (403).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from application.service import Fullchain
from domain.base import CommandContext, InvalidValue
from domain.liability import TransportMode
from domain.marketing import SegmentRules
from domain.offering import Lane, ServiceLevel
from domain.relationship import RelationshipKind
from domain.service_case import CaseKind, Priority
from domain.shipment import (
    Cargo,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    Party,
    ResponsibilityBasis,
)
from domain.staff import Role
from interface.http.app import create_app
from interface.http.route_table import table
from interface.runtime import Services
from tests.clock import NOW
from tests.staffing import enroll

BRANCH_ROLES = frozenset({Role.FIELD_STAFF, Role.OFFICE_STAFF, Role.BRANCH_MANAGER})
OURS, THEIRS = "Suzhou", "Shanghai"

#: Business times count from here: thirty days ago, on the hour.
START = NOW - timedelta(days=30)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


@dataclass(frozen=True)
class Branch:
    """One branch's records: a customer with a contact, a prospect, a partner and a
    competitor with its profile, a shipment with an incident and a claim, an open
    opportunity and a service case."""

    customer: UUID
    prospect: UUID
    partner: UUID
    competitor: UUID
    shipment: UUID
    incident: UUID
    claim: UUID
    opportunity: UUID
    case: UUID
    #: Text only the records the branch owns hold.
    secrets: tuple[str, ...]

    @property
    def owned(self) -> dict[str, UUID]:
        """The records the branch owns, by what they are (not the partner, competitor)."""
        return {
            "customer": self.customer,
            "prospect": self.prospect,
            "shipment": self.shipment,
            "opportunity": self.opportunity,
            "case": self.case,
        }


def set_up_branch(services: Services, branch: str, offering: UUID, tag: str, shared: str) -> Branch:
    """The branch's records; its own hold ``tag`` in their text, its partner and
    competitor ``shared``."""
    app = services.app

    def ctx(hours: float) -> CommandContext:
        return app.context("qian.lin", occurred_at=at(hours))

    def register(name: str, kind: RelationshipKind) -> UUID:
        return app.relationships.register_relationship(
            ctx(0),
            name=name,
            kind=kind,
            industry="electronics",
            region="East China",
            branch=branch,
        ).aggregate_id

    customer = register(f"{tag} Customer Co", RelationshipKind.CUSTOMER)
    prospect = register(f"{tag} Prospect Co", RelationshipKind.PROSPECT)
    partner = register(f"{shared} Airline", RelationshipKind.PARTNER)
    competitor = register(f"{shared} Forwarder", RelationshipKind.COMPETITOR)
    app.sales.start_competitor_profile(ctx(1), competitor, strengths=[f"{shared} strength"])
    app.relationships.add_contact(ctx(1), customer, contact_id="c1", name=f"{tag} Contact Person")
    links = [
        LinkPlan(LinkFunction.PICKUP, Party.our_branch(branch), at(10), at(16), TransportMode.ROAD),
        LinkPlan(
            LinkFunction.MAIN_CARRIAGE, Party.partner(partner), at(16), at(40), TransportMode.AIR
        ),
    ]
    shipment = app.shipments.book_shipment(
        ctx(2),
        customer_id=customer,
        reference=f"{tag}-REF-001",
        origin=f"{tag} origin",
        destination="Chicago, IL, US",
        cargo=Cargo(
            description=f"{tag} cargo",
            packages=10,
            gross_weight_kg=Decimal("100"),
            declared_value=Decimal("1000"),
            currency="USD",
        ),
        links=links,
    ).aggregate_id
    app.shipments.start_link(ctx(10), shipment, sequence=1)
    incident, claim = uuid4(), uuid4()
    app.shipments.report_incident(
        ctx(11),
        shipment,
        incident_id=incident,
        link_sequence=1,
        kind=IncidentKind.DAMAGE,
        description=f"{tag} incident",
        packages_affected=1,
    )
    app.shipments.file_claim(
        ctx(12),
        shipment,
        claim_id=claim,
        incident_id=incident,
        amount=Decimal("50"),
        currency="USD",
    )
    opportunity = app.sales.identify_opportunity(
        ctx(3),
        relationship_id=customer,
        title=f"{tag} deal",
        offering_id=offering,
        expected_value=Decimal("1000"),
        currency="USD",
        probability=Decimal("0.5"),
        competitor_ids=[competitor],
    ).aggregate_id
    case = app.cases.open_case(
        ctx(13),
        relationship_id=customer,
        kind=CaseKind.COMPLAINT,
        priority=Priority.HIGH,
        subject=f"{tag} complaint",
        description=f"{tag} crushed cartons",
        shipment_id=shipment,
        incident_id=incident,
    ).aggregate_id
    return Branch(
        customer=customer,
        prospect=prospect,
        partner=partner,
        competitor=competitor,
        shipment=shipment,
        incident=incident,
        claim=claim,
        opportunity=opportunity,
        case=case,
        secrets=(tag,),
    )


@dataclass
class World:
    client: TestClient
    ours: Branch
    theirs: Branch
    offering: UUID
    #: A running campaign of headquarters' (its segment: every relationship).
    campaign: UUID
    staff: dict[str, str]  # our branch staff, all branch roles
    hq: dict[str, str]
    services: Services

    def versions(self) -> dict[str, int]:
        app = self.services.app
        return {
            "customer": app.relationships.get_relationship(self.theirs.customer).version,
            "prospect": app.relationships.get_relationship(self.theirs.prospect).version,
            "partner": app.relationships.get_relationship(self.theirs.partner).version,
            "competitor": app.relationships.get_relationship(self.theirs.competitor).version,
            "profile": app.sales.get_competitor_profile(self.theirs.competitor).version,
            "shipment": app.shipments.get_shipment(self.theirs.shipment).version,
            "opportunity": app.sales.get_opportunity(self.theirs.opportunity).version,
            "case": app.cases.get_service_case(self.theirs.case).version,
        }


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    app = services.app
    offering = app.sales.launch_offering(
        app.context("qian.lin", occurred_at=at(-1)),
        name="Shanghai–Chicago air",
        lane=Lane.of("Shanghai", "Chicago", TransportMode.AIR),
        service_level=ServiceLevel.DOOR_TO_DOOR,
        transit_days=5,
    ).aggregate_id
    theirs = set_up_branch(services, THEIRS, offering, "Zhenhai", "Pudong")
    ours = set_up_branch(services, OURS, offering, "Wujiang", "Taihu")
    staff = enroll(services, "li.wei", "Li Wei", roles=tuple(BRANCH_ROLES), branch=OURS)
    hq = enroll(services, "qian.lin", "Qian Lin")
    segment = app.marketing.define_segment(
        app.context("qian.lin"), name="Everyone", rules=SegmentRules()
    ).aggregate_id
    campaign = app.marketing.plan_campaign(
        app.context("qian.lin"),
        name="Spring",
        segment_id=segment,
        offering_id=offering,
        starts_on=NOW.date(),
        ends_on=NOW.date() + timedelta(days=30),
        budget=Decimal("1000.00"),
        currency="USD",
    ).aggregate_id
    app.marketing.start_campaign(app.context("qian.lin"), campaign)
    for projection in services.projections:
        services.worker(projection).catch_up()
    with TestClient(create_app(services)) as client:
        yield World(
            client=client,
            ours=ours,
            theirs=theirs,
            offering=offering,
            campaign=campaign,
            staff={"Authorization": f"Bearer {staff}"},
            hq={"Authorization": f"Bearer {hq}"},
            services=services,
        )


# --- what an answer says, and what it must not say ------------------------------------


#: What may differ between two answers to the same read: the time of asking, and the day
#: a customer-value fit is for (none until the first fit, made in the background).
VOLATILE = ("as_of", "model_value_as_of")


def answer(response: Response, named: dict[str, str]) -> tuple[int, str, Any]:
    """The answer with every id the request named replaced by its role in the request
    (``relationship_id``, ``competitor_id``…), so answers about different records
    compare; ``VOLATILE`` left out."""
    text = response.text
    for role, value in named.items():
        text = text.replace(value, f"<{role}>")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, dict):
        for volatile in VOLATILE:
            body.pop(volatile, None)
    return response.status_code, response.headers.get("content-type", ""), body


def leaked(response: Response, theirs: Branch, named: dict[str, str]) -> list[str]:
    """What of the other branch's own records the answer shows that the request did not
    carry itself."""
    text = response.text
    shown = [s for s in theirs.secrets if s in text]
    carried = set(named.values())
    shown += [
        f"{what} id"
        for what, rid in theirs.owned.items()
        if str(rid) in text and str(rid) not in carried
    ]
    shown += [
        f"{what} id"
        for what, rid in (("incident", theirs.incident), ("claim", theirs.claim))
        if str(rid) in text and str(rid) not in carried
    ]
    return shown


# --- bodies that pass validation, for any command ---------------------------------------

PATTERN_EXAMPLES = {
    "^[A-Za-z]{3}$": "USD",
    "^[0-9a-f]{64}$": "0" * 64,
    "^[A-Za-z0-9_.:@-]+$": "li.wei",
}


def example(schema: dict[str, Any], components: dict[str, Any], ids: Callable[[], str]) -> Any:
    """A small value the schema accepts: required properties only, first choices."""
    if "$ref" in schema:
        return example(components[schema["$ref"].split("/")[-1]], components, ids)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            choices = [s for s in schema[key] if s.get("type") != "null"]
            return example(choices[0], components, ids)
    if "allOf" in schema:
        return example(schema["allOf"][0], components, ids)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: example(properties[name], components, ids) for name in schema.get("required", [])
        }
    if kind == "array":
        return [example(schema["items"], components, ids) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "uuid":
        return ids()
    if schema.get("format") == "date-time":
        return at(20).isoformat()
    if schema.get("format") == "date":
        return at(20).date().isoformat()
    if "pattern" in schema:
        return PATTERN_EXAMPLES[schema["pattern"]]
    return "x" * max(1, schema.get("minLength", 1))


def bodies(world: World, method: str, path: str) -> list[dict[str, Any]]:
    """An empty body, and one with every required field, as the document's schema first
    offers it (ids in it name nothing)."""
    if method != "POST":
        return [{}]
    document = world.client.app.openapi()  # type: ignore[attr-defined]
    operation = document["paths"][path]["post"]
    content = operation["requestBody"]["content"]
    if "application/json" not in content:
        return [{}]  # an upload (multipart): refused or let in before its form is read
    schema = content["application/json"]["schema"]
    fixed = str(uuid4())
    return [{}, example(schema, document["components"]["schemas"], lambda: fixed)]


# --- the walk -----------------------------------------------------------------------------


def branch_endpoints(world: World) -> list[tuple[str, str]]:
    declared = table(world.client.app.routes)  # type: ignore[attr-defined]
    return sorted(e for e, roles in declared.items() if roles & BRANCH_ROLES)


def call(
    world: World, method: str, path: str, values: dict[str, str], body: dict[str, Any], as_: str
) -> Response:
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    headers = world.staff if as_ == "staff" else world.hq
    response: Response = (
        world.client.get(url, headers=headers)
        if method == "GET"
        else world.client.post(url, headers=headers, json=body)
    )
    return response


def path_variants(world: World, path: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The other branch's own records named in the path, each way they can be."""
    t = world.theirs
    names = re.findall(r"\{(\w+)\}", path)
    base = {
        "shipment_id": str(t.shipment),
        "incident_id": str(t.incident),
        "claim_id": str(t.claim),
        "opportunity_id": str(t.opportunity),
        "case_id": str(t.case),
        "partner_id": str(t.customer),  # a customer named as a partner
        "contact_id": "c1",
        "sequence": "1",
        "number": "1",
        "interaction_id": str(uuid4()),
        "sha256": "0" * 64,
        "purpose": "marketing",
    }
    if "relationship_id" in names:
        for what in ("customer", "prospect"):
            yield what, {**base, "relationship_id": str(getattr(t, what))}
    else:
        yield "theirs", base


#: The path parameters that name what a branch owns, or a member of it.
OWNED_IN_PATH = {"relationship_id", "shipment_id", "opportunity_id", "case_id", "partner_id"}


def missing(values: dict[str, str]) -> dict[str, str]:
    """The same path naming records nobody has."""
    return {
        name: (str(uuid4()) if name.endswith("_id") and name != "contact_id" else value)
        for name, value in values.items()
    }


def named(path: str, values: dict[str, str]) -> dict[str, str]:
    """The ids the path names, by the parameter naming them."""
    return {name: values[name] for name in re.findall(r"\{(\w+_id)\}", path)}


def test_the_records_of_another_branch_answer_as_records_that_do_not_exist(
    world: World,
) -> None:
    before = world.versions()
    problems: list[str] = []
    walked = 0
    for method, path in branch_endpoints(world):
        if not set(re.findall(r"\{(\w+)\}", path)) & OWNED_IN_PATH:
            continue  # offerings belong to no branch
        for what, values in path_variants(world, path):
            for body in bodies(world, method, path):
                nobody = missing(values)
                expected = call(world, method, path, nobody, body, "staff")
                got = call(world, method, path, values, body, "staff")
                walked += 1
                if answer(got, named(path, values)) != answer(expected, named(path, nobody)):
                    problems.append(
                        f"{method} {path} ({what}, body {'empty' if not body else 'valid'}): "
                        f"{got.status_code} {got.text[:160]} — but for a record nobody has: "
                        f"{expected.status_code} {expected.text[:160]}"
                    )
                for shown in leaked(got, world.theirs, named(path, values)):
                    problems.append(f"{method} {path} ({what}) shows their {shown}")
    assert walked > 150
    assert problems == [], "\n".join(problems)
    assert world.versions() == before


def test_partners_and_competitors_are_read_by_every_branch_and_commanded_by_their_own(
    world: World,
) -> None:
    t = world.theirs
    before = world.versions()
    problems: list[str] = []
    for method, path in branch_endpoints(world):
        if "{relationship_id}" not in path and "{partner_id}" not in path:
            continue
        for what in ("partner", "competitor"):
            rid = str(getattr(t, what))
            values = {
                "relationship_id": rid,
                "partner_id": rid,
                "contact_id": "c1",
                "interaction_id": str(uuid4()),
                "sha256": "0" * 64,
                "purpose": "marketing",
            }
            for body in bodies(world, method, path):
                got = call(world, method, path, values, body, "staff")
                if method == "GET":
                    seen = call(world, method, path, values, body, "hq")
                    if answer(got, {}) != answer(seen, {}):
                        problems.append(
                            f"GET {path} ({what}): {got.status_code} {got.text}, "
                            f"headquarters: {seen.status_code} {seen.text}"
                        )
                elif got.status_code != 403:
                    problems.append(f"POST {path} ({what}): {got.status_code} {got.text[:160]}")
                for shown in leaked(got, t, values):
                    problems.append(f"{method} {path} ({what}) shows their {shown}")
    assert problems == [], "\n".join(problems)
    assert world.versions() == before
    # They are read: the relationship, the partner's scorecard, the competitor's profile.
    h = world.staff
    assert world.client.get(f"/v1/relationships/{t.partner}", headers=h).status_code == 200
    assert world.client.get(f"/v1/partners/{t.partner}/scorecard", headers=h).status_code == 200
    profile = world.client.get(f"/v1/competitors/{t.competitor}/profile", headers=h)
    assert profile.status_code == 200
    assert profile.json()["strengths"] == ["Pudong strength"]


def uuid_query_parameters(world: World, path: str) -> list[str]:
    document = world.client.app.openapi()  # type: ignore[attr-defined]
    names = []
    for parameter in document["paths"][path]["get"].get("parameters", []):
        schemas = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
        if parameter["in"] == "query" and any(s.get("format") == "uuid" for s in schemas):
            names.append(parameter["name"])
    return names


def test_lists_show_nothing_another_branch_owns_whatever_they_are_asked(world: World) -> None:
    t = world.theirs
    problems: list[str] = []
    lists = [p for m, p in branch_endpoints(world) if m == "GET" and "{" not in p]
    # Headquarters see it all: the lists do hold what the branch must not see.
    everything = world.client.get("/v1/relationships", headers=world.hq).text
    assert "Zhenhai Customer Co" in everything
    for path in lists:
        plain = world.client.get(path, headers=world.staff)
        problems += [f"GET {path} shows their {s}" for s in leaked(plain, t, {})]
        for name in uuid_query_parameters(world, path):
            for what, rid in (*t.owned.items(), ("incident", t.incident)):
                params = {name: str(rid)}
                got = world.client.get(path, params=params, headers=world.staff)
                nobody = world.client.get(path, params={name: str(uuid4())}, headers=world.staff)
                if answer(got, {}) != answer(nobody, {}):
                    problems.append(
                        f"GET {path}?{name}=<their {what}>: {got.status_code} {got.text[:160]}"
                        f" — for an id nobody has: {nobody.status_code} {nobody.text[:160]}"
                    )
                problems += [
                    f"GET {path}?{name}=<their {what}> shows their {s}"
                    for s in leaked(got, t, params)
                ]
    assert problems == [], "\n".join(problems)
    # Partners and competitors of every branch are listed: the company's.
    listed = world.client.get("/v1/relationships", headers=world.staff).json()["items"]
    names = {r["name"] for r in listed}
    assert {"Pudong Airline", "Pudong Forwarder", "Wujiang Customer Co"} <= names
    assert "Zhenhai Customer Co" not in names


# --- what a command names in its body ------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A field of a command's body that names another record."""

    method: str
    path: str
    field: str  # as the document spells it: links[].party.relationship_id
    #: The other branch's own records it could name, which must be as unknown as no record.
    hidden: tuple[str, ...]
    #: The other branch's company-wide record it names as ours would be named, if any.
    shared: str | None = None


def booking(customer_id: str, party: str) -> dict[str, Any]:
    """A shipment for the customer, carried by the partner."""
    return {
        "customer_id": customer_id,
        "reference": "WJ-REF-002",
        "origin": "Wujiang, CN",
        "destination": "Chicago, IL, US",
        "cargo": {
            "description": "cartons",
            "packages": 1,
            "gross_weight_kg": "10",
            "declared_value": "100",
            "currency": "USD",
        },
        "links": [
            {
                "function": "main_carriage",
                "party": {"kind": "partner", "relationship_id": party},
                "planned_start": at(50).isoformat(),
                "planned_end": at(60).isoformat(),
                "mode": "air",
            }
        ],
        "occurred_at": at(49).isoformat(),
    }


def deal(world: World, relationship_id: str) -> dict[str, Any]:
    return {
        "relationship_id": relationship_id,
        "title": "more cartons",
        "offering_id": str(world.offering),
        "expected_value": "100",
        "currency": "USD",
        "probability": "0.5",
        "occurred_at": at(20).isoformat(),
    }


def case(relationship_id: str) -> dict[str, Any]:
    return {
        "relationship_id": relationship_id,
        "kind": "inquiry",
        "subject": "rates?",
        "description": "to Chicago",
    }


def follow_up(subject_kind: str, subject_id: str) -> dict[str, Any]:
    return {
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "kind": "call",
        "due_at": "2026-03-05T10:00:00+08:00",
    }


def care_plan(relationship_id: str) -> dict[str, Any]:
    return {
        "relationship_id": relationship_id,
        "kind": "visit",
        "every": 1,
        "unit": "months",
        "first_due_at": "2026-03-05T10:00:00+08:00",
    }


def references(world: World) -> list[tuple[Reference, str, Callable[[str], dict[str, Any]]]]:
    """Every reference field with a body that is right in every other respect (our own
    records), as a function of the id the field names."""
    o = world.ours
    reason = {"reason": "moving on"}
    customer = str(o.customer)
    shipment = f"/v1/shipments/{o.shipment}"
    opportunity = f"/v1/opportunities/{o.opportunity}"
    return [
        (
            Reference("POST", "/v1/shipments", "customer_id", ("customer", "prospect")),
            "/v1/shipments",
            lambda rid: booking(rid, str(o.partner)),
        ),
        (
            Reference(
                "POST", "/v1/shipments", "links[].party.relationship_id", ("customer",), "partner"
            ),
            "/v1/shipments",
            lambda rid: booking(customer, rid),
        ),
        (
            Reference(
                "POST",
                "/v1/shipments/{shipment_id}/links/{sequence}/reassign",
                "party.relationship_id",
                ("customer",),
                "partner",
            ),
            f"{shipment}/links/2/reassign",
            lambda rid: {"party": {"kind": "partner", "relationship_id": rid}, **reason},
        ),
        (
            Reference("POST", "/v1/opportunities", "relationship_id", ("customer", "prospect")),
            "/v1/opportunities",
            lambda rid: deal(world, rid),
        ),
        (
            Reference("POST", "/v1/opportunities", "competitor_ids[]", ("customer",), "competitor"),
            "/v1/opportunities",
            lambda rid: {**deal(world, customer), "competitor_ids": [rid]},
        ),
        (
            Reference(
                "POST",
                "/v1/opportunities/{opportunity_id}/involve-competitor",
                "competitor_id",
                ("customer",),
                "competitor",
            ),
            f"{opportunity}/involve-competitor",
            lambda rid: {"competitor_id": rid},
        ),
        (
            Reference(
                "POST",
                "/v1/opportunities/{opportunity_id}/lost",
                "competitor_id",
                ("customer",),
                "competitor",
            ),
            f"{opportunity}/lost",
            lambda rid: {"reason": "price", "explanation": "cheaper", "competitor_id": rid},
        ),
        (
            Reference(
                "POST",
                "/v1/relationships/{relationship_id}/mark-lost",
                "lost_to_competitor_id",
                ("customer",),
                "competitor",
            ),
            f"/v1/relationships/{o.customer}/mark-lost",
            lambda rid: {"reason": "cheaper", "lost_to_competitor_id": rid},
        ),
        (
            Reference("POST", "/v1/cases", "relationship_id", ("customer", "prospect")),
            "/v1/cases",
            lambda rid: case(rid),
        ),
        (
            Reference("POST", "/v1/cases", "shipment_id", ("shipment",)),
            "/v1/cases",
            lambda sid: {**case(customer), "shipment_id": sid},
        ),
        (
            Reference("POST", "/v1/cases", "incident_id", ("incident",)),
            "/v1/cases",
            lambda iid: {**case(customer), "shipment_id": str(o.shipment), "incident_id": iid},
        ),
        (
            Reference("POST", "/v1/shipments/{shipment_id}/claims", "incident_id", ("incident",)),
            f"{shipment}/claims",
            lambda iid: {"incident_id": iid, "amount": "10", "currency": "USD"},
        ),
        *(
            (
                Reference("POST", "/v1/follow-ups", "subject_id", hidden),
                "/v1/follow-ups",
                partial(follow_up, subject_kind),
            )
            for subject_kind, hidden in (
                ("relationship", ("customer", "prospect")),
                ("shipment", ("shipment",)),
                ("opportunity", ("opportunity",)),
                ("case", ("case",)),
            )
        ),
        (
            Reference("POST", "/v1/care-plans", "relationship_id", ("customer", "prospect")),
            "/v1/care-plans",
            care_plan,
        ),
        (
            Reference(
                "POST",
                "/v1/campaigns/{campaign_id}/responses",
                "relationship_id",
                ("customer", "prospect"),
            ),
            f"/v1/campaigns/{world.campaign}/responses",
            lambda rid: {"relationship_id": rid, "response": "interested"},
        ),
    ]


#: Ids a command chooses for what it creates: unique across the company, so one already
#: taken is refused whoever holds it — answered alike for another branch's and our own.
NEW_IDS = {
    ("POST", "/v1/relationships", "relationship_id"): "customer",
    ("POST", "/v1/shipments", "shipment_id"): "shipment",
    ("POST", "/v1/opportunities", "opportunity_id"): "opportunity",
    ("POST", "/v1/cases", "case_id"): "case",
    # Ids are unique across aggregates of every kind: a customer's is taken for a follow-up.
    ("POST", "/v1/follow-ups", "follow_up_id"): "customer",
    ("POST", "/v1/care-plans", "care_plan_id"): "customer",
    # A member of the command's own aggregate: another aggregate's members are no concern.
    ("POST", "/v1/relationships/{relationship_id}/interactions", "interaction_id"): None,
    ("POST", "/v1/relationships/{relationship_id}/care-actions", "care_id"): None,
    ("POST", "/v1/shipments/{shipment_id}/incidents", "incident_id"): None,
    ("POST", "/v1/shipments/{shipment_id}/claims", "claim_id"): None,
    ("POST", "/v1/offerings", "offering_id"): None,
}
#: References to what belongs to no branch: offerings are the company's.
NO_BRANCH = {
    ("POST", "/v1/opportunities", "offering_id"),
    ("POST", "/v1/opportunities/{opportunity_id}/change-offering", "offering_id"),
    ("POST", "/v1/public/quote-requests", "offering_id"),
    ("POST", "/v1/campaigns", "offering_id"),
}
#: Segments and campaigns belong to the branch whose manager made them (headquarters': to
#: none), not to a relationship: another branch's is named as none, and a new one's id
#: already taken is refused (tests/test_marketing.py).
MARKETING = {
    ("POST", "/v1/segments", "segment_id"),
    ("POST", "/v1/campaigns", "campaign_id"),
    ("POST", "/v1/campaigns", "segment_id"),
    ("POST", "/v1/opportunities", "source_campaign_id"),
    ("POST", "/v1/relationships/{relationship_id}/interactions", "campaign_id"),
}


def uuid_fields(schema: dict[str, Any], components: dict[str, Any], prefix: str) -> Iterator[str]:
    if "$ref" in schema:
        yield from uuid_fields(components[schema["$ref"].split("/")[-1]], components, prefix)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for choice in schema.get(key, []):
            yield from uuid_fields(choice, components, prefix)
    if schema.get("format") == "uuid":
        yield prefix
    if schema.get("type") == "array":
        yield from uuid_fields(schema["items"], components, prefix + "[]")
    for name, item in schema.get("properties", {}).items():
        yield from uuid_fields(item, components, f"{prefix}.{name}" if prefix else name)


def test_every_id_a_command_body_takes_is_known_to_the_walk(world: World) -> None:
    document = world.client.app.openapi()  # type: ignore[attr-defined]
    found = set()
    for method, path in branch_endpoints(world):
        operation = document["paths"][path][method.lower()]
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            schema = content["application/json"]["schema"]
            for field in uuid_fields(schema, document["components"]["schemas"], ""):
                found.add((method, path, field))
    walked = {(r.method, r.path, r.field) for r, _, _ in references(world)}
    assert found == walked | set(NEW_IDS) | NO_BRANCH | MARKETING


def test_a_command_naming_another_branchs_record_is_answered_as_naming_none(
    world: World,
) -> None:
    t = world.theirs
    before = world.versions()
    problems: list[str] = []
    theirs = {**t.owned, "incident": t.incident}
    shared: list[tuple[Reference, str, Callable[[str], dict[str, Any]]]] = []
    for reference, url, body in references(world):
        for what in reference.hidden:
            rid = str(theirs[what])
            nobody = str(uuid4())
            expected = world.client.post(url, json=body(nobody), headers=world.staff)
            got = world.client.post(url, json=body(rid), headers=world.staff)
            if answer(got, {"id": rid}) != answer(expected, {"id": nobody}):
                problems.append(
                    f"{reference.path} {reference.field}=<their {what}>: {got.status_code} "
                    f"{got.text[:200]} — for an id nobody has: {expected.status_code} "
                    f"{expected.text[:200]}"
                )
            problems += [
                f"{reference.path} {reference.field}=<their {what}> shows their {s}"
                for s in leaked(got, t, {"id": rid})
            ]
        if reference.shared:
            shared.append((reference, url, body))
    assert problems == [], "\n".join(problems)
    assert world.versions() == before
    # Their partners and competitors are named as ours are (these change our records).
    for reference, url, body in shared:
        assert reference.shared is not None
        rid = str(getattr(t, reference.shared))
        got = world.client.post(url, json=body(rid), headers=world.staff)
        assert got.status_code in (200, 201), (reference, got.text)


def test_an_id_taken_by_another_branch_is_refused_as_one_taken_by_our_own(world: World) -> None:
    customer, partner = str(world.ours.customer), str(world.ours.partner)
    creations: dict[str, dict[str, Any]] = {
        "/v1/relationships": {
            "name": "X",
            "kind": "prospect",
            "industry": "x",
            "region": "x",
            "branch": OURS,
        },
        "/v1/shipments": booking(customer, partner),
        "/v1/opportunities": deal(world, customer),
        "/v1/cases": case(customer),
        "/v1/follow-ups": follow_up("relationship", customer),
        "/v1/care-plans": care_plan(customer),
    }
    problems: list[str] = []
    for (_, path, field), what in NEW_IDS.items():
        if what is None:
            continue
        outcome = []
        for branch in (world.theirs, world.ours):
            rid = str(getattr(branch, what))
            response = world.client.post(
                path, json={**creations[path], field: rid}, headers=world.staff
            )
            assert response.status_code == 409, (path, response.text)
            outcome.append(answer(response, {"id": rid}))
            problems += [
                f"{path} {field} shows their {s}"
                for s in leaked(response, world.theirs, {"id": rid})
            ]
        if outcome[0] != outcome[1]:
            problems.append(f"{path} {field}: {outcome[0]} — taken by our own: {outcome[1]}")
    assert problems == [], "\n".join(problems)


# --- in the service ---------------------------------------------------------------------


def test_a_customer_moved_away_by_another_process_is_no_longer_named_here(
    services: Services,
) -> None:
    """The branch a record belongs to is read as the log has it now: this process's cached
    copy of a customer, from before another process moved it to another branch, does not
    let this branch's staff go on naming it."""
    app = services.app
    offering = app.sales.launch_offering(
        app.context("qian.lin", occurred_at=at(-1)),
        name="Suzhou–Chicago air",
        lane=Lane.of("Suzhou", "Chicago", TransportMode.AIR),
        service_level=ServiceLevel.DOOR_TO_DOOR,
        transit_days=5,
    ).aggregate_id
    customer = app.relationships.register_relationship(
        app.context("qian.lin", occurred_at=at(0)),
        name="Wujiang Customer Co",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch=OURS,
    ).aggregate_id

    def ours(hours: float) -> CommandContext:
        return app.context("li.wei", occurred_at=at(hours), branch_scope=OURS)

    def deal(hours: float) -> UUID:
        return app.sales.identify_opportunity(
            ours(hours),
            relationship_id=customer,
            title="more cartons",
            offering_id=offering,
            expected_value=Decimal("100"),
            currency="USD",
            probability=Decimal("0.5"),
        ).aggregate_id

    deal(1)  # this process now holds the customer, of Suzhou, in its cache
    other = Fullchain(services.database)
    try:
        other.relationships.move_to_branch(
            other.context("qian.lin", occurred_at=at(2)),
            customer,
            region="East China",
            branch=THEIRS,
        )
    finally:
        other.close()
    with pytest.raises(InvalidValue) as refused:
        deal(3)
    assert (refused.value.field, refused.value.rule) == (
        "relationship_id",
        "relationship_id.unknown",
    )
    # Headquarters, and the branch it belongs to now, still name it.
    assert app.relationships.get_relationship(customer).branch == THEIRS
    theirs = app.context("zhou.hui", occurred_at=at(4), branch_scope=THEIRS)
    assert (
        app.cases.open_case(
            theirs,
            relationship_id=customer,
            kind=CaseKind.INQUIRY,
            priority=Priority.NORMAL,
            subject="rates?",
            description="to Chicago",
        ).version
        == 1
    )


# --- the branch of a link ------------------------------------------------------------------

#: What staff of a branch that runs a link of another branch's shipment may call on it,
#: naming their link, besides reading it; every other command of it is refused (403).
LINK_ENDPOINTS = {
    "/v1/shipments/{shipment_id}/links/{sequence}/start",
    "/v1/shipments/{shipment_id}/links/{sequence}/complete",
    "/v1/shipments/{shipment_id}/links/{sequence}/delays",
    "/v1/shipments/{shipment_id}/handovers",
    "/v1/shipments/{shipment_id}/deliver",
    "/v1/shipments/{shipment_id}/incidents",
    "/v1/shipments/{shipment_id}/incidents/{incident_id}/actions",
    "/v1/shipments/{shipment_id}/incidents/{incident_id}/accept",
    "/v1/shipments/{shipment_id}/incidents/{incident_id}/dispute",
    "/v1/shipments/{shipment_id}/incidents/{incident_id}/attachments",
    "/v1/shipments/{shipment_id}/handovers/{number}/attachments",
}

#: The fields of a link command's body that name a link.
LINK_FIELDS = ("to_sequence", "link_sequence")


def test_the_branch_of_a_link_reads_the_shipment_and_runs_its_links_commands_only(
    world: World,
) -> None:
    """Shanghai books a shipment whose last link our branch runs: Suzhou reads it as
    headquarters do, runs the commands of link 3 (not of Shanghai's link 1), and every other
    command of the shipment is refused with the reason."""
    app, t = world.services.app, world.theirs

    def ctx(hours: float) -> CommandContext:
        return app.context("qian.lin", occurred_at=at(hours))

    plans = [
        LinkPlan(LinkFunction.PICKUP, Party.our_branch(THEIRS), at(10), at(16), TransportMode.ROAD),
        LinkPlan(
            LinkFunction.MAIN_CARRIAGE, Party.partner(t.partner), at(16), at(40), TransportMode.AIR
        ),
        LinkPlan(LinkFunction.DELIVERY, Party.our_branch(OURS), at(40), at(50), TransportMode.ROAD),
    ]
    shipment = app.shipments.book_shipment(
        ctx(2),
        customer_id=t.customer,
        reference="Zhenhai-REF-002",
        origin="Zhenhai origin",
        destination="Suzhou, CN",
        cargo=Cargo(
            description="Zhenhai cargo",
            packages=1,
            gross_weight_kg=Decimal("10"),
            declared_value=Decimal("100"),
            currency="USD",
        ),
        links=plans,
    ).aggregate_id
    app.shipments.start_link(ctx(10), shipment, sequence=1)
    incidents = {}
    for sequence in (1, 3):
        incidents[sequence] = uuid4()
        app.shipments.report_incident(
            ctx(11),
            shipment,
            incident_id=incidents[sequence],
            link_sequence=sequence,
            kind=IncidentKind.DELAY,
            description="Zhenhai delay",
        )
        app.shipments.assign_responsibility(
            ctx(12),
            shipment,
            incident_id=incidents[sequence],
            link_sequence=sequence,
            basis=ResponsibilityBasis.LINK_OF_INCIDENT,
            explanation="where it happened",
        )
    for projection in world.services.projections:
        world.services.worker(projection).catch_up()

    def values(link: int) -> dict[str, str]:
        return {
            "shipment_id": str(shipment),
            "incident_id": str(incidents[link]),
            "claim_id": str(t.claim),
            "sequence": str(link),
            "number": str(link),
            "sha256": "0" * 64,
        }

    def naming(body: dict[str, Any], link: int) -> dict[str, Any]:
        return {**body, **{f: link for f in LINK_FIELDS if f in body}}

    problems: list[str] = []
    endpoints = [e for e in branch_endpoints(world) if "{shipment_id}" in e[1]]
    for method, path in endpoints:
        for body in bodies(world, method, path):
            got = call(world, method, path, values(3), naming(body, 3), "staff")
            if method == "GET":
                seen = call(world, method, path, values(3), body, "hq")
                if (got.status_code, got.text) != (seen.status_code, seen.text):
                    problems.append(f"GET {path}: {got.status_code}, hq {seen.status_code}")
            elif path in LINK_ENDPOINTS:
                if got.status_code in (403, 404):
                    problems.append(f"POST {path} (link 3): {got.status_code} {got.text[:160]}")
                theirs = call(world, method, path, values(1), naming(body, 1), "staff")
                last_link = path.endswith("/deliver")
                if body and not last_link and theirs.status_code != 403:
                    problems.append(f"POST {path} (link 1): {theirs.status_code}")
            elif got.status_code != 403 or "no command of a link" not in got.text:
                problems.append(f"POST {path}: {got.status_code} {got.text[:160]}")
    assert problems == [], "\n".join(problems)
    assert {p for m, p in endpoints if m == "POST"} >= LINK_ENDPOINTS
