"""Sending a study to a model's DICOM node (C-STORE as an SCU), outside any transaction,
and testing the connection to it (C-ECHO).

``send_files`` and ``echo`` answer None when the node did what was asked, or a sentence saying
what went wrong (no secrets, no patient data: addresses, counts and DIMSE statuses).  With
``tls`` the association runs over TLS 1.2 or later and the node's certificate must be valid
for its host name (``RADGOV_GATEWAY_CA_FILE``, or the system's certificate authorities).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from pathlib import Path

import pydicom
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radgov.core import config

# success, and the warnings that still mean "stored" (coercion, elements discarded)
STORED = frozenset({0x0000, 0xB000, 0xB006, 0xB007})


def send_files(
    files: Sequence[Path],
    *,
    calling_ae: str,
    called_ae: str,
    host: str,
    port: int,
    timeout: float,
    tls: bool = False,
    on_stored: Callable[[], None] | None = None,
) -> str | None:
    """Send ``files`` over one association.  ``on_stored`` runs once the node stored every
    one, before the association is released: a node that answers when it is released (the
    demo node) or later then finds the send already recorded."""
    datasets = [pydicom.dcmread(path) for path in files]
    ae = _ae(calling_ae, timeout)
    wanted = {(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}
    for sop_class, syntax in sorted(wanted):
        syntaxes = list(dict.fromkeys([syntax, ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
        ae.add_requested_context(sop_class, syntaxes)
    assoc = ae.associate(host, port, ae_title=called_ae, tls_args=_tls(host, tls))
    if not assoc.is_established:
        return _not_accepted(called_ae, host, port)
    try:
        for n, ds in enumerate(datasets, start=1):
            status = assoc.send_c_store(ds)
            code = getattr(status, "Status", None)
            if code not in STORED:
                shown = "no answer" if code is None else f"status 0x{int(code):04X}"
                return f"the model's node did not store instance {n} of {len(datasets)} ({shown})"
        if on_stored is not None:
            on_stored()
    finally:
        if assoc.is_established:
            assoc.release()
    return None


def echo(
    *, calling_ae: str, called_ae: str, host: str, port: int, timeout: float, tls: bool = False
) -> str | None:
    """C-ECHO the node: None when it answered success."""
    ae = _ae(calling_ae, timeout)
    ae.add_requested_context(Verification)
    assoc = ae.associate(host, port, ae_title=called_ae, tls_args=_tls(host, tls))
    if not assoc.is_established:
        return _not_accepted(called_ae, host, port)
    try:
        code = getattr(assoc.send_c_echo(), "Status", None)
    finally:
        if assoc.is_established:
            assoc.release()
    if code == 0x0000:
        return None
    shown = "no answer" if code is None else f"status 0x{int(code):04X}"
    return f"the model's node {called_ae} did not answer the C-ECHO ({shown})"


def _ae(calling_ae: str, timeout: float) -> AE:
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    return ae


def tls_context() -> ssl.SSLContext:
    """TLS 1.2 or later, the peer's certificate checked against ``RADGOV_GATEWAY_CA_FILE``
    (or the system's certificate authorities when it is empty) and its host name."""
    context = ssl.create_default_context(cafile=config.get("RADGOV_GATEWAY_CA_FILE") or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _tls(host: str, tls: bool) -> tuple[ssl.SSLContext, str] | None:
    return (tls_context(), host) if tls else None


def _not_accepted(called_ae: str, host: str, port: int) -> str:
    return f"the model's node {called_ae} at {host}:{port} did not accept the association"
