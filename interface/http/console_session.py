"""/console/session: the console's sign-in (a password, or a one-time link) into a session
cookie, what the page needs of its session (the CSRF token), and sign-out.

These routes are the console's, like its pages: outside the API document
(``include_in_schema=False``), public (``PUBLIC``: they identify their caller themselves),
and never commands (no Idempotency-Key is kept for them, so no hash of a password is).
API clients keep using bearer tokens; see ``application.console_sessions``."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from application import console_sessions, passwords
from interface.http.deps import PUBLIC, ServicesDep
from interface.http.errors import responses
from interface.http.fields import STAFF_ID_PATTERN

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console/session", include_in_schema=False)


class SignIn(BaseModel):
    """A staff id and password, or the secret of a one-time sign-in link."""

    staff_id: str | None = Field(None, min_length=1, max_length=64, pattern=STAFF_ID_PATTERN)
    password: str | None = Field(None, min_length=1, max_length=passwords.MAX_LENGTH)
    link: str | None = Field(None, min_length=1, max_length=200)


class SessionView(BaseModel):
    staff_id: str
    name: str
    csrf_token: str = Field(description="Send it back in X-CSRF-Token on every change")
    expires_at: datetime


REFUSED = "the staff id or password was not accepted"
LINK_REFUSED = "the sign-in link is unknown, used or expired"


async def _sign_in_body(request: Request) -> SignIn:
    """The body, as JSON or as a form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "not JSON", "type": "json_invalid"}]
            ) from None
    try:
        body = SignIn.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    if body.link is None and (body.staff_id is None or body.password is None):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "password" if body.staff_id else "staff_id"),
                    "msg": "a staff id and password, or a sign-in link",
                    "type": "missing",
                }
            ]
        )
    return body


def _set_cookie(request: Request, response: Response, opened: console_sessions.Opened) -> None:
    response.set_cookie(
        console_sessions.SESSION_COOKIE,
        opened.cookie,
        max_age=int(console_sessions.SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


@router.post(
    "",
    dependencies=[Depends(PUBLIC)],
    response_model=SessionView,
    responses=responses(401, 422, 429),
)
async def sign_in(request: Request, response: Response, s: ServicesDep) -> SessionView:
    """Sign in: the same 401 for an unknown staff id and a wrong password; 429 with
    Retry-After after too many failures of one staff id."""
    body = await _sign_in_body(request)
    now = s.app.clock()

    def decide() -> tuple[str, str, console_sessions.Opened] | int | None:
        with s.reads.connection() as conn:
            if body.link is not None:
                staff_id = console_sessions.consume_link(conn, body.link, now)
                if staff_id is None:
                    return None
            else:
                staff_id = str(body.staff_id)
                wait = console_sessions.retry_after(conn, staff_id, now)
                if wait is not None:
                    return wait
                stored = console_sessions.password_hash(conn, staff_id)
                if not passwords.verify_password(stored, str(body.password)):
                    console_sessions.record_failure(conn, staff_id, now)
                    return None
            found = conn.execute(
                "SELECT name FROM staff_access WHERE staff_id = %s AND active", (staff_id,)
            ).fetchone()
            if found is None:
                return None
            name = str(next(iter(found.values())))
            return staff_id, name, console_sessions.open_session(conn, staff_id, now)

    outcome = await run_in_threadpool(decide)
    if isinstance(outcome, int):
        log.warning("console sign-in of %s refused: too many failures", body.staff_id)
        raise HTTPException(
            429,
            f"too many failed sign-ins of this staff id; retry after {outcome} s",
            headers={"Retry-After": str(outcome)},
        )
    if outcome is None:
        log.warning("console sign-in refused (%s)", body.staff_id or "one-time link")
        raise HTTPException(401, LINK_REFUSED if body.link is not None else REFUSED)
    staff_id, name, opened = outcome
    log.info("console sign-in of %s", staff_id)
    _set_cookie(request, response, opened)
    response.headers["Cache-Control"] = "no-store"
    return SessionView(
        staff_id=staff_id, name=name, csrf_token=opened.csrf_token, expires_at=opened.expires_at
    )


async def _session(request: Request, s: ServicesDep) -> console_sessions.Session | None:
    cookie = request.cookies.get(console_sessions.SESSION_COOKIE)
    if not cookie:
        return None
    now = s.app.clock()

    def lookup() -> console_sessions.Session | None:
        with s.reads.connection() as conn:
            return console_sessions.find_session(conn, cookie, now)

    return await run_in_threadpool(lookup)


@router.get(
    "",
    dependencies=[Depends(PUBLIC)],
    response_model=SessionView,
    responses=responses(401),
)
async def current(request: Request, response: Response, s: ServicesDep) -> SessionView:
    """The session the cookie holds, with its CSRF token (401 if none)."""
    session = await _session(request, s)
    if session is None:
        raise HTTPException(401, "no console session: sign in")
    response.headers["Cache-Control"] = "no-store"
    return SessionView(
        staff_id=session.staff.staff_id,
        name=session.staff.display_name,
        csrf_token=session.csrf_token,
        expires_at=session.expires_at,
    )


@router.delete(
    "",
    dependencies=[Depends(PUBLIC)],
    status_code=204,
    responses=responses(403),
)
async def sign_out(request: Request, s: ServicesDep) -> Response:
    """End the session (with its CSRF token: 403 without); the cookie is cleared. With no
    session, nothing to end: 204 all the same."""
    session = await _session(request, s)
    cookie = request.cookies.get(console_sessions.SESSION_COOKIE, "")
    if session is not None:
        sent = request.headers.get(console_sessions.CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise HTTPException(
                403, f"signing out needs the session's {console_sessions.CSRF_HEADER}"
            )

        def end() -> None:
            with s.reads.connection() as conn:
                console_sessions.end_session(conn, cookie)

        await run_in_threadpool(end)
        log.info("console sign-out of %s", session.staff.staff_id)
    response = Response(status_code=204)
    response.delete_cookie(
        console_sessions.SESSION_COOKIE,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
