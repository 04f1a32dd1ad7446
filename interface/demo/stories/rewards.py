"""Rewards (奖惩): headquarters awards the ocean line a bonus for a clean record — a calendar
quarter without an incident on its links — some ten days after the quarter ends. (The
penalty, a charge-back to the airline found responsible in the seed case, is told with the
incident: ``stories.incidents``.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from uuid import NAMESPACE_URL, uuid5

from interface.demo.catalogue import CHINA, HQ_OPERATIONS
from interface.demo.plan import Plan

#: The partner rewarded: the ocean line of the Shanghai lanes, whose one incident of the year
#: (a shortage, months ago) lies before any quarter rewarded.
CLEAN_RECORD = "meridian"


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def bonus_for_a_clean_quarter(plan: Plan) -> None:
    """The latest quarter whose bonus is decided (ten days after it ends, on a weekday at
    10:00 in Shanghai) a day or more before the time of loading."""
    end = _quarter_start(plan.now.astimezone(CHINA).date())
    while True:
        start = _quarter_start(end - timedelta(days=1))
        decided_on = end + timedelta(days=10)
        while decided_on.weekday() >= 5:
            decided_on += timedelta(days=1)
        decided = datetime.combine(decided_on, time(10, 0), tzinfo=CHINA).astimezone(UTC)
        if decided <= plan.now - timedelta(days=1):
            break
        end = start
    rel = plan.rels[CLEAN_RECORD]
    quarter = f"{start.year} Q{(start.month - 1) // 3 + 1}"
    plan.add(
        decided,
        HQ_OPERATIONS,
        partial(
            plan.app.relationships.award_bonus,
            rid=rel.rid,
            bonus_id=uuid5(NAMESPACE_URL, f"https://fullchain.example/demo/bonus/{quarter}"),
            amount=Decimal("2000.00"),
            currency="USD",
            reason=f"{quarter} 全部航次零事故、准时交接，按服务协议奖励。",
            period_start=datetime.combine(start, time(0), tzinfo=CHINA),
            period_end=datetime.combine(end, time(0), tzinfo=CHINA),
        ),
        "bonus",
    )
