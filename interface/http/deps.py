"""What every endpoint needs: the services, the staff member and the roles it allows, If-Match,
fresh reads."""

from __future__ import annotations

import hmac
import logging
import re
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from starlette.concurrency import run_in_threadpool

from application import console_sessions
from application.commands import CommandResult
from application.tokens import StaffMember, identify
from domain.base import CommandContext
from domain.staff import Role
from interface import logs
from interface.http import scoping
from interface.http.checkout import Checkout, checkout
from interface.http.errors import invalid_input
from interface.runtime import Services
from projections.freshness import BeyondTheLog, ReadConnection, TooManyWaiting

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="A staff member's bearer token")


def _services_of(request: Request) -> Services:
    s: Services = request.app.state.services
    return s


async def services(request: Request) -> Services:
    """The process's services. (Dependencies that do no I/O are coroutines: a plain
    function would cost each request a trip to the thread pool.)"""
    return _services_of(request)


ServicesDep = Annotated[Services, Depends(services)]


async def read_connection(request: Request) -> ReadConnection:
    """A connection of the read pool for the endpoint's queries (on the read replica, if
    one is configured). Taken on the event loop, when one is idle or in turn
    (``interface.http.checkout``: no trip to the thread pool for it; after
    ``FULLCHAIN_POOL_TIMEOUT``, 503); given back as the endpoint returns, before its answer
    is serialised and sent, so that a connection is held only while it is used."""
    return await _pooled(request, _services_of(request).reads)


async def primary_connection(request: Request) -> ReadConnection:
    """As ``read_connection``, on the primary: for a command that decides on read-model
    rows (never on a replica's, however briefly behind)."""
    return await _pooled(request, _services_of(request).primary)


async def _pooled(request: Request, pool: ConnectionPool[ReadConnection]) -> ReadConnection:
    """A connection of ``pool``, given back on the exit stack FastAPI closes as the
    endpoint returns (where a dependency of scope ``function`` ends). Not a dependency
    with ``yield``: FastAPI wraps each of those in a context manager and a cancel scope of
    its own (0.05 ms of an account-status read's 0.86 ms of CPU, in-process)."""
    turns = checkout(pool)
    conn = await turns.take()
    returned: AsyncExitStack = request.scope["fastapi_function_astack"]
    returned.push_async_callback(_give_back, pool, conn, turns)
    return conn


async def _give_back(
    pool: ConnectionPool[ReadConnection], conn: ReadConnection, turns: Checkout[ReadConnection]
) -> None:
    try:
        if conn.pgconn.transaction_status == TransactionStatus.IDLE:
            pool.putconn(conn)  # no I/O: an idle connection goes straight back
        else:  # left in a transaction or broken: rolled back or closed, with I/O
            await run_in_threadpool(pool.putconn, conn)
    finally:
        turns.wake()


Reads = Annotated[ReadConnection, Depends(read_connection)]
PrimaryReads = Annotated[ReadConnection, Depends(primary_connection)]


class Allowed:
    """The roles that may call an endpoint, declared by the endpoint on its staff parameter
    with a role set of ``interface.http.permissions``::

        staff: Annotated[StaffMember, Depends(Allowed(WORK))]

    ``current_staff`` reads the declaration of the route a request reached and refuses
    anyone with none of these roles, before anything else of the route runs; as the
    parameter's dependency, it gives the staff member it let in."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(self, staff: Staff) -> StaffMember:
        return staff


class Public:
    """Declares an endpoint public: called with no token (``/v1/public/...``), by no staff
    member; it guards itself against abuse. Declared on the route::

        @router.post("/v1/public/...", dependencies=[Depends(PUBLIC)])
    """

    async def __call__(self) -> None:
        return None


PUBLIC = Public()

#: Who calls a public endpoint: no one the service knows, with no role.
ANONYMOUS = StaffMember("anonymous", "Anonymous")


def is_public(route: APIRoute) -> bool:
    return any(isinstance(d.call, Public) for d in route.dependant.dependencies)


def declared_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles the route declares it allows; None if it declares none, or more than once."""
    declared = [d.call for d in route.dependant.dependencies if isinstance(d.call, Allowed)]
    return declared[0].roles if len(declared) == 1 else None


async def current_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffMember:
    """The staff member the bearer token (or, with none, the console's session cookie)
    identifies, if one of their roles is one the endpoint declares (``Allowed``) and they
    may call it on this resource (else 401 or 403, and the refusal is logged). A request of
    a session that may change something (not GET, HEAD or OPTIONS) must carry the session's
    CSRF token in ``X-CSRF-Token`` (else 403); a bearer token needs none. A public
    endpoint's caller is ``ANONYMOUS``."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and is_public(route):
        return ANONYMOUS
    s = _services_of(request)
    endpoint = f"{request.method} {route.path if isinstance(route, APIRoute) else request.url.path}"
    if credentials is None or credentials.scheme.lower() != "bearer":
        cookie = request.cookies.get(console_sessions.SESSION_COOKIE)
        if not cookie:
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        staff = await _session_staff(request, s, cookie, endpoint)
    else:
        staff = await _token_staff(s, credentials.credentials)
    roles = declared_roles(route) if isinstance(route, APIRoute) else None
    if not staff.roles & (roles or frozenset()):
        _refuse(staff, endpoint, "no role of theirs may call this endpoint")
    if not staff.sees_all_branches:
        why = await scoping.refusal(request, s.app, staff)
        if why is not None:
            _refuse(staff, endpoint, why)
    return staff


async def _session_staff(request: Request, s: Services, cookie: str, endpoint: str) -> StaffMember:
    """The staff member of the console session the cookie holds; for a request that may
    change something, only with the session's CSRF token."""
    now = s.app.clock()

    def lookup() -> console_sessions.Session | None:
        with s.reads.connection() as conn:
            return console_sessions.find_session(conn, cookie, now)

    session = await run_in_threadpool(lookup)
    if session is None:
        raise HTTPException(
            401,
            "the console session has ended: sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if request.method not in console_sessions.SAFE_METHODS:
        sent = request.headers.get(console_sessions.CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            _refuse(
                session.staff,
                endpoint,
                f"a console session's {console_sessions.CSRF_HEADER} is missing or wrong",
            )
    return session.staff


async def _token_staff(s: Services, token: str) -> StaffMember:
    staff = s.staff_access.cached(token)  # known here: no lookup, no thread
    if staff is None:
        heard_since = s.staff_access.changes

        def lookup() -> StaffMember | None:
            with s.primary.connection() as conn:  # a revoked token: refused at once
                return identify(conn, token)

        staff = await run_in_threadpool(lookup)
        if staff is not None:
            s.staff_access.keep(token, staff, heard_since=heard_since)
    if staff is None:
        raise HTTPException(
            401, "the token identifies no staff member", headers={"WWW-Authenticate": "Bearer"}
        )
    return staff


def _refuse(staff: StaffMember, endpoint: str, why: str) -> None:
    roles = ", ".join(sorted(r.value for r in staff.roles)) or "no roles"
    log.warning("refused %s (%s, %s) %s: %s", staff.staff_id, roles, staff.branch, endpoint, why)
    raise HTTPException(403, f"{staff.staff_id} ({roles}) may not do this: {why}")


def scoped_branch(staff: StaffMember, requested: str | None) -> str | None:
    """The branch filter a list may use: branch staff see their own branch only."""
    if staff.sees_all_branches:
        return requested
    if requested is not None and requested != staff.branch:
        _refuse(staff, "list", f"branch {requested!r} is not theirs")
    return staff.branch


def partner_filter(staff: StaffMember, customer_id: object | None) -> None:
    """A partner user knows no customer of a shipment: a filter by one is refused (403),
    so no answer tells which customer a shipment is for."""
    if staff.partner_id is not None and customer_id is not None:
        _refuse(staff, "list", "a partner user does not filter shipments by customer")


Staff = Annotated[StaffMember, Depends(current_staff)]

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
#: What the document tells clients If-Match may hold: a version as ETag gives it, or "*".
_IF_MATCH_DOCUMENTED = r'^[ \t]*(\*|(W/)?"?[0-9]{1,18}"?)[ \t]*$'


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The version the command expects, as returned in ETag (e.g. "3")',
            json_schema_extra={"pattern": _IF_MATCH_DOCUMENTED},
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _IF_MATCH.match(if_match)
    if not match:
        raise invalid_input("header", "If-Match", 'must be a version number, e.g. "3"')
    return int(match.group(1))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


#: PostgreSQL text cannot hold U+0000, so no text from a client may carry it: stored, it
#: would stop every projection that copies it into a read model.
NUL = "\x00"
NUL_REASON = "text must not contain the NUL character (U+0000)"


def _without_nul(text: str | None) -> str | None:
    if text is not None and NUL in text:
        raise PydanticCustomError("text_nul", NUL_REASON)
    return text


#: For query parameters whose text reaches a query of the read models.
NoNul = AfterValidator(_without_nul)


def _nul_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where in a JSON document a string (value or key) carries U+0000, if anywhere."""
    if isinstance(value, str):
        return loc if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return (*loc, key)
            found = _nul_at(item, (*loc, str(key)))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*loc, index))
            if found is not None:
                return found
    return None


class CommandMeta(BaseModel):
    """Fields every command accepts besides its own."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: datetime | None = Field(
        None,
        description="Business time, with time zone; may be in the past, "
        "never more than 5 minutes ahead. Defaults to now.",
    )
    correlation_id: str | None = Field(None, min_length=1, max_length=100)
    causation_id: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_anywhere(cls, data: Any) -> Any:
        loc = _nul_at(data)
        if loc is not None:
            error = InitErrorDetails(
                type=PydanticCustomError("text_nul", NUL_REASON), loc=loc, input=data
            )
            raise ValidationError.from_exception_data(cls.__name__, [error])
        return data


def context(request: Request, staff: StaffMember, meta: CommandMeta) -> CommandContext:
    """The context of the request's command: the staff member, the business time and
    conversation the body gives, and the request's idempotency claim, if any (the request
    guards put it in the request's state)."""
    ctx = _services_of(request).app.context(
        staff.staff_id,
        claim=getattr(request.state, "idempotency_claim", None),
        occurred_at=meta.occurred_at,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
        branch_scope=None if staff.sees_all_branches else staff.branch,
    )
    logs.note(correlation_id=ctx.correlation_id, command_id=ctx.command_id)
    return ctx


class CommandAccepted(BaseModel):
    aggregate_id: str
    version: int = Field(description="The aggregate's version after the command; use in If-Match")
    position: int = Field(description="Log position of the last event; use as min_position")

    @classmethod
    def of(cls, result: CommandResult) -> CommandAccepted:
        return cls(
            aggregate_id=str(result.aggregate_id),
            version=result.version,
            position=result.position,
        )


def _not_yet(min_position: int) -> HTTPException:
    return HTTPException(
        503,
        f"the read model has not yet reached position {min_position}",
        headers={"Retry-After": "1"},
    )


MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Answer only once the read model includes this log position"),
]
Wait = Annotated[
    float, Query(ge=0, le=10, description="Seconds to wait for min_position before a 503")
]


def fresh(*read_models: str) -> Any:
    """A route dependency: read-your-writes. With ``min_position``, the read waits until
    ``read_models`` have applied it — after the caller is identified, before any database
    connection is taken, as a coroutine on the process's position watch — or answers 503
    after ``wait`` seconds, or at once when too many reads wait already; 422 for a
    position beyond the end of the log."""

    async def wait_until_fresh(
        request: Request,
        staff: Staff,
        min_position: MinPosition = None,
        wait: Wait = 2.0,
    ) -> None:
        if min_position is None:
            return
        watch = _services_of(request).positions
        try:
            reached = await watch.wait(read_models, min_position, timeout=wait)
        except BeyondTheLog as beyond:
            raise invalid_input(
                "query", "min_position", f"lies beyond the end of the log (position {beyond.head})"
            ) from None
        except TooManyWaiting:
            raise HTTPException(
                503,
                "too many reads are waiting for positions just now",
                headers={"Retry-After": "1"},
            ) from None
        if not reached:
            raise _not_yet(min_position)

    return Depends(wait_until_fresh)
