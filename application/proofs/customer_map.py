"""Per-customer completeness: each customer's own chain of entries, and the verifiable map
of every customer's head that a checkpoint commits to.

This module needs nothing but the standard library: the offline audit package carries it
verbatim.

**A customer's chain.** The entries that belong to a customer (``domain.ownership``), in
log order, are numbered 1, 2, … and chained: ``c(0)`` is 32 zero bytes and
``c(s) = SHA-256(c(s-1) ‖ s (int8) ‖ leaf hash of entry s)``. The customer's *head* is
``(N, c(N))`` for its last entry N; its value in the map is ``SHA-256(N (int8) ‖ c(N))``.
A package of entries 1..N that chains to the head proves nothing was deleted, inserted,
reordered or cut off: any of these changes the chain or the count.

**The map** is a sparse Merkle tree keyed by ``SHA-256(customer id)`` (256 levels, bit 0
the most significant bit of the key's first byte), in its compact form: an empty subtree
hashes to 32 zero bytes, a subtree holding one customer hashes to that customer's leaf
``SHA-256(0x00 ‖ key ‖ value)`` wherever it sits, and any other subtree to
``SHA-256(0x01 ‖ left ‖ right)``. The form is unique for a set of customers, so a proof
(the siblings from the root down to where the customer's leaf sits) cannot place another
value under the same key.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from itertools import pairwise
from uuid import UUID

EMPTY = bytes(32)
GENESIS = bytes(32)

#: (key, value) of one customer in the map.
MapItem = tuple[bytes, bytes]


class MapProofError(ValueError):
    """A customer's head that the map does not hold."""


def chain_next(previous: bytes, seq: int, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + struct.pack(">q", seq) + leaf).digest()


def key_of(customer_id: UUID | str) -> bytes:
    return hashlib.sha256(UUID(str(customer_id)).bytes).digest()


def head_value(seq: int, chain: bytes) -> bytes:
    return hashlib.sha256(struct.pack(">q", seq) + chain).digest()


def map_leaf(key: bytes, value: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + key + value).digest()


def map_node(left: bytes, right: bytes) -> bytes:
    if left == EMPTY and right == EMPTY:
        return EMPTY
    return hashlib.sha256(b"\x01" + left + right).digest()


def bit(key: bytes, depth: int) -> int:
    return (key[depth // 8] >> (7 - depth % 8)) & 1


def _split(items: Sequence[MapItem], depth: int) -> int:
    """Where the items (sorted by key, all sharing the first ``depth`` bits) turn to 1."""
    low, high = 0, len(items)
    while low < high:
        middle = (low + high) // 2
        if bit(items[middle][0], depth):
            high = middle
        else:
            low = middle + 1
    return low


def _subtree(items: Sequence[MapItem], depth: int) -> bytes:
    if not items:
        return EMPTY
    if len(items) == 1:
        return map_leaf(*items[0])
    cut = _split(items, depth)
    return map_node(_subtree(items[:cut], depth + 1), _subtree(items[cut:], depth + 1))


def _sorted(items: Sequence[MapItem]) -> list[MapItem]:
    ordered = sorted(items)
    if any(a[0] == b[0] for a, b in pairwise(ordered)):
        raise ValueError("a customer is in the map once")
    return ordered


def map_root(items: Sequence[MapItem]) -> bytes:
    return _subtree(_sorted(items), 0)


def map_proof(items: Sequence[MapItem], key: bytes) -> list[bytes]:
    """The siblings, root first, down to where ``key``'s leaf sits (it must be there)."""
    current = _sorted(items)
    siblings: list[bytes] = []
    depth = 0
    while len(current) > 1:
        cut = _split(current, depth)
        if bit(key, depth):
            siblings.append(_subtree(current[:cut], depth + 1))
            current = current[cut:]
        else:
            siblings.append(_subtree(current[cut:], depth + 1))
            current = current[:cut]
        depth += 1
    if not current or current[0][0] != key:
        raise MapProofError("the customer is not in the map")
    return siblings


def verify_map_proof(root: bytes, key: bytes, value: bytes, siblings: Sequence[bytes]) -> None:
    """That the map with root ``root`` holds ``value`` under ``key``; raises
    ``MapProofError`` when it does not."""
    if len(siblings) > 256:
        raise MapProofError("a map proof is at most 256 siblings long")
    current = map_leaf(key, value)
    for depth in range(len(siblings) - 1, -1, -1):
        sibling = siblings[depth]
        current = map_node(sibling, current) if bit(key, depth) else map_node(current, sibling)
    if current != root:
        raise MapProofError("the map does not hold that head for the customer")
