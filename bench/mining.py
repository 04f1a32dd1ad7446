"""``python -m bench.mining [--quick] [--seeds N]``: how well opportunity mining foresees
what customers buy next, against suggesting the most popular offerings.

The demo's year (``interface.demo``, its seed, then the next ``--seeds`` − 1 seeds) is
loaded into a throwaway database and its read models caught up. The suggestions are made
as of nine months into the year (``as_of`` = the time of loading − 92 days), from the
first nine months only (``projections.decisions.suggestions.load_market``), and scored
against what each customer bought in the last three: the offerings it bought then
(a shipment on the offering, or an opportunity for it won) that it had not bought in the
nine months before — the only purchases a suggestion of something new can foresee.

Contenders, side by side, over the same customers (those who bought something new):

* **suggestions**: the customer's suggestions, best first, without the at-risk ones
  (they name what it already buys);
* **most popular**: the offerings most customers bought in the first nine months, those
  the customer had not bought, most popular first.

Printed for k = 1, 3, 5: hit rate@k (the share of those customers with at least one of
their new offerings among the first k) of each, and the lift (suggestions ÷ most popular).
And the at-risk flags as of the same moment against what followed: of the customers
flagged, how many booked nothing in the last three months, beside the same share among
the customers with a history who were not flagged.

The demo's second lanes are drawn by ``interface/demo/stories/second_lanes.py`` (half
from the customer's industry, a quarter near its own lane, a quarter from any lane): a
figure here says how much of that pattern, and of the demo's lifecycle stories, the
suggestions recover — not how they would do on real customers. Nothing is asserted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bench.database import server_conninfo, throwaway_database
from domain.mining import Market, MiningPolicy, SuggestionKind
from interface.demo import SEED, load_demo
from interface.runtime import Services
from projections.decisions.suggestions import SUGGESTION_READ_MODELS, load_market

#: When the demo is loaded: a fixed moment, so that every run measures the same year.
LOADED_AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
#: The last three months of the year: what is foreseen.
LAST_QUARTER = timedelta(days=92)
KS = (1, 3, 5)


@dataclass
class Tally:
    customers: int = 0
    suggestions: dict[int, int] = field(default_factory=lambda: dict.fromkeys(KS, 0))
    popular: dict[int, int] = field(default_factory=lambda: dict.fromkeys(KS, 0))
    flagged: int = 0
    flagged_stopped: int = 0
    unflagged: int = 0
    unflagged_stopped: int = 0
    new_purchases: int = 0

    def add(self, other: Tally) -> None:
        self.customers += other.customers
        self.new_purchases += other.new_purchases
        for k in KS:
            self.suggestions[k] += other.suggestions[k]
            self.popular[k] += other.popular[k]
        self.flagged += other.flagged
        self.flagged_stopped += other.flagged_stopped
        self.unflagged += other.unflagged
        self.unflagged_stopped += other.unflagged_stopped


def score(before: Market, after: Market) -> Tally:
    """The suggestions of ``before`` scored against what ``after`` (the last quarter only)
    holds."""
    tally = Tally()
    popular = before.popular()
    for rid, account in sorted(before.accounts.items(), key=lambda a: str(a[0])):
        if account.kind != "customer" and not after.bought.get(rid):
            continue
        had = set(before.bought.get(rid, {}))
        new = set(after.bought.get(rid, {})) - had
        suggested = before.suggestions(rid)
        if before.bookings.get(rid):
            at_risk = any(s.kind is SuggestionKind.AT_RISK_RETENTION for s in suggested)
            stopped = not after.bookings.get(rid)
            if at_risk:
                tally.flagged += 1
                tally.flagged_stopped += stopped
            else:
                tally.unflagged += 1
                tally.unflagged_stopped += stopped
        if not new:
            continue
        tally.customers += 1
        tally.new_purchases += len(new)
        ranked: list[UUID] = [
            s.offering_id
            for s in suggested
            if s.offering_id is not None and s.kind is not SuggestionKind.AT_RISK_RETENTION
        ]
        baseline = [o for o in popular if o not in had]
        for k in KS:
            tally.suggestions[k] += bool(new & set(ranked[:k]))
            tally.popular[k] += bool(new & set(baseline[:k]))
    return tally


def measure(seed: int) -> Tally:
    with throwaway_database(server_conninfo()[0]) as database:
        services = Services.open(database)
        services.app.clock = lambda: LOADED_AT
        try:
            load_demo(services, now=LOADED_AT, seed=seed)
            for projection in services.projections:
                if projection.name in SUGGESTION_READ_MODELS:
                    services.worker(projection).catch_up()
            cutoff = LOADED_AT - LAST_QUARTER
            with services.reads.connection() as conn:
                before = load_market(conn, as_of=cutoff)
                after = load_market(
                    conn, as_of=LOADED_AT, policy=MiningPolicy(history_days=LAST_QUARTER.days)
                )
        finally:
            services.close()
    return score(before, after)


def _rate(hits: int, n: int) -> str:
    return f"{hits / n:.2f} ({hits}/{n})" if n else "– (0/0)"


def report(tally: Tally, seeds: Sequence[int]) -> str:
    n = tally.customers
    lines = [
        f"Opportunity mining on the demo's year, seeds {', '.join(map(str, seeds))}: "
        f"suggestions as of nine months in, against the last three months",
        f"customers who bought something new in the last three months: {n} "
        f"({tally.new_purchases} new offerings bought)",
        "",
        f"{'k':>3}  {'suggestions':>16}  {'most popular':>16}  {'lift':>6}",
    ]
    for k in KS:
        model, base = tally.suggestions[k], tally.popular[k]
        lift = f"{model / base:.2f}" if base else ("inf" if model else "–")
        lines.append(f"{k:>3}  {_rate(model, n):>16}  {_rate(base, n):>16}  {lift:>6}")
    lines += [
        "",
        "at risk as of nine months in, and whether the customer then booked nothing for "
        "three months:",
        f"  flagged:     {_rate(tally.flagged_stopped, tally.flagged)} stopped",
        f"  not flagged: {_rate(tally.unflagged_stopped, tally.unflagged)} stopped",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mining", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the demo's own seed only")
    parser.add_argument("--seeds", type=int, default=10, help="demo years to load (default 10)")
    args = parser.parse_args(argv)
    seeds = [SEED + i for i in range(1 if args.quick else max(1, args.seeds))]
    total = Tally()
    for seed in seeds:
        total.add(measure(seed))
    print(report(total, seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
