"""The console for those who serve themselves, in a real browser against the service on a
real PostgreSQL with live workers: a customer's user (自我服务) follows its own shipments,
opens a service case, requests a quote and downloads a proof of delivery; a partner's user
(协同) signs the handover into the link its company runs and accepts the responsibility
proposed to it. Neither is shown a page of our staff."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from playwright.sync_api import Page, expect

from application.service import Fullchain
from domain.evidence import EvidenceTarget
from domain.liability import TransportMode
from domain.relationship import RelationshipKind
from domain.shipment import Condition, IncidentKind, LinkFunction, LinkPlan, Party
from tests.clock import NOW
from tests.staffing import enroll
from tests.test_console import HUAXIN, Office, browser, in_browser, office, page, sign_in
from tests.test_shipment_commands import LAPTOPS, at, register

__all__ = ["browser", "office", "page"]  # the fixtures of test_console, used here

PDF = b"%PDF-1.4\n% signed proof of delivery\n%%EOF\n"
AIRLINE = "申航国际货运航空有限公司"


@dataclass
class Served:
    office: Office
    moving: UUID  # Huaxin's, in the airline's hands soon: link 2 started, not yet handed in
    delivered: UUID  # Huaxin's, delivered against a signed proof of delivery
    proposed: UUID  # Huaxin's, with an incident whose responsibility is proposed to the airline
    foreign: UUID  # another customer's
    incident: UUID
    airline: UUID


def book(app: Fullchain, customer: UUID, reference: str, links: list[LinkPlan]) -> UUID:
    return app.shipments.book_shipment(
        app.context("zhang.min", occurred_at=at(-48)),
        customer_id=customer,
        reference=reference,
        origin="Suzhou Industrial Park, CN",
        destination="Chicago, IL, US",
        cargo=LAPTOPS,
        links=links,
    ).aggregate_id


def through(app: Fullchain, sid: UUID, sequence: int, hours: float, condition: Condition) -> int:
    """Link ``sequence`` starts and takes the goods (the one before completes); its position."""
    ctx = app.context("zhang.min", occurred_at=at(hours))
    if sequence > 1:
        app.shipments.complete_link(ctx, sid, sequence=sequence - 1)
    app.shipments.start_link(
        app.context("zhang.min", occurred_at=at(hours)), sid, sequence=sequence
    )
    return app.shipments.hand_over(
        app.context("zhang.min", occurred_at=at(hours + 1)),
        sid,
        to_sequence=sequence,
        condition=condition,
        signed_by=f"receiver of link {sequence}",
    ).position


@pytest.fixture
def served(office: Office) -> Served:
    app = office.services.app
    huaxin = UUID(office.huaxin)
    other = register(app, "苏州另一电子有限公司", RelationshipKind.CUSTOMER)
    airline = register(app, AIRLINE, RelationshipKind.PARTNER, branch="Shanghai")
    suzhou, airline_party = Party.our_branch("Suzhou"), Party.partner(airline)

    def chain() -> list[LinkPlan]:
        return [
            LinkPlan(LinkFunction.PICKUP, suzhou, at(0), at(24), TransportMode.ROAD),
            LinkPlan(LinkFunction.MAIN_CARRIAGE, airline_party, at(24), at(48), TransportMode.AIR),
            LinkPlan(LinkFunction.DELIVERY, suzhou, at(48), at(72), TransportMode.ROAD),
        ]

    # In the airline's hands next: Suzhou's pickup is done and the air carriage started.
    moving = book(app, huaxin, "SZV-MOVING-1", chain())
    through(app, moving, 1, 0, Condition.GOOD)
    app.shipments.complete_link(app.context("zhang.min", occurred_at=at(20)), moving, sequence=1)
    app.shipments.start_link(app.context("zhang.min", occurred_at=at(24)), moving, sequence=2)

    # Delivered, with the signed proof of delivery attached.
    delivered = book(
        app,
        huaxin,
        "SZV-DELIVERED-2",
        [LinkPlan(LinkFunction.DELIVERY, suzhou, at(0), at(12), TransportMode.ROAD)],
    )
    through(app, delivered, 1, 1, Condition.GOOD)
    app.shipments.deliver(
        app.context("zhang.min", occurred_at=at(10)),
        delivered,
        condition=Condition.GOOD,
        signed_by="Li Ming, receiving",
        proof_of_delivery="POD-ORD-001",
    )
    stored = app.evidence.put(PDF)
    app.shipments.attach_evidence(
        app.context("zhang.min", occurred_at=at(11)),
        delivered,
        target=EvidenceTarget.HANDOVER,
        target_id="2",
        sha256=stored.sha256,
        size=stored.size,
        media_type="application/pdf",
        file_name="pod-signed.pdf",
    )
    app.shipments.invoice_shipment(
        app.context("zhang.min", occurred_at=at(20)),
        delivered,
        invoice_number="INV-2026-001",
        amount=Decimal("9450.00"),
        currency="CNY",
    )

    # The airline handed the goods over damaged; the responsibility is proposed to it.
    proposed = book(app, huaxin, "SZV-DAMAGED-3", chain())
    through(app, proposed, 1, 0, Condition.GOOD)
    through(app, proposed, 2, 24, Condition.GOOD)
    through(app, proposed, 3, 48, Condition.DAMAGED)
    incident = uuid4()
    recent: datetime = NOW - timedelta(hours=2)
    app.shipments.report_incident(
        app.context("zhang.min", occurred_at=recent),
        proposed,
        incident_id=incident,
        link_sequence=3,
        kind=IncidentKind.DAMAGE,
        description="6 cartons crushed on arrival at the Suzhou depot",
        packages_affected=6,
    )
    app.shipments.assign_responsibility(
        app.context("zhang.min", occurred_at=recent + timedelta(minutes=30)),
        proposed,
        incident_id=incident,
    )

    foreign = book(
        app,
        other,
        "SZV-FOREIGN-9",
        [LinkPlan(LinkFunction.DELIVERY, suzhou, at(0), at(12), TransportMode.ROAD)],
    )
    office.tokens["buyer"] = enroll(
        office.services, "buyer.huaxin", "Wang Fang 王芳", customer_id=huaxin
    )
    office.tokens["other-buyer"] = enroll(
        office.services, "buyer.other", "Other buyer", customer_id=other
    )
    office.tokens["airline"] = enroll(
        office.services, "cargo.desk@sh-air", "PVG cargo desk", partner_id=airline
    )
    launched = office.post(
        "hq",
        "/v1/offerings",
        {
            "name": "Suzhou–Chicago air",
            "origin": "Suzhou",
            "destination": "Chicago",
            "mode": "air",
            "service_level": "door_to_door",
            "transit_days": 5,
        },
        201,
    )
    # The read models have caught up with all of it before the browser reads them.
    office.last_position = launched["position"]
    office.get("buyer", "/v1/self-service/offerings", min_position=office.last_position)
    office.get("buyer", "/v1/self-service/shipments", min_position=office.last_position)
    office.get("airline", "/v1/shipments", min_position=office.last_position)
    return Served(office, moving, delivered, proposed, foreign, incident, airline)


def nav_entries(page: Page) -> list[str]:
    return page.get_by_role("navigation").get_by_role("link").all_inner_texts()


def actor_of_last(office: Office, aggregate_id: UUID | str) -> str:
    """Who the aggregate's last event names as its actor, as the log holds it."""
    with office.services.database.connect() as conn:
        row = conn.execute(
            "SELECT state FROM fullchain_events WHERE originator_id = %s "
            "ORDER BY originator_version DESC LIMIT 1",
            (UUID(str(aggregate_id)),),
        ).fetchone()
    assert row is not None
    match = re.search(r'"actor":\s*"([^"]+)"', bytes(row[0]).decode())
    assert match is not None
    return match.group(1)


def head(office: Office) -> int:
    """The position of the last event written: a read at it sees every write so far."""
    with office.services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
    assert row is not None
    return int(row[0])


def not_for_them(page: Page, office: Office) -> None:
    """Staff pages are neither in the bar nor open by their address."""
    assert nav_entries(page) != []
    assert "My day" not in nav_entries(page)
    expect(page.get_by_role("searchbox")).to_have_count(0)
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.get_by_role("alert")).to_have_text("Your role may not see or do this.")
    expect(page.get_by_role("heading", name=HUAXIN)).to_have_count(0)
    page.goto("/console/search?q=hxdz")
    expect(page.get_by_role("alert")).to_have_text("Your role may not see or do this.")
    page.goto("/console/no-such-page")
    expect(page.get_by_role("alert")).to_have_text("Not found.")


# --- a customer's user --------------------------------------------------------------------------


@in_browser
def test_a_customer_user_follows_its_shipments_opens_a_case_and_requests_a_quote(
    page: Page, served: Served
) -> None:
    office = served.office
    sign_in(page, office, "buyer", home="My shipments")
    expect(page.get_by_text("Signed in as Wang Fang 王芳")).to_be_visible()
    shipments = page.locator("#my-shipments")
    for reference in ("SZV-MOVING-1", "SZV-DELIVERED-2", "SZV-DAMAGED-3"):
        expect(shipments.get_by_role("link", name=reference)).to_be_visible()
    expect(shipments).not_to_contain_text("SZV-FOREIGN-9")
    expect(shipments.locator("tr", has_text="SZV-DELIVERED-2")).to_contain_text("Delivered")
    expect(shipments.locator("tr", has_text="SZV-MOVING-1")).to_contain_text(
        "Suzhou Industrial Park, CN → Chicago, IL, US"
    )
    assert nav_entries(page) == ["My shipments", "API documentation"]

    # A case about one of its shipments: listed at once, held with the user as its actor.
    page.locator("#case-kind").select_option("complaint")
    page.locator("#case-shipment").select_option(label="SZV-DAMAGED-3")
    page.locator("#case-subject").fill("Cartons crushed")
    page.locator("#case-description").fill("Six cartons of SZV-DAMAGED-3 arrived crushed")
    page.locator("#open-case button[type=submit]").click()
    expect(page.locator("#open-case-message")).to_have_text("Case opened.")
    listed = page.locator("#case-list tr", has_text="Cartons crushed")
    expect(listed).to_contain_text("Complaint")
    expect(listed).to_contain_text("Open")
    expect(listed).to_contain_text("SZV-DAMAGED-3")
    cases = office.get("hq", "/v1/cases", min_position=head(office))["items"]
    [case] = [c for c in cases if c["subject"] == "Cartons crushed"]
    assert (case["opened_by"], actor_of_last(office, case["case_id"])) == (
        "buyer.huaxin",
        "buyer.huaxin",
    )
    assert case["shipment_id"] == str(served.proposed)
    # Another customer's user sees none of it.
    assert office.get("other-buyer", "/v1/self-service/cases")["items"] == []

    # A quote for the catalogue's offering.
    expect(page.locator("#quote-offering option")).to_have_count(1)
    page.locator("#quote-subject").fill("Monthly 2 t of chips to Chicago")
    page.locator("#quote-value").fill("60000")
    page.locator("#quote-currency").select_option("USD")
    page.locator("#request-quote button[type=submit]").click()
    expect(page.locator("#request-quote-message")).to_have_text(
        "Quote requested: your account team will answer."
    )
    opportunities = office.get(
        "hq", "/v1/opportunities", relationship_id=office.huaxin, min_position=head(office)
    )
    [quote] = [
        o
        for o in opportunities["items"]
        if o["title"] == "Quote request: Monthly 2 t of chips to Chicago"
    ]
    assert (quote["stage"], actor_of_last(office, quote["opportunity_id"])) == (
        "generation",
        "buyer.huaxin",
    )

    not_for_them(page, office)
    # Another customer's shipment, by its address, is one that does not exist.
    page.goto(f"/console/my/shipments/{served.foreign}")
    expect(page.get_by_role("alert")).to_have_text("Not found.")


@in_browser
def test_a_customer_user_downloads_the_proof_of_delivery_and_rates_the_shipment(
    page: Page, served: Served
) -> None:
    office = served.office
    sign_in(page, office, "buyer", home="My shipments")
    page.locator("#my-shipments").get_by_role("link", name="SZV-DELIVERED-2").click()
    expect(page).to_have_url(re.compile(f"/console/my/shipments/{served.delivered}$"))
    expect(page.get_by_role("heading", name="SZV-DELIVERED-2")).to_be_visible()
    expect(page.locator("[data-field='self.status']")).to_have_text("Delivered")
    expect(page.locator("#chain-links")).to_contain_text("Delivery")
    pod = page.locator("#proof-of-delivery")
    expect(pod).to_contain_text("POD-ORD-001")
    expect(pod).to_contain_text("Li Ming, receiving")

    # The file needs the bearer token: fetched by the page, saved by the browser.
    with page.expect_download() as downloading:
        pod.get_by_role("button", name="Download pod-signed.pdf").click()
    download = downloading.value
    assert download.suggested_filename == "pod-signed.pdf"
    saved = download.path()
    assert saved is not None
    assert saved.read_bytes() == PDF

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download INV-2026-001").click()
    invoice = downloading.value
    assert invoice.suggested_filename == "invoice-INV-2026-001.csv"
    invoice_path = invoice.path()
    assert invoice_path is not None
    assert "INV-2026-001,SZV-DELIVERED-2" in invoice_path.read_text(encoding="utf-8")

    # The rating, once, with the user as its actor.
    page.locator("#rating").select_option("4")
    page.locator("#rating-comment").fill("Well handled")
    page.locator("#rate-shipment button[type=submit]").click()
    expect(page.locator("#rated")).to_have_text("You rated it 4 of 5. — Well handled")
    expect(page.locator("#rate-shipment")).to_have_count(0)
    shipment = office.services.app.shipments.get_shipment(served.delivered)
    assert shipment.customer_rating is not None
    assert (shipment.customer_rating.rating, shipment.customer_rating.rated_by) == (
        4,
        "buyer.huaxin",
    )


# --- a partner's user ---------------------------------------------------------------------------


@in_browser
def test_a_partner_user_signs_a_handover_and_accepts_the_responsibility_proposed(
    page: Page, served: Served
) -> None:
    office = served.office
    sign_in(page, office, "airline", home="Our links")
    listed = page.locator("#partner-shipments")
    for reference in ("SZV-MOVING-1", "SZV-DAMAGED-3"):
        expect(listed.locator("tr", has_text=reference)).to_contain_text("2")
    # The airline runs no link of these.
    expect(listed).not_to_contain_text("SZV-DELIVERED-2")
    expect(listed).not_to_contain_text("SZV-FOREIGN-9")
    assert nav_entries(page) == ["Our links", "API documentation"]

    # It signs for the goods from Suzhou's pickup, into the link it runs.
    listed.get_by_role("link", name="SZV-MOVING-1").click()
    expect(page.locator("[data-sequence='2']")).to_contain_text("Main carriage")
    expect(page.locator("[data-sequence='1']")).to_have_count(0)  # Suzhou's: not shown to it
    version = office.services.app.shipments.get_shipment(served.moving).version
    page.locator("#handover-which").select_option(label="Into link 2 (we take the goods)")
    page.locator("#handover-condition").select_option("good")
    page.locator("#handover-signed-by").fill("PVG cargo desk")
    page.locator("#handover-reference").fill("AWB 781-12345675")
    page.locator("#sign-handover button[type=submit]").click()
    expect(page.locator("#sign-handover-message")).to_have_text("Handover signed.")
    received = page.locator("[data-sequence='2'] [data-field='received']")
    expect(received).to_contain_text("PVG cargo desk")
    expect(received).to_contain_text("AWB 781-12345675")
    moving = office.services.app.shipments.get_shipment(served.moving)
    assert moving.version == version + 1
    link = moving.links[1]
    assert link.received is not None
    assert (link.received.signed_by, link.received.reference) == (
        "PVG cargo desk",
        "AWB 781-12345675",
    )
    assert actor_of_last(office, served.moving) == "cargo.desk@sh-air"

    # It accepts the responsibility proposed for the cartons it handed over crushed.
    page.get_by_role("navigation").get_by_role("link", name="Our links").click()
    page.locator("#partner-shipments").get_by_role("link", name="SZV-DAMAGED-3").click()
    incident = page.locator(f"[data-incident='{served.incident}']")
    expect(incident).to_contain_text("Responsibility proposed to you")
    expect(page.locator("#answer-incident option")).to_have_count(1)
    page.locator("#answer-kind").select_option("accept")
    page.locator("#answer-note").fill("ULD loaded against our instructions; we accept")
    page.locator("#answer-responsibility button[type=submit]").click()
    expect(page.locator("#answer-responsibility-message")).to_have_text("Answer recorded.")
    expect(incident).to_contain_text("Responsibility accepted")
    expect(page.locator("#answer-incident option")).to_have_count(0)
    answered = office.services.app.shipments.get_shipment(served.proposed).incidents[
        served.incident
    ]
    assert answered.responsibility_status.value == "accepted"
    assert actor_of_last(office, served.proposed) == "cargo.desk@sh-air"
    seen = office.get("airline", f"/v1/shipments/{served.proposed}/links")
    assert [i["responsibility_status"] for i in seen["links"][0]["incidents"]] == ["accepted"]

    not_for_them(page, office)


@in_browser
def test_staff_still_see_their_own_home_and_not_the_customers(page: Page, served: Served) -> None:
    office = served.office
    sign_in(page, office, "field")
    assert "My day" in nav_entries(page)
    assert "My shipments" not in nav_entries(page)
    page.goto(f"/console/my/shipments/{served.delivered}")
    expect(page.get_by_role("alert")).to_have_text("Your role may not see or do this.")


@in_browser
def test_a_handover_on_a_page_the_shipment_changed_under_is_refused_then_reviewed(
    page: Page, served: Served
) -> None:
    office = served.office
    sign_in(page, office, "airline", home="Our links")
    page.locator("#partner-shipments").get_by_role("link", name="SZV-MOVING-1").click()
    expect(page.locator("#handover-which option")).to_have_count(2)
    # Meanwhile Suzhou reports a delay on the airline's link: the shipment moves on.
    app = office.services.app
    before = app.shipments.get_shipment(served.moving).version
    delayed = app.shipments.report_delay(
        app.context("zhang.min"),
        served.moving,
        sequence=2,
        estimated_end=NOW + timedelta(days=1),
        reason="the flight was cancelled",
    )
    page.locator("#handover-which").select_option(label="Into link 2 (we take the goods)")
    page.locator("#handover-signed-by").fill("PVG cargo desk")
    page.locator("#sign-handover button[type=submit]").click()
    message = page.locator("#sign-handover-message")
    expect(message).to_contain_text("This shipment changed since you opened it")
    assert app.shipments.get_shipment(served.moving).version == before + 1
    expect(page.locator("#handover-signed-by")).to_have_value("PVG cargo desk")

    # Reviewed, the same handover goes through, once, on the version now shown: the page
    # is read again from the delay's position (the 412 names it), so a read model still
    # behind it cannot show the old version again; the form sends once it is read.
    with page.expect_request(lambda r: "/v1/shipments?" in r.url) as reviewed:
        message.get_by_role("button", name="Show the changes").click()
    assert f"min_position={delayed.position}" in reviewed.value.url
    expect(message).to_have_text("")
    page.locator("#sign-handover button[type=submit]").click()
    expect(message).to_have_text("Handover signed.")
    moving = app.shipments.get_shipment(served.moving)
    assert moving.version == before + 2
    assert moving.links[1].received is not None
    assert moving.links[1].received.signed_by == "PVG cargo desk"
