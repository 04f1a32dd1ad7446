"""``python -m bench.history``: what auditors wait for.

(c) A customer's history with ``--history-events`` events (default 100,000: the
relationship's own events and those of its shipments), in a log that also holds other
customers' events, read over HTTP:

* **first page** (100 entries) of that customer against the first page of a customer
  with about 1,000 events in the same log: the index makes the first page cost the same
  whatever the length of the history (goal: ratio >= 0.5).
* **full stream**: every entry, in pages of 1,000 following the cursor, against reading
  and decoding the same events straight from the log by their aggregate ids (the least
  any reader does; no index, no JSON, no HTTP). The ratio shows what the index join, the
  JSON conversion and HTTP cost on top.

(d) A relationship with ``--stream-events`` events (default 10,000): its state at a
version deep in the stream (the last ``interval`` versions, interval 100), restored from
the nearest snapshot against replayed from the first event, both through
``TimeTravel.state`` (goal: ratio >= 10).

Every figure is a median over interleaved rounds (the order of the contenders alternates
from round to round) in one run, against one throwaway database (see ``bench.database``).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from application.service import Fullchain
from application.store.database import Database
from application.time_travel import TimeTravel
from bench.branches import register_branches
from bench.database import server_conninfo, server_version, throwaway_database
from bench.stats import Rate, paired_ratio, ratio
from domain.base import CommandContext
from domain.liability import TransportMode
from domain.relationship import Channel, Direction, Relationship, RelationshipKind
from domain.shipment import Cargo, Condition, LinkFunction, LinkPlan, Party, Shipment
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from projections.history.writer import HistoryProjection
from projections.snapshots.writer import SnapshotProjection

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

FIRST_PAGE_GOAL = 0.5
SNAPSHOT_GOAL = 10.0
SNAPSHOT_INTERVAL = 100
PAGE = 100
STREAM_PAGE = 1000
SMALL_CUSTOMER_EVENTS = 1_000
#: Events per save; appends stay well below the sizes where a single statement gets slow.
SAVE_BATCH_EVENTS = 250
DAY_ONE = datetime(2025, 1, 6, tzinfo=UTC)


@dataclass(frozen=True)
class Sizes:
    rounds: int
    history_events: int
    stream_events: int
    page_reads: int
    state_reads: int


FULL = Sizes(rounds=5, history_events=100_000, stream_events=10_000, page_reads=20, state_reads=20)
QUICK = Sizes(rounds=3, history_events=3_000, stream_events=1_000, page_reads=5, state_reads=5)


# --- generating the log ----------------------------------------------------------------------


class Writer:
    """Saves aggregates in batches of about ``SAVE_BATCH_EVENTS`` events."""

    def __init__(self, app: Fullchain) -> None:
        self.app = app
        self.pending: list[Aggregate] = []
        self.written = 0

    def add(self, aggregate: Aggregate) -> None:
        if all(other is not aggregate for other in self.pending):
            self.pending.append(aggregate)
        if self._events() >= SAVE_BATCH_EVENTS:
            self.flush()

    def flush(self) -> None:
        events = self._events()
        if events:
            self.app.save(*self.pending)
            self.written += events
        self.pending = []

    def _events(self) -> int:
        return sum(len(aggregate.pending_events) for aggregate in self.pending)


class Clock:
    """Business time that moves forward an hour per event."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.now = DAY_ONE

    def __call__(self) -> CommandContext:
        self.now += timedelta(hours=1)
        return CommandContext.issue(actor=self.actor, now=self.now, occurred_at=self.now)


def register(writer: Writer, clock: Clock, name: str, kind: RelationshipKind) -> Relationship:
    relationship = Relationship.register(
        clock(),
        name=name,
        kind=kind,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    )
    writer.add(relationship)
    return relationship


def interactions(writer: Writer, clock: Clock, relationship: Relationship, count: int) -> None:
    for _ in range(count):
        relationship.log_interaction(
            clock(),
            interaction_id=uuid4(),
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            summary="weekly call about volumes on the Suzhou–Chicago lane",
        )
        if len(relationship.pending_events) >= SAVE_BATCH_EVENTS:
            writer.add(relationship)
            writer.flush()
    writer.add(relationship)


def shipment(clock: Clock, customer_id: UUID, airline: UUID, agent: UUID) -> Shipment:
    """A three-link air shipment carried to delivery: ten events."""
    start = clock.now
    links = [
        LinkPlan(
            LinkFunction.PICKUP,
            Party.our_branch("Suzhou"),
            start,
            start + timedelta(hours=6),
            TransportMode.ROAD,
        ),
        LinkPlan(
            LinkFunction.MAIN_CARRIAGE,
            Party.partner(airline),
            start + timedelta(hours=6),
            start + timedelta(hours=30),
            TransportMode.AIR,
        ),
        LinkPlan(
            LinkFunction.DELIVERY,
            Party.partner(agent),
            start + timedelta(hours=30),
            start + timedelta(hours=40),
            TransportMode.ROAD,
        ),
    ]
    s = Shipment.book(
        clock(),
        customer_id=customer_id,
        reference=f"SZX-{uuid4().hex[:8]}",
        origin="Suzhou Industrial Park, CN",
        destination="Chicago, IL, US",
        cargo=Cargo("laptop computers", 120, Decimal("1800"), Decimal("480000"), "USD"),
        links=links,
        partner_kinds={airline: "partner", agent: "partner"},
    )
    for sequence in (1, 2, 3):
        if sequence > 1:
            s.complete_link(clock(), sequence=sequence - 1)
        s.start_link(clock(), sequence=sequence)
        s.hand_over(clock(), to_sequence=sequence, condition=Condition.GOOD, signed_by="dock")
    s.deliver(clock(), condition=Condition.GOOD, signed_by="receiving", proof_of_delivery="POD")
    return s


def customer_with_history(
    writer: Writer, clock: Clock, name: str, events: int, airline: UUID, agent: UUID
) -> UUID:
    """A customer with about ``events`` events: shipments (ten each) and calls."""
    customer = register(writer, clock, name, RelationshipKind.CUSTOMER)
    shipments = events * 85 // 100 // 10
    for _ in range(shipments):
        writer.add(shipment(clock, customer.id, airline, agent))
    interactions(writer, clock, customer, max(0, events - 1 - shipments * 10))
    writer.flush()
    return customer.id


@dataclass(frozen=True)
class HistoryLog:
    big: UUID
    small: UUID
    big_events: int
    small_events: int
    total_events: int


# --- measuring ---------------------------------------------------------------------------------


def timed(action: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = action()
    return count, time.perf_counter() - started


def interleaved(rounds: int, contenders: list[tuple[Rate, Callable[[], int]]]) -> None:
    for round_ in range(rounds):
        order = contenders if round_ % 2 == 0 else list(reversed(contenders))
        for rate, action in order:
            count, seconds = timed(action)
            rate.add(count, seconds)


@dataclass
class HistoryResults:
    log: HistoryLog
    index_rate: float
    first_big: Rate
    first_small: Rate
    stream: Rate
    floor: Rate


def measure_history(
    services: Services, client: TestClient, sizes: Sizes, progress: Callable[[str], None]
) -> HistoryResults:
    progress(f"    generating a log with a {sizes.history_events:,}-event customer …")
    started = time.perf_counter()
    app = services.app
    customers, written = generate_history_log(app, sizes.history_events)
    progress(f"    {written:,} events written in {time.perf_counter() - started:.0f} s; indexing …")
    count, seconds = timed(lambda: services.worker(HistoryProjection()).catch_up())
    log = history_log(services, customers, written)
    progress(
        f"    history index: {count:,} log entries in {seconds:.1f} s; "
        f"customer {log.big_events:,} events, small customer {log.small_events:,}"
    )

    def first_page(customer: UUID) -> Callable[[], int]:
        def read() -> int:
            for _ in range(sizes.page_reads):
                response = client.get(
                    f"/v1/relationships/{customer}/history", params={"limit": PAGE}
                )
                assert response.status_code == 200, response.text
                assert len(response.json()["items"]) == PAGE
            return sizes.page_reads

        return read

    def stream() -> int:
        entries, cursor = 0, None
        while True:
            params: dict[str, Any] = {"limit": STREAM_PAGE}
            if cursor:
                params["cursor"] = cursor
            response = client.get(f"/v1/relationships/{log.big}/history", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            entries += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                assert entries == log.big_events
                return entries

    aggregate_ids = owned_aggregates(services, log.big)

    def floor() -> int:
        with services.database.connect() as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state "
                "FROM fullchain_events WHERE originator_id = ANY(%s) ORDER BY notification_id",
                (aggregate_ids,),
            ).fetchall()
        for originator_id, v, topic, state in rows:
            app.mapper.to_domain_event(StoredEvent(originator_id, v, topic, bytes(state)))
        return len(rows)

    results = HistoryResults(
        log,
        count / seconds,
        Rate("first page, big customer", "pages/s"),
        Rate("first page, small customer", "pages/s"),
        Rate("full stream over HTTP", "ev/s"),
        Rate("decode from the log", "ev/s"),
    )
    progress(f"    {sizes.rounds} rounds: first pages ({sizes.page_reads} reads each), streams")
    interleaved(
        sizes.rounds,
        [(results.first_big, first_page(log.big)), (results.first_small, first_page(log.small))],
    )
    interleaved(sizes.rounds, [(results.stream, stream), (results.floor, floor)])
    return results


def generate_history_log(app: Fullchain, events: int) -> tuple[list[UUID], int]:
    writer = Writer(app)
    clock = Clock("ops.wang")
    airline = register(writer, clock, "China Eastern Cargo", RelationshipKind.PARTNER).id
    agent = register(writer, clock, "Lakeshore Customs & Logistics", RelationshipKind.PARTNER).id
    big = customer_with_history(writer, clock, "苏州华芯电子有限公司", events, airline, agent)
    small = customer_with_history(
        writer, clock, "昆山精密机械有限公司", SMALL_CUSTOMER_EVENTS, airline, agent
    )
    for i in range(max(1, events // 10 // 100)):  # other customers: a tenth of the volume
        customer_with_history(writer, clock, f"Customer {i}", 100, airline, agent)
    writer.flush()
    return [big, small], writer.written


def history_log(services: Services, customers: list[UUID], total: int) -> HistoryLog:
    big, small = customers
    with services.database.connect() as conn:
        counts = dict(
            conn.execute(
                "SELECT relationship_id, count(*) FROM history_index "
                "WHERE relationship_id = ANY(%s) GROUP BY relationship_id",
                ([big, small],),
            ).fetchall()
        )
    return HistoryLog(big, small, int(counts[big]), int(counts[small]), total)


def owned_aggregates(services: Services, relationship_id: UUID) -> list[UUID]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT aggregate_id FROM aggregate_owner WHERE relationship_id = %s",
            (relationship_id,),
        ).fetchall()
    return [row[0] for row in rows]


@dataclass
class StateResults:
    events: int
    snapshots: int
    snapshot_rate: float
    versions: list[int]
    with_snapshots: Rate
    replayed: Rate


def measure_state(
    services: Services, sizes: Sizes, progress: Callable[[str], None]
) -> StateResults:
    progress(f"    generating a relationship with {sizes.stream_events:,} events …")
    writer = Writer(services.app)
    clock = Clock("care.li")
    relationship = register(writer, clock, "苏州新锐光电有限公司", RelationshipKind.CUSTOMER)
    interactions(writer, clock, relationship, sizes.stream_events - 1)
    writer.flush()
    projection = SnapshotProjection(services.app.mapper, interval=SNAPSHOT_INTERVAL)
    count, seconds = timed(lambda: services.worker(projection).catch_up())
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM fullchain_snapshots WHERE originator_id = %s",
            (relationship.id,),
        ).fetchone()
    taken = int(row[0]) if row else 0
    progress(f"    snapshot projection: {count:,} log entries in {seconds:.1f} s, {taken} here")
    top = relationship.version
    versions = [top - (i * 37) % SNAPSHOT_INTERVAL for i in range(sizes.state_reads)]
    with_snapshots = TimeTravel(services.database)
    without = TimeTravel(services.database, snapshots=False)
    try:
        # The two agree, and the first really starts from a snapshot.
        for v in versions[:3]:
            a = with_snapshots.state("Relationship", relationship.id, version=v)
            b = without.state("Relationship", relationship.id, version=v)
            assert a.as_json() | {"snapshot_version": None} == b.as_json()
            assert a.snapshot_version is not None
            assert b.snapshot_version is None

        def reads(travel: TimeTravel) -> Callable[[], int]:
            def read() -> int:
                for v in versions:
                    travel.state("Relationship", relationship.id, version=v)
                return len(versions)

            return read

        results = StateResults(
            relationship.version,
            taken,
            count / seconds,
            versions,
            Rate("state from the nearest snapshot", "reads/s"),
            Rate("state replayed from event 1", "reads/s"),
        )
        progress(f"    {sizes.rounds} rounds of {len(versions)} reads each")
        interleaved(
            sizes.rounds,
            [(results.with_snapshots, reads(with_snapshots)), (results.replayed, reads(without))],
        )
        return results
    finally:
        with_snapshots.close()
        without.close()


# --- the report --------------------------------------------------------------------------------


def _x(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _goal(value: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return f"  (goal >= {_x(goal)})" + ("" if value >= goal else "  BELOW GOAL")


def report(history: HistoryResults | None, state: StateResults | None) -> list[str]:
    rows: list[tuple[Rate, Rate, float | None]] = []
    if history is not None:
        rows.append((history.first_big, history.first_small, FIRST_PAGE_GOAL))
        rows.append((history.stream, history.floor, None))
    if state is not None:
        rows.append((state.with_snapshots, state.replayed, SNAPSHOT_GOAL))
    table = [
        [
            a.label,
            f"{a.median:,.1f} {a.unit}",
            b.label,
            f"{b.median:,.1f} {b.unit}",
            f"ratio {_x(ratio(a, b))}",
            _goal(ratio(a, b), goal),
        ]
        for a, b, goal in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    lines = [
        "   ".join(
            cell.ljust(w) if i in (0, 2) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row[:5], widths, strict=True))
        )
        + row[5]
        for row in table
    ]
    details: list[str] = []
    if history is not None:
        log = history.log
        first = 1000 / history.first_big.median if history.first_big.median else float("nan")
        stream_s = log.big_events / history.stream.median if history.stream.median else 0.0
        details += [
            f"(c) log of {log.total_events:,} events; customer {log.big_events:,} events, small "
            f"customer {log.small_events:,}; index built at {history.index_rate:,.0f} ev/s",
            f"    first page ({PAGE} entries): {first:.1f} ms median; whole history in pages of "
            f"{STREAM_PAGE:,}: {stream_s:.1f} s median",
            "    paired per-round ratios: first pages "
            f"{_x(paired_ratio(history.first_big, history.first_small))}, "
            f"stream/decode {_x(paired_ratio(history.stream, history.floor))}",
            f"    spread: first page big {history.first_big.spread()}; "
            f"small {history.first_small.spread()}; stream {history.stream.spread()} ev/s",
        ]
    if state is not None:
        ms_snap = 1000 / state.with_snapshots.median if state.with_snapshots.median else 0.0
        ms_replay = 1000 / state.replayed.median if state.replayed.median else 0.0
        details += [
            f"(d) {state.events:,} events, a snapshot every {SNAPSHOT_INTERVAL} versions "
            f"({state.snapshots} taken, projection at {state.snapshot_rate:,.0f} ev/s); "
            f"versions {min(state.versions):,}..{max(state.versions):,}",
            f"    one state read: {ms_snap:.1f} ms from a snapshot, {ms_replay:.1f} ms replayed; "
            f"paired per-round ratio {_x(paired_ratio(state.with_snapshots, state.replayed))}",
        ]
    return [*lines, "-" * max(len(line) for line in lines), *details]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.history",
        description="Auditors' reads: a long customer history (first page, full stream) and "
        "time travel deep in a long stream with and without snapshots. Medians over "
        "interleaved rounds in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes")
    parser.add_argument("--only", choices=["history", "state"], help="run one part only")
    parser.add_argument("--rounds", type=int, help=f"rounds ({FULL.rounds})")
    parser.add_argument(
        "--history-events", type=int, help=f"events of the customer ({FULL.history_events:,})"
    )
    parser.add_argument(
        "--stream-events", type=int, help=f"events of the long stream ({FULL.stream_events:,})"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        rounds=args.rounds or base.rounds,
        history_events=args.history_events or base.history_events,
        stream_events=args.stream_events or base.stream_events,
        page_reads=base.page_reads,
        state_reads=base.state_reads,
    )
    if min(sizes.rounds, sizes.history_events, sizes.stream_events) < 1:
        raise SystemExit("sizes must be positive")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventsourcing")
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    started = time.perf_counter()
    admin, where = server_conninfo()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"Fullchain CRM benchmarks: auditors' reads — {where}, PostgreSQL "
        f"{server_version(admin)}\nPython {platform.python_version()}, eventsourcing "
        f"{version('eventsourcing')}, psycopg {version('psycopg')}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} at start\nsizes: {sizes.rounds} rounds; history of "
        f"{sizes.history_events:,} events; stream of {sizes.stream_events:,} events",
        flush=True,
    )
    history: HistoryResults | None = None
    state: StateResults | None = None
    with throwaway_database(admin) as database, opened(database) as (services, client):
        if args.only in (None, "history"):
            print("\n(c) a customer's history: first page, full stream", flush=True)
            history = measure_history(services, client, sizes, _progress)
        if args.only in (None, "state"):
            print("\n(d) state deep in a long stream: from a snapshot vs replayed", flush=True)
            state = measure_state(services, sizes, _progress)
    lines = report(history, state)
    width = max(len(line) for line in lines)
    print("\n" + "=" * width)
    print("\n".join(lines))
    print("=" * width)
    print(f"medians over interleaved rounds; total run {time.perf_counter() - started:.0f} s")
    return 0


def _progress(message: str) -> None:
    print(message, flush=True)


@contextmanager
def opened(database: Database) -> Iterator[tuple[Services, TestClient]]:
    """The product's services on the database, and an HTTP client with an auditor's token."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note on its httpx dependency
        from fastapi.testclient import TestClient

    services = Services.open(database)
    try:
        app = services.app
        register_branches(app, "Headquarters", "Suzhou")
        token = app.staff.enroll(
            app.context("admin"),
            staff_id="auditor.qian",
            name="Qian Lin 钱琳",
            branch="Headquarters",
            roles=(Role.AUDITOR,),
        )
        with TestClient(create_app(services)) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            yield services, client
    finally:
        services.close()


if __name__ == "__main__":
    raise SystemExit(main())
