"""Waiting on a condition, never on time: tests poll what they wait for, within a bound for
a stuck system (never a guess at how long something takes on this machine)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient


def wait_until(condition: Callable[[], bool], *, timeout: float = 120.0, what: str = "") -> None:
    """Return as soon as ``condition()`` holds; fail the test if it does not within
    ``timeout`` seconds (a bound for a stuck system, not a guess at how long it takes)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def read_fresh(
    client: TestClient,
    path: str,
    *,
    min_position: int,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
    **params: Any,
) -> httpx.Response:
    """GET ``path`` once its read models have reached ``min_position``: each request waits
    as long as the API allows, and a 503 (not there yet) is asked again, within ``timeout``
    seconds in all."""
    deadline = time.monotonic() + timeout
    while True:
        response: httpx.Response = client.get(
            path, params={"wait": 10, **params, "min_position": min_position}, headers=headers
        )
        if response.status_code != 503 or time.monotonic() >= deadline:
            return response
