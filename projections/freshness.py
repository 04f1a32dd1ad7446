"""What every read model's queries share: the read connection, cursors and paging, and
waiting for ``min_position``.

Cursors: a page of a list ends with a cursor that names the position of its last row (an
opaque, URL-safe string, tagged by the kind of list); the next page starts after it.

Read-your-writes without holding a connection: an in-process watch of the read models'
positions.

Every projection worker announces its new position (``NOTIFY projection_positions``, from
the transaction that commits the batch, so the announcement arrives when the rows are
visible). One thread per process listens on one connection and keeps the latest position
of every read model; a read that asks for ``min_position`` waits on that watch — as a
coroutine, holding neither a database connection nor a worker thread — and is woken the
moment its read models have applied the position. The watch also re-reads the tracking
table now and then, so a missed announcement delays a read by at most ``poll_interval``.

A position beyond the end of the log can never be reached by waiting: refused at once.
The number of reads waiting at once is bounded; beyond it they are answered 503 at once.

With a read replica (``FULLCHAIN_READ_DATABASE_URL``) the reads query a hot standby, which
replays the primary's WAL a little later, and a standby can neither LISTEN nor be
announced to. The watch then still listens on the primary, but takes an announcement only
as a hint: the positions it trusts are the tracking rows read from the replica
(``read_positions``), which replicate in the same transactions as the read models' rows. A
read waiting for ``min_position`` is woken once the *replica* has applied it; while reads
wait, the watch re-reads the replica's positions, at most every 0.1 s. The end of the log
(``read_head``) is read on the primary, so a position just written is never refused as
beyond the log because the replica has not seen it yet.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import DictRow

from application.store.database import Database
from application.store.schema import EVENTS_TABLE, TRACKING_TABLE

log = logging.getLogger(__name__)

ReadConnection = psycopg.Connection[DictRow]


# --- cursors and paging ----------------------------------------------------------------------


class InvalidCursorError(ValueError):
    pass


def encode_cursor(position: int, tag: str = "p") -> str:
    """The cursor after the row at ``position`` of a list whose cursors carry ``tag``."""
    return base64.urlsafe_b64encode(f"{tag}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, tag: str = "p") -> int:
    """The position a cursor of ``encode_cursor(…, tag)`` names."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(tag):
            raise ValueError(raw)
        return int(raw[len(tag) :])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError("cursor is not one this service issued") from None


def page(
    rows: list[dict[str, Any]], limit: int, position_column: str, tag: str = "p"
) -> tuple[list[dict[str, Any]], str | None]:
    """The first ``limit`` of ``rows`` (fetched with one more), and the cursor after the
    last of them if more follow."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(int(rows[-1][position_column]), tag)


# --- positions -------------------------------------------------------------------------------

#: The channel projection workers announce their positions on: "<read model> <position>".
CHANNEL = "projection_positions"


def log_head(conn: psycopg.Connection[Any]) -> int:
    """The position of the last entry of the log (0 when empty)."""
    row = conn.execute(f"SELECT max(notification_id) AS head FROM {EVENTS_TABLE}").fetchone()
    value = None if row is None else (row["head"] if isinstance(row, dict) else row[0])
    return int(value or 0)


def announce(conn: psycopg.Connection[Any], projection_name: str, position: int) -> None:
    """Announce a read model's new position; delivered when the caller's transaction
    commits."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{projection_name} {position}"))


def projection_position(conn: ReadConnection, projection_name: str) -> int:
    row = conn.execute(
        f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = %s",
        (projection_name,),
    ).fetchone()
    return int(row["notification_id"]) if row and row["notification_id"] is not None else 0


def tracking_positions(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Every read model's position, as the tracking table on ``conn``'s server holds it."""
    rows = conn.execute(f"SELECT application_name, notification_id FROM {TRACKING_TABLE}")
    return {
        str(r["application_name"] if isinstance(r, dict) else r[0]): int(
            (r["notification_id"] if isinstance(r, dict) else r[1]) or 0
        )
        for r in rows.fetchall()
    }


def wait_for_position(
    conn: ReadConnection,
    projection_names: str | Sequence[str],
    min_position: int,
    *,
    timeout: float,
) -> bool:
    """Wait until the read models have applied ``min_position``; False if not in time.

    Every read model tracks its position in the whole log (it reads every entry and
    applies those it needs), so any position a command returned can be waited for.
    """
    names = [projection_names] if isinstance(projection_names, str) else list(projection_names)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if all(projection_position(conn, name) >= min_position for name in names):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)


# --- the position watch ----------------------------------------------------------------------


class TooManyWaiting(Exception):
    """More reads wait for positions than the process allows."""


class BeyondTheLog(Exception):
    """The position asked for lies beyond the end of the log."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(f"position {position} lies beyond the end of the log ({head})")
        self.head = head


@dataclass
class _Waiter:
    names: tuple[str, ...]
    position: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class PositionWatch:
    def __init__(
        self,
        database: Database,
        read_head: Callable[[], int],
        *,
        max_waiting: int = 64,
        poll_interval: float = 1.0,
        read_positions: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        """``read_head`` reads the last position of the log (from a pool on the primary,
        briefly); ``read_positions``, if given, every read model's position as the server
        the reads query holds it (a replica: see the module's notes)."""
        self.database = database
        self.read_head = read_head
        self.read_positions = read_positions
        #: Set to make the replica's positions be read now (a hint heard, a new waiter).
        self._wake = threading.Event()
        self.max_waiting = max_waiting
        self.poll_interval = poll_interval
        self._positions: dict[str, int] = {}
        self._head = 0
        self._waiters: list[_Waiter] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Other channels heard on the same connection: callback per payload, and one
        #: told whether they are heard (True once listening, False when it dropped).
        self._channels: dict[str, tuple[Callable[[str], None], Callable[[bool], None]]] = {}

    def subscribe(
        self, channel: str, heard: Callable[[str], None], listening: Callable[[bool], None]
    ) -> None:
        """Hear ``channel`` too (before ``start``)."""
        self._channels[channel] = (heard, listening)

    def start(self) -> None:
        """Start listening now rather than when a read first waits."""
        self._start()

    # --- for readers -----------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """How many reads wait now."""
        with self._lock:
            return len(self._waiters)

    def position(self, name: str) -> int:
        with self._lock:
            return self._positions.get(name, 0)

    async def wait(self, names: Sequence[str], position: int, *, timeout: float) -> bool:
        """Wait until every read model in ``names`` has applied ``position``; False if
        not within ``timeout`` seconds. ``TooManyWaiting``, ``BeyondTheLog``: at once."""
        self._start()
        if self._reached(names, position):
            return True
        if position > self._head and position > await asyncio.to_thread(self._read_head):
            raise BeyondTheLog(position, self._head)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(tuple(names), position, loop, loop.create_future())
        with self._lock:
            if len(self._waiters) >= self.max_waiting:
                raise TooManyWaiting
            self._waiters.append(waiter)
        self._wake.set()
        try:
            if self._reached(names, position):  # reached while registering
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
            return waiter.future.done()
        finally:
            with self._lock, contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _reached(self, names: Sequence[str], position: int) -> bool:
        with self._lock:
            return all(self._positions.get(n, 0) >= position for n in names)

    def _read_head(self) -> int:
        head = self.read_head()
        with self._lock:
            self._head = max(self._head, head)
            return self._head

    # --- the listening thread --------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="position-watch", daemon=True)
            self._thread.start()
            if self.read_positions is not None:
                threading.Thread(
                    target=self._follow_replica, name="replica-positions", daemon=True
                ).start()
        # The first answer is worth a short wait: every position known, nothing missed.
        self._ready.wait(timeout=2)

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        for _, listening in self._channels.values():
            listening(False)
        thread = self._thread
        if thread is not None:
            with (
                contextlib.suppress(psycopg.Error),
                self.database.connect(autocommit=True, purpose="watch") as c,
            ):
                announce(c, "", 0)  # wake the listener
            thread.join(timeout=5)

    def _run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                with self.database.connect(autocommit=True, purpose="watch") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    for channel in self._channels:
                        conn.execute(f"LISTEN {channel}")
                    self._reread(conn)
                    for _, listening in self._channels.values():
                        listening(True)
                    self._ready.set()
                    backoff = 0.2
                    while not self._stopping.is_set():
                        heard = False
                        for note in conn.notifies(timeout=self.poll_interval, stop_after=64):
                            heard = True
                            if self._stopping.is_set():  # woken by ``close``
                                break
                            if note.channel != CHANNEL:
                                self._channels[note.channel][0](note.payload)
                                continue
                            name, _, position = note.payload.rpartition(" ")
                            if self.read_positions is not None:
                                self._wake.set()  # the primary's: a hint, not a fact
                            elif name and position.isdigit():
                                self._update({name: int(position)})
                        if not heard and self._waiting():
                            self._reread(conn)
            except Exception as error:  # the watch never ends but when it is closed
                for _, listening in self._channels.values():
                    listening(False)
                if self._stopping.is_set():
                    return
                if isinstance(error, psycopg.Error):
                    log.warning("position watch: %s; reconnecting in %.1f s", error, backoff)
                else:
                    log.exception("position watch failed; reconnecting in %.1f s", backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _waiting(self) -> bool:
        with self._lock:
            return bool(self._waiters)

    def _reread(self, conn: psycopg.Connection[Any]) -> None:
        if self.read_positions is not None:
            self._update(self.read_positions(), replace=True)
            return
        self._update(tracking_positions(conn), replace=True)

    def _follow_replica(self) -> None:
        """Re-read the replica's positions when woken, and while reads wait (backing off
        from 5 ms to 0.1 s), else every ``poll_interval``."""
        assert self.read_positions is not None
        delay = 0.005
        while not self._stopping.is_set():
            self._wake.wait(delay if self._waiting() else self.poll_interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._update(self.read_positions(), replace=True)
            except Exception as error:  # the replica down: reads wait, then answer 503
                log.warning("position watch: the replica's positions: %s", error)
                self._stopping.wait(1.0)
                continue
            delay = min(delay * 2, 0.1) if self._waiting() else 0.005

    def _update(self, positions: dict[str, int], *, replace: bool = False) -> None:
        with self._lock:
            if replace:
                self._positions = dict(positions)
            else:
                self._positions.update(positions)
            self._head = max([self._head, *self._positions.values()])
            woken = [w for w in self._waiters if self._reached_locked(w.names, w.position)]
        for waiter in woken:
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)

    def _reached_locked(self, names: Sequence[str], position: int) -> bool:
        return all(self._positions.get(n, 0) >= position for n in names)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
