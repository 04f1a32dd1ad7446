"""The log's Merkle tree against the published RFC 6962 test vectors (transparency-dev/merkle,
testonly/constants.go and proof/verify_test.go, Apache-2.0: used as data), and every
proof of every tree up to 40 leaves, with every kind of tampering refused. No database."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import pytest

from application.proofs.merkle import (
    EMPTY_ROOT,
    Inclusions,
    ProofError,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    perfect_of,
    root_of,
    split,
    subtree_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAVES = [leaf_hash(d) for d in INPUTS]
#: The root of the tree of the first n inputs, n = 0 … 8.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


#: (leaf index, tree size, audit path)
INCLUSION = [
    (
        0,
        8,
        h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        h(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        h(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (0, 1, []),
]
#: (first size, second size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        h(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]


def test_the_roots_are_those_rfc_6962_publishes() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest() == ROOTS[0]
    perfect = perfect_of(LEAVES)
    for n in range(9):
        assert root_of(LEAVES[:n]) == ROOTS[n], n
        assert tree_root(perfect, n) == ROOTS[n], n


def test_the_split_is_the_largest_power_of_two_below_the_size() -> None:
    assert [split(n) for n in (2, 3, 4, 5, 8, 9, 1000)] == [1, 2, 2, 4, 4, 8, 512]
    assert split((1 << 40) + 1) == 1 << 40
    with pytest.raises(ValueError, match="does not split"):
        split(1)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_are_those_published(index: int, size: int, path: list[bytes]) -> None:
    assert inclusion_proof(perfect_of(LEAVES), index, size) == path
    verify_inclusion(LEAVES[index], index, size, path, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_are_those_published(
    first: int, second: int, proof: list[bytes]
) -> None:
    assert consistency_proof(perfect_of(LEAVES), first, second) == proof
    verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


def test_a_subtree_that_is_not_a_node_of_the_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="not a subtree"):
        subtree_hash(perfect_of(LEAVES), 1, 2)


def refused(check: Callable[[], None]) -> bool:
    try:
        check()
    except ProofError:
        return True
    return False


MANY = [leaf_hash(bytes([i, i * 7 % 256])) for i in range(40)]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def inclusion_tamperings(
    index: int, size: int, path: list[bytes], root: bytes
) -> list[tuple[str, int, int, bytes, list[bytes], bytes]]:
    leaf = MANY[index]
    cases = [
        ("index - 1", index - 1, size, leaf, path, root),
        ("index + 1", index + 1, size, leaf, path, root),
        ("index ^ 2", index ^ 2, size, leaf, path, root),
        ("size * 2", index, size * 2, leaf, path, root),
        ("size // 2", index, size // 2, leaf, path, root),
        ("wrong leaf", index, size, SOME_HASH, path, root),
        ("empty root", index, size, leaf, path, EMPTY_ROOT),
        ("trailing garbage", index, size, leaf, [*path, b""], root),
        ("trailing root", index, size, leaf, [*path, root], root),
        ("preceding root", index, size, leaf, [root, *path], root),
    ]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        cases.append((f"proof[{i}] flipped", index, size, leaf, flipped, root))
    if path:
        cases.append(("removed component", index, size, leaf, path[:-1], root))
    return cases


def test_every_leaf_of_every_tree_is_proved_and_every_tampering_refused() -> None:
    perfect = perfect_of(MANY)
    for size in range(1, len(MANY) + 1):
        root = root_of(MANY[:size])
        assert tree_root(perfect, size) == root
        for index in range(size):
            path = inclusion_proof(perfect, index, size)
            assert len(path) <= size.bit_length()
            verify_inclusion(MANY[index], index, size, path, root)
            accepted = [
                what
                for what, i, n, leaf, p, r in inclusion_tamperings(index, size, path, root)
                if not refused(lambda: verify_inclusion(leaf, i, n, p, r))  # noqa: B023
            ]
            assert accepted == [], (index, size)


def test_many_leaves_verified_against_one_tree_are_each_proved_and_no_forgery_passes() -> None:
    """``Inclusions`` ends a proof at a node an earlier proof reached the root through:
    in any order, every true leaf is proved; a proof refused alone is refused first thing;
    and once every other leaf is known, a leaf forged or placed at another index is still
    refused."""
    perfect = perfect_of(MANY)
    rng = random.Random(5)
    for size in range(1, len(MANY) + 1):
        root = root_of(MANY[:size])
        paths = [inclusion_proof(perfect, index, size) for index in range(size)]
        shuffled = rng.sample(range(size), size)
        for order in (range(size), range(size - 1, -1, -1), shuffled):
            proved = Inclusions(size, root)
            for index in order:
                proved.verify(MANY[index], index, paths[index])
            for index in range(size):
                forged = bytes([MANY[index][0] ^ 1]) + MANY[index][1:]
                assert refused(lambda: proved.verify(forged, index, paths[index]))  # noqa: B023
                for elsewhere in {index - 1, index + 1, index ^ 2} - {index}:
                    assert refused(
                        lambda: proved.verify(MANY[index], elsewhere, paths[index])  # noqa: B023
                    ), (size, index, elsewhere)
        for index in range(size):
            accepted = [
                what
                for what, i, n, leaf, p, r in inclusion_tamperings(index, size, paths[index], root)
                if n == size
                and r == root
                and not refused(lambda: Inclusions(size, root).verify(leaf, i, p))  # noqa: B023
            ]
            assert accepted == [], (index, size)


def test_the_paths_of_many_leaves_at_once_are_each_leafs_own() -> None:
    perfect = perfect_of(MANY)
    for size in range(1, len(MANY) + 1):
        every = list(range(size))
        assert inclusion_proofs(perfect, every, size) == [
            inclusion_proof(perfect, index, size) for index in every
        ], size
        assert inclusion_proofs(perfect, every[::-1], size) == [
            inclusion_proof(perfect, index, size) for index in every[::-1]
        ], size
        some = every[size // 3 :: 3]
        assert inclusion_proofs(perfect, some, size) == [
            inclusion_proof(perfect, index, size) for index in some
        ], size
    for index, size in ((-1, 5), (5, 5)):
        with pytest.raises(ProofError, match="not in a tree"):
            inclusion_proofs(perfect, [0, index], size)


def test_every_pair_of_trees_is_proved_consistent_and_every_tampering_refused() -> None:
    perfect = perfect_of(MANY)
    roots = [root_of(MANY[:n]) for n in range(len(MANY) + 1)]
    for second in range(1, len(MANY) + 1):
        for first in range(0, second + 1):
            proof = consistency_proof(perfect, first, second)
            verify_consistency(first, second, roots[first], roots[second], proof)
            if not proof:
                continue
            tampered = [
                (first - 1, second, roots[first], roots[second], proof),
                (first + 1, second, roots[first], roots[second], proof),
                (first, second * 2, roots[first], roots[second], proof),
                (first, second // 2, roots[first], roots[second], proof),
                (first, second, SOME_HASH, roots[second], proof),
                (first, second, roots[first], SOME_HASH, proof),
                (first, second, roots[second], roots[first], proof),
                (first, second, roots[first], roots[second], []),
                (first, second, roots[first], roots[second], [*proof, roots[first]]),
                (first, second, roots[first], roots[second], [proof[0], *proof]),
                (first, second, roots[first], roots[second], proof[:-1]),
            ]
            for i in range(len(proof)):
                flipped = list(proof)
                flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
                tampered.append((first, second, roots[first], roots[second], flipped))
            accepted = [
                (f, s, p)
                for f, s, r1, r2, p in tampered
                if not (f == s and r1 == r2 and not p)  # a tree is consistent with itself
                and not refused(lambda: verify_consistency(f, s, r1, r2, p))  # noqa: B023
            ]
            assert accepted == [], (first, second)


def test_a_rewritten_entry_breaks_consistency_with_the_earlier_tree() -> None:
    """A log that changed an entry before an earlier tree's size cannot prove that tree is
    its prefix: the proof it gives leads to another root."""
    rewritten = list(MANY)
    rewritten[3] = leaf_hash(b"another entry")
    proof = consistency_proof(perfect_of(rewritten), 10, 30)
    with pytest.raises(ProofError):
        verify_consistency(10, 30, root_of(MANY[:10]), root_of(rewritten[:30]), proof)
