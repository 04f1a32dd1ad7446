"""Verify throughput: recomputing the log's hash chain against a plain sequential read.

``python -m bench.verify [--events N] [--rounds R] [--quick]``

Both contenders read the same rows in log order through the same server-side cursor; the
plain read only fetches them, ``verify`` also recomputes every chain hash and checks the
links. The ratio says what tamper evidence costs on top of reading the log.
"""

from __future__ import annotations

import argparse
import sys
import time
from uuid import uuid4

from application.service import Fullchain
from application.store.database import Database
from application.store.integrity import verify
from application.store.schema import EVENTS_TABLE
from bench.database import server_conninfo, throwaway_database
from bench.stats import Rate, paired_ratio, ratio
from domain.relationship import Channel, Direction, Relationship, RelationshipKind


def fill(app: Fullchain, events: int) -> int:
    """A log of about ``events`` events, appended in chunks of ~200."""
    ctx = app.context("bench.loader")
    written = 0
    while written < events:
        batch = []
        for _ in range(10):
            r = Relationship.register(
                ctx,
                name="Bench Customer",
                kind=RelationshipKind.CUSTOMER,
                industry="electronics",
                region="East China",
                branch="Suzhou",
            )
            for j in range(19):
                r.log_interaction(
                    ctx,
                    interaction_id=uuid4(),
                    channel=Channel.CALL,
                    direction=Direction.OUTBOUND,
                    summary=f"weekly call {j}: allocation and rates confirmed",
                )
            batch.append(r)
        app.save(*batch)
        written += 200
    return written


def plain_read(database: Database) -> int:
    count = 0
    with database.connect() as conn, conn.transaction():
        cursor = conn.cursor(name="bench_plain_read")
        cursor.itersize = 5000
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at, prev_hash, chain_hash FROM {EVENTS_TABLE} ORDER BY notification_id"
        )
        for _ in cursor:
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 events, 3 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.rounds = 10_000, 3
    admin, where = server_conninfo()
    print(f"verify throughput on {where}")
    with throwaway_database(admin) as database:
        app = Fullchain(database)
        try:
            total = fill(app, args.events)
        finally:
            app.close()
        verifying = Rate("verify", "ev/s")
        reading = Rate("plain sequential read", "ev/s")
        for round_number in range(args.rounds):
            order = [(verifying, True), (reading, False)]
            if round_number % 2:
                order.reverse()
            for rate, is_verify in order:
                started = time.perf_counter()
                if is_verify:
                    result = verify(database)
                    assert result.intact, result.summary()
                    count = result.entries
                else:
                    count = plain_read(database)
                rate.add(count, time.perf_counter() - started)
            print(
                f"  round {round_number + 1}/{args.rounds}: verify {verifying.per_round[-1]:,.0f}, "
                f"plain read {reading.per_round[-1]:,.0f} ev/s"
            )
        print("=" * 96)
        print(
            f"verify {verifying.median:>12,.0f} ev/s   plain sequential read "
            f"{reading.median:>12,.0f} ev/s   ratio {ratio(verifying, reading):.2f} "
            f"(paired {paired_ratio(verifying, reading):.2f})"
        )
        print(
            f"log of {total:,} events; spread: verify {verifying.spread()}, "
            f"read {reading.spread()}; medians over interleaved rounds"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
