"""Python's cyclic garbage collector, held off where it only walks objects that stay.

``collector_paused``: held off while a bulk write runs.

A batch of 10,000 events makes about half a million tuples, dicts and lists that live until
it commits; each time their number passes the collector's thresholds it walks the objects of
the whole process (a Django process holds about a million), and that was some 40 % of a bulk
ingest's CPU (issue 17).  Holding it off changes nothing but when cycles are freed:
reference counting still frees every other object at once.  The pause is process-wide, so
blocks on several threads are counted and the collector runs again when the last one ends
(unless it was off before the first began).

    @collector_paused()
    @service
    def record_events(...): ...

``start_up``: held off while a process imports its code, then everything the imports left
frozen out of its reach (below).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import ContextDecorator, contextmanager
from typing import Any

_lock = threading.Lock()
_depth = 0
_was_enabled = False


class collector_paused(ContextDecorator):  # noqa: N801 - used as a decorator, like contextmanager
    def __enter__(self) -> collector_paused:
        global _depth, _was_enabled
        with _lock:
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


@contextmanager
def start_up() -> Iterator[None]:
    """Hold the collector off while a process imports its code, then collect once and move
    every object left into the permanent generation (``gc.freeze``).

    A radgov process imports a few hundred thousand objects (modules, classes, functions,
    the URL configuration and its schemas) that live as long as it does.  Each time the
    collector's thresholds are crossed during the imports it walked all of them again: about
    a quarter of a ``radgov`` command's start-up.  Frozen, they are no longer walked by any
    later collection either: a listener receiving images or a page being served pays only
    for the objects it makes (turns of bench_gateway's receive and routing in one process,
    frozen and not by turns: receiving 3-6 % faster, routing 5-11 % less CPU).
    Reference counting frees frozen objects as usual; only a cycle among them is never
    collected, which is why the collection runs first."""
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.freeze()
        gc.enable()
