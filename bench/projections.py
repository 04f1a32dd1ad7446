"""(b) Rebuilding the account-status read model against the library's ProjectionRunner
and against a batched loop that only decodes and tracks.

Both contenders read the whole log from the first event and produce the same read model
with the same reducer, ``projections.account_status.writer.apply_event``:

* **rebuild** — ``projections.engine.rebuild``: batches of up to 1,000 log entries, each
  batch one transaction that reads the touched rows, applies the events and writes the
  rows and the tracking position.
* **ProjectionRunner** — the library's ``eventsourcing.projection.ProjectionRunner``
  with a library-style ``Projection`` whose materialised view is a
  ``PostgresTrackingRecorder`` subclass with tables of its own (``bench_account_status``,
  ``bench_account_interaction`` and ``bench_account_interaction_day``, built ``LIKE`` the
  product's tables, indexes included). It processes one event per transaction: read the
  row, apply the event, write the row (and the interaction and its day's count, if any)
  and the tracking record.
* **batched loop** — the floor any rebuild stands on: the same worker reading the log in
  batches of the same size, decoding every entry and committing a tracking position per
  batch, with a read model that writes nothing (``DecodeOnly``). The rebuild's distance
  to it is what building the rows costs.

The library hands a projection the domain event and its position, not the server's
recording time; the library-style projection therefore uses the event's own timestamp
(taken just before the append) where the product's projection uses ``recorded_at``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

from application.service import Fullchain
from application.store.database import Database
from application.store.schema import EVENTS_TABLE, TRACKING_TABLE
from bench.stats import Rate
from domain.base import CommandContext
from domain.relationship import (
    CareActionKind,
    Channel,
    Direction,
    Relationship,
    RelationshipKind,
)
from projections.account_status.writer import COLUMNS, AccountStatusProjection, apply_event
from projections.engine import (
    BatchProjection,
    Connection,
    ProjectedEvent,
    ProjectionWorker,
    rebuild,
)

VIEW_NAME = "bench_account_status"
VIEW_TABLE = "bench_account_status"
VIEW_INTERACTIONS = "bench_account_interaction"
VIEW_DAYS = "bench_account_interaction_day"
VIEW_TRACKING = f"{VIEW_NAME}_tracking"

#: Events per bulk save. The library appends a save as one statement sent in psycopg's
#: pipeline mode, which stalls for good once a statement grows to about half a megabyte
#: (some 900 events of this size); batches stay well below that.
SAVE_BATCH_EVENTS = 250

# --- generating the log ------------------------------------------------------------------


def _script(
    relationship: Relationship, ctx: Callable[[], CommandContext], rng: random.Random
) -> None:
    """A plausible history for one relationship, about ten events."""
    relationship.add_contact(ctx(), contact_id="c1", name="Chen Jie", title="Logistics manager")
    relationship.add_contact(ctx(), contact_id="c2", name="Wang Fang", email="wang@example.com")
    relationship.assign_account_team(ctx(), field_rep=f"rep.{rng.randint(1, 40)}", office_rep=None)
    if relationship.kind is RelationshipKind.PROSPECT:
        relationship.qualify_as_target(ctx(), reason="volume on our lanes")
        relationship.record_first_business(ctx(), reference=f"SO-{rng.randint(1000, 9999)}")
    for _ in range(rng.randint(2, 6)):
        relationship.log_interaction(
            ctx(),
            interaction_id=uuid4(),
            channel=rng.choice(list(Channel)),
            direction=rng.choice(list(Direction)),
            summary="Discussed next month's allocation and the reefer surcharge.",
            contact_id=rng.choice(["c1", "c2", None]),
        )
    if rng.random() < 0.5:
        relationship.record_customer_care(
            ctx(), care_id=uuid4(), care_kind=CareActionKind.SATISFACTION_CALL, note="Happy."
        )
    if rng.random() < 0.2:
        relationship.remove_contact(ctx(), contact_id="c2")
    if rng.random() < 0.2:
        relationship.mark_dormant(ctx(), reason="no bookings this quarter")


def generate_log(database: Database, events: int, *, seed: int = 7) -> int:
    """Append at least ``events`` relationship events, saved in bulk; return how many."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    app = Fullchain(database, cache_size=1)
    app.personal_keys.listening(True)  # keys kept: nothing is erased while it writes
    written = 0
    try:
        batch: list[Relationship] = []
        pending = 0
        i = 0
        while written + pending < events:
            i += 1
            when = now - timedelta(days=rng.randint(1, 400))

            def ctx(when: datetime = when) -> CommandContext:
                return CommandContext.issue(actor="bench.seed", now=now, occurred_at=when)

            relationship = Relationship.register(
                ctx(),
                name=f"Shipper {i}",
                kind=rng.choice([RelationshipKind.PROSPECT, RelationshipKind.CUSTOMER]),
                industry=rng.choice(["retail", "automotive", "chemicals", "electronics"]),
                region=rng.choice(["east", "south", "north"]),
                branch=f"branch-{rng.randint(1, 12)}",
            )
            _script(relationship, ctx, rng)
            pending += len(relationship.pending_events)
            batch.append(relationship)
            if pending >= SAVE_BATCH_EVENTS:
                app.save(*batch)
                written += pending
                batch, pending = [], 0
        if batch:
            app.save(*batch)
            written += pending
    finally:
        app.close()
    return written


def log_extent(database: Database) -> tuple[int, int]:
    """How many entries the log holds, and the last notification id."""
    with database.connect(autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*), max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0]), int(row[1] or 0)


# --- the library-style projection ----------------------------------------------------


class AccountStatusView(PostgresTrackingRecorder):
    """The account-status read model as the library's materialised views are written."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        for table, like in (
            (VIEW_TABLE, "account_status"),
            (VIEW_INTERACTIONS, "account_interaction"),
            (VIEW_DAYS, "account_interaction_day"),
        ):
            self.sql_create_statements.append(
                SQL("CREATE TABLE IF NOT EXISTS {0}.{1} (LIKE {0}.{2} INCLUDING ALL)").format(
                    Identifier(self.datastore.schema), Identifier(table), Identifier(like)
                )
            )
        self._select = SQL("SELECT {0} FROM {1} WHERE relationship_id = %s").format(
            SQL(", ").join(Identifier(c) for c in COLUMNS), Identifier(VIEW_TABLE)
        )
        self._upsert = SQL(
            "INSERT INTO {0} ({1}) VALUES ({2}) ON CONFLICT (relationship_id) DO UPDATE SET {3}"
        ).format(
            Identifier(VIEW_TABLE),
            SQL(", ").join(Identifier(c) for c in COLUMNS),
            SQL(", ").join(SQL("%({})s").format(SQL(c)) for c in COLUMNS),
            SQL(", ").join(SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in COLUMNS[1:]),
        )
        self._insert_interaction = SQL(
            "INSERT INTO {0} (relationship_id, interaction_id, happened_at, channel) "
            "VALUES (%s, %s, %s, %s)"
        ).format(Identifier(VIEW_INTERACTIONS))
        self._add_day = SQL(
            "INSERT INTO {0} (relationship_id, day, interactions) "
            "VALUES (%s, (%s::timestamptz AT TIME ZONE 'UTC')::date, 1) "
            "ON CONFLICT (relationship_id, day) DO UPDATE SET interactions = {0}.interactions + 1"
        ).format(Identifier(VIEW_DAYS))
        self.processed = 0
        self.last_processed_at = 0.0

    def project(self, event: Any, tracking: Tracking) -> None:
        """Apply one event and record its tracking position, in one transaction."""
        item = ProjectedEvent(tracking.notification_id, event.timestamp, event)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._select, (event.originator_id,), prepare=True)
            row = apply_event(curs.fetchone(), item)
            if row is not None:
                curs.execute(self._upsert, row, prepare=True)
            if isinstance(event, Relationship.InteractionLogged):
                curs.execute(
                    self._insert_interaction,
                    (event.originator_id, event.interaction_id, event.occurred_at, event.channel),
                    prepare=True,
                )
                curs.execute(self._add_day, (event.originator_id, event.occurred_at), prepare=True)
            self._insert_tracking(curs, tracking)
        self.processed += 1
        self.last_processed_at = time.perf_counter()


class AccountStatusLibraryProjection(Projection[AccountStatusView]):
    name = VIEW_NAME

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.project(domain_event, tracking)


class FullchainLog(Application[UUID]):
    """The product's log as the runner reads it: an application named ``fullchain``
    (table ``fullchain_events``) constructed from the environment."""

    name = Fullchain.name


def runner_env(database: Database) -> dict[str, str]:
    env = database.eventsourcing_env()
    # The product's schema owns the events table; only the view creates its tables.
    env["CREATE_TABLE"] = "no"
    env[f"{VIEW_NAME.upper()}_CREATE_TABLE"] = "yes"
    return env


def _reset_view(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (VIEW_TRACKING,)).fetchone()
        if exists and exists[0]:
            conn.execute(f"TRUNCATE {VIEW_TABLE}, {VIEW_INTERACTIONS}, {VIEW_DAYS}")
            conn.execute(
                f"DELETE FROM {VIEW_TRACKING} WHERE application_name = %s", (FullchainLog.name,)
            )


def check_library_prerequisites(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        row = conn.execute("SELECT to_regtype('stored_event_uuid') IS NOT NULL").fetchone()
    if not row or not row[0]:
        msg = "the composite type stored_event_uuid is missing; the library cannot read the log"
        raise RuntimeError(msg)


# --- measuring -------------------------------------------------------------------------


class DecodeOnly(BatchProjection):
    """A read model of nothing: the worker still reads, decodes and tracks every batch."""

    name = "bench_decode_only"
    tables: tuple[str, ...] = ()

    def handles(self, topic: str) -> bool:
        return True

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        return None


@dataclass
class ProjectionResults:
    rebuild: Rate
    runner: Rate
    floor: Rate
    events: int


def _time_rebuild(database: Database, mapper: Mapper[UUID]) -> tuple[int, float]:
    worker = ProjectionWorker(database, AccountStatusProjection(), mapper)
    started = time.perf_counter()
    count = rebuild(worker)
    return count, time.perf_counter() - started


def _time_floor(database: Database, mapper: Mapper[UUID]) -> tuple[int, float]:
    worker = ProjectionWorker(database, DecodeOnly(), mapper)
    with worker.connect() as conn:
        conn.execute(
            f"DELETE FROM {TRACKING_TABLE} WHERE application_name = %s", (DecodeOnly.name,)
        )
        started = time.perf_counter()
        count = worker.catch_up(conn)
        return count, time.perf_counter() - started


def _time_runner(database: Database, last_id: int, timeout: float) -> tuple[int, float]:
    _reset_view(database)
    started = time.perf_counter()
    runner = ProjectionRunner(
        application_class=FullchainLog,
        projection_class=AccountStatusLibraryProjection,
        view_class=AccountStatusView,
        env=runner_env(database),
    )
    try:
        with runner:
            runner.wait(last_id, timeout=timeout)
    finally:
        runner.view.datastore.close()
    # The runner's wait polls with a back-off of up to 0.8 s; the view itself knows
    # when it committed the last event.
    return runner.view.processed, runner.view.last_processed_at - started


def measure(
    database: Database,
    *,
    rounds: int,
    events: int,
    progress: Callable[[str], None] = print,
) -> ProjectionResults:
    check_library_prerequisites(database)
    written = generate_log(database, events)
    count, last_id = log_extent(database)
    progress(f"  log: {written:,} events generated, {count:,} entries in total")
    rebuild_rate = Rate("rebuild", "ev/s")
    runner_rate = Rate("ProjectionRunner", "ev/s")
    floor_rate = Rate("batched loop", "ev/s")
    # Bounded: even at 50 events/s the runner finishes well inside this.
    timeout = max(60.0, count / 50)
    log_reader = FullchainLog(runner_env(database))
    contenders: list[tuple[Rate, Callable[[], tuple[int, float]]]] = [
        (rebuild_rate, lambda: _time_rebuild(database, log_reader.mapper)),
        (runner_rate, lambda: _time_runner(database, last_id, timeout)),
        (floor_rate, lambda: _time_floor(database, log_reader.mapper)),
    ]
    try:
        _run_rounds(rounds, contenders, count, progress)
    finally:
        log_reader.close()
    _check_same_model(database)
    return ProjectionResults(rebuild_rate, runner_rate, floor_rate, count)


def _run_rounds(
    rounds: int,
    contenders: list[tuple[Rate, Callable[[], tuple[int, float]]]],
    count: int,
    progress: Callable[[str], None],
) -> None:
    for r in range(rounds):
        order = contenders if r % 2 == 0 else contenders[::-1]
        line = []
        for rate, run in order:
            processed, seconds = run()
            if processed != count:
                msg = f"{rate.label} processed {processed} of {count} log entries"
                raise RuntimeError(msg)
            value = rate.add(processed, seconds)
            line.append(f"{rate.label} {value:,.0f}")
        progress(f"  round {r + 1}/{rounds}: " + ", ".join(line) + " ev/s")


def _rows(database: Database, table: str) -> Iterator[tuple[Any, ...]]:
    columns = [c for c in COLUMNS if c not in ("registered_at", "updated_at")]
    with database.connect(autocommit=True) as conn:
        yield from conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1")


def _check_same_model(database: Database) -> None:
    """Both contenders must have built the same read model (recording times aside)."""
    if list(_rows(database, "account_status")) != list(_rows(database, VIEW_TABLE)):
        msg = "rebuild and ProjectionRunner built different account-status models"
        raise RuntimeError(msg)
