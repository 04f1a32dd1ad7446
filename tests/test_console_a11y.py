"""The console's pages for everyone: no serious or critical axe-core violation on sign-in,
my day, search results and a customer's page, in English and in Chinese; and a keyboard
alone reaches the search box, the navigation and the log-an-interaction form in reading
order, each control showing where the focus is."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.a11y import assert_accessible, violations
from tests.test_console import (
    HUAXIN,
    PASSWORD,
    Office,
    browser,
    in_browser,
    office,
    open_huaxin,
    page,
    sign_in,
)

__all__ = ["browser", "office", "page"]  # the fixtures, used by name


def visit_every_page(page: Page, office: Office, chinese: bool) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    if chinese:
        page.get_by_role("button", name="中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#staff-id")).to_be_visible()
    assert_accessible(page)

    page.locator("#staff-id").fill(office.console_staff("field"))
    page.locator("#password").fill(PASSWORD)
    page.locator("#view form button[type=submit]").click()
    expect(page.locator("#overdue")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("searchbox").fill("hxdz")
    page.get_by_role("searchbox").press("Enter")
    expect(page.locator(".hits").get_by_role("link", name=HUAXIN)).to_be_visible()
    assert_accessible(page)

    open_huaxin(page, office)
    assert_accessible(page)


@in_browser
def test_every_page_passes_axe_in_english(page: Page, office: Office) -> None:
    visit_every_page(page, office, chinese=False)


@in_browser
def test_every_page_passes_axe_in_chinese(page: Page, office: Office) -> None:
    visit_every_page(page, office, chinese=True)
    expect(page.get_by_role("heading", name="记录一次联系")).to_be_visible()
    # The form's refusal, with its button to review the changes, is as readable.
    office.post(
        "office",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "call", "direction": "inbound", "summary": "they called about customs"},
    )
    page.locator("#summary").fill("过期页面上的记录")
    page.get_by_role("button", name="记录联系").click()
    expect(page.locator("#log-message").get_by_role("button")).to_be_visible()
    assert_accessible(page)


@in_browser
def test_the_check_fails_a_page_with_a_serious_violation(page: Page, office: Office) -> None:
    sign_in(page, office)
    page.evaluate(
        """document.getElementById('view').append(
             Object.assign(document.createElement('p'),
                           {textContent: 'faint', style: 'color:#ddd'}),
             Object.assign(document.createElement('input'), {type: 'text'}))"""
    )
    found = {v["id"] for v in violations(page)}
    assert {"color-contrast", "label"} <= found
    with pytest.raises(AssertionError, match="color-contrast"):
        assert_accessible(page)


FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(),
    id: e.id,
    type: e.getAttribute("type") || "",
    text: (e.textContent || "").trim(),
    outline: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
  };
}"""


def tab_until(page: Page, last: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The elements Tab visits from the top of the page, up to the one ``last`` accepts."""
    visited: list[dict[str, Any]] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused: dict[str, Any] = page.evaluate(FOCUSED)
        visited.append(focused)
        if last(focused):
            return visited
    raise AssertionError(f"never reached: {visited}")


def name(focused: dict[str, Any]) -> str:
    if focused["id"]:
        return f"#{focused['id']}"
    if focused["type"] == "search":
        return "search"
    return str(focused["text"])


@in_browser
def test_a_keyboard_alone_signs_in_searches_and_logs_an_interaction(
    page: Page, office: Office
) -> None:
    page.goto("/console/sign-in")
    expect(page.locator("#staff-id")).to_be_visible()
    visited = tab_until(page, lambda f: f["id"] == "staff-id")
    assert name(visited[0]) == "#skip"
    page.keyboard.type(office.console_staff("field"))
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["id"] == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["text"] == "Sign in"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My day")).to_be_visible()

    open_huaxin(page, office)
    visited = tab_until(page, lambda f: f["text"] == "Log interaction")
    order = [name(f) for f in visited]
    expected = [
        "search",
        "Search",
        "My day",
        "API documentation",
        "#channel",
        "#direction",
        "#contact",
        "#summary",
        "Log interaction",
    ]
    assert [n for n in order if n in expected] == expected, order
    # The skip link comes first, then the bar, then the page; every stop shows the focus.
    assert order[0] == "#skip"
    assert all(f["outline"] >= 2 for f in visited), visited

    # Typed and sent from the keyboard alone.
    page.locator("#channel").focus()
    page.keyboard.press("ArrowDown")  # visit → call
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["id"] == "summary"
    page.keyboard.type("called from the keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#log-message")).to_have_text("Logged.")
    [logged] = office.timeline()
    assert (logged["summary"], logged["channel"]) == ("called from the keyboard", "call")

    # The skip link moves the focus to the page itself, past the bar.
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.locator("#timeline")).to_contain_text("called from the keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "view"
    page.keyboard.press("Tab")
    # The next stop is the page's first control, not the bar's.
    first = page.evaluate(
        """() => document.querySelector('#view').querySelector(
            'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')"""
        """ === document.activeElement"""
    )
    assert first
    assert page.evaluate("document.activeElement.closest('#bar') === null")
