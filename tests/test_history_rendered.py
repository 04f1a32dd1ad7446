"""A history page from entries rendered once and kept (``projections.history.rendered``):
answered byte for byte as the page rendered afresh, for every view of personal data, and
rendered again once an erasure is heard, from another process included; nothing kept while
the process does not hear erasures, and no more than its bound."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.masking import mask_event_data
from domain.personal import ERASED, contact_subject
from domain.staff import Role
from interface.http.history import HistoryEntry, HistoryPage
from interface.runtime import Services
from projections.history.queries import HistoryFilter, history_page
from projections.history.rendered import RenderedEntries
from tests.test_masking import CLEAR_CONTACT, NOTES, World, a_customer_with_a_contact
from tests.waiting import wait_until


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    services.start_workers()
    world = World(services)
    yield world
    for client in world.clients:
        client.__exit__(None, None, None)


def afresh(services: Services, rid: str, *, masked: bool) -> bytes:
    """The page as the endpoint rendered it before entries were kept: each entry decoded
    and validated for this read, masked for this reader."""
    with services.reads.connection() as conn:
        entries, next_cursor = history_page(
            conn, services.app.mapper, UUID(rid), HistoryFilter(), limit=100, cursor=None
        )
    items = [HistoryEntry.model_validate(e) for e in entries]
    if masked:
        for item in items:
            item.data, _ = mask_event_data(item.event_name, item.data)
    page = HistoryPage(relationship_id=UUID(rid), items=items, next_cursor=next_cursor)
    return page.model_dump_json().encode()


def history(world: World, client: TestClient, rid: str) -> bytes:
    response = world.get(client, f"/v1/relationships/{rid}/history")
    assert response.headers["content-type"] == "application/json"
    return response.content


def test_a_kept_page_reads_byte_for_byte_as_one_rendered_afresh(world: World) -> None:
    services = world.services
    field = world.client("li.wei", (Role.FIELD_STAFF,), "Suzhou")
    auditor = world.client("zhao.shen", (Role.AUDITOR,), "Headquarters")
    granted = world.client("sun.li", (Role.AUDITOR, Role.PERSONAL_DATA), "Headquarters")
    hq = world.client("qian.lin", (Role.HQ,), "Headquarters")
    rid = a_customer_with_a_contact(world, field)
    kept = services.history_entries()
    assert len(kept) == 0

    first = history(world, auditor, rid)  # renders every entry, keeps them
    assert len(kept) == 3
    assert first == afresh(services, rid, masked=True)
    assert history(world, auditor, rid) == first  # from the kept entries
    clear = afresh(services, rid, masked=False)
    assert history(world, hq, rid) == clear
    assert history(world, granted, rid) == clear
    assert NOTES in clear.decode()
    assert CLEAR_CONTACT["phone"] in clear.decode()
    assert NOTES not in first.decode()
    assert len(kept) == 3

    # The grant's reads are in the access log as before, with the fields answered.
    logged = world.now(auditor, "/v1/audit/access", staff_id="sun.li")["items"]
    assert [e["detail"] for e in logged if e["what"] == "personal_data"] == [
        "history: contact.email, contact.name, contact.phone, contact.title, summary"
    ]

    # A filtered page and a page with a next cursor read as rendered afresh too.
    paged = world.get(hq, f"/v1/relationships/{rid}/history", limit=2).json()
    assert [i["event_name"] for i in paged["items"]] == [
        "Relationship.Registered",
        "Relationship.ContactAdded",
    ]
    assert paged["next_cursor"] is not None
    rest = world.get(hq, f"/v1/relationships/{rid}/history", cursor=paged["next_cursor"])
    assert [i["data"].get("summary") for i in rest.json()["items"]] == [NOTES]


def test_an_erasure_heard_from_another_process_renders_the_kept_entries_again(
    world: World,
) -> None:
    services = world.services
    field = world.client("li.wei", (Role.FIELD_STAFF,), "Suzhou")
    hq = world.client("qian.lin", (Role.HQ,), "Headquarters")
    rid = a_customer_with_a_contact(world, field)
    assert CLEAR_CONTACT["name"] in history(world, hq, rid).decode()  # kept, in clear

    other = Services.open(services.database)  # another API process erases the contact
    try:
        erased = other.app.privacy.erase(
            other.app.context("qian.lin"),
            contact_subject(UUID(rid), "c0").subject_id,
            reason="the person asked",
        )
    finally:
        other.close()
    world.position = max(world.position, erased.position)

    def contact_added() -> dict[str, Any]:
        items = world.get(hq, f"/v1/relationships/{rid}/history").json()["items"]
        [added] = [i for i in items if i["event_name"] == "Relationship.ContactAdded"]
        contact: dict[str, Any] = added["data"]["contact"]
        return contact

    wait_until(lambda: contact_added()["name"] == ERASED, what="the erasure heard")
    assert contact_added()["phone"] == ERASED
    assert CLEAR_CONTACT["name"] not in history(world, hq, rid).decode()


# --- the kept entries alone, without a database ------------------------------------------


@dataclass
class Ring:
    """A key ring's mark of erasures heard (``KeyRing.generation``)."""

    generation: int | None = 0


class Mapper:
    """Decodes a stored row into an event with a summary, counting what it decodes."""

    def __init__(self) -> None:
        self.decoded: list[int] = []

    def to_domain_event(self, stored: Any) -> Any:
        self.decoded.append(stored.originator_version)
        return SimpleNamespace(
            occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
            actor="li.wei",
            command_id="c",
            correlation_id="c",
            causation_id="c",
            summary=f"call {stored.originator_version}",
        )


def rows_at(*positions: int) -> list[dict[str, Any]]:
    rid = UUID(int=7)
    return [
        {
            "position": p,
            "aggregate_id": rid,
            "aggregate_type": "Relationship",
            "version": p,
            "recorded_at": datetime(2026, 3, 1, tzinfo=UTC),
            "topic": "Relationship.InteractionLogged",
            "state": b"{}",
        }
        for p in positions
    ]


def render(entry: dict[str, Any]) -> tuple[bytes, bytes, tuple[str, ...]]:
    return entry["data"]["summary"].encode(), b"[masked]", ("summary",)


def test_entries_are_kept_while_no_erasure_is_heard_and_up_to_their_bound() -> None:
    ring, mapper = Ring(), Mapper()
    kept = RenderedEntries(ring, kept=3)  # type: ignore[arg-type]
    asked: list[list[int]] = []

    def page(*positions: int) -> list[bytes]:
        def read(missing: Any) -> list[dict[str, Any]]:
            asked.append(list(missing))
            return rows_at(*missing)

        entries = kept.rendered(positions, read, mapper, render)  # type: ignore[arg-type]
        assert all(e.masked == b"[masked]" and e.personal == ("summary",) for e in entries)
        return [e.clear for e in entries]

    assert page(1, 2) == [b"call 1", b"call 2"]
    assert page(1, 2, 3) == [b"call 1", b"call 2", b"call 3"]  # only 3 read and rendered
    assert asked == [[1, 2], [3]]
    assert mapper.decoded == [1, 2, 3]

    ring.generation = 1  # an erasure heard: every entry is rendered again
    assert page(2, 3) == [b"call 2", b"call 3"]
    assert asked[-1] == [2, 3]

    ring.generation = None  # erasures not heard: rendered each time, nothing new kept
    page(4)
    page(4)
    assert asked[-2:] == [[4], [4]]
    assert len(kept) == 3

    ring.generation = 2
    page(1, 2, 3, 4)
    assert len(kept) == 3  # the bound: the entry rendered longest ago dropped
    asked.clear()
    page(2, 3, 4)
    assert asked == []
    page(1)
    assert asked == [[1]]
    # An entry no longer in the log (its row not read back) is left out, not invented.
    assert kept.rendered([5], lambda missing: [], mapper, render) == []  # type: ignore[arg-type]
