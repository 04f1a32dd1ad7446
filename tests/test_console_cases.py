"""The console's service cases and a customer's account actions, in a real browser against
the service on a real PostgreSQL with live workers: office staff open a case from the
customer's page, respond to it and resolve it; a stale case page is told so; a branch
manager marks a customer dormant and reactivates it; field staff are shown none of the
commands their role may not give, and the service refuses a forged one anyway."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.sync_api import Page, expect

from domain.staff import Role
from tests.a11y import assert_accessible
from tests.clock import NOW
from tests.staffing import enroll
from tests.test_console import (
    HUAXIN,
    Office,
    browser,
    fresh,  # the fixtures browser, office and page, and the helpers
    in_browser,
    office,
    page,
    sign_in,
)

__all__ = ["browser", "office", "page"]  # fixtures of tests.test_console, used here


def open_case(office: Office, subject: str) -> dict[str, Any]:
    """A complaint on Huaxin, opened by field staff an hour ago; its accepted command."""
    opened: dict[str, Any] = office.post(
        "field",
        "/v1/cases",
        {
            "relationship_id": office.huaxin,
            "kind": "complaint",
            "priority": "high",
            "subject": subject,
            "description": "the pallets arrived wet",
            "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
        },
        201,
    )
    return opened


def case_page(page: Page, office: Office, subject: str) -> None:
    """From the customer's page, the case's own page."""
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.get_by_role("heading", name=HUAXIN)).to_be_visible()
    page.locator("#cases li[data-case]").get_by_role("link", name=subject).click()
    expect(page).to_have_url(re.compile(r"/console/cases/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name=subject)).to_be_visible()


def status_of(page: Page) -> Any:
    return page.locator("#case-facts [data-field='case.status']")


@in_browser
def test_office_staff_respond_to_a_case_and_resolve_it(page: Page, office: Office) -> None:
    opened = open_case(office, "Wet pallets at Suzhou DC")
    case_id = opened["aggregate_id"]
    fresh(office, "office", f"/v1/cases/{case_id}", opened["position"])
    sign_in(page, office, "office")
    # The list of cases is in the bar for office staff: the open case is on it.
    page.get_by_role("navigation").get_by_role("link", name="Service cases").click()
    expect(page.locator(f"#cases-table tr[data-case='{case_id}']")).to_contain_text(
        "Wet pallets at Suzhou DC"
    )
    assert_accessible(page)
    # Filtered to resolved cases: not there.
    page.locator("#cases-status").select_option("resolved")
    page.locator("#cases-filter button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/cases\?status=resolved$"))
    expect(page.locator("#cases-table")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator(f"#cases-table tr[data-case='{case_id}']")).to_have_count(0)
    for status in page.locator("#cases-table tbody tr td:nth-child(5)").all_inner_texts():
        assert status == "Resolved"

    case_page(page, office, "Wet pallets at Suzhou DC")
    assert page.url.endswith(f"/console/cases/{case_id}")
    expect(status_of(page)).to_have_text("Open")
    expect(page.locator("[data-field='case.kind']")).to_have_text("Complaint")
    expect(page.locator("[data-field='case.priority']")).to_have_text("High")
    expect(page.locator("[data-field='case.firstResponse']")).to_contain_text("due ")
    expect(page.locator("#case-zone")).to_contain_text("Times in ")
    # Open: no close nor reopen yet.
    expect(page.locator("#case-close")).to_have_count(0)
    expect(page.locator("#case-reopen")).to_have_count(0)
    assert_accessible(page)

    page.locator("#case-response").fill("we are sending a surveyor today")
    page.locator("#case-respond button[type=submit]").click()
    expect(page.locator("#case-notice")).to_have_text("Responded.")
    expect(page.locator("[data-field='case.firstResponse']")).to_contain_text("done ")
    expect(page.locator("#case-respond")).to_have_count(0)  # once only
    expect(page.locator("[data-field='case.version']")).to_have_text("2")

    page.locator("#case-resolution").fill("the insurer pays the damaged cartons")
    page.locator("#case-resolve button[type=submit]").click()
    expect(page.locator("#case-notice")).to_have_text("Resolved.")
    expect(status_of(page)).to_have_text("Resolved")
    expect(page.locator("[data-field='case.resolution']")).to_contain_text("done ")
    expect(page.locator("#case-close")).to_be_visible()
    expect(page.locator("#case-reopen")).to_be_visible()
    expect(page.locator("#case-resolve")).to_have_count(0)

    held = fresh(office, "office", f"/v1/cases/{case_id}", opened["position"] + 2)
    assert (held["status"], held["version"]) == ("resolved", 3)
    assert held["first_responded_at"] is not None
    assert held["resolved_at"] is not None
    history = fresh(
        office,
        "hq",
        f"/v1/relationships/{office.huaxin}/history",
        held["position"],
        limit=1000,
    )["items"]
    steps = {
        e["event_name"].rsplit(".", 1)[-1]: e
        for e in history
        if e["aggregate_id"] == case_id and e["version"] > 1
    }
    assert steps["FirstResponseGiven"]["actor"] == "zhang.min"
    assert steps["FirstResponseGiven"]["data"]["summary"] == "we are sending a surveyor today"
    assert steps["Resolved"]["actor"] == "zhang.min"
    assert steps["Resolved"]["data"]["resolution"] == "the insurer pays the damaged cartons"


@in_browser
def test_a_stale_case_page_is_told_to_review(page: Page, office: Office) -> None:
    opened = open_case(office, "Missing carton")
    case_id = opened["aggregate_id"]
    fresh(office, "office", f"/v1/cases/{case_id}", opened["position"])
    sign_in(page, office, "office")
    case_page(page, office, "Missing carton")
    expect(page.locator("[data-field='case.version']")).to_have_text("1")
    # Another client answers meanwhile.
    answer = office.api.post(
        f"/v1/cases/{case_id}/assign",
        json={"owner": "li.wei"},
        headers={**office.auth("hq"), "If-Match": '"1"'},
    )
    assert answer.status_code == 200, answer.text
    page.locator("#case-resolution").fill("found in the next truck")
    page.locator("#case-resolve button[type=submit]").click()
    expect(page.locator("#case-resolve-message")).to_contain_text(
        "This case changed since you opened it — review and retry."
    )
    expect(page.locator("#case-resolution")).to_have_value("found in the next truck")
    held = fresh(office, "hq", f"/v1/cases/{case_id}", answer.json()["position"])
    assert (held["status"], held["owner"], held["version"]) == ("open", "li.wei", 2)
    # Reviewed: the page shows the owner set meanwhile.
    page.locator("#case-resolve-message").get_by_role("button").click()
    expect(page.locator("[data-field='case.owner']")).to_have_text("li.wei")


@in_browser
def test_a_branch_manager_marks_a_customer_dormant_then_reactivates_it(
    page: Page, office: Office
) -> None:
    office.tokens["manager"] = enroll(
        office.services,
        "zhou.jun",
        "Zhou Jun 周军",
        roles=(Role.BRANCH_MANAGER,),
        branch="Suzhou",
    )
    sign_in(page, office, "manager")
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.get_by_role("heading", name=HUAXIN)).to_be_visible()
    lifecycle = page.locator("[data-field='customer.lifecycle']")
    expect(lifecycle).to_have_text("Active")
    actions = page.locator("details#account-actions")
    expect(actions.locator("#account-mark-dormant")).to_be_hidden()  # collapsed
    expect(actions.locator("#account-reactivate")).to_have_count(0)  # not dormant
    actions.locator("summary").click()
    assert_accessible(page)
    # A reason is asked for before anything is sent.
    actions.locator("#account-mark-dormant button[type=submit]").click()
    expect(actions.locator("#account-mark-dormant-message")).to_have_text("Give a reason.")
    actions.locator("#account-mark-dormant-reason").fill("no bookings since the plant moved")
    actions.locator("#account-mark-dormant button[type=submit]").click()
    expect(lifecycle).to_have_text("Dormant")
    expect(page.locator("#customer-notice")).to_have_text("Saved.")
    expect(actions.locator("#account-mark-dormant")).to_have_count(0)
    actions.locator("#account-reactivate-reason").fill("the new plant books again")
    actions.locator("#account-reactivate button[type=submit]").click()
    expect(lifecycle).to_have_text("Active")
    expect(actions.locator("#account-reactivate")).to_have_count(0)

    status = office.get("hq", f"/v1/relationships/{office.huaxin}")
    history = fresh(
        office,
        "hq",
        f"/v1/relationships/{office.huaxin}/history",
        status["position"],
        limit=1000,
    )["items"]
    changes = [
        (e["event_name"].rsplit(".", 1)[-1], e["actor"], e["data"].get("reason"))
        for e in history
        if e["aggregate_id"] == office.huaxin and e["actor"] == "zhou.jun"
    ]
    assert changes == [
        ("MarkedDormant", "zhou.jun", "no bookings since the plant moved"),
        ("Reactivated", "zhou.jun", "the new plant books again"),
    ]
    assert status["lifecycle"] == "active"


@in_browser
def test_field_staff_see_only_the_case_commands_of_their_role(page: Page, office: Office) -> None:
    opened = open_case(office, "Late delivery note")
    case_id = opened["aggregate_id"]
    fresh(office, "field", f"/v1/cases/{case_id}", opened["position"])
    sign_in(page, office, "field")
    # No list of cases in the bar: that is the service desk's.
    bar = page.get_by_role("navigation")
    expect(bar.get_by_role("link", name="My day")).to_be_visible()
    expect(bar.get_by_role("link", name="Service cases")).to_have_count(0)
    case_page(page, office, "Late delivery note")
    # Field staff give the first response; assigning, raising, resolving are not theirs.
    expect(page.locator("#case-respond")).to_be_visible()
    for form in ("assign", "escalate", "resolve", "close", "reopen"):
        expect(page.locator(f"#case-{form}")).to_have_count(0)
    # The customer's account actions are theirs (docs/permissions.md: WORK).
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.locator("details#account-actions #account-rename")).to_have_count(1)

    # A forged call is refused all the same, and changes nothing.
    forged = office.api.post(
        f"/v1/cases/{case_id}/resolve",
        json={"resolution": "closed it myself"},
        headers={**office.auth("field"), "If-Match": '"1"'},
    )
    assert forged.status_code == 403, forged.text
    held = office.get("hq", f"/v1/cases/{case_id}")
    assert (held["status"], held["version"]) == ("open", 1)


@in_browser
def test_the_cases_list_pages_by_the_apis_cursor(page: Page, office: Office) -> None:
    opened = [open_case(office, f"Damaged crate {n:02}") for n in range(27)]
    last = max(o["position"] for o in opened)
    every = fresh(office, "hq", "/v1/cases", last, status="open", limit=200)["items"]
    assert len(every) >= 27
    sign_in(page, office, "hq")
    page.goto("/console/cases")
    rows = page.locator("#cases-table tbody tr")
    expect(rows).to_have_count(25)
    page.locator("#cases-more").click()
    expect(rows).to_have_count(len(every))
    expect(page.locator("#cases-more")).to_be_hidden()
    shown = [rows.nth(i).get_attribute("data-case") for i in range(len(every))]
    assert shown == [c["case_id"] for c in every]  # each once, in the API's order
