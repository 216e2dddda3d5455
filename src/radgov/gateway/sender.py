"""Sending a study to a model's DICOM node (C-STORE as an SCU), outside any transaction.

``send_files`` answers None when every instance was stored by the node, or a sentence saying
what went wrong (no secrets, no patient data: addresses, counts and DIMSE statuses).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pydicom
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

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
) -> str | None:
    datasets = [pydicom.dcmread(path) for path in files]
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    wanted = {(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}
    for sop_class, syntax in sorted(wanted):
        syntaxes = list(dict.fromkeys([syntax, ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
        ae.add_requested_context(sop_class, syntaxes)
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        return f"the model's node {called_ae} at {host}:{port} did not accept the association"
    try:
        for n, ds in enumerate(datasets, start=1):
            status = assoc.send_c_store(ds)
            code = getattr(status, "Status", None)
            if code not in STORED:
                shown = "no answer" if code is None else f"status 0x{int(code):04X}"
                return f"the model's node did not store instance {n} of {len(datasets)} ({shown})"
    finally:
        if assoc.is_established:
            assoc.release()
    return None
