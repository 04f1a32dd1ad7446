"""Connections of a pool taken on the event loop: at once when one is idle, else in turn.

A read takes its pooled connection as a coroutine (``interface.http.deps``): no trip to the
thread pool for it. When none is idle and the pool may open more, it asks the pool in a
worker thread (the pool opens connections for callers that wait on it); when the pool is
full, it waits on the event loop, first come first served behind the reads already
waiting; each connection a read gives back wakes the next. A connection given back by
anything else (a token lookup's, a value models' fit) wakes no one: the waiting reads look
again every ``LOOK_AGAIN`` seconds. After the pool's timeout (``FULLCHAIN_POOL_TIMEOUT``)
a read gives up with ``PoolTimeout``, as the pool's own ``getconn`` does.

The pool's statistics count only its own waits: ``pool_stats`` adds these reads' waits
(waiting now, queued, waited, given up) to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from psycopg import Connection
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool

C = TypeVar("C", bound=Connection[Any])

#: How often a waiting read looks for an idle connection that woke no one.
LOOK_AGAIN = 0.05

#: The longest a read blocks the event loop to take a connection the pool has just
#: reported idle (a thread may have taken it between the two).
_AT_ONCE = 0.001


class Checkout(Generic[C]):
    """The reads waiting on the event loop for a connection of one pool."""

    def __init__(self, pool: ConnectionPool[C]) -> None:
        self.pool = pool
        self.waiting: deque[asyncio.Future[None]] = deque()
        self._lock = threading.Lock()
        self.queued = 0
        self.wait_ms = 0
        self.timeouts = 0

    def idle(self, stats: dict[str, int] | None = None) -> C | None:
        """An idle connection of the pool, if there is one now; never waits. (The pool's
        ``getconn(timeout=0)`` gives none even then: it refuses a deadline that has passed
        before it looks.)"""
        if not (stats or self.pool.get_stats()).get("pool_available", 0):
            return None
        try:
            return self.pool.getconn(timeout=_AT_ONCE)
        except PoolTimeout:
            return None

    async def take(self) -> C:
        """A connection: an idle one at once unless reads wait already; while the pool may
        open more, from the pool itself in a worker thread (it opens one for a caller that
        waits); else in turn."""
        stats = self.pool.get_stats()
        if not self.waiting:
            conn = self.idle(stats)
            if conn is not None:
                return conn
        if stats.get("pool_size", 0) < stats.get("pool_max", 0):
            return await run_in_threadpool(self.pool.getconn)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.pool.timeout
        self.queued += 1
        turn: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self.waiting.append(turn)
        taken: C | None = None
        try:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    self.timeouts += 1
                    raise PoolTimeout(
                        f"couldn't get a connection after {self.pool.timeout:.2f} sec"
                    )
                await asyncio.wait((turn,), timeout=min(LOOK_AGAIN, left))
                taken = self.idle()
                if taken is not None:
                    return taken
                if turn.done():  # woken, and someone else took it: first in line again
                    with self._lock:
                        self.waiting.remove(turn)
                        turn = loop.create_future()
                        self.waiting.appendleft(turn)
        finally:
            self.wait_ms += int((loop.time() - started) * 1000)
            with self._lock:
                self.waiting.remove(turn)
            if turn.done() and taken is None:  # woken, and leaving without it: passed on
                self.wake()

    def wake(self) -> None:
        """A connection was given back: the first waiting read not yet woken looks for it
        (it stays in line, ahead of reads that come after, until it has looked)."""
        with self._lock:
            turn = next((t for t in self.waiting if not t.done()), None)
        if turn is None:
            return
        loop = turn.get_loop()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is running:
            turn.set_result(None)
            return
        # A read of another event loop (test clients of one service); gone if it has closed.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_wake, turn)

    def stats(self) -> dict[str, int]:
        return {
            "requests_waiting": len(self.waiting),
            "requests_queued": self.queued,
            "requests_wait_ms": self.wait_ms,
            "requests_errors": self.timeouts,
        }


def _wake(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_result(None)


_checkouts: WeakKeyDictionary[ConnectionPool[Any], Checkout[Any]] = WeakKeyDictionary()


def checkout(pool: ConnectionPool[C]) -> Checkout[C]:
    """The pool's checkout (made on first use)."""
    found = _checkouts.get(pool)
    if found is None:
        found = _checkouts.setdefault(pool, Checkout(pool))
    return found


def pool_stats(pool: ConnectionPool[Any]) -> dict[str, int]:
    """The pool's ``get_stats()`` with the waits of the reads that waited on the event loop."""
    stats = pool.get_stats()
    found = _checkouts.get(pool)
    if found is not None:
        for name, value in found.stats().items():
            stats[name] = stats.get(name, 0) + value
    return stats
