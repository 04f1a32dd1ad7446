"""Customer self-service (自我服务) over HTTP on real PostgreSQL with live workers and a pinned
clock: a customer user registered by its branch manager sees its own customer's shipments
(where the goods are, who holds them, handovers, incidents; none of our costs, claims or
staff), downloads its invoices and proof of delivery, rates a delivered shipment once,
opens cases and requests quotes, each with itself as the actor; it sees nothing of any
other customer. The public quote form matches or registers a prospect, and is rate limited
per client address on an injected clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.self_service import company_key, prospect_id_for
from domain.base import CommandRefused
from domain.evidence import EvidenceTarget
from domain.liability import TransportMode
from domain.relationship import RelationshipKind
from domain.shipment import Condition, IncidentKind, LinkFunction, LinkPlan, Party, Shipment
from domain.staff import Role
from interface.http.app import create_app
from interface.http.deps import declared_roles
from interface.http.route_table import table
from interface.http.self_service import QuoteRequestLimit
from interface.runtime import Services
from tests.clock import NOW
from tests.selling import get, post
from tests.staffing import enroll
from tests.test_shipment_commands import LAPTOPS, START, at, register

INCIDENT = UUID("00000000-0000-4000-8000-00000000d001")
PDF = b"%PDF-1.4\n% signed proof of delivery\n%%EOF\n"


@dataclass
class World:
    client: TestClient
    services: Services
    ours: UUID
    theirs: UUID
    delivered: UUID
    moving: UUID
    foreign: UUID
    offering: str
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, expect: int = 200, **params: Any) -> Any:
        return get(self.client, path, expect, headers=self.auth(who), **params)

    def post(self, who: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        return post(self.client, path, body, status, headers=self.auth(who))


def one_link_shipment(services: Services, customer: UUID, reference: str) -> UUID:
    app = services.app
    suzhou = Party.our_branch("Suzhou")
    return app.shipments.book_shipment(
        app.context("zhang.min", occurred_at=at(-48)),
        customer_id=customer,
        reference=reference,
        origin="Suzhou Industrial Park, CN",
        destination="Shanghai Pudong, CN",
        cargo=LAPTOPS,
        links=[LinkPlan(LinkFunction.DELIVERY, suzhou, at(0), at(12), TransportMode.ROAD)],
    ).aggregate_id


def deliver(services: Services, sid: UUID) -> None:
    app = services.app
    app.shipments.start_link(app.context("zhang.min", occurred_at=at(1)), sid, sequence=1)
    app.shipments.hand_over(
        app.context("zhang.min", occurred_at=at(1)),
        sid,
        to_sequence=1,
        condition=Condition.GOOD,
        signed_by="Driver Wang",
    )
    app.shipments.deliver(
        app.context("zhang.min", occurred_at=at(10)),
        sid,
        condition=Condition.GOOD,
        signed_by="Li Ming, receiving",
        proof_of_delivery="POD-PVG-001",
        remarks="120 cartons received",
    )


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    app = services.app
    ours = register(app, "苏州华芯电子有限公司", RelationshipKind.CUSTOMER)
    theirs = register(app, "苏州另一电子有限公司", RelationshipKind.CUSTOMER)
    delivered = one_link_shipment(services, ours, "SZV-1")
    deliver(services, delivered)
    stored = app.evidence.put(PDF)
    app.shipments.attach_evidence(
        app.context("zhang.min", occurred_at=at(11)),
        delivered,
        target=EvidenceTarget.HANDOVER,
        target_id="2",
        sha256=stored.sha256,
        size=stored.size,
        media_type="application/pdf",
        file_name="pod signed.pdf",
    )
    app.shipments.report_incident(
        app.context("zhang.min", occurred_at=at(12)),
        delivered,
        incident_id=INCIDENT,
        link_sequence=1,
        kind=IncidentKind.DAMAGE,
        description="2 cartons dented at unloading",
        packages_affected=2,
        weight_affected_kg=Decimal("30"),
    )
    app.shipments.invoice_shipment(
        app.context("he.xiaoli", occurred_at=at(20)),
        delivered,
        invoice_number="INV-2026/001",
        amount=Decimal("9450.00"),
        currency="CNY",
    )
    app.shipments.plan_link_cost(
        app.context("zhang.min", occurred_at=at(-47)),
        moving := one_link_shipment(services, ours, "SZV-2"),
        sequence=1,
        amount=Decimal("777.00"),
        currency="CNY",
    )
    foreign = one_link_shipment(services, theirs, "SZV-3")
    deliver(services, foreign)
    tokens = {
        "hq": enroll(services, "li.na", "Li Na"),
        "manager": enroll(
            services, "zhou.hui", "Zhou Hui", roles=(Role.BRANCH_MANAGER,), branch="Suzhou"
        ),
        "shanghai": enroll(
            services, "chen.jing", "Chen Jing", roles=(Role.BRANCH_MANAGER,), branch="Shanghai"
        ),
        "field": enroll(
            services, "zhou.min", "Zhou Min", roles=(Role.FIELD_STAFF,), branch="Suzhou"
        ),
        "other": enroll(services, "buyer.other", "Other buyer", customer_id=theirs),
    }
    services.start_workers()
    with TestClient(create_app(services)) as client:
        offering = post(
            client,
            "/v1/offerings",
            {
                "name": "Suzhou–Chicago air",
                "origin": "Suzhou",
                "destination": "Chicago",
                "mode": "air",
                "service_level": "door_to_door",
                "transit_days": 5,
                "occurred_at": (START - timedelta(days=20)).isoformat(),
            },
            201,
            headers={"Authorization": f"Bearer {tokens['hq']}"},
        )["aggregate_id"]
        w = World(client, services, ours, theirs, delivered, moving, foreign, offering, tokens)
        registered = w.post(
            "manager",
            f"/v1/relationships/{ours}/customer-users",
            {"staff_id": "buyer.huaxin", "name": "Wang Fang"},
            201,
        )
        tokens["buyer"] = registered["token"]
        yield w


def fresh(w: World, who: str, path: str, expect: int = 200) -> Any:
    """A read once the read models have caught up with everything written so far."""
    with w.services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
    assert row is not None
    return get(w.client, path, expect, min_position=int(row[0]), headers=w.auth(who))


def actor_of_last(w: World, aggregate_id: UUID | str) -> str:
    with w.services.database.connect() as conn:
        row = conn.execute(
            "SELECT topic, state FROM fullchain_events WHERE originator_id = %s "
            "ORDER BY originator_version DESC LIMIT 1",
            (UUID(str(aggregate_id)),),
        ).fetchone()
    assert row is not None
    state = bytes(row[1]).decode()
    match = re.search(r'"actor":\s*"([^"]+)"', state)
    assert match is not None, state
    return match.group(1)


def test_a_branch_manager_registers_a_customer_user_and_others_may_not(world: World) -> None:
    w = world
    body = {"staff_id": "buyer.two", "name": "Second buyer"}
    path = f"/v1/relationships/{w.ours}/customer-users"
    w.post("field", path, body, 403)
    missing = w.post("shanghai", path, body, 404)  # another branch's customer: as none
    none = w.post("shanghai", f"/v1/relationships/{uuid4()}/customer-users", body, 404)
    assert missing["title"] == none["title"]
    partner = register(w.services.app, "江苏顺达公路运输有限公司", RelationshipKind.PARTNER)
    refused = w.post("hq", f"/v1/relationships/{partner}/customer-users", body, 409)
    assert refused["rule"] == "customer_user.not_customer"
    me = w.get("buyer", "/v1/staff/me")
    assert (me["roles"], me["branch"], me["customer_id"]) == (["customer"], "", str(w.ours))
    user = w.services.app.staff.get_staff("buyer.huaxin")
    assert (user.roles, user.branch, user.customer_id) == ({Role.CUSTOMER}, "", w.ours)
    # The customer role is a customer user's only: our staff cannot be granted it.
    app = w.services.app
    with pytest.raises(CommandRefused) as granted:
        app.staff.grant_role(app.context("admin"), "zhou.min", role=Role.CUSTOMER)
    assert granted.value.rule == "role.customer_users_only"


def test_a_customer_user_sees_its_shipments_and_nothing_of_our_costs(world: World) -> None:
    w = world
    listed = fresh(w, "buyer", "/v1/self-service/shipments")
    assert [item["reference"] for item in listed["items"]] == ["SZV-1", "SZV-2"]
    view = fresh(w, "buyer", f"/v1/self-service/shipments/{w.delivered}")
    assert view["status"] == "delivered"
    assert view["links"][0]["party"] == {"kind": "branch", "name": "Suzhou"}
    assert view["links"][0]["handover_in"]["condition"] == "good"
    delivery = view["links"][0]["handover_out"]
    assert delivery["reference"] == "POD-PVG-001"
    assert [f["file_name"] for f in delivery["attachments"]] == ["pod signed.pdf"]
    assert view["incidents"] == [
        {
            "incident_id": str(INCIDENT),
            "link_sequence": 1,
            "kind": "damage",
            "discovered_at": view["incidents"][0]["discovered_at"],
            "description": "2 cartons dented at unloading",
            "resolved": False,
        }
    ]
    text = str(view)
    for secret in ("cost", "claims", "evaluation", "signed_by", "zhang.min", "customer_id"):
        assert secret not in text, secret
    moving = fresh(w, "buyer", f"/v1/self-service/shipments/{w.moving}")
    assert moving["status"] == "booked"
    assert "777" not in str(moving)
    assert moving["current_holder"] is None


def test_another_customers_records_answer_as_none(world: World) -> None:
    w = world
    for path in (
        "/v1/self-service/shipments/{}",
        "/v1/self-service/shipments/{}/invoices",
        "/v1/self-service/shipments/{}/proof-of-delivery",
    ):
        theirs = w.get("buyer", path.format(w.foreign), 404)
        nobody = w.get("buyer", path.format(uuid4()), 404)
        assert theirs["title"] == nobody["title"]
        assert "SZV-3" not in str(theirs)
    rated = w.post("buyer", f"/v1/self-service/shipments/{w.foreign}/rating", {"rating": 5}, 404)
    assert "SZV-3" not in str(rated)
    # Their own user does not see ours either.
    w.get("other", f"/v1/self-service/shipments/{w.delivered}", 404)
    listed = fresh(w, "other", "/v1/self-service/shipments")
    assert [item["reference"] for item in listed["items"]] == ["SZV-3"]
    case = {"kind": "complaint", "subject": "Late", "description": "It was late"}
    theirs = w.post("buyer", "/v1/self-service/cases", {**case, "shipment_id": str(w.foreign)}, 422)
    nobody = w.post("buyer", "/v1/self-service/cases", {**case, "shipment_id": str(uuid4())}, 422)
    assert theirs["errors"][0]["field"] == nobody["errors"][0]["field"] == "shipment_id"
    assert theirs["rule"] == nobody["rule"] == "shipment_id.unknown"


def test_invoices_and_the_proof_of_delivery_download(world: World) -> None:
    w = world
    invoices = w.get("buyer", f"/v1/self-service/shipments/{w.delivered}/invoices")
    assert invoices == [
        {
            "invoice_number": "INV-2026/001",
            "amount": "9450.00",
            "currency": "CNY",
            "invoiced_at": invoices[0]["invoiced_at"],
        }
    ]
    w.get("buyer", f"/v1/self-service/shipments/{w.delivered}/invoices/INV-9", 404)
    pod = fresh(w, "buyer", f"/v1/self-service/shipments/{w.delivered}/proof-of-delivery")
    assert (pod["reference"], pod["condition"], pod["signed_by"]) == (
        "POD-PVG-001",
        "good",
        "Li Ming, receiving",
    )
    [attached] = pod["attachments"]
    got = w.client.get(
        f"/v1/self-service/shipments/{w.delivered}/proof-of-delivery/{attached['sha256']}",
        headers=w.auth("buyer"),
    )
    assert (got.status_code, got.content) == (200, PDF)
    assert got.headers["content-type"] == "application/pdf"
    w.get("buyer", f"/v1/self-service/shipments/{w.moving}/proof-of-delivery", 404)


def test_an_invoice_downloads_as_csv(world: World) -> None:
    w = world
    app = w.services.app
    app.shipments.invoice_shipment(
        app.context("he.xiaoli", occurred_at=at(21)),
        w.delivered,
        invoice_number="INV-7",
        amount=Decimal("120.50"),
        currency="CNY",
    )
    got = w.client.get(
        f"/v1/self-service/shipments/{w.delivered}/invoices/INV-7", headers=w.auth("buyer")
    )
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert 'filename="invoice-INV-7.csv"' in got.headers["content-disposition"]
    lines = got.text.splitlines()
    assert lines[1].split(",")[:2] == ["INV-7", "SZV-1"]
    assert "120.50" in lines[1]
    w.get("other", f"/v1/self-service/shipments/{w.delivered}/invoices/INV-7", 404)


def test_a_delivered_shipment_is_rated_once_by_the_customer_user(world: World) -> None:
    w = world
    path = "/v1/self-service/shipments/{}/rating"
    early = w.post("buyer", path.format(w.moving), {"rating": 4}, 409)
    assert early["rule"] == "rating.before_delivery"
    bad = w.post("buyer", path.format(w.delivered), {"rating": 6}, 422)
    assert bad["errors"][0]["field"] == "rating"
    rated = w.post("buyer", path.format(w.delivered), {"rating": 4, "comment": "Well handled"})
    assert actor_of_last(w, w.delivered) == "buyer.huaxin"
    again = w.post("buyer", path.format(w.delivered), {"rating": 5}, 409)
    assert again["rule"] == "rating.already_given"
    shipment: Shipment = w.services.app.shipments.get_shipment(w.delivered)
    assert shipment.customer_rating is not None
    assert (shipment.customer_rating.rating, shipment.customer_rating.rated_by) == (
        4,
        "buyer.huaxin",
    )
    view = get(
        w.client,
        f"/v1/self-service/shipments/{w.delivered}",
        min_position=rated["position"],
        headers=w.auth("buyer"),
    )
    assert (view["customer_rating"]["rating"], view["customer_rating"]["comment"]) == (
        4,
        "Well handled",
    )
    assert view["version"] == rated["version"]


def test_cases_and_quote_requests_are_the_customer_users_commands(world: World) -> None:
    w = world
    opened = w.post(
        "buyer",
        "/v1/self-service/cases",
        {
            "kind": "complaint",
            "subject": "Cartons arrived wet",
            "description": "Two cartons of SZV-1 were wet on arrival",
            "shipment_id": str(w.delivered),
        },
        201,
    )
    assert actor_of_last(w, opened["aggregate_id"]) == "buyer.huaxin"
    cases = get(
        w.client,
        "/v1/self-service/cases",
        min_position=opened["position"],
        headers=w.auth("buyer"),
    )
    assert [(c["kind"], c["subject"], c["status"]) for c in cases["items"]] == [
        ("complaint", "Cartons arrived wet", "open")
    ]
    assert get(w.client, "/v1/self-service/cases", headers=w.auth("other"))["items"] == []
    # The office sees it as any case, opened by the customer user.
    case = get(
        w.client,
        f"/v1/cases/{opened['aggregate_id']}",
        min_position=opened["position"],
        headers=w.auth("manager"),
    )
    assert (case["opened_by"], case["priority"]) == ("buyer.huaxin", "normal")

    quote = {
        "offering_id": w.offering,
        "subject": "Monthly 2 t of chips to Chicago",
        "indicative_value": "60000",
        "currency": "USD",
    }
    requested = w.post("buyer", "/v1/self-service/quote-requests", quote, 201)
    assert actor_of_last(w, requested["aggregate_id"]) == "buyer.huaxin"
    opportunity = get(
        w.client,
        f"/v1/opportunities/{requested['aggregate_id']}",
        min_position=requested["position"],
        headers=w.auth("manager"),
    )
    assert (opportunity["stage"], opportunity["relationship_id"]) == ("generation", str(w.ours))
    assert opportunity["title"] == "Quote request: Monthly 2 t of chips to Chicago"
    unknown = w.post(
        "buyer", "/v1/self-service/quote-requests", {**quote, "offering_id": str(uuid4())}, 422
    )
    assert unknown["errors"][0]["field"] == "offering_id"


def test_a_customer_user_reads_the_active_offerings_to_request_a_quote_for(
    world: World,
) -> None:
    w = world
    retired = post(
        w.client,
        "/v1/offerings",
        {
            "name": "Suzhou–Chicago sea",
            "origin": "Suzhou",
            "destination": "Chicago",
            "mode": "sea",
            "service_level": "port_to_port",
            "transit_days": 30,
            "occurred_at": (START - timedelta(days=19)).isoformat(),
        },
        201,
        headers=w.auth("hq"),
    )
    done = post(
        w.client,
        f"/v1/offerings/{retired['aggregate_id']}/retire",
        {
            "reason": "no sailings this season",
            "occurred_at": (START - timedelta(days=18)).isoformat(),
        },
        headers=w.auth("hq"),
    )
    page = get(
        w.client,
        "/v1/self-service/offerings",
        min_position=done["position"],
        headers=w.auth("buyer"),
    )
    assert [(o["offering_id"], o["label"]) for o in page["items"]] == [
        (w.offering, "Suzhou → Chicago, air, door to door, 5 days")
    ]
    assert set(page["items"][0]) == {
        "offering_id",
        "label",
        "name",
        "origin",
        "destination",
        "mode",
        "service_level",
        "transit_days",
    }
    w.get("field", "/v1/self-service/offerings", 403)


#: The endpoints every role may call.
EVERYONES = {"/v1/staff/me", "/v1/audit/public-key", "/v1/audit/verifier-key"}


def test_a_customer_user_is_refused_every_endpoint_but_its_own(world: World) -> None:
    """Every endpoint of the route table: 403 where the customer role is not declared;
    where it is, another customer's record answers 404, exactly as none."""
    w = world
    declared = table(w.client.app.routes)  # type: ignore[attr-defined]
    values = {
        "shipment_id": str(w.foreign),
        "relationship_id": str(w.theirs),
        "partner_id": str(w.theirs),
        "invoice_number": "INV-1",
        "sha256": "0" * 64,
    }
    own = 0
    for (method, path), roles in sorted(declared.items()):
        url = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid4())), path)
        response = (
            w.client.get(url, headers=w.auth("buyer"))
            if method == "GET"
            else w.client.request(method, url, json={}, headers=w.auth("buyer"))
        )
        if path.startswith("/v1/public/"):
            assert response.status_code != 403, (method, path)
        elif Role.CUSTOMER not in roles:
            assert response.status_code == 403, (method, path, response.status_code)
        elif roles == frozenset(Role):  # everyone's: who they are, the log's public key
            assert path in EVERYONES, path
        else:
            own += 1
            assert path.startswith("/v1/self-service/"), path
            if "{shipment_id}" in path:
                assert response.status_code == 404, (method, path, response.text)
                assert "SZV-3" not in response.text
    assert own == 11
    routes = [r for r in w.client.app.routes if getattr(r, "path", "").startswith("/v1/self")]  # type: ignore[attr-defined]
    assert all(declared_roles(r) == frozenset({Role.CUSTOMER}) for r in routes)


# --- the public form ------------------------------------------------------------------------


class StepClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def public_body(offering: str, **overrides: Any) -> dict[str, Any]:
    return {
        "company": "Acme Trading, Ltd.",
        "industry": "machinery",
        "region": "East China",
        "branch": "Suzhou",
        "contact_name": "Jane Doe",
        "email": "jane@acme.example",
        "offering_id": offering,
        "subject": "Two containers a month to Chicago",
        "indicative_value": "80000",
        "currency": "USD",
        **overrides,
    }


def test_a_prospect_requests_a_quote_with_no_account(world: World) -> None:
    w = world
    w.client.app.state.quote_request_limit = QuoteRequestLimit(  # type: ignore[attr-defined]
        StepClock(NOW), limit=100
    )
    first = post(w.client, "/v1/public/quote-requests", public_body(w.offering), 201)
    assert first["new_prospect"] is True
    assert first["relationship_id"] == str(prospect_id_for(company_key("Acme Trading, Ltd.")))
    prospect = get(
        w.client,
        f"/v1/relationships/{first['relationship_id']}",
        min_position=first["position"],
        headers=w.auth("manager"),
    )
    assert (prospect["kind"], prospect["branch"], prospect["name"]) == (
        "prospect",
        "Suzhou",
        "Acme Trading, Ltd.",
    )
    opportunity = get(
        w.client,
        f"/v1/opportunities/{first['opportunity_id']}",
        min_position=first["position"],
        headers=w.auth("manager"),
    )
    assert (opportunity["stage"], opportunity["relationship_id"]) == (
        "generation",
        first["relationship_id"],
    )
    assert actor_of_last(w, first["opportunity_id"]) == "public:quote-form"
    # The same company, written otherwise: matched, no second prospect.
    again = post(
        w.client,
        "/v1/public/quote-requests",
        public_body(w.offering, company="ACME TRADING LTD"),
        201,
    )
    assert (again["new_prospect"], again["relationship_id"]) == (False, first["relationship_id"])
    # A key chosen by one requester replays nothing to another: each is a request.
    keyed = [
        w.client.post(
            "/v1/public/quote-requests",
            json=public_body(w.offering, subject=subject),
            headers={"Idempotency-Key": "k1"},
        )
        for subject in ("first by key", "second by key")
    ]
    assert [r.status_code for r in keyed] == [201, 201]
    assert keyed[0].json()["opportunity_id"] != keyed[1].json()["opportunity_id"]
    assert "Idempotent-Replayed" not in keyed[1].headers
    # A customer we know: matched by its name.
    known = post(
        w.client,
        "/v1/public/quote-requests",
        public_body(w.offering, company=" 苏州华芯电子有限公司 "),
        201,
    )
    assert (known["new_prospect"], known["relationship_id"]) == (False, str(w.ours))


def test_the_public_form_validates_its_input(world: World) -> None:
    w = world
    w.client.app.state.quote_request_limit = QuoteRequestLimit(  # type: ignore[attr-defined]
        StepClock(NOW), limit=100
    )

    def field(status: int, **overrides: Any) -> str:
        answer = post(
            w.client, "/v1/public/quote-requests", public_body(w.offering, **overrides), status
        )
        return str(answer["errors"][0]["field"])

    assert field(422, email="not an email").endswith("email")
    assert field(422, branch="Atlantis") == "branch"
    assert field(422, offering_id=str(uuid4())) == "offering_id"
    assert field(422, indicative_value="-5").endswith("indicative_value")
    assert field(422, company="!!!") == "company"
    with w.services.database.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM fullchain_events WHERE topic LIKE 'Relationship.Registered%%' "
        ).fetchone()
    assert row is not None
    assert int(row[0]) == 2


def test_the_public_form_is_rate_limited_per_client_address(world: World) -> None:
    w = world
    clock = StepClock(NOW)
    w.client.app.state.quote_request_limit = QuoteRequestLimit(  # type: ignore[attr-defined]
        clock, limit=2, window=timedelta(minutes=10)
    )
    body = public_body(w.offering)
    post(w.client, "/v1/public/quote-requests", body, 201)
    clock.now = NOW + timedelta(minutes=4)
    post(w.client, "/v1/public/quote-requests", body, 201)
    clock.now = NOW + timedelta(minutes=5)
    refused = w.client.post("/v1/public/quote-requests", json=body)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "300"  # until the first leaves the window
    clock.now = NOW + timedelta(minutes=10)
    post(w.client, "/v1/public/quote-requests", body, 201)
    refused = w.client.post("/v1/public/quote-requests", json=body)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "240")
    # Another address has a limit of its own.
    limit: QuoteRequestLimit = w.client.app.state.quote_request_limit  # type: ignore[attr-defined]
    assert limit.admit("203.0.113.9") is None
