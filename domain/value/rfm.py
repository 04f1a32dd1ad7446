"""RFM: recency, frequency and monetary quintile scores and named segments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from domain.base import require
from domain.value.purchases import Purchase, day_of

K = TypeVar("K")


@dataclass(frozen=True)
class RfmValues:
    """A customer's raw RFM values: days since its last purchase, purchases, charges."""

    days_since_last: int
    frequency: int
    monetary: Decimal


def rfm_values(
    purchases: Iterable[Purchase], *, as_of: date, window_days: int | None = None
) -> RfmValues | None:
    """RFM values as of a day, over the purchases on or before it (and, with
    ``window_days``, after ``as_of - window_days``). Unlike the models, frequency counts
    purchases (shipments), not purchase days. None when there is none."""
    require(
        window_days is None or window_days >= 1,
        "value.window_days",
        "window_days must be >= 1",
        field="window_days",
    )
    end = day_of(as_of)
    start_after = end.toordinal() - window_days if window_days is not None else None
    last: date | None = None
    count = 0
    total = Decimal(0)
    for purchase in purchases:
        day = day_of(purchase.at)
        if day > end or (start_after is not None and day.toordinal() <= start_after):
            continue
        count += 1
        total += purchase.value
        last = day if last is None or day > last else last
    if last is None:
        return None
    return RfmValues(days_since_last=(end - last).days, frequency=count, monetary=total)


def quintile_scores(
    values: Mapping[K, Decimal | float | int], *, higher_is_better: bool = True, bins: int = 5
) -> dict[K, int]:
    """Score each value 1..``bins`` (quintiles by default; ``bins`` is best) by its rank.

    With n values, L of them strictly worse than v and E equal to v (v included), v sits at
    the mean 0-based position P = L + (E-1)/2 of its ties, and its score is
    1 + ⌊bins · P / n⌋ (exact integer arithmetic). Ties therefore share one score, and the
    scores never depend on the order of the input. Ten distinct values score
    1,1,2,2,3,3,4,4,5,5; if every value is equal, all score the middle bin (3).
    """
    require(bins >= 1, "value.bins", "bins must be >= 1", field="bins")
    n = len(values)
    counts = Counter(values.values())
    ordered = sorted(counts, reverse=not higher_is_better)  # worst first
    score_of: dict[Decimal | float | int, int] = {}
    worse = 0
    for value in ordered:
        equal = counts[value]
        score_of[value] = 1 + (bins * (2 * worse + equal - 1)) // (2 * n)
        worse += equal
    return {key: score_of[value] for key, value in values.items()}


class RfmSegment(StrEnum):
    """Named RFM segments over the recency score R and FM = ⌈(F+M)/2⌉ (the mean of the
    frequency and monetary scores, rounded half up), the first rule that matches:

    ==================  ===========  ========  =============================================
    segment             R            FM        reading
    ==================  ===========  ========  =============================================
    champions           4-5          4-5       recent, frequent, big: reward, ask referrals
    loyal               3            4-5       big and frequent, a little less recent
    cannot_lose         1-2          5         were the best, gone quiet: call now
    at_risk             1-2          3-4       good customers slipping away
    new                 5            1         just started: onboard
    promising           4            1         recent, small so far
    potential_loyalist  4-5          2-3       recent, growing: offer more lanes
    need_attention      3            3         middling everywhere
    about_to_sleep      3            1-2       small and fading
    hibernating         2            1-2       small, long quiet
    lost                1            1-2       small, longest quiet
    ==================  ===========  ========  =============================================

    The grid covers all 25 (R, FM) cells. Scores are relative to the population scored
    together; the lifecycle's dormant and lost (``DormancyPolicy``) are absolute day
    thresholds instead, so an RFM-"lost" customer need not be lifecycle-lost.
    """

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    CANNOT_LOSE = "cannot_lose"
    AT_RISK = "at_risk"
    NEW = "new"
    PROMISING = "promising"
    POTENTIAL_LOYALIST = "potential_loyalist"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    HIBERNATING = "hibernating"
    LOST = "lost"


def rfm_segment(recency: int, frequency: int, monetary: int) -> RfmSegment:
    """The segment of one customer's R, F and M scores (each 1..5); see ``RfmSegment``."""
    for name, score in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        require(1 <= score <= 5, "value.rfm_score", f"{name} score must be 1..5", field=name)
    r = recency
    fm = (frequency + monetary + 1) // 2
    if r >= 4 and fm >= 4:
        return RfmSegment.CHAMPIONS
    if r == 3 and fm >= 4:
        return RfmSegment.LOYAL
    if r <= 2 and fm == 5:
        return RfmSegment.CANNOT_LOSE
    if r <= 2 and fm >= 3:
        return RfmSegment.AT_RISK
    if r == 5 and fm == 1:
        return RfmSegment.NEW
    if r == 4 and fm == 1:
        return RfmSegment.PROMISING
    if r >= 4:
        return RfmSegment.POTENTIAL_LOYALIST
    if r == 3:
        return RfmSegment.NEED_ATTENTION if fm == 3 else RfmSegment.ABOUT_TO_SLEEP
    return RfmSegment.HIBERNATING if r == 2 else RfmSegment.LOST


@dataclass(frozen=True)
class RfmScore:
    """A customer's R, F, M quintile scores (5 best) and its segment."""

    recency: int
    frequency: int
    monetary: int
    segment: RfmSegment

    @property
    def code(self) -> str:
        """The usual three-digit cell, e.g. "545"."""
        return f"{self.recency}{self.frequency}{self.monetary}"


def rfm_scores(values: Mapping[K, RfmValues]) -> dict[K, RfmScore]:
    """Score a population: recency by fewest days since the last purchase, frequency by
    most purchases, monetary by most charges, each with ``quintile_scores``; then
    ``rfm_segment``."""
    r = quintile_scores({k: v.days_since_last for k, v in values.items()}, higher_is_better=False)
    f = quintile_scores({k: v.frequency for k, v in values.items()})
    m = quintile_scores({k: v.monetary for k, v in values.items()})
    return {k: RfmScore(r[k], f[k], m[k], rfm_segment(r[k], f[k], m[k])) for k in values}
