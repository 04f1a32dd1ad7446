"""(e) Concurrent writers: commands and appends of N threads of one process against N
threads of plain single-row inserts.

* **commands** — N threads, each logging interactions on relationships of its own through
  ``app.relationships.log_interaction``: the whole command path (context, cache, decide,
  seal the personal fields, append with the command's record, hash chain, notification);
  concurrent commands of the process are appended in groups
  (``application.store.recorder.GroupCommit``). As in the service, the process hears
  erasures (``interface.runtime.Services``), so it keeps its data keys rather than asking
  the database for them on every command.
* **commands one by one** — the same, each command appended in a transaction of its own
  (grouping off): the design before group commit.
* **appends** — the log's side of a command alone: N threads, each appending events
  decided before the round (one ``InteractionLogged``, sealed and encoded, per append)
  with their commands' records, through the recorder, in groups. What the log's lock, the
  chaining trigger and the shared flush cost, without the command path's Python.
* **appends, commit order** — the other design the log could have: no lock of the log,
  positions from the sequence, readers following the order in which appends become
  visible (each row keeps the id of the transaction that appended it), the hash chain
  sealed behind the appends. Measured on a database of its own whose log is so changed:
  each append in a transaction of its own (nothing to queue behind), no lock, no
  chaining trigger, no NOTIFY. The sealing itself is left out, so the figure is this
  design's most, not what it would reach.
* **plain insert** — N threads, each on a connection of its own, each doing one
  autocommit ``INSERT`` of a row of the same size per operation: one round trip, one
  commit, the floor of a durable write; concurrent commits share the server's WAL flush.

All run for the same number of operations per round, in interleaved rounds, at each N.
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
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import StoredEvent

from application import personal_data
from application.service import Fullchain
from application.store.database import Database
from application.store.recorder import _LOCK_AND_NOTIFY, COMMAND_MIGRATION, CommandRecord
from application.store.schema import EVENTS_TABLE
from bench.commands import ACTOR, RAW_INSERT, RAW_TABLE, SUMMARY, _existing_relationships
from bench.stats import Rate
from domain.relationship import Channel, Direction, Relationship
from projections.freshness import PositionWatch, log_head

#: The contenders, in the order of the report's columns.
CONTENDERS = ("commands", "one by one", "appends", "commit order", "plain insert")


@dataclass
class WriterResults:
    #: per number of writers: each contender's rate (``CONTENDERS``)
    by_writers: dict[int, dict[str, Rate]]
    ops: int
    #: per number of writers: the writing process's CPU seconds per operation of each
    #: contender, one figure per round
    cpu: dict[int, dict[str, list[float]]]


@dataclass
class _Contender:
    name: str
    unit: str
    #: ``work(thread, count)``: one thread's share of a round
    work: Callable[[int, int], None]
    #: run before each round, untimed, with the number of threads and each one's count
    prepare: Callable[[int, int], None] | None = None


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


def _unlocked(function: str) -> str:
    """The log's append of one command (``fullchain_append_command``), as the other
    design has it: the same statements without the lock and the NOTIFY."""
    unlocked = function.replace(_LOCK_AND_NOTIFY, "")
    assert unlocked != function, "the append no longer takes the lock as this bench knows it"
    return unlocked.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


#: The log of the other design (``appends, commit order``): no lock, no chaining, no
#: NOTIFY; each row keeps the transaction that appended it, for readers to follow.
COMMIT_ORDER_LOG = [
    f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER fullchain_events_chain",
    f"ALTER TABLE {EVENTS_TABLE} ADD COLUMN appended_in xid8 NOT NULL DEFAULT pg_current_xact_id()",
    *(_unlocked(statement) for statement in COMMAND_MIGRATION.statements),
]


def _appends(app: Fullchain, owners: list[UUID]) -> _Contender:
    """Appends of events decided before each round: thread ``i`` appends to ``owners[i]``,
    one event and its command's record per append."""
    decided: list[list[tuple[StoredEvent, CommandRecord]]] = []

    def prepare(n: int, count: int) -> None:
        decided.clear()
        for owner in owners[:n]:
            relationship = app.commands.from_log(Relationship, owner)
            appends = []
            for _ in range(count):
                ctx = app.context(ACTOR)
                relationship.log_interaction(
                    ctx,
                    interaction_id=uuid4(),
                    channel=Channel.CALL,
                    direction=Direction.OUTBOUND,
                    summary=SUMMARY,
                    contact_id="c1",
                )
                (event,) = relationship.collect_events()
                record = CommandRecord(
                    ctx.command_id, None, ACTOR, owner, event.originator_version, created=False
                )
                appends.append((app.mapper.to_stored_event(event), record))
            decided.append(appends)

    def work(index: int, count: int) -> None:
        for stored, record in decided[index][:count]:
            app.recorder.insert_events([stored], command=record)

    return _Contender("appends", "appends/s", work, prepare)


def run_writers(
    database: Database,
    other_design: Database,
    *,
    writers: tuple[int, ...],
    ops: int,
    rounds: int,
    seed: int,
) -> WriterResults:
    """``other_design``: an empty database with the product's schema, whose log this run
    changes to the other design (``COMMIT_ORDER_LOG``)."""
    with other_design.connect(autocommit=True) as conn:
        for statement in COMMIT_ORDER_LOG:
            conn.execute(statement)  # type: ignore[call-overload]
    app = Fullchain(database)
    alone = Fullchain(database)
    alone.recorder.grouping = False  # type: ignore[attr-defined]
    appending = Fullchain(database)
    visible = Fullchain(other_design)
    visible.recorder.grouping = False  # type: ignore[attr-defined]
    most = max(writers)
    pools = [_existing_relationships(app, 4, seed + i) for i in range(most)]
    alone_pools = [_existing_relationships(alone, 4, seed + 1000 + i) for i in range(most)]
    appending_owners = [
        _existing_relationships(appending, 1, seed + 2000 + i)[0] for i in range(most)
    ]
    visible_owners = [_existing_relationships(visible, 1, seed + 3000 + i)[0] for i in range(most)]
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

    def inserts(index: int, count: int) -> None:
        conn = connections[index]
        for i in range(count):
            conn.execute(RAW_INSERT, (uuid4(), i, "Relationship.InteractionLogged", payload))

    commit_order = _appends(visible, visible_owners)
    contenders = [
        _Contender("commands", "commands/s", commands_of(app, pools)),
        _Contender("one by one", "commands/s", commands_of(alone, alone_pools)),
        _appends(appending, appending_owners),
        _Contender("commit order", "appends/s", commit_order.work, commit_order.prepare),
        _Contender("plain insert", "inserts/s", inserts),
    ]
    assert [c.name for c in contenders] == list(CONTENDERS)

    def run(contender: _Contender, n: int, count: int, cpu: list[float] | None) -> float:
        if contender.prepare is not None:
            contender.prepare(n, count // n)
        if cpu is None:
            return _in_threads(n, count, contender.work)
        return _timed(n, count, contender.work, cpu)

    results: dict[int, dict[str, Rate]] = {}
    cpu: dict[int, dict[str, list[float]]] = {}
    try:
        with _hearing_erasures(database, [app, alone, appending]):
            for n in writers:  # warm-up: caches, prepared statements, pools
                for contender in contenders:
                    run(contender, n, n * 4, None)
            for n in writers:
                rates = {c.name: Rate(f"{c.name}, {n} writers", c.unit) for c in contenders}
                used: dict[str, list[float]] = {c.name: [] for c in contenders}
                k = len(contenders)
                for r in range(rounds):
                    for contender in contenders[r % k :] + contenders[: r % k]:
                        count = (ops // n) * n
                        elapsed = run(contender, n, count, used[contender.name])
                        rates[contender.name].add(count, elapsed)
                results[n] = rates
                cpu[n] = used
    finally:
        for conn in connections:
            conn.close()
        for application in (app, alone, appending, visible):
            application.close()
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
    with throwaway_database(admin) as database, throwaway_database(admin) as other_design:
        result = run_writers(
            database, other_design, writers=(1, 4, 16), ops=ops, rounds=rounds, seed=7
        )
    names = CONTENDERS
    print(" ".join([f"{'writers':>7}", *(f"{name:>13}" for name in names)]))
    for n, rates in result.by_writers.items():
        print(" ".join([f"{n:>7}", *(f"{rates[name].median:>13,.0f}" for name in names)]))
    print("per second, medians over interleaved rounds")
    print()
    print("each against plain inserts (goal: commands and appends >= 1.0 at 16):")
    print(" ".join([f"{'writers':>7}", *(f"{name:>13}" for name in names[:-1])]))
    for n, rates in result.by_writers.items():
        plain = rates["plain insert"]
        print(
            " ".join([f"{n:>7}", *(f"{ratio(rates[name], plain):>13.2f}" for name in names[:-1])])
        )
    print()
    print("the writing process's CPU per operation, ms (median over rounds), and the most")
    print("commands a second that CPU allows if it runs on one core (the interpreter's lock")
    print("lets one thread at a time run Python):")
    print(" ".join([f"{'writers':>7}", *(f"{name:>13}" for name in names), f"{'ceiling':>18}"]))
    for n, spent in result.cpu.items():
        each = {name: statistics.median(spent[name]) * 1000 for name in names}
        print(
            " ".join(
                [
                    f"{n:>7}",
                    *(f"{each[name]:>13.3f}" for name in names),
                    f"{1000 / each['commands']:>9,.0f} commands/s",
                ]
            )
        )


if __name__ == "__main__":
    main()
