"""A long-running process's start-up heap, kept out of the garbage collector's way.

Once the service is open and its app built, a process holds some 470,000 objects that live
as long as it does: modules, classes, functions, the routes and their schemas, the
pools. Python's collector scans all of them at every full collection, which it starts on
its own whenever the objects made since the last one reach a quarter of those it kept:
in an API process under commands at 16 connections, a full collection every few seconds,
each stopping every thread for 50–230 ms (measured on a 2-core machine), where a command
takes some 20–40 ms: every request in flight stalled with it.

``settle()`` collects once, then moves every object still alive into the permanent
generation (``gc.freeze``), which later collections do not scan; objects made afterwards
are collected as before. Measured the same way after it: full collections of what the
process made since, 9–21 ms each, every two seconds or so.

It is called once a process has opened everything it keeps, not in ``create_app``: tests
build many apps in one process, and a frozen app is never freed.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left, and exempt what survived from every later scan."""
    gc.collect()
    gc.freeze()
