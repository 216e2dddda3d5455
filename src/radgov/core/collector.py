"""``collector_paused``: Python's cyclic garbage collector held off while a bulk write runs.

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
"""

from __future__ import annotations

import gc
import threading
from contextlib import ContextDecorator
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
