"""The composition root: database, schema, write side, read pool and projection workers."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Mapper
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from application import idempotency, integrity, recorder, tokens
from application.database import Database, configured_database
from application.sales import configured_sla_policy
from application.schema import EVENT_STORE, STAFF_TOKENS, Migration, init_schema
from application.service import Fullchain
from application.time_travel import TimeTravel
from projections import account_status, history, responsibility, snapshots, value
from projections.account_status import AccountStatusProjection
from projections.cases import ServiceCasesProjection
from projections.engine import BatchProjection, ProjectionWorker
from projections.history import HistoryProjection
from projections.offerings import OfferingsProjection
from projections.opportunities import OpportunitiesProjection
from projections.responsibility import ResponsibilityProjection
from projections.snapshots import SnapshotProjection
from projections.value import CustomerValueProjection
from projections.value_queries import ValueModelCache

log = logging.getLogger(__name__)


def all_projections(mapper: Mapper[Any]) -> list[BatchProjection]:
    return [
        AccountStatusProjection(),
        ResponsibilityProjection(mapper),
        HistoryProjection(),
        SnapshotProjection(mapper),
        OfferingsProjection(mapper),
        OpportunitiesProjection(mapper),
        ServiceCasesProjection(mapper),
        CustomerValueProjection(),
    ]


def all_migrations() -> list[Migration]:
    return [
        EVENT_STORE,
        STAFF_TOKENS,
        account_status.MIGRATION,
        responsibility.MIGRATION,
        integrity.MIGRATION,
        idempotency.MIGRATION,
        idempotency.RESPONSES,
        recorder.MIGRATION,
        tokens.MIGRATION,
        history.MIGRATION,
        snapshots.MIGRATION,
        OfferingsProjection.migration,  # with the opportunities' table
        ServiceCasesProjection.migration,
        value.MIGRATION,
    ]


def init_database(database: Database) -> list[str]:
    return init_schema(database, all_migrations())


class ConfigurationError(RuntimeError):
    pass


def check_configuration() -> None:
    """Refuse to start on settings that would fail later, at the first request."""
    problems: list[str] = []
    try:
        configured_sla_policy()
    except ValueError as error:
        problems.append(str(error))
    try:
        integrity.configured_signing_key()
    except ValueError as error:
        problems.append(str(error))
    hours = os.environ.get("FULLCHAIN_UNASSIGNED_INCIDENT_HOURS")
    if hours is not None:
        try:
            if float(hours) <= 0:
                raise ValueError
        except ValueError:
            problems.append(
                f"FULLCHAIN_UNASSIGNED_INCIDENT_HOURS={hours!r} is not a positive number"
            )
    if problems:
        raise ConfigurationError("; ".join(problems))


@dataclass
class Services:
    database: Database
    app: Fullchain
    reads: ConnectionPool[Connection[DictRow]]
    projections: Sequence[BatchProjection]
    workers: list[ProjectionWorker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    _signing_key: Ed25519PrivateKey | None = None
    _time_travel: TimeTravel | None = None
    _time_travel_lock: threading.Lock = field(default_factory=threading.Lock)
    _value_models: ValueModelCache | None = None
    _value_models_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, database: Database | None = None) -> Services:
        database = database or configured_database()
        app = Fullchain(database)
        reads: ConnectionPool[Connection[DictRow]] = ConnectionPool(
            database.conninfo,
            min_size=1,
            max_size=8,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=True,
        )
        return cls(database, app, reads, all_projections(app.mapper))

    def signing_key(self) -> Ed25519PrivateKey:
        """The key that signs checkpoints (loaded, or generated, on first use)."""
        if self._signing_key is None:
            self._signing_key = integrity.signing_key(self.database)
        return self._signing_key

    def time_travel(self) -> TimeTravel:
        """Aggregates as they were, from snapshots and the log (opened on first use)."""
        with self._time_travel_lock:
            if self._time_travel is None:
                self._time_travel = TimeTravel(self.database)
            return self._time_travel

    def value_models(self) -> ValueModelCache:
        """The customer-value models, fitted when first asked and refitted as histories
        and days change."""
        with self._value_models_lock:
            if self._value_models is None:
                self._value_models = ValueModelCache(self.reads)
            return self._value_models

    def worker(self, projection: BatchProjection, **kwargs: float | int) -> ProjectionWorker:
        return ProjectionWorker(self.database, projection, self.app.mapper, **kwargs)  # type: ignore[arg-type]

    def start_workers(self, *, batch_size: int = 1000) -> None:
        """Run every projection worker in a thread of this process."""
        for projection in self.projections:
            worker = self.worker(projection, batch_size=batch_size)
            thread = threading.Thread(
                target=worker.run_forever, name=f"projection-{projection.name}", daemon=True
            )
            thread.start()
            self.workers.append(worker)
            self.threads.append(thread)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout=10)
        self.reads.close()
        self.app.close()
        if self._time_travel is not None:
            self._time_travel.close()
