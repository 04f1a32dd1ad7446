"""Shipments under full-chain responsibility: the seed case run to delivery, and the
responsibility audit rebuilt from a log of shipments.

The seed case is an air export of laptops from Suzhou to Chicago in six links: pickup and
export customs by our Suzhou branch, main carriage by a partner airline, import customs by
a partner agent, warehousing by a partner warehouse, delivery by the agent. Run to
delivery it takes 19 commands, each writing one event: the booking, then for each link
its start and the handover of custody into it, the completion of the link before it, and
finally the delivery.

* **shipment to delivery** against **raw insert**, in interleaved rounds: ``--shipments``
  shipments booked and run to delivery through ``Fullchain`` (``book_shipment``,
  ``start_link``, ``hand_over``, ``complete_link``, ``deliver``), in events per second,
  against as many single-row ``INSERT`` + ``COMMIT`` as those shipments write events, of
  the same average size (the loop of ``bench.commands``).
* **audit rebuild**, **cold** and **account-status rebuild**, in interleaved rounds over
  one log of ``--log-shipments`` shipments whose lives overlap as in a working log
  (``--in-flight`` shipments on their way at once, each advancing by one event a step):
  ``projections.engine.rebuild`` with a ``ProjectionWorker`` built as ``Services.worker``
  builds it, for ``ResponsibilityProjection`` as the product runs it (keeping aggregates
  between batches); for the same projection emptying its aggregate cache after every
  batch, so that each batch replays from the log every shipment it touches whose earlier
  events lie in earlier batches; and, for context, for the account-status projection,
  which reads the same log but applies almost none of it (the four relationships).

The section works in a database of its own, so its log holds shipments (and their
customer and partners) only, whatever else the run measures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any
from uuid import UUID

from application.service import Fullchain
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from bench.branches import register_branches
from bench.commands import raw_insert_loop
from bench.projections import log_extent
from bench.stats import Rate
from domain.base import CommandContext
from domain.liability import TransportMode
from domain.relationship import RelationshipKind
from domain.shipment import Cargo, Condition, LinkFunction, LinkPlan, Party, Shipment
from projections.account_status.writer import AccountStatusProjection
from projections.engine import BatchProjection, Connection, ProjectedEvent, ProjectionWorker
from projections.engine import rebuild as rebuild_projection
from projections.responsibility_audit.writer import ResponsibilityProjection

ACTOR = "ops.suzhou"
SUZHOU = Party.our_branch("Suzhou")
LAPTOPS = Cargo(
    description="laptop computers, 120 cartons",
    packages=120,
    gross_weight_kg=Decimal("1800"),
    declared_value=Decimal("480000"),
    currency="USD",
)

#: Shipments on their way at once while the log is generated (``--in-flight``).
IN_FLIGHT = 150
#: Events per bulk append: well under the size at which one stalls (see
#: ``bench.projections.SAVE_BATCH_EVENTS``).
SAVE_EVENTS = 200


@dataclass(frozen=True)
class Parties:
    """The seed case's customer and partners, registered before anything is timed."""

    customer: UUID
    airline: UUID
    agent: UUID
    warehouse: UUID

    @property
    def partner_kinds(self) -> dict[UUID, str]:
        """What ``Fullchain.book_shipment`` finds for the parties the links name."""
        partner = RelationshipKind.PARTNER.value
        return {self.airline: partner, self.agent: partner, self.warehouse: partner}


def register_parties(app: Fullchain) -> Parties:
    register_branches(app, "Suzhou", "Shanghai", "Chicago")

    def register(
        name: str, kind: RelationshipKind, industry: str, region: str, branch: str
    ) -> UUID:
        ctx = app.context(ACTOR)
        return app.relationships.register_relationship(
            ctx, name=name, kind=kind, industry=industry, region=region, branch=branch
        ).aggregate_id

    partner = RelationshipKind.PARTNER
    return Parties(
        customer=register(
            "Suzhou Huaxin Electronics", RelationshipKind.CUSTOMER, "electronics", "east", "Suzhou"
        ),
        airline=register("Pudong Air Cargo", partner, "air cargo", "east", "Shanghai"),
        agent=register("Great Lakes Freight Services", partner, "forwarding", "us", "Chicago"),
        warehouse=register("O'Hare Cargo Handling", partner, "warehousing", "us", "Chicago"),
    )


# --- the seed case --------------------------------------------------------------------------


def suzhou_to_chicago(parties: Parties, booked_at: datetime) -> list[LinkPlan]:
    """The six links, planned from the day after the booking, one after the other."""

    def plan(
        function: LinkFunction,
        party: Party,
        hours: tuple[int, int],
        mode: TransportMode | None = None,
    ) -> LinkPlan:
        start = booked_at + timedelta(hours=24 + hours[0])
        return LinkPlan(function, party, start, booked_at + timedelta(hours=24 + hours[1]), mode)

    return [
        plan(LinkFunction.PICKUP, SUZHOU, (0, 6), TransportMode.ROAD),
        plan(LinkFunction.EXPORT_CUSTOMS, SUZHOU, (6, 24)),
        plan(
            LinkFunction.MAIN_CARRIAGE, Party.partner(parties.airline), (24, 48), TransportMode.AIR
        ),
        plan(LinkFunction.IMPORT_CUSTOMS, Party.partner(parties.agent), (48, 72)),
        plan(LinkFunction.WAREHOUSING, Party.partner(parties.warehouse), (72, 96)),
        plan(LinkFunction.DELIVERY, Party.partner(parties.agent), (96, 120), TransportMode.ROAD),
    ]


@dataclass(frozen=True)
class Step:
    """One command after the booking, ``hours`` after it in business time. ``command`` is
    the name of both the ``app.shipments`` command and the ``Shipment`` method."""

    command: str
    hours: int
    kwargs: dict[str, Any] = field(default_factory=dict)


def seed_case_steps(reference: str) -> list[Step]:
    """Link k starts 24 + 10·k hours after the booking, as the link before it completes,
    and takes the goods an hour later; the last link delivers 10 hours after that."""
    steps: list[Step] = []
    for sequence in range(1, 7):
        hour = 24 + 10 * sequence
        if sequence > 1:
            steps.append(Step("complete_link", hour, {"sequence": sequence - 1}))
        steps.append(Step("start_link", hour, {"sequence": sequence}))
        steps.append(
            Step(
                "hand_over",
                hour + 1,
                {
                    "to_sequence": sequence,
                    "condition": Condition.GOOD,
                    "signed_by": f"receiver of link {sequence}",
                },
            )
        )
    steps.append(
        Step(
            "deliver",
            24 + 10 * 6 + 10,
            {
                "condition": Condition.GOOD,
                "signed_by": "J. Miller, receiving",
                "proof_of_delivery": f"POD-{reference}",
            },
        )
    )
    return steps


#: Events (and commands) of one shipment run to delivery: the booking and its steps.
EVENTS_PER_SHIPMENT = 1 + len(seed_case_steps("-"))

ORIGIN = "Suzhou Industrial Park, CN"
DESTINATION = "Chicago, IL, US"


def _run_through_service(
    app: Fullchain, parties: Parties, reference: str, booked_at: datetime
) -> int:
    """Book one shipment and run it to delivery through the application; return the
    number of commands."""
    sid = app.shipments.book_shipment(
        app.context(ACTOR, occurred_at=booked_at),
        customer_id=parties.customer,
        reference=reference,
        origin=ORIGIN,
        destination=DESTINATION,
        cargo=LAPTOPS,
        links=suzhou_to_chicago(parties, booked_at),
    ).aggregate_id
    steps = seed_case_steps(reference)
    for step in steps:
        when = booked_at + timedelta(hours=step.hours)
        command: Callable[..., object] = getattr(app.shipments, step.command)
        command(app.context(ACTOR, occurred_at=when), sid, **step.kwargs)
    return 1 + len(steps)


def _journey(
    parties: Parties, reference: str, booked_at: datetime, now: datetime
) -> Iterator[Shipment]:
    """The same shipment through the domain alone, yielded after each event."""

    def ctx(hours: int) -> CommandContext:
        when = booked_at + timedelta(hours=hours)
        return CommandContext.issue(actor=ACTOR, now=now, occurred_at=when)

    shipment = Shipment.book(
        ctx(0),
        customer_id=parties.customer,
        reference=reference,
        origin=ORIGIN,
        destination=DESTINATION,
        cargo=LAPTOPS,
        links=suzhou_to_chicago(parties, booked_at),
        partner_kinds=parties.partner_kinds,
    )
    yield shipment
    for step in seed_case_steps(reference):
        getattr(shipment, step.command)(ctx(step.hours), **step.kwargs)
        yield shipment


def generate_log(
    app: Fullchain, parties: Parties, shipments: int, *, in_flight: int = IN_FLIGHT
) -> int:
    """Append ``shipments`` shipments run to delivery; return the events written.

    Their lives overlap, as in a working log: at every step a few shipments are booked
    and every shipment on its way advances by one event, so some ``in_flight`` shipments
    are on their way at once and each one's 19 events lie spread over some
    ``in_flight × 19`` log entries. A step is appended in chunks of ``SAVE_EVENTS``.
    """
    now = datetime.now(UTC)
    first_booking = now - timedelta(days=400)
    per_step = math.ceil(in_flight / EVENTS_PER_SHIPMENT)
    booked = 0
    written = 0
    on_the_way: list[Iterator[Shipment]] = []
    for step in count():
        for _ in range(min(per_step, shipments - booked)):
            booked += 1
            booked_at = first_booking + timedelta(minutes=10 * step)
            on_the_way.append(_journey(parties, f"SZX-{booked:06d}", booked_at, now))
        if not on_the_way:
            break
        moved: list[Shipment] = []
        still: list[Iterator[Shipment]] = []
        for journey in on_the_way:
            shipment = next(journey, None)
            if shipment is not None:
                moved.append(shipment)
                still.append(journey)
        on_the_way = still
        for chunk in range(0, len(moved), SAVE_EVENTS):
            app.save(*moved[chunk : chunk + SAVE_EVENTS])
        written += len(moved)
    return written


# --- measuring ------------------------------------------------------------------------------


class ColdResponsibilityProjection(ResponsibilityProjection):
    """The audit projection without aggregates kept between batches: every batch replays,
    from the log, each shipment it touches whose earlier events lie in earlier batches."""

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        super().apply_batch(conn, events)
        self.shipments.forget()


@dataclass
class ShipmentResults:
    shipment: Rate
    raw: Rate
    audit: Rate
    cold: Rate
    account_status: Rate
    shipments: int
    events_per_shipment: int
    event_bytes: int
    log_shipments: int
    in_flight: int
    log_events: int
    log_entries: int
    batch_size: int


def _shipment_event_size(database: Database) -> int:
    with database.connect(autocommit=True) as conn:
        row = conn.execute(
            f"SELECT avg(length(state))::int FROM {EVENTS_TABLE} WHERE topic LIKE 'Shipment.%'"
        ).fetchone()
    return int(row[0]) if row and row[0] else 400


def _audit_digest(database: Database) -> tuple[int, int, str]:
    """The audit read model in brief: shipments delivered, link rows, and a digest."""
    with database.connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'delivered'), "
            "(SELECT count(*) FROM audit_link), "
            "md5(string_agg(concat_ws(':', shipment_id, version, position, view), ',' "
            "ORDER BY shipment_id)) FROM shipment_audit"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


def _measure_service(
    app: Fullchain,
    database: Database,
    parties: Parties,
    *,
    rounds: int,
    shipments: int,
    progress: Callable[[str], None],
) -> tuple[Rate, Rate, int]:
    shipment_rate = Rate("shipment to delivery", "ev/s")
    raw_rate = Rate("raw insert", "rows/s")
    references = count(1)
    # Business time: bookings a minute apart, from a month ago.
    first_booking = datetime.now(UTC) - timedelta(days=30)

    def run_shipments(n: int) -> int:
        events = 0
        for _ in range(n):
            i = next(references)
            booked_at = first_booking + timedelta(minutes=i)
            events += _run_through_service(app, parties, f"SZX-BENCH-{i:05d}", booked_at)
        return events

    # Warm up: psycopg prepares its statements; the parties are in the aggregate cache.
    run_shipments(2)
    event_bytes = _shipment_event_size(database)
    events = shipments * EVENTS_PER_SHIPMENT
    with database.connect() as raw_conn:
        run_raw = raw_insert_loop(raw_conn, event_bytes)
        run_raw(0, events // 5 + 20)

        def raw_round() -> int:
            run_raw(0, events)
            return events

        contenders: list[tuple[Rate, Callable[[], int]]] = [
            (shipment_rate, lambda: run_shipments(shipments)),
            (raw_rate, raw_round),
        ]
        for r in range(rounds):
            order = contenders if r % 2 == 0 else contenders[::-1]
            line = []
            for rate, run in order:
                started = time.perf_counter()
                done = run()
                value = rate.add(done, time.perf_counter() - started)
                line.append(f"{rate.label} {value:,.0f} {rate.unit}")
            progress(f"  round {r + 1}/{rounds}: " + ", ".join(line))
    return shipment_rate, raw_rate, event_bytes


def _time_rebuild(worker: ProjectionWorker) -> tuple[int, float]:
    started = time.perf_counter()
    entries = rebuild_projection(worker)
    return entries, time.perf_counter() - started


def measure(
    database: Database,
    *,
    rounds: int,
    shipments: int,
    projection_rounds: int,
    log_shipments: int,
    in_flight: int = IN_FLIGHT,
    progress: Callable[[str], None] = print,
) -> ShipmentResults:
    app = Fullchain(database)
    try:
        parties = register_parties(app)
        progress(
            f"  shipment to delivery vs raw insert: {shipments} shipments "
            f"({shipments * EVENTS_PER_SHIPMENT} events) per side per round"
        )
        shipment_rate, raw_rate, event_bytes = _measure_service(
            app, database, parties, rounds=rounds, shipments=shipments, progress=progress
        )

        started = time.perf_counter()
        log_events = generate_log(app, parties, log_shipments, in_flight=in_flight)
        entries, _last_id = log_extent(database)
        progress(
            f"  log: {log_shipments:,} shipments, {log_events:,} events generated in "
            f"{time.perf_counter() - started:.1f} s; {entries:,} entries in total"
        )

        audit = Rate("audit rebuild", "ev/s")
        cold = Rate("audit rebuild, cold", "ev/s")
        account_status = Rate("account-status rebuild", "ev/s")

        def worker(projection: BatchProjection) -> ProjectionWorker:
            # As Services.worker builds it: the application's mapper, default batch size.
            return ProjectionWorker(database, projection, app.mapper)

        batch_size = worker(AccountStatusProjection()).batch_size
        contenders: list[tuple[Rate, Callable[[], BatchProjection]]] = [
            (audit, lambda: ResponsibilityProjection(app.mapper)),
            (cold, lambda: ColdResponsibilityProjection(app.mapper)),
            (account_status, AccountStatusProjection),
        ]
        digests: set[tuple[int, int, str]] = set()
        for r in range(projection_rounds):
            order = contenders[r % 3 :] + contenders[: r % 3]
            line = []
            for rate, projection in order:
                read, seconds = _time_rebuild(worker(projection()))
                if read != entries:
                    msg = f"{rate.label} read {read} of {entries} log entries"
                    raise RuntimeError(msg)
                value = rate.add(read, seconds)
                line.append(f"{rate.label} {value:,.0f}")
                if rate is not account_status:
                    digests.add(_audit_digest(database))
            progress(f"  round {r + 1}/{projection_rounds}: " + ", ".join(line) + " ev/s")
        _check_audit(digests, log_shipments)
        return ShipmentResults(
            shipment=shipment_rate,
            raw=raw_rate,
            audit=audit,
            cold=cold,
            account_status=account_status,
            shipments=shipments,
            events_per_shipment=EVENTS_PER_SHIPMENT,
            event_bytes=event_bytes,
            log_shipments=log_shipments,
            in_flight=in_flight,
            log_events=log_events,
            log_entries=entries,
            batch_size=batch_size,
        )
    finally:
        app.close()


def _check_audit(digests: set[tuple[int, int, str]], log_shipments: int) -> None:
    """Every audit rebuild, warm or cold, built the same model, with every shipment of the
    log delivered (and those of the service rounds)."""
    if len(digests) != 1:
        msg = "the audit rebuilds built different read models"
        raise RuntimeError(msg)
    ((delivered, links, _digest),) = digests
    if delivered < log_shipments or links != 6 * delivered:
        msg = f"the audit shows {delivered} shipments delivered and {links} links"
        raise RuntimeError(msg)
