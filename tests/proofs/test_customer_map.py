"""The map of customers' heads: every customer's head proved, and no proof for a head,
key or shape the map does not hold. No database."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid5

import pytest

from application.proofs.customer_map import (
    EMPTY,
    GENESIS,
    MapProofError,
    chain_next,
    head_value,
    key_of,
    map_leaf,
    map_node,
    map_proof,
    map_root,
    verify_map_proof,
)

NAMESPACE = UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def customers(n: int) -> list[tuple[bytes, bytes]]:
    return [
        (key_of(uuid5(NAMESPACE, f"customer {i}")), head_value(i + 1, bytes([i % 256]) * 32))
        for i in range(n)
    ]


def test_the_map_of_one_or_two_customers_is_the_hash_the_definition_gives() -> None:
    assert map_root([]) == EMPTY
    [(k, v)] = customers(1)
    assert map_root([(k, v)]) == hashlib.sha256(b"\x00" + k + v).digest()
    a, b = customers(2)
    left, right = sorted([a, b])
    # Two keys part at their first different bit; above it, each level is a node with an
    # empty side.
    depth = next(d for d in range(256) if (left[0][d // 8] ^ right[0][d // 8]) >> (7 - d % 8) & 1)
    expected = map_node(map_leaf(*left), map_leaf(*right))
    for d in range(depth - 1, -1, -1):
        bit = left[0][d // 8] >> (7 - d % 8) & 1
        expected = map_node(EMPTY, expected) if bit else map_node(expected, EMPTY)
    assert map_root([a, b]) == expected


def test_the_map_does_not_depend_on_the_order_customers_are_given_in() -> None:
    items = customers(50)
    assert map_root(items) == map_root(list(reversed(items)))


def test_a_customer_twice_is_refused() -> None:
    [item] = customers(1)
    with pytest.raises(ValueError, match="once"):
        map_root([item, (item[0], bytes(32))])


@pytest.mark.parametrize("n", [1, 2, 3, 17, 200])
def test_every_head_is_proved_and_no_other(n: int) -> None:
    items = customers(n)
    root = map_root(items)
    others = customers(n + 1)[n:]
    for key, value in items:
        siblings = map_proof(items, key)
        verify_map_proof(root, key, value, siblings)
        tampered = [
            (key, head_value(999, bytes(32)), siblings),  # another head
            (others[0][0], value, siblings),  # another customer's key
            (key, value, [*siblings, EMPTY]),  # a leaf placed deeper
        ]
        if siblings:
            tampered.append((key, value, siblings[:-1]))  # a leaf placed higher
            flipped = bytes([siblings[0][0] ^ 1]) + siblings[0][1:]
            tampered.append((key, value, [flipped, *siblings[1:]]))
        for k, v, s in tampered:
            with pytest.raises(MapProofError):
                verify_map_proof(root, k, v, s)
    with pytest.raises(MapProofError, match="not in the map"):
        map_proof(items, others[0][0])


def test_a_customer_chain_changes_with_any_entry_its_order_or_its_count() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(5)]

    def head(entries: list[bytes]) -> bytes:
        chain = GENESIS
        for seq, leaf in enumerate(entries, 1):
            chain = chain_next(chain, seq, leaf)
        return head_value(len(entries), chain)

    whole = head(leaves)
    assert head(leaves[:4]) != whole  # cut short
    assert head(leaves[:2] + leaves[3:]) != whole  # one deleted
    assert head([leaves[1], leaves[0], *leaves[2:]]) != whole  # reordered
    assert head([*leaves[:2], hashlib.sha256(b"x").digest(), *leaves[2:]]) != whole  # inserted
