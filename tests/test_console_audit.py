"""The auditors' pages of the console, in a real browser against the service on a real
PostgreSQL with live workers: a customer's history with who did what and when (business
and recording time), the customer at an earlier version and what changed since, a shipment
from the findings, the log verified, and the audit package downloaded and verified by its
own offline verifier; field staff see none of it."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from application.store.database import Database
from domain.staff import Role
from interface.runtime import Services
from tests import test_console
from tests.domain.test_shipment import CUSTOMER
from tests.screenshots import keep_screenshot
from tests.staffing import enroll
from tests.test_console import HUAXIN, Office, in_browser, sign_in
from tests.test_responsibility import register_parties, seed_case

RENAMED = "华芯电子（苏州）有限公司"

# The office's fixtures, reused: pytest finds fixtures among a module's names.
browser = test_console.browser
office = test_console.office
page = test_console.page


def last_position(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def audited(office: Office, services: Services) -> Office:
    """The office with an auditor, and the customer renamed after its registration."""
    office.tokens["auditor"] = enroll(services, "wu.shen", "Wu Shen 吴深", roles=(Role.AUDITOR,))
    renamed = office.post("field", f"/v1/relationships/{office.huaxin}/rename", {"name": RENAMED})
    office.last_position = renamed["position"]
    return office


def history(office: Office, relationship_id: str, **params: Any) -> list[dict[str, Any]]:
    """The customer's history as the API gives it, once the last write is in it."""
    answer = office.get(
        "auditor",
        f"/v1/relationships/{relationship_id}/history",
        min_position=office.last_position,
        limit=1000,
        **params,
    )
    items: list[dict[str, Any]] = answer["items"]
    return items


@in_browser
def test_an_auditor_reads_a_customers_history_and_an_earlier_version(
    page: Page, audited: Office
) -> None:
    entries = history(audited, audited.huaxin)
    assert {"Relationship.Registered", "Relationship.Renamed"} <= {e["event_name"] for e in entries}
    sign_in(page, audited, "auditor")
    page.get_by_role("navigation").get_by_role("link", name="Audit", exact=True).click()
    expect(page.get_by_role("heading", name="Audit", exact=True)).to_be_visible()
    page.goto(f"/console/audit/customers/{audited.huaxin}")
    expect(page.get_by_role("heading", name=f"Audit trail: {RENAMED}")).to_be_visible()

    # Every event, with its actor, its business time and its recording time.
    shown = page.locator("#history-list > li")
    expect(shown).to_have_count(len(entries))
    for entry in entries:
        item = page.locator(f"#history-list > li[data-position='{entry['position']}']")
        expect(item.locator(".event")).to_have_text(entry["event_name"])
        expect(item.locator(".actor")).to_have_text(f"by {entry['actor']}")
        expect(item.locator("time.occurred")).to_have_attribute("datetime", entry["occurred_at"])
        expect(item.locator("time.recorded")).to_have_attribute("datetime", entry["recorded_at"])
    rename = page.locator("#history-list > li[data-event='Relationship.Renamed']")
    expect(rename.locator("dd[data-name='name']")).to_have_text(RENAMED)
    expect(rename.locator(".actor")).to_have_text("by li.wei")
    registered = page.locator("#history-list > li[data-event='Relationship.Registered']")
    expect(registered.locator(".actor")).to_have_text("by qian.lin")

    # Filtered on the server: by actor, then by event.
    page.locator("#filter-actor").fill("li.wei")
    page.get_by_role("button", name="Filter").click()
    by_li = [e for e in entries if e["actor"] == "li.wei"]
    assert by_li == history(audited, audited.huaxin, actor="li.wei")
    expect(shown).to_have_count(len(by_li))
    expect(page.locator("#history-list .actor")).to_have_text(["by li.wei"] * len(by_li))
    page.locator("#filter-actor").fill("")
    page.locator("#filter-event").fill("Relationship.Renamed")
    page.get_by_role("button", name="Filter").click()
    expect(shown).to_have_count(1)
    expect(shown.locator(".event")).to_have_text("Relationship.Renamed")

    # The slider stands at the current version; moved to the first by the keyboard, the
    # page shows the customer as registered, and what changed since.
    now = audited.get("auditor", f"/v1/relationships/{audited.huaxin}/state")
    slider = page.get_by_label("Version", exact=True)
    expect(slider).to_have_value(str(now["version"]))
    expect(page.locator("#version-number")).to_have_text(str(now["version"]))
    expect(page.locator("#state dd[data-field='name']")).to_have_text(RENAMED)
    expect(page.locator("#diff")).to_contain_text("nothing to compare")
    slider.focus()
    page.keyboard.press("Home")
    expect(page.locator("#version-number")).to_have_text("1")
    expect(page.locator("#state h3")).to_have_text("State at version 1")
    expect(page.locator("#state dd[data-field='name']")).to_have_text(HUAXIN)
    expect(page.locator("#version-about")).to_contain_text("Relationship.Registered by qian.lin")
    changed = page.locator("#diff tr[data-field='name']")
    expect(changed.locator("td")).to_have_text(["changed", HUAXIN, RENAMED])
    expect(page.locator("#diff h3")).to_have_text(f"Differences from version 1 to {now['version']}")
    expect(page.locator("#diff-events")).to_contain_text("Relationship.Renamed")
    diff = audited.get(
        "auditor",
        f"/v1/relationships/{audited.huaxin}/diff",
        **{"from": 1, "to": now["version"]},
    )
    expect(page.locator("#diff tbody tr")).to_have_count(len(diff["changes"]))
    # One step on, by the arrow key.
    page.keyboard.press("ArrowRight")
    expect(page.locator("#version-number")).to_have_text("2")
    expect(page.locator("#state h3")).to_have_text("State at version 2")
    # The README's picture, when asked for (it takes the focus off the slider).
    keep_screenshot(page, "auditor-home")

    # By a moment: the version recorded by then, as the API says.
    moment = entries[-1]["recorded_at"]
    local = page.evaluate(
        """iso => { const d = new Date(iso); d.setSeconds(d.getSeconds() + 1);
        const p = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
          `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }""",
        moment,
    )
    instant = page.evaluate("local => new Date(local).toISOString()", local)
    expected = audited.get("auditor", f"/v1/relationships/{audited.huaxin}/state", as_of=instant)[
        "version"
    ]
    page.locator("#as-of").fill(local)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#version-number")).to_have_text(str(expected))
    expect(page.locator("#state h3")).to_have_text(f"State at version {expected}")


@in_browser
def test_an_auditor_verifies_the_log_and_downloads_a_package_that_verifies(
    page: Page, audited: Office, tmp_path: Path, superuser_database: Database
) -> None:
    history(audited, audited.huaxin)  # the package is made from the history read model
    sign_in(page, audited, "auditor")
    page.goto("/console/audit")
    page.get_by_role("button", name="Verify the log").click()
    verdict = page.locator("#verify-result [data-verdict]")
    expect(verdict).to_have_attribute("data-verdict", "intact")
    checked = audited.api.post("/v1/audit/verify", json={}, headers=audited.auth("auditor"))
    assert checked.json()["intact"] is True
    expect(verdict).to_have_text(re.compile(r"^Intact: \d+ entries, chained up to position \d+\.$"))
    expect(page.locator("#verify-result [data-evidence]")).to_have_attribute(
        "data-evidence", "intact"
    )

    # A checkpoint kept from earlier: today's log extends it; an altered one does not hold.
    signed = audited.api.post("/v1/audit/tree-heads", headers=audited.auth("auditor"))
    assert signed.status_code == 201, signed.text
    page.get_by_label("Signed tree head").fill(signed.text)
    page.get_by_role("button", name="Check today's log extends it").click()
    extends = page.locator("#checkpoint-result [data-extends]")
    expect(extends).to_have_attribute("data-extends", "true")
    expect(extends).to_contain_text("Today's log of")
    origin, size, *rest = signed.text.split("\n")
    page.get_by_label("Signed tree head").fill("\n".join([origin, str(int(size) - 1), *rest]))
    page.get_by_role("button", name="Check today's log extends it").click()
    expect(extends).to_have_attribute("data-extends", "false")
    expect(page.locator("#checkpoint-result")).to_contain_text("does not hold")

    # The customer found by search, its audit trail opened from there.
    audited.get("auditor", "/v1/search", q="hxdz", min_position=audited.last_position)
    page.get_by_label("Customer", exact=True).fill("hxdz")
    page.locator("#audit-find").get_by_role("button", name="Search").click()
    page.locator("#audit-hits").get_by_role("link", name=RENAMED).click()
    expect(page).to_have_url(re.compile(f"/console/audit/customers/{audited.huaxin}$"))
    expect(page.get_by_role("heading", name=f"Audit trail: {RENAMED}")).to_be_visible()
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download audit package").click()
    download = downloading.value
    assert download.suggested_filename == f"audit-package-{audited.huaxin}.zip"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    expect(page.locator("#package-message")).to_contain_text("Downloaded")

    folder = tmp_path / "package"
    with zipfile.ZipFile(saved) as archive:
        archive.extractall(folder)
    verified = subprocess.run(
        [sys.executable, str(folder / "verify_package.py"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    entries = history(audited, audited.huaxin)
    assert (
        f"{len(entries)} entries of customer {audited.huaxin}: complete and intact"
        in verified.stdout
    )

    # Someone with the database's keys rewrites the rename, past the log's triggers: the
    # page names the position that broke and how.
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE fullchain_events SET state = convert_to(replace(convert_from(state, "
            "'UTF8'), %s, 'Someone Else Ltd'), 'UTF8') WHERE notification_id = %s",
            (RENAMED, audited.last_position),
        )
    page.goto("/console/audit")
    page.get_by_role("button", name="Verify the log").click()
    expect(verdict).to_have_attribute("data-verdict", "broken")
    expect(verdict).to_have_text(
        f"Broken at position {audited.last_position}: an entry was changed."
    )


@in_browser
def test_a_finding_leads_to_its_shipment_at_any_version(
    page: Page, audited: Office, services: Services
) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    audited.last_position = last_position(services)
    found = audited.get("auditor", "/v1/audit/findings", min_position=audited.last_position)
    assert {f["kind"] for f in found["items"]} == {"compensation_without_recovery_decision"}
    entries = [e for e in history(audited, str(CUSTOMER)) if e["aggregate_id"] == str(shipment.id)]
    assert len(entries) == shipment.version

    sign_in(page, audited, "auditor")
    page.get_by_role("navigation").get_by_role("link", name="Findings").click()
    row = page.locator("#findings tr[data-kind='compensation_without_recovery_decision']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Compensation without recovery decision")
    row.get_by_role("link", name=shipment.reference).click()
    expect(page).to_have_url(re.compile(f"/console/audit/shipments/{shipment.id}$"))
    expect(page.get_by_role("heading", name=f"Audit trail: shipment {shipment.reference}"))
    # Its own events only, each with its actor and both times.
    expect(page.locator("#history-list > li")).to_have_count(len(entries))
    for entry in entries:
        item = page.locator(f"#history-list > li[data-position='{entry['position']}']")
        expect(item.locator(".event")).to_have_text(entry["event_name"])
        expect(item.locator("time.recorded")).to_have_attribute("datetime", entry["recorded_at"])

    # At its first version it had no claim; the difference to now shows the claim added.
    expect(page.locator("#version-number")).to_have_text(str(shipment.version))
    page.get_by_label("Version", exact=True).focus()
    page.keyboard.press("Home")
    expect(page.locator("#state h3")).to_have_text("State at version 1")
    expect(page.locator("#state dd[data-field='claims']")).to_have_text("{}")
    claim = page.locator("#diff tr[data-field^='claims.']").first
    expect(claim.locator("td").first).to_have_text("added")
    expect(page.locator("#diff-events")).to_contain_text("Shipment.CompensationPaid")


@in_browser
def test_field_staff_have_no_audit_pages(page: Page, audited: Office) -> None:
    sign_in(page, audited, "field")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="My day")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="Findings")).to_have_count(0)
    page.goto(f"/console/audit/customers/{audited.huaxin}")
    expect(page.get_by_role("alert")).to_have_text("Your role may not see or do this.")
    refused = audited.api.get(
        f"/v1/relationships/{audited.huaxin}/history", headers=audited.auth("field")
    )
    assert refused.status_code == 403


@in_browser
def test_a_long_history_is_paged_and_filtered_on_the_server(page: Page, audited: Office) -> None:
    for n in range(16):
        logged = audited.post(
            "office",
            f"/v1/relationships/{audited.huaxin}/interactions",
            {"channel": "call", "direction": "outbound", "summary": f"call {n}"},
        )
    audited.last_position = logged["position"]
    entries = history(audited, audited.huaxin)
    assert len(entries) > 20
    sign_in(page, audited, "auditor")
    page.goto(f"/console/audit/customers/{audited.huaxin}")
    shown = page.locator("#history-list > li")
    expect(shown).to_have_count(len(entries))
    page.get_by_label("Per page").select_option("10")
    page.get_by_role("button", name="Filter").click()

    def positions() -> list[str]:
        return [str(e["position"]) for e in entries]

    for number, first in ((1, 0), (2, 10)):
        expect(page.locator("#history-status")).to_have_text(f"Page {number}: 10 shown")
        expect(shown).to_have_count(10)
        assert [li.get_attribute("data-position") for li in shown.all()] == positions()[
            first : first + 10
        ]
        page.get_by_role("button", name="Next page").click()
    rest = len(entries) - 20
    expect(page.locator("#history-status")).to_have_text(f"Page 3: {rest} shown")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(page.locator("#history-status")).to_have_text("Page 2: 10 shown")
    expect(shown.first).to_have_attribute("data-position", positions()[10])

    # Filtered by the office's staff member, the pages hold their sixteen calls only.
    page.locator("#filter-actor").fill("zhang.min")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#history-status")).to_have_text("Page 1: 10 shown")
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#history-status")).to_have_text("Page 2: 6 shown")
    expect(page.locator("#history-list .event")).to_have_text(
        ["Relationship.InteractionLogged"] * 6
    )
    # The calls' notes are personal: an auditor reads them masked.
    expect(page.locator("#history-list dd[data-name='summary']")).to_have_text(["[masked]"] * 6)
