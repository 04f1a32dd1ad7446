"""The managers' and headquarters' pages of the console, in a real browser against the
service on real PostgreSQL with live workers: the pipeline chart and its table, exact on
opportunities built in two branches, scoped to a branch manager's branch and filtered by
headquarters (the filter kept in the address, so a reload keeps it); a field staff member
offered no decisions page and refused at its address; a campaign's results per branch as
built; a segment defined from the marketing page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.staff import Role
from tests import test_console as console
from tests.clock import NOW
from tests.screenshots import keep_screenshot
from tests.staffing import enroll
from tests.test_console import Office, fresh, in_browser, sign_in

# The browser, the office (the service with its staff) and the page of tests/test_console.py.
browser = console.browser
office = console.office
page = console.page

SHANGHAI_CUSTOMER = "上海浦东电子"
SUZHOU_CUSTOMER = "苏州新区精密电子"


@dataclass
class Built:
    """What the fixture built, and the log position its last write reached."""

    offering: str
    suzhou: str
    shanghai: str
    position: int


def customer(office: Office, name: str, branch: str) -> str:
    body = {
        "name": name,
        "kind": "customer",
        "industry": "electronics",
        "region": "East China",
        "branch": branch,
        "occurred_at": (NOW - timedelta(days=30)).isoformat(),
    }
    rid: str = office.post("hq", "/v1/relationships", body, 201)["aggregate_id"]
    return rid


def opportunity(
    office: Office, who: str, rid: str, offering: str, value: str, probability: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "relationship_id": rid,
        "title": "Monthly exports to Chicago by air",
        "offering_id": offering,
        "expected_value": value,
        "currency": "USD",
        "probability": probability,
        "occurred_at": (NOW - timedelta(days=10)).isoformat(),
        **extra,
    }
    accepted: dict[str, Any] = office.post(who, "/v1/opportunities", body, 201)
    return accepted


def advance(office: Office, oid: str, *stages: str) -> int:
    position = 0
    for stage in stages:
        position = office.post("hq", f"/v1/opportunities/{oid}/advance", {"to_stage": stage})[
            "position"
        ]
    return position


@pytest.fixture
def built(office: Office) -> Built:
    office.tokens["manager"] = enroll(
        office.services,
        "zhou.hui",
        "Zhou Hui 周慧",
        roles=(Role.BRANCH_MANAGER,),
        branch="Suzhou",
    )
    offering = office.launch_offering()["aggregate_id"]
    suzhou = customer(office, SUZHOU_CUSTOMER, "Suzhou")
    shanghai = customer(office, SHANGHAI_CUSTOMER, "Shanghai")
    return Built(offering, suzhou, shanghai, 0)


@pytest.fixture
def pipeline(office: Office, built: Built) -> Built:
    """Suzhou: one opportunity in generation (240 000 at 20 %), two in tracking (100 000 and
    60 000 at 50 %); Shanghai: one in control (80 000 at 25 %)."""
    opportunity(office, "hq", office.huaxin, built.offering, "240000", "0.2")
    for value in ("100000", "60000"):
        oid = opportunity(office, "hq", built.suzhou, built.offering, value, "0.5")
        advance(office, oid["aggregate_id"], "tracking")
    oid = opportunity(office, "hq", built.shanghai, built.offering, "80000", "0.25")
    built.position = advance(office, oid["aggregate_id"], "tracking", "control")
    return built


def bars(page: Page, chart: str) -> list[tuple[str, str]]:
    found: list[list[str]] = page.locator(f"#{chart} g.bar").evaluate_all(
        "(gs) => gs.map((g) => [g.dataset.label, g.dataset.value])"
    )
    return [(label, value) for label, value in found]


def rows(page: Page, table: str) -> list[list[str]]:
    found: list[list[str]] = page.locator(f"#{table} tbody tr").evaluate_all(
        "(trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent))"
    )
    return found


def usd(amount: int) -> str:
    return f"US${amount:,}.00"  # en-GB, the console's English


STAGE = {"generation": "Generation", "tracking": "Tracking", "control": "Control"}


@in_browser
def test_a_branch_managers_pipeline_chart_shows_their_branchs_totals(
    page: Page, office: Office, pipeline: Built
) -> None:
    answered = fresh(office, "manager", "/v1/decisions/pipeline", pipeline.position)["items"]
    assert [
        (
            r["branch"],
            r["stage"],
            r["opportunities"],
            Decimal(r["expected_value"]),
            Decimal(r["weighted_value"]),
        )
        for r in answered
    ] == [
        ("Suzhou", "generation", 1, 240_000, 48_000),
        ("Suzhou", "tracking", 2, 160_000, 80_000),
    ]

    sign_in(page, office, "manager")
    page.get_by_role("navigation").get_by_role("link", name="Decisions").click()
    expect(page).to_have_url(re.compile(r"/console/decisions$"))
    expect(page.get_by_role("heading", name="Pipeline by stage and branch")).to_be_visible()
    # A branch manager has no branch to choose: the API answers for theirs.
    expect(page.locator("#filter-branch")).to_have_count(0)
    expect(page.locator("#filters")).to_contain_text("Branch: Suzhou")

    expect(page.locator("#pipeline-chart g.bar")).to_have_count(len(answered))
    assert bars(page, "pipeline-chart") == [
        (
            f"{r['branch']} · {STAGE[r['stage']]} ({r['currency']})",
            str(float(r["expected_value"])).removesuffix(".0"),
        )
        for r in answered
    ]
    assert bars(page, "pipeline-chart") == [
        ("Suzhou · Generation (USD)", "240000"),
        ("Suzhou · Tracking (USD)", "160000"),
    ]
    assert rows(page, "pipeline-table") == [
        ["Suzhou", "Generation", "USD", "1", usd(240_000), usd(48_000)],
        ["Suzhou", "Tracking", "USD", "2", usd(160_000), usd(80_000)],
    ]
    assert rows(page, "pipeline-totals") == [["USD", "3", usd(400_000), usd(128_000)]]
    label = page.locator("#pipeline-chart svg").get_attribute("aria-label") or ""
    assert "Suzhou · Tracking (USD): US$160,000.00" in label
    assert SHANGHAI_CUSTOMER not in page.locator("main").inner_text()
    keep_screenshot(page, "manager-home")  # the README's, when asked for


@in_browser
def test_headquarters_filter_by_branch_changes_the_totals_and_survives_a_reload(
    page: Page, office: Office, pipeline: Built
) -> None:
    everything = fresh(office, "hq", "/v1/decisions/pipeline", pipeline.position)["items"]
    assert sum(r["opportunities"] for r in everything) == 4
    sign_in(page, office, "hq")
    page.goto("/console/decisions")
    totals = page.locator("#pipeline-totals tbody tr")
    expect(totals).to_have_count(1)
    assert rows(page, "pipeline-totals") == [["USD", "4", usd(480_000), usd(148_000)]]
    expect(page.locator("#pipeline-chart g.bar")).to_have_count(3)
    expect(page.locator("#scope")).to_have_text("All customers in your scope")

    page.locator("#filter-branch").fill("Shanghai")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/console/decisions\?branch=Shanghai$"))
    expect(page.locator("#scope")).to_have_text("Branch: Shanghai")
    expect(page.locator("#pipeline-chart g.bar")).to_have_count(1)
    assert rows(page, "pipeline-totals") == [["USD", "1", usd(80_000), usd(20_000)]]
    assert bars(page, "pipeline-chart") == [("Shanghai · Control (USD)", "80000")]
    shanghai = office.get("hq", "/v1/decisions/pipeline", branch="Shanghai")["items"]
    assert [(r["branch"], r["stage"], r["opportunities"]) for r in shanghai] == [
        ("Shanghai", "control", 1)
    ]

    page.reload()
    expect(page.locator("#filter-branch")).to_have_value("Shanghai")
    expect(page.locator("#pipeline-chart g.bar")).to_have_count(1)
    assert rows(page, "pipeline-totals") == [["USD", "1", usd(80_000), usd(20_000)]]
    # Every other view is drawn for the same branch.
    for section in ("competitors", "top-customers", "rfm-segments", "at-risk", "partners"):
        expect(page.locator(f"#{section} h2")).to_be_visible()
    expect(page.locator("#value-chart svg")).to_be_visible()


@in_browser
def test_field_staff_have_no_decisions_page(page: Page, office: Office, built: Built) -> None:
    sign_in(page, office, "field")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Marketing")).to_be_visible()
    expect(nav.get_by_role("link", name="Decisions")).to_have_count(0)
    page.goto("/console/decisions")
    expect(page.get_by_role("alert")).to_have_text("Your role may not see or do this.")
    expect(page.locator("#pipeline")).to_have_count(0)
    refused = office.api.get("/v1/decisions/pipeline", headers=office.auth("field"))
    assert refused.status_code == 403


@in_browser
def test_a_campaigns_results_show_per_branch_as_built(
    page: Page, office: Office, built: Built
) -> None:
    segment = office.post(
        "hq",
        "/v1/segments",
        {"name": "Electronics exporters", "rules": {"industries": ["electronics"]}},
        201,
    )["aggregate_id"]
    cid = office.post(
        "hq",
        "/v1/campaigns",
        {
            "name": "Spring air to Chicago",
            "segment_id": segment,
            "offering_id": built.offering,
            "starts_on": NOW.date().isoformat(),
            "ends_on": (NOW.date() + timedelta(days=30)).isoformat(),
            "budget": "5000.00",
            "currency": "usd",
        },
        201,
    )["aggregate_id"]
    office.post("hq", f"/v1/campaigns/{cid}/start", {})
    for rid in (office.huaxin, built.suzhou, built.shanghai):
        office.post(
            "hq",
            f"/v1/relationships/{rid}/interactions",
            {
                "channel": "call",
                "direction": "outbound",
                "summary": "offered air",
                "campaign_id": cid,
            },
        )
    respond = f"/v1/campaigns/{cid}/responses"
    office.post("hq", respond, {"relationship_id": office.huaxin, "response": "interested"})
    office.post("hq", respond, {"relationship_id": built.shanghai, "response": "not_interested"})
    won = opportunity(
        office, "field", office.huaxin, built.offering, "50000", "0.3", source_campaign_id=cid
    )["aggregate_id"]
    advance(office, won, "tracking", "control", "implementation")
    office.post("hq", f"/v1/opportunities/{won}/won", {"note": "signed"})
    office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "3000.00", "branch": "Suzhou"})
    last = office.post("hq", f"/v1/campaigns/{cid}/spend", {"amount": "1000.00"})
    results = fresh(office, "hq", f"/v1/campaigns/{cid}/results", last["position"])
    total = results["total"]
    assert (total["reached"], total["responded"], total["opportunities_opened"]) == (3, 2, 1)
    assert (total["customers_won"], total["spent"], total["cost_per_won_customer"]) == (
        1,
        "4000.00",
        "4000.00",
    )

    sign_in(page, office, "hq")
    page.get_by_role("navigation").get_by_role("link", name="Marketing").click()
    expect(page.locator("#segments-table")).to_contain_text("Electronics exporters")
    page.locator("#campaigns-table").get_by_role("link", name="Spring air to Chicago").click()
    expect(page).to_have_url(re.compile(f"/console/marketing/campaigns/{cid}$"))
    expect(page.get_by_role("heading", name="Spring air to Chicago")).to_be_visible()

    def figure(branch: str, name: str) -> str:
        row = "tr.total" if branch == "" else f"tr[data-branch='{branch}']"
        return page.locator(f"#results-table {row} td[data-figure='{name}']").inner_text()

    expect(page.locator("#results-table tbody tr")).to_have_count(3)
    by_branch = {row["branch"]: row for row in results["branches"]}
    for branch, shown in (
        ("Suzhou", by_branch["Suzhou"]),
        ("Shanghai", by_branch["Shanghai"]),
        ("", total),
    ):
        for name in ("reached", "responded", "prospects_registered", "opportunities_opened"):
            assert figure(branch, name) == str(shown[name]), (branch, name)
        assert figure(branch, "customers_won") == str(shown["customers_won"])
    assert [figure("Suzhou", n) for n in ("reached", "responded", "opportunities_won")] == [
        "2",
        "1",
        "1",
    ]
    assert figure("Suzhou", "spent") == usd(3000)
    assert figure("Suzhou", "cost_per_won_customer") == usd(3000)
    assert figure("Suzhou", "won_value") == usd(50_000)
    assert [figure("Shanghai", n) for n in ("reached", "responded", "customers_won")] == [
        "1",
        "1",
        "0",
    ]
    assert figure("Shanghai", "cost_per_won_customer") == "—"
    assert (figure("", "spent"), figure("", "cost_per_won_customer")) == (usd(4000), usd(4000))
    assert bars(page, "results-chart") == [
        ("Reached", "3"),
        ("Responded", "2"),
        ("Prospects", "0"),
        ("Opportunities", "1"),
        ("Opportunities won", "1"),
        ("Customers won", "1"),
    ]


@in_browser
def test_a_branch_manager_defines_a_segment_and_sees_its_members(
    page: Page, office: Office, built: Built
) -> None:
    sign_in(page, office, "manager")
    page.goto("/console/marketing")
    expect(page.get_by_role("heading", name="Define a segment")).to_be_visible()
    page.locator("#segment-name").fill("Suzhou electronics")
    page.locator("#segment-industries").fill("electronics")
    page.get_by_role("button", name="Define segment").click()
    expect(page.locator("#define-segment-message")).to_have_text("Defined.")
    listed = page.locator("#segments-table tbody tr").filter(has_text="Suzhou electronics")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Suzhou")  # its owner: the manager's branch

    [segment] = office.get("manager", "/v1/segments")["items"]
    assert (segment["name"], segment["owner_branch"], segment["rules"]["industries"]) == (
        "Suzhou electronics",
        "Suzhou",
        ["electronics"],
    )
    listed.get_by_role("link", name="Suzhou electronics").click()
    expect(page.locator("#member-count")).to_have_text(str(segment["member_count"]))
    members = page.locator("#members-table tbody tr")
    expect(members).to_have_count(segment["member_count"])
    expect(page.locator("#members-table")).to_contain_text(SUZHOU_CUSTOMER)
    expect(page.locator("#members-table")).not_to_contain_text(SHANGHAI_CUSTOMER)

    # A campaign planned on that segment, from the same page.
    page.get_by_role("link", name="← Marketing").click()
    expect(page.locator("#campaign-segment")).to_have_value(segment["segment_id"])
    page.locator("#campaign-name").fill("Winter air to Chicago")
    page.locator("#campaign-offering").select_option(built.offering)
    page.locator("#campaign-starts").fill(NOW.date().isoformat())
    page.locator("#campaign-ends").fill((NOW.date() + timedelta(days=14)).isoformat())
    page.locator("#campaign-budget").fill("2500.00")
    page.locator("#campaign-currency").fill("USD")
    page.get_by_role("button", name="Plan campaign").click()
    expect(page.locator("#plan-campaign-message")).to_have_text("Planned.")
    planned = page.locator("#campaigns-table tbody tr").filter(has_text="Winter air to Chicago")
    expect(planned).to_contain_text("Suzhou electronics")
    expect(planned).to_contain_text(usd(2500))
    expect(planned).to_contain_text("Planned")
    [campaign] = office.get("manager", "/v1/campaigns")["items"]
    assert (campaign["name"], campaign["segment_id"], campaign["owner_branch"]) == (
        "Winter air to Chicago",
        segment["segment_id"],
        "Suzhou",
    )
    assert (campaign["budget"], campaign["currency"], campaign["state"]) == (
        "2500.00",
        "USD",
        "planned",
    )

    # Field staff read the marketing page but are offered no command on it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, office, "field")
    page.goto("/console/marketing")
    expect(page.locator("#segments-table")).to_contain_text("Suzhou electronics")
    expect(page.locator("#define-segment")).to_have_count(0)
    expect(page.locator("#plan-campaign")).to_have_count(0)


@in_browser
def test_people_shows_the_months_scores_to_the_manager_and_their_own_to_field_staff(
    page: Page, office: Office, built: Built
) -> None:
    logged = office.post(
        "field",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "visit", "direction": "outbound", "summary": "walked the warehouse"},
    )
    month = NOW.strftime("%Y-%m")
    scores = fresh(office, "manager", "/v1/performance", logged["position"], period=month)
    [field] = [row for row in scores["staff"] if row["staff_id"] == "li.wei"]
    assert (field["visits"], field["calls"]) == (1, 0)

    sign_in(page, office, "manager")
    page.get_by_role("navigation").get_by_role("link", name="People").click()
    page.locator("#people-period").fill(month)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"/console/people\?period={month}$"))
    expect(page.get_by_role("heading", name=f"Staff scores, {month}")).to_be_visible()
    row = page.locator("#scores-table tbody tr").filter(has_text="Li Wei 李伟")
    expect(row).to_have_count(1)
    assert rows(page, "scores-table")[[r["staff_id"] for r in scores["staff"]].index("li.wei")][
        :4
    ] == ["Li Wei 李伟", "Suzhou", "1", "0"]
    assert ("Li Wei 李伟", "1") in bars(page, "scores-chart")
    for section in ("proposed", "ranking", "suggestions"):
        expect(page.locator(f"#{section} h2")).to_be_visible()

    # Field staff see their own scores, and no managers' sections.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, office, "field")
    page.goto(f"/console/people?period={month}")
    expect(page.locator("#scores-table tbody tr")).to_have_count(1)
    expect(page.locator("#scores-table")).to_contain_text("Li Wei 李伟")
    expect(page.locator("#proposed")).to_have_count(0)
    expect(page.locator("#suggestions")).to_have_count(0)
