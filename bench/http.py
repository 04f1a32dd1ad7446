"""(f) The service over HTTP against a bare anchor app, side by side.

``python -m bench.http [--quick] [--seconds S] [--rounds R]``

Processes: the service (``fullchain serve --no-workers``) and its projection worker
(``fullchain project``), each a process of its own; the anchor (``bench.anchor``: a
FastAPI app of the same uvicorn settings, whose POST is one INSERT through a psycopg pool
and whose GET one primary-key SELECT). The load comes from ``wrk`` (Debian package
``wrk``), one connection per client, in interleaved rounds; without wrk the run says so
and stops (a Python client would measure itself).

Rows:

* commands/s at c = 1, 4, 16: ``POST /v1/relationships/{id}/interactions`` over 64
  customers (distinct aggregates) against the anchor's POST; latency p50 and p99 at c=16;
* reads/s at c=16: account status (``GET /v1/relationships/{id}``), a filtered list
  (``GET /v1/relationships?kind=customer&branch=…``) and a history page (each customer is
  seeded with 50 interactions, so every page holds 50 entries), against the anchor's GET;
* where the CPU goes per request at c=16: the API process, the projection process and
  the database server (its processes' CPU time over the round, per request), and the
  anchor's app and database;
* two API processes against one, at c=16, each commanding half of the customers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import psutil  # type: ignore[import-untyped]

from application.store.database import Database
from application.store.integrity import new_signing_key_pem
from bench.branches import register_branches
from bench.database import server_conninfo, throwaway_database
from domain.relationship import Channel, Direction, RelationshipKind
from domain.staff import Role
from interface.runtime import Services

CUSTOMERS = 64
#: Entries on a history page read: each customer has at least this many events.
HISTORY_PAGE = 50
BODY = (
    '{"channel":"call","direction":"outbound","summary":"Called about the weekly container '
    'allocation Shanghai-Hamburg; confirmed the rate."}'
)


@dataclass
class Measure:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.rps) if self.rps else float("nan")


def _part(script: str) -> str:
    return "commands" if script == "command" else "reads"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"a benchmark process ended early ({process.args!r})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def _process(
    args: list[str], env: dict[str, str], port: int | None, cwd: Path | None = None
) -> Iterator[psutil.Process]:
    """A process of the service (run in ``cwd``: the code it runs, for ``-m``), listening on
    ``port`` if given before the block starts; terminated after it."""
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if port is not None:
            _wait_for_port(port, process)
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


_DURATION = re.compile(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s)\s*$")


def _wrk(
    url: str, script: Path, connections: int, seconds: float
) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and non-2xx answers of one wrk run."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency: dict[int, float] = {}
    for line in out.splitlines():
        m = _DURATION.match(line)
        if m:
            value = float(m.group(2)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(3)]
            latency[int(m.group(1))] = value
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return (
        rps,
        latency.get(50, float("nan")),
        latency.get(99, float("nan")),
        int(bad.group(1)) if bad else 0,
    )


def _script(
    folder: Path, name: str, method: str, paths: list[str], token: str | None, body: str | None
) -> Path:
    lines = [
        "local paths = {" + ", ".join(f'"{p}"' for p in paths) + "}",
        "local i = 0",
        f'wrk.method = "{method}"',
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if body:
        lines.append("wrk.body = [[" + body + "]]")
    lines += [
        "request = function()",
        "  i = i + 1",
        "  return wrk.format(nil, paths[(i % #paths) + 1])",
        "end",
    ]
    path = folder / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def _seed(database: Database) -> tuple[str, list[str]]:
    services = Services.open(database)
    try:
        app = services.app
        register_branches(app, "Headquarters", *(f"Branch-{n}" for n in range(4)))
        token = app.staff.enroll(
            app.context("admin"),
            staff_id="bench.hq",
            name="Bench",
            branch="Headquarters",
            roles=(Role.HQ,),
        )
        ids = [
            str(
                app.relationships.register_relationship(
                    app.context("bench.hq"),
                    name=f"Customer {i}",
                    kind=RelationshipKind.CUSTOMER,
                    industry="electronics",
                    region="East China",
                    branch=f"Branch-{i % 4}",
                ).aggregate_id
            )
            for i in range(CUSTOMERS)
        ]
        # Every history page read is full (limit=50), whatever the commands before it added.
        for rid in ids:
            for n in range(HISTORY_PAGE):
                app.relationships.log_interaction(
                    app.context("bench.hq"),
                    UUID(rid),
                    interaction_id=uuid4(),
                    channel=Channel.CALL,
                    direction=Direction.OUTBOUND,
                    summary=f"Weekly allocation call {n}",
                )
    finally:
        services.close()
    return token, ids


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    """Each process's CPU time so far, by pid."""
    times: dict[int, float] = {}
    for p in processes:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        times[p.pid] = t.user + t.system
    return times


def _cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """The CPU the processes took between two readings; a process that started between
    them counts whole (a backend a pool opened during the round), one that ended is lost."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _database_processes(database: Database) -> list[psutil.Process]:
    """The server's backends and helpers, when the server runs on this machine."""
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] == "postgres" or (p.info["cmdline"] or [""])[0].startswith("postgres"):
            found.append(p)
    return found


def run(seconds: float, rounds: int, only: str | None = None) -> None:
    if shutil.which("wrk") is None:
        print("bench.http: wrk is not installed (apt-get install wrk); nothing measured")
        return
    admin, where = server_conninfo()
    with throwaway_database(admin) as database, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        token, ids = _seed(database)
        env = {
            **os.environ,
            "FULLCHAIN_DATABASE_URL": database.conninfo,
            "FULLCHAIN_SIGNING_KEY": new_signing_key_pem(),
        }
        api_port, api2_port, anchor_port = _free_port(), _free_port(), _free_port()
        python = sys.executable
        serve = [
            python,
            "-m",
            "interface.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--no-demo",
            "--no-workers",
        ]
        scripts = {
            "command": _script(
                folder,
                "command",
                "POST",
                [f"/v1/relationships/{i}/interactions" for i in ids],
                token,
                BODY,
            ),
            "anchor_post": _script(folder, "anchor_post", "POST", ["/anchor"], None, BODY),
            "status": _script(
                folder, "status", "GET", [f"/v1/relationships/{i}" for i in ids], token, None
            ),
            "list": _script(
                folder,
                "list",
                "GET",
                [
                    f"/v1/relationships?kind=customer&branch=Branch-{i % 4}&limit=50"
                    for i in range(4)
                ],
                token,
                None,
            ),
            "history": _script(
                folder,
                "history",
                "GET",
                [f"/v1/relationships/{i}/history?limit={HISTORY_PAGE}" for i in ids],
                token,
                None,
            ),
            "anchor_get": _script(
                folder, "anchor_get", "GET", [f"/anchor/{n}" for n in range(1, 65)], None, None
            ),
        }
        print(f"Fullchain CRM over HTTP, {where}; {rounds} rounds of {seconds:.0f} s each")
        with (
            _process([*serve, "--port", str(api_port)], env, api_port) as api,
            _process([python, "-m", "interface.cli", "project"], env, None) as worker,
            _process(
                [
                    python,
                    "-m",
                    "bench.anchor",
                    "--port",
                    str(anchor_port),
                    "--database",
                    database.conninfo,
                ],
                env,
                anchor_port,
            ) as anchor_app,
        ):
            service_url, anchor_url = (
                f"http://127.0.0.1:{api_port}",
                f"http://127.0.0.1:{anchor_port}",
            )
            for c in (1, 4, 16):
                _wrk(service_url, scripts["command"], c, 1)  # warm-up
                _wrk(anchor_url, scripts["anchor_post"], c, 1)
            _wrk(anchor_url, scripts["anchor_get"], 4, 1)
            # The first reads start the customer-value models' first fit (seconds of CPU in
            # the background): let it finish before measuring.
            for name in ("status", "list", "history"):
                _wrk(service_url, scripts[name], 4, 3)

            def database_processes() -> list[psutil.Process]:
                # Listed anew at each reading: a pool opens backends as the load grows.
                return _database_processes(database)

            # CPU per request at c=16, by process: the service's API, projections and
            # database; the anchor's app and database.
            parts = ("API", "projections", "database", "anchor app", "anchor database")
            cpu_split: dict[str, dict[str, list[float]]] = {}
            results: dict[str, tuple[Measure, Measure]] = {}
            rows = [(f"commands c={c}", "command", "anchor_post", c) for c in (1, 4, 16)] + [
                ("GET account status c=16", "status", "anchor_get", 16),
                ("GET filtered list c=16", "list", "anchor_get", 16),
                ("GET history page c=16", "history", "anchor_get", 16),
            ]
            if only is not None:
                rows = [row for row in rows if _part(row[1]) == only]
            for label, mine, theirs, c in rows:
                ours, anchor = Measure(), Measure()
                for r in range(rounds):
                    order = [(ours, service_url, mine), (anchor, anchor_url, theirs)]
                    for measure, url, script in order if r % 2 == 0 else order[::-1]:
                        mine_cpu = [lambda: [api], lambda: [worker], database_processes]
                        counted = (
                            mine_cpu
                            if measure is ours
                            else [lambda: [anchor_app], database_processes]
                        )
                        before = [_cpu(group()) for group in counted]
                        rps, p50, p99, bad = _wrk(url, scripts[script], c, seconds)
                        measure.rps.append(rps)
                        measure.p50_ms.append(p50)
                        measure.p99_ms.append(p99)
                        measure.errors += bad
                        if c == 16 and rps > 0:
                            done = rps * seconds
                            after = [_cpu(group()) for group in counted]
                            names = parts[:3] if measure is ours else parts[3:]
                            split = cpu_split.setdefault(label, {name: [] for name in parts})
                            for name, b, a in zip(names, before, after, strict=True):
                                split[name].append(_cpu_between(b, a) / done * 1000)
                results[label] = (ours, anchor)
            heading = f"{'what':28} {'service':>10} {'anchor':>10} {'ratio':>6}"
            print(f"\n{heading}  p50/p99 ms (service | anchor)")
            for label, (ours, anchor) in results.items():
                print(
                    f"{label:28} {ours.median:10,.0f} {anchor.median:10,.0f} "
                    f"{ours.median / anchor.median:6.2f}  "
                    f"{statistics.median(ours.p50_ms):.1f}/{statistics.median(ours.p99_ms):.1f} | "
                    f"{statistics.median(anchor.p50_ms):.1f}/{statistics.median(anchor.p99_ms):.1f}"
                    + (f"  ({ours.errors} non-2xx)" if ours.errors else "")
                )
            if cpu_split:
                print("\nCPU per request at c=16, ms (median over rounds):")
                print(f"{'what':28} " + " ".join(f"{name:>16}" for name in parts))
                for label, split in cpu_split.items():
                    print(
                        f"{label:28} "
                        + " ".join(
                            f"{statistics.median(split[n]) if split[n] else 0:16.2f}" for n in parts
                        )
                    )
            if only is not None and only != "processes":
                return
            # Each API process commands half of the customers (as a router that sends a
            # customer's requests to one process would): two processes commanding the
            # same aggregates would measure their version conflicts, not their capacity.
            halves = [
                _script(
                    folder,
                    f"command_half_{n}",
                    "POST",
                    [f"/v1/relationships/{i}/interactions" for i in ids[n::2]],
                    token,
                    BODY,
                )
                for n in (0, 1)
            ]
            with _process([*serve, "--port", str(api2_port)], env, api2_port):
                one, two = [], []
                for _ in range(rounds):
                    one.append(_wrk(service_url, scripts["command"], 16, seconds)[0])
                    pair = [
                        subprocess.Popen(
                            [
                                "wrk",
                                "-t1",
                                "-c8",
                                f"-d{max(1, round(seconds))}s",
                                "-s",
                                str(half),
                                u,
                            ],
                            stdout=subprocess.PIPE,
                            text=True,
                        )
                        for u, half in zip(
                            (service_url, f"http://127.0.0.1:{api2_port}"), halves, strict=True
                        )
                    ]
                    total = 0.0
                    for p in pair:
                        out, _ = p.communicate()
                        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
                    two.append(total)
                both, alone = statistics.median(two), statistics.median(one)
                print(
                    f"two API processes vs one, commands at c=16: {both:,.0f} vs {alone:,.0f}"
                    f" = {both / alone:.2f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http")
    parser.add_argument("--quick", action="store_true", help="1-second rounds, two of them")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=("commands", "reads", "processes"),
        help="measure one part: the command rows, the read rows, or two processes against one",
    )
    args = parser.parse_args()
    if args.quick:
        run(1.0, 2, args.only)
    else:
        run(args.seconds, args.rounds, args.only)


if __name__ == "__main__":
    main()
