"""Every read model is a function of the log alone.

The demo's year — relationships, staff, shipments with incidents, claims and charges,
offerings, opportunities, service cases — is projected by every read model of
``interface.runtime.all_projections`` once in a single batch (the reference), then again
for several seeds in batches of random sizes, with workers killed at random points: an
exception inside ``apply_batch`` or a connection closed under it (the batch rolls back),
after which a worker resumes from the tracking position — the same projection object, with
the caches it kept between batches (a worker that reconnected), a new one (a new process),
or one that stood by since an earlier death. Every table of every read model must end
identical to the reference, every row and every column.

The seed is in the test id: ``pytest 'tests/test_read_model_batches.py::test_...[seed-3]'``
replays the same batches and deaths. (The demo's aggregate ids are drawn afresh each run,
so a failure that depends on them, such as the order of a set of ids, may need a few runs.)
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Mapper

from application.store.database import Database
from application.store.schema import TRACKING_TABLE
from interface.demo import load_demo
from interface.runtime import Services, all_projections
from projections.engine import (
    BatchProjection,
    Connection,
    ProjectionWorker,
    rebuild,
    tracking_position,
)
from projections.snapshots.writer import INTERVAL_VARIABLE
from tests.conftest import truncate_all

#: The demo's "today"; any fixed moment does.
NOW = datetime(2025, 6, 18, 9, 30, tzinfo=UTC)
#: Snapshots every few versions, so that many are taken, from caches and from the log.
SNAPSHOT_INTERVAL = 3
SEEDS = range(6)
#: The largest batch; the demo's log has some 3,000 entries.
MAX_BATCH = 1000
#: How often a worker dies in a batch.
DEATH_RATE = 0.15

Tables = dict[str, list[str]]


class Killed(Exception):
    """The worker's process dies here."""


def projections(mapper: Mapper[Any]) -> dict[str, BatchProjection]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INTERVAL_VARIABLE, str(SNAPSHOT_INTERVAL))
        return {p.name: p for p in all_projections(mapper)}


def tables_of(database: Database, projection: BatchProjection) -> Tables:
    """Each table's rows as JSON text (every column, numerics with their scale; binary
    columns as escaped text, to be readable in a failure), sorted."""
    tables: Tables = {}
    with database.connect(autocommit=True) as conn:
        for table in projection.tables:
            binary = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = %s "
                    "AND data_type = 'bytea'",
                    (table,),
                ).fetchall()
            ]
            row_json = "to_jsonb(t)" + "".join(
                f" || jsonb_build_object('{c}', encode(t.{c}, 'escape'))" for c in binary
            )
            tables[table] = sorted(
                row[0] for row in conn.execute(f"SELECT ({row_json})::text FROM {table} t")
            )
    return tables


def parting(a: str, b: str) -> int:
    """Where two rows part ways."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def differences(expected: Tables, actual: Tables) -> str:
    lines = []
    for table, rows in expected.items():
        missing = Counter(rows) - Counter(actual[table])
        extra = Counter(actual[table]) - Counter(rows)
        if missing or extra:
            lines.append(f"{table}: {len(missing)} rows of the rebuild missing, {len(extra)} else")
            for want, got in itertools.zip_longest(sorted(missing)[:3], sorted(extra)[:3]):
                at = parting(want or "", got or "")
                lines.append(f"  rebuild: …{(want or '')[max(at - 300, 0) : at + 200]}")
                lines.append(f"  batches: …{(got or '')[max(at - 300, 0) : at + 200]}")
    return "\n".join(lines)


@dataclass
class Demo:
    services: Services
    #: Per read model, its tables after one rebuild in a single batch.
    reference: dict[str, Tables]
    head: int


@pytest.fixture(scope="module")
def demo(database: Database) -> Iterator[Demo]:
    truncate_all(database)
    services = Services.open(database)
    try:
        load_demo(services, now=NOW)
        with database.connect(autocommit=True) as conn:
            row = conn.execute("SELECT max(notification_id) FROM fullchain_events").fetchone()
        assert row is not None
        head = int(row[0])
        reference = {}
        for name, projection in projections(services.app.mapper).items():
            worker = ProjectionWorker(
                database, projection, services.app.mapper, batch_size=head + 1
            )
            assert rebuild(worker) == head
            reference[name] = tables_of(database, projection)
        yield Demo(services, reference, head)
    finally:
        services.close()
        truncate_all(database)


class KillingConnection:
    """The worker's connection, as ``apply_batch`` sees it: the ``calls``-th database call
    (counting from 0) dies — an exception, or the connection closed under it."""

    def __init__(self, conn: Connection, calls: int, close: bool) -> None:
        self._conn = conn
        self._left = calls
        self._close = close

    def tick(self) -> None:
        if self._left == 0:
            if self._close:
                self._conn.close()  # the call itself fails: OperationalError
            else:
                raise Killed
        self._left -= 1

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.tick()
        return self._conn.execute(*args, **kwargs)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        return KillingCursor(self, self._conn.cursor(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class KillingCursor:
    def __init__(self, conn: KillingConnection, cursor: Any) -> None:
        self._killer = conn
        self._cursor = cursor

    def __enter__(self) -> KillingCursor:
        self._cursor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._cursor.__exit__(*exc)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._killer.tick()
        return self._cursor.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._killer.tick()
        return self._cursor.executemany(*args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        self._killer.tick()
        return self._cursor.copy(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class Dying(BatchProjection):
    """A projection whose next ``apply_batch`` dies at a database call or, when it makes
    fewer calls, right after it (the rows written and the caches moved on, uncommitted)."""

    def __init__(self, inner: BatchProjection, calls: int, close: bool) -> None:
        self.inner = inner
        self.name = inner.name
        self.migration = inner.migration
        self.tables = inner.tables
        self.calls = calls
        self.close = close

    def handles(self, topic: str) -> bool:
        return self.inner.handles(topic)

    def apply_batch(self, conn: Connection, events: Any) -> None:
        killing = KillingConnection(conn, self.calls, self.close)
        self.inner.apply_batch(killing, events)  # type: ignore[arg-type]
        if self.close:
            conn.close()
        raise Killed


def batch_size(rng: random.Random) -> int:
    """1 to ``MAX_BATCH`` log entries, as many batches of 1 to 9 as of 10 to 99 and so on:
    boundaries everywhere, and a run that stays short."""
    return min(int(math.exp(rng.uniform(0, math.log(MAX_BATCH + 1)))), MAX_BATCH)


def project_with_kills(
    database: Database, mapper: Mapper[Any], name: str, rng: random.Random
) -> int:
    """Project the whole log into the emptied read model ``name`` in random batches with
    random deaths; return how many workers died.

    After a death the work goes on in the same projection object (a worker that
    reconnected: its caches may be ahead of what was committed), in a new one (a new
    process: no caches), or in one that stood by since an earlier death (its caches
    behind)."""
    workers = [projections(mapper)[name]]
    projection = workers[0]
    conn = database.connect(autocommit=True)
    deaths = 0
    try:
        while True:
            dies = rng.random() < DEATH_RATE
            batch: BatchProjection = projection
            if dies:
                # At the first to sixth database call of apply_batch, or after its last.
                batch = Dying(projection, rng.choice([0, 1, 2, 3, 5, 99]), rng.random() < 0.3)
            worker = ProjectionWorker(database, batch, mapper, batch_size=batch_size(rng))
            try:
                if worker.process_batch(conn) == 0:
                    return deaths
            except (Killed, psycopg.Error):
                assert dies
                deaths += 1
                if conn.closed or rng.random() < 0.5:
                    conn.close()
                    conn = database.connect(autocommit=True)
                if rng.random() < 0.3:
                    workers.append(projections(mapper)[name])
                projection = rng.choice(workers)
    finally:
        conn.close()


def empty(database: Database, projection: BatchProjection) -> None:
    with database.connect(autocommit=True) as conn, conn.transaction():
        conn.execute(f"TRUNCATE {', '.join(projection.tables)}")
        conn.execute(
            f"DELETE FROM {TRACKING_TABLE} WHERE application_name = %s", (projection.name,)
        )


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed-{seed}")
def test_every_read_model_is_the_same_whatever_its_batches_and_deaths(
    demo: Demo, database: Database, seed: int
) -> None:
    mapper = demo.services.app.mapper
    rng = random.Random(seed)
    found = []
    for name, projection in projections(mapper).items():
        empty(database, projection)
        deaths = project_with_kills(database, mapper, name, rng)
        with database.connect(autocommit=True) as conn:
            assert tracking_position(conn, name) == demo.head
        actual = tables_of(database, projection)
        if actual != demo.reference[name]:
            found.append(
                f"{name} ({deaths} workers died):\n" + differences(demo.reference[name], actual)
            )
    assert not found, f"seed {seed}: " + "\n".join(found)
