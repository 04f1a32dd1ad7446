"""Snapshots of aggregates every N versions, taken off the command path (``writer``); time
travel reads them through the library's snapshot store (``application.time_travel``, in the
format of ``application.store.snapshots``). Table: ``migration``."""
