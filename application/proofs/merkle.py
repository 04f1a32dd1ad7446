"""The Merkle tree of the log, as RFC 9162 (Certificate Transparency 2.0, §2.1) defines it:
the tree hash, inclusion proofs and consistency proofs, and their verification.

This module needs nothing but the standard library: the offline audit package carries
it verbatim, so an auditor's verification runs the very procedure described here.

Hashes (SHA-256), for leaves d(0) … d(n-1):

* ``MTH({}) = SHA-256()``; ``MTH({d(0)}) = SHA-256(0x00 ‖ d(0))`` (the leaf hash);
* for n > 1, with k the largest power of two smaller than n,
  ``MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))``.

Proofs are built from the hashes of *perfect* subtrees (2^level leaves starting at a
multiple of 2^level), which a store keeps once each is complete (``SubtreeHashes``): a
proof in a tree of n leaves reads O(log n) of them for each of its O(log n) elements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

#: The hash of a perfect subtree: (level, index) → SHA-256 of the 2^level leaves from
#: index · 2^level on.
SubtreeHashes = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not hold, or a request for one that cannot exist."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): the size of the left subtree."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves does not split")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of the leaf hashes ``leaves``, computed from scratch (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def subtree_hash(perfect: SubtreeHashes, start: int, size: int) -> bytes:
    """MTH of the ``size`` leaves from ``start`` on, where ``start`` is a multiple of the
    largest power of two not above ``size`` (true of every range a proof asks for):
    the perfect subtrees it is made of, joined from the right."""
    if size <= 0:
        raise ValueError("a subtree holds at least one leaf")
    parts: list[bytes] = []
    while size:
        level = size.bit_length() - 1
        width = 1 << level
        if start % width:
            raise ValueError(f"leaves {start}..{start + size} are not a subtree of the tree")
        parts.append(perfect(level, start >> level))
        start += width
        size -= width
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def tree_root(perfect: SubtreeHashes, size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree_hash(perfect, 0, size)


def inclusion_proof(perfect: SubtreeHashes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1: the audit path of leaf ``index`` in the
    tree of the first ``size`` leaves, nearest sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:
        k = split(n)
        if m < k:  # the leaf is on the left: the right subtree is the sibling
            path.append(subtree_hash(perfect, start + k, n - k))
            n = k
        else:
            path.append(subtree_hash(perfect, start, k))
            start, n, m = start + k, n - k, m - k
    path.reverse()
    return path


def inclusion_proofs(
    perfect: SubtreeHashes, indexes: Sequence[int], size: int, *, paths: bool = True
) -> list[list[bytes]]:
    """The audit paths of many leaves of the tree of ``size`` leaves, each the one
    ``inclusion_proof`` gives, walked up from the leaf: at each level the sibling of the
    node holding the leaf is a perfect subtree, or the tree's right edge (the subtree of
    the leaves past the last perfect one, hashed once for all the paths), or there is no
    sibling (the last node of a level with an odd count, carried up as it is). Above the
    level where a leaf's node meets the previous leaf's, both paths are the same. With
    ``paths`` false, ``perfect`` is only told which nodes the paths read, and no path is
    made (an empty list)."""
    edges: dict[int, bytes] = {}
    depth = (size - 1).bit_length()
    #: The previous leaf's path by level (None: no sibling at that level).
    levels: list[bytes | None] = [None] * depth
    previous = -1
    made: list[list[bytes]] = []
    for index in indexes:
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
        # The levels below where the node of this leaf and that of the previous one meet.
        below = depth if previous < 0 else min((index ^ previous).bit_length(), depth)
        previous = index
        for level in range(below):
            node, last = index >> level, (size - 1) >> level
            if node == last and not node & 1:
                levels[level] = None  # the last node of its level, with no sibling
                continue
            sibling = node ^ 1
            if sibling < last or (sibling + 1) << level <= size:
                levels[level] = perfect(level, sibling)
            else:  # the right edge: the leaves from the sibling's first to the end
                hashed = edges.get(level)
                if hashed is None:
                    first = sibling << level
                    hashed = edges[level] = subtree_hash(perfect, first, size - first)
                levels[level] = hashed
        if paths:
            made.append([element for element in levels if element is not None])
    return made


def consistency_proof(perfect: SubtreeHashes, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1: that the tree of ``first`` leaves is a
    prefix of the tree of ``second`` leaves."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from a tree of {first} to one of {second}")
    proof: list[bytes] = []
    if first == 0:  # the empty tree is a prefix of every tree
        return proof

    def subproof(start: int, m: int, n: int, complete: bool) -> None:
        # SUBPROOF(m, D[start:start+n], complete)
        if m == n:
            if not complete:
                proof.append(subtree_hash(perfect, start, n))
            return
        k = split(n)
        if m <= k:
            subproof(start, m, k, complete)
            proof.append(subtree_hash(perfect, start + k, n - k))
        else:
            subproof(start + k, m - k, n - k, False)
            proof.append(subtree_hash(perfect, start, k))

    subproof(0, first, second, True)
    return proof


class Inclusions:
    """RFC 9162 §2.1.3.2's check of inclusion proofs (``verify_inclusion``), for many
    leaves of one tree (``size`` leaves, ``root``) in any order: the nodes each proof
    recomputes are kept once the proof reaches the root, and a later proof ends where it
    recomputes a kept node (the same hash: the leaf is under a node of the tree; another
    hash: it is not). Neighbouring leaves share all but their lowest nodes, so most proofs
    end after a hash or two instead of the tree's depth."""

    def __init__(self, size: int, root: bytes) -> None:
        self.size = size
        self.root = root
        #: The hash of each node (level, index) a proof reached the root through.
        self.known: dict[tuple[int, int], bytes] = {}

    def verify(self, leaf: bytes, index: int, proof: Iterable[bytes]) -> None:
        """That ``leaf`` is leaf ``index`` of the tree; raises ``ProofError`` when not."""
        size = self.size
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
        known = self.known
        fn, sn, level = index, size - 1, 0
        r = leaf
        sha256 = hashlib.sha256
        walked: list[tuple[tuple[int, int], bytes]] = []
        for p in proof:
            kept = known.get((level, fn))
            if kept is not None:
                if kept != r:
                    raise ProofError(f"leaf {index} is not in the tree of {size} leaves")
                break
            walked.append(((level, fn), r))
            if sn == 0:
                raise ProofError("the inclusion proof is longer than the tree is deep")
            if fn & 1 or fn == sn:
                r = sha256(b"\x01" + p + r).digest()  # node_hash(p, r)
                if not fn & 1:
                    while not fn & 1 and fn:
                        fn >>= 1
                        sn >>= 1
                        level += 1
            else:
                r = sha256(b"\x01" + r + p).digest()  # node_hash(r, p)
            fn >>= 1
            sn >>= 1
            level += 1
        else:
            kept = known.get((level, fn))
            if kept is not None and kept != r:
                raise ProofError(f"leaf {index} is not in the tree of {size} leaves")
            if kept is None:
                if sn != 0:
                    raise ProofError("the inclusion proof is shorter than the tree is deep")
                if r != self.root:
                    raise ProofError(
                        f"leaf {index} is not in the tree of {size} leaves with that root"
                    )
                walked.append(((level, fn), r))
        known.update(walked)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: that the leaf hash ``leaf`` is leaf ``index`` of the tree of
    ``size`` leaves whose root is ``root``; raises ``ProofError`` when it is not."""
    Inclusions(size, root).verify(leaf, index, proof)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: that the tree of ``first`` leaves with root ``first_root`` is a
    prefix of the tree of ``second`` leaves with root ``second_root``; raises
    ``ProofError`` when it is not."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency between a tree of {first} and one of {second}")
    if first == 0:  # the empty tree is a prefix of every tree: nothing to prove
        if proof:
            raise ProofError("a tree is consistent with the empty tree without a proof")
        return
    if first == second:
        if proof:
            raise ProofError("trees of the same size need an empty proof")
        if first_root != second_root:
            raise ProofError("two different trees of the same size")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's start
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the trees need")
    if fr != first_root:
        raise ProofError(f"the proof does not lead to the tree of {first} leaves")
    if sr != second_root:
        raise ProofError(f"the proof does not lead to the tree of {second} leaves")


def perfect_of(leaves: Sequence[bytes]) -> SubtreeHashes:
    """Perfect-subtree hashes computed from leaf hashes held in memory (small trees,
    tests, an auditor's own copy)."""

    def perfect(level: int, index: int) -> bytes:
        width = 1 << level
        chunk = leaves[index * width : (index + 1) * width]
        if len(chunk) != width:
            raise ValueError(f"no perfect subtree ({level}, {index}) among {len(leaves)}")
        return root_of(chunk)

    return perfect
