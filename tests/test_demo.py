"""The demo data set: what a newcomer sees after `fullchain demo` or `fullchain serve`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, LiteralString

from application.database import Database
from application.tokens import identify
from domain.base import AttributedEvent
from domain.relationship import Relationship, RelationshipKind
from interface.demo import DEMO_MANAGER, demo_token, has_data, load_demo
from interface.runtime import Services
from tests.conftest import truncate_all


def _rows(services: Services, query: LiteralString) -> list[dict[str, Any]]:
    with services.reads.connection() as conn:
        return conn.execute(query).fetchall()


def _event_count(services: Services) -> int:
    return int(_rows(services, "SELECT count(*) AS n FROM fullchain_events")[0]["n"])


def _log(services: Services) -> list[tuple[Any, ...]]:
    return [
        (r["originator_id"], r["originator_version"], r["topic"])
        for r in _rows(
            services,
            "SELECT originator_id, originator_version, topic FROM fullchain_events "
            "ORDER BY notification_id",
        )
    ]


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_demo_loads_a_believable_year_once(services: Services) -> None:
    assert not has_data(services)

    summary = load_demo(services)

    assert "relationships" in summary
    assert has_data(services)
    events = _event_count(services)
    assert 500 < events < 5000

    # A second load writes nothing.
    again = load_demo(services)
    assert "already" in again
    assert _event_count(services) == events

    services.worker(services.projections[0]).catch_up()
    accounts = _rows(services, "SELECT * FROM account_status")
    registered = _rows(
        services,
        "SELECT count(*) AS n FROM fullchain_events WHERE topic = 'Relationship.Registered'",
    )[0]["n"]
    assert len(accounts) == registered
    assert 50 <= len(accounts) <= 65

    kinds = {a["kind"] for a in accounts}
    assert kinds == {k.value for k in RelationshipKind}
    assert len({a["branch"] for a in accounts}) >= 3
    assert len({a["region"] for a in accounts}) >= 3
    names = [a["name"] for a in accounts]
    assert any(_is_chinese(n) for n in names)
    assert any(n.isascii() for n in names)
    assert len(set(names)) == len(names)

    customers = [a for a in accounts if a["kind"] == "customer"]
    assert {c["lifecycle"] for c in customers} >= {"active", "dormant", "lost", "won_back"}
    assert all(a["lifecycle"] == "active" for a in accounts if a["kind"] != "customer")
    assert any(a["key_account"] for a in accounts)
    assert all(a["contact_count"] >= 1 for a in accounts)
    assert all(a["office_rep"] for a in accounts)
    assert all(a["field_rep"] for a in accounts if a["kind"] != "competitor")
    assert sum(a["care_action_count"] for a in customers) >= len(customers)
    assert not any(a["care_action_count"] for a in accounts if a["kind"] == "competitor")

    # The history spans about a year of business time, all of it in the past.
    now = datetime.now(UTC)
    happened = [a["last_interaction_at"] for a in accounts if a["last_interaction_at"]]
    assert len(happened) == len(accounts)
    assert max(happened) < now
    interactions = _rows(
        services, "SELECT min(happened_at) AS first, count(*) AS n FROM account_interaction"
    )[0]
    assert (now - interactions["first"]).days > 300
    assert interactions["n"] > 3 * len(accounts)
    channels = _rows(services, "SELECT DISTINCT channel FROM account_interaction")
    assert {c["channel"] for c in channels} == {
        "visit",
        "call",
        "email",
        "meeting",
        "message",
        "portal",
    }

    # Lost customers name the competitor that won them; events carry the business time.
    competitor_ids = {a["relationship_id"] for a in accounts if a["kind"] == "competitor"}
    lost_to = []
    for account in customers:
        history = [
            e
            for e in services.app.events.get(account["relationship_id"])
            if isinstance(e, AttributedEvent)
        ]
        occurred = [e.occurred_at for e in history]
        assert occurred == sorted(occurred)
        lost_to += [
            e.lost_to_competitor_id for e in history if isinstance(e, Relationship.MarkedLost)
        ]
    assert len(lost_to) >= 3
    assert set(lost_to) <= competitor_ids

    name, token = demo_token(services)
    assert name == DEMO_MANAGER[1]
    with services.reads.connection() as conn:
        staff = identify(conn, token)
    assert staff is not None
    assert (staff.staff_id, staff.display_name) == DEMO_MANAGER


def test_the_same_seed_and_day_give_the_same_log(database: Database) -> None:
    now = datetime.now(UTC)
    logs = []
    for _ in range(2):
        truncate_all(database)
        services = Services.open(database)
        try:
            load_demo(services, now=now)
            logs.append(_log(services))
        finally:
            services.close()
    assert logs[0] == logs[1]
