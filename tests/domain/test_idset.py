"""A set of ids kept sorted in one string: the set a plain ``set`` would be."""

from __future__ import annotations

import copy
import random
from uuid import UUID

import pytest

from domain.idset import MERGE_AT, IdSet


def ids(n: int, seed: int = 3) -> list[UUID]:
    rng = random.Random(seed)
    return [UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]


def test_it_holds_what_a_plain_set_holds_across_merges() -> None:
    some = ids(3 * MERGE_AT + 17)
    kept, plain = IdSet(), set[UUID]()
    for id_ in some + some[:100]:  # repeats are no-ops
        kept.add(id_)
        plain.add(id_)
    assert len(kept) == len(plain) == len(some)
    assert kept == plain
    assert plain == kept
    assert all(id_ in kept for id_ in some)
    assert not any(id_ in kept for id_ in ids(50, seed=4))
    assert "not an id" not in kept
    assert list(kept) == sorted(plain, key=lambda u: u.hex)


def test_ids_leave_whether_merged_or_recent() -> None:
    some = ids(MERGE_AT + 3)
    kept = IdSet(some)
    merged, recent = some[0], some[-1]
    kept.discard(merged)
    kept.discard(recent)
    kept.discard(ids(1, seed=9)[0])  # not there: nothing happens
    assert merged not in kept
    assert recent not in kept
    assert kept == set(some[1:-1])


def test_a_snapshot_restores_the_same_set_from_one_string() -> None:
    kept = IdSet(ids(MERGE_AT * 2 + 5))
    packed = kept.packed()
    assert isinstance(packed, str)
    assert len(packed) == 32 * len(kept)
    restored = IdSet.unpacked(packed)
    assert restored == kept
    restored.add(ids(1, seed=5)[0])
    assert len(restored) == len(kept) + 1  # a set of its own


@pytest.mark.parametrize(
    "packed", ["abc", "0" * 31, "g" * 32, "A" * 32, "0" * 30 + " 0", "é" * 32, 42]
)
def test_a_string_that_cannot_be_a_packed_set_is_refused(packed: object) -> None:
    with pytest.raises(ValueError, match="not a packed set of ids"):
        IdSet.unpacked(packed)  # type: ignore[arg-type]


def test_a_copy_is_independent() -> None:
    kept = IdSet(ids(10))
    copied = copy.deepcopy(kept)
    copied.add(ids(1, seed=8)[0])
    assert len(copied) == len(kept) + 1
