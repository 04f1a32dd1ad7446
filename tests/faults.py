"""Faults to inject between the service and its database, and a live server to probe.

``FaultyProxy`` is a TCP proxy in front of PostgreSQL. It forwards bytes both ways and,
when armed, breaks a connection at the worst moment for a promise:

* ``drop_reply(marker)``: the client's message carrying ``marker`` reaches the server,
  which executes (and, in autocommit, commits) it; the answer never reaches the client —
  the connection is closed instead.
* ``drop_request(marker)``: the message carrying ``marker`` never reaches the server.
* ``cut()``: every open connection is closed at once (a restarted server, a network
  blip); ``refuse()`` / ``admit()``: new connections are closed as soon as they open.

A marker is matched in the raw bytes and in their hex form (bytea travels as hex in the
text format).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from psycopg.conninfo import make_conninfo

from application.store.database import Database
from tests.waiting import wait_until


@dataclass
class _Trap:
    marker: bytes
    reply: bool  # drop the reply (True) or the request (False)
    sprung: threading.Event = field(default_factory=threading.Event)

    def matches(self, chunk: bytes) -> bool:
        return self.marker in chunk or self.marker.hex().encode() in chunk


class FaultyProxy:
    def __init__(self, database: Database) -> None:
        params = database.params
        host = str(params.get("host") or "127.0.0.1")
        port = int(params.get("port") or 5432)
        if host.startswith("/"):
            self._upstream: tuple[int, Any] = (
                socket.AF_UNIX,
                str(Path(host) / f".s.PGSQL.{port}"),
            )
        else:
            self._upstream = (socket.AF_INET, (host, port))
        #: The database itself, not through the proxy (to check what it holds).
        self.direct = database
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        proxied = {k: v for k, v in params.items() if k not in ("host", "hostaddr", "port")}
        self.database = Database(
            make_conninfo(**proxied, host="127.0.0.1", port=str(self.port)), embedded=False
        )
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._traps: list[_Trap] = []
        self._refusing = False
        self._closed = False
        self.connections = 0
        threading.Thread(target=self._accept, name="faulty-proxy", daemon=True).start()

    # --- the faults ----------------------------------------------------------------------

    def drop_reply(self, marker: str | bytes) -> _Trap:
        return self._arm(marker, reply=True)

    def drop_request(self, marker: str | bytes) -> _Trap:
        return self._arm(marker, reply=False)

    def _arm(self, marker: str | bytes, *, reply: bool) -> _Trap:
        trap = _Trap(marker.encode() if isinstance(marker, str) else marker, reply)
        with self._lock:
            self._traps.append(trap)
        return trap

    def cut(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(*pair)

    def refuse(self) -> None:
        self._refusing = True
        self.cut()

    def admit(self) -> None:
        self._refusing = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    # --- forwarding ----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing:
                _close(client)
                continue
            try:
                server = socket.socket(self._upstream[0], socket.SOCK_STREAM)
                server.connect(self._upstream[1])
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
                self.connections += 1
            doomed = threading.Event()  # the next reply on this connection is dropped
            threading.Thread(
                target=self._requests, args=(client, server, doomed), daemon=True
            ).start()
            threading.Thread(
                target=self._replies, args=(client, server, doomed), daemon=True
            ).start()

    def _requests(
        self, client: socket.socket, server: socket.socket, doomed: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                traps = self._sprung_by(chunk)
                if any(not trap.reply for trap in traps):
                    for trap in traps:
                        trap.sprung.set()
                    break
                if traps:
                    doomed.set()
                server.sendall(chunk)
                for trap in traps:
                    trap.sprung.set()
        if not doomed.is_set():
            _close(client, server)

    def _replies(
        self, client: socket.socket, server: socket.socket, doomed: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while chunk := server.recv(65536):
                if doomed.is_set():
                    break  # the server has answered: its answer is lost
                client.sendall(chunk)
        _close(client, server)

    def _sprung_by(self, chunk: bytes) -> list[_Trap]:
        """Every armed trap the message carries (several commands may travel together)."""
        with self._lock:
            sprung = [trap for trap in self._traps if trap.matches(chunk)]
            for trap in sprung:
                self._traps.remove(trap)
        return sprung


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()


class LiveServer:
    """The HTTP app served by uvicorn in a thread, on a free port, for clients that need
    real concurrency and real connections."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", workers=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    @property
    def url(self) -> str:
        (sock,) = self.server.servers[0].sockets
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(
            lambda: self.server.started or not self.thread.is_alive(), what="uvicorn started"
        )
        if not self.server.started:
            raise RuntimeError("the live server did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def live(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
