"""The map of every customer's head (``customer_map``), kept in memory between signings
and brought forward by the heads that moved since, rather than made afresh from every
customer's head each time a tree head is signed (which grew with the number of
customers: 31 ms for 10,000, 414 ms for 100,000, and a package's map proof as much
again).

The map's form is unique for a set of heads, so the map brought forward is the map made
afresh (``customer_map.map_root`` and ``map_proof``, which the offline verifier runs;
``tests/proofs/test_heads_map.py`` holds the two equal). It is kept as a binary trie
(``_Branch`` wherever two customers' keys still share the path from the root, ``_Leaf``
where one is alone) with each branch's hash kept until a head below it moves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import psycopg

from application.proofs.customer_map import (
    EMPTY,
    MapItem,
    MapProofError,
    _sorted,
    _split,
    bit,
    map_leaf,
    map_node,
)
from application.proofs.tree import LogTree, head_items


class _Leaf:
    __slots__ = ("hash", "key", "value")

    def __init__(self, key: bytes, value: bytes) -> None:
        self.key = key
        self.value = value
        self.hash = map_leaf(key, value)


class _Branch:
    __slots__ = ("hash", "left", "right")

    def __init__(self) -> None:
        self.left: _Node = None
        self.right: _Node = None
        self.hash: bytes | None = None


_Node = _Leaf | _Branch | None


def _put(node: _Node, key: bytes, value: bytes, depth: int) -> _Node:
    """``node`` (the subtree at ``depth`` on ``key``'s path) with ``key`` set to ``value``."""
    if node is None:
        return _Leaf(key, value)
    if isinstance(node, _Leaf):
        if node.key == key:
            node.value = value
            node.hash = map_leaf(key, value)
            return node
        branch = _Branch()  # two customers share the path this far: it divides below
        _place(branch, node, depth)
        return _put(branch, key, value, depth)
    node.hash = None
    if bit(key, depth):
        node.right = _put(node.right, key, value, depth + 1)
    else:
        node.left = _put(node.left, key, value, depth + 1)
    return node


def _place(branch: _Branch, leaf: _Leaf, depth: int) -> None:
    if bit(leaf.key, depth):
        branch.right = leaf
    else:
        branch.left = leaf


def _hash(node: _Node) -> bytes:
    if node is None:
        return EMPTY
    if node.hash is None:
        assert isinstance(node, _Branch)
        node.hash = map_node(_hash(node.left), _hash(node.right))
    return node.hash


def _built(items: list[MapItem], depth: int) -> _Node:
    """The subtree at ``depth`` of ``items`` (sorted by key, all sharing the first ``depth``
    bits), its hashes left to be made when asked."""
    if not items:
        return None
    if len(items) == 1:
        return _Leaf(*items[0])
    cut = _split(items, depth)
    branch = _Branch()
    branch.left = _built(items[:cut], depth + 1)
    branch.right = _built(items[cut:], depth + 1)
    return branch


class HeadsMap:
    """The map of a set of customers' heads, changed a head at a time."""

    def __init__(self, items: Iterable[MapItem] = ()) -> None:
        ordered = _sorted(list(items))
        self._root: _Node = _built(ordered, 0)
        self._count = len(ordered)

    def __len__(self) -> int:
        return self._count

    def put(self, key: bytes, value: bytes) -> None:
        """Set the head under ``key`` (a customer new to the map, or one whose head moved)."""
        if not self.holds(key):
            self._count += 1
        self._root = _put(self._root, key, value, 0)

    def root(self) -> bytes:
        return _hash(self._root)

    def proof(self, key: bytes) -> list[bytes]:
        """``customer_map.map_proof``: the siblings, root first, down to ``key``'s leaf."""
        siblings: list[bytes] = []
        node, depth = self._root, 0
        while isinstance(node, _Branch):
            if bit(key, depth):
                siblings.append(_hash(node.left))
                node = node.right
            else:
                siblings.append(_hash(node.right))
                node = node.left
            depth += 1
        if not isinstance(node, _Leaf) or node.key != key:
            raise MapProofError("the customer is not in the map")
        return siblings

    def holds(self, key: bytes) -> bool:
        node, depth = self._root, 0
        while isinstance(node, _Branch):
            node = node.right if bit(key, depth) else node.left
            depth += 1
        return isinstance(node, _Leaf) and node.key == key


#: The heads that moved between the trees of %s and %s leaves: each customer's last entry
#: among those leaves (found by the leaves' index, whatever the number of customers).
_MOVED_HEADS = """
    SELECT DISTINCT ON (customer_id) customer_id, seq, chain
    FROM fullchain_customer_entry
    WHERE leaf_index >= %s AND leaf_index < %s
    ORDER BY customer_id, seq DESC
"""


class KeptMap:
    """The map of the heads of one database's tree, at the size it was last brought to,
    with the tree's root at that size: a later tree whose root at that size differs (a
    database made anew under the same name, a tree rebuilt otherwise) is mapped afresh."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.size = 0
        self.root_at_size: bytes | None = None
        self.map = HeadsMap()

    def bring_to(
        self, tree: LogTree, conn: psycopg.Connection[Any], size: int, root: bytes
    ) -> HeadsMap:
        """The map of ``tree`` at ``size`` leaves, whose root is ``root`` (hold ``lock``),
        read on ``conn``: brought forward by the heads that moved since the size kept when
        this tree holds the tree kept, else made afresh from every customer's head."""
        kept = (
            self.root_at_size is not None
            and size >= self.size
            and (
                (self.size == size and root == self.root_at_size)
                or tree.root(self.size, conn) == self.root_at_size
            )
        )
        if not kept:
            self.map = HeadsMap(tree.customer_heads(size, conn))
        elif size > self.size:
            for key, value in head_items(conn.execute(_MOVED_HEADS, (self.size, size)).fetchall()):
                self.map.put(key, value)
        self.size, self.root_at_size = size, root
        return self.map


_kept: dict[str, KeptMap] = {}
_kept_lock = threading.Lock()


def kept_map(database_key: str) -> KeptMap:
    """The map kept for the database named by ``database_key`` (its conninfo)."""
    with _kept_lock:
        return _kept.setdefault(database_key, KeptMap())
