"""What the registries (job kinds, supervised processes, the exam moves' guards) share: a
test puts another table in place of one of theirs for the length of a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def swapped(owner: T, name: str, table: object) -> Iterator[T]:
    """``owner.<name>`` is ``table`` until the block ends, then what it was; yields ``owner``."""
    saved = getattr(owner, name)
    setattr(owner, name, table)
    try:
        yield owner
    finally:
        setattr(owner, name, saved)
