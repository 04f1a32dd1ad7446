"""(a) The command path against a raw single-row insert.

Three contenders run in interleaved rounds on the same database:

* **command path** — ``Fullchain.log_interaction`` on an existing relationship, as the
  API calls it: a command context is issued, the aggregate is loaded (from the
  application's aggregate cache), the domain decides, one event is saved.
* **raw insert** — a psycopg loop doing one ``INSERT`` of a row of the same size as the
  stored event, then ``COMMIT``, per iteration: the floor that any write path pays.
* **library default** — the same command through the same application, but with the
  library's default repository, which has no aggregate cache: each command reads the
  aggregate's events back from the database before deciding.

The command path and the library-default path each work on a pool of relationships of
their own (registered with a contact and an account team), so neither invalidates the
other's cached state and both aggregates grow alike over the rounds.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.utils import Environment, EnvType

from application.service import Fullchain
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from bench.stats import Rate
from domain.relationship import Channel, Direction, Relationship, RelationshipKind

RAW_TABLE = "bench_raw"
RAW_INSERT = (
    f"INSERT INTO {RAW_TABLE} (originator_id, version, topic, state) VALUES (%s, %s, %s, %s)"
)
SUMMARY = "Called about the weekly container allocation Shanghai-Hamburg; confirmed the rate."
ACTOR = "bench.user"

Connection = psycopg.Connection[tuple[Any, ...]]


class LibraryDefaultFullchain(Fullchain):
    """The product's application with the library's default repository settings.

    ``Fullchain`` configures an aggregate cache; the library's default is none (the
    ``AGGREGATE_CACHE_*`` settings unset), so every command reconstructs the aggregate
    from its stored events. Passing ``cache_size=0`` to ``Fullchain`` would not do this:
    the library reads a size of 0 as an *unbounded* cache.
    """

    name = Fullchain.name  # the same log (the library names an application by its class)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        environment = super().construct_env(name, env)
        for key in list(environment):
            if key.endswith(("AGGREGATE_CACHE_MAXSIZE", "AGGREGATE_CACHE_FASTFORWARD")):
                del environment[key]
        return environment


@dataclass
class CommandResults:
    command: Rate
    raw: Rate
    library: Rate
    ops: int
    relationships: int
    event_bytes: int
    library_has_cache: bool
    profile: str | None = None


def _existing_relationships(app: Fullchain, count: int, seed: int) -> list[UUID]:
    """Register ``count`` customers, each with a contact and an account team."""
    rng = random.Random(seed)
    ids: list[UUID] = []
    batch: list[Relationship] = []
    for i in range(count):
        ctx = app.context(ACTOR)
        relationship = Relationship.register(
            ctx,
            name=f"Customer {seed}-{i}",
            kind=RelationshipKind.CUSTOMER,
            industry=rng.choice(["retail", "automotive", "chemicals", "electronics"]),
            region=rng.choice(["east", "south", "north"]),
            branch=f"branch-{rng.randint(1, 12)}",
        )
        relationship.add_contact(ctx, contact_id="c1", name="Li Wei", email="li.wei@example.com")
        relationship.assign_account_team(ctx, field_rep="rep.zhang", office_rep="desk.wang")
        ids.append(relationship.id)
        batch.append(relationship)
        if len(batch) == 50:  # small appends: see projections.SAVE_BATCH_EVENTS
            app.save(*batch)
            batch.clear()
    if batch:
        app.save(*batch)
    return ids


def _command_loop(app: Fullchain, pool: list[UUID]) -> Callable[[int, int], None]:
    def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            app.relationships.log_interaction(
                app.context(ACTOR),
                pool[i % len(pool)],
                interaction_id=uuid4(),
                channel=Channel.CALL,
                direction=Direction.OUTBOUND,
                summary=SUMMARY,
                contact_id="c1",
            )

    return run


def raw_insert_loop(conn: Connection, row_bytes: int) -> Callable[[int, int], None]:
    """Create the raw table; return the loop that inserts ``n`` rows of ``row_bytes``
    bytes, each one autocommit ``INSERT``: one round trip, the least a durable write costs
    (``start`` is unused). ``conn`` is switched to autocommit."""
    payload = (b'{"_pad_":"' + b"x" * row_bytes)[: row_bytes - 2] + b'"}'
    conn.execute(
        f"CREATE TABLE {RAW_TABLE} (id bigserial PRIMARY KEY, originator_id uuid, "
        "version bigint, topic text, state bytea)"
    )
    conn.commit()
    conn.autocommit = True
    raw_version = 0

    def run(_start: int, n: int) -> None:
        nonlocal raw_version
        for _ in range(n):
            raw_version += 1
            conn.execute(RAW_INSERT, (uuid4(), raw_version, "Bench.Raw", payload))

    return run


def _event_size(database: Database) -> int:
    with database.connect(autocommit=True) as conn:
        row = conn.execute(
            f"SELECT avg(length(state))::int FROM {EVENTS_TABLE} WHERE topic = %s",
            ("Relationship.InteractionLogged",),
        ).fetchone()
    return int(row[0]) if row and row[0] else 400


def measure(
    database: Database,
    *,
    rounds: int,
    ops: int,
    relationships: int,
    profile: bool = False,
    progress: Callable[[str], None] = print,
) -> CommandResults:
    command = Rate("command path", "ops/s")
    raw = Rate("raw insert", "ops/s")
    library = Rate("library default path", "ops/s")

    app = Fullchain(database)
    library_app = LibraryDefaultFullchain(database)
    raw_conn = database.connect()
    try:
        library_has_cache = library_app.repository.cache is not None
        pool = _existing_relationships(app, relationships, seed=1)
        library_pool = _existing_relationships(library_app, relationships, seed=2)
        run_command = _command_loop(app, pool)
        run_library = _command_loop(library_app, library_pool)

        # Warm up: touch every relationship once (fills the aggregate cache, as on a
        # running server), let psycopg prepare its statements.
        run_command(0, len(pool))
        run_library(0, len(library_pool))
        event_bytes = _event_size(database)
        run_raw = raw_insert_loop(raw_conn, event_bytes)
        run_raw(0, max(ops // 5, 20))

        contenders: list[tuple[Rate, Callable[[int, int], None]]] = [
            (command, run_command),
            (raw, run_raw),
            (library, run_library),
        ]
        done = len(pool)
        for r in range(rounds):
            # Rotate who goes first, so drift on a shared machine favours no one.
            order = contenders[r % 3 :] + contenders[: r % 3]
            line = []
            for rate, run in order:
                started = time.perf_counter()
                run(done, ops)
                value = rate.add(ops, time.perf_counter() - started)
                line.append(f"{rate.label} {value:,.0f}")
            done += ops
            progress(f"  round {r + 1}/{rounds}: " + ", ".join(line) + " ops/s")

        profile_text = None
        if profile:
            profile_text = _profile(lambda: run_command(done, ops))
        return CommandResults(
            command=command,
            raw=raw,
            library=library,
            ops=ops,
            relationships=relationships,
            event_bytes=event_bytes,
            library_has_cache=library_has_cache,
            profile=profile_text,
        )
    finally:
        raw_conn.close()
        library_app.close()
        app.close()


#: Where a command's time goes: (label, file suffix, function) of the profiled calls.
PROFILE_PARTS = (
    ("load from the aggregate cache (incl. deep copy)", "eventsourcing/application.py", "get"),
    ("decide (domain method)", "domain/relationship.py", "log_interaction"),
    ("encode the event", "eventsourcing/persistence.py", "to_stored_event"),
    ("append (library insert_events)", "eventsourcing/postgres.py", "insert_events"),
    ("  of which waiting on the server", "psycopg/connection.py", "wait"),
)


def _profile(run: Callable[[], Any]) -> str:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    run()
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    lines = [f"one round under the profiler: {elapsed:.2f} s; cumulative time per part:"]
    for label, suffix, function in PROFILE_PARTS:
        cumulative = max(
            (
                entry[3]
                for (filename, _line, name), entry in entries.items()
                if filename.endswith(suffix) and name == function
            ),
            default=0.0,
        )
        lines.append(f"  {label:<50} {cumulative:6.3f} s  {100 * cumulative / elapsed:5.1f} %")
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    return "\n".join(lines) + "\n" + out.getvalue()
