"""The console and the API documentation: served by the service itself, with nothing fetched
from any other host; and, in a real browser (Debian's Chromium driven by Playwright) against
the service on a real PostgreSQL with live workers, a staff member's work: sign in, my day,
search, a customer's page, and an interaction logged exactly once, refused (412) on a page
another client changed meanwhile, in English and Chinese."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from application import console_sessions
from domain.staff import Role
from interface.console import STATIC
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW
from tests.faults import LiveServer
from tests.staffing import enroll, set_password

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = "FULLCHAIN_REQUIRE_BROWSER"

Test = TypeVar("Test", bound=Callable[..., None])


def in_browser(test: Test) -> Test:
    """A test in Chromium: skipped where there is none, unless $FULLCHAIN_REQUIRE_BROWSER
    says it must run (CI), where it then fails."""
    marked: Test = pytest.mark.browser(
        pytest.mark.skipif(
            not CHROMIUM.exists() and not os.environ.get(REQUIRE_BROWSER),
            reason=f"no {CHROMIUM} (set {REQUIRE_BROWSER} to fail instead)",
        )(test)
    )
    return marked


#: Anything that names another host: a CDN, a font service, an online validator.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""")


# --- served by the service, without a browser ---------------------------------------------------


@pytest.fixture
def plain_client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


def test_the_console_and_the_documentation_are_served_from_the_service(
    plain_client: TestClient,
) -> None:
    for path in (
        "/",
        "/console/sign-in",
        "/console/customers/0b0e5a8e-1111-4a4a-8a8a-000000000001",
    ):
        page = plain_client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/console/static/app.js">' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self';")
    assert plain_client.get("/console", follow_redirects=False).headers["location"] == "/"
    docs = plain_client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "/openapi.json" in docs.text
    for page_text in (docs.text, plain_client.get("/").text):
        assert not EXTERNAL.search(page_text)
        assert "cdn" not in page_text.lower()
    bundle = plain_client.get("/docs/assets/swagger-ui-bundle.js")
    assert (bundle.status_code, bundle.headers["content-type"].split(";")[0]) == (
        200,
        "text/javascript",
    )
    assert plain_client.get("/docs/assets/swagger-ui.css").status_code == 200
    # ReDoc's page would load its script from a CDN: there is none.
    assert plain_client.get("/redoc").status_code == 404
    assert plain_client.get("/console/static/nothing-here.js").status_code == 404
    # The pages are outside the API's document.
    assert not [p for p in plain_client.get("/openapi.json").json()["paths"] if "console" in p]


def test_the_consoles_own_files_name_no_other_host() -> None:
    files = sorted(p for p in STATIC.rglob("*") if p.is_file())
    assert {p.suffix for p in files} == {".css", ".html", ".js"}
    assert {"app.js", "api.js", "dom.js", "forms.js", "i18n.js", "index.html"} <= {
        p.name for p in files
    }
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not EXTERNAL.search(text), path.name
        # Every import is of another of the console's own files.
        for source in re.findall(r"""^import .* from ["']([^"']+)["']""", text, re.M):
            assert source.startswith(("./", "../")), (path.name, source)
            assert (path.parent / source).resolve().is_file(), (path.name, source)


def test_the_two_dictionaries_hold_the_same_words() -> None:
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    english, chinese = text.split("\n  zh: {", 1)
    key = re.compile(r'^\s+"([\w.]+)":', re.M)
    assert set(key.findall(english)) == set(key.findall(chinese))
    assert len(key.findall(chinese)) > 60


# --- in a real browser ---------------------------------------------------------------------------

HUAXIN = "苏州华芯电子有限公司"
#: Every console user's password in these tests (set by ``office``).
PASSWORD = "office-password-2026"
SESSION = console_sessions.SESSION_COOKIE


@dataclass
class Office:
    url: str
    api: httpx.Client
    services: Services
    tokens: dict[str, str]
    huaxin: str
    last_position: int
    #: Who signs in to the console as whom: staff ids by the names the tests use.
    staff_ids: dict[str, str] = field(default_factory=dict)

    def post(self, who: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        answer = self.api.post(path, json=body, headers=self.auth(who))
        assert answer.status_code == status, answer.text
        return answer.json()

    def get(self, who: str, path: str, **params: Any) -> Any:
        answer = self.api.get(path, params=params, headers=self.auth(who))
        assert answer.status_code == 200, answer.text
        return answer.json()

    def console_staff(self, who: str) -> str:
        """The staff id ``who`` signs in to the console as, with ``PASSWORD``: staff a test
        enrolled itself (``office.tokens[who] = enroll(...)``) are given it on first use."""
        if who not in self.staff_ids:
            staff_id = self.get(who, "/v1/staff/me")["staff_id"]
            set_password(self.services, staff_id, PASSWORD)
            self.staff_ids[who] = staff_id
        return self.staff_ids[who]

    def launch_offering(self) -> Any:
        """Headquarters launch the Suzhou–Chicago air offering, 20 days before ``NOW``; the
        command's answer."""
        return self.post(
            "hq",
            "/v1/offerings",
            {
                "name": "Suzhou–Chicago air",
                "origin": "Suzhou",
                "destination": "Chicago",
                "mode": "air",
                "service_level": "door_to_door",
                "transit_days": 5,
                "occurred_at": (NOW - timedelta(days=20)).isoformat(),
            },
            201,
        )

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def timeline(self) -> list[dict[str, Any]]:
        """The customer's interactions, once the last write is in the read model."""
        page = self.get(
            "hq",
            f"/v1/relationships/{self.huaxin}/interactions",
            min_position=self.last_position,
        )
        items: list[dict[str, Any]] = page["items"]
        return items


def fresh(office: Office, who: str, path: str, position: int, **params: Any) -> Any:
    """The answer to a read once its read models have reached ``position`` (a 503, not there
    yet, is asked again: each request waits as long as the API allows)."""
    deadline = time.monotonic() + 120
    while True:
        answer = office.api.get(
            path,
            params={"wait": 10, **params, "min_position": position},
            headers=office.auth(who),
        )
        if answer.status_code != 503 or time.monotonic() >= deadline:
            assert answer.status_code == 200, answer.text
            return answer.json()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def office(services: Services) -> Iterator[Office]:
    services.start_workers()
    tokens = {
        "field": enroll(
            services, "li.wei", "Li Wei 李伟", roles=(Role.FIELD_STAFF,), branch="Suzhou"
        ),
        "office": enroll(
            services, "zhang.min", "Zhang Min 张敏", roles=(Role.OFFICE_STAFF,), branch="Suzhou"
        ),
        "hq": enroll(services, "qian.lin", "Qian Lin 钱琳"),
    }
    staff_ids = {"field": "li.wei", "office": "zhang.min", "hq": "qian.lin"}
    for staff_id in staff_ids.values():
        set_password(services, staff_id, PASSWORD)
    with (
        LiveServer(create_app(services)) as server,
        httpx.Client(base_url=server.url, timeout=120) as api,
    ):
        office = Office(server.url, api, services, tokens, "", 0, staff_ids)
        registered = office.post(
            "hq",
            "/v1/relationships",
            {
                "name": HUAXIN,
                "kind": "customer",
                "industry": "electronics",
                "region": "East China",
                "branch": "Suzhou",
                "occurred_at": (NOW - timedelta(days=30)).isoformat(),
            },
            201,
        )
        office.huaxin = registered["aggregate_id"]
        office.post(
            "hq",
            f"/v1/relationships/{office.huaxin}/contacts",
            {"contact_id": "wang", "name": "Wang Fang 王芳", "phone": "+86 512 6666 0001"},
        )
        # 10:00 UTC is 18:00 in Suzhou: overdue, later today, in three days.
        for hours, note in (
            (-26, "chase the signed POD"),
            (3, "confirm the Q2 volumes"),
            (72, "quarterly review"),
        ):
            scheduled = office.post(
                "field",
                "/v1/follow-ups",
                {
                    "subject_kind": "relationship",
                    "subject_id": office.huaxin,
                    "kind": "call",
                    "due_at": (NOW + timedelta(hours=hours)).isoformat(),
                    "note": note,
                },
                201,
            )
        office.last_position = scheduled["position"]
        office.get("field", "/v1/my-day", min_position=office.last_position)
        office.timeline()
        yield office


@pytest.fixture
def page(browser: Browser, office: Office) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", base_url=office.url)
    # Every wait is for a condition, bounded only against a stuck system: on a loaded
    # machine the first OpenAPI document alone can take longer than Playwright's 5 s.
    context.set_default_timeout(120_000)
    expect.set_options(timeout=120_000)
    opened = context.new_page()
    uncaught: list[str] = []
    opened.on("pageerror", lambda error: uncaught.append(str(error)))
    yield opened
    context.close()
    assert uncaught == []  # no script failed on any page the test went through


def sign_in(page: Page, office: Office, who: str = "field", home: str = "My day") -> None:
    """Sign in to the console with the staff member's id and password; ``home`` is the
    heading of the page they land on."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.get_by_label("Staff ID").fill(office.console_staff(who))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=home)).to_be_visible()


def open_huaxin(page: Page, office: Office) -> None:
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.get_by_role("heading", name=HUAXIN)).to_be_visible()
    expect(page.locator("#timeline")).to_be_visible()


def log(page: Page, summary: str) -> None:
    page.locator("#channel").select_option("visit")
    page.locator("#summary").fill(summary)


SUBMIT = "#log-interaction button[type=submit]"


@in_browser
def test_sign_in_then_my_day_lists_the_follow_ups(page: Page, office: Office) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.get_by_label("Staff ID").fill("li.wei")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The staff ID or password was not accepted.")

    sign_in(page, office)
    overdue, today, upcoming = (page.locator(f"#{i}") for i in ("overdue", "due-today", "upcoming"))
    expect(overdue.get_by_role("heading")).to_have_text("Overdue (1)")
    expect(overdue).to_contain_text("chase the signed POD")
    expect(overdue).to_contain_text(HUAXIN)
    expect(today.get_by_role("heading")).to_have_text("Due today (1)")
    expect(today).to_contain_text("confirm the Q2 volumes")
    expect(upcoming.get_by_role("heading")).to_have_text("Upcoming (1)")
    expect(upcoming).to_contain_text("quarterly review")
    expect(page.get_by_text("Signed in as Li Wei 李伟 (Suzhou)")).to_be_visible()
    # The session is a cookie no script can read; nothing is kept in the tab's storage.
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
        "fc_session",
        True,
        "Strict",
    )
    assert f"{office.url}/console/static/app.js" in requested
    assert [url for url in requested if not url.startswith(office.url + "/")] == []

    # A reloaded page finds its session again.
    page.reload()
    expect(page.get_by_role("heading", name="My day")).to_be_visible()

    # A session ended elsewhere (a new password) sends the console back to sign-in.
    set_password(office.services, "li.wei", PASSWORD)
    page.get_by_role("link", name="My day").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    expect(page.get_by_role("alert")).to_contain_text("sign in again")

    # Signing out ends the session on the service: its cookie opens nothing any more.
    sign_in(page, office)
    [cookie] = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    assert page.context.cookies() == []
    ended = office.api.get("/v1/staff/me", headers={"Cookie": f"{SESSION}={cookie['value']}"})
    assert ended.status_code == 401


@in_browser
def test_search_finds_the_customer_and_opens_its_page(page: Page, office: Office) -> None:
    # Signed in by the one-time link `make run` prints: its secret in the fragment, used,
    # then dropped from the address; the same link a second time opens nothing.
    with office.services.reads.connection() as conn:
        secret, _ = console_sessions.issue_link(conn, "li.wei", NOW, issued_by="test")
    page.goto(f"/console/sign-in#link={secret}")
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    assert page.url == f"{office.url}/"
    again = page.context.new_page()
    again.goto(f"/console/sign-in#link={secret}")
    expect(again.get_by_role("alert")).to_contain_text("already used or expired")
    again.close()
    page.get_by_role("searchbox").fill("hxdz")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/console/search\?q=hxdz$"))
    page.locator(".hits").get_by_role("link", name=HUAXIN).click()
    expect(page).to_have_url(re.compile(f"/console/customers/{office.huaxin}$"))
    expect(page.get_by_role("heading", name=HUAXIN)).to_be_visible()
    expect(page.locator("#contacts")).to_contain_text("Wang Fang 王芳")
    expect(page.locator("#contacts")).to_contain_text("+86 512 6666 0001")
    expect(page.locator("[data-field='customer.branch']")).to_have_text("Suzhou")
    expect(page.locator("[data-field='customer.kind']")).to_have_text("Customer")
    expect(page.locator("#timeline")).to_contain_text("No interactions yet.")
    # The search box is on every page, the customer's too.
    page.get_by_role("searchbox").fill("no such customer zzz")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Nothing found for “no such customer zzz”.")).to_be_visible()


@in_browser
def test_a_logged_interaction_appears_in_the_timeline(page: Page, office: Office) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    version = page.locator("[data-field='customer.version']")
    before = int(version.inner_text())
    log(page, "walked the new warehouse with Ms Wang")
    page.locator("#contact").select_option("wang")
    page.locator(SUBMIT).click()
    expect(page.locator("#log-message")).to_have_text("Logged.")
    # Read back at the position the command answered: the page shows its own write.
    entry = page.locator("#timeline li").filter(has_text="walked the new warehouse")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Visit · Outbound")
    expect(entry).to_contain_text("Wang Fang 王芳")
    expect(version).to_have_text(str(before + 1))
    expect(page.locator("#summary")).to_have_value("")

    [logged] = office.timeline()
    assert (logged["summary"], logged["staff"], logged["actor"], logged["channel"]) == (
        "walked the new warehouse with Ms Wang",
        "li.wei",
        "li.wei",
        "visit",
    )
    assert logged["contact_id"] == "wang"


@in_browser
def test_a_double_click_or_a_resubmit_after_a_lost_answer_logs_it_once(
    page: Page, office: Office
) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    log(page, "double-clicked call")
    page.locator(SUBMIT).dblclick()
    expect(page.locator("#log-message")).to_have_text("Logged.")
    expect(page.locator("#timeline li").filter(has_text="double-clicked call")).to_have_count(1)

    # The service logs the interaction but its answer never reaches the browser; the form
    # keeps its key, so submitting again answers the first outcome rather than logging twice.
    sent: list[str | None] = []

    def lose_the_answer(route: Route) -> None:
        sent.append(route.request.headers.get("idempotency-key"))
        route.fetch()  # the service receives and answers it
        route.abort("connectionreset")

    pattern = f"**/v1/relationships/{office.huaxin}/interactions"
    page.route(pattern, lose_the_answer, times=1)
    log(page, "answer lost on the way back")
    page.locator(SUBMIT).click()
    expect(page.locator("#log-message")).to_contain_text("could not be reached")
    expect(page.locator("#summary")).to_have_value("answer lost on the way back")
    page.unroute(pattern)
    retried: list[str | None] = []
    page.on(
        "request",
        lambda request: (
            retried.append(request.headers.get("idempotency-key"))
            if request.method == "POST"
            else None
        ),
    )
    page.locator(SUBMIT).click()
    expect(page.locator("#log-message")).to_have_text("Logged.")
    assert sent[0] is not None
    assert retried == sent

    summaries = [entry["summary"] for entry in office.timeline()]
    assert sorted(summaries) == ["answer lost on the way back", "double-clicked call"]
    expect(page.locator("#timeline li")).to_have_count(2)


@in_browser
def test_a_page_another_client_changed_shows_412_and_changes_nothing(
    page: Page, office: Office
) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    shown = page.locator("[data-field='customer.version']").inner_text()
    other = office.post(
        "office",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "call", "direction": "inbound", "summary": "they called about customs"},
    )
    assert other["version"] == int(shown) + 1
    office.last_position = other["position"]

    log(page, "notes from a stale page")
    page.locator(SUBMIT).click()
    message = page.locator("#log-message")
    expect(message).to_contain_text("This customer changed since you opened it — review and retry.")
    assert [e["summary"] for e in office.timeline()] == ["they called about customs"]
    expect(page.locator("#summary")).to_have_value("notes from a stale page")

    # Reviewed, the same entry goes through, once, on the version now shown.
    message.get_by_role("button", name="Show the changes").click()
    expect(page.locator("#timeline")).to_contain_text("they called about customs")
    expect(page.locator("[data-field='customer.version']")).to_have_text(str(int(shown) + 1))
    page.locator(SUBMIT).click()
    expect(message).to_have_text("Logged.")
    assert sorted(e["summary"] for e in office.timeline()) == [
        "notes from a stale page",
        "they called about customs",
    ]


@in_browser
def test_the_language_switch_shows_chinese_and_is_remembered(page: Page, office: Office) -> None:
    sign_in(page, office)
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的一天")).to_be_visible()
    expect(page.locator("#overdue").get_by_role("heading")).to_have_text("已逾期 (1)")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.reload()
    expect(page.get_by_role("heading", name="我的一天")).to_be_visible()

    # The refusal of a stale page, in Chinese.
    page.goto(f"/console/customers/{office.huaxin}")
    expect(page.get_by_role("heading", name="记录一次联系")).to_be_visible()
    expect(page.locator("[data-field='customer.kind']")).to_have_text("客户")
    office.post(
        "office",
        f"/v1/relationships/{office.huaxin}/interactions",
        {"channel": "email", "direction": "outbound", "summary": "sent the rate card"},
    )
    page.locator("#summary").fill("过期页面上的记录")
    page.get_by_role("button", name="记录联系").click()
    expect(page.locator("#log-message")).to_contain_text("您打开此客户后，它已被他人修改")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Log an interaction")).to_be_visible()


@in_browser
def test_the_api_documentation_renders_with_no_request_to_another_host(
    page: Page, office: Office
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Fullchain CRM")
    expect(page.locator(".opblock-summary-path", has_text="/v1/my-day")).to_be_visible()
    expect(page.locator(".swagger-ui .errors-wrapper")).to_have_count(0)
    assert f"{office.url}/openapi.json" in requested
    outside = [url for url in requested if not url.startswith(office.url + "/")]
    assert outside == []
