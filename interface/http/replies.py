"""The bytes of the answers both the error handlers and the request guards send: problem
details, and the original answer of a command whose idempotency key came again."""

from __future__ import annotations

import json
from typing import Any

from application.store import command_log

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, kind: str, **extra: Any) -> tuple[int, bytes]:
    body = {
        "type": f"https://fullchain.example/problems/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return status, json.dumps(body, ensure_ascii=False).encode()


WITHHELD = problem(
    409,
    "Conflict",
    "the original answer carried a token, shown once and never repeated; revoke it if it "
    "was lost and issue another",
    "token-shown-once",
)


def replay(outcome: command_log.Outcome, path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The original response of a command: as it was sent when it was kept, else rebuilt
    from what the command log recorded (aggregate, version, position)."""
    replayed = (b"idempotent-replayed", b"true")
    if outcome.withheld:
        status, problem = WITHHELD
        return status, problem, [(b"content-type", PROBLEM_JSON.encode()), replayed]
    if outcome.response is not None:
        status, body, kept = outcome.response
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept.items()]
        return status, body, [*headers, replayed]
    # Byte for byte what the endpoint sends (FastAPI's compact JSON), so a retry that
    # comes before the first answer was kept gets the same bytes.
    body = json.dumps(
        {
            "aggregate_id": str(outcome.aggregate_id),
            "version": outcome.version,
            "position": outcome.position,
        },
        separators=(",", ":"),
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"etag", f'"{outcome.version}"'.encode()),
        replayed,
    ]
    if outcome.created:
        headers.append((b"location", f"{path.rstrip('/')}/{outcome.aggregate_id}".encode()))
    return (201 if outcome.created else 200), body, headers
