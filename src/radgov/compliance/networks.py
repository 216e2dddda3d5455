"""Approved networks (section V: AI access restricted to approved networks and devices).

Four allow-lists of address ranges (CIDR, comma-separated), each empty by default (any
address):

* ``RADGOV_WEB_NETWORKS``: every request to the web application and the API;
* ``RADGOV_API_NETWORKS``: requests that present an API token or a machine's credential
  (checked before the token is even looked at);
* ``RADGOV_DICOM_NETWORKS`` and ``RADGOV_MLLP_NETWORKS``: associations and connections to the
  listeners, which ask ``refusal("dicom", address)`` before accepting.

A refused attempt is answered 403 and recorded in the audit trail as a security alert
(DICOM 110113) naming the list and the address, never the credential.  A list that does not
parse stops radgov at start (a system check) rather than letting everything through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from django.core.checks import Error, Tags, register
from django.http import HttpRequest, HttpResponse

from radgov.core import config, context
from radgov.core.audit import Action, EventCode, record
from radgov.core.problems import problem

SETTINGS = {
    "web": "RADGOV_WEB_NETWORKS",
    "api": "RADGOV_API_NETWORKS",
    "dicom": "RADGOV_DICOM_NETWORKS",
    "mllp": "RADGOV_MLLP_NETWORKS",
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def approved_networks(where: str) -> list[Network]:
    """The list for ``where`` (web, api, dicom, mllp); empty: any address."""
    name = SETTINGS[where]
    found = []
    for part in config.get_list(name):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"{name}: {part!r} is not an address range (use CIDR, e.g. 10.20.0.0/16)"
            ) from None
    return found


def is_approved(where: str, address: str) -> bool:
    networks = approved_networks(where)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False  # no usable address: not on any approved network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def refusal(where: str, address: str) -> str | None:
    """None when ``address`` may connect to ``where``; else the reason, already audited."""
    if is_approved(where, address):
        return None
    reason = f"{address or 'an unknown address'} is not on an approved network for {where}"
    record(
        action=Action.DENIED,
        outcome="denied",
        event_code=EventCode.SECURITY_ALERT,
        detail={"reason": "network not approved", "where": where, "address": address[:64]},
    )
    return reason


class ApprovedNetworksMiddleware:
    """Refuses requests from outside ``RADGOV_WEB_NETWORKS``, and token requests from outside
    ``RADGOV_API_NETWORKS``; runs after the request context (which knows the client address)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        address = context.current().client_address
        reason = refusal("web", address)
        if reason is None and request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
            reason = refusal("api", address)
        if reason is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return problem(403, reason, kind="network-not-approved")
        return HttpResponse(reason, status=403, content_type="text/plain; charset=utf-8")


@register(Tags.security)
def check_networks(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    for where in SETTINGS:
        try:
            approved_networks(where)
        except ValueError as exc:
            errors.append(Error(str(exc), id="radgov.compliance.E001"))
    return errors
