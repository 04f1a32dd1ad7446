"""The composition root: database, schema, write side, read pool and projection workers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Mapper, Transcoder
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from application import console_sessions, personal_data, settings, tokens, webhooks
from application.cases import configured_sla_policy
from application.proofs import tree as log_tree
from application.proofs import witness
from application.retention import Retention, RetentionKeeper
from application.service import Fullchain
from application.store import access_log, command_log, customer_chains, integrity, recorder
from application.store.database import (
    OPEN_TIMEOUT,
    Database,
    PoolSettings,
    check_database_settings,
    configured_database,
    pool_settings,
)
from application.store.schema import (
    EVENT_STORE,
    STAFF_TOKENS,
    Migration,
    init_schema,
    runtime_role_powers,
)
from application.time_travel import POOL_SIZE as TIME_TRAVEL_POOL_SIZE
from application.time_travel import TimeTravel
from application.tokens import StaffAccessCache
from projections import status as read_model_status
from projections.account_status import migration as account_status_migration
from projections.account_status.writer import AccountStatusProjection
from projections.activity.writer import ActivityProjection
from projections.branches.writer import BranchesProjection
from projections.customer_value.queries import ValueModelCache
from projections.customer_value.writer import CustomerValueProjection
from projections.engine import BatchProjection, ProjectionWorker
from projections.follow_ups.writer import FollowUpsProjection
from projections.freshness import PositionWatch, log_head, tracking_positions
from projections.history.rendered import RenderedEntries
from projections.history.writer import HistoryProjection
from projections.marketing.writer import MarketingProjection
from projections.offerings.writer import OfferingsProjection
from projections.opportunities.writer import OpportunitiesProjection
from projections.performance.writer import PerformanceProjection
from projections.responsibility_audit import migration as responsibility_audit_migration
from projections.responsibility_audit.writer import ResponsibilityProjection
from projections.search.writer import SearchProjection
from projections.service_cases.writer import ServiceCasesProjection
from projections.snapshots.writer import SnapshotProjection

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
        ActivityProjection(),
        SearchProjection(),
        BranchesProjection(mapper),
        FollowUpsProjection(mapper),
        PerformanceProjection(),
        MarketingProjection(),
    ]


class _Unused(Transcoder):
    """Stands in for a transcoder where read models are built only to be named."""

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError


def projection_names() -> list[str]:
    """The read models' names, without a database."""
    return [p.name for p in all_projections(Mapper(transcoder=_Unused()))]


def all_migrations() -> list[Migration]:
    return [
        EVENT_STORE,
        STAFF_TOKENS,
        AccountStatusProjection.migration,
        ResponsibilityProjection.migration,
        integrity.MIGRATION,
        command_log.KEYS,
        command_log.RESPONSES,
        recorder.MIGRATION,
        tokens.MIGRATION,
        HistoryProjection.migration,
        SnapshotProjection.migration,
        OfferingsProjection.migration,  # with the opportunities' table
        ServiceCasesProjection.migration,
        CustomerValueProjection.migration,
        command_log.MIGRATION,
        recorder.COMMAND_MIGRATION,
        recorder.GROUP_MIGRATION,
        responsibility_audit_migration.DEADLINES_MIGRATION,
        responsibility_audit_migration.EXCEPTIONS_MIGRATION,
        tokens.PARTNER_MIGRATION,
        responsibility_audit_migration.ANSWER_MIGRATION,
        responsibility_audit_migration.PARTY_NAMES_MIGRATION,
        responsibility_audit_migration.CONDITIONS_MIGRATION,
        responsibility_audit_migration.LINK_COSTS_MIGRATION,
        log_tree.MIGRATION,
        access_log.MIGRATION,
        witness.MIGRATION,
        SearchProjection.migration,
        ActivityProjection.migration,
        FollowUpsProjection.migration,
        responsibility_audit_migration.ATTACHMENTS_MIGRATION,
        BranchesProjection.migration,
        PerformanceProjection.migration,
        tokens.CUSTOMER_MIGRATION,
        MarketingProjection.migration,
        read_model_status.MIGRATION,
        webhooks.MIGRATION,
        console_sessions.MIGRATION,
        personal_data.MIGRATION,
        customer_chains.MIGRATION,
        integrity.VERIFIED_MIGRATION,
        account_status_migration.INTERACTION_DAYS_MIGRATION,
    ]


def init_database(owner: Database, runtime_role: str | None = None) -> list[str]:
    """Bring the schema up to date as its owner, and the privileges of ``runtime_role``
    (None: the owner's role serves as both); return the migrations applied."""
    return init_schema(owner, all_migrations(), runtime_role=runtime_role)


class ConfigurationError(RuntimeError):
    pass


MAX_WAITING_READS_VARIABLE = "FULLCHAIN_MAX_WAITING_READS"


def max_waiting_reads() -> int:
    """How many reads of a process may wait for ``min_position`` at once (default 64)."""
    try:
        return settings.load().max_waiting_reads
    except settings.SettingsError as error:
        raise ConfigurationError(str(error)) from None


# --- a read replica (FULLCHAIN_READ_DATABASE_URL) -------------------------------------------

READ_DATABASE_URL_VARIABLE = "FULLCHAIN_READ_DATABASE_URL"


def configured_read_database() -> Database | None:
    """The streaming replica the read models are queried on, if one is configured; else
    the reads go to the primary, as the writes do (ARCHITECTURE.md, "A read replica")."""
    url = settings.load().read_database_url
    return Database(url, embedded=False) if url else None


@dataclass(frozen=True)
class ConnectionBudget:
    """The PostgreSQL connections one process holds (README, Configuration)."""

    #: Once open and idle: one in each pool, the listener, one per projection worker.
    idle: int
    #: At most: every pool full (time travel's too), one per projection worker.
    most: int


def connection_budget(workers: int, settings: PoolSettings | None = None) -> ConnectionBudget:
    """The budget of a process running ``workers`` projection workers (0: an API process
    without them; 1: ``fullchain project``, or ``serve`` with its workers — one worker runs
    every read model). Not counted: one short-lived connection per running verification,
    checkpoint or audit package, outside the pools."""
    s = settings or pool_settings()
    return ConnectionBudget(
        # +1: the listening connection (read models' positions, staff access changes).
        idle=1 + 1 + 1 + workers,
        most=s.size + s.read_size + TIME_TRAVEL_POOL_SIZE + 1 + workers,
    )


def check_configuration() -> None:
    """Refuse to start on settings that would fail later, at the first request: every
    variable of ``application.settings`` by its type, then the rules of their own."""
    try:
        settings.load()
    except settings.SettingsError as error:
        raise ConfigurationError(str(error)) from None
    problems = check_database_settings()
    try:
        configured_sla_policy()
    except ValueError as error:
        problems.append(str(error))
    try:
        integrity.configured_signing_key()
    except ValueError as error:
        problems.append(str(error))
    try:
        personal_data.configured_master_key()
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ConfigurationError("; ".join(problems))


@dataclass
class Services:
    database: Database
    app: Fullchain
    reads: ConnectionPool[Connection[DictRow]]
    projections: Sequence[BatchProjection]
    #: The read models' positions, for reads that wait to see a write (started on first use).
    positions: PositionWatch
    #: The staff members tokens identified, forgotten when their access changes.
    staff_access: StaffAccessCache
    workers: list[ProjectionWorker] = field(default_factory=list)
    keepers: list[log_tree.TreeKeeper] = field(default_factory=list)
    dispatchers: list[webhooks.WebhookDispatcher] = field(default_factory=list)
    retention_keepers: list[RetentionKeeper] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    _signing_key: Ed25519PrivateKey | None = None
    _time_travel: TimeTravel | None = None
    _time_travel_lock: threading.Lock = field(default_factory=threading.Lock)
    _value_models: ValueModelCache | None = None
    _history_entries: RenderedEntries | None = None
    _value_models_lock: threading.Lock = field(default_factory=threading.Lock)
    #: A pool on the primary for what must never be stale: tokens, the command log, the
    #: read-model rows a command decides on. None: ``reads`` is on the primary already.
    _primary: ConnectionPool[Connection[DictRow]] | None = None

    @property
    def primary(self) -> ConnectionPool[Connection[DictRow]]:
        """Connections to the primary (``reads`` itself unless a replica serves the reads)."""
        return self._primary if self._primary is not None else self.reads

    @classmethod
    def open(cls, database: Database | None = None) -> Services:
        """The service as the runtime role: the write side's pool (at most
        ``FULLCHAIN_POOL_SIZE`` connections, one kept when idle), the read pool (at most
        ``FULLCHAIN_READ_POOL_SIZE``, one kept), both waiting ``FULLCHAIN_POOL_TIMEOUT``
        seconds for a free connection."""
        database = database or configured_database()
        settings = pool_settings()
        app = Fullchain(database)
        reads: ConnectionPool[Connection[DictRow]] = ConnectionPool(
            database.labelled(),
            min_size=1,
            max_size=settings.read_size,
            timeout=settings.timeout,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
            name="reads",
        )
        reads.open(wait=True, timeout=OPEN_TIMEOUT)
        primary, reads, read_positions = _with_read_replica(reads, settings)

        def read_head() -> int:
            with primary.connection() as conn:
                return log_head(conn)

        positions = PositionWatch(
            database, read_head, max_waiting=max_waiting_reads(), read_positions=read_positions
        )
        staff_access = app.staff_access  # the one the staff commands forget in, at once
        positions.subscribe(tokens.CHANNEL, staff_access.forget, staff_access.listening)
        keys = app.personal_keys  # forgets the keys of a subject erased in any process
        positions.subscribe(personal_data.CHANNEL, keys.forget, keys.listening)
        services = cls(database, app, reads, all_projections(app.mapper), positions, staff_access)
        services._primary = primary if primary is not reads else None
        services.warn_if_the_log_is_not_protected()
        positions.start()
        return services

    def warn_if_the_log_is_not_protected(self) -> None:
        with self.primary.connection() as conn:
            powers = runtime_role_powers(conn)
        if powers:
            log.warning(
                "the service connects as role %s, which can change the event log other than "
                "by appending (%s): its append-only rule then rests on that role's honesty. "
                "Give the schema its own owner: set FULLCHAIN_OWNER_DATABASE_URL to that "
                "role, FULLCHAIN_DATABASE_URL to a role that owns nothing, and run "
                "`fullchain db init`",
                self.database.role,
                "; ".join(powers),
            )

    def signing_key(self) -> Ed25519PrivateKey:
        """The key that signs checkpoints (loaded, or generated, on first use)."""
        if self._signing_key is None:
            self._signing_key = integrity.signing_key(self.database)
        return self._signing_key

    def history_entries(self) -> RenderedEntries:
        """The history entries this process rendered last, as answered."""
        if self._history_entries is None:
            with self._time_travel_lock:
                if self._history_entries is None:
                    self._history_entries = RenderedEntries(self.app.personal_keys)
        return self._history_entries

    def time_travel(self) -> TimeTravel:
        """Aggregates as they were, from snapshots and the log (opened on first use)."""
        with self._time_travel_lock:
            if self._time_travel is None:
                self._time_travel = TimeTravel(self.database, keys=self.app.personal_keys)
            return self._time_travel

    def value_models(self) -> ValueModelCache:
        """The customer-value models, fitted when first asked and refitted as histories
        and days change."""
        with self._value_models_lock:
            if self._value_models is None:
                self._value_models = ValueModelCache(self.reads, clock=lambda: self.app.clock())
            return self._value_models

    def worker(self, projection: BatchProjection, **kwargs: float | int) -> ProjectionWorker:
        return ProjectionWorker(self.database, projection, self.app.mapper, **kwargs)  # type: ignore[arg-type]

    def webhook_dispatcher(self, **kwargs: Any) -> webhooks.WebhookDispatcher:
        """The webhooks' delivery worker on this service's log and clock."""
        return webhooks.WebhookDispatcher(
            self.database, self.app.mapper, clock=lambda: self.app.clock(), **kwargs
        )

    def retention(self) -> Retention:
        """The retention of personal data, with the configured policies."""
        return Retention(self.app)

    def start_workers(
        self,
        *,
        batch_size: int = 1000,
        tree: bool = False,
        webhooks: bool = False,
        retention: bool = False,
    ) -> None:
        """Run the projection worker in a thread of this process: one worker for every
        read model, reading each batch of the log once (one connection); with ``tree``,
        also keep the log's Merkle tree up to date in a thread of its own; with
        ``webhooks``, deliver the webhooks in another (``application.webhooks``); with
        ``retention``, erase what is due every ``FULLCHAIN_RETENTION_INTERVAL`` seconds
        (unless 0) in another (``application.retention``)."""
        worker = ProjectionWorker(
            self.database, self.projections, self.app.mapper, batch_size=batch_size
        )
        thread = threading.Thread(target=worker.run_forever, name="projections", daemon=True)
        thread.start()
        self.workers.append(worker)
        self.threads.append(thread)
        if tree:
            keeper = log_tree.TreeKeeper(log_tree.LogTree(self.database, self.app.mapper))
            keeping = threading.Thread(target=keeper.run_forever, name="tree", daemon=True)
            keeping.start()
            self.keepers.append(keeper)
            self.threads.append(keeping)
        if webhooks:
            dispatcher = self.webhook_dispatcher()
            delivering = threading.Thread(
                target=dispatcher.run_forever, name="webhooks", daemon=True
            )
            delivering.start()
            self.dispatchers.append(dispatcher)
            self.threads.append(delivering)
        interval = settings.load().retention_interval
        if retention and interval > 0:
            eraser = RetentionKeeper(self.retention(), lambda: self.app.clock(), interval)
            erasing = threading.Thread(target=eraser.run_forever, name="retention", daemon=True)
            erasing.start()
            self.retention_keepers.append(eraser)
            self.threads.append(erasing)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for keeper in self.keepers:
            keeper.stop()
        for dispatcher in self.dispatchers:
            dispatcher.stop()
        for retention_keeper in self.retention_keepers:
            retention_keeper.stop()
        for thread in self.threads:
            thread.join(timeout=10)
        self.positions.close()
        self.reads.close()
        if self._primary is not None:
            self._primary.close()
        self.app.close()
        if self._time_travel is not None:
            self._time_travel.close()


ReadPool = ConnectionPool[Connection[DictRow]]


def _with_read_replica(
    primary: ReadPool, settings: PoolSettings
) -> tuple[ReadPool, ReadPool, Callable[[], dict[str, int]] | None]:
    """The pool on the primary, the pool the reads use, and how the position watch reads
    the read models' positions where the reads are (None: from the primary). Without
    ``FULLCHAIN_READ_DATABASE_URL`` the reads use the primary's pool."""
    replica = configured_read_database()
    if replica is None:
        return primary, primary, None
    reads: ReadPool = ConnectionPool(
        replica.labelled(),
        min_size=1,
        max_size=settings.read_size,
        timeout=settings.timeout,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        name="replica-reads",
    )
    reads.open(wait=True, timeout=OPEN_TIMEOUT)

    def read_positions() -> dict[str, int]:
        with reads.connection() as conn:
            return tracking_positions(conn)

    return primary, reads, read_positions
