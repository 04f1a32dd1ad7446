"""Refusals in the user's language: over HTTP (uvicorn on a real PostgreSQL), a 404, a 409,
a 412 and a 422 answered with their title (and field reasons) in Chinese for
``Accept-Language: zh-CN`` and in English otherwise; ``type``, ``status``, ``rule`` and the
field names the same in both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright.sync_api import Page, expect

from interface.http.app import create_app
from interface.http.errors import preferred_language
from interface.runtime import Services
from tests.faults import LiveServer
from tests.staffing import enroll
from tests.test_console import Office, browser, in_browser, office, page, sign_in

__all__ = ["browser", "office", "page"]  # the console's fixtures, used by name

CHINESE = "zh-CN,zh;q=0.9,en;q=0.8"
ENGLISH_ANSWERS = [None, "en-US,en;q=0.9", "fr-FR", "de, zh;q=0.4, en;q=0.6", "*"]


@dataclass
class Refusals:
    api: httpx.Client
    partner: str  # a relationship of kind partner: first business is refused (409)

    def ask(self, which: str, accept_language: str | None) -> httpx.Response:
        headers = {} if accept_language is None else {"Accept-Language": accept_language}
        if which == "404":
            return self.api.post(
                f"/v1/relationships/{uuid4()}/rename", json={"name": "x"}, headers=headers
            )
        if which == "409":
            return self.api.post(
                f"/v1/relationships/{self.partner}/first-business",
                json={"reference": "x"},
                headers=headers,
            )
        if which == "412":
            return self.api.post(
                f"/v1/relationships/{self.partner}/rename",
                json={"name": "Stale"},
                headers={**headers, "If-Match": '"99"'},
            )
        if which == "422":
            return self.api.post(
                f"/v1/relationships/{self.partner}/rename",
                json={"name": "x" * 201},
                headers=headers,
            )
        if which == "422-missing":
            return self.api.post("/v1/relationships", json={"kind": "prospect"}, headers=headers)
        if which == "401":
            return self.api.get(
                "/v1/relationships", headers={**headers, "Authorization": "Bearer fc_nonsense"}
            )
        raise AssertionError(which)


@pytest.fixture
def refusals(services: Services) -> Iterator[Refusals]:
    token = enroll(services, "li.wei", "Li Wei 李伟")
    with (
        LiveServer(create_app(services)) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as api,
    ):
        registered = api.post(
            "/v1/relationships",
            json={
                "name": "华东物流伙伴",
                "kind": "partner",
                "industry": "logistics",
                "region": "East China",
                "branch": "Suzhou",
            },
        )
        assert registered.status_code == 201, registered.text
        yield Refusals(api, registered.json()["aggregate_id"])


TITLES = {
    "404": ("Not found", "未找到"),
    "409": ("Command refused by a business rule", "业务规则拒绝了此命令"),
    "412": ("Precondition failed", "前提条件不成立：版本已变更"),
    "422": ("Invalid input", "输入无效"),
    "422-missing": ("Invalid input", "输入无效"),
    "401": ("Unauthorized", "未认证"),
}


@pytest.mark.parametrize("which", list(TITLES))
def test_a_refusal_is_titled_in_chinese_when_asked_and_in_english_otherwise(
    refusals: Refusals, which: str
) -> None:
    english_title, chinese_title = TITLES[which]
    chinese = refusals.ask(which, CHINESE)
    status = int(which.split("-")[0])
    assert chinese.status_code == status, chinese.text
    assert chinese.headers["content-type"] == "application/problem+json"
    assert chinese.headers["content-language"] == "zh-CN"
    assert "Accept-Language" in chinese.headers["vary"]
    zh: dict[str, Any] = chinese.json()
    assert zh["title"] == chinese_title
    for accept_language in ENGLISH_ANSWERS:
        answer = refusals.ask(which, accept_language)
        assert answer.status_code == status
        assert answer.headers["content-language"] == "en"
        en: dict[str, Any] = answer.json()
        assert en["title"] == english_title, accept_language
        # What clients match on is the same in both languages.
        assert (en["type"], en["status"], en.get("rule")) == (
            zh["type"],
            zh["status"],
            zh.get("rule"),
        )
        assert [e["field"] for e in en.get("errors", [])] == [
            e["field"] for e in zh.get("errors", [])
        ]
    if which == "401":
        assert chinese.headers["www-authenticate"] == "Bearer"


def test_the_field_reasons_are_translated_where_the_table_has_words(refusals: Refusals) -> None:
    too_long = refusals.ask("422", CHINESE).json()
    assert too_long["errors"] == [{"field": "name", "reason": "至多 200 个字符"}]
    assert refusals.ask("422", "en").json()["errors"] == [
        {"field": "name", "reason": "String should have at most 200 characters"}
    ]
    missing = refusals.ask("422-missing", CHINESE).json()
    reasons = {e["field"]: e["reason"] for e in missing["errors"]}
    assert reasons["name"] == "必填"
    assert set(reasons.values()) == {"必填"}
    unknown = refusals.api.get(
        "/v1/relationships", params={"nonsense": "1"}, headers={"Accept-Language": "zh"}
    ).json()
    assert unknown["title"] == "输入无效"
    assert unknown["errors"] == [{"field": "nonsense", "reason": "不接受此查询参数"}]


def test_successful_answers_are_untouched(refusals: Refusals) -> None:
    answer = refusals.api.get("/v1/staff/me", headers={"Accept-Language": CHINESE})
    assert answer.status_code == 200
    assert "content-language" not in answer.headers
    assert answer.json()["name"] == "Li Wei 李伟"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans-CN;q=0.8, fr;q=0.9", "zh"),
        ("en-GB,zh;q=0.9", "en"),
        ("zh;q=0.5,en;q=0.7", "en"),
        ("zh;q=0.7,en;q=0.5", "zh"),
        ("zh;q=0", "en"),
        ("zh;q=nonsense", "en"),
        ("ja, ko", "en"),
    ],
)
def test_the_preferred_language(header: str | None, language: str) -> None:
    assert preferred_language(header) == language


# --- the console asks in its language ---------------------------------------------------------

ASK = """async () => {
  const api = await import("/console/static/api.js");
  try {
    await api.call("GET", "/v1/relationships", {query: {nonsense: "1"}});
    return null;
  } catch (error) {
    return {status: error.status, title: error.body.title, errors: error.body.errors};
  }
}"""


@in_browser
def test_the_console_asks_for_refusals_in_its_chosen_language(page: Page, office: Office) -> None:
    sign_in(page, office)
    assert page.evaluate(ASK) == {
        "status": 422,
        "title": "Invalid input",
        "errors": [{"field": "nonsense", "reason": "unknown query parameter"}],
    }
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的一天")).to_be_visible()
    assert page.evaluate(ASK) == {
        "status": 422,
        "title": "输入无效",
        "errors": [{"field": "nonsense", "reason": "不接受此查询参数"}],
    }
