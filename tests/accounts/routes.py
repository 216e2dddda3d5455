"""Every named route of the URL configuration, with a sample URL to request and the HTTP
method of each API operation; and what a refusal by the permission policy looks like."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from radgov.api import _operations

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


METHODS = {operation: method for (_, method), operation in _operations().items()}


def refused_by_policy(response, anonymous: bool) -> bool:  # type: ignore[no-untyped-def]
    if response.status_code == 401:
        return True
    if response.status_code == 403:
        # an API refusal by the policy, not a service's own rule (which may also be 403)
        is_api = response.get("Content-Type") == "application/problem+json"
        return not is_api or response.json()["type"].endswith("/forbidden-by-policy")
    location = response.headers.get("Location", "")
    # the policy sends an anonymous visitor to the login page, saying where they were going
    return anonymous and response.status_code == 302 and "/accounts/login/?next=" in location
