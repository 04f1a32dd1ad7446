"""The write side: one event-sourced application whose log holds every aggregate of the
product, and the services of each family of commands, composed.

``Fullchain.relationships``, ``.shipments``, ``.sales``, ``.cases``, ``.follow_ups`` and
``.staff`` each have one method per command; all decide through the one command path
(``application.commands``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, Recording

from application.branches import BranchService
from application.cases import CaseService
from application.commands import CommandPath
from application.evidence import EvidenceStore, configured_store
from application.follow_ups import FollowUpService
from application.incentives import IncentiveService
from application.marketing import MarketingService
from application.personal_data import KeyRing, PersonalDataMapper
from application.privacy import PrivacyService
from application.relationships import RelationshipService
from application.sales import SalesService
from application.self_service import SelfService
from application.shipments import ShipmentService
from application.staff import StaffService
from application.store import command_log
from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from application.tokens import StaffAccessCache
from domain.base import CommandContext


class Fullchain(Application[UUID]):
    """The write side: every aggregate of the product in one append-only log."""

    name = "fullchain"

    def __init__(self, database: Database, *, cache_size: int = 10_000) -> None:
        """``cache_size`` aggregates are kept in memory; 0 keeps none."""
        env = database.eventsourcing_env()
        if cache_size > 0:  # the library reads 0 as "no limit"
            env["AGGREGATE_CACHE_MAXSIZE"] = str(cache_size)
        env.update(
            {
                # Tables are created by `fullchain db init`, never implicitly.
                "CREATE_TABLE": "no",
                "AGGREGATE_CACHE_FASTFORWARD": "no",
                # Commands decide on the cached object itself (no copy); any failure
                # evicts it, see _execute_locked.
                "DEEPCOPY_FROM_AGGREGATE_CACHE": "no",
                "POSTGRES_LOCK_TIMEOUT": "10",
                # Commands restore an aggregate that is not cached from its latest
                # snapshot (taken off the command path, projections.snapshots); the
                # application never takes any itself (no snapshotting intervals).
                "IS_SNAPSHOTTING_ENABLED": "y",
                # The library's recorder, plus side effects in the append's transaction.
                "APPLICATION_RECORDER_TOPIC": "application.store.recorder:FullchainRecorder",
            }
        )
        #: The data subjects' keys that seal personal fields in the log.
        self.personal_keys = KeyRing(database)
        super().__init__(env)
        self.personal_keys.bind(self.recorder.datastore.get_connection)  # type: ignore[attr-defined]
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        assert self.recorder.events_table_name == EVENTS_TABLE  # type: ignore[attr-defined]
        self.commands = CommandPath(self)
        self.relationships = RelationshipService(self.commands)
        self.shipments = ShipmentService(self.commands)
        self.sales = SalesService(self.commands)
        self.cases = CaseService(self.commands)
        self.follow_ups = FollowUpService(self.commands)
        self.self_service = SelfService(self.commands, self.sales, self.cases)
        #: The staff members tokens identified in this process (``application.tokens``).
        self.staff_access = StaffAccessCache()
        self.staff = StaffService(self.commands, self.staff_access)
        #: The files attached as evidence, by their SHA-256 (``application.evidence``).
        self.evidence: EvidenceStore = configured_store()
        self.branches = BranchService(self.commands)
        #: Staff incentives (奖惩): the rules and the decisions on proposals.
        self.incentives = IncentiveService(self.commands)
        self.marketing = MarketingService(self.commands)
        #: Data subjects' rights: erasure.
        self.privacy = PrivacyService(self.commands, self.personal_keys)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save``, telling an aggregate by its class. The library tells
        aggregates from events by checking each object against two of its runtime protocols,
        which walks their members on every call (Python 3.11): 12 µs a command timed alone,
        and more among threads: 16 writers of one process spent 15% less CPU per command
        without it (bench/README (e))."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, as it calls it
        return recordings

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, sealing personal fields (``application.personal_data``)."""
        return PersonalDataMapper(self.construct_transcoder(), keys=self.personal_keys)

    def context(
        self, actor: str, *, claim: command_log.Claim | None = None, **kwargs: Any
    ) -> CommandContext:
        """The context of one command. Under an idempotency ``claim``, the command's id is
        the key's, so every retry of the request is the same command."""
        if claim is None:
            return CommandContext.issue(actor=actor, now=self.clock(), **kwargs)
        ctx = CommandContext.issue(
            actor=actor, now=self.clock(), command_id=claim.command_id, **kwargs
        )
        return command_log.ClaimedContext(**vars(ctx), request_sha256=claim.request_sha256)
