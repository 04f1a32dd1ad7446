"""How far a long walk over the log has come, told to whoever shows it.

The walks an auditor waits for on the command line (the hash chain's verification, the
access log's, the evidence's, the Merkle tree's extension, the audit package) take an
optional ``Progress``: they call it now and then (every ``PROGRESS_EVERY`` entries, once a
batch, and once at the end) with the name of what they walk, how far they are and how far
they go, where that is known cheaply (the log's last position, the tree's size to reach).
They never print; ``interface.progress`` draws the bars. Without one (the default) a walk
does nothing more than before.
"""

from __future__ import annotations

from typing import Protocol

#: Entries between two reports of a walk that reports entry by entry.
PROGRESS_EVERY = 1000


class Progress(Protocol):
    """Told ``done`` of ``total`` (None: not known) in the walk named ``stage``; ``done``
    is a count of entries or a position in the log, whichever ``total`` counts in."""

    def __call__(self, stage: str, done: int, total: int | None) -> None: ...
