"""The shipment pages of the console, in a real browser against the service on a real
PostgreSQL with live workers: the list of shipments, and one shipment's chain of custody
drawn link by link — its parties, handovers, incidents and who answered for them, and its
claim with its limit and deadlines — with the commands of the chain as forms, each shown
to whom docs/permissions.md allows it.

Suzhou books a four-link air shipment to Chicago for 华芯: Suzhou picks the goods up, an
airline flies them, our Chicago office clears import customs and delivers. The airline
handed ten cartons over damaged; responsibility, proposed to the airline, is disputed by
it; a claim is filed and its Montreal limit (26 SDR/kg) assessed."""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from domain.staff import Role
from tests.clock import NOW
from tests.staffing import enroll
from tests.test_console import Office, browser, in_browser, office, page, sign_in

__all__ = ["browser", "office", "page"]  # the fixtures this module uses

PICKUP, AIR, IMPORT_CUSTOMS, DELIVERY = 1, 2, 3, 4
START = NOW - timedelta(days=3)
AIRLINE = "China Eastern Cargo 东航物流"
REFERENCE = "SZV-260301-042"


def at(hours: float) -> str:
    moment: datetime = START + timedelta(hours=hours)
    return moment.isoformat()


@dataclass
class Chain:
    office: Office
    shipment: str
    airline: str
    incident: str
    claim: str
    position: int

    @property
    def base(self) -> str:
        return f"/v1/shipments/{self.shipment}"

    def command(self, who: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        answer = self.office.post(who, f"{self.base}{path}", body, status)
        if isinstance(answer, dict) and "position" in answer:
            self.position = max(self.position, int(answer["position"]))
        return answer

    def audit(self, position: int | None = None) -> dict[str, Any]:
        """The responsibility view, once the last write (or ``position``) is in it."""
        view: dict[str, Any] = self.office.get(
            "hq", f"{self.base}/responsibility", min_position=position or self.position
        )
        return view


@pytest.fixture
def chain(office: Office) -> Chain:
    services = office.services
    office.tokens["chicago"] = enroll(
        services,
        "emily.johnson",
        "Emily Johnson",
        roles=(Role.OFFICE_STAFF,),
        branch="Chicago",
    )
    office.tokens["shanghai"] = enroll(
        services, "zhou.hai", "Zhou Hai 周海", roles=(Role.OFFICE_STAFF,), branch="Shanghai"
    )
    airline = office.post(
        "hq",
        "/v1/relationships",
        {
            "name": AIRLINE,
            "kind": "partner",
            "industry": "air cargo",
            "region": "East China",
            "branch": "Shanghai",
            "occurred_at": (START - timedelta(days=30)).isoformat(),
        },
        201,
    )["aggregate_id"]
    office.tokens["airline"] = enroll(services, "cea.ops", "CEA Ops", partner_id=airline)

    def link(function: str, party: dict[str, str], day: int, mode: str | None) -> dict[str, Any]:
        planned = {
            "function": function,
            "party": party,
            "planned_start": at(24 * day),
            "planned_end": at(24 * day + 20),
        }
        return planned | ({"mode": mode} if mode else {})

    suzhou = {"kind": "branch", "branch": "Suzhou"}
    chicago = {"kind": "branch", "branch": "Chicago"}
    booked = office.post(
        "office",
        "/v1/shipments",
        {
            "customer_id": office.huaxin,
            "reference": REFERENCE,
            "origin": "Suzhou Industrial Park, CN",
            "destination": "Chicago, IL, US",
            "cargo": {
                "description": "laptop computers, 120 cartons",
                "packages": 120,
                "gross_weight_kg": "1800",
                "declared_value": "480000",
                "currency": "USD",
            },
            "links": [
                link("pickup", suzhou, 0, "road"),
                link("main_carriage", {"kind": "partner", "relationship_id": airline}, 1, "air"),
                link("import_customs", chicago, 2, None),
                link("delivery", chicago, 3, "road"),
            ],
            "occurred_at": at(-48),
        },
        201,
    )
    made = Chain(office, booked["aggregate_id"], airline, "", "", int(booked["position"]))
    made.command("office", f"/links/{PICKUP}/start", {"occurred_at": at(0)})
    made.command(
        "office",
        "/handovers",
        {"to_sequence": PICKUP, "condition": "good", "signed_by": "Li Wei", "occurred_at": at(1)},
    )
    made.command("office", f"/links/{PICKUP}/complete", {"occurred_at": at(20)})
    made.command("office", f"/links/{AIR}/start", {"occurred_at": at(21)})
    made.command(
        "airline",
        "/handovers",
        {
            "to_sequence": AIR,
            "condition": "good",
            "signed_by": "PVG cargo terminal",
            "reference": "AWB 781-12345675",
            "occurred_at": at(22),
        },
    )
    made.command("office", f"/links/{AIR}/complete", {"occurred_at": at(44)})
    made.command("chicago", f"/links/{IMPORT_CUSTOMS}/start", {"occurred_at": at(45)})
    made.command(
        "chicago",
        "/handovers",
        {
            "to_sequence": IMPORT_CUSTOMS,
            "condition": "damaged",
            "signed_by": "E. Johnson, ORD import",
            "remarks": "10 cartons crushed",
            "packages_affected": 10,
            "occurred_at": at(46),
        },
    )
    made.incident = made.command(
        "chicago",
        "/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "damage",
            "description": "10 cartons crushed on arrival at ORD",
            "packages_affected": 10,
            "occurred_at": at(47),
        },
    )["incident_id"]
    made.command("office", f"/incidents/{made.incident}/responsibility", {"occurred_at": at(48)})
    made.command(
        "airline",
        f"/incidents/{made.incident}/dispute",
        {"reason": "the cartons left PVG intact", "occurred_at": at(50)},
    )
    made.claim = made.command(
        "office",
        "/claims",
        {
            "incident_id": made.incident,
            "amount": "40000",
            "currency": "USD",
            "occurred_at": at(60),
        },
    )["claim_id"]
    made.audit()
    return made


def tiny_png() -> bytes:
    """A 1×1 PNG: what a phone's photo of crushed cartons is, as far as the service can tell."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xb0\x30\x20")
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def open_shipment(page: Page, chain: Chain) -> None:
    page.goto(f"/console/shipments/{chain.shipment}")
    expect(page.get_by_role("heading", name=f"Shipment {REFERENCE}")).to_be_visible()


def incident_at(page: Page, sequence: int, text: str) -> Locator:
    return page.locator(f"#chain li.link[data-sequence='{sequence}'] article.incident").filter(
        has_text=text
    )


@in_browser
def test_the_list_leads_to_the_chain_drawn_link_by_link(page: Page, chain: Chain) -> None:
    sign_in(page, chain.office, "office")
    page.get_by_role("navigation").get_by_role("link", name="Shipments").click()
    expect(page).to_have_url(re.compile(r"/console/shipments$"))
    rows = page.locator("#shipments tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Suzhou Industrial Park, CN → Chicago, IL, US")
    expect(rows.first).to_contain_text("In transit")
    # Filtered by status, then by a branch that runs a link: as the API answers.
    page.locator("#filter-status").select_option("delivered")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/console/shipments\?status=delivered$"))
    expect(page.get_by_text("No shipments.")).to_be_visible()
    page.locator("#filter-status").select_option("in_transit")
    page.locator("#filter-branch").select_option("Chicago")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=in_transit&branch=Chicago$"))
    page.get_by_role("link", name=REFERENCE).click()
    expect(page).to_have_url(re.compile(f"/console/shipments/{chain.shipment}$"))

    links = page.locator("#chain li.link")
    expect(links).to_have_count(4)
    parties = ["Suzhou · our branch", f"{AIRLINE} · partner", "Chicago · our branch"]
    for n, (party, function, mode) in enumerate(
        (
            (parties[0], "Pickup", "Road"),
            (parties[1], "Main carriage", "Air"),
            (parties[2], "Import customs", "—"),
            (parties[2], "Delivery", "Road"),
        ),
        start=1,
    ):
        drawn = links.nth(n - 1)
        expect(drawn).to_have_attribute("data-sequence", str(n))
        expect(drawn.get_by_role("heading", level=3)).to_contain_text(f"Link {n} · {function}")
        expect(drawn.locator("[data-field=party]")).to_have_text(party)
        expect(drawn.locator("[data-field=mode]")).to_contain_text(mode)
    expect(links.nth(1)).to_contain_text("Montreal Convention (26 SDR/kg)")
    expect(links.nth(2).locator("[data-field=link-status]")).to_have_text("In progress")
    expect(links.nth(3).locator("[data-field=link-status]")).to_have_text("Planned")
    # The handovers between them, in words as well as colour, at Suzhou's time (UTC+8).
    into_customs = page.locator("#chain li.handover[data-handover='3']")
    expect(into_customs).to_contain_text(f"Handover: {AIRLINE} → Chicago")
    expect(into_customs.locator("[data-field=condition]")).to_have_text("Exception: damaged")
    expect(into_customs.locator("[data-field=signed-by]")).to_have_text("E. Johnson, ORD import")
    expect(into_customs).to_contain_text("10 packages")
    expect(into_customs.locator("time")).to_have_text("3 Mar 2026, 16:00")  # 08:00 UTC
    expect(page.locator("[data-field=zone]")).to_have_text("Asia/Shanghai")
    into_air = page.locator("#chain li.handover[data-handover='2']")
    expect(into_air.locator("[data-field=condition]")).to_have_text("Clean (good condition)")
    expect(page.locator("#chain li.handover[data-handover='5']")).to_contain_text("Not yet")
    # The incident at the link it was found at, and who answers for it.
    incident = incident_at(page, IMPORT_CUSTOMS, "10 cartons crushed on arrival at ORD")
    expect(incident.locator("[data-field=responsibility]")).to_have_text("Disputed")
    expect(incident.locator("[data-field=responsible]")).to_have_text(
        f"{AIRLINE} · partner · Link 2"
    )
    expect(incident.locator("[data-field=dispute-reason]")).to_have_text(
        "the cartons left PVG intact"
    )
    expect(incident).to_contain_text("CEA Ops (cea.ops)")
    claim = page.locator(f"article.claim[data-claim='{chain.claim}']")
    expect(claim).to_contain_text("Claim for US$40,000.00")
    expect(claim.locator("[data-field=limit]")).to_have_text("Not assessed yet")
    # Suzhou's office staff work the chain; arbitration is headquarters' alone.
    expect(page.locator("#record-handover")).to_be_visible()
    expect(page.locator("#report-incident")).to_be_visible()
    expect(page.locator(f"#attach-{chain.incident}")).to_be_visible()
    expect(page.locator(f"#arbitrate-{chain.incident}")).to_have_count(0)
    # In Chinese, every word of the chain too.
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="全程责任链")).to_be_visible()
    expect(into_customs.locator("[data-field=condition]")).to_have_text("异常交接：破损")
    expect(incident.locator("[data-field=responsibility]")).to_have_text("有争议")


@in_browser
def test_a_page_another_client_changed_refuses_412_then_records_once(
    page: Page, chain: Chain
) -> None:
    sign_in(page, chain.office, "office")
    open_shipment(page, chain)
    chain.command(
        "chicago",
        "/incidents",
        {"link_sequence": IMPORT_CUSTOMS, "kind": "delay", "description": "customs hold at ORD"},
    )
    page.locator("#incident-link").select_option(str(PICKUP))
    page.locator("#incident-kind").select_option("documentation_error")
    page.locator("#incident-description").fill("commercial invoice missing the HS codes")
    page.get_by_role("button", name="Report incident").click()
    message = page.locator("#report-incident-message")
    expect(message).to_contain_text("This shipment changed since you opened it")
    expect(page.locator("#incident-description")).to_have_value(
        "commercial invoice missing the HS codes"
    )
    assert [i["kind"] for i in chain.audit()["incidents"]] == ["damage", "delay"]

    message.get_by_role("button", name="Show the changes").click()
    expect(incident_at(page, IMPORT_CUSTOMS, "customs hold at ORD")).to_have_count(1)
    page.get_by_role("button", name="Report incident").click()
    expect(page.locator("#shipment-message")).to_have_text("Incident reported.")
    expect(incident_at(page, PICKUP, "commercial invoice missing")).to_have_count(1)
    kinds = sorted(i["kind"] for i in chain.audit()["incidents"])
    assert kinds == ["damage", "delay", "documentation_error"]


@in_browser
def test_a_handover_recorded_from_the_page_joins_the_chain(page: Page, chain: Chain) -> None:
    # Chicago runs links 3 and 4: it closes customs and starts the delivery, then hands
    # the goods over from one to the other on the page.
    chain.command("chicago", f"/links/{IMPORT_CUSTOMS}/complete", {"occurred_at": at(60)})
    chain.command("chicago", f"/links/{DELIVERY}/start", {"occurred_at": at(61)})
    sign_in(page, chain.office, "chicago")
    open_shipment(page, chain)
    expect(page.locator("#handover-to option")).to_have_count(1)  # only into link 4
    page.locator("#handover-condition").select_option("good")
    page.locator("#handover-reference").fill("DR-ORD-5531")
    # Chicago's staff may not read Suzhou's customer: the page is in Chicago's own time zone,
    # and the time typed is read in it (18:30 CST is 00:30 UTC the next day).
    expect(page.locator("[data-field=zone]")).to_have_text("America/Chicago")
    page.locator("#handover-at").fill("2026-03-03T18:30")
    page.get_by_role("button", name="Record handover").click()
    expect(page.locator("#shipment-message")).to_have_text("Handover recorded.")
    into_delivery = page.locator("#chain li.handover[data-handover='4']")
    expect(into_delivery.locator("[data-field=condition]")).to_have_text("Clean (good condition)")
    expect(into_delivery.locator("[data-field=signed-by]")).to_have_text("Emily Johnson")
    expect(into_delivery).to_contain_text("DR-ORD-5531")
    expect(into_delivery.locator("time")).to_have_text("3 Mar 2026, 18:30")
    # Nothing is left to hand over into: the form is gone with it.
    expect(page.locator("#record-handover")).to_have_count(0)

    view = chain.audit()
    received = view["chain"][DELIVERY - 1]["handover_in"]
    assert (received["condition"], received["signed_by"], received["reference"]) == (
        "good",
        "Emily Johnson",
        "DR-ORD-5531",
    )
    assert received["at"] == "2026-03-04T00:30:00+00:00"
    history = chain.office.get(
        "hq",
        f"/v1/relationships/{chain.office.huaxin}/history",
        event="Shipment.CustodyHandedOver",
        min_position=view["position"],
    )
    (recorded,) = [e for e in history["items"] if e["data"]["to_sequence"] == DELIVERY]
    assert recorded["actor"] == "emily.johnson"


@in_browser
def test_an_incident_reported_from_the_page_appears_at_its_link(page: Page, chain: Chain) -> None:
    sign_in(page, chain.office, "office")
    open_shipment(page, chain)
    page.locator("#incident-link").select_option(str(AIR))
    page.locator("#incident-kind").select_option("delay")
    page.locator("#incident-description").fill("flight offloaded at PVG, next day's flight")
    page.get_by_role("button", name="Report incident").click()
    expect(page.locator("#shipment-message")).to_have_text("Incident reported.")
    reported = incident_at(page, AIR, "flight offloaded at PVG")
    expect(reported).to_have_count(1)
    expect(reported.get_by_role("heading", level=4)).to_have_text("⚠ Incident: Delay")
    expect(reported).to_contain_text("Zhang Min 张敏 (zhang.min)")
    expect(reported.locator("[data-field=responsibility]")).to_have_text("Not assigned")
    expect(incident_at(page, IMPORT_CUSTOMS, "flight offloaded")).to_have_count(0)

    (delay,) = [i for i in chain.audit()["incidents"] if i["kind"] == "delay"]
    assert (delay["link_sequence"], delay["reported_by"], delay["description"]) == (
        AIR,
        "zhang.min",
        "flight offloaded at PVG, next day's flight",
    )


@in_browser
def test_a_photo_attached_to_an_incident_is_listed(page: Page, chain: Chain) -> None:
    sign_in(page, chain.office, "chicago")
    open_shipment(page, chain)
    incident = incident_at(page, IMPORT_CUSTOMS, "10 cartons crushed")
    expect(incident.locator(".incident-files")).to_have_text("No files attached.")
    incident.get_by_label("File (JPEG, PNG, WEBP, PDF, TIFF)").set_input_files(
        {"name": "crushed-cartons.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    incident.get_by_role("button", name="Attach").click()
    expect(page.locator("#shipment-message")).to_have_text("File attached.")
    listed = incident_at(page, IMPORT_CUSTOMS, "10 cartons crushed").locator(".incident-files li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("crushed-cartons.png · image/png")
    expect(listed).to_contain_text("attached by emily.johnson")

    (incident_view,) = chain.audit()["incidents"]
    (attached,) = incident_view["attachments"]
    assert (attached["file_name"], attached["media_type"], attached["attached_by"]) == (
        "crushed-cartons.png",
        "image/png",
        "emily.johnson",
    )
    assert attached["size"] == len(tiny_png())
    # The file reads back with the user's token, byte for byte (what its link opens).
    fetched = page.evaluate(
        """async (path) => {
            const { download } = await import("/console/static/api.js");
            const blob = await download(path);
            return [blob.type, Array.from(new Uint8Array(await blob.arrayBuffer()))];
        }""",
        f"{chain.base}/attachments/{attached['sha256']}",
    )
    assert (fetched[0], bytes(fetched[1])) == ("image/png", tiny_png())


@in_browser
def test_headquarters_arbitrates_the_disputed_responsibility(page: Page, chain: Chain) -> None:
    sign_in(page, chain.office, "hq")
    open_shipment(page, chain)
    form = page.locator(f"#arbitrate-{chain.incident}")
    form.get_by_label("Link finally responsible").select_option(str(AIR))
    form.get_by_label("Decision").fill("the damage report from ORD shows crushing in the hold")
    form.get_by_role("button", name="Arbitrate").click()
    expect(page.locator("#shipment-message")).to_have_text("Arbitration recorded.")
    incident = incident_at(page, IMPORT_CUSTOMS, "10 cartons crushed")
    expect(incident.locator("[data-field=responsibility]")).to_have_text(
        "Arbitrated by headquarters"
    )
    expect(incident.locator("[data-field=responsible]")).to_have_text(
        f"{AIRLINE} · partner · Link 2"
    )
    expect(incident.locator("[data-field=arbitrated-by]")).to_have_text("Qian Lin 钱琳 (qian.lin)")
    expect(page.locator(f"#arbitrate-{chain.incident}")).to_have_count(0)

    (arbitrated,) = chain.audit()["incidents"]
    assert arbitrated["responsibility_status"] == "arbitrated"
    assert arbitrated["responsible"]["link_sequence"] == AIR
    assert arbitrated["arbitrated_by"]["staff_id"] == "qian.lin"
    # Final now, the claim's limit follows the airline's link: Montreal, 26 SDR/kg.
    chain.command("office", f"/claims/{chain.claim}/limit", {"sdr_rate": "1.33"})
    chain.audit()
    page.reload()
    claim = page.locator(f"article.claim[data-claim='{chain.claim}']")
    expect(claim.locator("[data-field=limit]")).to_contain_text("Montreal Convention (26 SDR/kg)")
    expect(claim.locator("[data-field=recovery-deadlines]")).to_contain_text("Link 2")
    expect(claim.locator("[data-field=customer-deadlines]")).to_contain_text("time bar")


@in_browser
def test_search_finds_the_shipment_by_its_reference_and_opens_its_chain(
    page: Page, chain: Chain
) -> None:
    sign_in(page, chain.office, "field")
    page.get_by_role("searchbox").fill(REFERENCE)
    page.get_by_role("button", name="Search").click()
    page.locator(".hits").get_by_role("link", name=REFERENCE).click()
    expect(page).to_have_url(re.compile(f"/console/shipments/{chain.shipment}$"))
    expect(page.locator("#chain li.link")).to_have_count(4)
    # Field staff of the booking branch work the chain; arbitration stays headquarters'.
    expect(page.locator("#record-handover")).to_be_visible()
    expect(page.locator(f"#arbitrate-{chain.incident}")).to_have_count(0)


@in_browser
def test_a_branch_not_on_the_chain_finds_nothing(page: Page, chain: Chain) -> None:
    sign_in(page, chain.office, "shanghai")
    page.goto(f"/console/shipments/{chain.shipment}")
    expect(page.get_by_role("alert")).to_have_text("Not found.")
    page.goto("/console/shipments")
    expect(page.get_by_text("No shipments.")).to_be_visible()
