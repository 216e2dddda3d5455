"""How ``radgov serve`` runs waitress: threads, the reverse proxy it trusts, and how large a
request body it takes, per route, before reading it.

* Behind a TLS reverse proxy (``RADGOV_TRUSTED_PROXY_COUNT`` > 0) waitress takes the client's
  address, the scheme and the host from the ``X-Forwarded-*`` headers of the proxy at
  ``RADGOV_TRUSTED_PROXY`` (and drops those headers from anyone else), so Django sees
  ``https`` (no redirect loop, HSTS sent), the login limits count the real client, and the
  audit trail records it.
* A request body is refused (413) from its ``Content-Length`` or, chunked, as soon as it
  passes the route's limit, before waitress reads or spools it: the upload routes take
  ``RADGOV_MAX_UPLOAD_MB`` (plus room for the multipart framing), every other route
  :data:`FORM_LIMIT`.  An anonymous 300 MB POST to the login page is refused unread.
* Processes and threads: :func:`default_processes`, :func:`default_threads`.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from radgov.core import config

# forms and JSON: a protocol's YAML, a long reason, a list of people; never a file
FORM_LIMIT = 1024 * 1024
MULTIPART_ROOM = 1024 * 1024
# the routes that take a file upload (pages and API operations)
UPLOAD_ROUTES = frozenset(
    {
        "compliance:deid_new",
        "api:compliance_upload_deid_job",
        "inventory:document_new",
        "api:inventory_upload_document",
        "evaluation:run_new",
        "api:evaluation_create_run",
    }
)
# the X-Forwarded-* headers taken from the trusted proxy (waitress's names)
PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})


MAX_PROCESSES = 8
THREADS = 8


def default_processes(cores: int | None = None) -> int:
    """Web server processes for a machine of ``cores`` cores: one per core, at most
    :data:`MAX_PROCESSES`.  A process runs Python on one core at a time (the interpreter's
    lock), and a page's time is mostly Python (the ORM, templates, the API's schemas), so one
    process per core is what keeps every core busy; past 8 the memory (about 150 MB each)
    buys little on the machines a practice runs radgov on."""
    return max(1, min(MAX_PROCESSES, cores or os.cpu_count() or 1))


def default_threads() -> int:
    """Request threads of one web process: :data:`THREADS`.  They overlap the requests'
    waits on the database (and SQLite's one writer); more only queue on the interpreter's
    lock and raise every request's latency (measured by benchmarks/bench_load.py)."""
    return THREADS


def upload_limit() -> int:
    return config.max_upload_bytes() + MULTIPART_ROOM


def body_limit(path: str, method: str) -> int:
    """The largest body the route at ``path`` takes for ``method``."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return FORM_LIMIT
    name = match.view_name
    if name.startswith("api:"):
        from radgov.api import operation_route

        name = operation_route(name, method)
    return upload_limit() if name in UPLOAD_ROUTES else FORM_LIMIT


def waitress_options(*, threads: int | None = None) -> dict[str, Any]:
    """The keyword arguments of ``waitress.serve`` for radgov, besides where it listens."""
    options: dict[str, Any] = {
        "threads": threads or default_threads(),
        "ident": "radgov",
        "max_request_body_size": upload_limit(),
        "_server": create_server,
    }
    proxies = config.get_int("RADGOV_TRUSTED_PROXY_COUNT")
    if proxies > 0:
        options.update(
            trusted_proxy=config.get("RADGOV_TRUSTED_PROXY"),
            trusted_proxy_count=proxies,
            trusted_proxy_headers=set(PROXY_HEADERS),
            clear_untrusted_proxy_headers=True,
        )
    return options


def create_server(application: Any, **kw: Any) -> Any:
    """waitress's server, whose connections check each request's body against its route's
    limit as soon as the request line and headers are in."""
    from waitress.server import create_server as waitress_server

    server = waitress_server(application, **kw)
    routed = _channel_class()
    # one server per listening socket; several (in the map) when the host has more addresses
    for each in [server, *getattr(server, "map", {}).values()]:
        if hasattr(each, "channel_class"):
            each.channel_class = routed
    return server


def _channel_class() -> type:
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    class RoutedParser(HTTPRequestParser):  # type: ignore[misc]
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            limit = body_limit(self.path or "/", self.command or "GET")
            if limit < self.adj.max_request_body_size:
                self.adj = copy.copy(self.adj)
                self.adj.max_request_body_size = limit

    class RoutedChannel(HTTPChannel):  # type: ignore[misc]
        parser_class = RoutedParser

    return RoutedChannel
