"""Request-level guards: a body size limit and idempotency keys on commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from application import idempotency
from interface.http.errors import PROBLEM_JSON

Message = MutableMapping[str, Any]

#: Larger request bodies are refused with 413.
MAX_BODY_BYTES = 256 * 1024
MAX_KEY_LENGTH = 200


def _problem(status: int, title: str, detail: str, kind: str, **extra: Any) -> tuple[int, bytes]:
    body = {
        "type": f"https://fullchain.example/problems/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return status, json.dumps(body, ensure_ascii=False).encode()


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None if it is larger than the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


WITHHELD = _problem(
    409,
    "Conflict",
    "the original answer carried a token, shown once and never repeated; revoke it if it "
    "was lost and issue another",
    "token-shown-once",
)


#: The headers of a command's answer that its retries repeat.
_KEPT_HEADERS = {b"content-type", b"etag", b"location"}


async def _send_replay(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def replay(outcome: idempotency.Outcome, path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The original response of a command: as it was sent when it was kept, else rebuilt
    from what its key recorded (aggregate, version, position)."""
    replayed = (b"idempotent-replayed", b"true")
    if outcome.withheld:
        status, problem = WITHHELD
        return status, problem, [(b"content-type", PROBLEM_JSON.encode()), replayed]
    if outcome.response is not None:
        status, body, kept = outcome.response
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept.items()]
        return status, body, [*headers, replayed]
    body = json.dumps(
        {
            "aggregate_id": str(outcome.aggregate_id),
            "version": outcome.version,
            "position": outcome.position,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"etag", f'"{outcome.version}"'.encode()),
        replayed,
    ]
    if outcome.created:
        headers.append((b"location", f"{path.rstrip('/')}/{outcome.aggregate_id}".encode()))
    return (201 if outcome.created else 200), body, headers


class RequestGuards:
    """Body size limit for every request; idempotency for POSTs with ``Idempotency-Key``."""

    def __init__(
        self,
        app: ASGIApp,
        find: Callable[[bytes, str], idempotency.Outcome | None],
        keep: Callable[[idempotency.Claim, int, bytes, dict[str, str]], None],
    ):
        self.app = app
        self.find = find
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await self._too_large(send)
            return
        body = await _read_body(receive)
        if body is None:
            await self._too_large(send)
            return
        key = headers.get(b"idempotency-key")
        credentials = headers.get(b"authorization", b"")
        if key is None or not credentials:
            await self.app(scope, _replaying(body), send)
            return
        text = key.decode("latin-1").strip()
        if not (0 < len(text) <= MAX_KEY_LENGTH) or not text.isprintable():
            status, problem = _problem(
                422,
                "Invalid input",
                "Idempotency-Key must be 1 to 200 printable characters",
                "invalid-input",
                errors=[{"field": "Idempotency-Key", "reason": "1 to 200 printable characters"}],
            )
            await _send(send, status, problem, PROBLEM_JSON)
            return
        scope_hash = hashlib.sha256(credentials).digest()
        request_hash = hashlib.sha256(
            b"\0".join(
                [scope["method"].encode(), scope["path"].encode(), scope["query_string"], body]
            )
        ).digest()
        outcome = await anyio.to_thread.run_sync(self.find, scope_hash, text)
        if outcome is not None:
            if outcome.request_sha256 != request_hash:
                status, problem = _problem(
                    422,
                    "Idempotency key reused",
                    "this Idempotency-Key was used for a different request",
                    "idempotency-key-reused",
                    errors=[{"field": "Idempotency-Key", "reason": "used for another request"}],
                )
                await _send(send, status, problem, PROBLEM_JSON)
                return
            status, payload, extra = replay(outcome, scope["path"])
            await _send_replay(send, status, payload, extra)
            return
        claim = idempotency.Claim(scope_hash, text, request_hash)
        token = idempotency.current.set(claim)
        sent: dict[str, Any] = {"body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                    if k.lower() in _KEPT_HEADERS
                }
            elif message["type"] == "http.response.body":
                sent["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, _replaying(body), capture)
        finally:
            idempotency.current.reset(token)
        if 200 <= sent.get("status", 0) < 300:
            await anyio.to_thread.run_sync(
                lambda: self.keep(claim, sent["status"], sent["body"], sent["headers"])
            )

    @staticmethod
    async def _too_large(send: Send) -> None:
        status, problem = _problem(
            413,
            "Request body too large",
            f"request bodies are limited to {MAX_BODY_BYTES} bytes",
            "too-large",
        )
        await _send(send, status, problem, PROBLEM_JSON)
