"""The log's Merkle tree on real PostgreSQL: built alongside the chain in any batch size,
equal to the tree computed from the entries themselves, proofs that verify against it,
and a rewritten entry that no proof can hide."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.proofs.checkpoints import customers_root, signed_tree_head, verifier_of
from application.proofs.customer_map import (
    GENESIS,
    chain_next,
    head_value,
    key_of,
    map_proof,
    map_root,
)
from application.proofs.entries import entry_bytes
from application.proofs.heads_map import kept_map
from application.proofs.merkle import (
    ProofError,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from application.proofs.note import open_checkpoint
from application.proofs.tree import LogTree, NotInLog, TreeKeeper, TreeTooSmall
from application.store.database import Database
from bench.projections import generate_log
from interface.runtime import Services
from tests.branches import BRANCH_EVENTS as B
from tests.domain.test_shipment import CUSTOMER
from tests.test_integrity import write_history
from tests.test_responsibility import seed_case
from tests.waiting import wait_until


def entries(services: Services) -> list[tuple[int, bytes]]:
    """(position, leaf hash) of every entry, computed here from the stored rows."""
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            "recorded_at FROM fullchain_events ORDER BY notification_id"
        ).fetchall()
    return [
        (
            position,
            leaf_hash(
                entry_bytes(
                    position=position,
                    aggregate_id=aggregate_id,
                    version=version,
                    topic=topic,
                    state=bytes(state),
                    recorded_at=recorded_at,
                )
            ),
        )
        for position, aggregate_id, version, topic, state, recorded_at in rows
    ]


@pytest.mark.parametrize("batch", [1, 3, 5000])
def test_the_tree_is_the_tree_of_the_entries_whatever_the_batches(
    services: Services, batch: int
) -> None:
    write_history(services, 3)  # 9 entries
    tree = LogTree(services.database, services.app.mapper, batch=batch)
    assert tree.extend(up_to=entries(services)[3][0]) == 4
    write_history(services, 2)  # 6 more
    assert tree.extend() == B + 15
    assert tree.extend() == B + 15  # nothing new: nothing added
    leaves = [h for _, h in entries(services)]
    assert [(i, p, h) for i, p, h in tree.leaves()] == [
        (i, p, h) for i, (p, h) in enumerate(entries(services))
    ]
    for size in range(1, B + 16):
        assert tree.root(size) == root_of(leaves[:size]), size


def test_every_entry_is_proved_in_every_later_tree_and_every_tree_consistent(
    services: Services,
) -> None:
    write_history(services, 4)  # 12 entries
    tree = LogTree(services.database, services.app.mapper, batch=5)
    log = entries(services)
    leaves = [h for _, h in log]
    for size in range(1, 13):
        for index in range(size):
            proof = tree.inclusion(log[index][0], size)
            assert (proof.leaf_index, proof.leaf_hash) == (index, leaves[index])
            verify_inclusion(leaves[index], index, size, proof.proof, root_of(leaves[:size]))
        for first in range(0, size + 1):
            c = tree.consistency(first, size)
            verify_consistency(
                first, size, root_of(leaves[:first]), root_of(leaves[:size]), c.proof
            )


def test_audit_paths_with_leaves_at_hand_are_the_paths_read_from_the_tree(
    services: Services,
) -> None:
    """A package takes its own leaves' hashes from its rows rather than reading them again:
    the paths are the same, for leaves dense or sparse, at the tree's right edge, and in a
    tree smaller than the one built (where a stored node is past the edge)."""
    write_history(services, 4)  # 12 entries
    tree = LogTree(services.database, services.app.mapper)
    built = tree.extend()
    leaves = [h for _, h in entries(services)]
    for size in (5, 8, 11, built):
        for chosen in (
            list(range(size)),
            list(range(0, size, 3)),
            list(range(size // 2, size)),
            [size - 1],
        ):
            at_hand = {i: leaves[i] for i in chosen}
            read = tree.inclusion_proofs(chosen, size)
            made = tree.inclusion_proofs(chosen, size, leaves=at_hand)
            assert made == read, (size, chosen)
            for index, path in zip(chosen, made, strict=True):
                verify_inclusion(leaves[index], index, size, path, root_of(leaves[:size]))
    wrong = {2: leaves[2], 3: leaves[1]}  # a leaf at hand that is not the tree's: taken
    [path] = tree.inclusion_proofs([2], 4, leaves=wrong)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[2], 2, 4, path, root_of(leaves[:4]))


def test_audit_paths_of_later_batches_take_the_nodes_earlier_batches_read(
    services: Services, superuser_database: Database
) -> None:
    """A package reads a customer's entries batch after batch and keeps the nodes each
    batch read that are at least as wide as the batch, for the next (the same tree size):
    the paths are those read afresh, the nodes kept are the tree's, and a node kept is not
    read again (here the nodes kept are deleted from the table between the batches)."""
    write_history(services, 4)
    tree = LogTree(services.database, services.app.mapper)
    size = tree.extend()
    assert size > 8
    leaves = [h for _, h in entries(services)]
    known: dict[tuple[int, int], bytes] = {}
    first, later = list(range(4)), list(range(4, 8))
    with services.database.connect() as conn:
        made = tree.inclusion_proofs(
            first, size, conn, leaves={i: leaves[i] for i in first}, known=known
        )
        assert made == tree.inclusion_proofs(first, size)
        assert (3, 1) in known, "the sibling above the first batch's leaves kept"
        # None narrower than the batch: kept, they would grow with the customer's history.
        assert not [(lv, i) for lv, i in known if lv < 2]
        for (level, index), hashed in known.items():
            assert hashed == root_of(leaves[index << level : (index + 1) << level])
        expected = tree.inclusion_proofs(later, size)
        with superuser_database.connect() as owner:
            deleted = owner.execute(
                "DELETE FROM fullchain_tree_node WHERE (level, idx) IN "
                "(SELECT * FROM unnest(%s::int[], %s::bigint[]))",
                ([lv for lv, _ in known], [i for _, i in known]),
            ).rowcount
        assert deleted == len([key for key in known if key[0] > 0])
        # The later batch's paths need the node above leaves 0..7 (read by the first batch
        # and kept) and nodes below it that the first batch did not read (read now).
        made = tree.inclusion_proofs(
            later, size, conn, leaves={i: leaves[i] for i in later}, known=known
        )
        assert made == expected
    for index, path in zip(later, made, strict=True):
        verify_inclusion(leaves[index], index, size, path, root_of(leaves[:size]))


def test_a_position_not_in_the_log_or_a_tree_beyond_it_is_refused(services: Services) -> None:
    write_history(services, 1)
    tree = LogTree(services.database, services.app.mapper)
    last = entries(services)[-1][0]
    with pytest.raises(NotInLog):
        tree.inclusion(last + 100)
    with pytest.raises(TreeTooSmall):
        tree.inclusion(last, len(entries(services)) + 1)
    with pytest.raises(ProofError, match="after the tree of 2 leaves"):
        tree.inclusion(last, 2)
    with pytest.raises(TreeTooSmall):
        tree.consistency(1, len(entries(services)) + 1)


def test_positions_an_append_gave_up_are_no_leaves(
    services: Services, owner_database: Database
) -> None:
    """A rolled-back append uses a position: the tree's leaves follow the entries, not the
    numbers."""
    write_history(services, 1)
    with owner_database.connect() as conn:
        conn.execute(
            "SELECT nextval(pg_get_serial_sequence('fullchain_events', 'notification_id'))"
        )
    write_history(services, 1)
    log = entries(services)
    assert log[B + 3][0] > log[B + 2][0] + 1  # a number was skipped
    tree = LogTree(services.database, services.app.mapper)
    assert tree.extend() == B + 6
    assert tree.inclusion(log[B + 3][0]).leaf_index == B + 3


def test_a_rewritten_entry_cannot_be_proved_consistent_with_an_earlier_tree(
    services: Services, superuser_database: Database
) -> None:
    """Someone with the database's keys rewrites an entry and rebuilds the tree from
    scratch: the earlier tree head no longer follows from any proof the log can give."""
    write_history(services, 3)
    tree = LogTree(services.database, services.app.mapper)
    size = tree.extend()
    earlier_root = tree.root(size)
    victim = entries(services)[2][0]
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE fullchain_events SET state = convert_to('{}', 'UTF8') "
            "WHERE notification_id = %s",
            (victim,),
        )
        conn.execute(
            "TRUNCATE fullchain_tree_leaf, fullchain_tree_node, fullchain_tree_owner, "
            "fullchain_customer_entry"
        )
    write_history(services, 1)
    later = tree.consistency(size)
    assert later.first_root != earlier_root
    with pytest.raises(ProofError):
        verify_consistency(size, later.second, earlier_root, later.second_root, later.proof)


def test_the_service_cannot_rewrite_the_log_it_builds_the_tree_from(services: Services) -> None:
    write_history(services, 1)
    with services.database.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE fullchain_events SET topic = 'x'")


def test_each_customer_has_its_own_chain_of_what_belongs_to_it(services: Services) -> None:
    """The relationships' entries and the shipment's, each chained per customer in log
    order; the map of heads at a size is the one computed from those chains."""
    write_history(services, 2)
    shipment, _, _ = seed_case(services)
    tree = LogTree(services.database, services.app.mapper, batch=4)
    size = tree.extend()
    leaf_of = dict(entries(services))

    with services.database.connect() as conn:
        shipment_positions = [
            int(p)
            for (p,) in conn.execute(
                "SELECT notification_id FROM fullchain_events WHERE originator_id = %s "
                "ORDER BY notification_id",
                (shipment.id,),
            )
        ]
    mine = tree.customer_entries(CUSTOMER, size)
    assert [e.position for e in mine] == shipment_positions
    assert [e.seq for e in mine] == list(range(1, len(shipment_positions) + 1))
    chain = GENESIS
    for e in mine:
        chain = chain_next(chain, e.seq, leaf_of[e.position])
        assert e.chain == chain

    heads = tree.customer_heads(size)
    assert len(heads) == 3  # two relationships and the shipment's customer
    assert (key_of(CUSTOMER), head_value(len(mine), chain)) in heads
    # The map at an earlier size holds the heads as they were then.
    earlier = tree.customer_heads(mine[2].leaf_index + 1)
    assert (key_of(CUSTOMER), head_value(3, mine[2].chain)) in earlier
    assert map_root(earlier) != map_root(heads)


def test_each_signed_tree_head_commits_to_the_map_of_every_customers_head(
    services: Services,
) -> None:
    """A signed tree head's map is the one kept from the signing before, brought forward by
    the heads that moved since: it is the map made afresh from every customer's head at
    its size, signing after signing; and a map kept for another tree under the same
    database's name (its root at the size kept is not this tree's) is made afresh, not
    brought forward."""
    key = Ed25519PrivateKey.generate()
    tree = LogTree(services.database, services.app.mapper)

    def signed() -> tuple[int, bytes, list[bytes] | None]:
        note, proof = signed_tree_head(
            tree, key, origin="test.example/log", now=services.app.clock(),
            key_in_database=False, customer=CUSTOMER,
        )  # fmt: skip
        head = open_checkpoint(note, verifier_of(key, "test.example/log"))
        return head.size, customers_root(head), proof

    sizes = []
    for step in range(3):
        write_history(services, 1 + step)
        if step == 1:
            seed_case(services)  # the customer's first entries: it joins the map
        size, root, proof = signed()
        heads = tree.customer_heads(size)
        assert root == map_root(heads), step
        assert proof == (map_proof(heads, key_of(CUSTOMER)) if step else None), step
        sizes.append(size)
    assert sizes == sorted(set(sizes))
    kept = kept_map(services.database.conninfo)
    with kept.lock:
        assert kept.size == sizes[-1]
        kept.root_at_size = bytes(32)  # another tree's
        kept.map.put(key_of(CUSTOMER), bytes(32))  # a head this tree never had
    write_history(services, 1)
    size, root, _ = signed()
    assert root == map_root(tree.customer_heads(size))


def test_a_checkpoint_kept_before_ten_thousand_appends_is_proved_a_prefix_after_them(
    services: Services,
) -> None:
    write_history(services, 2)
    tree = LogTree(services.database, services.app.mapper)
    kept_size = tree.extend()
    kept_root = tree.root(kept_size)
    appended = generate_log(services.database, 10_000)
    assert appended >= 10_000
    later = tree.consistency(kept_size)
    assert later.second == kept_size + appended
    assert later.first_root == kept_root
    assert len(later.proof) <= 2 * later.second.bit_length()
    verify_consistency(kept_size, later.second, kept_root, later.second_root, later.proof)
    # Every customer has its head in the map, the two from before unchanged.
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT count(DISTINCT originator_id) FROM fullchain_events "
            "WHERE topic LIKE 'Relationship.%'"
        ).fetchone()
    assert row is not None
    heads = tree.customer_heads(later.second)
    assert len(heads) == row[0]
    assert set(tree.customer_heads(kept_size)) <= set(heads)


def test_the_projection_process_keeps_the_tree_up_with_the_log(services: Services) -> None:
    services.start_workers(tree=True)
    write_history(services, 2)
    tree = LogTree(services.database, services.app.mapper)
    wait_until(lambda: tree.size() == len(entries(services)), what="the tree kept up")
    write_history(services, 1)
    wait_until(lambda: tree.size() == len(entries(services)), what="the tree kept up again")
    assert [h for _, _, h in tree.leaves()] == [h for _, h in entries(services)]


def test_under_load_the_keeper_extends_at_most_once_per_interval(services: Services) -> None:
    """Woken again soon after an extension, the keeper waits out the rest of its interval
    (the appends meanwhile are taken by one extension); woken later, it extends at once."""
    now = [100.0]
    waits: list[float] = []
    keeper = TreeKeeper(
        LogTree(services.database, services.app.mapper),
        min_interval=0.1,
        clock=lambda: now[0],
        wait=waits.append,
    )
    keeper.pace(started=99.97)
    assert waits == [pytest.approx(0.07)]
    keeper.pace(started=99.5)
    keeper.pace(started=99.75)
    assert len(waits) == 1
    keeper.stop()
    keeper.pace(started=100.0)  # a stopping keeper does not wait
    assert len(waits) == 1


def test_the_keeper_outlives_an_extension_that_fails_and_keeps_the_tree_up(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = LogTree(services.database, services.app.mapper)
    extend = tree.extend
    failures = [2]

    def failing(*args: Any, **kwargs: Any) -> int:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("a defect, since fixed")
        return extend(*args, **kwargs)

    monkeypatch.setattr(tree, "extend", failing)
    keeper = TreeKeeper(tree, poll_interval=0.05, min_interval=0.0)
    keeping = threading.Thread(target=keeper.run_forever, name="merkle tree")
    keeping.start()
    try:
        write_history(services, 1)
        wait_until(
            lambda: not keeping.is_alive() or tree.size() == len(entries(services)),
            what="the tree kept up after the failures",
        )
        assert keeping.is_alive(), "the keeper's thread ended at the failure"
        assert failures == [0]
    finally:
        keeper.stop()
        keeping.join()
