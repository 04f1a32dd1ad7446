"""One error format for every refusal: RFC 9457 problem details.

``type`` is a stable URI per kind of problem, ``rule`` names the domain rule for domain
refusals, ``errors`` lists field and reason for invalid input.

Every problem document is written in English and answered in the language the request's
``Accept-Language`` prefers of Chinese and English (English by default): ``ProblemLanguage``,
the outermost middleware, translates its ``title`` and the ``reason`` of its field errors
from the tables below (a reason it has no words for stays as it is; ``detail`` is the
domain's own sentence, in English), and says so in ``Content-Language``. ``type``,
``status``, ``rule`` and the field names never change: clients match on them.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.commands import (
    AlreadyExists,
    ConcurrencyConflict,
    DatabaseUnavailable,
    NotFound,
    VersionMismatch,
)
from application.store.command_log import KeyReplayed, KeyReused
from domain.base import CommandRefused, DomainError, InvalidValue, UnknownMember
from interface.http.replies import PROBLEM_JSON, replay
from interface.http.routing import UNKNOWN_QUERY_PARAMETER, methods_at
from projections.freshness import InvalidCursorError

log = logging.getLogger(__name__)


#: What a 503 tells clients to wait before retrying.
RETRY_AFTER_SECONDS = 1


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    rule: str | None = None
    errors: list[FieldError] | None = None
    current_version: int | None = Field(
        None, description="412: the resource's current version, for If-Match"
    )
    position: int | None = Field(
        None,
        description="412: the log position of the resource's current version; read it with "
        "min_position set to this, so that the read shows what changed",
    )


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str,
    rule: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    current_version: int | None = None,
    position: int | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"https://fullchain.example/problems/{kind}",
        title=title,
        status=status,
        detail=detail,
        rule=rule,
        errors=errors,
        current_version=current_version,
        position=position,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def invalid_input(where: str, field: str, reason: str) -> RequestValidationError:
    """A refusal of one value of the request (``where``: ``query``, ``header``, ``path`` or
    ``body``), answered as FastAPI answers its own: 422, "Invalid input", the field and the
    reason."""
    return RequestValidationError([{"loc": (where, field), "msg": reason, "type": "value_error"}])


def _field_error(error: Any) -> FieldError:
    """One of FastAPI's validation errors, as the answer names it. A body that is not JSON
    is the body's error, at the position where reading it failed (FastAPI places it at the
    position, as if that were a field)."""
    loc = error.get("loc", ())
    reason = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        position = loc[-1] if loc and isinstance(loc[-1], int) else None
        return FieldError(
            field="body", reason=reason if position is None else f"{reason} at position {position}"
        )
    return FieldError(field=_field_of(loc), reason=reason)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """The field an error is about: its location without where in the request it is (a
    query parameter named ``path`` is still ``path``)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint can answer: ``statuses``, and 401
    and 403, which every endpoint answers (bearer token, permission matrix, branch)."""
    described = {
        401: "No bearer token, or one that identifies no staff member",
        403: "The staff member may not do this",
        404: "No such resource",
        409: "The current state forbids this command (the rule is named)",
        412: "If-Match names a version that is no longer current",
        413: "The request body (or an uploaded file) is larger than the limit",
        415: "The uploaded file is of a type the endpoint does not take",
        422: "Invalid input: the field and the reason (a query parameter the endpoint does "
        "not take is refused, named)",
        429: "Too many requests from the client address; retry after Retry-After",
        503: "The database cannot be reached just now, or the read model has not reached "
        "min_position in time; retry after Retry-After",
    }
    return {
        s: {
            "description": described[s],
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in sorted({401, 403, *statuses})
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        return problem(422, "Invalid input", kind="invalid-input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (not UTF-8): invalid input,
            # like a body that is not JSON.
            reason = "the body must be JSON in UTF-8"
            return problem(
                422,
                "Invalid input",
                reason,
                kind="invalid-input",
                errors=[FieldError(field="body", reason=reason)],
            )
        headers = dict(exc.headers) if exc.headers else None
        detail = str(exc.detail)
        if exc.status_code == 405:
            # The router names the methods of the one route it tried; the path has more.
            methods = ", ".join(methods_at(request.app.router.routes, request.scope))
            headers = {**(headers or {}), "Allow": methods}
            detail = f"{request.method} is not allowed here; the path takes {methods}"
        return problem(
            exc.status_code,
            HTTPStatus(exc.status_code).phrase,
            detail,
            kind=f"http-{exc.status_code}",
            headers=headers,
        )

    @app.exception_handler(InvalidValue)
    async def invalid_value(_: Request, exc: InvalidValue) -> JSONResponse:
        errors = [FieldError(field=exc.field, reason=exc.message)] if exc.field else None
        return problem(
            422, "Invalid input", exc.message, kind="invalid-input", rule=exc.rule, errors=errors
        )

    @app.exception_handler(UnknownMember)
    async def unknown_member(_: Request, exc: UnknownMember) -> JSONResponse:
        return problem(404, "Not found", exc.message, kind="not-found", rule=exc.rule)

    @app.exception_handler(CommandRefused)
    async def refused(_: Request, exc: CommandRefused) -> JSONResponse:
        return problem(
            409, "Command refused by a business rule", exc.message, kind="refused", rule=exc.rule
        )

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return problem(
            409, "Command refused by a business rule", exc.message, kind="refused", rule=exc.rule
        )

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc), kind="not-found")

    @app.exception_handler(AlreadyExists)
    async def already_exists(_: Request, exc: AlreadyExists) -> JSONResponse:
        return problem(409, "Already exists", str(exc), kind="already-exists")

    @app.exception_handler(VersionMismatch)
    async def version_mismatch(_: Request, exc: VersionMismatch) -> JSONResponse:
        return problem(
            412,
            "Precondition failed",
            str(exc),
            kind="version-mismatch",
            current_version=exc.actual,
            position=exc.position,
        )

    @app.exception_handler(ConcurrencyConflict)
    async def conflict(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return problem(
            409,
            "Concurrent changes",
            str(exc),
            kind="concurrency",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(InvalidCursorError)
    async def invalid_cursor(_: Request, exc: InvalidCursorError) -> JSONResponse:
        return problem(
            422,
            "Invalid input",
            kind="invalid-input",
            errors=[FieldError(field="cursor", reason=str(exc))],
        )

    @app.exception_handler(KeyReplayed)
    async def key_replayed(request: Request, exc: KeyReplayed) -> Response:
        status, body, headers = replay(exc.outcome, request.url.path)
        kept = {k.decode(): v.decode() for k, v in headers}
        media_type = kept.pop("content-type", "application/json")
        return Response(body, status_code=status, media_type=media_type, headers=kept)

    @app.exception_handler(KeyReused)
    async def key_reused(_: Request, exc: KeyReused) -> JSONResponse:
        return problem(
            422,
            "Idempotency key reused",
            str(exc),
            kind="idempotency-key-reused",
            errors=[FieldError(field="Idempotency-Key", reason="used for another request")],
        )

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return problem(
            503,
            "Service unavailable",
            "the database cannot be reached just now; retry after Retry-After",
            kind="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    # The database down, restarting, or every pooled connection taken for longer than the
    # pool's wait (psycopg_pool's PoolTimeout is an OperationalError): the request is
    # answered at once, the service recovers when the database is back.
    for unreachable in (
        DatabaseUnavailable,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        OperationalError,
        InterfaceError,
    ):
        app.add_exception_handler(unreachable, unavailable)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", kind="internal")


# --- the language of refusals --------------------------------------------------------------

#: Every title a problem document is given (errors.py, the request guards, the uploads, and
#: the HTTP status phrases of the framework's own refusals), in Chinese.
TITLES_ZH: dict[str, str] = {
    "Invalid input": "输入无效",
    "Invalid rows": "存在无效的行",
    "Not found": "未找到",
    "Command refused by a business rule": "业务规则拒绝了此命令",
    "Already exists": "已存在",
    "Precondition failed": "前提条件不成立：版本已变更",
    "Concurrent changes": "并发修改冲突",
    "Idempotency key reused": "幂等键已被另一请求使用",
    "Service unavailable": "服务暂不可用",
    "Internal error": "内部错误",
    "Conflict": "冲突",
    "Request body too large": "请求体过大",
    "File too large": "文件过大",
    "Unsupported file type": "不支持的文件类型",
    **{
        HTTPStatus(status).phrase: words
        for status, words in (
            (400, "请求错误"),
            (401, "未认证"),
            (403, "无权执行"),
            (404, "未找到"),
            (405, "不允许的请求方法"),
            (406, "无法提供所请求的格式"),
            (409, "冲突"),
            (410, "已不存在"),
            (412, "前提条件不成立"),
            (413, "请求体过大"),
            (415, "不支持的媒体类型"),
            (422, "输入无效"),
            (429, "请求过于频繁"),
            (500, "内部错误"),
            (503, "服务暂不可用"),
        )
    },
}

#: The reasons of field errors (pydantic's, and the service's own), in Chinese: an exact
#: sentence, or a pattern whose groups are carried over.
REASONS_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), words)
    for pattern, words in (
        (r"Field required", "必填"),
        (r"Extra inputs are not permitted", "不接受此字段"),
        (UNKNOWN_QUERY_PARAMETER, "不接受此查询参数"),
        (r"JSON decode error", "不是有效的 JSON"),
        (r"JSON decode error at position (\d+)", r"不是有效的 JSON（位置 \1）"),
        (r'must be a version number, e\.g\. "3"', '应为版本号，例如 "3"'),
        (r"must carry a time zone", "必须带时区"),
        (
            r"filter by partner_id or by branch, not both",
            "按 partner_id 或按 branch 筛选，不能两者同时",
        ),
        (r"the body must be JSON in UTF-8", "请求体必须是 UTF-8 编码的 JSON"),
        (r"used for another request", "已用于另一个请求"),
        (r"1 to 200 printable characters", "1 到 200 个可打印字符"),
        (r"Input should be a valid string", "应为字符串"),
        (r"Input should be a valid integer.*", "应为整数"),
        (r"Input should be a valid number.*", "应为数字"),
        (r"Input should be a valid decimal.*", "应为十进制数"),
        (r"Input should be a valid boolean.*", "应为布尔值"),
        (r"Input should be a valid UUID.*", "应为 UUID"),
        (r"Input should be a valid datetime.*", "应为日期时间（ISO 8601，含时区）"),
        (r"Input should be a valid date.*", "应为日期（ISO 8601）"),
        (r"Input should be a valid list", "应为列表"),
        (r"Input should be a valid dictionary.*", "应为对象"),
        (r"String should have at least (\d+) characters?", r"至少 \1 个字符"),
        (r"String should have at most (\d+) characters?", r"至多 \1 个字符"),
        (r"List should have at least (\d+) items?.*", r"至少 \1 项"),
        (r"List should have at most (\d+) items?.*", r"至多 \1 项"),
        (r"Input should be greater than or equal to (.+)", r"应大于或等于 \1"),
        (r"Input should be less than or equal to (.+)", r"应小于或等于 \1"),
        (r"Input should be greater than (.+)", r"应大于 \1"),
        (r"Input should be less than (.+)", r"应小于 \1"),
        (r"Value error, (.+)", r"取值错误：\1"),
        (r"Input should be (.+)", r"应为 \1"),
    )
]

LANGUAGES = ("en", "zh")


def preferred_language(accept_language: str | None) -> str:
    """``zh`` or ``en``: the one ``Accept-Language`` ranks higher (q-values honoured, a
    region such as zh-CN or en-GB counting for its language), ``en`` if it names neither."""
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = language, q
    return best


def _reason_zh(reason: str) -> str:
    for pattern, words in REASONS_ZH:
        match = pattern.fullmatch(reason)
        if match:
            return match.expand(words)
    return reason


def translated(document: dict[str, Any], language: str) -> dict[str, Any]:
    """The problem document in ``language``: its title and field reasons; all else as is."""
    if language != "zh":
        return document
    title = document.get("title")
    out = dict(document)
    if isinstance(title, str):
        out["title"] = TITLES_ZH.get(title, title)
    errors = document.get("errors")
    if isinstance(errors, list):
        out["errors"] = [
            {**e, "reason": _reason_zh(e["reason"])}
            if isinstance(e, dict) and isinstance(e.get("reason"), str)
            else e
            for e in errors
        ]
    return out


class ProblemLanguage:
    """Answers every problem document (``application/problem+json``) in the language the
    request prefers, with ``Content-Language`` and ``Vary: Accept-Language``; every other
    answer passes through untouched, streamed as it comes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = next((v for k, v in scope["headers"] if k == b"accept-language"), b"")
        language = preferred_language(accept.decode("latin-1"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def answer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(PROBLEM_JSON.encode()):
                    start = message  # held until the body is whole
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await _send_translated(send, start, b"".join(chunks), language)
                return
            await send(message)

        await self.app(scope, receive, answer)


async def _send_translated(send: Send, start: Message, body: bytes, language: str) -> None:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and language != "en":
        body = json.dumps(translated(document, language), ensure_ascii=False).encode()
    kept = [
        (k, v)
        for k, v in start.get("headers", [])
        if k not in (b"content-length", b"content-language", b"vary")
    ]
    vary = [v for k, v in start.get("headers", []) if k == b"vary"]
    headers = [
        *kept,
        (b"content-length", str(len(body)).encode()),
        (b"content-language", b"zh-CN" if language == "zh" else b"en"),
        (b"vary", b", ".join([*vary, b"Accept-Language"])),
    ]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
