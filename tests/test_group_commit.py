"""Group commit: commands of concurrent threads appended in one transaction, each checked
on its own and answered with its own outcome."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.commands import _LOCK_STRIPES, CommandResult, VersionMismatch
from application.service import Fullchain
from application.store.database import Database
from domain.relationship import Channel, Direction, RelationshipKind
from interface.runtime import Services
from tests.waiting import wait_until


def register(services: Services, name: str) -> UUID:
    app = services.app
    return app.relationships.register_relationship(
        app.context("li.wei"),
        name=name,
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id


def visit(services: Services, rid: UUID, summary: str, expected: int | None = None) -> Any:
    return visit_with(services.app, rid, summary, expected)


def visit_with(app: Fullchain, rid: UUID, summary: str, expected: int | None = None) -> Any:
    return app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary=summary,
        expected_version=expected,
    )


def test_commands_waiting_together_are_appended_in_one_transaction_each_on_its_own(
    services: Services, superuser_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Commands on aggregates of one lock stripe take turns in this process, so the six
    # customers are picked from distinct stripes: none waits for the held-up leader's stripe.
    picked: dict[int, UUID] = {}
    while len(picked) < 6:
        rid = register(services, f"Customer {len(picked)}")
        picked.setdefault(rid.int % _LOCK_STRIPES, rid)
    first, contested, *others = picked.values()
    # Another process writes to the contested customer: this process's cached copy, at
    # version 1, is now behind the log.
    elsewhere = Fullchain(services.database)
    try:
        visit_with(elsewhere, contested, "elsewhere")
    finally:
        elsewhere.close()
    outcomes: dict[str, CommandResult | BaseException] = {}

    def send(name: str, rid: UUID, expected: int | None = None) -> threading.Thread:
        def run() -> None:
            try:
                outcomes[name] = visit(services, rid, name, expected)
            except BaseException as error:  # the outcome under test
                outcomes[name] = error

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    group = services.app.recorder.group  # type: ignore[attr-defined]
    # The first append is slow to reach the log (a held lock, a slow disk): it waits here
    # until the others have queued behind it, however long the machine takes to get them
    # there, and so never runs into the log's lock timeout.
    reached, release = threading.Event(), threading.Event()
    append_group = group.recorder.append_group

    def slow_first(batch: list[Any]) -> None:
        if not reached.is_set():
            reached.set()
            release.wait()
        append_group(batch)

    monkeypatch.setattr(group.recorder, "append_group", slow_first)
    threads = [send("leader", first)]
    try:
        wait_until(reached.is_set, what="the leader's append under way")
        threads += [send("stale", contested, 1)]
        threads += [send(f"other {i}", rid) for i, rid in enumerate(others)]
        try:
            wait_until(lambda: len(group._queue) == 1 + len(others), what="all queued")
        except AssertionError as error:  # say what each command did meanwhile
            raise AssertionError(f"{error}: {len(group._queue)} queued; {outcomes}") from None
    finally:
        release.set()
    for t in threads:
        t.join()

    assert isinstance(outcomes["stale"], VersionMismatch), outcomes["stale"]
    results = {name: o for name, o in outcomes.items() if isinstance(o, CommandResult)}
    assert len(results) == 1 + len(others)
    positions = [r.position for r in results.values()]
    assert len(set(positions)) == len(positions)
    # The leader went alone; the six that waited meanwhile went as one group.
    assert list(group.sizes)[-2:] == [1, 1 + len(others)]
    with superuser_database.connect() as conn:
        logged = conn.execute(
            "SELECT count(*) FROM fullchain_events WHERE topic = 'Relationship.InteractionLogged'"
        ).fetchone()
    assert logged is not None
    assert logged[0] == len(results) + 1


def test_a_lone_command_waits_for_no_one(services: Services) -> None:
    rid = register(services, "Customer")
    for i in range(3):
        assert visit(services, rid, f"visit {i}").version == i + 2


@pytest.mark.parametrize("writers", [8])
def test_many_writers_each_get_their_own_answer(services: Services, writers: int) -> None:
    customers = [register(services, f"Customer {i}") for i in range(writers)]
    answers: list[Any] = []
    lock = threading.Lock()

    def write(rid: UUID) -> None:
        for i in range(10):
            result = visit(services, rid, f"visit {i}")
            with lock:
                answers.append((rid, result))

    threads = [threading.Thread(target=write, args=(rid,)) for rid in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == writers * 10
    for rid in customers:
        assert sorted(r.version for c, r in answers if c == rid) == list(range(2, 12))
    assert len({r.position for _, r in answers}) == len(answers)
