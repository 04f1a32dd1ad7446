"""The map of customers' heads kept between signings and brought forward a head at a
time is the map made afresh from every head, root and proofs alike. No database."""

from __future__ import annotations

import random
from uuid import UUID, uuid5

import pytest

from application.proofs.customer_map import (
    MapProofError,
    head_value,
    key_of,
    map_proof,
    map_root,
    verify_map_proof,
)
from application.proofs.heads_map import HeadsMap

NAMESPACE = UUID("0e1c9b1e-3c5a-4d55-9f0e-6f1a2b3c4d5e")


def head(customer: int, seq: int) -> tuple[bytes, bytes]:
    return key_of(uuid5(NAMESPACE, f"customer {customer}")), head_value(
        seq, bytes([seq % 256]) * 32
    )


@pytest.mark.parametrize("seed", range(6))
def test_a_map_brought_forward_head_by_head_is_the_map_made_afresh(seed: int) -> None:
    """Customers join and their heads move, in a random order; after each change the kept
    map's root, and every customer's proof, are those ``customer_map`` makes from the
    whole set (which the offline verifier runs), whether the map was changed head by head
    from empty or made whole from the heads at some point and changed since."""
    rng = random.Random(seed)
    kept = HeadsMap()
    heads: dict[bytes, bytes] = {}
    seqs: dict[int, int] = {}
    for step in range(300):
        customer = rng.randrange(120 if seed % 2 else 6)
        seqs[customer] = seqs.get(customer, 0) + 1
        key, value = head(customer, seqs[customer])
        heads[key] = value
        kept.put(key, value)
        assert len(kept) == len(heads)
        if step % 23 == 0 or step == 299:
            items = list(heads.items())
            root = map_root(items)
            assert kept.root() == root
            for key_, value_ in items:
                proof = kept.proof(key_)
                assert proof == map_proof(items, key_)
                verify_map_proof(root, key_, value_, proof)
            if step % 2:  # go on from a map made whole from the items
                kept = HeadsMap(items)
                assert kept.root() == root


def test_the_empty_map_and_a_customer_it_does_not_hold() -> None:
    kept = HeadsMap()
    assert kept.root() == map_root([])
    absent, _ = head(1, 1)
    with pytest.raises(MapProofError):
        kept.proof(absent)
    kept.put(*head(2, 1))
    assert not kept.holds(absent)
    with pytest.raises(MapProofError):
        kept.proof(absent)
    assert kept.root() == map_root([head(2, 1)])


def test_made_from_items_is_the_same_map() -> None:
    items = [head(i, i + 1) for i in range(50)]
    assert HeadsMap(items).root() == map_root(items)
