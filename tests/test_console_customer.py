"""The console's customer page and my day, in a real browser against the service on a real
PostgreSQL with live workers: staff add a contact, schedule a follow-up and complete it from
my day, open an opportunity and move it on, open a service case once however often the form
is submitted, are told when the page they act on is stale, and see nothing of another
branch's customer; office staff see the team's visits."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from playwright.sync_api import Page, expect

from domain.opportunity import Opportunity
from domain.staff import Role
from tests.clock import NOW
from tests.staffing import enroll
from tests.test_console import (
    HUAXIN,
    Office,
    browser,
    fresh,  # the fixtures browser, office and page, and the helpers
    in_browser,
    office,
    open_huaxin,
    page,
    sign_in,
)

__all__ = ["browser", "office", "page"]  # fixtures of tests.test_console, used here


def head(office: Office) -> int:
    """The log's last position, as the status of the customer shows it."""
    position: int = office.get("hq", f"/v1/relationships/{office.huaxin}")["position"]
    return max(position, office.last_position)


@in_browser
def test_field_staff_add_a_contact_and_see_it_listed(page: Page, office: Office) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    version = page.locator("[data-field='customer.version']")
    before = int(version.inner_text())
    page.locator("#contact-name").fill("Chen Jie 陈杰")
    page.locator("#contact-title").fill("Logistics manager")
    page.locator("#contact-phone").fill("+86 512 6666 0002")
    page.locator("#add-contact button[type=submit]").click()
    expect(page.locator("#add-contact-message")).to_have_text("Saved.")
    listed = page.locator("#contacts li[data-contact]").filter(has_text="Chen Jie 陈杰")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Logistics manager")
    expect(version).to_have_text(str(before + 1))
    # The new contact is a choice of the interaction form at once.
    expect(page.locator("#contact option", has_text="Chen Jie 陈杰")).to_have_count(1)

    contacts = fresh(
        office, "hq", f"/v1/relationships/{office.huaxin}/contacts", before, include_removed=True
    )["items"]
    [added] = [c for c in contacts if c["name"] == "Chen Jie 陈杰"]
    assert (added["phone"], added["added_by"], added["removed"]) == (
        "+86 512 6666 0002",
        "li.wei",
        False,
    )

    # Changed, then removed: each change is in the contact's history.
    page.locator("#change-contact").select_option(added["contact_id"])
    page.locator("#change-title").fill("Head of logistics")
    page.locator("#change-contact-form button[type=submit]").click()
    expect(listed).to_contain_text("Head of logistics")
    expect(listed.locator("details summary")).to_have_text("2 changes")
    page.locator("#remove-contact").select_option(added["contact_id"])
    page.locator("#remove-contact-form button[type=submit]").click()
    expect(listed).to_have_count(0)
    expect(page.locator("#removed-contacts")).to_contain_text("Chen Jie 陈杰")
    contacts = fresh(
        office,
        "hq",
        f"/v1/relationships/{office.huaxin}/contacts",
        head(office),
        include_removed=True,
    )["items"]
    [gone] = [c for c in contacts if c["contact_id"] == added["contact_id"]]
    assert (gone["title"], gone["removed"], gone["removed_by"]) == (
        "Head of logistics",
        True,
        "li.wei",
    )
    assert [c["change"] for c in gone["history"]] == ["added", "changed", "removed"]


@in_browser
def test_a_follow_up_scheduled_on_the_customer_is_on_my_day_and_completed_there(
    page: Page, office: Office
) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    # Tomorrow, in the browser's time zone: upcoming in Suzhou whatever that zone is.
    due = (NOW + timedelta(days=1, hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#follow-up-kind").select_option("visit")
    page.locator("#follow-up-due").fill(due)
    page.locator("#follow-up-note").fill("bring the customs broker")
    page.locator("#schedule-follow-up button[type=submit]").click()
    expect(page.locator("#schedule-follow-up-message")).to_have_text("Saved.")
    expect(
        page.locator("#follow-ups li").filter(has_text="bring the customs broker")
    ).to_have_count(1)

    page.get_by_role("link", name="My day").click()
    upcoming = page.locator("#upcoming")
    expect(upcoming.get_by_role("heading")).to_have_text("Upcoming (2)")
    entry = upcoming.locator("li").filter(has_text="bring the customs broker")
    expect(entry).to_contain_text("Visit")
    entry.get_by_label("Outcome").fill("met the broker, papers agreed")
    entry.get_by_role("button", name="Complete").click()
    expect(page.locator("#my-day-notice")).to_have_text("Follow-up completed.")
    expect(upcoming.get_by_role("heading")).to_have_text("Upcoming (1)")
    expect(upcoming).not_to_contain_text("bring the customs broker")

    done = office.get(
        "hq", "/v1/follow-ups", relationship_id=office.huaxin, state="done", limit=10
    )["items"]
    assert [(f["note"], f["outcome"], f["closed_by"], f["kind"]) for f in done] == [
        ("bring the customs broker", "met the broker, papers agreed", "li.wei", "visit")
    ]


@in_browser
def test_an_opportunity_opened_and_moved_a_stage_is_held_with_its_actor(
    page: Page, office: Office
) -> None:
    launched = office.launch_offering()
    fresh(office, "hq", f"/v1/offerings/{launched['aggregate_id']}", launched["position"])
    sign_in(page, office)
    open_huaxin(page, office)
    page.locator("#opportunity-title").fill("Q3 laptop exports")
    page.locator("#opportunity-offering").select_option(launched["aggregate_id"])
    page.locator("#opportunity-value").fill("120000")
    page.locator("#opportunity-probability").fill("40")
    page.locator("#open-opportunity button[type=submit]").click()
    entry = page.locator("#opportunities li").filter(has_text="Q3 laptop exports")
    expect(entry.locator("[data-stage]")).to_have_text("Generation")
    expect(entry).to_contain_text("40%")

    entry.get_by_label("Move", exact=True).select_option("advance:tracking")
    entry.get_by_role("button", name="Move").click()
    expect(page.locator("#customer-notice")).to_have_text("Opportunity moved.")
    expect(entry.locator("[data-stage]")).to_have_text("Tracking")
    # The form is ready for the next one, its defaults back.
    expect(page.locator("#opportunity-currency")).to_have_value("CNY")
    expect(page.locator("#opportunity-title")).to_have_value("")

    [held] = office.get("hq", "/v1/opportunities", relationship_id=office.huaxin)["items"]
    assert (held["stage"], held["status"], held["identified_by"], held["expected_value"]) == (
        "tracking",
        "open",
        "li.wei",
        "120000",
    )
    aggregate: Opportunity = office.services.app.repository.get(UUID(held["opportunity_id"]))
    assert [(e.stage.value, e.entered_by) for e in aggregate.stage_history] == [
        ("generation", "li.wei"),
        ("tracking", "li.wei"),
    ]

    # Lost: the form asks for the reason's explanation before it sends anything.
    entry.get_by_label("Move", exact=True).select_option("lost")
    entry.get_by_label("Reason (if lost)").select_option("price")
    entry.get_by_role("button", name="Move").click()
    expect(entry.get_by_role("status")).to_have_text("Explain why it was lost.")
    entry.get_by_label("Explanation (if lost)").fill("a forwarder quoted 8% less")
    entry.get_by_role("button", name="Move").click()
    expect(entry).to_contain_text("Lost")
    expect(entry.locator("form")).to_have_count(0)  # nothing more to move
    [lost] = office.get("hq", "/v1/opportunities", relationship_id=office.huaxin)["items"]
    assert (lost["status"], lost["loss_reason"]) == ("lost", "price")


@in_browser
def test_the_account_team_is_assigned_from_the_page(page: Page, office: Office) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    page.locator("#field-rep").fill("li.wei")
    page.locator("#office-rep").fill("zhang.min")
    page.locator("#assign-team button[type=submit]").click()
    expect(page.locator("[data-field='customer.fieldRep']")).to_have_text("li.wei")
    expect(page.locator("[data-field='customer.officeRep']")).to_have_text("zhang.min")
    expect(page.locator("#field-rep")).to_have_value("li.wei")  # the form shows the team
    status = office.get("hq", f"/v1/relationships/{office.huaxin}")
    assert (status["field_rep"], status["office_rep"]) == ("li.wei", "zhang.min")


@in_browser
def test_a_case_submitted_twice_is_opened_once(page: Page, office: Office) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    page.locator("#case-kind").select_option("complaint")
    page.locator("#case-priority").select_option("high")
    page.locator("#case-subject").fill("Damaged cartons at Chicago")
    page.locator("#case-description").fill("Three cartons crushed on arrival.")
    page.locator("#open-case button[type=submit]").dblclick()
    expect(page.locator("#open-case-message")).to_have_text("Saved.")
    listed = page.locator("#cases li").filter(has_text="Damaged cartons at Chicago")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Complaint · High")
    expect(listed).to_contain_text("First response due")
    # The form cleared; the same submission again is a new fill, refused for want of text.
    page.locator("#open-case button[type=submit]").click()
    expect(page.locator("#open-case-message")).to_have_text("Write a subject and a description.")
    expect(page.locator("#case-priority")).to_have_value("normal")

    cases = office.get("hq", "/v1/cases", relationship_id=office.huaxin)["items"]
    assert [(c["subject"], c["opened_by"], c["kind"], c["priority"]) for c in cases] == [
        ("Damaged cartons at Chicago", "li.wei", "complaint", "high")
    ]


@in_browser
def test_a_stale_page_is_refused_on_a_form_that_sends_if_match(page: Page, office: Office) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    shown = int(page.locator("[data-field='customer.version']").inner_text())
    other = office.post(
        "office",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "call", "direction": "inbound", "summary": "they changed their buyer"},
    )
    assert other["version"] == shown + 1
    page.locator("#contact-name").fill("Zhou Lei 周磊")
    page.locator("#add-contact button[type=submit]").click()
    message = page.locator("#add-contact-message")
    expect(message).to_contain_text("This customer changed since you opened it — review and retry.")
    names = [
        c["name"]
        for c in fresh(
            office, "hq", f"/v1/relationships/{office.huaxin}/contacts", other["position"]
        )["items"]
    ]
    assert names == ["Wang Fang 王芳"]
    expect(page.locator("#contact-name")).to_have_value("Zhou Lei 周磊")

    message.get_by_role("button", name="Show the changes").click()
    expect(page.locator("#timeline")).to_contain_text("they changed their buyer")
    page.locator("#add-contact button[type=submit]").click()
    expect(
        page.locator("#contacts li[data-contact]").filter(has_text="Zhou Lei 周磊")
    ).to_have_count(1)
    names = [
        c["name"]
        for c in fresh(office, "hq", f"/v1/relationships/{office.huaxin}/contacts", head(office))[
            "items"
        ]
    ]
    assert sorted(names) == ["Wang Fang 王芳", "Zhou Lei 周磊"]


@in_browser
def test_office_staff_of_another_branch_find_no_customer_and_no_form(
    page: Page, office: Office
) -> None:
    office.tokens["shanghai"] = enroll(
        office.services,
        "sun.yu",
        "Sun Yu 孙宇",
        roles=(Role.OFFICE_STAFF,),
        branch="Shanghai",
    )
    sign_in(page, office, "shanghai")
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.get_by_role("alert")).to_have_text("Not found.")
    expect(page.locator("#view form")).to_have_count(0)
    expect(page.get_by_role("heading", name=HUAXIN)).to_have_count(0)


@in_browser
def test_office_staff_see_the_teams_recent_visits_on_my_day(page: Page, office: Office) -> None:
    visit = office.post(
        "field",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "visit", "direction": "outbound", "summary": "toured the SMT line"},
    )
    office.post(
        "field",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "call", "direction": "outbound", "summary": "phoned about invoices"},
    )
    fresh(office, "office", "/v1/activity", visit["position"] + 1)
    sign_in(page, office, "office")
    team = page.locator("#team-visits")
    expect(team.get_by_role("heading")).to_have_text("The team's recent visits")
    expect(team.locator("li")).to_have_count(1)
    expect(team).to_contain_text("toured the SMT line")
    expect(team).to_contain_text("Li Wei 李伟")
    team.get_by_role("link", name=HUAXIN).click()
    expect(page.get_by_role("heading", name=HUAXIN)).to_be_visible()


@in_browser
def test_the_timeline_shows_more_a_page_at_a_time(page: Page, office: Office) -> None:
    for n in range(1, 23):
        logged = office.post(
            "field",
            f"/v1/relationships/{office.huaxin}/interactions",
            {
                "channel": "call",
                "direction": "outbound",
                "summary": f"call number {n}",
                "occurred_at": (NOW - timedelta(hours=30 - n)).isoformat(),
            },
        )
    fresh(office, "field", f"/v1/relationships/{office.huaxin}/interactions", logged["position"])
    sign_in(page, office)
    open_huaxin(page, office)
    entries = page.locator("#timeline li")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text("call number 22")
    more = page.get_by_role("button", name="Show more")
    more.click()
    expect(entries).to_have_count(22)
    expect(entries.last).to_contain_text("call number 1")
    expect(more).to_be_hidden()


@in_browser
def test_an_auditor_reads_the_customer_with_no_form_and_no_suggestions(
    page: Page, office: Office
) -> None:
    office.tokens["auditor"] = enroll(
        office.services, "he.ping", "He Ping 何平", roles=(Role.AUDITOR,)
    )
    visit = office.post(
        "field",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "visit", "direction": "outbound", "summary": "audited visit"},
    )
    fresh(office, "auditor", "/v1/activity", visit["position"])
    sign_in(page, office, "auditor")
    # No day of follow-ups for an auditor (its read is refused): the section is left out.
    expect(page.locator("#overdue")).to_have_count(0)
    # The visit's notes and the contacts are there, their personal fields masked.
    expect(page.locator("#team-visits")).to_contain_text("[masked]")
    open_huaxin(page, office)
    expect(page.locator("#timeline")).to_contain_text("[masked]")
    expect(page.locator("#timeline")).not_to_contain_text("audited visit")
    expect(page.locator("#contacts")).to_contain_text("W**")
    expect(page.locator("#contacts")).not_to_contain_text("Wang Fang 王芳")
    # A follow-up's note is the customer's notes: masked too.
    expect(page.locator("#follow-ups")).to_contain_text("[masked]")
    expect(page.locator("#follow-ups")).not_to_contain_text("quarterly review")
    expect(page.locator("#view form")).to_have_count(0)
    expect(page.locator("#suggestions")).to_be_hidden()
