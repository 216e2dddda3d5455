"""Fixtures of the page tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def cache_in_memory(settings: Any) -> Iterator[None]:
    """The cache in this process's memory, emptied before and after: a test that counts a
    page's queries counts its reads of records, not the database cache's own queries for
    the copies it keeps (``radgov.core.generations``)."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()
