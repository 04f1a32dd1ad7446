"""The retention run: erase the personal data whose retention period ended
(``domain.retention``), except what a legal hold or an open claim keeps.

The data subjects with a live key are those of ``fullchain_data_subject`` /
``fullchain_data_key``; their facts (when the relationship ended, when a contact was
removed, when a shipment's claims are time-barred, the holds) come from their aggregates.
Each due kind of each subject not held is erased through ``PrivacyService.erase`` on the
retention basis, as the actor ``system:retention``: one ``PersonalDataErased`` event each,
naming the policy. A second run finds nothing more to erase (the keys are destroyed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from application import settings
from application.commands import NotFound
from domain.base import CommandRefused
from domain.personal import DataKind, DataSubjectKind, ErasureBasis, Subject
from domain.relationship import Relationship
from domain.retention import (
    Due,
    RetentionPolicy,
    SubjectFacts,
    default_policies,
    due,
    relationship_facts,
    signer_facts,
)
from domain.shipment import Shipment

log = logging.getLogger(__name__)

#: The actor of the erasures the retention run records: no staff member stands behind them.
RETENTION_ACTOR = "system:retention"
#: The advisory lock a retention run holds (one run at a time, whichever process).
RUN_LOCK = 0x0F11C4A1_2E7E_0041


def configured_policies() -> tuple[RetentionPolicy, ...]:
    """The policies, with the periods the settings give (``FULLCHAIN_RETENTION_*``)."""
    s = settings.load()
    return default_policies(
        notes_months=s.retention_notes_months,
        contacts_months=s.retention_contacts_months,
        signatures_months=s.retention_signatures_months,
    )


@dataclass(frozen=True)
class RetentionReport:
    as_of: datetime
    dry_run: bool
    #: Due and not held: erased (in a dry run, what would be).
    erased: tuple[Due, ...]
    #: Due, but kept by a legal hold or an open claim.
    held: tuple[Due, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "erased": [d.as_dict() for d in self.erased],
            "held": [d.as_dict() for d in self.held],
        }


class Retention:
    """Finds what is due and erases it. ``app``: the write side (``Fullchain``)."""

    def __init__(self, app: Any, policies: Sequence[RetentionPolicy] | None = None) -> None:
        self.app = app
        self.policies = tuple(policies) if policies is not None else configured_policies()

    def subjects(self) -> list[tuple[Subject, UUID, frozenset[DataKind]]]:
        """Every data subject with a live key, and the kinds of those keys."""
        with self.app.personal_keys._connection() as conn:
            rows = conn.execute(
                "SELECT s.subject_id, s.kind, s.aggregate_id, s.ref, "
                "array_agg(DISTINCT k.data_kind ORDER BY k.data_kind) AS kinds "
                "FROM fullchain_data_subject s JOIN fullchain_data_key k USING (subject_id) "
                "WHERE k.destroyed_at IS NULL "
                "GROUP BY s.subject_id, s.kind, s.aggregate_id, s.ref "
                "ORDER BY s.aggregate_id, s.subject_id"
            ).fetchall()
        return [
            (
                Subject(DataSubjectKind(r["kind"]), r["aggregate_id"], r["ref"]),
                r["subject_id"],
                frozenset(DataKind(k) for k in r["kinds"]),
            )
            for r in rows
        ]

    def facts(self) -> list[SubjectFacts]:
        """The facts of every data subject with a live key (each aggregate read once)."""
        relationships: dict[UUID, Relationship | None] = {}
        shipments: dict[UUID, Shipment | None] = {}

        def relationship(rid: UUID) -> Relationship | None:
            if rid not in relationships:
                try:
                    relationships[rid] = self.app.commands.from_log(Relationship, rid)
                except NotFound:
                    relationships[rid] = None
            return relationships[rid]

        def shipment(sid: UUID) -> Shipment | None:
            if sid not in shipments:
                try:
                    shipments[sid] = self.app.commands.from_log(Shipment, sid)
                except NotFound:
                    shipments[sid] = None
            return shipments[sid]

        found = []
        for subject, subject_id, held in self.subjects():
            if subject.kind is DataSubjectKind.SIGNER:
                carried = shipment(subject.aggregate_id)
                if carried is not None:
                    customer = relationship(carried.customer_id)
                    found.append(signer_facts(carried, customer, subject, subject_id, held))
            else:
                owner = relationship(subject.aggregate_id)
                if owner is not None:
                    found.append(relationship_facts(owner, subject, subject_id, held))
        return found

    def due(self, as_of: datetime) -> list[Due]:
        """Everything due as of ``as_of``, held or not."""
        return due(self.facts(), self.policies, as_of)

    def run(self, as_of: datetime, *, dry_run: bool = False) -> RetentionReport:
        """Erase what is due as of ``as_of`` and not held (nothing, in a dry run). Runs of
        several processes take turns (an advisory lock): each finds what the one before
        left."""
        if dry_run:
            return self._run(as_of, dry_run=True)
        # The lock's session is a connection of its own, not the pool's: the run takes
        # the pool's connections while it holds the lock.
        database = self.app.personal_keys.database
        with database.connect(purpose="retention lock", autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
            try:
                return self._run(as_of, dry_run=False)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (RUN_LOCK,))

    def _run(self, as_of: datetime, *, dry_run: bool) -> RetentionReport:
        found = self.due(as_of)
        held = tuple(d for d in found if d.held)
        erased = []
        for item in found:
            if item.held:
                continue
            if not dry_run:
                try:
                    self.app.privacy.erase(
                        self.app.context(RETENTION_ACTOR),
                        item.facts.subject_id,
                        reason=item.reason,
                        kinds=[item.policy.kind],
                        basis=ErasureBasis.RETENTION,
                    )
                except CommandRefused:
                    continue  # erased meanwhile (by a request, or another run)
            erased.append(item)
        if erased and not dry_run:
            log.info("retention: erased %d kinds of personal data as of %s", len(erased), as_of)
        return RetentionReport(as_of, dry_run, tuple(erased), held)


@dataclass
class RetentionKeeper:
    """Runs the retention every ``interval`` seconds as of the clock's now, until stopped;
    a run that fails is logged and the next one tried at its time."""

    retention: Retention
    clock: Callable[[], datetime]
    interval: float
    stopping: threading.Event = field(default_factory=threading.Event)

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                self.retention.run(self.clock())
            except Exception:
                log.exception("retention run failed")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
