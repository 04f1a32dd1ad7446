"""The write side's pool refuses a thread a second connection while it holds one.

Commands, projections and the tree keeper take its connections in worker threads and block
while they wait: a thread that holds one and waits for another can wait on itself. The
suite runs the pool strict, so any such path fails its test at once instead of only
deadlocking under load; a service logs it and serves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from psycopg.rows import dict_row

from application.store.database import Database, NestedCheckout, WriteSidePool


@pytest.fixture
def pool(database: Database) -> Iterator[WriteSidePool]:
    p = WriteSidePool(
        database.conninfo,
        kwargs={"row_factory": dict_row},
        min_size=1,
        max_size=2,
        open=True,
        timeout=5,
    )
    yield p
    p.close()


def test_a_second_checkout_by_the_holding_thread_is_refused_and_the_first_still_works(
    pool: WriteSidePool,
) -> None:
    with pool.connection() as held:
        with pytest.raises(NestedCheckout, match="asked for another"):
            pool.getconn()
        assert held.execute("SELECT 1 AS n").fetchone() == {"n": 1}
    # Given back: the thread may take one again, and then a second after the first.
    with pool.connection():
        pass
    with pool.connection():
        pass


def test_other_threads_take_connections_while_one_is_held(pool: WriteSidePool) -> None:
    taken: list[int] = []

    def other() -> None:
        with pool.connection() as conn:
            row = conn.execute("SELECT 2 AS n").fetchone()
            assert row is not None
            taken.append(int(row["n"]))

    with pool.connection():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert taken == [2]


def test_outside_the_suite_a_second_checkout_is_logged_and_served(
    pool: WriteSidePool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(WriteSidePool, "strict", False)
    with caplog.at_level(logging.WARNING), pool.connection(), pool.connection() as second:
        assert second.execute("SELECT 3 AS n").fetchone() == {"n": 3}
    assert "asked for another" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING), pool.connection():
        pass
    assert caplog.text == ""  # both given back: one checkout is not a nested one
