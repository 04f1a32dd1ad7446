"""(e) Concurrent writers: commands of N threads of one process against N threads of plain
single-row inserts.

* **commands** — N threads, each logging interactions on relationships of its own through
  ``app.relationships.log_interaction``: the whole command path (context, cache, decide,
  seal the personal fields, append with the command's record, hash chain, notification);
  concurrent commands of the process are appended in groups
  (``application.store.recorder.GroupCommit``). As in the service, the process hears
  erasures (``interface.runtime.Services``), so it keeps its data keys rather than asking
  the database for them on every command.
* **commands one by one** — the same, each command appended in a transaction of its own
  (grouping off): the design before group commit.
* **plain insert** — N threads, each on a connection of its own, each doing one
  autocommit ``INSERT`` of a row of the same size per operation: one round trip, one
  commit, the floor of a durable write; concurrent commits share the server's WAL flush.

Both run for the same number of operations per round, in interleaved rounds, at each N.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import psycopg

from application import personal_data
from application.service import Fullchain
from application.store.database import Database
from bench.commands import ACTOR, RAW_INSERT, RAW_TABLE, SUMMARY, _existing_relationships
from bench.stats import Rate
from domain.relationship import Channel, Direction
from projections.freshness import PositionWatch, log_head


@dataclass
class WriterResults:
    #: per number of writers: grouped commands, commands one by one, plain inserts
    by_writers: dict[int, tuple[Rate, Rate, Rate]]
    ops: int
    #: per number of writers: the writing process's CPU seconds per operation of each
    #: contender, one figure per round
    cpu: dict[int, tuple[list[float], list[float], list[float]]]


def _in_threads(n: int, ops: int, work: Callable[[int, int], None]) -> float:
    """Run ``work(thread, count)`` in ``n`` threads at once; the seconds it took."""
    start = threading.Barrier(n + 1)
    per_thread = ops // n
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            work(index, per_thread)
        except BaseException as error:  # reported after the round
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return elapsed


def _timed(n: int, count: int, work: Callable[[int, int], None], cpu: list[float]) -> float:
    """``_in_threads``, adding the process's CPU seconds per operation to ``cpu`` (all its
    threads, whatever else they did meanwhile: here, little else runs)."""
    used = time.process_time()
    elapsed = _in_threads(n, count, work)
    cpu.append((time.process_time() - used) / count)
    return elapsed


@contextmanager
def _hearing_erasures(database: Database, apps: list[Fullchain]) -> Iterator[None]:
    """The apps' key rings hear erasures, as the service's does: they keep the data keys
    they made or read while the block runs."""

    def read_head() -> int:
        with database.connect() as conn:
            return log_head(conn)

    heard = threading.Event()

    def forget(subject: str) -> None:
        for app in apps:
            app.personal_keys.forget(subject)

    def listening(live: bool) -> None:
        for app in apps:
            app.personal_keys.listening(live)
        if live:
            heard.set()

    watch = PositionWatch(database, read_head)
    watch.subscribe(personal_data.CHANNEL, forget, listening)
    watch.start()
    try:
        if not heard.wait(timeout=10):
            raise RuntimeError("the key rings could not hear erasures")
        yield
    finally:
        watch.close()


def run_writers(
    database: Database, *, writers: tuple[int, ...], ops: int, rounds: int, seed: int
) -> WriterResults:
    app = Fullchain(database)
    alone = Fullchain(database)
    alone.recorder.grouping = False  # type: ignore[attr-defined]
    most = max(writers)
    pools = [_existing_relationships(app, 4, seed + i) for i in range(most)]
    alone_pools = [_existing_relationships(alone, 4, seed + 1000 + i) for i in range(most)]
    payload = bytes(600)
    connections: list[psycopg.Connection[tuple[Any, ...]]] = [
        database.connect(autocommit=True) for _ in range(most)
    ]
    with connections[0].cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (id bigserial PRIMARY KEY, "
            "originator_id uuid, version bigint, topic text, state bytea)"
        )

    def commands_of(application: Fullchain, pools: list[list[Any]]) -> Callable[[int, int], None]:
        def commands(index: int, count: int) -> None:
            pool = pools[index]
            for i in range(count):
                application.relationships.log_interaction(
                    application.context(ACTOR),
                    pool[i % len(pool)],
                    interaction_id=uuid4(),
                    channel=Channel.CALL,
                    direction=Direction.OUTBOUND,
                    summary=SUMMARY,
                    contact_id="c1",
                )

        return commands

    commands = commands_of(app, pools)
    one_by_one = commands_of(alone, alone_pools)

    def inserts(index: int, count: int) -> None:
        conn = connections[index]
        for i in range(count):
            conn.execute(RAW_INSERT, (uuid4(), i, "Relationship.InteractionLogged", payload))

    results: dict[int, tuple[Rate, Rate, Rate]] = {}
    cpu: dict[int, tuple[list[float], list[float], list[float]]] = {}
    try:
        with _hearing_erasures(database, [app, alone]):
            for n in writers:  # warm-up: caches, prepared statements, pools
                for work in (commands, one_by_one, inserts):
                    _in_threads(n, n * 4, work)
            for n in writers:
                grouped = Rate(f"commands, {n} writers", "commands/s")
                single = Rate(f"commands one by one, {n} writers", "commands/s")
                plain = Rate(f"plain insert, {n} writers", "inserts/s")
                used: tuple[list[float], list[float], list[float]] = ([], [], [])
                contenders = [
                    (grouped, commands, used[0]),
                    (single, one_by_one, used[1]),
                    (plain, inserts, used[2]),
                ]
                for r in range(rounds):
                    for rate, work, spent in contenders[r % 3 :] + contenders[: r % 3]:
                        count = (ops // n) * n
                        rate.add(count, _timed(n, count, work, spent))
                results[n] = (grouped, single, plain)
                cpu[n] = used
    finally:
        for conn in connections:
            conn.close()
        app.close()
        alone.close()
    return WriterResults(results, ops, cpu)


def main() -> None:
    from bench.database import server_conninfo, throwaway_database
    from bench.stats import ratio

    parser = argparse.ArgumentParser(prog="python -m bench.writers")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few ops, 2 rounds")
    parser.add_argument("--ops", type=int, default=800, help="operations per contender per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ops, rounds = (64, 2) if args.quick else (args.ops, args.rounds)
    admin, where = server_conninfo()
    print(f"concurrent writers, {where}: {rounds} rounds of {ops} operations per contender")
    with throwaway_database(admin) as database:
        result = run_writers(database, writers=(1, 4, 16), ops=ops, rounds=rounds, seed=7)
    print(
        f"{'writers':>7} {'commands':>10} {'one by one':>11} {'plain insert':>13} "
        f"{'commands/plain':>15} {'one-by-one/plain':>17}"
    )
    for n, (grouped, single, plain) in result.by_writers.items():
        print(
            f"{n:>7} {grouped.median:>10,.0f} {single.median:>11,.0f} {plain.median:>13,.0f} "
            f"{ratio(grouped, plain):>15.2f} {ratio(single, plain):>17.2f}"
        )
    print("per second, medians over interleaved rounds; goal: commands/plain >= 1.0 at 16")
    print()
    print("the writing process's CPU per operation, ms (median over rounds), and the most")
    print("commands a second that CPU allows if it runs on one core (the interpreter's lock")
    print("lets one thread at a time run Python):")
    print(
        f"{'writers':>7} {'commands':>10} {'one by one':>11} {'plain insert':>13} {'ceiling':>18}"
    )
    for n, spent in result.cpu.items():
        each = [statistics.median(s) * 1000 for s in spent]
        print(
            f"{n:>7} {each[0]:>10.3f} {each[1]:>11.3f} {each[2]:>13.3f} "
            f"{1000 / each[0]:>9,.0f} commands/s"
        )


if __name__ == "__main__":
    main()
