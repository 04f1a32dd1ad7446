"""(p) Two API processes against one, over HTTP, on the same database.

``python -m bench.processes [--quick] [--seconds S] [--rounds R]``

Processes: ``fullchain serve --no-workers --processes 1`` and ``fullchain serve
--no-workers --processes 2`` (two uvicorn workers, each ``interface.asgi:create``), both
running all along on ports of their own against one database, and the projection worker
(``fullchain project``) in a process of its own, serving both. The load comes from
``wrk`` at 16 connections (Debian package ``wrk``; without it the run says so and stops),
in interleaved rounds (the order alternates from round to round).

Rows:

* reads/s: account status, ``GET /v1/relationships/{id}`` over 64 customers;
* commands/s: ``POST /v1/relationships/{id}/interactions`` over the same customers (both
  processes of the pair command every customer: each reloads an aggregate the other has
  appended to since, and a command that lost the race is retried);
* projection lag p99 during the command rounds: every 20 ms, the largest ``lag_seconds``
  of any read model (``projections.status``: how much older the event a read model has
  reached is than the log's head), its 99th percentile over each contender's rounds.

The table shows each contender's median over the rounds and the ratio of the medians
(2 processes / 1), then the median of the per-round ratios. Nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from application.store.integrity import new_signing_key_pem
from bench.database import server_conninfo, throwaway_database
from bench.http import BODY, Measure, _free_port, _process, _script, _seed, _wrk
from interface.runtime import projection_names
from projections import status

CONNECTIONS = 16


@dataclass
class LagSampler:
    """Samples the read models' largest lag while ``on`` is set, into ``samples[key]``."""

    conninfo: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    key: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import psycopg

        names = projection_names()
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                key = self.key
                if key is None:
                    continue
                lag = max(m.lag_seconds for m in status.snapshot(conn, names).read_models)
                self.samples.setdefault(key, []).append(lag)


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def run(seconds: float, rounds: int) -> None:
    if shutil.which("wrk") is None:
        print("bench.processes: wrk is not installed (apt-get install wrk); nothing measured")
        return
    admin, where = server_conninfo()
    with throwaway_database(admin) as database, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        token, ids = _seed(database)
        env = {
            **os.environ,
            "FULLCHAIN_DATABASE_URL": database.conninfo,
            "FULLCHAIN_SIGNING_KEY": new_signing_key_pem(),
        }
        serve = [
            sys.executable,
            "-m",
            "interface.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--no-demo",
            "--no-workers",
        ]
        # Reads first: after the command rounds each process refits its customer-value
        # models in the background, which the reads would measure too.
        scripts = {
            "reads": _script(
                folder, "status", "GET", [f"/v1/relationships/{i}" for i in ids], token, None
            ),
            "commands": _script(
                folder,
                "command",
                "POST",
                [f"/v1/relationships/{i}/interactions" for i in ids],
                token,
                BODY,
            ),
        }
        ports = {"1 process": _free_port(), "2 processes": _free_port()}
        print(
            f"One API process against two over HTTP, {where}; c={CONNECTIONS}, "
            f"{rounds} rounds of {seconds:.0f} s each; projections in a process of their own"
        )
        sampler = LagSampler(database.conninfo)
        sampling = threading.Thread(target=sampler.run, name="lag", daemon=True)
        with (
            _process([*serve, "--port", str(ports["1 process"])], env, ports["1 process"]),
            _process(
                [*serve, "--port", str(ports["2 processes"]), "--processes", "2"],
                env,
                ports["2 processes"],
            ),
            _process([sys.executable, "-m", "interface.cli", "project"], env, None),
        ):
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            # Warm-up: connections, caches, and each process's first reads, which start the
            # customer-value models' first fit (seconds of CPU in the background).
            for url in urls.values():
                _wrk(url, scripts["commands"], CONNECTIONS, 2)
            for url in urls.values():
                _wrk(url, scripts["reads"], CONNECTIONS, 4)
            sampling.start()
            results: dict[str, dict[str, Measure]] = {}
            try:
                for row, script in scripts.items():
                    measures = {name: Measure() for name in urls}
                    for r in range(rounds):
                        order = list(urls.items())
                        for name, url in order if r % 2 == 0 else order[::-1]:
                            sampler.key = name if row == "commands" else None
                            rps, p50, p99, bad = _wrk(url, script, CONNECTIONS, seconds)
                            sampler.key = None
                            measures[name].rps.append(rps)
                            measures[name].p50_ms.append(p50)
                            measures[name].p99_ms.append(p99)
                            measures[name].errors += bad
                    results[row] = measures
            finally:
                sampler.stop.set()
                sampling.join(timeout=10)
        one, two = "1 process", "2 processes"
        print(f"\n{'what':14} {one:>10} {two:>12} {'ratio':>6} {'paired':>7}  p99 ms (1 | 2)")
        for row, measures in results.items():
            a, b = measures[one], measures[two]
            paired = statistics.median(y / x for x, y in zip(a.rps, b.rps, strict=True) if x)
            errors = a.errors + b.errors
            print(
                f"{row + '/s':14} {a.median:10,.0f} {b.median:12,.0f} "
                f"{b.median / a.median:6.2f} {paired:7.2f}  "
                f"{statistics.median(a.p99_ms):.1f} | {statistics.median(b.p99_ms):.1f}"
                + (f"  ({errors} non-2xx)" if errors else "")
            )
        print(
            "projection lag p99 under the command load: "
            + ", ".join(
                f"{name} {_p99(sampler.samples.get(name, [])) * 1000:,.0f} ms "
                f"({len(sampler.samples.get(name, []))} samples)"
                for name in (one, two)
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.processes")
    parser.add_argument("--quick", action="store_true", help="1-second rounds, two of them")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if args.quick:
        run(1.0, 2)
    else:
        run(args.seconds, args.rounds)


if __name__ == "__main__":
    main()
