"""``python -m bench``: run the benchmarks and print a table of side-by-side ratios."""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
import warnings
from dataclasses import astuple, dataclass
from importlib.metadata import version

from bench import commands, projections, shipments
from bench.database import server_conninfo, server_version, throwaway_database
from bench.stats import Rate, paired_ratio, ratio

COMMAND_GOAL = 0.5
PROJECTION_GOAL = 20.0
#: The rebuild against a batched loop that only decodes and commits per batch.
FLOOR_GOAL = 0.5


@dataclass(frozen=True)
class Sizes:
    rounds: int
    ops: int
    relationships: int
    events: int
    projection_rounds: int
    shipments: int
    log_shipments: int
    in_flight: int


FULL = Sizes(
    rounds=5,
    ops=300,
    relationships=300,
    events=20_000,
    projection_rounds=3,
    shipments=20,
    log_shipments=3_000,
    in_flight=shipments.IN_FLIGHT,
)
QUICK = Sizes(
    rounds=3,
    ops=40,
    relationships=40,
    events=1_500,
    projection_rounds=2,
    shipments=5,
    log_shipments=300,
    in_flight=shipments.IN_FLIGHT,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Fullchain CRM benchmarks: the command path against a raw insert, "
        "the projection rebuild against the library's ProjectionRunner, and a six-link "
        "shipment run to delivery and the responsibility audit rebuilt from a log of "
        "shipments. Ratios are measured side by side in one run; figures are medians over "
        "interleaved rounds.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run with small sizes (well under 30 s)"
    )
    parser.add_argument(
        "--only", choices=["commands", "projections", "shipments"], help="run one part only"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"rounds of the command path and of the shipments (default {FULL.rounds})",
    )
    parser.add_argument("--ops", type=int, help=f"operations per side per round ({FULL.ops})")
    parser.add_argument(
        "--relationships",
        type=int,
        help=f"relationships each command path works on ({FULL.relationships})",
    )
    parser.add_argument(
        "--events", type=int, help=f"events to generate for the projections ({FULL.events:,})"
    )
    parser.add_argument(
        "--projection-rounds",
        type=int,
        help="rounds of rebuild vs ProjectionRunner, and of the audit rebuilds "
        f"({FULL.projection_rounds})",
    )
    parser.add_argument(
        "--shipments",
        type=int,
        help=f"shipments run to delivery per round ({FULL.shipments})",
    )
    parser.add_argument(
        "--log-shipments",
        type=int,
        help=f"shipments in the log the audit is rebuilt from ({FULL.log_shipments:,})",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        help=f"shipments on their way at once as that log is written ({FULL.in_flight})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the command rounds, profile one more round of the command path",
    )
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        rounds=args.rounds or base.rounds,
        ops=args.ops or base.ops,
        relationships=args.relationships or base.relationships,
        events=args.events or base.events,
        projection_rounds=args.projection_rounds or base.projection_rounds,
        shipments=args.shipments or base.shipments,
        log_shipments=args.log_shipments or base.log_shipments,
        in_flight=args.in_flight or base.in_flight,
    )
    if min(astuple(sizes)) < 1:
        raise SystemExit("sizes must be positive")
    return sizes


def _sizes_described(sizes: Sizes, only: str | None) -> list[str]:
    parts = {
        "commands": f"{sizes.rounds} rounds x {sizes.ops} ops on {sizes.relationships} "
        "relationships",
        "projections": f"{sizes.events:,} events x {sizes.projection_rounds} projection rounds",
        "shipments": f"{sizes.shipments} shipments x {sizes.rounds} rounds, a log of "
        f"{sizes.log_shipments:,} shipments ({sizes.in_flight} in flight) x "
        f"{sizes.projection_rounds} rebuild rounds",
    }
    return [text for part, text in parts.items() if only in (None, part)]


def _progress(message: str) -> None:
    print(message, flush=True)


def _x(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _rate(rate: Rate) -> str:
    return f"{rate.median:,.0f} {rate.unit}"


def _table(rows: list[list[str]]) -> list[str]:
    """Left-aligned labels, right-aligned figures, columns as wide as their widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i in (0, 2) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("   ".join(cells[:4]) + "   " + cells[4].rstrip() + row[5])
    return lines


def summary_rows(
    command_result: commands.CommandResults | None,
    projection_result: projections.ProjectionResults | None,
    shipment_result: shipments.ShipmentResults | None = None,
) -> list[list[str]]:
    rows: list[list[str]] = []
    if command_result is not None:
        c, r, lib = command_result.command, command_result.raw, command_result.library
        value = ratio(c, r)
        mark = "" if value >= COMMAND_GOAL else "  BELOW GOAL"
        rows.append(
            [
                c.label,
                _rate(c),
                r.label,
                _rate(r),
                f"ratio {value:.2f}",
                f" (goal >= {COMMAND_GOAL}){mark}",
            ]
        )
        note = "" if not command_result.library_has_cache else " (NOTE: it has a cache)"
        rows.append([lib.label, _rate(lib), "", "", f"ratio {ratio(lib, r):.2f}", note])
    if projection_result is not None:
        rb, pr = projection_result.rebuild, projection_result.runner
        value = ratio(rb, pr)
        mark = "" if value >= PROJECTION_GOAL else "  BELOW GOAL"
        rows.append(
            [
                rb.label,
                _rate(rb),
                pr.label,
                _rate(pr),
                f"ratio {_x(value)}",
                f" (goal >= {PROJECTION_GOAL:.0f}x){mark}",
            ]
        )
        fl = projection_result.floor
        value = ratio(rb, fl)
        mark = "" if value >= FLOOR_GOAL else "  BELOW GOAL"
        rows.append(
            [
                rb.label,
                _rate(rb),
                fl.label,
                _rate(fl),
                f"ratio {value:.2f}",
                f" (goal >= {FLOOR_GOAL}){mark}",
            ]
        )
    if shipment_result is not None:
        s, r = shipment_result.shipment, shipment_result.raw
        audit, cold, acc = (
            shipment_result.audit,
            shipment_result.cold,
            shipment_result.account_status,
        )
        rows += [
            [s.label, _rate(s), r.label, _rate(r), f"ratio {ratio(s, r):.2f}", ""],
            [
                audit.label,
                _rate(audit),
                cold.label,
                _rate(cold),
                f"ratio {_x(ratio(audit, cold))}",
                "",
            ],
            [
                acc.label,
                _rate(acc),
                "",
                "",
                f"ratio {_x(ratio(acc, audit))}",
                " (to the audit rebuild)",
            ],
        ]
    return rows


def detail_lines(
    command_result: commands.CommandResults | None,
    projection_result: projections.ProjectionResults | None,
    shipment_result: shipments.ShipmentResults | None = None,
) -> list[str]:
    lines: list[str] = []
    if command_result is not None:
        c, r, lib = command_result.command, command_result.raw, command_result.library
        lines += [
            f"(a) {command_result.ops} ops per side per round on {command_result.relationships} "
            f"relationships per path; event and raw row {command_result.event_bytes} bytes",
            f"    paired per-round ratios: command/raw {paired_ratio(c, r):.2f}, "
            f"library/raw {paired_ratio(lib, r):.2f}; command/library {ratio(c, lib):.2f}",
            f"    spread (ops/s): command {c.spread()}; raw {r.spread()}; library {lib.spread()}",
        ]
    if projection_result is not None:
        rb, pr = projection_result.rebuild, projection_result.runner
        lines += [
            f"(b) {projection_result.events:,} log entries per pass; "
            f"paired per-round ratios: rebuild/runner {_x(paired_ratio(rb, pr))}, "
            f"rebuild/batched loop {paired_ratio(rb, projection_result.floor):.2f}",
            f"    spread (ev/s): rebuild {rb.spread()}; ProjectionRunner {pr.spread()}; "
            f"batched loop {projection_result.floor.spread()}",
        ]
    if shipment_result is not None:
        res = shipment_result
        s, r = res.shipment, res.raw
        audit, cold, acc = res.audit, res.cold, res.account_status
        lines += [
            f"shipments: {res.shipments} a round, {res.events_per_shipment} commands and events "
            f"each, {res.shipments * res.events_per_shipment} events per side; raw row "
            f"{res.event_bytes} bytes (their mean)",
            f"    paired per-round ratio shipment/raw {paired_ratio(s, r):.2f}",
            f"    spread: shipment {s.spread()} ev/s; raw {r.spread()} rows/s",
            f"audit: {res.log_shipments:,} shipments ({res.log_events:,} events, "
            f"{res.in_flight} in flight at once); {res.log_entries:,} log entries per pass "
            f"in batches of {res.batch_size:,}",
            f"    paired per-round ratios: audit/cold {_x(paired_ratio(audit, cold))}, "
            f"account-status/audit {_x(paired_ratio(acc, audit))}",
            f"    spread (ev/s): audit {audit.spread()}; cold {cold.spread()}; "
            f"account-status {acc.spread()}",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    # The library warns about deprecated names on import; they are not ours to fix here.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventsourcing")
    # A terminated run still drops its database (the `finally` of throwaway_database).
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    started = time.perf_counter()
    admin, where = server_conninfo()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"Fullchain CRM benchmarks — {where}, PostgreSQL {server_version(admin)}\n"
        f"Python {platform.python_version()}, eventsourcing {version('eventsourcing')}, "
        f"psycopg {version('psycopg')}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} at start\n"
        f"sizes: {'; '.join(_sizes_described(sizes, args.only))}",
        flush=True,
    )
    command_result: commands.CommandResults | None = None
    projection_result: projections.ProjectionResults | None = None
    shipment_result: shipments.ShipmentResults | None = None
    if args.only in (None, "commands", "projections"):
        command_result, projection_result = _run_relationships(args, sizes, admin)
    if args.only in (None, "shipments"):
        # A database of its own: the log the audit is rebuilt from holds shipments only.
        with throwaway_database(admin) as database:
            _progress(
                "\nshipments: a six-link shipment to delivery vs raw insert; "
                "the responsibility audit rebuilt, warm and cold"
            )
            shipment_result = shipments.measure(
                database,
                rounds=sizes.rounds,
                shipments=sizes.shipments,
                projection_rounds=sizes.projection_rounds,
                log_shipments=sizes.log_shipments,
                in_flight=sizes.in_flight,
                progress=_progress,
            )

    table = _table(summary_rows(command_result, projection_result, shipment_result))
    details = detail_lines(command_result, projection_result, shipment_result)
    width = max(len(line) for line in table + details)
    print("\n" + "=" * width)
    print("\n".join(table))
    print("-" * width)
    print("\n".join(details))
    print("=" * width)
    print(f"medians over interleaved rounds; total run {time.perf_counter() - started:.0f} s")
    if command_result is not None and command_result.profile:
        print("\nProfile of one round of the command path:\n")
        print(command_result.profile)
    sys.stdout.flush()
    return 0


def _run_relationships(
    args: argparse.Namespace, sizes: Sizes, admin: str
) -> tuple[commands.CommandResults | None, projections.ProjectionResults | None]:
    """The command path and the projection rebuild, in one database."""
    command_result: commands.CommandResults | None = None
    projection_result: projections.ProjectionResults | None = None
    with throwaway_database(admin) as database:
        if args.only in (None, "commands"):
            _progress("\n(a) command path vs raw insert vs library default path")
            command_result = commands.measure(
                database,
                rounds=sizes.rounds,
                ops=sizes.ops,
                relationships=sizes.relationships,
                profile=args.profile,
                progress=_progress,
            )
        if args.only in (None, "projections"):
            _progress("\n(b) rebuild vs the library's ProjectionRunner")
            projection_result = projections.measure(
                database,
                rounds=sizes.projection_rounds,
                events=sizes.events,
                progress=_progress,
            )
    return command_result, projection_result
