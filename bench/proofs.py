"""``python -m bench.proofs [--quick]``: what the log's proofs cost.

Three measurements, each side by side in interleaved rounds on throwaway databases:

* **inclusion proofs as the log grows**: an inclusion proof (root and audit path, read
  from the stored nodes on an open connection) in a tree of 1,000 leaves against one of
  1,000,000 (``--quick``: 100,000), each tree in a database of its own, its leaves and
  complete nodes written as the builder writes them. Goal: within 2× (logarithmic).
* **an audit package**: a customer with 10,000 entries (``--quick``: 1,000): its package
  built (every entry with its inclusion proof, the customer's chain and head proof, the
  signed checkpoint) and verified offline by ``verify_package.py``'s procedure, each in
  entries/s against decoding the same stored entries into domain events (by batches of
  2,000, the keys of their sealed fields fetched at once, as the projection worker
  decodes), the entries already in memory. Goal: ≥ 0.3. The package built is also given
  against reading the entries from the log by batches and decoding them, as a replay does.
  The service keeps the keys of personal fields, as a running one does (while its position
  watch hears erasures), for the package and the decoding alike.
* **the command path with the tree kept up**: ``log_interaction`` commands, with the
  service's ``TreeKeeper`` in a process of its own as the projection process runs it
  (woken by the log's notifications, extending at most once per 0.1 s under load),
  against the same commands with no keeper. Goal: ≥ 0.9.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent

from application.audit_export import build
from application.personal_data import PersonalDataMapper
from application.proofs import verify_package
from application.proofs.merkle import node_hash
from application.proofs.tree import LogTree, TreeKeeper
from application.service import Fullchain
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from bench.commands import SUMMARY, _existing_relationships
from bench.database import server_conninfo, throwaway_database
from bench.stats import Rate, paired_ratio
from domain.relationship import Channel, Direction

ACTOR = "bench.user"


def fill_tree(database: Database, size: int) -> None:
    """A tree of ``size`` synthetic leaves, written as the builder writes them."""
    pending: dict[int, bytes] = {}
    leaves: list[tuple[int, int, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    for index in range(size):
        current = hashlib.sha256(b"\x00" + index.to_bytes(8, "big")).digest()
        leaves.append((index, index + 1, current))
        level, i = 0, index
        while i & 1:
            current = node_hash(pending.pop(level), current)
            level += 1
            i >>= 1
            nodes.append((level, i, current))
        pending[level] = current
    with database.connect() as conn, conn.cursor() as cursor:
        with cursor.copy("COPY fullchain_tree_leaf (idx, position, hash) FROM STDIN") as copy:
            for leaf in leaves:
                copy.write_row(leaf)
        with cursor.copy("COPY fullchain_tree_node (level, idx, hash) FROM STDIN") as copy:
            for node in nodes:
                copy.write_row(node)
        conn.commit()
        conn.execute("ANALYZE fullchain_tree_leaf")
        conn.execute("ANALYZE fullchain_tree_node")
        conn.commit()


def proof_times(database: Database, size: int, count: int, rng: random.Random) -> float:
    """The median seconds of one inclusion proof (root and path, as ``LogTree.inclusion``
    reads them) in the tree of ``size``."""
    times = []
    with database.connect() as conn:
        for _ in range(count):
            index = rng.randrange(size)
            started = time.perf_counter()
            LogTree.root_and_path(conn, index, size)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_inclusion(admin: str, big: int, rounds: int) -> None:
    small = 1_000
    rng = random.Random(7)
    with throwaway_database(admin) as small_db, throwaway_database(admin) as big_db:
        started = time.perf_counter()
        fill_tree(small_db, small)
        fill_tree(big_db, big)
        print(f"  trees of {small:,} and {big:,} leaves written in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        small_times, big_times = [], []
        for _ in range(rounds):
            small_times.append(proof_times(small_db, small, 200, rng))
            big_times.append(proof_times(big_db, big, 200, rng))
    a, b = statistics.median(small_times), statistics.median(big_times)
    print(f"  inclusion proof, tree of {small:>9,}: {a * 1e3:7.3f} ms (median of {rounds} rounds)")
    print(f"  inclusion proof, tree of {big:>9,}: {b * 1e3:7.3f} ms")
    print(f"  ratio {big:,} / {small:,}: {b / a:.2f}  (goal: within 2.0)")


def customer_with_entries(app: Fullchain, entries: int) -> UUID:
    [customer] = _existing_relationships(app, 1, seed=11)
    for _ in range(entries - 3):  # registered, contact, team: 3 entries already
        app.relationships.log_interaction(
            app.context(ACTOR),
            customer,
            interaction_id=uuid4(),
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            summary=SUMMARY,
            contact_id="c1",
        )
    return customer


def bench_package(admin: str, entries: int, rounds: int) -> None:
    key = Ed25519PrivateKey.generate()
    with throwaway_database(admin) as database:
        app = Fullchain(database)
        # The keys of personal fields kept, as in a running service: its position watch
        # hears erasures, and keys are kept while it does.
        app.personal_keys.listening(True)
        mapper = app.mapper
        assert isinstance(mapper, PersonalDataMapper)
        customer = customer_with_entries(app, entries)
        LogTree(database, app.mapper).extend()
        with database.connect() as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state "
                f"FROM {EVENTS_TABLE} WHERE originator_id = %s ORDER BY notification_id",
                (customer,),
            ).fetchall()
        built, verified, decoded, read = (
            Rate("package built", "entries/s"),
            Rate("package verified offline", "entries/s"),
            Rate("entries decoded", "entries/s"),
            Rate("entries read and decoded", "entries/s"),
        )

        def decode(chunk: list[Any]) -> None:  # as the projection worker decodes a batch
            with mapper.prefetched(bytes(r[3]) for r in chunk):
                for r in chunk:
                    mapper.to_domain_event(StoredEvent(r[0], r[1], r[2], bytes(r[3])))

        for _ in range(rounds):
            started = time.perf_counter()
            for at in range(0, len(rows), 2000):
                decode(rows[at : at + 2000])
            decoded.add(len(rows), time.perf_counter() - started)

            started = time.perf_counter()
            with database.connect() as conn:  # read from the log a batch at a time, then decoded
                after = 0
                while chunk := conn.execute(
                    "SELECT originator_id, originator_version, topic, state, notification_id "
                    f"FROM {EVENTS_TABLE} WHERE originator_id = %s AND notification_id > %s "
                    "ORDER BY notification_id LIMIT 2000",
                    (customer, after),
                    binary=True,
                ).fetchall():
                    decode(chunk)
                    after = chunk[-1][4]
            read.add(len(rows), time.perf_counter() - started)

            started = time.perf_counter()
            content = build(
                database,
                app.mapper,
                key,
                customer,
                name="bench customer",
                now=app.clock(),
                key_in_database=False,
                evidence=app.evidence,
            )
            built.add(len(rows), time.perf_counter() - started)

            with tempfile.TemporaryDirectory() as folder:
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    archive.extractall(folder)
                started = time.perf_counter()
                problems, verdict = verify_package.check(Path(folder))
                verified.add(len(rows), time.perf_counter() - started)
                assert not problems, problems
        app.close()
    for rate in (decoded, read, built, verified):
        print(f"  {rate.label:<28} {rate.median:>10,.0f} {rate.unit}  ({rate.spread()})")
    print(f"  built / decoded:    {paired_ratio(built, decoded):.2f}  (goal: ≥ 0.3)")
    print(f"  verified / decoded: {paired_ratio(verified, decoded):.2f}  (goal: ≥ 0.3)")
    print(f"  built / read and decoded: {paired_ratio(built, read):.2f}  (the same entries read "
          "from the log, as a replay reads them, then decoded)")  # fmt: skip
    print(f"  ({len(rows):,} entries of one customer; {verdict})")


def keep_tree(conninfo: str, ready: Any, stop: Any) -> None:
    """The service's ``TreeKeeper`` on the database at ``conninfo``, in this process, from
    when it sets ``ready`` until ``stop`` is set."""
    database = Database(conninfo, embedded=False)
    app = Fullchain(database)
    keeper = TreeKeeper(LogTree(database, app.mapper))
    thread = threading.Thread(target=keeper.run_forever)
    thread.start()
    ready.set()
    stop.wait()
    keeper.stop()
    thread.join()
    app.close()


def bench_commands(admin: str, seconds: float, rounds: int) -> None:
    with throwaway_database(admin) as database:
        app = Fullchain(database)
        pool = _existing_relationships(app, 64, seed=3)
        tree = LogTree(database, app.mapper)
        tree.extend()
        without, with_tree = Rate("commands", "/s"), Rate("commands, tree kept up", "/s")

        def commands(rate: Rate) -> None:
            n = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                app.relationships.log_interaction(
                    app.context(ACTOR),
                    pool[n % len(pool)],
                    interaction_id=uuid4(),
                    channel=Channel.CALL,
                    direction=Direction.OUTBOUND,
                    summary=SUMMARY,
                    contact_id="c1",
                )
                n += 1
            rate.add(n, time.perf_counter() - started)

        for round_ in range(rounds):
            # The order alternates, so that a drift within a round (the log growing, the
            # server's own work) favours neither.
            for kept in (False, True) if round_ % 2 == 0 else (True, False):
                if not kept:
                    commands(without)
                    continue
                tree.extend()
                # The keeper in a process of its own, as the service's projection process
                # runs it.
                spawn = multiprocessing.get_context("spawn")
                ready, stop = spawn.Event(), spawn.Event()
                keeping = spawn.Process(target=keep_tree, args=(database.conninfo, ready, stop))
                keeping.start()
                ready.wait()
                commands(with_tree)
                stop.set()
                keeping.join()
        app.close()
    print(f"  {without.label:<28} {without.median:>10,.0f} {without.unit}  ({without.spread()})")
    print(
        f"  {with_tree.label:<28} {with_tree.median:>10,.0f} {with_tree.unit}  "
        f"({with_tree.spread()})"
    )
    rounds_ = ", ".join(
        f"{a / b:.2f}" for a, b in zip(with_tree.per_round, without.per_round, strict=True)
    )
    print(
        f"  with / without: {paired_ratio(with_tree, without):.2f}  (goal: ≥ 0.9; rounds {rounds_})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proofs")
    parser.add_argument("--quick", action="store_true", help="small sizes, two rounds")
    args = parser.parse_args()
    admin, where = server_conninfo()
    rounds = 2 if args.quick else 5
    print(f"The log's proofs, {where}; {rounds} interleaved rounds")
    print("(1) inclusion proofs as the log grows")
    bench_inclusion(admin, 100_000 if args.quick else 1_000_000, rounds)
    print("(2) an audit package, built and verified offline")
    bench_package(admin, 1_000 if args.quick else 10_000, rounds)
    print("(3) the command path with the tree kept up")
    bench_commands(admin, 1.0 if args.quick else 5.0, rounds)


if __name__ == "__main__":
    main()
