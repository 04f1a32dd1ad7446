"""A customer's history page as answered, from entries rendered once and kept.

A history entry is a logged event made readable: decoded, its personal fields opened, its
data made plain JSON, validated and written as the answer's JSON. The log is append-only,
so an entry's answer changes only when an erasure makes a personal field it shows
unreadable. Each API process keeps the answers of the entries it rendered last
(``RenderedEntries``: clear, masked, and the paths of the personal fields shown), each
marked with what the process knew of erasures when it opened them
(``KeyRing.generation``); an entry rendered before an erasure was heard is rendered again,
and nothing is kept while the process does not hear erasures. A page reads the stored
rows as before (which entries, in which order, whether more follow) and renders only the
entries it does not hold.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from application.masking import Exposure, mask_event_data
from application.personal_data import KeyRing
from projections.history.queries import history_entry

#: Entries kept per process, at most (each a few hundred bytes, twice).
KEPT = 20_000


@dataclass(frozen=True)
class RenderedEntry:
    generation: int
    #: The entry's JSON with its personal fields in clear, and masked.
    clear: bytes
    masked: bytes
    #: The paths of the personal fields the entry shows (``personal_paths``).
    personal: tuple[str, ...]


class RenderedEntries:
    """History entries as answered, by log position (see the module's note)."""

    def __init__(self, keys: KeyRing, *, kept: int = KEPT) -> None:
        self._keys = keys
        self._kept = kept
        self._entries: dict[int, RenderedEntry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def rendered(
        self,
        positions: Sequence[int],
        rows_at: Callable[[Sequence[int]], Sequence[Mapping[str, Any]]],
        mapper: Mapper[Any],
        render: Callable[[dict[str, Any]], tuple[bytes, bytes, tuple[str, ...]]],
    ) -> list[RenderedEntry]:
        """The entries at ``positions`` (a history page's, in order). Those not kept (or
        kept from before an erasure heard since) are read by ``rows_at(their positions)``
        (stored rows, ``history_rows_at``), rendered by ``render(entry) -> (clear JSON,
        masked JSON, personal paths)`` and kept."""
        generation = self._keys.generation  # read before anything is opened
        entries = self._entries
        found: dict[int, RenderedEntry] = {}
        for position in positions:
            kept = entries.get(position)
            if kept is not None and kept.generation == generation:
                found[position] = kept
        missing = [p for p in positions if p not in found]
        if missing:
            fresh = []
            for row in rows_at(missing):
                clear, masked, personal = render(history_entry(mapper, row))
                entry = RenderedEntry(generation or 0, clear, masked, personal)
                found[row["position"]] = entry
                fresh.append((row["position"], entry))
            if generation is not None:
                with self._lock:
                    for position, entry in fresh:
                        entries.pop(position, None)  # to the end: dropped last
                        entries[position] = entry
                    while len(entries) > self._kept:
                        del entries[next(iter(entries))]
        return [found[p] for p in positions if p in found]


def page_json(
    relationship_id: UUID,
    entries: Sequence[RenderedEntry],
    next_cursor: str | None,
    view: Exposure,
) -> bytes:
    """A ``HistoryPage`` as its model writes it, from entries already written."""
    items = b",".join(e.masked if view is Exposure.MASKED else e.clear for e in entries)
    return b"".join(
        (
            b'{"relationship_id":"',
            str(relationship_id).encode(),
            b'","items":[',
            items,
            b'],"next_cursor":',
            json.dumps(next_cursor).encode(),
            b"}",
        )
    )


def render_with(model: Any) -> Any:
    """``render`` for ``RenderedEntries.rendered``: the entry validated as ``model`` (the
    answer's ``HistoryEntry``) and written, clear and masked."""

    def render(entry: dict[str, Any]) -> tuple[bytes, bytes, tuple[str, ...]]:
        item = model.model_validate(entry)
        masked_data, paths = mask_event_data(item.event_name, item.data)
        clear_json = item.model_dump_json().encode()
        if masked_data == item.data:
            return clear_json, clear_json, tuple(paths)
        masked = item.model_copy(update={"data": masked_data})
        return clear_json, masked.model_dump_json().encode(), tuple(paths)

    return render
