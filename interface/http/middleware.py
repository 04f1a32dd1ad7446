"""Request-level guards: a body size limit, and idempotency keys on commands."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
import psycopg
from eventsourcing.persistence import PersistenceError
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from application import console_sessions, evidence
from application.store import command_log
from interface.http.replies import PROBLEM_JSON, replay
from interface.http.replies import problem as _problem
from interface.http.routing import reaches_endpoint

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]

#: Larger request bodies are refused with 413.
MAX_BODY_BYTES = 256 * 1024
#: File uploads have a limit of their own, per path.
MAX_UPLOAD_BYTES = {"/v1/imports/relationships": 4 * 1024 * 1024}
#: Evidence uploads (``.../attachments``): the evidence store's limit on a file
#: (``application.evidence.max_bytes``) plus room for the multipart form around it; a file
#: over the limit in a body under this one is refused by the endpoint, also 413.
UPLOAD_SUFFIX = "/attachments"
FORM_OVERHEAD_BYTES = 64 * 1024


def body_limit(path: str) -> int:
    """The largest request body accepted at ``path``."""
    if path in MAX_UPLOAD_BYTES:
        return MAX_UPLOAD_BYTES[path]
    if path.endswith(UPLOAD_SUFFIX):
        return evidence.max_bytes() + FORM_OVERHEAD_BYTES
    return MAX_BODY_BYTES


def _hashed_body(body: bytes, content_type: bytes | None) -> bytes:
    """The body as the request's hash covers it: a multipart form without the boundary
    its client picked for this one request, so a retry of the same upload under the same
    Idempotency-Key is the same request."""
    if content_type is None or not content_type.lower().startswith(b"multipart/"):
        return body
    for part in content_type.split(b";")[1:]:
        name, _, value = part.strip().partition(b"=")
        if name.lower() == b"boundary" and value:
            return body.replace(value.strip(b'"'), b"")
    return body


MAX_KEY_LENGTH = 200

#: The console's own routes (sign-in): never commands, so their bodies (a password) are
#: never hashed into the command log.
CONSOLE_PREFIX = "/console/"


def _credentials(headers: dict[bytes, bytes]) -> bytes:
    """Whose key a request's Idempotency-Key is: its bearer token, or, with none, its
    console session and the CSRF token it sent (so a request without the right one is
    never answered from an earlier one; it reaches the endpoint, which refuses it)."""
    bearer = headers.get(b"authorization", b"")
    if bearer:
        return bearer
    cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
    session = cookies.get(console_sessions.SESSION_COOKIE)
    if not session:
        return b""
    csrf = headers.get(console_sessions.CSRF_HEADER.lower().encode(), b"")
    return b"session\0" + session.encode("latin-1", "replace") + b"\0" + csrf


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


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None if it is larger than the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
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


KEY_REUSED = _problem(
    422,
    "Idempotency key reused",
    "this Idempotency-Key was used for a different request",
    "idempotency-key-reused",
    errors=[{"field": "Idempotency-Key", "reason": "used for another request"}],
)

UNAVAILABLE = _problem(
    503,
    "Service unavailable",
    "the database cannot be reached just now; retry after Retry-After",
    "unavailable",
)


class RequestGuards:
    """Body size limit for every request that has a body; for a POST with an
    ``Idempotency-Key``, the key's claim (the request's state, ``idempotency_claim``),
    which the command takes as its id, and the replay of an answered key."""

    def __init__(
        self,
        app: ASGIApp,
        find: Callable[[str], command_log.Outcome | None],
        keep: Callable[[str, int, bytes, dict[str, str]], None],
    ):
        self.app = app
        self.find = find
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or not reaches_endpoint(scope)  # the router answers 404 or 405, key or not
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = body_limit(scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        body = await _read_body(receive, limit)
        if body is None:
            await self._too_large(send, limit)
            return
        key = headers.get(b"idempotency-key")
        credentials = _credentials(headers)
        if (
            key is None
            or not credentials
            or scope["method"] != "POST"
            or scope["path"].startswith(CONSOLE_PREFIX)  # sign-in: no body's hash is kept
        ):
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
        request_hash = hashlib.sha256(
            b"\0".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    scope["query_string"],
                    _hashed_body(body, headers.get(b"content-type")),
                ]
            )
        ).digest()
        claim = command_log.Claim(hashlib.sha256(credentials).digest(), text, request_hash)
        try:
            outcome = await anyio.to_thread.run_sync(self.find, claim.command_id)
        except (psycopg.OperationalError, PersistenceError):
            status, problem = UNAVAILABLE
            await _send(send, status, problem, PROBLEM_JSON, [(b"retry-after", b"1")])
            return
        if outcome is not None:
            if outcome.request_sha256 != request_hash:
                await _send(send, *KEY_REUSED, PROBLEM_JSON)
                return
            status, payload, extra = replay(outcome, scope["path"])
            await _send_replay(send, status, payload, extra)
            return
        scope.setdefault("state", {})["idempotency_claim"] = claim
        sent: dict[str, Any] = {"body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                    if k.lower() in _KEPT_HEADERS
                }
                sent["replayed"] = any(
                    k.lower() == b"idempotent-replayed" for k, _ in message.get("headers", [])
                )
            elif message["type"] == "http.response.body":
                sent["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, _replaying(body), capture)
        if 200 <= sent.get("status", 0) < 300 and not sent.get("replayed"):
            try:
                await anyio.to_thread.run_sync(
                    self.keep, claim.command_id, sent["status"], sent["body"], sent["headers"]
                )
            except (psycopg.OperationalError, PersistenceError):
                # The answer was sent; a retry rebuilds it from the command's record.
                log.warning("could not keep the answer to command %s", claim.command_id)

    @staticmethod
    async def _too_large(send: Send, limit: int) -> None:
        status, problem = _problem(
            413,
            "Request body too large",
            f"request bodies are limited to {limit} bytes",
            "too-large",
        )
        await _send(send, status, problem, PROBLEM_JSON)
