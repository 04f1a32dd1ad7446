"""Time in tests is a parameter: the business of every test happens around ``NOW``, a fixed
moment, and the application's clock is pinned to it (``services`` in ``conftest``), so no
outcome depends on the day, weekday, time of day or time zone the suite runs in."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

#: The suite's present: a Wednesday, 10:00 UTC (18:00 in Suzhou, 04:00 in Chicago).
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


class PinnedClock:
    """Reads ``start`` when made, then runs on with the real time elapsed since, so commands
    issued one after another keep their order and a read follows the writes before it."""

    def __init__(self, start: datetime = NOW) -> None:
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        self.start = start
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._started)
