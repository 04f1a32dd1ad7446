"""A set of ids whose cost does not grow with its size where an aggregate's command meets
it: checking an id, adding one, and restoring the set from a snapshot.

An aggregate that must refuse a duplicate id (a relationship's interaction ids, supplied
by clients) keeps every id it has seen. As a plain ``set`` of UUIDs, a snapshot of 10,000
of them decodes 10,000 tagged objects before a command can run. ``IdSet`` keeps them as
one string of their sorted 32-digit hex forms (restored from a snapshot as one string),
finds an id by binary search, and adds new ids to a small set of recent ones that is
merged into the sorted string every ``MERGE_AT`` additions — so an addition costs the
same on average however many ids there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet
from uuid import UUID

#: Recent additions kept apart before they are merged into the sorted string.
MERGE_AT = 512
_WIDTH = 32


def _packed_form(packed: object) -> bool:
    """Whether ``packed`` is whole records of lower-case hex digits (checks that run in C:
    a set of any size restores in a few passes over one string)."""
    if not isinstance(packed, str) or len(packed) % _WIDTH:
        return False
    if not packed.isascii() or any(c in packed for c in "ABCDEF"):
        return False
    try:
        # Every two characters a byte: no other characters, and no whitespace (which
        # ``fromhex`` would pass over).
        return len(bytes.fromhex(packed)) * 2 == len(packed)
    except ValueError:
        return False


class IdSet(MutableSet[UUID]):
    __slots__ = ("_recent", "_sorted")

    def __init__(self, ids: Iterable[UUID] = ()) -> None:
        self._sorted = ""
        self._recent: set[str] = set()
        for id_ in ids:
            self.add(id_)

    # --- as a snapshot keeps it ----------------------------------------------------------

    def packed(self) -> str:
        """Every id, sorted, as one string of 32-digit hex forms."""
        self._merge()
        return self._sorted

    @classmethod
    def unpacked(cls, packed: str) -> IdSet:
        """The set ``packed`` gave; ``ValueError`` if the string cannot be one. (Its order
        is taken as ``packed`` wrote it: checking it would cost a pass over every id.)"""
        if not _packed_form(packed):
            raise ValueError("not a packed set of ids")
        restored = cls()
        restored._sorted = packed
        return restored

    # --- the set -------------------------------------------------------------------------

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, UUID):
            return False
        key = value.hex
        return key in self._recent or self._in_sorted(key)

    def __len__(self) -> int:
        return len(self._sorted) // _WIDTH + len(self._recent)

    def __iter__(self) -> Iterator[UUID]:
        """The ids in the order of their hex forms: the same however the set was reached."""
        self._merge()
        sorted_ = self._sorted
        for start in range(0, len(sorted_), _WIDTH):
            yield UUID(hex=sorted_[start : start + _WIDTH])

    def add(self, value: UUID) -> None:
        if value in self:
            return
        self._recent.add(value.hex)
        if len(self._recent) >= MERGE_AT:
            self._merge()

    def discard(self, value: UUID) -> None:
        if value not in self:
            return
        key = value.hex
        if key in self._recent:
            self._recent.discard(key)
            return
        at = self._position(key) * _WIDTH
        self._sorted = self._sorted[:at] + self._sorted[at + _WIDTH :]

    def __repr__(self) -> str:
        return f"IdSet({len(self)} ids)"

    # --- the sorted string ---------------------------------------------------------------

    def _position(self, key: str) -> int:
        """Where ``key`` is, or would go, among the sorted records."""
        sorted_ = self._sorted
        low, high = 0, len(sorted_) // _WIDTH
        while low < high:
            middle = (low + high) // 2
            if sorted_[middle * _WIDTH : (middle + 1) * _WIDTH] < key:
                low = middle + 1
            else:
                high = middle
        return low

    def _in_sorted(self, key: str) -> bool:
        at = self._position(key) * _WIDTH
        return self._sorted[at : at + _WIDTH] == key

    def _merge(self) -> None:
        if not self._recent:
            return
        sorted_ = self._sorted
        records = [sorted_[i : i + _WIDTH] for i in range(0, len(sorted_), _WIDTH)]
        records.extend(self._recent)
        records.sort()
        self._sorted = "".join(records)
        self._recent = set()
