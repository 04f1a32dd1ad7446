"""Rates measured over rounds, and how they are summarised."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Rate:
    """Throughput of one contender, one measurement per round."""

    label: str
    unit: str
    per_round: list[float] = field(default_factory=list)

    def add(self, count: int, seconds: float) -> float:
        rate = count / seconds if seconds > 0 else float("inf")
        self.per_round.append(rate)
        return rate

    @property
    def median(self) -> float:
        return statistics.median(self.per_round) if self.per_round else float("nan")

    def spread(self) -> str:
        if not self.per_round:
            return "no rounds"
        return f"min {min(self.per_round):,.0f} / max {max(self.per_round):,.0f}"


def ratio(numerator: Rate, denominator: Rate) -> float:
    """Ratio of the medians."""
    if not denominator.per_round or denominator.median == 0:
        return float("nan")
    return numerator.median / denominator.median


def paired_ratio(numerator: Rate, denominator: Rate) -> float:
    """Median of the per-round ratios (each round's contenders ran back to back)."""
    pairs = [a / b for a, b in zip(numerator.per_round, denominator.per_round, strict=False) if b]
    return statistics.median(pairs) if pairs else float("nan")
