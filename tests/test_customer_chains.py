"""Each customer's sequence number and chain hash, fixed by the append's own transaction:
there as soon as the append commits, consecutive under concurrent appends, untouched by
an append that rolls back, the owner of every owned aggregate read from its first event,
and the same chains the tree builder used to compute."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import DataError, StoredEvent

from application.proofs.customer_map import GENESIS, chain_next, head_value, key_of
from application.proofs.tree import LogTree, entry_leaf_hash
from application.store.customer_chains import BACKFILL, OWNER_FIELDS
from application.store.database import Database
from domain.base import CommandContext
from domain.competitor import CompetitorProfile
from domain.follow_up import CarePlan, FollowUp, FollowUpKind, IntervalUnit, SubjectKind
from domain.opportunity import Opportunity
from domain.ownership import OWNERS, aggregate_type_of
from domain.relationship import Relationship, RelationshipKind
from domain.service_case import CaseKind, Priority, ServiceCase
from interface.runtime import Services
from tests.branches import BRANCH_EVENTS as B
from tests.domain.test_shipment import CUSTOMER, DAY_ONE, book
from tests.test_integrity import write_history
from tests.waiting import wait_until

#: An advisory lock a test holds to keep an append's transaction open.
HOLD = 0x63757374


def ctx() -> CommandContext:
    return CommandContext.issue(actor="li.wei", now=DAY_ONE, occurred_at=DAY_ONE)


def relationship(name: str, kind: RelationshipKind = RelationshipKind.CUSTOMER) -> Relationship:
    return Relationship.register(
        ctx(), name=name, kind=kind, industry="electronics", region="East", branch="Suzhou"
    )


def follow_up(relationship_id: UUID) -> FollowUp:
    return FollowUp.schedule(
        ctx(),
        relationship_id=relationship_id,
        subject_kind=SubjectKind.RELATIONSHIP,
        subject_id=relationship_id,
        kind=FollowUpKind.CALL,
        due_at=DAY_ONE + timedelta(days=3),
        assignee="li.wei",
    )


def log(services: Services) -> list[tuple[int, UUID, int, str, bytes, bytes]]:
    """Every entry: position, aggregate id, version, topic, state, and its leaf hash
    computed here from the stored row."""
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            "recorded_at FROM fullchain_events ORDER BY notification_id"
        ).fetchall()
    return [
        (
            int(position),
            aggregate_id,
            int(version),
            topic,
            bytes(state),
            entry_leaf_hash(
                position=position,
                aggregate_id=aggregate_id,
                version=version,
                topic=topic,
                state=bytes(state),
                recorded_at=recorded_at,
            ),
        )
        for position, aggregate_id, version, topic, state, recorded_at in rows
    ]


def recorded(services: Services) -> dict[int, tuple[UUID, int, bytes]]:
    """Per position: the customer, sequence number and chain its append recorded."""
    with services.database.connect() as conn:
        return {
            int(p): (c, int(s), bytes(h))
            for p, c, s, h in conn.execute(
                "SELECT position, customer_id, seq, chain FROM fullchain_customer_seq"
            )
        }


def heads(services: Services) -> dict[UUID, tuple[int, bytes]]:
    with services.database.connect() as conn:
        return {
            c: (int(s), bytes(h))
            for c, s, h in conn.execute(
                "SELECT customer_id, seq, chain FROM fullchain_customer_head"
            )
        }


def expected_chains(
    services: Services,
) -> tuple[dict[int, tuple[UUID, int, bytes]], dict[UUID, tuple[int, bytes]]]:
    """The customers' chains computed here from the log: owners by ``OWNERS`` from each
    aggregate's first event, chains by ``chain_next`` over the leaf hashes."""
    owner: dict[UUID, UUID] = {}
    chains: dict[int, tuple[UUID, int, bytes]] = {}
    head: dict[UUID, tuple[int, bytes]] = {}
    for position, aggregate_id, version, topic, state, leaf in log(services):
        owns = OWNERS.get(aggregate_type_of(topic))
        if owns is None:
            continue
        if version == 1:
            event = services.app.mapper.to_domain_event(
                StoredEvent(aggregate_id, version, topic, state)
            )
            owner[aggregate_id] = owns(event)
        customer = owner[aggregate_id]
        seq, chain = head.get(customer, (0, GENESIS))
        head[customer] = (seq + 1, chain_next(chain, seq + 1, leaf))
        chains[position] = (customer, *head[customer])
    return chains, head


def test_the_owner_map_in_sql_is_the_domains() -> None:
    assert set(OWNER_FIELDS) == set(OWNERS)
    for aggregate_type, field in OWNER_FIELDS.items():
        first = SimpleNamespace(originator_id=uuid4(), customer_id=uuid4(), relationship_id=uuid4())
        assert OWNERS[aggregate_type](first) == getattr(first, field), aggregate_type


def test_an_entry_has_its_customers_number_and_chain_as_soon_as_its_append_commits(
    services: Services,
) -> None:
    write_history(services, 2)  # two relationships, three commands each
    with services.database.connect() as conn:
        built = conn.execute("SELECT count(*) FROM fullchain_tree_leaf").fetchone()
    assert built == (0,)  # no tree builder has run
    chains, head = expected_chains(services)
    assert len(chains) == 6
    assert recorded(services) == chains
    assert heads(services) == head
    assert sorted(seq for seq, _ in head.values()) == [3, 3]


def test_each_owned_aggregate_gets_its_owner_at_its_first_append(services: Services) -> None:
    customer = relationship("Suzhou Electronics")
    competitor = relationship("Rival Freight", RelationshipKind.COMPETITOR)
    opportunity = Opportunity.identify(
        ctx(),
        relationship_id=customer.id,
        relationship_kind="customer",
        title="Air freight to Chicago",
        offering_id=uuid4(),
        offering_active=True,
        expected_value=Decimal("120000"),
        currency="CNY",
        probability=Decimal("0.4"),
    )
    case = ServiceCase.open(
        ctx(),
        relationship_id=customer.id,
        relationship_kind="customer",
        kind=CaseKind.INQUIRY,
        priority=Priority.NORMAL,
        subject="Transit time",
        description="How long to Chicago by air?",
    )
    profile = CompetitorProfile.start(
        ctx(), relationship_id=competitor.id, relationship_kind="competitor"
    )
    plan, first = CarePlan.start(
        ctx(),
        relationship_id=customer.id,
        kind=FollowUpKind.CARE_ACTION,
        every=1,
        unit=IntervalUnit.MONTHS,
        assignee="li.wei",
        first_due_at=DAY_ONE + timedelta(days=30),
    )
    shipment = book()
    owned: list[Aggregate] = [customer, competitor, opportunity, case, profile, plan, first]
    services.app.save(*owned, shipment)

    with services.database.connect() as conn:
        owners = dict(conn.execute("SELECT aggregate_id, customer_id FROM fullchain_owner"))
    assert owners == {
        customer.id: customer.id,
        competitor.id: competitor.id,
        opportunity.id: customer.id,
        case.id: customer.id,
        profile.id: competitor.id,
        plan.id: customer.id,
        first.id: customer.id,
        shipment.id: CUSTOMER,
    }
    assert {type(a).__name__ for a in [*owned, shipment]} == set(OWNERS)
    chains, head = expected_chains(services)
    assert recorded(services) == chains
    assert heads(services) == head
    # The branches the tests register belong to no customer: no number, no chain.
    assert len(chains) == len(log(services)) - B


def test_two_concurrent_appends_for_one_customer_get_consecutive_numbers(
    services: Services, superuser_database: Database
) -> None:
    customer = relationship("Suzhou Electronics")
    services.app.save(customer)
    errors: list[BaseException] = []

    def save(aggregate: Aggregate, **kwargs: Any) -> None:
        try:
            services.app.save(aggregate, **kwargs)
        except BaseException as error:
            errors.append(error)

    def waiting(kind: str) -> bool:
        with superuser_database.connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = %s", (kind,)
            ).fetchone()
        return bool(row and row[0])

    first, second = follow_up(customer.id), follow_up(customer.id)
    with superuser_database.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (HOLD,))
        # The first append locks the log and waits, its transaction open, on the hold.
        one = threading.Thread(
            target=save,
            args=(first,),
            kwargs={"side_effects": [("SELECT pg_advisory_xact_lock(%s)", (HOLD,))]},
        )
        one.start()
        wait_until(lambda: waiting("advisory"), what="the first append holds the log")
        two = threading.Thread(target=save, args=(second,))
        two.start()
        wait_until(lambda: waiting("relation"), what="the second append waits for the log")
        holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD,))
        one.join()
        two.join()
    assert errors == []

    chains, head = expected_chains(services)
    assert recorded(services) == chains
    by_aggregate = {
        aggregate_id: chains[position]
        for position, aggregate_id, *_ in log(services)
        if position in chains
    }
    assert by_aggregate[first.id][:2] == (customer.id, 2)
    assert by_aggregate[second.id][:2] == (customer.id, 3)
    assert heads(services)[customer.id] == head[customer.id] == by_aggregate[second.id][1:]


def test_an_append_that_rolls_back_leaves_the_customers_head_as_it_was(
    services: Services,
) -> None:
    write_history(services, 1)
    before, numbered = heads(services), recorded(services)
    (customer,) = before
    with pytest.raises(DataError, match="division by zero"):
        services.app.save(follow_up(customer), side_effects=[("SELECT 1 / 0", ())])
    assert heads(services) == before
    assert recorded(services) == numbered
    # The next entry of the customer takes the number the rolled-back one did not keep.
    services.app.save(follow_up(customer))
    assert heads(services)[customer][0] == before[customer][0] + 1
    chains, head = expected_chains(services)
    assert (recorded(services), heads(services)) == (chains, head)


def test_the_tree_reads_the_chains_the_appends_fixed(services: Services) -> None:
    write_history(services, 2)
    shipment = book()
    services.app.save(shipment)
    chains, head = expected_chains(services)
    tree = LogTree(services.database, services.app.mapper, batch=3)
    size = tree.extend()
    assert sorted(tree.customer_heads(size)) == sorted(
        (key_of(c), head_value(seq, chain)) for c, (seq, chain) in head.items()
    )
    mine = tree.customer_entries(CUSTOMER, size)
    assert [(CUSTOMER, e.seq, e.chain) for e in mine] == [chains[e.position] for e in mine]
    # At every size: each customer's last entry among the tree's first ``size`` leaves.
    leaves = {index: position for index, position, _ in tree.leaves()}
    for at in range(size + 1):
        before: dict[UUID, tuple[int, bytes]] = {}
        for index in range(at):
            found = chains.get(leaves[index])
            if found is not None:
                before[found[0]] = (found[1], found[2])
        assert sorted(tree.customer_heads(at)) == sorted(
            (key_of(c), head_value(seq, chain)) for c, (seq, chain) in before.items()
        ), at


def test_the_migration_completes_the_chains_of_a_log_the_tree_took_in_part(
    services: Services, superuser_database: Database
) -> None:
    """A log whose first entries the tree builder chained (its owners in
    ``fullchain_tree_owner``) and whose last it has not taken yet: the migration's
    statements give every entry the number and chain the append gives it now."""
    write_history(services, 2)
    services.app.save(book())
    write_history(services, 1)
    chains, head = expected_chains(services)
    tree = LogTree(services.database, services.app.mapper)
    middle = sorted(chains)[len(chains) // 2]
    taken = tree.extend(up_to=middle)
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO fullchain_tree_owner SELECT o.aggregate_id, o.customer_id "
            "FROM fullchain_owner o JOIN fullchain_events e "
            "ON e.originator_id = o.aggregate_id AND e.originator_version = 1 "
            "WHERE e.notification_id <= %s",
            (middle,),
        )
        conn.execute("TRUNCATE fullchain_owner, fullchain_customer_seq")
        with conn.transaction():
            for statement in BACKFILL:
                conn.execute(statement)  # type: ignore[call-overload]
    assert recorded(services) == chains
    assert heads(services) == head
    assert taken < tree.extend()
    write_history(services, 1)  # and the appends go on from the heads
    assert (recorded(services), heads(services)) == expected_chains(services)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fullchain_customer_seq SET seq = seq + 1",
        "DELETE FROM fullchain_customer_seq",
        "INSERT INTO fullchain_owner VALUES (gen_random_uuid(), gen_random_uuid())",
    ],
)
def test_the_service_cannot_rewrite_a_customers_chain(services: Services, statement: str) -> None:
    write_history(services, 1)
    with services.database.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
