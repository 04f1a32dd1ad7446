"""A read takes its pooled connection on the event loop: an idle one at once, else in turn
behind the reads already waiting, or gives up after the pool's timeout; the access a
history read records is written on the read's own connection, with those other reads
record meanwhile."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg_pool import ConnectionPool, PoolTimeout

from application.store import access_log
from application.store.access_log import record_access, verify_access_log
from application.store.database import Database
from interface.http import checkout as checkout_module
from interface.http.checkout import Checkout, checkout, pool_stats
from interface.runtime import Services
from tests.domain.test_shipment import CUSTOMER
from tests.waiting import wait_until


@pytest.fixture
def pool(database: Database) -> Iterator[ConnectionPool[Any]]:
    """A pool of one connection, whose callers wait at most 0.2 s."""
    pool: ConnectionPool[Any] = ConnectionPool(
        database.conninfo,
        min_size=1,
        max_size=1,
        timeout=0.2,
        kwargs={"autocommit": True},
        open=False,
    )
    pool.open(wait=True)
    yield pool
    pool.close()


def test_an_idle_connection_is_taken_without_waiting(pool: ConnectionPool[Any]) -> None:
    turns = Checkout(pool)
    conn = turns.idle()
    assert conn is not None
    assert turns.idle() is None  # the pool's one connection is out
    pool.putconn(conn)
    again = turns.idle()
    assert again is conn
    pool.putconn(again)


def test_a_pool_that_may_open_more_opens_one_for_a_read(database: Database) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(
        database.conninfo, min_size=1, max_size=2, timeout=10, open=False
    )
    pool.open(wait=True)
    try:
        turns = Checkout(pool)

        async def scenario() -> tuple[Any, Any]:
            return await turns.take(), await turns.take()

        first, second = asyncio.run(scenario())
        assert first is not second
        assert pool.get_stats()["pool_size"] == 2
        pool.putconn(first)
        pool.putconn(second)
    finally:
        pool.close()


def test_reads_waiting_for_a_connection_are_served_in_turn(
    pool: ConnectionPool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkout_module, "LOOK_AGAIN", 60.0)  # woken only, never by looking
    monkeypatch.setattr(pool, "timeout", 60.0)
    turns = checkout(pool)  # the pool's own, whose waits its statistics count
    served: list[int] = []

    async def read(n: int) -> None:
        conn = await turns.take()
        served.append(n)
        await asyncio.sleep(0)  # another read may run meanwhile: it must not get in
        pool.putconn(conn)
        turns.wake()

    async def scenario() -> None:
        first = await turns.take()
        readers = []
        for n in range(4):
            readers.append(asyncio.create_task(read(n)))
            while len(turns.waiting) < n + 1:  # the read has joined the line
                await asyncio.sleep(0)
        pool.putconn(first)
        turns.wake()
        await asyncio.gather(*readers)

    asyncio.run(scenario())
    assert served == [0, 1, 2, 3]
    assert not turns.waiting
    assert pool_stats(pool)["requests_queued"] == 4


def test_a_read_gives_up_after_the_pools_timeout(pool: ConnectionPool[Any]) -> None:
    turns = Checkout(pool)

    async def scenario() -> None:
        held = await turns.take()
        try:
            with pytest.raises(PoolTimeout):
                await turns.take()
        finally:
            pool.putconn(held)
            turns.wake()

    asyncio.run(scenario())
    assert not turns.waiting
    assert turns.stats()["requests_errors"] == 1


def test_a_cancelled_read_passes_its_turn_on(
    pool: ConnectionPool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkout_module, "LOOK_AGAIN", 60.0)
    monkeypatch.setattr(pool, "timeout", 60.0)
    turns = Checkout(pool)

    async def scenario() -> None:
        held = await turns.take()
        gone = asyncio.create_task(turns.take())
        after = asyncio.create_task(turns.take())
        while len(turns.waiting) < 2:
            await asyncio.sleep(0)
        pool.putconn(held)
        turns.wake()  # the first in line is woken, and cancelled before it looks
        gone.cancel()
        conn = await after
        assert gone.cancelled()
        pool.putconn(conn)

    asyncio.run(scenario())
    assert not turns.waiting


def test_an_access_is_recorded_on_an_idle_connection_in_autocommit(database: Database) -> None:
    relationship = uuid4()
    with database.connect(autocommit=True) as conn:
        record_access(
            conn,
            staff_id="auditor.qian",
            what="history",
            aggregate_type="Relationship",
            aggregate_id=relationship,
            detail="1 entries",
        )
        with conn.transaction(), pytest.raises(ValueError, match="idle connection"):
            record_access(
                conn,
                staff_id="auditor.qian",
                what="history",
                aggregate_type="Relationship",
                aggregate_id=relationship,
            )
    with database.connect() as conn:  # a plain connection is in a transaction at once
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="idle connection"):
            record_access(
                conn,
                staff_id="auditor.qian",
                what="history",
                aggregate_type="Relationship",
                aggregate_id=relationship,
            )
    with psycopg.connect(database.conninfo) as other:
        rows = other.execute(
            "SELECT staff_id, what, relationship_id, detail FROM fullchain_access_log "
            "WHERE aggregate_id = %s",
            (relationship,),
        ).fetchall()
    assert rows == [("auditor.qian", "history", relationship, "1 entries")]


def test_accesses_recorded_together_are_each_committed_and_chained(
    services: Services,
) -> None:
    database = services.database
    before = verify_access_log(database).entries

    def read(i: int) -> None:
        with database.connect(autocommit=True) as conn:
            for _ in range(10):
                record_access(
                    conn,
                    staff_id=f"reader.{i}",
                    what="history",
                    aggregate_type="Relationship",
                    aggregate_id=CUSTOMER,
                )

    readers = [threading.Thread(target=read, args=(i,)) for i in range(8)]
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    checked = verify_access_log(database)
    assert (checked.intact, checked.entries - before) == (True, 80)
    with database.connect() as conn:
        counts = conn.execute(
            "SELECT staff_id, count(*) FROM fullchain_access_log "
            "WHERE staff_id LIKE 'reader.%%' GROUP BY staff_id ORDER BY staff_id"
        ).fetchall()
    assert counts == [(f"reader.{i}", 10) for i in range(8)]


def test_an_access_that_cannot_be_recorded_fails_its_read(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        with pytest.raises(psycopg.DataError):
            record_access(
                conn,
                staff_id="auditor.qian",
                what="history\x00",
                aggregate_type="Relationship",
                aggregate_id=uuid4(),
            )
        record_access(  # the next one is recorded: the group is not left waiting
            conn,
            staff_id="auditor.qian",
            what="history",
            aggregate_type="Relationship",
            aggregate_id=uuid4(),
        )


def test_an_entry_that_fails_its_transaction_fails_only_its_own_read(
    services: Services,
) -> None:
    """While the chain's lock is held elsewhere, a first read leads and waits; four more
    come, one of them unrecordable: they are committed together, that transaction fails,
    and each records alone: only the unrecordable one fails."""
    database = services.database
    outcomes: dict[str, str] = {}

    def read(staff_id: str, what: str) -> None:
        with database.connect(autocommit=True) as conn:
            try:
                record_access(
                    conn,
                    staff_id=staff_id,
                    what=what,
                    aggregate_type="Relationship",
                    aggregate_id=CUSTOMER,
                )
            except psycopg.DataError:
                outcomes[staff_id] = "failed"
            else:
                outcomes[staff_id] = "recorded"

    with database.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (access_log._LOCK,))
        first = threading.Thread(target=read, args=("reader.lead", "history"))
        first.start()
        with database.connect(autocommit=True) as probe:
            group = access_log._group_of(probe)
        wait_until(lambda: group._writing, what="the first read leads")
        others = [
            threading.Thread(
                target=read, args=(f"reader.{i}", "history\x00" if i == 2 else "history")
            )
            for i in range(4)
        ]
        for t in others:
            t.start()
        wait_until(lambda: len(group._waiting) == 4, what="four reads wait")
        holder.execute("SELECT pg_advisory_unlock(%s)", (access_log._LOCK,))
    for t in [first, *others]:
        t.join()
    assert outcomes == {
        "reader.lead": "recorded",
        "reader.0": "recorded",
        "reader.1": "recorded",
        "reader.2": "failed",
        "reader.3": "recorded",
    }
    assert verify_access_log(database).intact
