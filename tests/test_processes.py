"""The API served from several processes: the app factory of a process manager, and
``fullchain serve --processes N`` (ARCHITECTURE.md, "Processes")."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from application.store.database import (
    DATABASE_URL_VARIABLE,
    OWNER_DATABASE_URL_VARIABLE,
    Database,
)
from application.store.integrity import SIGNING_KEY_VARIABLE, new_signing_key_pem
from interface.asgi import create
from interface.runtime import Services
from tests.staffing import enroll
from tests.waiting import wait_until


def test_the_factory_serves_from_the_configuration_and_closes_at_shutdown(
    services: Services, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = enroll(services, "wang.fang", "Wang Fang 王芳")
    monkeypatch.setenv(DATABASE_URL_VARIABLE, database.conninfo)
    app = create()
    opened: Services = app.state.services
    assert opened is not services
    assert not opened.workers  # an API process: the projection workers run elsewhere
    with TestClient(app) as client:
        me = client.get("/v1/staff/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["staff_id"] == "wang.fang"
        refused = client.get("/v1/staff/me", headers={"Authorization": "Bearer nonsense"})
        assert refused.status_code == 401
        assert not opened.reads.closed
    assert opened.reads.closed  # the lifespan closed the process's pools


# --- fullchain serve --processes 2 -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descendants(pid: int) -> set[int]:
    parents = {int(p.name): _parent_of(int(p.name)) for p in Path("/proc").glob("[0-9]*")}
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Served:
    """``fullchain serve --processes 2`` in a subprocess, its JSON log in a file."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def pid_of(self, request_id: str) -> int | None:
        """The process that logged the request (its line comes once it was answered)."""
        for line in self.lines():
            if line.get("request_id") == request_id and "status" in line:
                return int(line["pid"])
        return None

    def answered_by(self, client: httpx.Client, token: str) -> int:
        request_id = uuid.uuid4().hex
        me = client.get(
            "/v1/staff/me",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
        )
        assert me.status_code == 200, me.text
        wait_until(lambda: self.pid_of(request_id) is not None, what="the request's log line")
        pid = self.pid_of(request_id)
        assert pid is not None
        return pid


@pytest.fixture
def served(
    services: Services, database: Database, owner_database: Database, tmp_path: Path
) -> Iterator[Served]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        DATABASE_URL_VARIABLE: database.conninfo,
        OWNER_DATABASE_URL_VARIABLE: owner_database.conninfo,
        SIGNING_KEY_VARIABLE: new_signing_key_pem(),
        "FULLCHAIN_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "interface.cli", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--processes", "2", "--workers", "--no-demo"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Served(process, f"http://127.0.0.1:{port}", log)

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{server.url}/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, what="fullchain serve --processes 2 answers")
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_from_two_processes_reads_your_write_across_them_and_stops_on_sigterm(
    services: Services, served: Served
) -> None:
    token = enroll(services, "li.wei", "Li Wei 李伟")
    auth = {"Authorization": f"Bearer {token}"}
    # Each client keeps its connection, so each is served by one process throughout.
    clients: dict[int, httpx.Client] = {}
    opened: list[httpx.Client] = []
    try:

        def two_processes_answered() -> bool:
            client = httpx.Client(base_url=served.url, timeout=30)
            opened.append(client)
            clients.setdefault(served.answered_by(client, token), client)
            return len(clients) == 2

        wait_until(two_processes_answered, what="two processes answered")
        workers = set(clients)
        assert served.process.pid not in workers
        assert all(_parent_of(pid) == served.process.pid for pid in workers)
        writer, reader = (clients[pid] for pid in sorted(workers))
        writing, reading = sorted(workers)
        assert served.answered_by(writer, token) == writing  # still the same process

        # A command through one process, read with min_position through the other.
        registered = writer.post(
            "/v1/relationships",
            headers=auth,
            json={
                "name": "苏州华芯电子有限公司",
                "kind": "prospect",
                "industry": "electronics",
                "region": "East China",
                "branch": "Suzhou",
            },
        )
        assert registered.status_code == 201, registered.text
        accepted = registered.json()
        request_id = uuid.uuid4().hex
        seen: list[httpx.Response] = []

        def read_through_the_other() -> bool:
            answer = reader.get(
                f"/v1/relationships/{accepted['aggregate_id']}",
                params={"min_position": accepted["position"], "wait": 10},
                headers={**auth, "X-Request-ID": request_id},
            )
            assert answer.status_code in (200, 503), answer.text
            seen.append(answer)
            return answer.status_code == 200

        wait_until(read_through_the_other, what="the write read through the other process")
        assert seen[-1].json()["name"] == "苏州华芯电子有限公司"
        wait_until(lambda: served.pid_of(request_id) is not None, what="the read's log line")
        assert served.pid_of(request_id) == reading != writing
    finally:
        for client in opened:
            client.close()

    # SIGTERM stops the parent and every process it started.
    family = _descendants(served.process.pid) | {served.process.pid}
    assert workers <= family
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 0, served.log.read_text()
    wait_until(lambda: not any(_alive(pid) for pid in family), what="every serving process ended")
