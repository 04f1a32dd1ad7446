"""The HTTP app for a process manager: ``create()`` opens the service from the settings,
without projection workers, and closes it when the server shuts the app down.

::

    uvicorn --factory interface.asgi:create --workers 4
    gunicorn -k uvicorn.workers.UvicornWorker -w 4 'interface.asgi:create()'

Each API process calls ``create()`` once and holds its own pools (README, Configuration:
the connection budget of a process without workers); the projection workers run
elsewhere (``fullchain project``, or the parent of ``fullchain serve --processes N``).
The schema must be up to date already (``fullchain db init``): an API process never
migrates, so many of them can start at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from application import settings
from application.store.database import configured_database
from application.store.schema import SchemaNotReady, missing_migrations
from interface import heap, logs
from interface.http.app import create_app
from interface.runtime import Services, all_migrations, check_configuration


def create() -> FastAPI:
    """The app of one API process: its service opened now, closed at shutdown."""
    check_configuration()
    if not logging.getLogger().handlers:  # a fresh worker process: log as ``fullchain`` does
        logs.configure(settings.load().log_format)
    database = configured_database()
    missing = missing_migrations(database, all_migrations())
    if missing:
        raise SchemaNotReady(missing)
    services = Services.open(database)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            services.close()

    try:
        app = create_app(services, lifespan=lifespan)
    except BaseException:
        services.close()
        raise
    heap.settle()
    return app
