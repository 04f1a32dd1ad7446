"""``python -m bench.growth [--quick] [--sizes N,N,…]``: costs as the log grows.

One throwaway database grows through the sizes given (default 10,000, 100,000 and
1,000,000 log entries: relationships with contacts, interactions and care, about ten
events each, saved in bulk), every read model caught up after each step. At each size,
in interleaved rounds, one request of each kind is timed through the HTTP app
(in-process, so that what grows is the service's cost, not the network's):

* **status**: ``GET /v1/relationships/{id}`` (account status of one relationship);
* **list**: ``GET /v1/relationships?kind=customer&branch=…&limit=50`` (a filtered page);
* **history**: ``GET /v1/relationships/{id}/history?limit=50`` (an auditor's first page);
* **command**: ``POST /v1/relationships/{id}/interactions`` on a customer in memory;
* **cold command**: a command on one relationship whose own history grows with the log
  (1% of it: 100, 1,000, 10,000 events), not in memory, so loaded from the log (its
  latest snapshot and the events after it);

and ``fullchain verify`` over the whole log: its rate and the peak memory it allocates
(``tracemalloc``).

The goal: every per-request cost within 1.2× from the smallest size to the largest, and
verify's peak memory the same at every size. Medians over the rounds; the ratio column
is the largest size's median over the smallest's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from application.store.database import Database
from application.store.integrity import verify
from bench.branches import register_branches
from bench.database import server_conninfo, throwaway_database
from bench.projections import generate_log, log_extent
from domain.relationship import Channel, Direction, RelationshipKind
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.engine import ProjectionWorker

GOAL = 1.2
KINDS = ("status", "list", "history", "command", "cold command")
BODY = {
    "channel": "call",
    "direction": "outbound",
    "summary": "Called about the weekly container allocation; confirmed the rate.",
}


def _grow_long_history(services: Services, rid: UUID, to_events: int) -> None:
    """Append interactions to the relationship ``rid`` until it has ``to_events``."""
    app = services.app
    relationship = app.relationships.get_relationship(rid)
    while relationship.version < to_events:
        for _ in range(min(500, to_events - relationship.version)):
            relationship.log_interaction(
                app.context("bench.hq"),
                interaction_id=uuid4(),
                channel=Channel.VISIT,
                direction=Direction.OUTBOUND,
                summary="A visit on the long-standing account.",
            )
        app.save(relationship)
    if app.repository.cache is not None:
        app.repository.cache.get(rid, evict=True)


def _catch_up(services: Services) -> None:
    ProjectionWorker(services.database, services.projections, services.app.mapper).catch_up()
    with services.reads.connection() as conn:
        services.value_models().current(conn)  # fitted now, not in the middle of a round


def _customers(database: Database, count: int) -> list[str]:
    with database.connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relationship_id FROM account_status WHERE kind = 'customer' "
            "ORDER BY relationship_id LIMIT %s",
            (count,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def _measure(
    services: Services, client: TestClient, token: str, long_rid: UUID, rounds: int
) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {token}"}
    ids = _customers(services.database, 64)
    rng = random.Random(11)
    app = services.app

    def get(path: str) -> None:
        response = client.get(path, headers=auth)
        assert response.status_code == 200, (path, response.status_code, response.text)

    def command(rid: str) -> None:
        response = client.post(f"/v1/relationships/{rid}/interactions", json=BODY, headers=auth)
        assert response.status_code == 200, (rid, response.status_code, response.text)

    def cold() -> None:
        if app.repository.cache is not None:
            app.repository.cache.get(long_rid, evict=True)
        app.relationships.log_interaction(
            app.context("bench.hq"),
            long_rid,
            interaction_id=uuid4(),
            channel=Channel.CALL,
            direction=Direction.INBOUND,
            summary="The customer called back.",
        )

    calls: dict[str, Callable[[str], None]] = {
        "status": lambda rid: get(f"/v1/relationships/{rid}"),
        "list": lambda _: get("/v1/relationships?kind=customer&branch=branch-3&limit=50"),
        "history": lambda rid: get(f"/v1/relationships/{rid}/history?limit=50"),
        "command": command,
        "cold command": lambda _: cold(),
    }
    for call in calls.values():  # warm: statements prepared
        for rid in ids[:8]:
            call(rid)
    for rid in ids:  # every customer commanded is in memory
        command(rid)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(rounds):
        order = list(calls.items())
        if r % 2:
            order.reverse()
        for name, call in order:
            rid = rng.choice(ids)
            started = time.perf_counter()
            call(rid)
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def _verify(database: Database) -> tuple[float, float]:
    """Verify's rate (entries/s) and the peak memory it allocated (MB)."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = verify(database)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.intact, result
    return result.entries / seconds, peak / 1e6


def run(sizes: list[int], rounds: int) -> None:
    admin, where = server_conninfo()
    print(f"costs as the log grows, {where}; sizes {', '.join(f'{s:,}' for s in sizes)}")
    results: dict[int, dict[str, float]] = {}
    with throwaway_database(admin) as database:
        services = Services.open(database)
        try:
            app = services.app
            register_branches(app, "Headquarters", "branch-3")
            token = app.staff.enroll(
                app.context("admin"),
                staff_id="bench.hq",
                name="Bench",
                branch="Headquarters",
                roles=(Role.HQ,),
            )
            long_rid = app.relationships.register_relationship(
                app.context("bench.hq"),
                name="Long-standing customer",
                kind=RelationshipKind.CUSTOMER,
                industry="retail",
                region="east",
                branch="branch-3",
            ).aggregate_id
            client = TestClient(create_app(services))
            for size in sizes:
                count, _ = log_extent(database)
                started = time.perf_counter()
                if size > count:
                    generate_log(database, size - count, seed=size)
                _grow_long_history(services, long_rid, max(100, size // 100))
                _catch_up(services)
                count, _ = log_extent(database)
                print(
                    f"  {count:,} log entries (long history "
                    f"{app.relationships.get_relationship(long_rid).version:,} events), "
                    f"ready in {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
                results[size] = _measure(services, client, token, long_rid, rounds)
                rate, peak = _verify(database)
                results[size]["verify µs/entry"] = 1e6 / rate
                results[size]["verify peak MB"] = peak
        finally:
            services.close()
    first, last = sizes[0], sizes[-1]
    header = f"{'median ms':22}" + "".join(f"{s:>12,}" for s in sizes) + f"{'ratio':>8}"
    print("\n" + header)
    for name in [*KINDS, "verify µs/entry", "verify peak MB"]:
        values = [results[s][name] for s in sizes]
        growth = results[last][name] / results[first][name]
        mark = "" if growth <= GOAL else "  ABOVE GOAL"
        print(f"{name:22}" + "".join(f"{v:12.2f}" for v in values) + f"{growth:8.2f}{mark}")
    print(f"goal: the largest size within {GOAL}x of the smallest; {rounds} rounds")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.growth")
    parser.add_argument("--quick", action="store_true", help="6,000 and 12,000 entries")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if args.quick:
        run([6_000, 12_000], 20)
    else:
        run([int(s) for s in args.sizes.split(",")], args.rounds)


if __name__ == "__main__":
    main()
