"""Every named route of the URL configuration, with a sample URL to request."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver, reverse

SAMPLE_KWARGS = {
    "int": 1,
    "str": "sample",
    "slug": "sample",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "x",
}


def _walk(patterns: list, namespace: str = "") -> Iterator[URLPattern | tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, ns)
        elif p.name:
            yield namespace + p.name, p


def named_routes() -> dict[str, str]:
    """Route name -> a URL that resolves to it (converters filled with samples)."""
    routes: dict[str, str] = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        converters = getattr(pattern.pattern, "converters", {})
        kwargs = {}
        for arg, conv in converters.items():
            kind = type(conv).__name__.removesuffix("Converter").lower()
            kwargs[arg] = SAMPLE_KWARGS.get(kind, "sample")
        if not converters and re.search(r"\(\?P<", str(pattern.pattern)):
            kwargs = {k: "sample" for k in re.findall(r"\(\?P<(\w+)>", str(pattern.pattern))}
        try:
            routes[name] = reverse(name, kwargs=kwargs or None)
        except Exception:  # a route that cannot be reversed with samples still needs a rule
            routes[name] = ""
    return routes
