"""The console's sign-in: a staff member's password (or a one-time link the command line
prints) opens a session cookie (HttpOnly, SameSite=Strict) whose changes need its CSRF
token, while API clients keep their bearer tokens; failed sign-ins are limited per staff id;
the password is kept as its scrypt hash only."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from application import console_sessions, passwords
from application.store.database import DATABASE_URL_VARIABLE
from application.store.schema import EVENTS_TABLE
from domain.staff import Role
from interface.demo import DEMO_EXPLORER, DEMO_PASSWORD, demo_sign_in
from interface.http.app import create_app
from interface.runtime import Services
from tests.clock import NOW, PinnedClock
from tests.staffing import enroll, set_password
from tests.test_console import PASSWORD as CONSOLE_PASSWORD
from tests.test_console import (  # the fixtures browser, office and page, and the helpers
    Office,
    browser,
    in_browser,
    office,
    page,
)
from tests.test_console import sign_in as console_sign_in

__all__ = ["browser", "office", "page"]  # fixtures of tests.test_console, used here

PASSWORD = "correct horse battery staple 马"
SESSION = console_sessions.SESSION_COOKIE


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as c:
        yield c


@pytest.fixture
def hq_token(services: Services) -> str:
    token = enroll(services, "qian.lin", "Qian Lin 钱琳")
    set_password(services, "qian.lin", PASSWORD)
    return token


def sign_in(client: TestClient, staff_id: str = "qian.lin", password: str = PASSWORD) -> Any:
    return client.post("/console/session", json={"staff_id": staff_id, "password": password})


def session_rows(services: Services) -> list[dict[str, Any]]:
    with services.reads.connection() as conn:
        return conn.execute("SELECT * FROM console_session").fetchall()  # type: ignore[return-value]


def register_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "customer",
        "industry": "electronics",
        "region": "East China",
        "branch": "Suzhou",
    }


def other_than(token: str) -> str:
    """``token`` with its first character changed: a wrong token, whatever ``token`` is."""
    return ("y" if token[0] == "x" else "x") + token[1:]


def relationships_named(services: Services, name: str) -> int:
    with services.reads.connection() as conn:
        row = conn.execute(
            f"SELECT count(*) AS n FROM {EVENTS_TABLE} "
            "WHERE topic LIKE 'Relationship.Registered%%' "
            "AND position(convert_to(%s, 'UTF8') in state) > 0",
            (name,),
        ).fetchone()
    assert row is not None
    return int(row["n"])


def test_a_password_opens_a_session_cookie_http_only_and_same_site_strict(
    services: Services, client: TestClient, hq_token: str
) -> None:
    answer = sign_in(client)
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION}=")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain http here; https sets Secure
    body = answer.json()
    assert body["staff_id"] == "qian.lin"
    assert len(body["csrf_token"]) >= 32
    # Only the cookie's hash is kept.
    value = client.cookies[SESSION]
    [row] = session_rows(services)
    assert bytes(row["session_sha256"]) != value.encode()
    assert row["staff_id"] == "qian.lin"
    lasts = row["expires_at"] - NOW
    assert (
        console_sessions.SESSION_LIFETIME
        <= lasts
        < console_sessions.SESSION_LIFETIME + timedelta(minutes=5)
    )
    # The session answers who is signed in, and the staff member's reads work with it.
    again = client.get("/console/session")
    assert again.status_code == 200
    assert again.json()["csrf_token"] == body["csrf_token"]
    me = client.get("/v1/staff/me")
    assert me.status_code == 200, me.text
    assert me.json()["staff_id"] == "qian.lin"


def test_a_session_over_https_has_a_secure_cookie(services: Services, hq_token: str) -> None:
    with TestClient(create_app(services), base_url="https://testserver") as secure:
        answer = sign_in(secure)
    assert answer.status_code == 200
    assert "secure" in {p.strip().lower() for p in answer.headers["set-cookie"].split(";")}


def test_a_form_signs_in_too(client: TestClient, hq_token: str) -> None:
    answer = client.post("/console/session", data={"staff_id": "qian.lin", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    assert SESSION in client.cookies


def test_a_wrong_password_and_an_unknown_staff_id_get_the_same_401_and_change_nothing(
    services: Services, client: TestClient, hq_token: str
) -> None:
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, staff_id="nobody.here")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert "set-cookie" not in wrong.headers
    assert "set-cookie" not in unknown.headers
    assert session_rows(services) == []
    assert client.get("/console/session").status_code == 401
    assert client.get("/v1/staff/me").status_code == 401
    # Nothing to sign in with: 422, the field named.
    missing = client.post("/console/session", json={"staff_id": "qian.lin"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "password"


def test_five_failures_in_15_minutes_and_the_next_is_429_with_retry_after(
    services: Services, client: TestClient, hq_token: str
) -> None:
    for _ in range(console_sessions.FAILURES_ALLOWED):
        assert sign_in(client, password="guess").status_code == 401
    limited = sign_in(client)  # even the right password, while the limit holds
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    assert session_rows(services) == []
    # Another staff id is not limited by these.
    assert sign_in(client, staff_id="someone.else").status_code == 401
    # Once the window has passed, the right password is accepted.
    services.app.clock = PinnedClock(NOW + timedelta(minutes=16))
    assert sign_in(client).status_code == 200


def test_a_session_needs_its_csrf_token_to_change_anything(
    services: Services, client: TestClient, hq_token: str
) -> None:
    csrf = sign_in(client).json()["csrf_token"]
    missing = client.post("/v1/relationships", json=register_body("无令牌公司"))
    assert missing.status_code == 403
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "X-CSRF-Token" in missing.json()["detail"]
    wrong = client.post(
        "/v1/relationships",
        json=register_body("错令牌公司"),
        headers={"X-CSRF-Token": other_than(csrf), "Idempotency-Key": "k-1"},
    )
    assert wrong.status_code == 403
    assert relationships_named(services, "无令牌公司") == 0
    assert relationships_named(services, "错令牌公司") == 0

    right = client.post(
        "/v1/relationships",
        json=register_body("有令牌公司"),
        headers={"X-CSRF-Token": csrf, "Idempotency-Key": "k-1"},
    )
    assert right.status_code == 201, right.text
    registered = right.json()
    with services.reads.connection() as conn:
        row = conn.execute(
            "SELECT actor FROM fullchain_command WHERE aggregate_id = %s",
            (registered["aggregate_id"],),
        ).fetchone()
    assert row is not None
    assert row["actor"] == "qian.lin"
    # The same key again, in the same session: the first answer, not a second customer.
    retried = client.post(
        "/v1/relationships",
        json=register_body("有令牌公司"),
        headers={"X-CSRF-Token": csrf, "Idempotency-Key": "k-1"},
    )
    assert retried.json()["aggregate_id"] == registered["aggregate_id"]
    assert relationships_named(services, "有令牌公司") == 1


def test_bearer_tokens_still_work_without_any_csrf_token(
    services: Services, client: TestClient, hq_token: str
) -> None:
    answer = client.post(
        "/v1/relationships",
        json=register_body("令牌客户"),
        headers={"Authorization": f"Bearer {hq_token}"},
    )
    assert answer.status_code == 201, answer.text
    assert relationships_named(services, "令牌客户") == 1
    assert (
        client.get("/v1/staff/me", headers={"Authorization": "Bearer fc_nope"}).status_code == 401
    )


def test_roles_and_branches_of_a_session_are_those_of_the_staff_member(
    services: Services, client: TestClient
) -> None:
    enroll(services, "li.wei", "Li Wei 李伟", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    set_password(services, "li.wei", PASSWORD)
    csrf = sign_in(client, "li.wei").json()["csrf_token"]
    # Field staff may not manage staff, nor work in another branch.
    token = client.post("/v1/staff/li.wei/tokens", json={}, headers={"X-CSRF-Token": csrf})
    assert token.status_code == 403
    assert len(services.app.staff.get_staff("li.wei").tokens) == 1  # the one enrolled
    other = client.post(
        "/v1/relationships",
        json={**register_body("北京客户"), "branch": "Beijing"},
        headers={"X-CSRF-Token": csrf},
    )
    assert other.status_code == 403
    assert relationships_named(services, "北京客户") == 0


def test_signing_out_ends_the_session(
    services: Services, client: TestClient, hq_token: str
) -> None:
    csrf = sign_in(client).json()["csrf_token"]
    cookie = client.cookies[SESSION]
    refused = client.delete("/console/session")  # without its CSRF token
    assert refused.status_code == 403
    assert client.get("/v1/staff/me").status_code == 200
    out = client.delete("/console/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert SESSION not in client.cookies
    assert session_rows(services) == []
    # The old cookie, sent again, is refused.
    client.cookies.set(SESSION, cookie)
    assert client.get("/v1/staff/me").status_code == 401
    assert client.get("/console/session").status_code == 401


def test_a_new_password_or_a_deactivation_ends_the_sessions(
    services: Services, client: TestClient, hq_token: str
) -> None:
    assert sign_in(client).status_code == 200
    set_password(services, "qian.lin", "another password")
    assert client.get("/v1/staff/me").status_code == 401
    assert sign_in(client).status_code == 401
    assert sign_in(client, password="another password").status_code == 200
    services.app.staff.deactivate_staff(services.app.context("admin"), "qian.lin", reason="left")
    assert client.get("/v1/staff/me").status_code == 401
    assert sign_in(client, password="another password").status_code == 401


def test_a_one_time_link_signs_in_once_and_not_after_15_minutes(
    services: Services, client: TestClient, hq_token: str
) -> None:
    with services.reads.connection() as conn:
        secret, expires = console_sessions.issue_link(conn, "qian.lin", NOW, issued_by="test")
    assert expires == NOW + timedelta(minutes=15)
    services.app.clock = PinnedClock(NOW + timedelta(minutes=14))
    first = client.post("/console/session", json={"link": secret})
    assert first.status_code == 200, first.text
    assert first.json()["staff_id"] == "qian.lin"
    assert client.get("/v1/staff/me").json()["staff_id"] == "qian.lin"
    client.cookies.clear()
    again = client.post("/console/session", json={"link": secret})
    assert again.status_code == 401
    assert "set-cookie" not in again.headers

    with services.reads.connection() as conn:
        late, _ = console_sessions.issue_link(conn, "qian.lin", NOW, issued_by="test")
        stored = conn.execute("SELECT link_sha256 FROM console_sign_in_link").fetchall()
    assert all(late.encode() not in bytes(r["link_sha256"]) for r in stored)
    services.app.clock = PinnedClock(NOW + timedelta(minutes=15, seconds=1))
    assert client.post("/console/session", json={"link": late}).status_code == 401
    assert client.post("/console/session", json={"link": "made-up"}).status_code == 401
    with pytest.raises(console_sessions.UnknownStaff), services.reads.connection() as conn:
        console_sessions.issue_link(conn, "nobody.here", NOW, issued_by="test")


def test_the_password_is_in_no_table_and_the_log_holds_only_its_scrypt_hash(
    services: Services, client: TestClient, hq_token: str
) -> None:
    assert sign_in(client).status_code == 200
    assert sign_in(client, password=PASSWORD + "!").status_code == 401
    staff = services.app.staff.get_staff("qian.lin")
    assert staff.password_hash is not None
    assert staff.password_hash.startswith("scrypt$32768$8$1$")
    needles = [PASSWORD.encode(), (PASSWORD + "!").encode()]
    with services.reads.connection() as conn:
        tables = [
            r["table_name"]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        assert "console_session" in tables
        assert EVENTS_TABLE in tables
        for table in tables:
            rows = conn.execute(f'SELECT t::text AS row FROM "{table}" t').fetchall()
            text = "\n".join(r["row"] for r in rows)
            for needle in needles:
                assert needle.decode() not in text, table
                assert needle.hex() not in text, table
        events = conn.execute(
            f"SELECT topic, state FROM {EVENTS_TABLE} WHERE topic LIKE 'Staff.PasswordSet%%'"
        ).fetchall()
    assert len(events) == 1
    assert PASSWORD.encode() not in bytes(events[0]["state"])
    # What the log holds verifies the password, and nothing else.
    assert passwords.verify_password(staff.password_hash, PASSWORD)
    assert not passwords.verify_password(staff.password_hash, PASSWORD + "!")


def test_the_command_line_sets_a_password_from_standard_input_and_prints_a_link(
    services: Services, hq_token: str, client: TestClient
) -> None:
    run = [sys.executable, "-m", "interface.cli"]
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}
    setting = subprocess.run(
        [*run, "staff", "password", "qian.lin"],
        input="from the shell 123\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert setting.returncode == 0, setting.stderr
    assert "from the shell 123" not in setting.stdout + setting.stderr
    assert sign_in(client, password="from the shell 123").status_code == 200
    link = subprocess.run(
        [*run, "staff", "sign-in-link", "qian.lin", "--url", "http://example.test:8000"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert link.returncode == 0, link.stderr
    url = link.stdout.strip().splitlines()[-1]
    assert url.startswith("http://example.test:8000/console/sign-in#link=")
    secret = url.split("#link=", 1)[1]
    client.cookies.clear()
    assert client.post("/console/session", json={"link": secret}).status_code == 200


def test_make_run_prints_how_to_sign_in_as_the_demos_headquarters_member(
    services: Services, client: TestClient
) -> None:
    staff_id = DEMO_EXPLORER[0]
    enroll(services, staff_id, DEMO_EXPLORER[1])
    signed_as, password, secret = demo_sign_in(services)
    assert (signed_as, password) == (staff_id, DEMO_PASSWORD)
    _, _, second = demo_sign_in(services)  # the next start: a new link, the same password
    assert second != secret
    assert client.post("/console/session", json={"link": secret}).status_code == 200
    client.cookies.clear()
    assert sign_in(client, staff_id, DEMO_PASSWORD).status_code == 200
    with services.reads.connection() as conn:
        row = conn.execute(
            f"SELECT count(*) AS n FROM {EVENTS_TABLE} WHERE topic LIKE 'Staff.PasswordSet%%'"
        ).fetchone()
    assert row is not None
    assert row["n"] == 1


# --- in the browser -------------------------------------------------------------------------


@in_browser
def test_too_many_failures_are_told_in_the_page_and_a_new_colleague_signs_in(
    page: Page, office: Office
) -> None:
    office.tokens["manager"] = enroll(
        office.services,
        "zhou.jie",
        "Zhou Jie 周杰",
        roles=(Role.BRANCH_MANAGER,),
        branch="Suzhou",
    )
    staff_id = office.console_staff("manager")  # its password, as the console's helper sets it
    page.goto("/console/sign-in")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_label("员工编号")).to_be_visible()
    expect(page.get_by_label("密码")).to_be_visible()
    page.get_by_role("button", name="English").click()
    alert = page.get_by_role("alert")
    for attempt in range(console_sessions.FAILURES_ALLOWED):
        page.get_by_label("Staff ID").fill(staff_id)
        page.get_by_label("Password").fill(f"guess {attempt}")
        page.get_by_role("button", name="Sign in").click()
        expect(alert).to_have_text("The staff ID or password was not accepted.")
        expect(page.get_by_label("Password")).to_have_value("")
        alert.evaluate("node => { node.textContent = '' }")
    page.get_by_label("Staff ID").fill(staff_id)
    page.get_by_label("Password").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(alert).to_contain_text("Too many failed sign-ins")
    assert page.context.cookies() == []

    office.services.app.clock = PinnedClock(NOW + timedelta(minutes=16))
    console_sign_in(page, office, "manager")
    expect(page.get_by_text("Signed in as Zhou Jie 周杰 (Suzhou)")).to_be_visible()
